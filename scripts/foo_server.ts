// The Foo protocol server (seed 001) behind sitio's :18001 listener, as a command:
//
//   npx tsx scripts/foo_server.ts [--port 8098] [--host 127.0.0.1] [--batch-ms 5]
//
// The server itself is tests/harness/foo_server.ts (the tests start it in-process).

import { startFooServer } from "../tests/harness/foo_server.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = arg("host", "127.0.0.1");
const server = await startFooServer({ port: Number(arg("port", "8098")), host, batchMs: Number(arg("batch-ms", "5")) });
console.error(`foo server: listening on ${host}:${server.port}`);
const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
