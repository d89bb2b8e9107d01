// The example gRPC server (@grpc/grpc-js) behind sitio's :18080 listener:
// envoy.yaml routes every request whose content-type starts with
// application/grpc to the grpc_service cluster (:8097), over HTTP/2.
//
// It serves envoy/grpc/example.proto's sitio.example.Example, where each call
// says how it ends (see the proto): Unary answers once or fails with
// `fail_with` (trailers-only, or headers then trailers with `headers_first`);
// Stream sends `count` replies, then ends with `fail_with`; `delay_ms` makes
// either slow (so a deadline or a cancel can overtake it). A method the proto
// does not have is answered UNIMPLEMENTED by grpc-js itself. Tests call
// startGrpcServer(); `npm start` and docker-compose run it through
// scripts/grpc_server.ts.

import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

export const EXAMPLE_PROTO = resolve(import.meta.dirname, "../../envoy/grpc/example.proto");
/** The service's full name: its methods' paths are `/${EXAMPLE_SERVICE}/Unary` and `/${EXAMPLE_SERVICE}/Stream`. */
export const EXAMPLE_SERVICE = "sitio.example.Example";

export interface Call {
  name?: string;
  fail_with?: number;
  delay_ms?: number;
  count?: number;
  headers_first?: boolean;
}

export interface Reply {
  message: string;
  index: number;
}

/** The Example service's client class (a grpc-js generic client with Unary and Stream). */
export type ExampleClientConstructor = grpc.ServiceClientConstructor;

let loaded: grpc.GrpcObject | undefined;
/** envoy/grpc/example.proto, loaded once: the service definition and its client class. */
export function exampleProto(): { service: grpc.ServiceDefinition; Client: ExampleClientConstructor } {
  loaded ??= grpc.loadPackageDefinition(protoLoader.loadSync(EXAMPLE_PROTO, { keepCase: true, defaults: true, longs: Number }));
  const Client = (loaded.sitio as grpc.GrpcObject).example as grpc.GrpcObject;
  const ctor = Client.Example as ExampleClientConstructor;
  return { service: ctor.service, Client: ctor };
}

export interface GrpcServerOptions {
  port: number;
  host?: string;
}

export interface GrpcServer {
  port: number;
  /** Calls the handlers have started, by method name. */
  started: { Unary: number; Stream: number };
  /** Calls the server saw cancelled (by the client, a deadline, or Envoy resetting the stream). */
  cancelled(): number;
  close(): Promise<void>;
}

const error = (code: number, details: string): grpc.ServiceError => Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });

export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const { service } = exampleProto();
  const started = { Unary: 0, Stream: 0 };
  let cancelled = 0;
  const server = new grpc.Server();
  server.addService(service, {
    Unary(call: grpc.ServerUnaryCall<Call, Reply>, callback: grpc.sendUnaryData<Reply>) {
      started.Unary++;
      const req = call.request;
      let timer: NodeJS.Timeout | undefined;
      call.on("cancelled", () => {
        cancelled++;
        clearTimeout(timer);
      });
      const answer = () => {
        if (call.cancelled) return;
        if (!req.fail_with) return callback(null, { message: `hello ${req.name ?? ""}`, index: 0 });
        if (req.headers_first) call.sendMetadata(new grpc.Metadata());
        callback(error(req.fail_with, `failed as asked (${req.fail_with})`));
      };
      if (req.delay_ms) timer = setTimeout(answer, req.delay_ms);
      else answer();
    },
    Stream(call: grpc.ServerWritableStream<Call, Reply>) {
      started.Stream++;
      const req = call.request;
      let timer: NodeJS.Timeout | undefined;
      call.on("cancelled", () => {
        cancelled++;
        clearTimeout(timer);
      });
      let sent = 0;
      const next = () => {
        if (call.cancelled) return;
        if (sent < (req.count ?? 0)) {
          call.write({ message: `reply ${sent} to ${req.name ?? ""}`, index: sent });
          sent++;
          timer = setTimeout(next, req.delay_ms ?? 0);
        } else if (req.fail_with) {
          call.emit("error", error(req.fail_with, `failed as asked (${req.fail_with})`));
        } else {
          call.end();
        }
      };
      timer = setTimeout(next, req.delay_ms ?? 0);
    },
  });
  const host = opts.host ?? "127.0.0.1";
  const port = await new Promise<number>((ok, fail) =>
    server.bindAsync(`${host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? fail(err) : ok(p))),
  );
  return {
    port,
    started,
    cancelled: () => cancelled,
    close: () =>
      new Promise<void>((ok) => {
        // Calls still open (a slow stream) would hold tryShutdown forever: cut them after a moment.
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          ok();
        });
      }),
  };
}
