/**
 * The package as other programs get it: `npm pack` of this repository, installed into a copy of
 * examples/bring-your-own-app (another Pulumi program, with its own app), which then type-checks and
 * passes its own tests: its program under `serverless-cache/testing`, its Lambda archive executed
 * against a real memcached and a loopback upstream, its container context started with node.
 *
 * Offline install: the example's package-lock.json is derived from this repository's lockfile (the
 * same versions, integrity hashes and layout; `npm ci` put every one of those tarballs in the npm
 * cache) plus the packed tarball, and installed with `npm ci --offline`: no registry is contacted, and
 * a package missing from the cache fails the test instead of being fetched.
 */
import * as assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./support/program";

const run = promisify(execFile);
const EXAMPLE = path.join(REPO_ROOT, "examples", "bring-your-own-app");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  license?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  [key: string]: unknown;
}
interface Lockfile {
  name: string;
  version: string;
  lockfileVersion: number;
  requires: boolean;
  packages: Record<string, LockEntry>;
}
interface PackageJson {
  name: string;
  version: string;
  license?: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  exports?: unknown;
  files?: string[];
}

/** Where Node would find `name` from the package at lock path `from` ("" = the root). */
function resolveInLock(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let at = from; ; at = at.includes("/node_modules/") ? at.slice(0, at.lastIndexOf("/node_modules/")) : "") {
    const candidate = `${at ? `${at}/` : ""}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (at === "") return undefined;
  }
}

/**
 * A lockfile for `app` (a package.json naming the tarball as `file:` dependency): every package it
 * needs, transitively, at the place and version this repository's lockfile has it, and the tarball.
 */
export function consumerLockfile(rootLock: Lockfile, app: PackageJson, tarball: { spec: string; file: string; manifest: PackageJson }): Lockfile {
  const from = rootLock.packages;
  const packages: Record<string, LockEntry> = {
    "": { name: app.name, version: app.version, license: app.license, dependencies: app.dependencies, devDependencies: app.devDependencies },
  };
  const self = `node_modules/${tarball.manifest.name}`;
  packages[self] = {
    version: tarball.manifest.version,
    resolved: tarball.spec,
    integrity: `sha512-${createHash("sha512").update(fs.readFileSync(tarball.file)).digest("base64")}`,
    license: tarball.manifest.license,
    dependencies: tarball.manifest.dependencies,
    peerDependencies: tarball.manifest.peerDependencies,
    engines: tarball.manifest.engines,
  };
  const reach = (roots: Array<[string, string]>): Set<string> => {
    const seen = new Set<string>();
    const queue = [...roots];
    while (queue.length > 0) {
      const [at, name] = queue.shift() as [string, string];
      const found = at === "" && name === tarball.manifest.name ? self : resolveInLock(from, at, name);
      if (!found) throw new Error(`${name} (needed by ${at || "the app"}) is not in ${REPO_ROOT}/package-lock.json`);
      if (seen.has(found)) continue;
      seen.add(found);
      const entry = found === self ? packages[self] : from[found];
      const meta = entry.peerDependenciesMeta ?? {};
      const next = [
        ...Object.keys(entry.dependencies ?? {}),
        ...Object.keys(entry.optionalDependencies ?? {}).filter((n) => resolveInLock(from, found, n)),
        ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !meta[n]?.optional),
      ];
      for (const n of next) queue.push([found, n]);
    }
    return seen;
  };
  const prod = reach(Object.keys(app.dependencies ?? {}).map((n) => ["", n]));
  const dev = reach(Object.keys(app.devDependencies ?? {}).map((n) => ["", n]));
  for (const p of [...prod, ...dev]) {
    if (p === self) continue;
    const { dev: _d, optional: _o, devOptional: _do, peer: _p, ...entry } = from[p];
    packages[p] = prod.has(p) ? entry : { ...entry, dev: true };
  }
  return { name: app.name, version: app.version, lockfileVersion: 3, requires: true, packages };
}

/** Run a command, failing with its output when it exits non-zero. */
async function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
    return `${stdout}${stderr}`;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} (in ${cwd}) failed: ${err.message}\n${err.stdout ?? ""}\n${err.stderr ?? ""}`, { cause: e });
  }
}

/** mocha's JSON report of a run in `cwd` (the exit code is the number of failures). */
function mochaJson(cwd: string, reportFile: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(cwd, "node_modules", "mocha", "bin", "mocha.js"), "--reporter", "json", "--reporter-option", `output=${reportFile}`], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: os.tmpdir() },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => { output += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { output += d.toString(); });
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

interface MochaReport {
  stats: { tests: number; passes: number; failures: number; pending: number };
  passes: Array<{ fullTitle: string }>;
  failures: Array<{ fullTitle: string; err: { message?: string; stack?: string } }>;
}

