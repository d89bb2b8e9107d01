// The example TLS service's certificate: a self-signed X.509 v3 certificate
// and its P-256 key, made with Node alone (no openssl) into build/tls/
// (cert.pem, key.pem). build/ is git-ignored: the key is never committed.
//
//   tsx scripts/make_cert.ts [--force] [--out DIR]
//
// Does nothing when both files exist, the certificate names every SAN below
// and stays valid for 30 more days (`--force` makes a new pair anyway).
// `npm run setup` runs it; the test harness runs it when the files are missing.
// Two runs at once are safe: the pair is written into a fresh directory that
// is renamed into place, so a reader sees both files of one pair or none.
//
// SANs: localhost, sitio.test, *.sitio.test (for `curl --resolve
// other.sitio.test:18443:127.0.0.1`), IP 127.0.0.1 and ::1. The certificate
// is its own issuer with CA:TRUE, so a client can trust it with
// `curl --cacert build/tls/cert.pem` instead of `-k`.

import { X509Certificate, createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

export const DNS_NAMES = ["localhost", "sitio.test", "*.sitio.test"];
export const IP_ADDRESSES = ["127.0.0.1", "::1"];
const VALID_DAYS = 3650;
const RENEW_DAYS = 30;

// ---------------------------------------------------------------- DER

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One DER element: tag, length, contents. */
function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
const octets = (b: Buffer) => tlv(0x04, b);
const bitString = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));
/** [n] EXPLICIT */
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);

/** A non-negative INTEGER from big-endian bytes. */
function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && b[1] < 0x80) b = b.subarray(1);
  if (b[0] >= 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const out = [40 * parts[0] + parts[1]];
  for (const p of parts.slice(2)) {
    const groups: number[] = [];
    for (let v = p; ; v = Math.floor(v / 128)) {
      groups.unshift(v & 0x7f);
      if (v < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
function time(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, "0");
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  return y < 2050 ? tlv(0x17, Buffer.from(`${p(y % 100)}${rest}`)) : tlv(0x18, Buffer.from(`${y}${rest}`));
}

function ipBytes(ip: string): Buffer {
  if (ip.includes(":")) {
    const [head, tail] = ip.split("::");
    const h = head ? head.split(":") : [];
    const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
    const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
    return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
  }
  return Buffer.from(ip.split(".").map(Number));
}

// ---------------------------------------------------------------- certificate

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

/** A self-signed certificate for `publicKey`, signed with `privateKey`; DER. */
export function selfSignedCertificate(
  publicKey: KeyObject,
  privateKey: KeyObject,
  opts: { commonName: string; dns: string[]; ips: string[]; days: number; now?: Date },
): Buffer {
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - 24 * 3600 * 1000); // a day back, for clocks a little behind
  const notAfter = new Date(now.getTime() + opts.days * 24 * 3600 * 1000);
  const spki = publicKey.export({ type: "spki", format: "der" });
  // subjectPublicKey's bits: the BIT STRING at the end of the SPKI (after its unused-bits byte)
  const keyId = createHash("sha1")
    .update(spki.subarray(spki.length - 65))
    .digest();
  const name = seq(set(seq(oid(OID.organization), utf8("sitio example"))), set(seq(oid(OID.commonName), utf8(opts.commonName))));
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  serial[0] |= 0x01;
  const sans = seq(...opts.dns.map((d) => tlv(0x82, Buffer.from(d, "ascii"))), ...opts.ips.map((ip) => tlv(0x87, ipBytes(ip))));
  const extensions = seq(
    extension(OID.basicConstraints, true, seq(bool(true))),
    // digitalSignature (bit 0) and keyCertSign (bit 5): BIT STRING 0x84 with 2 unused bits
    extension(OID.keyUsage, true, tlv(0x03, Buffer.from([2, 0x84]))),
    extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
    extension(OID.subjectKeyIdentifier, false, octets(keyId)),
    extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, keyId))),
    extension(OID.subjectAltName, false, sans),
  );
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    algorithm,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    explicit(3, extensions),
  );
  const signature = sign("sha256", tbs, privateKey); // DER ECDSA-Sig-Value
  return seq(tbs, algorithm, bitString(signature));
}

function pem(label: string, der: Buffer): string {
  const b64 = der
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** The certificate is valid for every DNS name (a wildcard through one name under it) and IP address above. */
function namesAll(cert: X509Certificate): boolean {
  const hosts = DNS_NAMES.map((d) => d.replace(/^\*\./, "other."));
  return hosts.every((h) => cert.checkHost(h) !== undefined) && IP_ADDRESSES.every((ip) => cert.checkIP(ip) !== undefined);
}

/** True when `dir` holds a pair this script would make now: the names, and 30 days of validity left. */
export function certificateIsCurrent(dir: string): boolean {
  const certFile = join(dir, "cert.pem");
  if (!existsSync(certFile) || !existsSync(join(dir, "key.pem"))) return false;
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    const left = new Date(cert.validTo).getTime() - Date.now();
    return namesAll(cert) && left > RENEW_DAYS * 24 * 3600 * 1000;
  } catch {
    return false;
  }
}

/** Makes build/tls/{cert,key}.pem (or under `dir`) unless current; returns what it did. */
export function makeCertificate(dir: string, force = false): "made" | "kept" {
  if (!force && certificateIsCurrent(dir)) return "kept";
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const der = selfSignedCertificate(publicKey, privateKey, { commonName: "localhost", dns: DNS_NAMES, ips: IP_ADDRESSES, days: VALID_DAYS });
  // Check what was made with Node's own X.509 parser before anyone uses it.
  const check = new X509Certificate(der);
  if (!check.verify(publicKey) || !namesAll(check)) {
    throw new Error(`make_cert: the certificate made does not verify or does not name ${[...DNS_NAMES, ...IP_ADDRESSES].join(", ")}`);
  }
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp);
  writeFileSync(join(tmp, "cert.pem"), pem("CERTIFICATE", der));
  // A throwaway key for a local example service. It is world-readable on purpose: the
  // docker-compose Envoy runs as its own user and reads build/ through a volume.
  writeFileSync(join(tmp, "key.pem"), privateKey.export({ type: "pkcs8", format: "pem" }));
  chmodSync(join(tmp, "key.pem"), 0o644);
  if (existsSync(dir)) {
    // a stale pair (or one another run made meanwhile: then keep that one)
    if (!force && certificateIsCurrent(dir)) {
      rmSync(tmp, { recursive: true, force: true });
      return "kept";
    }
    const old = `${dir}.old-${process.pid}-${Date.now()}`;
    renameSync(dir, old);
    rmSync(old, { recursive: true, force: true });
  }
  try {
    renameSync(tmp, dir);
  } catch (e) {
    // another run renamed its pair into place first: use that one
    rmSync(tmp, { recursive: true, force: true });
    if (!certificateIsCurrent(dir)) throw e;
    return "kept";
  }
  return "made";
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("make_cert.ts")) {
  const { values } = parseArgs({ options: { force: { type: "boolean", default: false }, out: { type: "string", default: "build/tls" } } });
  const dir = resolve(import.meta.dirname, "..", values.out!);
  const what = makeCertificate(dir, values.force);
  console.log(
    what === "made"
      ? `make_cert: wrote ${dir}/cert.pem and key.pem (self-signed, P-256, ${VALID_DAYS} days; SANs ${[...DNS_NAMES, ...IP_ADDRESSES].join(", ")})`
      : `make_cert: ${dir} is current, kept`,
  );
}
