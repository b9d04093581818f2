/**
 * Cold starts of the serialized Lambdas against an esbuild bundle of the same handler code.
 *
 * For each deployed function (cache handler, API handler, failover handler) this takes the archive
 * aws.lambda.CallbackFunction produces for the dev stack (runProgram under Pulumi mocks) and, side
 * by side in the same run, an esbuild bundle built from bench/cold-start/<fn>.entry.ts (an entry
 * that does exactly what the function's callbackFactory does), and measures:
 *   - archive size: zipped (Debian's `zip -r -9` when installed, else a deflate-9 zip written here
 *     with node:zlib; the JSON says which), unpacked bytes, file count;
 *   - cold init: fresh `node` processes (bench/cold-start/runner.cjs) that load the module (which
 *     runs the factory, as the Lambda runtime's init does) and answer ONE invocation, with real
 *     memcached and upstream servers on loopback: a cache HIT (memcached pre-warmed, so an L2 hit)
 *     and a cache MISS (a new key each process). In-child time = ms from process start
 *     (performance.timeOrigin) to the answer; wall = spawn to exit, seen by this process.
 *     Serialized and bundle processes alternate (S,B then B,S ...) to cancel drift.
 *     The failover handler cannot reach AWS here: it is measured as module load + handler
 *     creation only ("load").
 *
 * Both forms ship the AWS SDK they import (AWS review item 14): the serialized archive holds the
 * `@aws-sdk/*` packages and their run-time tree in node_modules, the bundle has them bundled in.
 * NODE_PATH points at a stand-in for the runtime's /var/runtime/node_modules: a stub SDK whose every
 * package throws when loaded (test/support/lambdaArchive.ts createStubRuntimeSdk), so a package
 * missing from an archive or a bundle fails, and the run is refused if anything loaded from it.
 * The serialized archive's size is also reported without the packages' dist-es/ and dist-types/
 * folders (ES-module builds and typings Node never loads here): what stripping them would save.
 *
 * got is ESM-only and the handlers load it with a real `await import("got")` on the miss path.
 * esbuild bundles a string-literal dynamic import: with format cjs it converts got and its ESM
 * dependencies into lazily initialised CommonJS inside the one bundle file (parsed with the bundle,
 * executed on the first miss), so the bundle is a single file that still loads got only on a miss.
 *
 * Run: npm run bench:cold   (COLD_N=<processes per variant and path>, default 25, at least 20;
 * COLD_ZIP=node to size with the node:zlib writer instead of `zip`; COLD_ONLY=api,cache,failover to
 * measure only some functions)
 * Writes bench/results/cold-start.json.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as esbuild from "esbuild";
import { createStubRuntimeSdk, extractLambdaArchive, type ExtractedLambda } from "../test/support/lambdaArchive";
import { startMemcached } from "../test/support/memcached";
import { REPO_ROOT, runProgram } from "../test/support/program";
import { startUpstream } from "../test/support/upstream";

const RUNNER = path.join(__dirname, "cold-start", "runner.cjs");
const FUNCTION_TYPE = "aws:lambda/function:Function";

type Variant = "serialized" | "bundle";
type Path = "hit" | "miss" | "load";

interface FunctionSpec {
  key: string;
  label: string;
  /** Unique part of the dev stack's function resource name. */
  namePart: string;
  entry: string;
  paths: Path[];
  /** The invocation event for a path; `n` makes miss keys unique. */
  event?: (p: Path, n: string) => unknown;
  expect?: Record<string, string>;
  /** Values the mocks leave unknown (names of remote components), used only where the stack has none. */
  standIns?: Record<string, string>;
}

interface ChildResult {
  runnerTop: number;
  beforeLoad: number;
  loaded: number;
  answered: number;
  bootstrapComplete: number;
  statusCode?: number;
  xcache?: string;
  trace?: { packages: string[]; cjsFiles: number; esmFiles: number };
  error?: string;
}

interface Sample extends ChildResult {
  wallMs: number;
}

interface Stats {
  median: number;
  p90: number;
  min: number;
  max: number;
  n: number;
}

interface ArchiveSize {
  zippedBytes: number;
  unpackedBytes: number;
  files: number;
}

