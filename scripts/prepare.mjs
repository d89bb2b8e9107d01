#!/usr/bin/env node
// The set-up steps that need only Node and npm, in one place for both places they run:
// scripts/setup.sh on the host (`npm start`, `npm test`), and the `build` service of
// docker-compose.yml, in a container, before Envoy and the Foo server start.
//
//   1. npm packages exactly as locked: `npm ci`, unless node_modules was installed from this
//      very package-lock.json (its sha256 is kept in node_modules/.sitio-lock.sha256);
//   2. the filter: `npm run build` → build/sitio.wasm and build/sitio.debug.wasm;
//   3. the example TLS service's self-signed certificate (scripts/make_cert.ts → build/tls/),
//      when missing.
//
// A step that makes files the example services need at run time (a certificate made at
// set-up, say) goes here too, so that `npm start` and `docker-compose up` both get it. Write
// such files under build/: in docker-compose, build/ is the volume Envoy mounts beside envoy/,
// so envoy.yaml names them by the same relative path in both places. The build service
// mounts only package.json, package-lock.json, asconfig.json, assembly/ and scripts/: a step
// that reads other files needs them added to its volumes in docker-compose.yml.
// `node scripts/prepare.mjs --packages-only` stops after step 1 (.ci/run: `npm run lint` needs the
// packages, not the build).
// Plain JavaScript with Node's own modules only: it runs before node_modules exists.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function run(args) {
  const r = spawnSync(npm, args, { cwd: root, stdio: "inherit" });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    console.error(`prepare: npm ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

// 1. npm packages.
const lock = readFileSync(join(root, "package-lock.json"));
const lockSum = createHash("sha256").update(lock).digest("hex");
const marker = join(root, "node_modules/.sitio-lock.sha256");
const installedSum = existsSync(marker) ? readFileSync(marker, "utf8").trim() : "";
// A node_modules from `npm ci` run by hand (no marker yet) counts as current when npm's own record of the
// install is newer than the lock file, the rule this step used before it kept the marker.
const npmRecord = join(root, "node_modules/.package-lock.json");
const installedByHand = installedSum === "" && existsSync(npmRecord) && statSync(npmRecord).mtimeMs >= statSync(join(root, "package-lock.json")).mtimeMs;
if (installedSum !== lockSum && !installedByHand) {
  run(["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
}
if (installedSum !== lockSum) writeFileSync(marker, `${lockSum}\n`);
if (process.argv.includes("--packages-only")) process.exit(0);

// 2. The filter.
run(["run", "--silent", "build"]);

// 3. The certificate the example TLS service (envoy.yaml's tls_service) terminates TLS with.
if (!existsSync(join(root, "build/tls/cert.pem")) || !existsSync(join(root, "build/tls/key.pem"))) {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "scripts/make_cert.ts")], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`prepare: scripts/make_cert.ts failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}
