/**
 * API benchmark: `npm run bench:api [-- flags]` (node -r ts-node/register/transpile-only bench/api.ts).
 *
 * One run, one machine, one memcached; every number is a side-by-side comparison from this run:
 *
 *   1. HTTP, container mode. Our server as the container image runs it (the build context the
 *      component generates, in a temp dir: `node __index.js` with SERVERLESS_CACHE_RUNTIME=container,
 *      a child process; `--compiled` runs the same sources transpiled to plain JavaScript instead,
 *      `--ts-node` runs `app/main.ts` as `npm start` does) on a warmed cached route,
 *      `/items/1?lang=en` (an L1 hit), against a bare `node:http` server (plain JavaScript, another
 *      child process) answering the same body bytes with the same headers.
 *      autocannon (in this process) loads each for the same duration and connections, in alternating
 *      order A B A B, after a warm-up of each. Reported: req/s of each, the ratio ours/bare (target
 *      >= 0.8), and the CPU each server process used per request (from /proc), which does not depend
 *      on whether the load generator or the server was the bottleneck.
 *   2. When the ratio is below 0.8 (or with --profile): a short `--cpu-prof` run of our server under
 *      the same load; prints where its time goes (self time by area, app-stack frames, top frames).
 *   3. Lambda mode: the Lambda entry in-process, from the sources (`createLambdaEntry(demoApp, env)`,
 *      as the deployed factory builds it) and as deployed (the generated `__index.js` loaded in
 *      Lambda mode: the Lambda's archive holds the same file), called with the ALB fixtures of
 *      test/fixtures/alb (get-item, single- and multi-value header forms) on a cache hit, one event at
 *      a time as Lambda does: µs per event p50/p99 and events/s, variants alternating.
 *
 * Prints tables and writes bench/results/api.json. About 60 s on 2 cores.
 *
 * Flags: API_USAGE below (`npm run bench:api -- --help`).
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
  AutocannonResult,
  REPO,
  buildContainerContext,
  cleanup,
  httpGet,
  installSignalHandlers,
  itemBody,
  machineInfo,
  onCleanup,
  processCpuSeconds,
  round,
  runAutocannon,
  spawnServer,
  table,
} from "./load";
import { numberFlag, parseFlags, UsageError, usageMessage } from "../scripts/cli";

const ROUTE = "/items/1?lang=en";

// ---------------------------------------------------------------------------------------------
// The bare server: plain JavaScript on plain node (no ts-node), the same body and headers, nothing else.

const BARE_SERVER_JS = `"use strict";
const http = require("node:http");
const body = Buffer.from(process.env.BARE_BODY_B64 || "", "base64");
const headers = JSON.parse(process.env.BARE_HEADERS || "{}");
headers["content-length"] = String(body.length);
const server = http.createServer({ keepAliveTimeout: 65000 }, (req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  console.log(JSON.stringify({ level: "INFO", message: "listening", port, url: "http://127.0.0.1:" + port, pid: process.pid }));
});
const stop = () => { server.close(() => process.exit(0)); server.closeAllConnections(); };
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
`;

/**
 * `--compiled`: functions/ and app/ transpiled one file at a time with tsconfig.json's compiler options
 * (TypeScript's transpileModule, no type check) into a temp dir with a node_modules symlink; returns
 * its app/main.js. The same code as the image's, as ordinary modules instead of the serialized closure.
 */
function compileSources(): string {
  const ts = require("typescript") as typeof import("typescript");
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(REPO, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n")); },
  });
  if (!parsed) throw new Error("cannot read tsconfig.json");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "api-compiled-"));
  onCleanup({ name: "compiled sources", stop: () => fs.rmSync(dir, { recursive: true, force: true }) });
  const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [path.join(d, e.name)] : []);
  for (const file of [...walk(path.join(REPO, "functions")), ...walk(path.join(REPO, "app"))]) {
    const out = ts.transpileModule(fs.readFileSync(file, "utf8"), { compilerOptions: { ...parsed.options, noEmit: false, sourceMap: false }, fileName: file });
    const target = path.join(dir, path.relative(REPO, file)).replace(/\.ts$/, ".js");
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, out.outputText);
  }
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"), "dir");
  return path.join(dir, "app", "main.js");
}

// ---------------------------------------------------------------------------------------------

