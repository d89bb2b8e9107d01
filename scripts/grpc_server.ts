// The example gRPC server behind sitio's :18080 listener (envoy.yaml's
// grpc_service cluster), as a command:
//
//   npx tsx scripts/grpc_server.ts [--port 8097] [--host 127.0.0.1]
//
// It serves envoy/grpc/example.proto; the server itself is
// tests/harness/grpc_server.ts (the tests start it in-process). Try:
//
//   grpcurl -plaintext -proto envoy/grpc/example.proto -d '{"name":"a"}' localhost:18080 sitio.example.Example/Unary

import { startGrpcServer } from "../tests/harness/grpc_server.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = arg("host", "127.0.0.1");
const server = await startGrpcServer({ port: Number(arg("port", "8097")), host });
console.error(`grpc server: listening on ${host}:${server.port}`);
const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