/** Files of the archive Node never loads here: the packages' ES-module builds and typings. */
const UNUSED_BUILD = /(^|\/)node_modules\/.+\/(dist-es|dist-types)\//;

/** The AWS SDK's share of a serialized archive: its @aws-sdk, @smithy and @aws-crypto entries. */
const SDK_PACKAGE = /^node_modules\/(@aws-sdk|@smithy|@aws-crypto)\//;

const ALB_EVENT = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "test", "fixtures", "alb", "get-item.single.json"), "utf8")) as Record<string, unknown>;

const FUNCTIONS: FunctionSpec[] = [
  {
    key: "cache",
    label: "cache handler",
    namePart: "cache-handler",
    entry: path.join(__dirname, "cold-start", "cache-handler.entry.ts"),
    paths: ["hit", "miss"],
    event: (p, n) => ({ httpMethod: "GET", path: p === "hit" ? "/items/hot" : `/items/cold-${n}`, queryStringParameters: null }),
    expect: { hit: "HIT-L2", miss: "MISS" },
  },
  {
    key: "api",
    label: "API handler",
    namePart: "-api",
    entry: path.join(__dirname, "cold-start", "api.entry.ts"),
    paths: ["hit", "miss"],
    event: (p, n) => ({ ...ALB_EVENT, path: p === "hit" ? "/items/42" : `/items/cold-${n}` }),
    expect: { hit: "HIT-L2", miss: "MISS" },
  },
  {
    key: "failover",
    label: "failover handler",
    namePart: "-failover",
    entry: path.join(__dirname, "cold-start", "failover.entry.ts"),
    // No AWS here: module load + handler creation only.
    paths: ["load"],
    standIns: { FAILOVER_CLUSTER: "svc-dev", FAILOVER_SERVICE: "svc-dev-api", FAILOVER_ALARM_NAMES: "svc-dev-throttles" },
  },
];

function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => {
    // Linear interpolation between closest ranks.
    const i = (s.length - 1) * q;
    const lo = Math.floor(i);
    const hi = Math.ceil(i);
    return s[lo] + (s[hi] - s[lo]) * (i - lo);
  };
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { median: r(at(0.5)), p90: r(at(0.9)), min: r(s[0]), max: r(s[s.length - 1]), n: s.length };
}

function walk(dir: string): Array<{ rel: string; abs: string; size: number }> {
  const out: Array<{ rel: string; abs: string; size: number }> = [];
  const visit = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const abs = path.join(d, e.name);
      if (e.isDirectory()) visit(abs);
      else if (e.isFile()) out.push({ rel: path.relative(dir, abs).split(path.sep).join("/"), abs, size: fs.statSync(abs).size });
    }
  };
  visit(dir);
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A plain zip (deflate level 9 per file, stored when deflate does not help), as a fallback for `zip`. */
function zipWithZlib(dir: string, only?: string, skip?: RegExp): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const f of walk(dir).filter((x) => (only === undefined || x.rel === only || x.rel.startsWith(`${only}/`)) && !skip?.test(x.rel))) {
    const data = fs.readFileSync(f.abs);
    const deflated = zlib.deflateRawSync(data, { level: 9 });
    const stored = deflated.length >= data.length;
    const body = stored ? data : deflated;
    const name = Buffer.from(f.rel, "utf8");
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(stored ? 0 : 8, 8);
    local.writeUInt16LE(0, 10); // 00:00:00
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(0x0800, 8);
    header.writeUInt16LE(stored ? 0 : 8, 10);
    header.writeUInt16LE(0, 12);
    header.writeUInt16LE(0x21, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(body.length, 20);
    header.writeUInt32LE(data.length, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    central.push(header, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  const count = central.length / 2;
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

function hasZip(): boolean {
  try {
    execFileSync("zip", ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Zipped size of `dir`, or of one entry of it (a file or folder, path relative to `dir`); with
 * `withoutUnusedBuilds`, leaving out the files UNUSED_BUILD matches.
 */
function zippedBytes(dir: string, work: string, useZip: boolean, only?: string, withoutUnusedBuilds = false): number {
  const zipFile = path.join(work, `zip-${Math.random().toString(36).slice(2)}.zip`);
  if (useZip) {
    const exclude = withoutUnusedBuilds ? ["-x", "node_modules/*/dist-es/*", "node_modules/*/dist-types/*"] : [];
    execFileSync("zip", ["-r", "-9", "-X", "-q", zipFile, only ?? ".", ...exclude], { cwd: dir });
  } else {
    fs.writeFileSync(zipFile, zipWithZlib(dir, only, withoutUnusedBuilds ? UNUSED_BUILD : undefined));
  }
  const bytes = fs.statSync(zipFile).size;
  fs.rmSync(zipFile);
  return bytes;
}

function archiveSize(dir: string, work: string, useZip: boolean): ArchiveSize {
  const files = walk(dir);
  return { zippedBytes: zippedBytes(dir, work, useZip), unpackedBytes: files.reduce((a, f) => a + f.size, 0), files: files.length };
}

function runChild(modulePath: string, mode: "invoke" | "load", env: Record<string, string>): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [RUNNER, modulePath, mode], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(timer);
      const line = out.split("\n").reverse().find((l) => l.startsWith("@@COLD-START@@"));
      if (!line) return reject(new Error(`cold-start child exited ${code} without a result\n${out}\n${err}`));
      const result = JSON.parse(line.slice("@@COLD-START@@".length)) as ChildResult;
      if (result.error || code !== 0) return reject(new Error(`cold-start child failed (${code}): ${result.error ?? ""}\n${err}`));
      resolve({ ...result, wallMs });
    });
  });
}

function kb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}

function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}