interface Args {
  duration: number;
  connections: number;
  rounds: number;
  lambdaIterations: number;
  profile: "auto" | "yes" | "no";
  /** What runs as "ours": the generated context (default), the transpiled sources, or ts-node. */
  ours: "context" | "compiled" | "ts-node";
  out: string;
}

export const API_USAGE = `usage: npm run bench:api -- [options]

  --duration <s>             seconds per HTTP round (default 8)
  --connections <n>          concurrent connections (default 50)
  --rounds <n>               pairs A B (default 2)
  --lambda-iterations <n>    Lambda-mode calls per variant and round (default 15000, at least 100)
  --profile                  always profile our server under load
  --no-profile               never profile (default: profile when ours/bare is below 0.8)
  --compiled                 run the same sources transpiled to plain JavaScript (app/main.js, plain node)
                             instead of the generated container context: is the serialized form the cost?
  --ts-node                  run app/main.ts as npm start does (ts-node loads node's REPL and with it
                             "domain", which slows every EventEmitter: not a baseline for the image)
  --out <file>               JSON results (default bench/results/api.json)
  -h, --help                 this text

exit codes: 0 done, 1 the run failed, 2 bad input`;

/** Parse argv (without node and the script); `--help` prints API_USAGE and exits 0. Throws UsageError. */
function parseArgs(argv: string[]): Args {
  const flags = parseFlags(argv, {
    duration: { type: "string" },
    connections: { type: "string" },
    rounds: { type: "string" },
    "lambda-iterations": { type: "string" },
    profile: { type: "boolean" },
    "no-profile": { type: "boolean" },
    compiled: { type: "boolean" },
    "ts-node": { type: "boolean" },
    out: { type: "string" },
  });
  if (flags.help) {
    process.stdout.write(`${API_USAGE}\n`);
    process.exit(0);
  }
  if (flags.profile && flags["no-profile"]) throw new UsageError("give either --profile or --no-profile, not both");
  if (flags.compiled && flags["ts-node"]) throw new UsageError("give either --compiled or --ts-node, not both");
  return {
    duration: flags.duration === undefined ? 8 : numberFlag("--duration", flags.duration, 1),
    connections: flags.connections === undefined ? 50 : Math.floor(numberFlag("--connections", flags.connections, 1)),
    rounds: flags.rounds === undefined ? 2 : Math.floor(numberFlag("--rounds", flags.rounds, 1)),
    lambdaIterations: flags["lambda-iterations"] === undefined ? 15000 : Math.floor(numberFlag("--lambda-iterations", flags["lambda-iterations"], 100)),
    profile: flags.profile ? "yes" : flags["no-profile"] ? "no" : "auto",
    ours: flags.compiled ? "compiled" : flags["ts-node"] ? "ts-node" : "context",
    out: flags.out === undefined ? path.join(REPO, "bench/results/api.json") : path.resolve(flags.out),
  };
}

interface HttpRun {
  target: "ours" | "bare";
  round: number;
  reqPerSec: number;
  responses: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  /** CPU cores the server process used on average (user + system). */
  serverCores?: number;
  /** CPU time of the server per response, µs. */
  serverCpuUsPerReq?: number;
  /** CPU cores the load generator (this process) used. */
  loaderCores: number;
}

