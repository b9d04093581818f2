// npm run build:lib (also run by `npm pack` through "prepack"): the library build.
// 1. removes what an earlier build left in dist/ (a module deleted from the sources must not ship);
// 2. compiles tsconfig.build.json (JavaScript, .d.ts and source maps in dist/);
// 3. copies the files the compiled code reads next to itself: the generic Dockerfile
//    (components/HybridLambdaFargateService.ts reads `<components>/../Dockerfile`);
// 4. checks that every entry of package.json "exports" and "files" exists.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));

// Only what this build writes (dist/ may hold other builds' output).
const OUTPUTS = ["lib", "testing", "components", "functions", "plan", "config.js", "config.js.map", "config.d.ts", "config.d.ts.map", "Dockerfile"];
for (const entry of OUTPUTS) fs.rmSync(path.join(dist, entry), { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const result = spawnSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { cwd: root, stdio: "inherit" });
if (result.status !== 0) process.exit(result.status ?? 1);

fs.copyFileSync(path.join(root, "Dockerfile"), path.join(dist, "Dockerfile"));

const problems = [];
const targets = (value) => (typeof value === "string" ? [value] : value && typeof value === "object" ? Object.values(value).flatMap(targets) : []);
for (const [subpath, value] of Object.entries(pkg.exports ?? {})) {
  for (const target of targets(value)) {
    if (target.includes("*")) {
      const dir = path.join(root, target.slice(0, target.indexOf("*")));
      if (!fs.existsSync(dir)) problems.push(`exports ${subpath}: ${dir} does not exist`);
    } else if (!fs.existsSync(path.join(root, target))) {
      problems.push(`exports ${subpath}: ${target} does not exist`);
    }
  }
}
for (const entry of pkg.files ?? []) {
  if (entry.includes("*")) continue;
  if (!fs.existsSync(path.join(root, entry))) problems.push(`files: ${entry} does not exist`);
}
if (problems.length > 0) {
  console.error(`build:lib: ${problems.join("\n")}`);
  process.exit(1);
}
console.log(`build:lib: ${path.relative(root, dist)}/ ready (${OUTPUTS.filter((o) => fs.existsSync(path.join(dist, o))).join(", ")})`);