async function main(): Promise<void> {
  const N = Number(process.env.COLD_N ?? 25);
  if (!Number.isInteger(N) || N < 1) throw new Error(`COLD_N=${process.env.COLD_N} must be a positive integer`);
  if (N < 20) console.warn(`COLD_N=${N}: fewer than the 20 processes per variant a result should rest on`);
  // COLD_ZIP=node forces the node:zlib writer even where `zip` is installed.
  const useZip = process.env.COLD_ZIP !== "node" && hasZip();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "cold-start-"));
  const extracted: ExtractedLambda[] = [];

  // The runtime's own AWS SDK (/var/runtime/node_modules on Lambda, on NODE_PATH): older and
  // partial there, a stub here that throws when anything loads from it.
  const runtime = createStubRuntimeSdk();
  const runtimeModules = runtime.nodePath;

  console.log("serializing the dev stack (runProgram under Pulumi mocks)...");
  const run = await runProgram("dev");
  const memcached = await startMemcached();
  const upstream = await startUpstream({ body: JSON.stringify({ id: 42, name: "Widget", description: "x".repeat(900) }) });

  const results: Record<string, unknown> = {};
  const table: string[] = [];
  const targets: string[] = [];
  try {
    // COLD_ONLY=api (or cache, failover; comma-separated): measure only those functions.
    const only = (process.env.COLD_ONLY ?? "").split(",").map((k) => k.trim()).filter(Boolean);
    for (const spec of FUNCTIONS.filter((f) => only.length === 0 || only.includes(f.key))) {
      const fn = run.one(FUNCTION_TYPE, spec.namePart);
      const lambda = await extractLambdaArchive(fn.inputs.code);
      extracted.push(lambda);
      const bundleDir = path.join(work, `bundle-${spec.key}`);
      await esbuild.build({
        entryPoints: [spec.entry],
        outfile: path.join(bundleDir, "index.js"),
        bundle: true,
        minify: true,
        treeShaking: true,
        platform: "node",
        target: "node22",
        format: "cjs",
        // The AWS SDK is bundled too: neither form relies on the runtime's copy.
        logLevel: "error",
      });
      const modules: Record<Variant, string> = { serialized: path.join(lambda.dir, "__index.js"), bundle: path.join(bundleDir, "index.js") };
      const size: Record<Variant, ArchiveSize> = { serialized: archiveSize(lambda.dir, work, useZip), bundle: archiveSize(bundleDir, work, useZip) };
      // What the serialized archive is made of: each top-level entry zipped on its own.
      const parts = lambda.entries
        .map((entry) => ({ entry, zippedBytes: zippedBytes(lambda.dir, work, useZip, entry) }))
        .sort((a, b) => b.zippedBytes - a.zippedBytes);
      const sdkParts = parts.filter((x) => SDK_PACKAGE.test(x.entry));
      const unusedBuildFiles = walk(lambda.dir).filter((f) => UNUSED_BUILD.test(f.rel));
      const composition = {
        sdkPackages: sdkParts.length,
        /** Sum of the SDK entries zipped one by one (@aws-sdk/*, @smithy/*, @aws-crypto/*). */
        sdkZippedBytes: sdkParts.reduce((a, x) => a + x.zippedBytes, 0),
        /** dist-es/ and dist-types/ folders of the packages: never loaded here. */
        unusedBuilds: {
          files: unusedBuildFiles.length,
          unpackedBytes: unusedBuildFiles.reduce((a, f) => a + f.size, 0),
          zippedBytesWithout: unusedBuildFiles.length > 0 ? zippedBytes(lambda.dir, work, useZip, undefined, true) : size.serialized.zippedBytes,
        },
      };

      const fnEnv = { ...(fn.inputs.environment?.variables ?? {}) } as Record<string, string>;
      for (const [k, v] of Object.entries(spec.standIns ?? {})) {
        if (typeof fnEnv[k] !== "string" || fnEnv[k].split(",").some((x) => x === "")) fnEnv[k] = v;
      }
      const baseEnv: Record<string, string> = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        ...fnEnv,
        // Lambda-like environment; the servers are the loopback ones.
        AWS_REGION: "us-east-1",
        AWS_DEFAULT_REGION: "us-east-1",
        AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
        AWS_LAMBDA_FUNCTION_NAME: String(fn.inputs.name ?? fn.name),
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.inputs.memorySize ?? 128),
        NODE_PATH: runtimeModules,
        MEMCACHED_SERVERS: memcached.address,
        MEMCACHED_CONFIG_ENDPOINT: memcached.address,
        UPSTREAM_URL: upstream.url,
        // No SSM here: the entry keys themselves (CACHE_MAC_KEYS wins over CACHE_MAC_KEY_PARAMETER).
        // With only the parameter, keys never load and every read is a miss (no HIT-L2).
        CACHE_MAC_KEYS: Buffer.alloc(32, 5).toString("base64"),
        COLD_TIMEOUT_MS: String((fn.inputs.timeout ?? 10) * 1000),
      };
      const envFor = (p: Path, n: string, trace = false): Record<string, string> => ({
        ...baseEnv,
        ...(spec.event ? { COLD_EVENT: JSON.stringify(spec.event(p, n)) } : {}),
        ...(trace ? { COLD_TRACE: "1" } : {}),
      });
      const once = async (v: Variant, p: Path, n: string, trace = false): Promise<Sample> => {
        const s = await runChild(modules[v], p === "load" ? "load" : "invoke", envFor(p, n, trace));
        const want = spec.expect?.[p];
        if (want !== undefined && (s.statusCode !== 200 || s.xcache !== want)) {
          throw new Error(`${spec.label} ${v} ${p}: expected 200 ${want}, got ${s.statusCode} ${s.xcache}`);
        }
        return s;
      };

      console.log(`${spec.label}: ${N} cold starts per variant and path...`);
      const perPath: Record<string, Record<Variant, Sample[]>> = {};
      const traces: Record<string, Record<Variant, unknown>> = {};
      for (const p of spec.paths) {
        if (p === "hit") {
          // Pre-warm memcached: this run misses and stores the hit key.
          await runChild(modules.serialized, "invoke", envFor("hit", "prewarm"));
        }
        // One discarded run per variant (page cache), checked like the timed ones.
        for (const v of ["serialized", "bundle"] as Variant[]) await once(v, p, `warmup-${v}`);
        const samples: Record<Variant, Sample[]> = { serialized: [], bundle: [] };
        for (let i = 0; i < N; i++) {
          const order: Variant[] = i % 2 === 0 ? ["serialized", "bundle"] : ["bundle", "serialized"];
          for (const v of order) samples[v].push(await once(v, p, `${v}-${i}`));
        }
        perPath[p] = samples;
        // One untimed run each with the module trace on: which packages the path loads.
        traces[p] = {
          serialized: (await once("serialized", p, "trace-serialized", true)).trace,
          bundle: (await once("bundle", p, "trace-bundle", true)).trace,
        };
      }

      const pathResults: Record<string, unknown> = {};
      table.push(`\n### ${spec.label} (\`${fn.name}\`)\n`);
      table.push("| | serialized | esbuild bundle | serialized / bundle |");
      table.push("| --- | ---: | ---: | ---: |");
      table.push(`| archive, zipped | ${kb(size.serialized.zippedBytes)} | ${kb(size.bundle.zippedBytes)} | ${ratio(size.serialized.zippedBytes, size.bundle.zippedBytes)}× |`);
      table.push(`| archive, unpacked | ${kb(size.serialized.unpackedBytes)} | ${kb(size.bundle.unpackedBytes)} | ${ratio(size.serialized.unpackedBytes, size.bundle.unpackedBytes)}× |`);
      table.push(`| files | ${size.serialized.files} | ${size.bundle.files} | ${ratio(size.serialized.files, size.bundle.files)}× |`);
      if (composition.sdkPackages > 0) {
        table.push(`| … AWS SDK packages (${composition.sdkPackages}), zipped one by one | ${kb(composition.sdkZippedBytes)} | | |`);
      }
      if (composition.unusedBuilds.files > 0) {
        const u = composition.unusedBuilds;
        table.push(`| … dist-es/ + dist-types/ (${u.files} files), unpacked | ${kb(u.unpackedBytes)} | | |`);
        table.push(`| archive, zipped, without dist-es/ + dist-types/ | ${kb(u.zippedBytesWithout)} | ${kb(size.bundle.zippedBytes)} | ${ratio(u.zippedBytesWithout, size.bundle.zippedBytes)}× |`);
      }
      const largest = parts.slice(0, 4).map((x) => `${x.entry.replace(/^node_modules\//, "")} ${kb(x.zippedBytes)}`).join(", ");
      const zipRatio = ratio(size.serialized.zippedBytes, size.bundle.zippedBytes);
      targets.push(`${spec.label}: archive zipped ${zipRatio}× the bundle (target ≤ 2×) ${zipRatio <= 2 ? "MET" : "MISSED"}`);
      for (const p of spec.paths) {
        const s = perPath[p];
        const pick = (v: Variant, f: (x: Sample) => number): Stats => stats(s[v].map(f));
        const init = { serialized: pick("serialized", (x) => x.answered), bundle: pick("bundle", (x) => x.answered) };
        const load = { serialized: pick("serialized", (x) => x.loaded - x.beforeLoad), bundle: pick("bundle", (x) => x.loaded - x.beforeLoad) };
        const invoke = { serialized: pick("serialized", (x) => x.answered - x.loaded), bundle: pick("bundle", (x) => x.answered - x.loaded) };
        const boot = { serialized: pick("serialized", (x) => x.beforeLoad), bundle: pick("bundle", (x) => x.beforeLoad) };
        const wall = { serialized: pick("serialized", (x) => x.wallMs), bundle: pick("bundle", (x) => x.wallMs) };
        const name = p === "load" ? "init (load + handler creation)" : `init to first ${p.toUpperCase()} answer`;
        table.push(`| ${name}, median ms | ${init.serialized.median} | ${init.bundle.median} | ${ratio(init.serialized.median, init.bundle.median)}× |`);
        table.push(`| ${name}, p90 ms | ${init.serialized.p90} | ${init.bundle.p90} | ${ratio(init.serialized.p90, init.bundle.p90)}× |`);
        table.push(`| … of which module load + factory, median ms | ${load.serialized.median} | ${load.bundle.median} | ${ratio(load.serialized.median, load.bundle.median)}× |`);
        if (p !== "load") table.push(`| … of which first invocation, median ms | ${invoke.serialized.median} | ${invoke.bundle.median} | ${ratio(invoke.serialized.median, invoke.bundle.median)}× |`);
        table.push(`| ${p === "load" ? "load" : p.toUpperCase()}: wall time (spawn to exit), median ms | ${wall.serialized.median} | ${wall.bundle.median} | ${ratio(wall.serialized.median, wall.bundle.median)}× |`);
        const initRatio = ratio(init.serialized.median, init.bundle.median);
        targets.push(`${spec.label} ${p}: init median ${initRatio}× the bundle (target ≤ 1.2×) ${initRatio <= 1.2 ? "MET" : "MISSED"}`);
        pathResults[p] = {
          initMs: init,
          nodeBootMs: boot,
          moduleLoadAndFactoryMs: load,
          firstInvocationMs: invoke,
          wallMs: wall,
          ratios: {
            initMedian: initRatio,
            initP90: ratio(init.serialized.p90, init.bundle.p90),
            wallMedian: ratio(wall.serialized.median, wall.bundle.median),
          },
          packagesLoaded: traces[p],
        };
      }
      table.push(`\nlargest entries of the serialized archive (zipped alone): ${largest}`);
      const tr = traces[spec.paths[0]] as Record<Variant, { packages: string[] } | undefined>;
      table.push(`\npackages loaded by the serialized form on ${spec.paths[0]}: ${tr.serialized?.packages.join(", ") || "none"}`);
      if (traces.miss) {
        const extra = (traces.miss.serialized as { packages: string[] }).packages.filter((x) => !(tr.serialized?.packages ?? []).includes(x));
        table.push(`additionally on miss: ${extra.join(", ") || "none"}`);
      }
      results[spec.key] = {
        function: fn.name,
        archive: {
          serialized: {
            ...size.serialized,
            packages: lambda.entries.filter((e) => e.startsWith("node_modules/")).map((e) => e.slice("node_modules/".length)),
            entriesZippedBytes: Object.fromEntries(parts.map((x) => [x.entry, x.zippedBytes])),
            composition,
          },
          bundle: size.bundle,
          ratios: {
            zipped: ratio(size.serialized.zippedBytes, size.bundle.zippedBytes),
            unpacked: ratio(size.serialized.unpackedBytes, size.bundle.unpackedBytes),
            files: ratio(size.serialized.files, size.bundle.files),
          },
        },
        paths: pathResults,
      };
    }
    const fromRuntime = runtime.loads();
    if (fromRuntime.length > 0) throw new Error(`loaded from the runtime's (stub) SDK on NODE_PATH: ${fromRuntime.join(", ")}`);
  } finally {
    await memcached.stop();
    await upstream.close();
    for (const l of extracted) l.remove();
    runtime.remove();
    fs.rmSync(work, { recursive: true, force: true });
  }

  const zipTool = useZip ? "Info-ZIP zip -r -9 -X" : "node:zlib deflate level 9 per file (bench/cold-start.ts zip writer)";
  console.log(`\nCold starts: serialized (CallbackFunction archive, dev stack) vs esbuild bundle (minified, cjs, node22, AWS SDK bundled); both with their own AWS SDK, NODE_PATH = stub runtime SDK`);
  console.log(`${N} fresh node ${process.version} processes per variant and path, alternating; loopback memcached + upstream; zip: ${zipTool}`);
  console.log(table.join("\n"));
  console.log(`\nTargets:\n${targets.map((t) => `- ${t}`).join("\n")}`);

  const out = path.join(__dirname, "results", "cold-start.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}, ${os.cpus().length} CPUs`,
    processesPerVariantAndPath: N,
    zip: zipTool,
    bundle: { tool: `esbuild ${esbuild.version}`, options: "bundle, minify, tree shaking, platform node, target node22, format cjs, AWS SDK bundled (nothing external)" },
    awsSdk: "shipped by both forms (serialized: node_modules in the archive; bundle: bundled); NODE_PATH = a stub of the runtime's /var/runtime/node_modules whose every package throws when loaded, none was",
    notes: [
      "init = ms from process start (performance.timeOrigin) to the first answer, measured in the child; wall = spawn to exit in the parent",
      "hit = first invocation is a memcached (L2) hit; miss = first invocation calls the upstream; load (failover) = module load + handler creation only, no AWS call",
      "archive.serialized.composition: sdkZippedBytes = the @aws-sdk/@smithy/@aws-crypto entries zipped one by one; unusedBuilds = the packages' dist-es/ and dist-types/ folders, with the archive's zipped size without them (CallbackFunction's codePathOptions can only include or exclude whole packages, so they ship)",
    ],
    functions: results,
    targets,
  }, null, 2) + "\n");
  console.log(`\nwrote ${path.relative(REPO_ROOT, out)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
