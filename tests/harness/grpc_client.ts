// A real gRPC client (@grpc/grpc-js) for the example service
// (envoy/grpc/example.proto), with each call's outcome as a plain value:
// the status code the client ended with, and what it received.

import * as grpc from "@grpc/grpc-js";
import { exampleProto, type Call, type Reply } from "./grpc_server.js";

export interface Outcome {
  /** The status the client's call ended with (grpc.status). */
  code: number;
  details: string;
  /** Unary: the reply, if any. Stream: every reply received. */
  replies: Reply[];
}

export interface CallOptions {
  /** A deadline this many ms from the call's start (grpc-js sends it as grpc-timeout and enforces it itself). */
  deadlineMs?: number;
  /** Cancel the call from the client this many ms after it started. */
  cancelAfterMs?: number;
  /** Stream: cancel the call from the client once this many replies have arrived. */
  cancelAfterReplies?: number;
}

type Method = (
  req: Call,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  cb?: (err: grpc.ServiceError | null, r?: Reply) => void,
) => grpc.ClientUnaryCall & grpc.ClientReadableStream<Reply>;

export class ExampleClient {
  readonly raw: grpc.Client;

  /** A client of the example service at 127.0.0.1:`port` (plaintext HTTP/2, prior knowledge). */
  constructor(port: number) {
    const { Client } = exampleProto();
    this.raw = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }

  private method(name: string): Method {
    return (this.raw as unknown as Record<string, Method>)[name].bind(this.raw);
  }

  private options(o: CallOptions): grpc.CallOptions {
    return o.deadlineMs !== undefined ? { deadline: Date.now() + o.deadlineMs } : {};
  }

  unary(req: Call, o: CallOptions = {}): Promise<Outcome> {
    return new Promise((ok) => {
      const call = this.method("Unary")(req, new grpc.Metadata(), this.options(o), (err, reply) => {
        clearTimeout(timer);
        ok(err ? { code: err.code, details: err.details, replies: [] } : { code: grpc.status.OK, details: "", replies: [reply!] });
      });
      const timer = o.cancelAfterMs !== undefined ? setTimeout(() => call.cancel(), o.cancelAfterMs) : undefined;
    });
  }

  stream(req: Call, o: CallOptions = {}): Promise<Outcome> {
    return new Promise((ok) => {
      const replies: Reply[] = [];
      const call = this.method("Stream")(req, new grpc.Metadata(), this.options(o));
      const timer = o.cancelAfterMs !== undefined ? setTimeout(() => call.cancel(), o.cancelAfterMs) : undefined;
      call.on("data", (r: Reply) => {
        replies.push(r);
        if (o.cancelAfterReplies !== undefined && replies.length === o.cancelAfterReplies) call.cancel();
      });
      // 'status' comes last, after 'error' or 'end'.
      call.on("error", () => {});
      call.on("status", (s: grpc.StatusObject) => {
        clearTimeout(timer);
        ok({ code: s.code, details: s.details, replies });
      });
    });
  }

  /** A call to a method the service does not have (the server answers UNIMPLEMENTED). */
  unknownMethod(method = "NoSuchMethod"): Promise<Outcome> {
    const { Client } = exampleProto();
    const path = `/${Client.service.Unary.path.split("/")[1]}/${method}`;
    const identity = (b: Buffer) => b;
    return new Promise((ok) => {
      this.raw.makeUnaryRequest(path, identity, identity, Buffer.alloc(0), (err) => {
        ok(err ? { code: err.code, details: err.details, replies: [] } : { code: grpc.status.OK, details: "", replies: [] });
      });
    });
  }

  close(): void {
    this.raw.close();
  }
}

export { grpc };
