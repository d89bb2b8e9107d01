// What README.md and docs/*.md point at must exist, so the docs cannot drift
// from the tree without a failing test:
// - every file or folder of the repository named in inline code (`assembly/...`,
//   `tests/...`, `envoy/envoy.yaml`, ...; build outputs excepted);
// - every constant named right after its file (`path/file.ts` `NAME`), and
//   every other ALL_CAPS name in inline code somewhere in the sources;
// - every relative link, and the heading its `#anchor` names.
// And the README stays a README: under 200 lines, showing the two commands,
// linking every page of docs/.

import { describe, expect, test } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { ROOT } from "../harness/envoy.js";
import { codeSpans, declaresConstant, docFiles, headingAnchors, links, proseLines, readDoc } from "../harness/docs.js";

/** Pages other helpers are writing: a link to one may come before the page; once it exists it is checked like any other. */
const PENDING_DOCS = new Set<string>();

/** Top-level entries whose paths the docs may name (build/ and node_modules/ are made at set-up, not committed). */
const TREE =
  /^(assembly|tests|scripts|envoy|deploy|docs|bench|\.ci)\/|^(docker-compose\.yml|package\.json|package-lock\.json|asconfig\.json|tsconfig\.json|vitest\.config\.ts|vitest\.platform\.config\.ts|README\.md)$/;

const DOCS = docFiles();
const text = new Map(DOCS.map((f) => [f, readDoc(f)]));

/** Every tracked file's text outside docs and fixtures: where a constant named in the docs must appear. */
const sources = execFileSync("git", ["ls-files", "assembly", "tests", "scripts", "envoy", "deploy", ".ci", "docker-compose.yml", "package.json"], {
  cwd: ROOT,
  encoding: "utf8",
})
  .split("\n")
  .filter((f) => f !== "" && !f.startsWith("tests/fixtures/") && existsSync(join(ROOT, f)))
  .map((f) => readFileSync(join(ROOT, f), "utf8"))
  .join("\n");

function spansOf(file: string): { where: string; span: string; next: string | undefined }[] {
  return proseLines(text.get(file)!).flatMap(({ line, text: l }) => {
    const spans = codeSpans(l);
    return spans.map((span, k) => ({ where: `${file}:${line}`, span, next: spans[k + 1] }));
  });
}

describe.each(DOCS)("%s", (file) => {
  test("every repository path it names exists", () => {
    // a page may name the files it shows how to write (`<!-- docs-test: file path -->`, see writing_a_codec.test.ts)
    const written = new Set([...text.get(file)!.matchAll(/^<!-- docs-test: file (\S+) -->$/gm)].map((m) => m[1]));
    const missing = spansOf(file)
      .filter(({ span }) => TREE.test(span) && !/[<>*{}…\s]/.test(span) && !written.has(span))
      .filter(({ span }) => !existsSync(join(ROOT, span.replace(/:\d+$/, ""))))
      .map(({ where, span }) => `${where}: ${span}`);
    expect(missing).toEqual([]);
  });

  test("every constant it names exists", () => {
    const wrong: string[] = [];
    for (const { where, span, next } of spansOf(file)) {
      if (/^[\w./-]+\.ts$/.test(span) && next && /^[A-Z][A-Z0-9_]+$/.test(next)) {
        if (!declaresConstant(span, next)) wrong.push(`${where}: ${span} declares no constant ${next}`);
      } else if (/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(span) && !new RegExp(`\\b${span}\\b`).test(sources)) {
        wrong.push(`${where}: ${span} appears nowhere in the sources`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("every relative link leads to a file, and its anchor to a heading", () => {
    const broken: string[] = [];
    for (const { line, text: l } of proseLines(text.get(file)!)) {
      for (const target of links(l)) {
        if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
        const [path, anchor] = target.split("#", 2);
        const to = path === "" ? file : normalize(join(dirname(file), path));
        if (!existsSync(join(ROOT, to))) {
          if (!PENDING_DOCS.has(to)) broken.push(`${file}:${line}: ${target} (no ${to})`);
          continue;
        }
        if (anchor !== undefined && to.endsWith(".md") && !headingAnchors(readFileSync(join(ROOT, to), "utf8")).has(anchor)) {
          broken.push(`${file}:${line}: ${target} (no heading #${anchor} in ${to})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});

describe("README.md", () => {
  const readme = text.get("README.md")!;

  test("is under 200 lines", () => {
    expect(readme.trimEnd().split("\n").length).toBeLessThan(200);
  });

  test("shows the two commands as commands", () => {
    const commands = readme.split("\n").map((l) => l.trim().replace(/^\$ /, ""));
    expect(commands).toContain("npm start");
    expect(commands).toContain("npm test");
  });

  test("links every page of docs/", () => {
    const linked = new Set(
      proseLines(readme)
        .flatMap(({ text: l }) => links(l))
        .map((t) => t.split("#")[0]),
    );
    const unlinked = DOCS.filter((f) => f.startsWith("docs/") && !linked.has(f));
    expect(unlinked).toEqual([]);
  });
});

describe("the Markdown readers the docs tests rely on", () => {
  test("GitHub's heading anchors", () => {
    const anchors = headingAnchors(
      "# What sitio needs from envoy.yaml\n## Prometheus and Grafana: the `grafana` profile\n## Limits\n## Limits\n```\n# not a heading\n```\n",
    );
    expect([...anchors]).toEqual(["what-sitio-needs-from-envoyyaml", "prometheus-and-grafana-the-grafana-profile", "limits", "limits-1"]);
  });

  test("links and code spans of a line", () => {
    expect(links("see [a](docs/a.md#x) and `[b](c.md)` and ![i](img.png)")).toEqual(["docs/a.md#x", "img.png"]);
    expect(codeSpans("`assembly/x.ts` `MAX_X` and `` ` ``")).toEqual(["assembly/x.ts", "MAX_X", "`"]);
  });
});
