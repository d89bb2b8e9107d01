// Captures the TLS hello corpus in tests/fixtures/tls/: real clients (curl,
// Node's tls, openssl s_client, the Go client) make one HTTPS request each to
// the shipped web_tls listener (:18443, tcp_proxy to the example TLS service,
// Envoy terminating TLS) through a recording relay (tests/harness/tls_relay.ts),
// which keeps the first flights exactly as the server exchanged them.
//
//   npx tsx scripts/capture_tls_corpus.ts [--out DIR]
//
// Writes <name>.client.bin and <name>.server.bin per capture and manifest.json
// with what each must decode to. The expectations come from the reference
// reader in tests/harness/tls_bytes.ts (not from the decoder under test) and
// are checked against what each client was told to send (SNI, ALPN) and what
// it reports it negotiated (version, ALPN); any mismatch aborts the capture.

import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ROOT, startEnvoy } from "../tests/harness/envoy.js";
import { TLS_CLIENT_CASES, type TlsClientCase, type TlsClientResult } from "../tests/harness/tls_clients.js";
import { startTlsRelay, type FlightCapture, type TlsRelay } from "../tests/harness/tls_relay.js";
import { handshakeMessages, parseClientHello, parseServerHello, RECORD, splitRecords, versionName } from "../tests/harness/tls_bytes.js";

const { values: args } = parseArgs({ options: { out: { type: "string", default: "tests/fixtures/tls" } } });
const OUT = resolve(ROOT, args.out!);

const hex = (n: number) => `0x${n.toString(16).padStart(4, "0")}`;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`capture check failed: ${what}`);
}

function describe(e: TlsClientCase, cap: FlightCapture, seen: TlsClientResult | { failed: string }) {
  check(cap.complete, `${e.name}: the server's ServerHello or alert was not seen`);
  const hellos = handshakeMessages(cap.client).filter((m) => m.type === 1);
  check(hellos.length >= 1, `${e.name}: no ClientHello`);
  const ch = parseClientHello(hellos[0].body);
  const serverHellos = handshakeMessages(cap.server)
    .filter((m) => m.type === 2)
    .map((m) => parseServerHello(m.body));
  const sh = serverHellos.find((s) => !s.retry) ?? null;
  const alertRecord = splitRecords(cap.server).find((r) => r.type === RECORD.alert);
  const alert = alertRecord ? [cap.server[alertRecord.at + 5], cap.server[alertRecord.at + 6]] : null;
  check(ch.sni === e.sni, `${e.name}: SNI ${ch.sni}, the client was told ${e.sni}`);
  check(JSON.stringify(e.alpn ?? []) === JSON.stringify(ch.alpn), `${e.name}: ALPN ${ch.alpn}, the client was told ${e.alpn}`);
  if ("failed" in seen) {
    check(alert !== null && sh === null, `${e.name}: expected an alert and no ServerHello`);
  } else {
    check(seen.body === "example tls body\n", `${e.name}: body ${JSON.stringify(seen.body)}`);
    check(
      sh !== null && versionName(sh.version) === seen.version,
      `${e.name}: ServerHello version ${sh && versionName(sh.version)}, the client says ${seen.version}`,
    );
    check(
      seen.version === e.expect.version && seen.alpn === e.expect.alpn,
      `${e.name}: negotiated ${seen.version} ${seen.alpn}, the case expects ${e.expect.version} ${e.expect.alpn}`,
    );
    if (sh!.version === 0x0303) check(sh!.alpn === seen.alpn, `${e.name}: ServerHello ALPN ${sh!.alpn}, the client says ${seen.alpn}`);
  }
  const events = ["client_hello", ...serverHellos.map((s) => (s.retry ? "hello_retry_request" : "server_hello")), ...(alert ? ["alert"] : [])];
  return {
    name: e.name,
    client: e.about,
    command: "failed" in seen ? undefined : seen.command.replace(/:\d{4,5}\b/g, ":PORT").replace(ROOT + "/", ""),
    files: { client: `${e.name}.client.bin`, server: `${e.name}.server.bin` },
    bytes: { client: cap.client.length, server: cap.server.length },
    records: { client: cap.clientRecords, server: cap.serverRecords },
    offered: {
      clientHelloLength: ch.length,
      clientHellos: hellos.length,
      alpn: ch.alpn,
      versions: ch.versions?.map(versionName) ?? null,
      keyShareGroups: ch.keyShareGroups.map(hex),
      cipherSuites: ch.cipherSuites.length,
      extensions: ch.extensionTypes.length,
    },
    seenByClient:
      "failed" in seen
        ? {
            failed:
              seen.failed
                .split("\n")
                .find((l) => /alert/.test(l))
                ?.trim() ?? "handshake failed",
          }
        : { version: seen.version, alpn: seen.alpn, ...(seen.detail ?? {}) },
    expect: {
      events,
      sni: ch.sni,
      alpn: ch.alpn[0] ?? null,
      alpnCount: ch.alpn.length,
      clientVersion: versionName(ch.legacyVersion),
      offeredVersion: versionName(ch.offered),
      version: sh ? versionName(sh.version) : null,
      cipherSuite: sh ? hex(sh.cipherSuite) : null,
      helloRetry: serverHellos.some((s) => s.retry),
      keyShareGroup: sh?.keyShareGroup != null ? hex(sh.keyShareGroup) : null,
      alert,
    },
  };
}