describe("package.json serves two masters: this repository's Pulumi program and the library's consumers", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as PackageJson & { main: string };

  it("`pulumi up` here still runs index.ts: Pulumi's nodejs runtime takes exports['.'] (default, then require, then import) over main", () => {
    // @pulumi/pulumi cmd/run/run.js: with no `main` in Pulumi.yaml, the entry point is exports["."]
    // when package.json has an exports map (`main` only without one), and of a conditions object it
    // takes `default || require || import`. Guard that rule: if Pulumi changes it, look here again.
    const runJs = fs.readFileSync(require.resolve("@pulumi/pulumi/cmd/run/run.js"), "utf8");
    assert.ok(runJs.includes("mainExport.default || mainExport.require || mainExport.import"), "Pulumi's entry-point rule changed");
    const dot = (pkg.exports as Record<string, Record<string, string>>)["."];
    const entry = dot.default ?? dot.require ?? dot.import;
    assert.equal(entry, "./index.ts");
    assert.equal(pkg.main, "index.ts");
    assert.ok(fs.existsSync(path.join(REPO_ROOT, entry)));
    // Node (the library's consumers) matches conditions in order: "node" comes first, before "default".
    assert.deepEqual(Object.keys(dot), ["types", "node", "default"]);
    assert.equal(dot.node, "./dist/lib/index.js");
  });

  it("keeps Pulumi out of the package's dependencies (peers) and its run-time packages in them", () => {
    assert.deepEqual(Object.keys(pkg.peerDependencies ?? {}).sort(), ["@pulumi/aws", "@pulumi/awsx", "@pulumi/pulumi"]);
    assert.deepEqual(Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith("@pulumi/")), []);
    for (const peer of Object.keys(pkg.peerDependencies ?? {})) assert.ok(pkg.devDependencies?.[peer], `${peer} is installed here for the repository's own program`);
  });
});

