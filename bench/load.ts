/**
 * Load test of the API (replaces the old JMeter plan): `npm run load [-- flags]`
 * (node -r ts-node/register/transpile-only bench/load.ts).
 *
 * With no `--url` it starts, all on loopback: a real memcached (test/support/memcached), a local
 * upstream answering fast JSON (test/support/upstream), and the container server — by default
 * `app/main.ts` as a child process, exactly as `npm start` runs it (`--in-process` runs
 * `startContainerServer` in this process instead, sharing the CPU with the load generator). It then
 * drives the server with autocannon (programmatic API) over a mix of routes and prints a table.
 *
 * Flags:
 *   --url <base>         load an already running server (nothing is started)
 *   --duration <s>       seconds of load (default 10)
 *   --connections <n>    concurrent keep-alive connections (default 50)
 *   --keys <n>           item ids in the bounded key set (default 200; × 4 languages)
 *   --in-process         start the container server in this process instead of as a child
 *   --out <file>         JSON results file (default bench/results/load.json)
 *
 * Route mix (per request, seeded PRNG): 90 % `/items/{id}?lang=` over the bounded key set, 8 %
 * `/health`, 2 % `/slow?ms=50`. Before the run every key is requested once (warm-up: the misses go
 * to the upstream then), so the measured run is the steady state of a warm cache.
 *
 * Everything it started is stopped on exit, on errors and on Ctrl-C/SIGTERM.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { ChildProcess, spawn } from "node:child_process";
import type autocannon from "autocannon";
import { numberFlag, parseFlags, UsageError, usageMessage } from "../scripts/cli";
import { mulberry32 } from "../test/support/prng";

export const REPO = path.resolve(__dirname, "..");

// ---------------------------------------------------------------------------------------------
// autocannon: its types are @types/autocannon (written for v7; the API used here is the same in v8).

/** What v8 reports beyond the v7 typings: the latency histogram's sample count. */
export type AutocannonResult = autocannon.Result & { latency: { totalCount?: number } };
export type AutocannonOptions = autocannon.Options;
export type AutocannonRequest = autocannon.Request;
/** `autocannon(opts)` without a callback: the instance (stop, events) that is also a promise of the result. */
export type AutocannonRun = autocannon.Instance & PromiseLike<AutocannonResult>;

/** autocannon, loaded on first use: processes that only import the helpers (the bare server of bench/api.ts) stay small. */
export function startAutocannon(opts: AutocannonOptions): AutocannonRun {
  const start = require("autocannon") as (opts: AutocannonOptions) => AutocannonRun;
  return start(opts);
}

/** The autocannon instance currently running (stopped by the cleanup on Ctrl-C). */
let runningInstance: AutocannonRun | undefined;