async function loadOnce(target: "ours" | "bare", url: string, pid: number, duration: number, connections: number, roundNo: number): Promise<HttpRun> {
  const cpu0 = processCpuSeconds(pid);
  const self0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r: AutocannonResult = await runAutocannon({ url: url + ROUTE, connections, duration, title: target });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const self = process.cpuUsage(self0);
  const cpu1 = processCpuSeconds(pid);
  const responses = r.latency.totalCount ?? r.requests.total ?? 0;
  const serverCpu = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
  return {
    target,
    round: roundNo,
    reqPerSec: round(r.requests.average, 0),
    responses,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    serverCores: serverCpu !== undefined ? round(serverCpu / wall, 2) : undefined,
    serverCpuUsPerReq: serverCpu !== undefined && responses > 0 ? round((serverCpu * 1e6) / responses, 1) : undefined,
    loaderCores: round((self.user + self.system) / 1e6 / wall, 2),
  };
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

// ---------------------------------------------------------------------------------------------
// CPU profile summary.

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function areaOf(url: string, fn: string): string {
  if (!url) {
    if (fn === "(garbage collector)") return "GC";
    if (fn === "(program)" || fn === "(idle)" || fn === "(root)") return fn;
    return "V8/native builtins";
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith("node:internal/deps/undici")) return "node: undici (Request/Response/Headers)";
  if (url.startsWith("node:")) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url);
    const mod = m ? m[1] : url;
    if (/^_?http|^http/.test(mod)) return "node: http";
    if (/^(net|stream|streams|_stream|dns|tcp_wrap)/.test(mod)) return "node: net/streams";
    if (/^(timers|process|event|events|async_hooks)/.test(mod)) return "node: timers/events/ticks";
    if (/^(url|querystring)/.test(mod)) return "node: url";
    return `node: ${mod}`;
  }
  const ours = /\/(?:functions|dist)\/(platform|cache)\/[^/]+$/.exec(url) ?? /\/app\/()[^/]+$/.exec(url);
  if (ours) return ours[1] ? `ours: functions/${ours[1]}` : "ours: app";
  // The generated context: platform, cache and app serialized into one file.
  if (/\/__index\.js$/.test(url)) return "ours: __index.js (serialized)";
  return url.replace(/^file:\/\//, "");
}

interface ProfileSummary {
  samples: number;
  busyShareOfWall: number;
  byArea: Array<{ area: string; selfPct: number }>;
  topSelf: Array<{ frame: string; selfPct: number }>;
  /** Inclusive time of the frames of the app stack (ours, hono, @hono/node-server, undici), not node's http internals. */
  appStackInclusive: Array<{ frame: string; inclusivePct: number }>;
}

/**
 * Summarize the samples taken in [fromUs, toUs] (profile clock, µs): start-up and shutdown are left
 * out. Sample counts, i.e. wall-clock time of the JS thread while it was not idle.
 */
function summarizeProfile(p: CpuProfile, fromUs: number, toUs: number): ProfileSummary {
  const byId = new Map<number, CpuProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) byId.set(n.id, n);
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frameOf = (n: CpuProfileNode): string => {
    const cf = n.callFrame;
    const file = cf.url
      ? cf.url.replace(/^file:\/\//, "").replace(REPO + "/", "").replace(/^.*node_modules\//, "").replace(/^.*\/(__index\.js)$/, "$1 (serialized)")
      : "";
    return `${cf.functionName || "(anonymous)"}${file ? ` ${file}:${cf.lineNumber + 1}` : ""}`;
  };
  const self = new Map<string, number>();
  const area = new Map<string, number>();
  const incl = new Map<string, number>();
  const appFrame = new Set<string>();
  let busy = 0;
  let idle = 0;
  let ts = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    ts += p.timeDeltas[i] ?? 0;
    if (ts < fromUs || ts > toUs) continue;
    const n = byId.get(p.samples[i]);
    if (!n) continue;
    const fn = n.callFrame.functionName;
    if (fn === "(idle)") { idle += 1; continue; }
    busy += 1;
    const f = frameOf(n);
    self.set(f, (self.get(f) ?? 0) + 1);
    const a = areaOf(n.callFrame.url, fn);
    area.set(a, (area.get(a) ?? 0) + 1);
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (!node) break;
      const nf = node.callFrame.functionName;
      if (nf === "(root)" || nf === "(program)") continue;
      const key = frameOf(node);
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + 1);
      const nodeArea = areaOf(node.callFrame.url, nf);
      if (nodeArea.startsWith("ours") || nodeArea.startsWith("node: undici") || nodeArea === "hono" || nodeArea === "@hono/node-server") appFrame.add(key);
    }
  }
  const pct = (x: number): number => round((100 * x) / Math.max(1, busy), 1);
  const top = (m: Map<string, number>, k: number): Array<[string, number]> => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k);
  return {
    samples: busy,
    busyShareOfWall: round(busy / Math.max(1, busy + idle), 2),
    byArea: top(area, 14).map(([a, n]) => ({ area: a, selfPct: pct(n) })),
    topSelf: top(self, 15).map(([f, n]) => ({ frame: f, selfPct: pct(n) })),
    appStackInclusive: top(new Map([...incl].filter(([k]) => appFrame.has(k))), 18).map(([f, n]) => ({ frame: f, inclusivePct: pct(n) })),
  };
}

