// The plugin configuration through the project's own proxy-wasm host: which
// configs are accepted, the exact log line for each refused one, the endpoint
// collapse rules, and a fuzz run of the JSON parser (no input may trap).

import { describe, expect, test } from "vitest";
import { ProxyWasmHost, WasmTrap } from "../harness/proxy_wasm_host.js";

const REQS = "sitio_tcp_requests_total";
const key = (endpoint: string, method = "GET") => `${REQS};method=${method};endpoint=${endpoint};plugin=p`;
const CRITICAL = 5;
const OK = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";

/** Configures a fresh root; returns whether it was accepted and the critical log lines. */
function configure(json: string): { ok: boolean; critical: string[]; host: ProxyWasmHost } {
  const host = new ProxyWasmHost();
  let ok = true;
  try {
    host.createRoot("sitio_network", "p", json);
  } catch (e) {
    if (e instanceof WasmTrap) throw e;
    ok = false;
  }
  return { ok, critical: host.logs.filter((l) => l.level === CRITICAL).map((l) => l.message), host };
}

const line = (error: string) => `sitio: plugin p: invalid configuration: ${error}`;

describe("wasm host: configuration accepted", () => {
  const good: [string, string][] = [
    ["empty text", ""],
    ["whitespace", " \n\t "],
    ["empty object", "{}"],
    ["protocol", `{"protocol":"http1"}`],
    ["custom 404, enabled by presence", `{"custom_404":{"body":"<h1>gone</h1>"}}`],
    ["custom 404, all keys", `{"custom_404":{"enabled":true,"body":"x","content_type":"text/plain"}}`],
    ["custom 404 switched off, no body needed", `{"custom_404":{"enabled":false}}`],
    ["endpoints, all keys", `{"endpoints":{"max_distinct":10000,"collapse":["numbers","uuids"],"placeholder":"{:id}"}}`],
    ["max_distinct 1", `{"endpoints":{"max_distinct":1}}`],
    ["max_distinct as 1e2", `{"endpoints":{"max_distinct":1e2}}`],
    ["empty collapse", `{"endpoints":{"collapse":[]}}`],
    ["escapes and surrogate pairs in strings", `{"custom_404":{"body":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00 \u00e9 \u{1f600}"}}`],
    ["whitespace everywhere", ` {\r\n "endpoints" : { "collapse" : [ "numbers" ] } } \n`],
  ];
  test.each(good)("%s", (_name, json) => {
    const r = configure(json);
    expect(r.critical).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.host.traps).toBe(0);
  });
});

