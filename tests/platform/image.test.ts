// The OCI image of the module (scripts/image.sh; built, saved and served by scripts/test_image.sh):
// the "compat" variant of the Wasm image spec that Istio and Envoy Gateway fetch — one layer
// whose only file is plugin.wasm, byte for byte build/sitio.wasm — checked in the `docker save`
// archive, after a rebuild without cache, and through a push/pull round trip to a local registry,
// read back with the registry HTTP API the way Istio's fetcher reads it (manifest, last layer,
// gunzip, untar, plugin.wasm).

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { ROOT, WASM } from "../harness/envoy.js";
import { readTar, type TarEntry } from "../harness/tar.js";

const IMAGE = process.env.SITIO_IMAGE!;
const REBUILT = process.env.SITIO_REBUILT_IMAGE!;
const TAR = process.env.SITIO_IMAGE_TAR!;
const REGISTRY = process.env.SITIO_REGISTRY!;
if (!IMAGE || !TAR || !REGISTRY || !REBUILT)
  throw new Error("run by scripts/test_image.sh (npm run test:image), which builds the image and starts the registry");

const sha256 = (b: Uint8Array) => "sha256:" + createHash("sha256").update(b).digest("hex");
const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();
const inspect = (ref: string) =>
  JSON.parse(docker("image", "inspect", ref))[0] as {
    Id: string;
    RootFS: { Layers: string[] };
    RepoDigests: string[];
    Config: { Labels: Record<string, string> };
  };
const module = readFileSync(WASM);
const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;

/** The layer must hold plugin.wasm, a regular file owned by root, readable by all, with the fixed time, and nothing else. */
function expectOnlyPluginWasm(entries: TarEntry[]): void {
  const mtime = Number(process.env.SOURCE_DATE_EPOCH ?? 0);
  expect(entries.map((e) => ({ name: e.name, type: e.type, uid: e.uid, gid: e.gid, mode: (e.mode & 0o7777).toString(8), mtime: e.mtime }))).toEqual([
    { name: "plugin.wasm", type: "0", uid: 0, gid: 0, mode: "644", mtime },
  ]);
  expect(sha256(entries[0].data)).toBe(sha256(module));
}

describe(`docker save ${IMAGE}`, () => {
  const files = new Map(readTar(readFileSync(TAR)).map((e) => [e.name, e.data]));
  const [manifest] = JSON.parse(files.get("manifest.json")!.toString()) as { Config: string; RepoTags: string[]; Layers: string[] }[];
  const configBytes = files.get(manifest.Config)!;
  const config = JSON.parse(configBytes.toString());

  test("one image, one layer; the config's digest is the image ID and names that layer", () => {
    expect(manifest.RepoTags).toEqual([IMAGE]);
    expect(manifest.Layers).toHaveLength(1);
    expect(sha256(configBytes)).toBe(inspect(IMAGE).Id);
    expect(config.rootfs).toEqual({ type: "layers", diff_ids: [sha256(files.get(manifest.Layers[0])!)] });
    expect(config.history.filter((h: { empty_layer?: boolean }) => !h.empty_layer)).toHaveLength(1);
    console.log(
      `${IMAGE}: image ID ${sha256(configBytes)}; docker save: ${[...files.keys()].join(", ")}; layer ${config.rootfs.diff_ids[0]} (${files.get(manifest.Layers[0])!.length} bytes uncompressed)`,
    );
  });

  test("the layer holds plugin.wasm and nothing else: build/sitio.wasm byte for byte", () => {
    expectOnlyPluginWasm(readTar(files.get(manifest.Layers[0])!));
  });

  test("no command, and the labels: compat variant, OCI title/version/revision", () => {
    expect(config.config.Cmd ?? null).toBeNull();
    expect(config.config.Entrypoint ?? null).toBeNull();
    const revision = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    expect(config.config.Labels).toMatchObject({
      "module.wasm.image/variant": "compat",
      "org.opencontainers.image.title": "sitio",
      "org.opencontainers.image.version": version,
      "org.opencontainers.image.revision": revision,
      "org.opencontainers.image.licenses": "MIT",
    });
  });

  test("rebuilt without the build cache: the same layer digest (the same wasm gives the same layer)", () => {
    expect(inspect(REBUILT).RootFS.Layers).toEqual(config.rootfs.diff_ids);
  });
});

describe(`registry round trip (docker-registry on ${REGISTRY})`, () => {
  const remote = `${REGISTRY}/sitio:${version}`;
  const api = `http://${REGISTRY}/v2/sitio`;

  test("docker push, read back through the registry API as Istio's fetcher reads it, then docker pull gives the same image", async () => {
    docker("tag", IMAGE, remote);
    const pushed = docker("push", remote);
    const digest = /digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(pushed)?.[1];
    expect(digest, pushed).toBeDefined();

    // The manifest, by tag: a Docker v2 manifest (Docker media types: the spec's second compat form, no annotation required).
    const res = await fetch(`${api}/manifests/${version}`, {
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" },
    });
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get("docker-content-digest")).toBe(digest);
    expect(sha256(body)).toBe(digest);
    const m = JSON.parse(body.toString());
    expect(m.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(m.config.digest).toBe(inspect(IMAGE).Id);
    expect(m.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(["application/vnd.docker.image.rootfs.diff.tar.gzip"]);

    // The last (only) layer: its digest is that of the bytes served; gunzipped, its digest is the diff_id; inside, plugin.wasm.
    const layer = m.layers[0];
    const blob = Buffer.from(await (await fetch(`${api}/blobs/${layer.digest}`)).arrayBuffer());
    expect(blob.length).toBe(layer.size);
    expect(sha256(blob)).toBe(layer.digest);
    const tar = gunzipSync(blob);
    expect(sha256(tar)).toBe(inspect(IMAGE).RootFS.Layers[0]);
    expectOnlyPluginWasm(readTar(tar));

    // Pull it back into an engine that no longer has it under that name.
    docker("rmi", remote);
    docker("pull", remote);
    const pulled = inspect(remote);
    expect(pulled.Id).toBe(inspect(IMAGE).Id);
    expect(pulled.RepoDigests).toContain(`${REGISTRY}/sitio@${digest}`);
    console.log(
      `pushed ${remote}: manifest ${digest} (${body.length} bytes), config ${m.config.digest}, layer ${layer.digest} (${layer.size} bytes gzip); pulled back: image ID ${pulled.Id}`,
    );
  });
});