// ---------------------------------------------------------------------------------------------
// Lambda mode.

interface LambdaStats {
  variant: string;
  what: string;
  events: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  eventsPerSec: number;
  /** p50 relative to the floor (a bare L1 hit of the cache). */
  p50VsFloor: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

type AlbLike = { statusCode: number; body: string; headers?: Record<string, string>; multiValueHeaders?: Record<string, string[]> };

/**
 * The handler as deployed: `serializedIndex` (the generated context's `__index.js`, the same file as
 * the Lambda archive's) loaded in Lambda mode; its factory reads the environment once, at load.
 */
function loadSerializedHandler(serializedIndex: string, env: Record<string, string>): (event: unknown, context: unknown) => Promise<unknown> {
  const saved = new Map<string, string | undefined>();
  for (const k of [...Object.keys(env), "SERVERLESS_CACHE_RUNTIME"]) saved.set(k, process.env[k]);
  Object.assign(process.env, env);
  delete process.env.SERVERLESS_CACHE_RUNTIME;
  try {
    return (require(serializedIndex) as { handler: (event: unknown, context: unknown) => Promise<unknown> }).handler;
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * The demo app on the platform's Lambda entry, from the sources (ts-node), built as the deployed
 * factory builds it (`createLambdaEntry(demoApp, env)`), and as deployed (the serialized
 * `__index.js`). Variants, measured in alternating order in the same loop:
 *   - the ALB handler with the single- and the multi-value fixture (what Lambda runs per event);
 *   - the serialized handler with the single-value fixture (what the function really runs);
 *   - `app.fetch` with an equivalent Request (the same app without the ALB adapter);
 *   - `cache.getOrLoad` of the same key, an L1 hit (the floor: no HTTP shape at all).
 */
async function lambdaBench(memcachedAddress: string, upstreamUrl: string, iterations: number, rounds: number, serializedIndex: string): Promise<LambdaStats[]> {
  const { createLambdaEntry } = require("../functions/platform/entry") as typeof import("../functions/platform/entry");
  const { jsonLineLog } = require("../functions/platform/log") as typeof import("../functions/platform/log");
  const { createTwoTierCache, requestCacheKey } = require("../functions/cache") as typeof import("../functions/cache");
  const { demoApp } = require("../app") as typeof import("../app");
  const { itemCacheRequest } = require("../app/routes") as typeof import("../app/routes");
  const env = { UPSTREAM_URL: upstreamUrl, MEMCACHED_SERVERS: memcachedAddress, CACHE_NAMESPACE: "bench-lambda" };
  const made: { cache?: ReturnType<typeof createTwoTierCache> } = {};
  const handler = createLambdaEntry(demoApp, env, (o) => (made.cache = createTwoTierCache(o)));
  const deps = { cache: made.cache as ReturnType<typeof createTwoTierCache> };
  onCleanup({ name: "lambda cache", stop: () => deps.cache.close() });
  // The same app without the ALB adapter, on the same cache.
  const app = await demoApp({ cache: deps.cache, log: jsonLineLog, runtime: "lambda", env });
  const deployed = loadSerializedHandler(serializedIndex, { ...env, CACHE_NAMESPACE: "bench-lambda-serialized", LOG_LEVEL: "error" });
  const context = {
    getRemainingTimeInMillis: () => 10000,
    awsRequestId: "00000000-0000-4000-8000-000000000000",
    functionName: "api-bench",
    functionVersion: "$LATEST",
    memoryLimitInMB: "512",
  };
  const fixtures = { single: "test/fixtures/alb/get-item.single.json", multi: "test/fixtures/alb/get-item.multi.json" } as const;
  const single = JSON.parse(fs.readFileSync(path.join(REPO, fixtures.single), "utf8")) as { path: string; queryStringParameters: Record<string, string>; headers: Record<string, string> };
  const multi = JSON.parse(fs.readFileSync(path.join(REPO, fixtures.multi), "utf8")) as unknown;
  const fetchUrl = `http://lambda.internal${single.path}?${new URLSearchParams(single.queryStringParameters).toString()}`;
  const key = requestCacheKey("bench-lambda", itemCacheRequest(single.path.split("/").pop() ?? "", single.queryStringParameters.lang));
  const xCacheOf = (r: AlbLike): string | undefined => r.headers?.["x-cache"] ?? r.multiValueHeaders?.["x-cache"]?.[0];
  const hitOrThrow = (what: string, status: number, xc: string | null | undefined): void => {
    if (status !== 200 || xc !== "HIT-L1") throw new Error(`Lambda bench, ${what}: status ${status}, x-cache ${String(xc)} (expected 200 HIT-L1)`);
  };
  const albHitOrThrow = (what: string, r: AlbLike): void => hitOrThrow(what, r.statusCode, xCacheOf(r));
  const loaderNeverCalled = async (): Promise<never> => { throw new Error("the floor variant missed the cache"); };

  const variants: Array<{ variant: string; what: string; run: () => Promise<void> }> = [
    {
      variant: "ALB event, single-value headers",
      what: fixtures.single,
      run: async () => { const r = (await handler(single, context)) as AlbLike; if (r.statusCode !== 200) hitOrThrow("single", r.statusCode, xCacheOf(r)); },
    },
    {
      variant: "ALB event, multi-value headers",
      what: fixtures.multi,
      run: async () => { const r = (await handler(multi, context)) as AlbLike; if (r.statusCode !== 200) hitOrThrow("multi", r.statusCode, xCacheOf(r)); },
    },
    {
      variant: "ALB event, single-value, serialized",
      what: "the same event to the generated __index.js (as deployed)",
      run: async () => { const r = (await deployed(single, context)) as AlbLike; if (r.statusCode !== 200) hitOrThrow("serialized", r.statusCode, xCacheOf(r)); },
    },
    {
      variant: "app.fetch, no ALB adapter",
      what: "new Request(same URL and headers) + arrayBuffer()",
      run: async () => {
        const res = await app.fetch(new Request(fetchUrl, { headers: single.headers }), { deadline: Date.now() + 9500, requestId: "bench", runtime: "lambda" });
        await res.arrayBuffer();
      },
    },
    {
      variant: "cache.getOrLoad, L1 hit (floor)",
      what: "same cache and key, no HTTP shape",
      run: async () => { await deps.cache.getOrLoad(key, loaderNeverCalled); },
    },
  ];

  // The first call is the MISS (fills L1 and memcached); then every call must be an L1 hit.
  await handler(single, context);
  albHitOrThrow("single", (await handler(single, context)) as AlbLike);
  albHitOrThrow("multi", (await handler(multi, context)) as AlbLike);
  await deployed(single, context);
  albHitOrThrow("serialized", (await deployed(single, context)) as AlbLike);
  const viaFetch = await app.fetch(new Request(fetchUrl, { headers: single.headers }), { deadline: Date.now() + 9500, requestId: "bench", runtime: "lambda" });
  hitOrThrow("app.fetch", viaFetch.status, viaFetch.headers.get("x-cache"));
  if ((await deps.cache.getOrLoad(key, loaderNeverCalled)).source !== "HIT-L1") throw new Error("the floor variant is not an L1 hit");
  for (const v of variants) for (let i = 0; i < 3000; i++) await v.run(); // JIT warm-up

  const samples = variants.map(() => [] as Float64Array[]);
  const elapsed = variants.map(() => 0);
  for (let r = 0; r < rounds; r++) {
    const order = variants.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const out = new Float64Array(iterations);
      const run = variants[i].run;
      const start = process.hrtime.bigint();
      let prev = start;
      for (let k = 0; k < iterations; k++) {
        await run();
        const t = process.hrtime.bigint();
        out[k] = Number(t - prev) / 1000;
        prev = t;
      }
      elapsed[i] += Number(prev - start) / 1e9;
      samples[i].push(out);
    }
  }
  // The steady state really was a hit (and not an error answered fast). An entry older than the L1
  // max age (5 s) is read from memcached once (HIT-L2), then served from L1 again: a handler the loop
  // has not called for a few seconds answers its next event from L2.
  const stillHit = (what: string, r: AlbLike): void => {
    if (r.statusCode !== 200 || !/^HIT-L[12]$/.test(xCacheOf(r) ?? "")) throw new Error(`Lambda bench, ${what}: status ${r.statusCode}, x-cache ${String(xCacheOf(r))} (expected 200 HIT-L1 or HIT-L2)`);
  };
  stillHit("single after the run", (await handler(single, context)) as AlbLike);
  stillHit("multi after the run", (await handler(multi, context)) as AlbLike);
  stillHit("serialized after the run", (await deployed(single, context)) as AlbLike);

  const stats = variants.map((v, i) => {
    const all = new Float64Array(samples[i].reduce((n, a) => n + a.length, 0));
    let o = 0;
    for (const a of samples[i]) { all.set(a, o); o += a.length; }
    all.sort();
    return {
      variant: v.variant,
      what: v.what,
      events: all.length,
      p50Us: round(percentile(all, 50), 1),
      p99Us: round(percentile(all, 99), 1),
      meanUs: round(all.reduce((a, b) => a + b, 0) / all.length, 1),
      eventsPerSec: round(all.length / elapsed[i], 0),
      p50VsFloor: 0,
    };
  });
  const floor = stats[stats.length - 1].p50Us;
  for (const st of stats) st.p50VsFloor = round(st.p50Us / floor, 1);
  return stats;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  installSignalHandlers();
  const begun = Date.now();
  const log = (m: string): void => { process.stderr.write(`[${((Date.now() - begun) / 1000).toFixed(1)} s] ${m}\n`); };

  const { startMemcached } = require("../test/support/memcached") as typeof import("../test/support/memcached");
  const { startUpstream } = require("../test/support/upstream") as typeof import("../test/support/upstream");
  const mc = await startMemcached();
  onCleanup({ name: "memcached", stop: () => mc.stop() });
  const up = await startUpstream();
  up.handler = (req) => ({ body: itemBody(req.url ?? "/") });
  onCleanup({ name: "upstream", stop: () => up.close() });
  const serverEnv = { UPSTREAM_URL: up.url, MEMCACHED_SERVERS: mc.address, LOG_LEVEL: "error", PORT: "0" };

  log("generating the container build context as the component does (serialized hybridEntry(demoApp) + node_modules) into a temp dir...");
  const dist = await buildContainerContext();
  const bareJs = path.join(dist.dir, "bare-server.js");
  fs.writeFileSync(bareJs, BARE_SERVER_JS);
  // Ours as the image runs it (`node __index.js` of the generated context), or as `npm start` does.
  const ourScript = args.ours === "ts-node" ? "app/main.ts" : args.ours === "compiled" ? compileSources() : dist.main;
  const ourArgs: string[] = [];
  const ourLabel = {
    context: "ours (generated context: node __index.js)",
    compiled: "ours (the sources transpiled: node app/main.js)",
    "ts-node": "ours (npm start: ts-node app/main.ts)",
  }[args.ours];

  log(`starting ${ourLabel}...`);
  const ours = await spawnServer(ourScript, { ...serverEnv, CACHE_NAMESPACE: "bench-ours", SERVERLESS_CACHE_RUNTIME: "container" }, { nodeArgs: ourArgs, name: "our server" });
  const first = await httpGet(ours.url + ROUTE);
  const warm = await httpGet(ours.url + ROUTE);
  if (first.status !== 200 || warm.status !== 200 || warm.headers["x-cache"] !== "HIT-L1") {
    throw new Error(`warm-up of ${ROUTE}: ${first.status}/${String(first.headers["x-cache"])} then ${warm.status}/${String(warm.headers["x-cache"])}`);
  }
  const headers: Record<string, string> = {};
  for (const name of ["age", "content-type", "x-cache", "x-served-by"]) {
    const v = warm.headers[name];
    if (typeof v === "string") headers[name] = v;
  }
  log("starting the bare node:http server...");
  const bare = await spawnServer(bareJs, { BARE_BODY_B64: warm.body.toString("base64"), BARE_HEADERS: JSON.stringify(headers) }, { name: "bare server" });
  const bareCheck = await httpGet(bare.url + ROUTE);
  if (!bareCheck.body.equals(warm.body)) throw new Error("the bare server's body differs from ours");

  log("warm-up (2 s each)...");
  await runAutocannon({ url: ours.url + ROUTE, connections: args.connections, duration: 2 });
  await runAutocannon({ url: bare.url + ROUTE, connections: args.connections, duration: 2 });

  const runs: HttpRun[] = [];
  for (let r = 1; r <= args.rounds; r++) {
    for (const t of ["ours", "bare"] as const) {
      log(`round ${r}: ${t} (${args.duration} s, ${args.connections} connections)...`);
      const s = t === "ours" ? ours : bare;
      runs.push(await loadOnce(t, s.url, s.pid, args.duration, args.connections, r));
    }
  }
  const oursRuns = runs.filter((x) => x.target === "ours");
  const bareRuns = runs.filter((x) => x.target === "bare");
  const oursRps = mean(oursRuns.map((x) => x.reqPerSec));
  const bareRps = mean(bareRuns.map((x) => x.reqPerSec));
  const ratio = oursRps / bareRps;
  const pairRatios = oursRuns.map((o, i) => round(o.reqPerSec / bareRuns[i].reqPerSec, 3));
  const cpuOurs = mean(oursRuns.map((x) => x.serverCpuUsPerReq ?? NaN));
  const cpuBare = mean(bareRuns.map((x) => x.serverCpuUsPerReq ?? NaN));
  const failures = runs.reduce((n, x) => n + x.errors + x.timeouts + x.non2xx, 0);

  // Where our server's time goes.
  let profile: ProfileSummary | undefined;
  if (args.profile === "yes" || (args.profile === "auto" && ratio < 0.8)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "api-prof-"));
    onCleanup({ name: "profile dir", stop: () => fs.rmSync(dir, { recursive: true, force: true }) });
    log(`ratio ${round(ratio, 2)}: profiling our server (--cpu-prof, 5 s under the same load)...`);
    const prof = await spawnServer(ourScript, { ...serverEnv, CACHE_NAMESPACE: "bench-prof", SERVERLESS_CACHE_RUNTIME: "container" }, {
      nodeArgs: [...ourArgs, "--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "200"],
      name: "profiled server",
    });
    await httpGet(prof.url + ROUTE);
    await runAutocannon({ url: prof.url + ROUTE, connections: args.connections, duration: 1 });
    const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
    const loadStart = nowUs();
    await runAutocannon({ url: prof.url + ROUTE, connections: args.connections, duration: 5 });
    const loadEnd = nowUs();
    await prof.stop();
    const exitAt = nowUs();
    const file = fs.readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (file) {
      const p = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as CpuProfile;
      // V8's profile clock and process.hrtime are both CLOCK_MONOTONIC on Linux; if they do not
      // agree, place the window relative to the end of the profile (the process exit).
      const sameClock = Math.abs(p.endTime - exitAt) < 2_000_000;
      const shift = sameClock ? 0 : p.endTime - exitAt;
      if (!sameClock) log("profile clock differs from process.hrtime; window placed from the profile end");
      profile = summarizeProfile(p, loadStart + shift + 200_000, loadEnd + shift - 100_000);
    } else log("no .cpuprofile was written");
  }

  // The HTTP servers are done: free the CPU for the in-process Lambda measurement.
  await ours.stop();
  await bare.stop();
  log(`Lambda mode: the Lambda entry in-process (sources and serialized __index.js), ${args.lambdaIterations} calls × ${args.rounds} rounds per variant...`);
  // The hits measured are L1 hits and never touch memcached, but say so if it went away (on a shared
  // machine something else may kill memcached processes): then the first MISS skipped L2.
  const memcachedBefore = await reachable(mc.port);
  const lambda = await lambdaBench(mc.address, up.url, args.lambdaIterations, args.rounds, dist.main);
  const memcachedAfter = await reachable(mc.port);
  const memcachedNote = memcachedBefore && memcachedAfter ? undefined : `memcached was ${memcachedBefore ? "" : "not "}reachable before and ${memcachedAfter ? "" : "not "}reachable after the Lambda part (stopped from outside?)`;

  // ---- Report.
  const lines: string[] = [];
  lines.push("");
  lines.push(`API benchmark (${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? "?"}, node ${process.version}); every number below is from this one run.`);
  lines.push(`HTTP: GET ${ROUTE} (L1 hit, ${warm.body.length} B JSON), ${args.duration} s per round, ${args.connections} connections, order ${runs.map((x) => (x.target === "ours" ? "A" : "B")).join(" ")}`);
  lines.push(`A = ${ourLabel}, B = bare node:http (same body and headers); server CPU from /proc, loader = autocannon in this process.`);
  lines.push("");
  lines.push(table(
    ["round", "server", "req/s", "p50 ms", "p99 ms", "errors", "non-2xx", "server cores", "server CPU µs/req", "loader cores"],
    runs.map((x) => [x.round, x.target === "ours" ? "A ours" : "B bare", x.reqPerSec, x.latencyMs.p50, x.latencyMs.p99, x.errors + x.timeouts, x.non2xx, x.serverCores ?? NaN, x.serverCpuUsPerReq ?? NaN, x.loaderCores]),
  ));
  lines.push("");
  lines.push(table(
    ["", "ours", "bare", "ours/bare"],
    [
      ["req/s (mean of rounds)", round(oursRps, 0), round(bareRps, 0), `${round(ratio, 3)} (per pair ${pairRatios.join(", ")}); target >= 0.8 ${ratio >= 0.8 ? "met" : "NOT met"}`],
      ["server CPU µs per request", round(cpuOurs, 1), round(cpuBare, 1), `${round(cpuOurs / cpuBare, 2)}× the CPU of bare per request`],
    ],
  ));
  if (failures > 0) lines.push(`WARNING: ${failures} errors/timeouts/non-2xx during the HTTP rounds`);
  if (profile) {
    lines.push("");
    lines.push(`Where our server's time goes (--cpu-prof during 5 s of the same load, ${profile.samples} busy samples; percentages of busy samples):`);
    lines.push("Samples are wall-clock: `writev` (the socket write) also holds the time the process was preempted inside it on a busy");
    lines.push("2-core machine; the bare server shows the same frame. The app-stack table is what ours adds on top of node:http.");
    lines.push(table(["self time by area", "%"], profile.byArea.map((a) => [a.area, a.selfPct])));
    lines.push("");
    lines.push(table(["app stack frame (inclusive)", "%"], profile.appStackInclusive.map((f) => [f.frame, f.inclusivePct])));
    lines.push("");
    lines.push(table(["top frame (self)", "%"], profile.topSelf.slice(0, 12).map((f) => [f.frame, f.selfPct])));
  }
  lines.push("");
  lines.push("Lambda mode: the Lambda entry in-process on a cache hit (HIT-L1), from the sources (ts-node) and as deployed (serialized), one event at a time, variants alternating:");
  lines.push(table(
    ["variant", "input", "calls", "p50 µs", "p99 µs", "mean µs", "calls/s", "p50 × floor"],
    lambda.map((l) => [l.variant, l.what, l.events, l.p50Us, l.p99Us, l.meanUs, l.eventsPerSec, l.p50VsFloor]),
  ));
  if (memcachedNote) lines.push(`NOTE: ${memcachedNote}`);
  console.log(lines.join("\n"));

  const json = {
    tool: "bench/api.ts",
    date: new Date().toISOString(),
    machine: machineInfo(),
    settings: {
      route: ROUTE,
      bodyBytes: warm.body.length,
      ours: ourLabel,
      durationS: args.duration,
      connections: args.connections,
      rounds: args.rounds,
      order: runs.map((x) => x.target),
      lambdaIterationsPerVariantAndRound: args.lambdaIterations,
    },
    http: {
      runs,
      oursReqPerSec: round(oursRps, 0),
      bareReqPerSec: round(bareRps, 0),
      ratio: round(ratio, 3),
      pairRatios,
      targetRatio: 0.8,
      targetMet: ratio >= 0.8,
      serverCpuUsPerReq: { ours: round(cpuOurs, 1), bare: round(cpuBare, 1), ratio: round(cpuOurs / cpuBare, 2) },
      failures,
    },
    profile,
    lambda,
    memcachedNote,
    totalSeconds: round((Date.now() - begun) / 1000, 1),
  };
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, JSON.stringify(json, null, 2) + "\n");
  console.log(`\nwrote ${path.relative(process.cwd(), args.out) || args.out} (${json.totalSeconds} s)`);
}

if (require.main === module) {
  main()
    .then(async () => {
      await cleanup();
      process.exit(0);
    })
    .catch(async (e: unknown) => {
      const usage = e instanceof UsageError;
      process.stderr.write(usage ? `${usageMessage("bench:api", e.message, API_USAGE)}\n` : `benchmark failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      await cleanup();
      process.exit(usage ? 2 : 1);
    });
}