describe("wasm host: configuration refused with one exact log line", () => {
  const bad: [string, string][] = [
    [`{"bad":1}`, `unknown key "bad"`],
    [`{"custom_404":{"bdy":"x"}}`, `unknown key "custom_404.bdy"`],
    [`{"endpoints":{"max":1}}`, `unknown key "endpoints.max"`],
    [`{"endpoints":{"max_distinct":"ten"}}`, `"endpoints.max_distinct" must be an integer from 1 to 10000, got "ten"`],
    [`{"endpoints":{"max_distinct":0}}`, `"endpoints.max_distinct" must be an integer from 1 to 10000, got 0`],
    [`{"endpoints":{"max_distinct":10001}}`, `"endpoints.max_distinct" must be an integer from 1 to 10000, got 10001`],
    [`{"endpoints":{"max_distinct":2.5}}`, `"endpoints.max_distinct" must be an integer from 1 to 10000, got 2.5`],
    [`{"endpoints":{"max_distinct":null}}`, `"endpoints.max_distinct" must be an integer from 1 to 10000, got null`],
    [`{"endpoints":{"collapse":"numbers"}}`, `"endpoints.collapse" must be an array of "numbers", "uuids", got "numbers"`],
    [`{"endpoints":{"collapse":["numbers","ids"]}}`, `"endpoints.collapse[1]" must be "numbers" or "uuids", got "ids"`],
    [
      `{"endpoints":{"placeholder":""}}`,
      `"endpoints.placeholder" must be "{", 1 to 62 characters of printable ASCII other than space . ; % " \\ { }, then "}", got ""`,
    ],
    [
      `{"endpoints":{"placeholder":"{a;b}"}}`,
      `"endpoints.placeholder" must be "{", 1 to 62 characters of printable ASCII other than space . ; % " \\ { }, then "}", got "{a;b}"`,
    ],
    [
      `{"endpoints":{"placeholder":"{\\u00e9}"}}`,
      `"endpoints.placeholder" must be "{", 1 to 62 characters of printable ASCII other than space . ; % " \\ { }, then "}", got "{\\u00e9}"`,
    ],
    [
      `{"endpoints":{"placeholder":"id"}}`,
      `"endpoints.placeholder" must be "{", 1 to 62 characters of printable ASCII other than space . ; % " \\ { }, then "}", got "id"`,
    ],
    [
      `{"endpoints":{"placeholder":"{}"}}`,
      `"endpoints.placeholder" must be "{", 1 to 62 characters of printable ASCII other than space . ; % " \\ { }, then "}", got "{}"`,
    ],
    [
      `{"endpoints":{"placeholder":"."}}`,
      `"endpoints.placeholder" must be "{", 1 to 62 characters of printable ASCII other than space . ; % " \\ { }, then "}", got "."`,
    ],
    [
      `{"endpoints":{"placeholder":"{a.}"}}`,
      `"endpoints.placeholder" must be "{", 1 to 62 characters of printable ASCII other than space . ; % " \\ { }, then "}", got "{a.}"`,
    ],
    [`{"endpoints":[]}`, `"endpoints" must be an object, got an array`],
    [`{"protocol":"ftp"}`, `"protocol" must be one of "http1", "foo", "tls", got "ftp"`],
    [`{"protocol":1}`, `"protocol" must be one of "http1", "foo", "tls", got 1`],
    [`{"custom_404":true}`, `"custom_404" must be an object, got true`],
    [`{"custom_404":{}}`, `"custom_404.body" must be a non-empty string when custom_404 is enabled`],
    [`{"custom_404":{"enabled":true,"body":""}}`, `"custom_404.body" must be a non-empty string when custom_404 is enabled`],
    [`{"custom_404":{"enabled":"yes","body":"x"}}`, `"custom_404.enabled" must be true or false, got "yes"`],
    [`{"custom_404":{"body":{}}}`, `"custom_404.body" must be a string, got an object`],
    [
      `{"custom_404":{"body":"x","content_type":"a\\r\\nb"}}`,
      `"custom_404.content_type" must be a non-empty string of printable ASCII, got "a\\u000d\\u000ab"`,
    ],
    [`[]`, `the configuration must be a JSON object, got an array`],
    [`"http1"`, `the configuration must be a JSON object, got "http1"`],
    [`{"a\\n":1}`, `unknown key "a\\u000a"`],
    // JSON syntax: the byte offset where parsing stopped
    [`{`, `not valid JSON at byte 1: unexpected end of input, expected a key in quotes`],
    [`{"protocol":"http1",}`, `not valid JSON at byte 20: unexpected '}', expected a key in quotes`],
    [`{"protocol" "http1"}`, `not valid JSON at byte 12: unexpected '"', expected ':'`],
    [`{"protocol":"http1"} x`, `not valid JSON at byte 21: unexpected 'x' after the value`],
    [`{"a":1,"a":2}`, `not valid JSON at byte 7: duplicate key "a"`],
    [`{"a":tru}`, `not valid JSON at byte 5: unexpected 't', expected a value`],
    [`{"a":01}`, `not valid JSON at byte 6: unexpected '1', expected ',' or '}'`],
    [`{"a":1.}`, `not valid JSON at byte 7: unexpected '}' in a number, expected a digit`],
    [`{"a":"x`, `not valid JSON at byte 7: unterminated string`],
    [`{"a":"\\x"}`, `not valid JSON at byte 7: invalid escape \\'x'`],
    [`{"a":"\\u12G4"}`, `not valid JSON at byte 10: unexpected 'G' in a \\u escape, expected a hex digit`],
    [`{"a":"\\ud800"}`, `not valid JSON at byte 12: high surrogate \\u escape not followed by a low one`],
    [`{"a":"\\udc00"}`, `not valid JSON at byte 6: lone low surrogate in \\u escape`],
    [`{"a":"\t"}`, `not valid JSON at byte 6: control character byte 0x09 in a string (escape it)`],
    [`${"[".repeat(17)}${"]".repeat(17)}`, `not valid JSON at byte 16: nested deeper than 16 levels`],
    [`{"custom_404":{"body":"${"x".repeat(70_000)}"}}`, `not valid JSON at byte 65536: larger than 65536 bytes`],
  ];
  const named = bad.map(([json, error]) => [json.length > 60 ? `${json.slice(0, 60)}...` : json, json, error]);
  test.each(named)("%s", (_name, json, error) => {
    const r = configure(json);
    expect(r.ok).toBe(false);
    expect(r.critical).toEqual([line(error)]);
    expect(r.host.traps).toBe(0);
  });

  test("a refused reconfiguration keeps the root alive on its previous config", () => {
    const host = new ProxyWasmHost();
    const root = host.createRoot("sitio_network", "p", `{"endpoints":{"max_distinct":1}}`);
    expect(host.configure(root, `{"endpoints":{"max_distinct":0}}`)).toBe(false);
    const c = host.connect(root);
    c.downstream("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
    c.upstream(OK.repeat(2));
    c.close();
    expect(host.value(key("/a"))).toBe(1);
    expect(host.value(key("other"))).toBe(1);
    expect(host.traps).toBe(0);
  });
});

describe("wasm host: mistakes an operator makes, refused with one line naming them", () => {
  function refusal(rootId: string, plugin: string, json: string): string[] {
    const host = new ProxyWasmHost();
    expect(host.tryCreateRoot(rootId, plugin, json)).toBeNull();
    expect(host.traps).toBe(0);
    return host.logs.filter((l) => l.level === CRITICAL).map((l) => l.message);
  }

  test("a key that means nothing for its filter", () => {
    expect(refusal("sitio_http", "h", `{"protocol":"foo"}`)).toEqual([
      `sitio: plugin h: invalid configuration: "protocol" applies only to the network filter (envoy.filters.network.wasm); the HTTP filter always sees HTTP`,
    ]);
    expect(refusal("sitio_network", "f", `{"protocol":"foo","custom_404":{"body":"x"}}`)).toEqual([
      `sitio: plugin f: invalid configuration: "custom_404" does not apply to protocol "foo": it has no 404 responses to replace`,
    ]);
  });

  test.each([
    [
      'scr"ipt;status=injected',
      `sitio: plugin name "scr\\"ipt;status=injected" may hold only letters, digits, '_', '-' and '.' (it becomes the plugin="..." label of every series)`,
    ],
    ["web.", `sitio: plugin name "web." ends in '.' (Envoy drops trailing dots from stat names) (it becomes the plugin="..." label of every series)`],
    ["", `sitio: plugin name "" is empty (it becomes the plugin="..." label of every series)`],
    ["x".repeat(65), `sitio: plugin name "${"x".repeat(64)}..." is longer than 64 characters (it becomes the plugin="..." label of every series)`],
  ])("plugin name %j", (name, message) => {
    expect(new ProxyWasmHost().tryCreateRoot("sitio_network", "istio-system.sitio-http", "")).not.toBeNull();
    expect(refusal("sitio_network", name, "")).toEqual([message]);
    expect(refusal("sitio_http", name, "")).toEqual([message]);
  });
});

describe("wasm host: endpoint collapse rules", () => {
  function counts(config: string, paths: string[]): Map<string, number> {
    const host = new ProxyWasmHost();
    const root = host.createRoot("sitio_network", "p", config);
    const c = host.connect(root);
    for (const p of paths) {
      c.downstream(`GET ${p} HTTP/1.1\r\nHost: h\r\n\r\n`);
      c.upstream(OK);
    }
    c.close();
    const out = new Map<string, number>();
    for (const m of host.metrics.values()) {
      const e = /^sitio_tcp_requests_total;method=GET;endpoint=([^;]*);plugin=p$/.exec(m.name);
      if (e && m.value > 0) out.set(e[1], m.value);
    }
    return out;
  }
  const uuid = "123e4567-E89B-12d3-a456-426614174000";
  const paths = ["/users/42", "/users/7?x=1", `/orders/${uuid}/items/3`, "/users/42a", "/v2/x", "/users/", "/12/34/", "/", `/${uuid}x`];

  test("off by default: every path its own endpoint", () => {
    expect(counts("", paths)).toEqual(
      new Map([
        ["/users/42", 1],
        ["/users/7", 1],
        [`/orders/${uuid}/items/3`, 1],
        ["/users/42a", 1],
        ["/v2/x", 1],
        ["/users/", 1],
        ["/12/34/", 1],
        ["/", 1],
        [`/${uuid}x`, 1],
      ]),
    );
  });

  test("numbers: all-digit segments only", () => {
    expect(counts(`{"endpoints":{"collapse":["numbers"]}}`, paths)).toEqual(
      new Map([
        ["/users/{id}", 2],
        [`/orders/${uuid}/items/{id}`, 1],
        ["/users/42a", 1],
        ["/v2/x", 1],
        ["/users/", 1],
        ["/{id}/{id}/", 1],
        ["/", 1],
        [`/${uuid}x`, 1],
      ]),
    );
  });

  test("numbers and uuids, custom placeholder", () => {
    expect(counts(`{"endpoints":{"collapse":["uuids","numbers"],"placeholder":"{:id}"}}`, paths)).toEqual(
      new Map([
        ["/users/{:id}", 2],
        ["/orders/{:id}/items/{:id}", 1],
        ["/users/42a", 1],
        ["/v2/x", 1],
        ["/users/", 1],
        ["/{:id}/{:id}/", 1],
        ["/", 1],
        [`/${uuid}x`, 1],
      ]),
    );
  });

  test("uuids only leaves numbers alone", () => {
    expect(counts(`{"endpoints":{"collapse":["uuids"]}}`, [`/orders/${uuid}/items/3`])).toEqual(new Map([["/orders/{id}/items/3", 1]]));
  });

  test("the cap counts collapsed endpoints: 150 ids are one endpoint", () => {
    const many = Array.from({ length: 150 }, (_, i) => `/e/${i}`);
    expect(counts(`{"endpoints":{"collapse":["numbers"],"max_distinct":1}}`, [...many, "/f"])).toEqual(
      new Map([
        ["/e/{id}", 150],
        ["other", 1],
      ]),
    );
  });

  test("max_distinct caps distinct endpoints, the rest are other", () => {
    expect(counts(`{"endpoints":{"max_distinct":2}}`, ["/a", "/b", "/c", "/a", "/d"])).toEqual(
      new Map([
        ["/a", 2],
        ["/b", 1],
        ["other", 2],
      ]),
    );
  });

  test("a collapsed path longer than 256 bytes is other", () => {
    const long = "/1".repeat(100);
    const ph = `{${"x".repeat(62)}}`;
    expect(counts(`{"endpoints":{"collapse":["numbers"],"placeholder":"${ph}"}}`, [long])).toEqual(new Map([["other", 1]]));
  });
});

describe("wasm host: JSON parser fuzz through proxy_on_configure", () => {
  // A fixed-seed generator so a failure reproduces.
  let seed = 0x5eed;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const valid = [
    `{"protocol":"http1","custom_404":{"enabled":true,"body":"<h1>Not here \\u00e9\\ud83d\\ude00</h1>","content_type":"text/html; charset=utf-8"},"endpoints":{"max_distinct":100,"collapse":["numbers","uuids"],"placeholder":"{id}"}}`,
    `{"endpoints":{"max_distinct":1e3,"collapse":[]},"custom_404":{"enabled":false}}`,
    `[1,-2.5e-3,true,false,null,"x",{"a":[{}]}]`,
  ];
  const alphabet = `{}[]":,\\ueE+-.0123456789truefalsenull \n\t\u00e9`;

  function cases(): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < 600; i++) {
      const b = Buffer.alloc(rnd(64));
      for (let j = 0; j < b.length; j++) b[j] = rnd(256);
      out.push(b);
    }
    for (let i = 0; i < 600; i++) {
      let s = "";
      const n = rnd(80);
      for (let j = 0; j < n; j++) s += alphabet[rnd(alphabet.length)];
      out.push(Buffer.from(s, "utf8"));
    }
    for (const v of valid) {
      const b = Buffer.from(v, "utf8");
      for (let k = 0; k <= b.length; k++) out.push(b.subarray(0, k)); // every truncation
      for (let i = 0; i < 400; i++) {
        const m = Buffer.from(b);
        const flips = 1 + rnd(3);
        for (let f = 0; f < flips; f++) m[rnd(m.length)] = rnd(256);
        out.push(m);
      }
      for (let i = 0; i < 200; i++) {
        const at = rnd(b.length);
        out.push(Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rnd(8))])); // deletions
      }
    }
    for (const d of [15, 16, 17, 100, 10_000, 40_000]) {
      out.push(Buffer.from("[".repeat(d) + "]".repeat(d)));
      out.push(Buffer.from(`{"a":`.repeat(d) + "1" + "}".repeat(d)));
      out.push(Buffer.from("[".repeat(d)));
    }
    for (const n of [65_000, 65_536, 65_537, 200_000]) {
      out.push(Buffer.from(`{"custom_404":{"body":"${"\\u00e9".repeat(Math.floor(n / 6))}"}}`));
      out.push(Buffer.from(`{"custom_404":{"body":"${"x".repeat(n)}"}}`));
      out.push(Buffer.from(`{"k${"y".repeat(n)}":1}`));
      out.push(Buffer.from(`[${"1,".repeat(n >> 1)}1]`));
    }
    return out;
  }

  test("thousands of broken and hostile configs: refused or accepted, never a trap", () => {
    const host = new ProxyWasmHost();
    const root = host.createRoot("sitio_network", "p", "");
    const all = cases();
    let refused = 0;
    const started = Date.now();
    for (const b of all) {
      const before = host.logs.length;
      const ok = host.configure(root, b); // a trap throws WasmTrap and fails the test
      const logged = host.logs.length - before;
      expect(logged).toBe(ok ? 0 : 1);
      if (!ok) refused++;
    }
    expect(host.traps).toBe(0);
    expect(all.length).toBeGreaterThan(3000);
    expect(refused).toBeGreaterThan(all.length / 2);
    expect(Date.now() - started).toBeLessThan(10_000);
    // the VM is still healthy: a connection is counted after all of it
    expect(host.configure(root, "{}")).toBe(true);
    const c = host.connect(root);
    c.downstream("GET /alive HTTP/1.1\r\n\r\n");
    c.upstream(OK);
    c.close();
    expect(host.value(key("/alive"))).toBe(1);
  });
});