describe("the package, as another program installs and uses it (npm pack -> examples/bring-your-own-app)", function () {
  this.timeout(300_000);
  let tmp: string;
  let tarball: string;
  let manifest: PackageJson;
  let packed: { files: Array<{ path: string }>; size: number; unpackedSize: number; entryCount: number };
  let app: string;
  const timings: Record<string, number> = {};
  const timed = async <T>(label: string, f: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      timings[label] = Date.now() - t0;
    }
  };

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "serverless-cache-consumer-"));
    await timed("build:lib", () => sh(NPM, ["run", "--silent", "build:lib"], REPO_ROOT));
    const packJson = await timed("npm pack", () => sh(NPM, ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], REPO_ROOT));
    packed = (JSON.parse(packJson.slice(packJson.indexOf("["))) as Array<typeof packed & { filename: string }>)[0];
    tarball = path.join(tmp, (packed as unknown as { filename: string }).filename);
    manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as PackageJson;

    // The example, as a project of its own next to the tarball (no node_modules of this repository above it).
    app = path.join(tmp, "bring-your-own-app");
    fs.cpSync(EXAMPLE, app, { recursive: true, filter: (src) => !/[\\/](node_modules|\.serverless-cache|bin)$/.test(src) });
    const appPkg = JSON.parse(fs.readFileSync(path.join(app, "package.json"), "utf8")) as PackageJson;
    const spec = `file:../${path.basename(tarball)}`;
    appPkg.dependencies = { ...appPkg.dependencies, [manifest.name]: spec };
    fs.writeFileSync(path.join(app, "package.json"), `${JSON.stringify(appPkg, null, 2)}\n`);
    const rootLock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as Lockfile;
    const lock = consumerLockfile(rootLock, appPkg, { spec, file: tarball, manifest });
    fs.writeFileSync(path.join(app, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
    await timed("npm ci --offline", () => sh(NPM, ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], app));
  });

  after(() => {
    if (tmp && !process.env.KEEP_CONSUMER) fs.rmSync(tmp, { recursive: true, force: true });
    console.log(`    (timings ms: ${Object.entries(timings).map(([k, v]) => `${k} ${v}`).join(", ")})`);
  });

  it("packs the library build only: no tests, benches, fixtures, scripts or docs beyond the README", () => {
    const files = packed.files.map((f) => f.path);
    const outside = files.filter((f) => !f.startsWith("dist/") && !["package.json", "README.md", "LICENSE", "index.ts"].includes(f));
    assert.deepEqual(outside, []);
    for (const f of files) assert.doesNotMatch(f, /(^|\/)(test|tests|bench|fixtures|scripts|docs|examples|policy|app)\//, f);
    for (const entry of ["dist/lib/index.js", "dist/lib/index.d.ts", "dist/testing/index.js", "dist/testing/index.d.ts", "dist/Dockerfile"]) assert.ok(files.includes(entry), entry);
    assert.ok(files.some((f) => f.endsWith(".js.map")), "source maps");
    assert.ok(packed.size < 1_000_000, `tarball ${packed.size} bytes`);
    console.log(`    (tarball: ${packed.entryCount} files, ${packed.size} bytes, ${packed.unpackedSize} unpacked)`);
  });

  it("resolves `serverless-cache` and `serverless-cache/testing` through the exports map, the same @pulumi/pulumi for both", async () => {
    const probe = String.raw`
      const path = require("node:path");
      const lib = require("serverless-cache");
      const testing = require("serverless-cache/testing");
      const out = {
        lib: path.relative(process.cwd(), require.resolve("serverless-cache")),
        testing: path.relative(process.cwd(), require.resolve("serverless-cache/testing")),
        runtime: path.relative(process.cwd(), require.resolve("serverless-cache/functions/platform/entry.js")),
        // What Pulumi's serializer writes when it cannot read the exports map (pnpm's strict layout).
        runtimeByPath: path.relative(process.cwd(), require.resolve("serverless-cache/dist/functions/platform/entry.js")),
        components: ["MultiAzNetwork", "MemcachedCluster", "CacheFunction", "HybridLambdaFargateService", "CachedPrivateApi"].filter((n) => typeof lib[n] === "function"),
        kit: ["runProgram", "MockAccount", "extractLambdaArchive", "runArchive", "startContainer", "albEvent"].filter((n) => typeof testing[n] === "function"),
        pulumi: Object.keys(require.cache).filter((k) => /@pulumi[\\/]pulumi[\\/]index\.js$/.test(k)).map((k) => path.relative(process.cwd(), k)),
      };
      let deep;
      try { require("serverless-cache/dist/components/MemcachedCluster.js"); deep = "loaded"; } catch (e) { deep = e.code; }
      out.deep = deep;
      console.log(JSON.stringify(out));`;
    const out = JSON.parse((await sh(process.execPath, ["-e", probe], app)).trim().split("\n").pop() as string) as Record<string, unknown>;
    assert.equal(out.lib, path.join("node_modules", "serverless-cache", "dist", "lib", "index.js"));
    assert.equal(out.testing, path.join("node_modules", "serverless-cache", "dist", "testing", "index.js"));
    assert.equal(out.runtime, path.join("node_modules", "serverless-cache", "dist", "functions", "platform", "entry.js"));
    assert.equal(out.runtimeByPath, out.runtime);
    assert.deepEqual(out.components, ["MultiAzNetwork", "MemcachedCluster", "CacheFunction", "HybridLambdaFargateService", "CachedPrivateApi"]);
    assert.deepEqual(out.kit, ["runProgram", "MockAccount", "extractLambdaArchive", "runArchive", "startContainer", "albEvent"]);
    assert.deepEqual(out.pulumi, [path.join("node_modules", "@pulumi", "pulumi", "index.js")]);
    assert.equal(out.deep, "ERR_PACKAGE_PATH_NOT_EXPORTED", "internals stay internal");
  });

  it("type-checks the example against the package's declarations (node16 resolution, and node10 through typesVersions)", async () => {
    const tsc = path.join(app, "node_modules", "typescript", "bin", "tsc");
    await timed("tsc node16", () => sh(process.execPath, [tsc, "--noEmit", "-p", "."], app));
    await timed("tsc node10", () => sh(process.execPath, [tsc, "--noEmit", "-p", ".", "--module", "commonjs", "--moduleResolution", "node10"], app));
  });

  it("passes the example's own tests: its program under serverless-cache/testing, its Lambda archive and container run for real", async () => {
    const report = path.join(tmp, "mocha.json");
    const { code, output } = await timed("example tests", () => mochaJson(app, report));
    const r = JSON.parse(fs.readFileSync(report, "utf8")) as MochaReport;
    const failures = r.failures.map((f) => `${f.fullTitle}: ${f.err.message ?? ""}\n${f.err.stack ?? ""}`).join("\n\n");
    assert.equal(code, 0, `${failures}\n${output}`);
    assert.equal(r.stats.failures, 0, failures);
    assert.equal(r.stats.pending, 0);
    const passed = r.passes.map((p) => p.fullTitle).join("\n");
    for (const title of [
      /builds the five components, each with its children visible/,
      /places the subnets by zone ID/,
      /the Lambda answers the app's routes through memcached/,
      /the container artifact serves the same app over HTTP/,
      /drains and exits 0 on SIGTERM/,
    ]) assert.match(passed, title);
  });
});
