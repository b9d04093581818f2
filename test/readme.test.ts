// The README's "Use the components in your program" code must compile against the library as it is:
// each ```ts block of that section is type-checked (strict, the project's settings) with
// "serverless-cache" resolved to lib/index.ts. A renamed arg or export fails here, not for a reader.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");

function sectionBlocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has no "${heading}" section`);
  const rest = markdown.slice(start + heading.length + 2);
  const end = rest.search(/\n## /);
  const section = end >= 0 ? rest.slice(0, end) : rest;
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe("README: the library example compiles", function () {
  this.timeout(120_000);
  const dir = path.join(ROOT, "test", ".readme-snippets");

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("every ts block of 'Use the components in your program' type-checks against lib/", () => {
    const blocks = sectionBlocks(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"), "## Use the components in your program");
    assert.ok(blocks.length >= 2, `expected the program and the transforms example, got ${blocks.length} blocks`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    blocks.forEach((code, i) => {
      // The second block continues the first (it uses `args`): give it what it refers to.
      const prelude = i === 0 ? "" : 'import { MemcachedCluster, type MemcachedClusterArgs } from "serverless-cache";\ndeclare const args: MemcachedClusterArgs;\n';
      const file = path.join(dir, `block${i}.ts`);
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
      assert.fail(`the README example does not compile:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
    }
  });
});