function toolVersions(): Record<string, string> {
  const first = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8" }).split("\n")[0].trim();
    } catch {
      return "not found";
    }
  };
  return {
    curl: first("curl", ["--version"]),
    openssl: first("openssl", ["version"]),
    node: process.version,
    go: first("go", ["version"]),
    envoy: "1.40.0 (envoy/envoy.yaml, tls_service: BoringSSL)",
  };
}

async function main(): Promise<void> {
  const envoy = await startEnvoy({ name: "tls-corpus" });
  const relays: TlsRelay[] = [];
  try {
    const port = envoy.port(18443);
    mkdirSync(OUT, { recursive: true });
    const manifest = [];
    for (const e of TLS_CLIENT_CASES) {
      const relay = await startTlsRelay({ target: port, reframe: e.reframe });
      relays.push(relay);
      const seen = await e.run(relay.port);
      const cap = relay.captures[relay.captures.length - 1];
      const entry = describe(e, cap, seen);
      writeFileSync(join(OUT, entry.files.client), cap.client);
      writeFileSync(join(OUT, entry.files.server), cap.server);
      manifest.push(entry);
      console.log(
        `${e.name}: client ${cap.client.length} B (records ${cap.clientRecords.join(", ")}), server ${cap.server.length} B; sni ${entry.expect.sni}, alpn ${entry.expect.alpn} of ${entry.expect.alpnCount}, offered ${entry.expect.offeredVersion}, negotiated ${entry.expect.version}${entry.expect.alert ? `, alert ${entry.expect.alert}` : ""}`,
      );
    }
    const doc = {
      about:
        "First flights of real TLS handshakes with sitio's example TLS service, captured by scripts/capture_tls_corpus.ts. client: bytes the server received before its final ServerHello (or alert); server: its bytes up to and including that record. expect: what tests/host/tls_hello.test.ts requires the decoder (assembly/codec/tls_hello.ts) to report, fed the client bytes then the server bytes.",
      captured: new Date().toISOString().slice(0, 10),
      tools: toolVersions(),
      captures: manifest,
    };
    // two-space JSON with arrays of numbers and strings kept on one line
    const text = JSON.stringify(doc, null, 2).replace(/\[\s+([^[\]{}]*?)\s+\]/g, (_m, inner: string) => `[${inner.replace(/,\s+/g, ", ")}]`);
    writeFileSync(join(OUT, "manifest.json"), text + "\n");
  } finally {
    for (const r of relays) await r.close();
    await envoy.stop();
  }
}

await main();