/** Run autocannon to completion; `stop()` on Ctrl-C goes through the cleanup registry. */
export async function runAutocannon(opts: AutocannonOptions): Promise<AutocannonResult> {
  const instance = startAutocannon({ timeout: 10, pipelining: 1, ...opts });
  runningInstance = instance;
  try {
    return await instance;
  } finally {
    runningInstance = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started registers how to stop it; runs once, on success, error or signal.

type Stopper = { name: string; stop: () => Promise<void> | void; kill?: () => void };
const stoppers: Stopper[] = [];
let cleaning: Promise<void> | undefined;

export function onCleanup(s: Stopper): void {
  stoppers.push(s);
}

/** Stop everything registered, newest first (server before memcached). Idempotent. */
export function cleanup(): Promise<void> {
  if (!cleaning) {
    cleaning = (async () => {
      runningInstance?.stop();
      while (stoppers.length > 0) {
        const s = stoppers.pop() as Stopper;
        try {
          await s.stop();
        } catch (e) {
          process.stderr.write(`cleanup: stopping ${s.name} failed: ${e instanceof Error ? e.message : String(e)}\n`);
        }
      }
    })();
  }
  return cleaning;
}

let signalsInstalled = false;
/** Ctrl-C / SIGTERM: stop what was started, exit 130 / 143. A last-resort SIGKILL of children on exit. */
export function installSignalHandlers(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping what was started...\n`);
      const hard = setTimeout(() => process.exit(code), 15000);
      hard.unref();
      void cleanup().finally(() => process.exit(code));
    });
  }
  process.on("exit", () => {
    for (const s of stoppers) {
      try {
        s.kill?.();
      } catch {
        // best effort
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The stack under test.

export const prng = mulberry32;

/** A realistic small item for `/items/{id}?lang=` (about 300 bytes of JSON). */
export function itemBody(url: string): string {
  const u = new URL(url, "http://upstream.local");
  const id = u.pathname.split("/").pop() ?? "";
  const lang = u.searchParams.get("lang") ?? "en";
  return JSON.stringify({
    id,
    lang,
    title: `Item ${id} (${lang})`,
    description: "A cached item served by the serverless-cache API; the body is the upstream's JSON, byte for byte.",
    price: { amount: 1999, currency: "EUR" },
    tags: ["bench", "cache", "json"],
    updatedAt: "2026-11-01T00:00:00.000Z",
  });
}

export interface ChildServer {
  readonly url: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Output so far (stdout + stderr). */
  output(): string;
  /** SIGTERM (graceful drain in main.ts), SIGKILL after `graceMs`. Resolves on exit. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawn a node process running `script` (relative to the repo, or absolute) and wait for its
 * `{"message":"listening",...,"url":...}` line.
 */
export async function spawnServer(script: string, env: Record<string, string>, options: { nodeArgs?: string[]; args?: string[]; name?: string } = {}): Promise<ChildServer> {
  // TypeScript sources run under ts-node (as `npm start` does); built .js files run on plain node.
  const loader = script.endsWith(".ts") ? ["-r", "ts-node/register/transpile-only"] : [];
  const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, script, ...(options.args ?? [])], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on("data", (d: Buffer) => { out += d.toString(); });
  const exited = (): boolean => proc.exitCode !== null || proc.signalCode !== null;
  const stop = async (graceMs = 12000): Promise<void> => {
    if (exited()) return;
    const done = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    const t = setTimeout(() => { if (!exited()) proc.kill("SIGKILL"); }, graceMs);
    await done;
    clearTimeout(t);
  };
  onCleanup({ name: options.name ?? script, stop: () => stop(), kill: () => { if (!exited()) proc.kill("SIGKILL"); } });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /"message":"listening".*?"url":"([^"]+)"/.exec(out);
      if (m) { clearInterval(timer); clearTimeout(giveUp); proc.off("exit", onExit); resolve(m[1]); }
    }, 20);
    const giveUp = setTimeout(() => { clearInterval(timer); reject(new Error(`${script} did not report listening within 30 s:\n${out}`)); }, 30000);
    const onExit = (c: number | null): void => { clearInterval(timer); clearTimeout(giveUp); reject(new Error(`${script} exited (${c}) before listening:\n${out}`)); };
    proc.once("exit", onExit);
  });
  return { url, proc, pid: proc.pid as number, output: () => out, stop };
}

/**
 * The container image's content, generated as the component generates it for `pulumi up`
 * (components/lambdaPackaging.ts `writeContainerContext`: `hybridEntry(demoApp)` serialized into
 * `__index.js`, the Lambda's package set in node_modules, the generic Dockerfile), in a temp dir.
 * Run it as the image does: `node __index.js` with SERVERLESS_CACHE_RUNTIME=container. Removed by the cleanup.
 */
export async function buildContainerContext(): Promise<{ dir: string; main: string }> {
  const { writeContainerContext, lambdaCodePathOptions } = require("../components/lambdaPackaging") as typeof import("../components/lambdaPackaging");
  const { GENERIC_DOCKERFILE, PLATFORM_PACKAGES } = require("../components/HybridLambdaFargateService") as typeof import("../components/HybridLambdaFargateService");
  const { hybridEntry } = require("../functions/platform/entry") as typeof import("../functions/platform/entry");
  const { DEMO_APP_PACKAGES, demoApp } = require("../app") as typeof import("../app");
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "api-context-"));
  onCleanup({ name: "container context", stop: () => fs.rmSync(root, { recursive: true, force: true }) });
  const context = await writeContainerContext({
    factory: hybridEntry(demoApp),
    codePathOptions: lambdaCodePathOptions({ uses: [...new Set([...PLATFORM_PACKAGES, ...DEMO_APP_PACKAGES])] }),
    dir: path.join(root, "context"),
    dockerfile: GENERIC_DOCKERFILE,
  });
  return { dir: context.dir, main: path.join(context.dir, "__index.js") };
}

export interface LocalStack {
  /** Base URL of the container server. */
  url: string;
  memcachedAddress: string;
  upstreamUrl: string;
  /** How the server runs. */
  mode: "child-process" | "in-process";
  /** The server's pid (this process when in-process). */
  serverPid: number;
  upstreamRequests(): number;
}

/** memcached + upstream + the container server, all on loopback, registered for cleanup. */
export async function startLocalStack(opts: { inProcess?: boolean; env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<LocalStack> {
  // Imported lazily so `--url` mode does not need memcached or the app at all.
  const { startMemcached } = require("../test/support/memcached") as typeof import("../test/support/memcached");
  const { startUpstream } = require("../test/support/upstream") as typeof import("../test/support/upstream");
  const mc = await startMemcached();
  onCleanup({ name: "memcached", stop: () => mc.stop() });
  const up = await startUpstream();
  up.handler = (req) => ({ body: itemBody(req.url ?? "/") });
  // Do not keep every request in memory during a long run.
  const requests = up.requests;
  let upstreamCount = 0;
  requests.push = (...items) => { upstreamCount += items.length; return 0; };
  onCleanup({ name: "upstream", stop: () => up.close() });

  const env: Record<string, string> = {
    UPSTREAM_URL: up.url,
    MEMCACHED_SERVERS: mc.address,
    LOG_LEVEL: "error",
    CACHE_NAMESPACE: `load-${process.pid}`,
    ...opts.env,
  };
  if (opts.inProcess) {
    const { createTwoTierCache } = require("../functions/cache") as typeof import("../functions/cache");
    const { cacheOptionsFromSettings } = require("../functions/platform/env") as typeof import("../functions/platform/env");
    const { apiSettingsFromEnv } = require("../app/settings") as typeof import("../app/settings");
    const { startDemoContainerServer } = require("../app/server") as typeof import("../app/server");
    const s = apiSettingsFromEnv({ ...env, PORT: "0" });
    const cache = createTwoTierCache(cacheOptionsFromSettings(s));
    onCleanup({ name: "cache", stop: () => cache.close() });
    const server = await startDemoContainerServer(
      {
        cache,
        upstreamUrl: s.upstreamUrl,
        namespace: s.namespace,
        upstreamTimeoutMs: s.upstreamTimeoutMs,
        ttlSeconds: s.ttlSeconds,
        staleTtlSeconds: s.staleTtlSeconds,
        routeOptions: { slowMaxMs: s.slowMaxMs },
        requestTimeoutMs: s.requestTimeoutMs,
        log: () => undefined,
      },
      0,
      { hostname: "127.0.0.1", overrideGlobalObjects: false },
    );
    onCleanup({ name: "container server", stop: () => server.close(2000) });
    return { url: server.url, memcachedAddress: mc.address, upstreamUrl: up.url, mode: "in-process", serverPid: process.pid, upstreamRequests: () => upstreamCount };
  }
  const child = await spawnServer("app/main.ts", { ...env, PORT: "0" }, { nodeArgs: opts.nodeArgs, name: "container server (app/main.ts)" });
  return { url: child.url, memcachedAddress: mc.address, upstreamUrl: up.url, mode: "child-process", serverPid: child.pid, upstreamRequests: () => upstreamCount };
}

/** One GET with node:http (keep-alive off), for warm-up and checks. */
export function httpGet(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { connection: "close" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.setTimeout(10000, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the comm field: state is [0], utime [11], stime [12] (fields 14 and 15 of proc(5)).
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting.

export const round = (x: number, d = 1): number => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

/** A plain text table, columns padded; numbers right-aligned. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === "number" ? c.toLocaleString("en-US") : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)));
  const fmt = (r: Array<string | number>, isHeader: boolean): string =>
    "| " +
    r
      .map((c, i) => {
        const s = String(c ?? "");
        const numeric = !isHeader && typeof rows[0]?.[i] === "number";
        return numeric ? s.padStart(widths[i]) : s.padEnd(widths[i]);
      })
      .join(" | ") +
    " |";
  const sep = "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|";
  return [fmt(cells[0], true), sep, ...cells.slice(1).map((r) => fmt(r, false))].join("\n");
}

export function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: cpus.length, cpuModel: cpus[0]?.model ?? "unknown", totalMemMb: Math.round(os.totalmem() / 2 ** 20) };
}

// ---------------------------------------------------------------------------------------------
// The load test.

interface LoadArgs {
  url?: string;
  duration: number;
  connections: number;
  keys: number;
  inProcess: boolean;
  out: string;
}

export const LOAD_USAGE = `usage: npm run load -- [options]

  --url <base>          load an already running server (nothing is started)
  --duration <s>        seconds of load (default 10)
  --connections <n>     concurrent keep-alive connections (default 50)
  --keys <n>            item ids in the bounded key set (default 200; x 4 languages)
  --in-process          start the container server in this process instead of as a child
  --out <file>          JSON results file (default bench/results/load.json)
  -h, --help            this text

exit codes: 0 done, 1 the run failed, 2 bad input`;

/** Parse argv (without node and the script); `--help` prints LOAD_USAGE and exits 0. Throws UsageError. */
function parseArgs(argv: string[]): LoadArgs {
  const flags = parseFlags(argv, {
    url: { type: "string" },
    duration: { type: "string" },
    connections: { type: "string" },
    keys: { type: "string" },
    "in-process": { type: "boolean" },
    out: { type: "string" },
  });
  if (flags.help) {
    process.stdout.write(`${LOAD_USAGE}\n`);
    process.exit(0);
  }
  if (flags.url !== undefined && !/^https?:\/\//.test(flags.url)) throw new UsageError(`--url needs an http(s) base URL (got ${flags.url})`);
  return {
    url: flags.url?.replace(/\/+$/, ""),
    duration: flags.duration === undefined ? 10 : numberFlag("--duration", flags.duration, 1),
    connections: flags.connections === undefined ? 50 : Math.floor(numberFlag("--connections", flags.connections, 1)),
    keys: flags.keys === undefined ? 200 : Math.floor(numberFlag("--keys", flags.keys, 1)),
    inProcess: flags["in-process"] ?? false,
    out: flags.out === undefined ? path.join(REPO, "bench/results/load.json") : path.resolve(flags.out),
  };
}

const LANGS = ["en", "de", "fr", "pt-BR"];

type RouteName = "items" | "health" | "slow";

interface RouteCounters {
  responses: number;
  byStatus: Record<string, number>;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  installSignalHandlers();
  let stack: LocalStack | undefined;
  let base = args.url;
  if (!base) {
    process.stderr.write(`starting memcached, upstream and the container server (${args.inProcess ? "in-process" : "child process: app/main.ts"})...\n`);
    stack = await startLocalStack({ inProcess: args.inProcess });
    base = stack.url;
    process.stderr.write(`started: memcached ${stack.memcachedAddress}, upstream ${stack.upstreamUrl}, server ${stack.url} (pid ${stack.serverPid})\n`);
  }

  const health = await httpGet(`${base}/health`);
  if (health.status !== 200) throw new Error(`${base}/health answered ${health.status}: ${health.body.toString()}`);

  // Warm-up: every key once (misses fill L1 and memcached), so the run measures a warm cache.
  const keys: string[] = [];
  for (let id = 1; id <= args.keys; id++) for (const lang of LANGS) keys.push(`/items/${id}?lang=${lang}`);
  const warm = { misses: 0, hits: 0, other: 0 };
  const t0 = Date.now();
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(keys.slice(i, i + 16).map(async (k) => {
      const r = await httpGet(base + k);
      const xc = String(r.headers["x-cache"] ?? "");
      if (r.status !== 200) warm.other += 1;
      else if (xc === "MISS") warm.misses += 1;
      else warm.hits += 1;
    }));
  }
  process.stderr.write(`warm-up: ${keys.length} keys in ${Date.now() - t0} ms (${warm.misses} MISS, ${warm.hits} hits, ${warm.other} non-200)\n`);

  // The mix: each connection draws its next route from its own seeded PRNG.
  const perRoute: Record<RouteName, RouteCounters> = {
    items: { responses: 0, byStatus: {} },
    health: { responses: 0, byStatus: {} },
    slow: { responses: 0, byStatus: {} },
  };
  const xCache: Record<string, number> = {};
  let clientSeed = 1;
  const request: AutocannonRequest = {
    method: "GET",
    setupRequest: (req, ctx) => {
      const context = ctx as Record<string, unknown>;
      if (typeof context.rand !== "function") context.rand = prng(clientSeed++);
      const u = (context.rand as () => number)();
      let route: RouteName;
      if (u < 0.9) {
        route = "items";
        req.path = keys[Math.floor((context.rand as () => number)() * keys.length)];
      } else if (u < 0.98) {
        route = "health";
        req.path = "/health";
      } else {
        route = "slow";
        req.path = "/slow?ms=50";
      }
      context.route = route;
      return req;
    },
    onResponse: (status, _body, ctx, headers) => {
      const context = ctx as Record<string, unknown>;
      const c = perRoute[context.route as RouteName];
      if (!c) return;
      c.responses += 1;
      c.byStatus[status] = (c.byStatus[status] ?? 0) + 1;
      if (context.route === "items") {
        const xc = String(headers?.["x-cache"] ?? headers?.["X-Cache"] ?? "none");
        xCache[xc] = (xCache[xc] ?? 0) + 1;
      }
    },
  };

  process.stderr.write(`loading ${base} for ${args.duration} s with ${args.connections} connections...\n`);
  const cpuBefore = stack ? processCpuSeconds(stack.serverPid) : undefined;
  const upstreamBefore = stack?.upstreamRequests() ?? 0;
  const started = Date.now();
  const r = await runAutocannon({ url: base, connections: args.connections, duration: args.duration, requests: [request], title: "mix" });
  const wallS = (Date.now() - started) / 1000;
  const cpuAfter = stack ? processCpuSeconds(stack.serverPid) : undefined;
  const serverCores = cpuBefore !== undefined && cpuAfter !== undefined && stack?.mode === "child-process" ? round((cpuAfter - cpuBefore) / wallS, 2) : undefined;

  const totalResponses = r.latency.totalCount ?? r.requests.total ?? 0;
  const itemsTotal = perRoute.items.responses || 1;
  const rows: Array<Array<string | number>> = [
    [
      "mix",
      round(r.requests.average, 0),
      round(r.latency.p50, 1),
      round(r.latency.p90, 1),
      round(r.latency.p99, 1),
      round(r.latency.max, 1),
      totalResponses,
      r.errors,
      r.timeouts,
      r.non2xx,
    ],
  ];
  const out: string[] = [];
  out.push("");
  out.push(`Load test: ${base}  (${stack ? `local stack, server ${stack.mode}` : "external server"}; ${args.duration} s, ${args.connections} connections, ${os.cpus().length} CPUs, node ${process.version})`);
  out.push("Mix: 90% /items/{id}?lang= over " + `${keys.length} keys, 8% /health, 2% /slow?ms=50`);
  out.push("");
  out.push(table(["run", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "responses", "errors", "timeouts", "non-2xx"], rows));
  out.push("");
  out.push(table(
    ["route", "responses", "share", "status codes"],
    (Object.keys(perRoute) as RouteName[]).map((name) => [
      name,
      perRoute[name].responses,
      `${round((100 * perRoute[name].responses) / Math.max(1, totalResponses), 1)}%`,
      Object.entries(perRoute[name].byStatus).map(([s, n]) => `${s}: ${n}`).join(", ") || "-",
    ]),
  ));
  out.push("");
  out.push(
    "x-cache on /items: " +
      (Object.entries(xCache)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${round((100 * n) / itemsTotal, 2)}%`)
        .join(", ") || "-") +
      (stack ? `; upstream requests during the run: ${stack.upstreamRequests() - upstreamBefore}` : "") +
      (serverCores !== undefined ? `; server process used ${serverCores} CPU cores` : ""),
  );
  console.log(out.join("\n"));

  const json = {
    tool: "bench/load.ts",
    date: new Date().toISOString(),
    machine: machineInfo(),
    target: { url: base, started: Boolean(stack), serverMode: stack?.mode ?? "external" },
    settings: { durationS: args.duration, connections: args.connections, keys: keys.length, mix: { items: 0.9, health: 0.08, slow50ms: 0.02 } },
    warmUp: warm,
    result: {
      requestsPerSec: { mean: round(r.requests.average, 1), stddev: round(r.requests.stddev, 1), min: r.requests.min, max: r.requests.max },
      latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, p99_9: r.latency.p99_9, mean: round(r.latency.mean, 2), max: r.latency.max },
      responses: totalResponses,
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count ?? 0])),
      perRoute,
      xCache,
      upstreamRequestsDuringRun: stack ? stack.upstreamRequests() - upstreamBefore : undefined,
      serverCpuCores: serverCores,
    },
  };
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, JSON.stringify(json, null, 2) + "\n");
  console.log(`\nwrote ${path.relative(process.cwd(), args.out) || args.out}`);
}

if (require.main === module) {
  main()
    .then(async () => {
      await cleanup();
      process.exit(0);
    })
    .catch(async (e: unknown) => {
      const usage = e instanceof UsageError;
      process.stderr.write(usage ? `${usageMessage("load", e.message, LOAD_USAGE)}\n` : `load test failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      await cleanup();
      process.exit(usage ? 2 : 1);
    });
}
