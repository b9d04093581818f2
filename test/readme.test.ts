// The README is the landing page and docs/ the manual (issue 13). Checked here:
// - the library examples compile against the library as it is: each ```ts block of the README's
//   "Use the components in your program" section and of docs/library.md is type-checked (strict, the
//   project's settings) with "serverless-cache" resolved to lib/index.ts. A renamed arg or export fails
//   here, not for a reader;
// - the README stays a landing page: at most 200 lines, the architecture picture, the set-up commands,
//   the layout, no generated copy of docs/;
// - every relative link in README.md and docs/**/*.md resolves: the file exists and, for a link into a
//   Markdown file, the #anchor is one of its headings (GitHub's slugs).
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const README = path.join(ROOT, "README.md");
const LIBRARY_DOC = path.join(ROOT, "docs", "library.md");

function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

function sectionBlocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has no "${heading}" section`);
  const rest = markdown.slice(start + heading.length + 2);
  const end = rest.search(/\n## /);
  return tsBlocks(end >= 0 ? rest.slice(0, end) : rest);
}

/** Markdown lines outside fenced code blocks, with their line numbers (1-based). */
function proseLines(markdown: string): Array<{ line: string; n: number }> {
  const out: Array<{ line: string; n: number }> = [];
  let fence: string | undefined;
  markdown.split("\n").forEach((line, i) => {
    const m = /^(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === undefined) fence = m[1];
      else if (line.startsWith(fence)) fence = undefined;
      return;
    }
    if (fence === undefined) out.push({ line, n: i + 1 });
  });
  return out;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const { line } of proseLines(markdown)) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const text = h[1].replace(/\[([^\]]*)\]\([^)]*\)/g, "$1");
    const base = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

function markdownFiles(): string[] {
  const files = [README];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".md")) files.push(p);
    }
  };
  walk(path.join(ROOT, "docs"));
  return files;
}

describe("README and docs/", function () {
  this.timeout(120_000);
  const dir = path.join(ROOT, "test", ".readme-snippets");

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("every ts block of the README's 'Use the components in your program' and of docs/library.md type-checks against lib/", () => {
    const readmeBlocks = sectionBlocks(fs.readFileSync(README, "utf8"), "## Use the components in your program");
    assert.ok(readmeBlocks.length >= 1, "the README's library example");
    const libraryBlocks = tsBlocks(fs.readFileSync(LIBRARY_DOC, "utf8"));
    assert.ok(libraryBlocks.length >= 2, `expected the program and the transforms example in docs/library.md, got ${libraryBlocks.length} blocks`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    [...readmeBlocks.map((code) => ({ code, from: "readme" })), ...libraryBlocks.map((code) => ({ code, from: "library" }))].forEach(({ code, from }, i) => {
      // A block without imports continues the one before it (the transforms example uses `args`): give it what it refers to.
      const prelude = /^import /m.test(code) ? "" : 'import { MemcachedCluster, type MemcachedClusterArgs } from "serverless-cache";\ndeclare const args: MemcachedClusterArgs;\n';
      const file = path.join(dir, `${from}-block${i}.ts`);
      fs.writeFileSync(file, `${prelude}${code}\nexport {};\n`.replace(/"serverless-cache"/g, '"../../lib"').replace(/import\("serverless-cache"\)/g, 'import("../../lib")'));
      files.push(path.basename(file));
    });
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
      extends: "../../tsconfig.json",
      compilerOptions: { noEmit: true, noUnusedLocals: false },
      include: files,
    }));
    try {
      execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(dir, "tsconfig.json")], { encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      assert.fail(`a library example does not compile:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
    }
  });

  it("the README is a landing page: ≤ 200 lines, the picture, the set-up commands and the layout, no generated copies", () => {
    const readme = fs.readFileSync(README, "utf8");
    const lines = readme.split("\n");
    assert.ok(lines.length <= 200, `README.md has ${lines.length} lines (at most 200: the rest belongs in docs/)`);
    assert.ok(!/<!-- BEGIN docs\//.test(readme), "no generated copy of docs/ in the README");
    const lineOf = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
    for (const needle of ["```mermaid", "npm ci && npm test", "pulumi up --stack dev", "npm run plan -- --stack dev", "## Layout", "](docs/README.md)"]) {
      assert.ok(lineOf(needle) > 0, `README.md lacks ${needle}`);
    }
    // The commands come before the library example and the layout table is in the README, not only in docs/.
    assert.ok(lineOf("npm ci && npm test") < lineOf("## Use the components in your program"), "set-up before the library example");
    for (const dir of ["index.ts", "components/", "functions/cache/", "functions/platform/", "functions/failover/", "app/", "lib/", "testing/", "examples/", "plan/", "policy/", "scripts/", "bench/", "test/", "docs/"]) {
      assert.ok(lines.some((l) => l.startsWith(dir)), `the layout names ${dir}`);
    }
  });

  it("every relative link in README.md and docs/ resolves, anchors included", () => {
    const problems: string[] = [];
    const anchorCache = new Map<string, Set<string>>();
    const anchorsOf = (file: string) => {
      if (!anchorCache.has(file)) anchorCache.set(file, anchors(fs.readFileSync(file, "utf8")));
      return anchorCache.get(file)!;
    };
    for (const file of markdownFiles()) {
      const rel = path.relative(ROOT, file);
      for (const { line, n } of proseLines(fs.readFileSync(file, "utf8"))) {
        const prose = line.replace(/`[^`]*`/g, "``");
        for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
          const target = m[1];
          if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
          const [p, anchor] = target.split("#", 2);
          const resolved = p === "" ? file : path.resolve(path.dirname(file), decodeURIComponent(p));
          if (!fs.existsSync(resolved)) {
            problems.push(`${rel}:${n}: ${target}: no such file`);
            continue;
          }
          if (anchor !== undefined && resolved.endsWith(".md") && !anchorsOf(resolved).has(anchor)) {
            problems.push(`${rel}:${n}: ${target}: no heading with that anchor in ${path.relative(ROOT, resolved)}`);
          }
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});
