// Validation of Kubernetes custom resources against the CRDs that define them (the published
// CRD YAML, vendored under tests/fixtures/crds/), without a cluster: what the API server
// checks on `kubectl apply`, as far as a test can reproduce it.
//
// - apiVersion and kind must name the CRD's group, a served version, and its kind;
//   metadata.name must be a DNS-1123 subdomain, metadata.namespace a DNS-1123 label;
// - the version's openAPIV3Schema, through ajv, after converting what JSON Schema lacks:
//   an object schema with `properties` and no `x-kubernetes-preserve-unknown-fields` gets
//   `additionalProperties: false` (unknown fields are errors, as with kubectl's default
//   `--validate=strict`), `x-kubernetes-int-or-string` becomes integer-or-string, and
//   `format` is not checked (int32, int64, date-time, ...);
// - every `x-kubernetes-validations` rule on the way (CEL) with @marcbachmann/cel-js, plus the
//   Kubernetes CEL library functions these CRDs use (isURL, url(...).getScheme()); transition
//   rules (those reading oldSelf) only apply to updates and are skipped; a rule that cannot be
//   evaluated is reported as an error, never passed over;
// - `x-kubernetes-list-type: map` (unique keys) and `set` (unique items).

import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject } from "ajv";
import { Environment } from "@marcbachmann/cel-js";
import { parseAllDocuments } from "yaml";

type Schema = Record<string, unknown>;

export interface Crd {
  group: string;
  kind: string;
  /** Served version name → its openAPIV3Schema. */
  versions: Map<string, Schema>;
  file: string;
}

/** The CRD in `file` (a single CustomResourceDefinition document). */
export function loadCrd(file: string): Crd {
  const docs = parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJS())
    .filter((d) => d?.kind === "CustomResourceDefinition");
  if (docs.length !== 1) throw new Error(`${file}: expected one CustomResourceDefinition, found ${docs.length}`);
  const spec = docs[0].spec;
  const versions = new Map<string, Schema>();
  for (const v of spec.versions) if (v.served) versions.set(v.name, v.schema.openAPIV3Schema);
  return { group: spec.group, kind: spec.names.kind, versions, file };
}

const JSON_SCHEMA_KEYWORDS = new Set([
  "type",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "required",
  "nullable",
]);

/** A Kubernetes structural schema as JSON Schema for ajv (see the file header). */
export function toJsonSchema(s: Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (JSON_SCHEMA_KEYWORDS.has(k)) out[k] = v;
    else if (k === "properties") out.properties = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([p, ps]) => [p, toJsonSchema(ps)]));
    else if (k === "items") out.items = toJsonSchema(v as Schema);
    else if (k === "additionalProperties") out.additionalProperties = typeof v === "boolean" ? v : toJsonSchema(v as Schema);
    else if (k === "allOf" || k === "anyOf" || k === "oneOf") out[k] = (v as Schema[]).map(toJsonSchema);
    else if (k === "not") out.not = toJsonSchema(v as Schema);
  }
  if (s["x-kubernetes-int-or-string"]) {
    delete out.type;
    out.anyOf = [{ type: "integer" }, { type: "string" }, ...((out.anyOf as Schema[]) ?? [])];
  }
  if (s.properties && !s["x-kubernetes-preserve-unknown-fields"] && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

/** CEL with the Kubernetes library functions the vendored CRDs use. */
class KubeURL {
  constructor(readonly url: URL) {}
}
const isUrl = (s: string) => {
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
};
const cel = new Environment({ unlistedVariablesAreDyn: true } as ConstructorParameters<typeof Environment>[0])
  .registerType("URL", KubeURL)
  .registerFunction("isURL(string): bool", isUrl)
  .registerFunction("url(string): URL", (s: string) => new KubeURL(new URL(s)))
  .registerFunction("URL.getScheme(): string", (u: KubeURL) => u.url.protocol.replace(/:$/, ""));

export interface Validated {
  errors: string[];
  /** CEL rules evaluated (true), for tests that want to know the rules were reached. */
  rulesEvaluated: string[];
}

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const compiled = new WeakMap<Schema, ReturnType<typeof ajv.compile>>();

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Validates one custom resource against the CRD of its kind among `crds`. */
export function validateResource(doc: Record<string, unknown>, crds: Crd[]): Validated {
  const errors: string[] = [];
  const rulesEvaluated: string[] = [];
  const [group, version] = String(doc.apiVersion ?? "").split("/");
  const crd = crds.find((c) => c.group === group && c.kind === doc.kind);
  if (!crd) return { errors: [`no CRD for apiVersion ${doc.apiVersion}, kind ${doc.kind}`], rulesEvaluated };
  const schema = crd.versions.get(version);
  if (!schema) return { errors: [`${crd.kind}: version ${version} is not served (served: ${[...crd.versions.keys()].join(", ")})`], rulesEvaluated };

  const meta = (doc.metadata ?? {}) as Record<string, unknown>;
  if (typeof meta.name !== "string" || meta.name.length > 253 || !DNS_SUBDOMAIN.test(meta.name))
    errors.push(`metadata.name: ${JSON.stringify(meta.name)} is not a DNS-1123 subdomain`);
  if (meta.namespace !== undefined && (typeof meta.namespace !== "string" || meta.namespace.length > 63 || !DNS_LABEL.test(meta.namespace)))
    errors.push(`metadata.namespace: ${JSON.stringify(meta.namespace)} is not a DNS-1123 label`);

  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(withObjectMeta(toJsonSchema(schema)));
    compiled.set(schema, validate);
  }
  if (!validate(doc)) errors.push(...(validate.errors ?? []).map(formatAjvError));

  walk(doc, schema, "", errors, rulesEvaluated);
  return { errors, rulesEvaluated };
}

