// The TLS hello corpus (tests/fixtures/tls/, made by scripts/capture_tls_corpus.ts):
// first flights of real handshakes and what each must decode to.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./envoy.js";

export const TLS_CORPUS_DIR = join(ROOT, "tests/fixtures/tls");

export interface TlsCapture {
  name: string;
  /** The client, as a user would run it. */
  client: string;
  bytes: { client: number; server: number };
  records: { client: number[]; server: number[] };
  offered: { clientHelloLength: number; clientHellos: number; alpn: string[]; versions: string[] | null; keyShareGroups: string[] };
  expect: {
    events: string[];
    sni: string | null;
    alpn: string | null;
    alpnCount: number;
    clientVersion: string;
    offeredVersion: string;
    version: string | null;
    cipherSuite: string | null;
    helloRetry: boolean;
    alert: [number, number] | null;
  };
  clientBytes: Buffer;
  serverBytes: Buffer;
}

export function loadTlsCorpus(): TlsCapture[] {
  const doc = JSON.parse(readFileSync(join(TLS_CORPUS_DIR, "manifest.json"), "utf8")) as {
    captures: (Omit<TlsCapture, "clientBytes" | "serverBytes"> & { files: { client: string; server: string } })[];
  };
  return doc.captures.map((c) => {
    const clientBytes = readFileSync(join(TLS_CORPUS_DIR, c.files.client));
    const serverBytes = readFileSync(join(TLS_CORPUS_DIR, c.files.server));
    if (clientBytes.length !== c.bytes.client || serverBytes.length !== c.bytes.server)
      throw new Error(`tls corpus: ${c.name}: the files' sizes differ from the manifest`);
    return { ...c, clientBytes, serverBytes };
  });
}