const stringMap = { type: "object", additionalProperties: { type: "string" } };
/**
 * The fields every resource has, which CRD schemas leave out (the API server adds them): apiVersion,
 * kind, and the ObjectMeta fields a manifest sets.
 */
function withObjectMeta(root: Schema): Schema {
  const metadata = {
    type: "object",
    properties: {
      name: { type: "string" },
      generateName: { type: "string" },
      namespace: { type: "string" },
      labels: stringMap,
      annotations: stringMap,
      finalizers: { type: "array", items: { type: "string" } },
    },
    additionalProperties: false,
  };
  return {
    ...root,
    properties: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata, ...(root.properties as Schema) },
    required: ["apiVersion", "kind", "metadata"],
  };
}

function formatAjvError(e: ErrorObject): string {
  const where = e.instancePath.replace(/^\//, "").replaceAll("/", ".") || "(root)";
  if (e.keyword === "additionalProperties") return `${where}: unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === "enum") return `${where}: ${e.message}: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")}`;
  return `${where}: ${e.message}`;
}

/** The CEL rules and list types along the data, in the schema's shape. */
function walk(data: unknown, s: Schema, path: string, errors: string[], evaluated: string[]): void {
  if (data === undefined || data === null) return;
  const at = path || "(root)";
  for (const v of (s["x-kubernetes-validations"] as { rule: string; message?: string }[] | undefined) ?? []) {
    if (/\boldSelf\b/.test(v.rule)) continue;
    try {
      const ok = cel.evaluate(v.rule, { self: data });
      if (ok === true) evaluated.push(v.rule);
      else errors.push(`${at}: ${v.message ?? `failed rule: ${v.rule}`}`);
    } catch (e) {
      errors.push(`${at}: cannot evaluate the CEL rule ${JSON.stringify(v.rule)}: ${(e as Error).message}`);
    }
  }
  if (Array.isArray(data)) {
    const listType = s["x-kubernetes-list-type"];
    const keys = (s["x-kubernetes-list-map-keys"] as string[] | undefined) ?? [];
    if (listType === "map" || listType === "set") {
      const seen = new Set<string>();
      for (const item of data) {
        const key = JSON.stringify(listType === "map" ? keys.map((k) => (item as Record<string, unknown>)?.[k]) : item);
        if (seen.has(key)) errors.push(`${at}: duplicate ${listType === "map" ? `entry for key ${keys.join(",")}=` : "item "}${key}`);
        seen.add(key);
      }
    }
    if (s.items) {
      data.forEach((item, i) => {
        walk(item, s.items as Schema, `${path}[${i}]`, errors, evaluated);
      });
    }
    return;
  }
  if (typeof data === "object") {
    const props = (s.properties as Record<string, Schema> | undefined) ?? {};
    for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
      const sub = props[k] ?? (typeof s.additionalProperties === "object" ? (s.additionalProperties as Schema) : undefined);
      if (sub) walk(v, sub, path ? `${path}.${k}` : k, errors, evaluated);
    }
  }
}

/** Every document of a YAML file, as plain objects. */
export function loadYamlDocuments(file: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(file, "utf8")).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
    return d.toJS() as Record<string, unknown>;
  });
}
