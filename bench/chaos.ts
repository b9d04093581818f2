/**
 * Chaos run: `npm run chaos [-- flags]` (node -r ts-node/register/transpile-only bench/chaos.ts).
 *
 * Fault injection against the local container server under a steady load, on loopback: two real
 * memcached nodes (MEMCACHED_SERVERS holds both), a controllable upstream (bench/chaos/upstream.ts) and
 * the container server `app/main.ts` as a child process, as `npm start` runs it. The key
 * set is warmed first; then one autocannon load runs through a scripted timeline of phases
 * (bench/chaos/model.ts PHASES): baseline; upstream failing (500), slow, hanging, back; memcached
 * node A killed, A restarted (empty), node B frozen (SIGSTOP), B resumed (SIGCONT). The upstream
 * faults come first: a restarted memcached node really loses its keys, and a key cached nowhere is
 * a miss, not a "cached key" whose 5xx the upstream phases would have to forbid.
 *
 * The load: `--connections` keep-alive connections; each request is, by a seeded PRNG, a CACHED key
 * (one of the warmed `/items/{id}?lang=`) or, with probability `--miss-ratio`, a MISS: an id never
 * requested before, so it is a miss in every tier and goes to the upstream.
 *
 * One line per second (answers by the second they arrived in): cached and miss answers per second,
 * 4xx/5xx, p99; client errors and timeouts; upstream requests and peak concurrency; server CPU.
 * Then a per-phase table (requests counted by the phase they were SENT in) and the verdicts against
 * issue 12's targets; bench/results/chaos.json (series, phase summaries, verdicts) and
 * bench/results/chaos.svg (the timeline chart) are written. Exit codes: 0 every judged target met,
 * 1 a must-not-fail target violated, 2 the harness itself failed (bad flag, could not start),
 * 130/143 interrupted (everything started is stopped).
 *
 * Flags (docs/chaos.md):
 *   --duration <s>        seconds per phase (default 6; recovery lasts twice as long)
 *   --connections <n>     concurrent keep-alive connections (default 32)
 *   --keys <n>            warmed item ids, × 4 languages (default 5000 = 20,000 keys)
 *   --miss-ratio <r>      share of requests for never-seen ids (default 0.05)
 *   --slow-ms <ms>        delay of the slow upstream (default 2000)
 *   --client-timeout <s>  the load generator gives up on a request after this (default 5, at least 1)
 *   --rate <n>            cap the total request rate (default: none, closed loop as fast as it goes)
 *   --phases <a,b,...>    run only these phases (catalogue order kept)
 *   --upstream-limit <n>  judge the bulkhead: the upstream must never see more concurrent requests
 *   --server <script>     server to start instead of app/main.ts (the tests' broken server)
 *   --server-env K=V      extra environment for the server (repeatable), e.g. breaker settings
 *   --out <file>          JSON results (default bench/results/chaos.json); the SVG is written next to it
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import {
  type AutocannonRequest,
  ChildServer,
  REPO,
  cleanup,
  installSignalHandlers,
  itemBody,
  machineInfo,
  onCleanup,
  processCpuSeconds,
  prng,
  round,
  spawnServer,
  startAutocannon,
  table,
} from "./load";
import { numberFlag, parseFlags, UsageError, usageMessage } from "../scripts/cli";
import { startChaosMemcached } from "./chaos/memcached";
import { startChaosUpstream } from "./chaos/upstream";
import {
  Answer,
  DEFAULT_TARGETS,
  Kind,
  LEAD_IN,
  KindCounts,
  PHASES,
  PhaseAccumulator,
  PhaseName,
  PhaseSpec,
  PhaseSummary,
  SecondSample,
  Targets,
  Verdict,
  countAnswer,
  exitCodeFor,
  judge,
  newKindCounts,
  newPhaseAccumulator,
  phaseSpec,
  summarizeKind,
  summarizePhase,
  withRatios,
} from "./chaos/model";
import { renderChart } from "./chaos/svg";

// ---------------------------------------------------------------------------------------------
// Arguments.

export interface ChaosArgs {
  duration: number;
  connections: number;
  keys: number;
  missRatio: number;
  slowMs: number;
  clientTimeoutS: number;
  rate?: number;
  phases: PhaseName[];
  upstreamLimit?: number;
  server: string;
  serverEnv: Record<string, string>;
  out: string;
}

export const CHAOS_USAGE = `usage: npm run chaos -- [options]

  --duration <s>         seconds per phase (default 6; recovery lasts twice as long)
  --connections <n>      concurrent keep-alive connections (default 32)
  --keys <n>             warmed item ids, x 4 languages (default 5000)
  --miss-ratio <r>       share of requests for never-seen ids (default 0.05)
  --slow-ms <ms>         delay of the slow upstream (default 2000)
  --client-timeout <s>   the load generator gives up on a request after this (default 5)
  --rate <n>             cap the total request rate (default: none)
  --phases <a,b,...>     run only these phases: ${PHASES.map((p) => p.name).join(", ")}
  --upstream-limit <n>   judge the bulkhead against this many concurrent upstream requests
  --server <script>      server to start instead of app/main.ts
  --server-env KEY=VALUE extra environment for the server (repeatable)
  --out <file.json>      JSON results (default bench/results/chaos.json); the SVG is written next to it
  -h, --help             this text

exit codes: 0 every check passed, 1 a check failed, 2 bad input or the run failed`;

/** Parse argv (without node and the script); `--help` prints CHAOS_USAGE and exits 0. Throws UsageError. */
export function parseChaosArgs(argv: string[]): ChaosArgs {
  const flags = parseFlags(argv, {
    duration: { type: "string" },
    connections: { type: "string" },
    keys: { type: "string" },
    "miss-ratio": { type: "string" },
    "slow-ms": { type: "string" },
    "client-timeout": { type: "string" },
    rate: { type: "string" },
    "upstream-limit": { type: "string" },
    phases: { type: "string" },
    server: { type: "string" },
    "server-env": { type: "string", multiple: true },
    out: { type: "string" },
  });
  if (flags.help) {
    process.stdout.write(`${CHAOS_USAGE}\n`);
    process.exit(0);
  }
  const num = (flag: keyof typeof flags & string, fallback: number, min: number, max = Infinity): number => {
    const raw = flags[flag];
    return typeof raw === "string" ? numberFlag(`--${flag}`, raw, min, max) : fallback;
  };
  const args: ChaosArgs = {
    duration: Math.round(num("duration", 6, 1, 600)),
    connections: Math.floor(num("connections", 32, 1, 10000)),
    keys: Math.floor(num("keys", 5000, 1, 1_000_000)),
    missRatio: num("miss-ratio", 0.05, 0, 1),
    slowMs: Math.floor(num("slow-ms", 2000, 1, 600000)),
    clientTimeoutS: num("client-timeout", 5, 1, 600),
    rate: flags.rate === undefined ? undefined : Math.floor(num("rate", 0, 1)),
    upstreamLimit: flags["upstream-limit"] === undefined ? undefined : Math.floor(num("upstream-limit", 0, 1)),
    phases: PHASES.map((p) => p.name),
    server: flags.server ?? "app/main.ts",
    serverEnv: {},
    out: flags.out === undefined ? path.join(REPO, "bench/results/chaos.json") : path.resolve(flags.out),
  };
  if (flags.phases !== undefined) {
    const wanted = flags.phases.split(",").map((s) => s.trim()).filter(Boolean);
    for (const w of wanted) {
      try {
        phaseSpec(w);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    args.phases = PHASES.map((p) => p.name).filter((n) => wanted.includes(n));
  }
  for (const v of flags["server-env"] ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(v);
    if (!m) throw new UsageError(`--server-env needs KEY=VALUE (got ${v})`);
    args.serverEnv[m[1]] = m[2];
  }
  return args;
}

/** How long a phase lasts (s): recovery twice as long (the breaker has to close in it); lead-in 2 s. */
export function phaseSeconds(spec: PhaseSpec, duration: number): number {
  if (spec.name === "lead-in") return 2;
  return spec.name === "recovery" ? duration * 2 : duration;
}

/**
 * The bulkhead limit to judge: --upstream-limit; else what the server reads from its environment,
 * asked of the cache library next to the server script (<functions>/cache/envOptions.ts
 * `resilienceFromEnv(env).maxConcurrency`, or bulkhead.ts BULKHEAD_DEFAULTS; read, never changed
 * here); else none (not judged).
 */
export function bulkheadLimit(flag: number | undefined, serverEnv: Record<string, string>, serverScript: string): { limit?: number; source: string } {
  if (flag !== undefined) return { limit: flag, source: "--upstream-limit" };
  const cacheDir = path.join(path.dirname(path.resolve(REPO, serverScript)), "..", "cache");
  const load = (name: string): Record<string, unknown> | undefined => {
    const file = path.join(cacheDir, `${name}.ts`);
    if (!fs.existsSync(file)) return undefined;
    try {
      return require(file) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const envOptions = load("envOptions");
  if (typeof envOptions?.resilienceFromEnv === "function") {
    try {
      const n = (envOptions.resilienceFromEnv as (env: Record<string, string>) => { maxConcurrency?: unknown })(serverEnv).maxConcurrency;
      if (n === 0) return { source: "not judged: UPSTREAM_MAX_CONCURRENCY=0 turns the bulkhead off" };
      if (typeof n === "number" && n > 0) return { limit: n, source: `UPSTREAM_MAX_CONCURRENCY as the server reads it (${path.relative(REPO, cacheDir)}/envOptions.ts)` };
    } catch (e) {
      return { source: `not judged: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  const bulkhead = load("bulkhead") as { BULKHEAD_DEFAULTS?: { maxConcurrent?: unknown } } | undefined;
  const n = bulkhead?.BULKHEAD_DEFAULTS?.maxConcurrent;
  if (typeof n === "number" && n > 0) return { limit: n, source: `${path.relative(REPO, cacheDir)}/bulkhead.ts BULKHEAD_DEFAULTS.maxConcurrent` };
  return { source: "not judged: no bulkhead next to the server and no --upstream-limit" };
}

// ---------------------------------------------------------------------------------------------
const LANGS = ["en", "de", "fr", "pt-BR"];

/** Request each path once (autocannon `amount`), `connections` at a time; report the paths not answered 2xx. */
async function requestEach(base: string, paths: string[], connections: number, timeoutS: number): Promise<{ ms: number; statuses: Record<string, number>; errors: number; notOk: string[] }> {
  const t0 = Date.now();
  let next = 0;
  const ok = new Set<string>();
  const instance = startAutocannon({
    url: base,
    connections: Math.max(1, Math.min(connections, paths.length)),
    amount: paths.length,
    timeout: timeoutS,
    pipelining: 1,
    requests: [{
      method: "GET",
      setupRequest: (req, context) => { req.path = paths[next++ % paths.length]; (context as Record<string, unknown>).path = req.path; return req; },
      onResponse: (status, _body, context) => { if (status >= 200 && status < 300) ok.add((context as Record<string, unknown>).path as string); },
    }],
  });
  onCleanup({ name: "warm-up load", stop: () => instance.stop?.() });
  const r = await instance;
  return { ms: Date.now() - t0, statuses: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count ?? 0])), errors: r.errors, notOk: paths.filter((p) => !ok.has(p)) };
}

/**
 * Warm every key: each once, 32 at a time (the bulkhead's default: more would be shed, not
 * faster); keys not answered 2xx (shed, a timeout) are asked again, up to three rounds.
 */
async function warmUp(base: string, paths: string[], timeoutS: number): Promise<{ ms: number; rounds: Array<{ keys: number; statuses: Record<string, number>; errors: number }>; notOk: string[] }> {
  const t0 = Date.now();
  const rounds: Array<{ keys: number; statuses: Record<string, number>; errors: number }> = [];
  let todo = paths;
  for (let round = 0; round < 3 && todo.length > 0; round++) {
    if (round > 0) await new Promise((r) => setTimeout(r, 1000));
    const r = await requestEach(base, todo, 32, timeoutS);
    rounds.push({ keys: todo.length, statuses: r.statuses, errors: r.errors });
    todo = r.notOk;
  }
  return { ms: Date.now() - t0, rounds, notOk: todo };
}

// ---------------------------------------------------------------------------------------------
// Formatting.

const n0 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? "-" : Math.round(x).toLocaleString("en-US"));
const ms1 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? "-" : x >= 100 ? String(Math.round(x)) : x.toFixed(1));

export const LINE_HEADER =
  "    t phase          |  cached/s    2xx  4xx  5xx  p99 ms |  miss/s   2xx  4xx  5xx  503  p99 ms | err  tmo | up req conc | cpu srv load";

export function formatLine(s: SecondSample): string {
  const c = s.cached;
  const m = s.miss;
  return [
    `${String(s.t).padStart(5)} ${s.phase.padEnd(14)} |`,
    `${n0(c.perSec).padStart(9)} ${n0(c["2xx"]).padStart(6)} ${n0(c["4xx"]).padStart(4)} ${n0(c["5xx"]).padStart(4)} ${ms1(c.p99Ms).padStart(7)} |`,
    `${n0(m.perSec).padStart(7)} ${n0(m["2xx"]).padStart(5)} ${n0(m["4xx"]).padStart(4)} ${n0(m["5xx"]).padStart(4)} ${n0(m.byStatus["503"] ?? 0).padStart(4)} ${ms1(m.p99Ms).padStart(7)} |`,
    `${n0(s.clientErrors).padStart(4)} ${n0(s.clientTimeouts).padStart(4)} |`,
    `${n0(s.upstream.requests).padStart(6)} ${n0(s.upstream.peakConcurrent).padStart(4)} |`,
    `${s.serverCpuCores === null ? "  -" : s.serverCpuCores.toFixed(2)} ${s.loaderCpuCores === null ? "  -" : s.loaderCpuCores.toFixed(2)}`,
  ].join(" ");
}

function verdictMark(v: Verdict): string {
  return v.pass === true ? "PASS" : v.pass === false ? "FAIL" : "  - ";
}

// ---------------------------------------------------------------------------------------------
// The run.

interface Rec {
  kind: Kind;
  t0: number;
  phase: number;
  done: boolean;
}

interface SecondBucket {
  cached: KindCounts;
  miss: KindCounts;
  clientErrors: number;
  clientTimeouts: number;
}

function newBucket(): SecondBucket {
  return { cached: newKindCounts(), miss: newKindCounts(), clientErrors: 0, clientTimeouts: 0 };
}

function headerValue(headers: NodeJS.Dict<string | string[]> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const v = headers[name] ?? headers[name.toLowerCase()] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function isJsonError(body: string): boolean {
  if (!body.startsWith("{")) return false;
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === "object" && parsed.error !== null;
  } catch {
    return false;
  }
}

/** Set on Ctrl-C / SIGTERM: the run stops where it is (load.ts's handler cleans up and exits). */
const state = { interrupted: false };
const parked = (): Promise<never> => new Promise<never>(() => undefined);

async function main(): Promise<number> {
  const args = parseChaosArgs(process.argv.slice(2));
  installSignalHandlers();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => { state.interrupted = true; });
  const started = Date.now();
  const loadAvgStart = os.loadavg()[0];
  const specs = [LEAD_IN, ...args.phases.map(phaseSpec)];
  const plannedS = specs.reduce((s, p) => s + phaseSeconds(p, args.duration), 0);

  // --- the stack -------------------------------------------------------------------------------
  process.stderr.write("starting two memcached nodes, the upstream and the container server...\n");
  const nodeA = await startChaosMemcached("A");
  onCleanup({ name: "memcached A", stop: () => nodeA.kill(), kill: () => { const p = nodeA.pid(); if (p) { try { process.kill(p, "SIGCONT"); process.kill(p, "SIGKILL"); } catch { /* gone */ } } } });
  const nodeB = await startChaosMemcached("B");
  onCleanup({ name: "memcached B", stop: () => nodeB.kill(), kill: () => { const p = nodeB.pid(); if (p) { try { process.kill(p, "SIGCONT"); process.kill(p, "SIGKILL"); } catch { /* gone */ } } } });
  const upstream = await startChaosUpstream(itemBody, args.slowMs);
  onCleanup({ name: "upstream", stop: () => upstream.close() });
  // Fresh for the whole run: a cached key must not expire into a refresh in the middle of a phase.
  const ttl = Math.max(300, Math.ceil(2 * (plannedS + 120)));
  const env: Record<string, string> = {
    UPSTREAM_URL: upstream.url,
    MEMCACHED_SERVERS: `${nodeA.address},${nodeB.address}`,
    LOG_LEVEL: "warn",
    CACHE_NAMESPACE: `chaos-${process.pid}`,
    ...(ttl > 300 ? { CACHE_TTL_SECONDS: String(ttl) } : {}),
    ...args.serverEnv,
    PORT: "0",
  };
  const server: ChildServer = await spawnServer(args.server, env, { name: `container server (${args.server})` });
  const base = server.url;
  process.stderr.write(`started: memcached A ${nodeA.address} (pid ${nodeA.pid()}), memcached B ${nodeB.address} (pid ${nodeB.pid()}), upstream ${upstream.url}, server ${base} (pid ${server.pid})\n`);
  let serverExit: string | undefined;
  server.proc.once("exit", (code, signal) => { serverExit = `code ${code}, signal ${signal}`; });

  // --- warm-up ---------------------------------------------------------------------------------
  const warmPaths: string[] = [];
  for (let id = 1; id <= args.keys; id++) for (const lang of LANGS) warmPaths.push(`/items/${id}?lang=${lang}`);
  const warmCpu0 = processCpuSeconds(server.pid);
  const warm = await warmUp(base, warmPaths, args.clientTimeoutS);
  const warmCpu1 = processCpuSeconds(server.pid);
  const warmCores = warmCpu0 !== undefined && warmCpu1 !== undefined ? ` server used ${round((warmCpu1 - warmCpu0) / (warm.ms / 1000), 2)} cores;` : "";
  process.stderr.write(`warm-up: ${warmPaths.length} keys in ${warm.ms} ms (${warm.rounds.length} round(s);${warmCores} ${warm.rounds.map((r) => `${r.keys} keys: ${JSON.stringify(r.statuses)}, ${r.errors} errors`).join("; ")})\n`);
  if (warm.notOk.length > 0) throw new Error(`warm-up failed: ${warm.notOk.length} of ${warmPaths.length} keys not answered 2xx after ${warm.rounds.length} rounds (e.g. ${warm.notOk.slice(0, 3).join(", ")})`);
  const upstreamAfterWarm = upstream.requests();

  // --- the load --------------------------------------------------------------------------------
  const rand = prng(12);
  let missCounter = 0;
  const missTag = (Date.now() % 1e6).toString(36);
  const inflight = new Set<Rec>();
  const accs: PhaseAccumulator[] = [];
  const missUnanswered: number[][] = [];
  let phaseIdx = 0;
  let bucket = newBucket();
  const timeoutMs = args.clientTimeoutS * 1000;
  const loadStart = performance.now();
  const now = (): number => performance.now() - loadStart;

  const enterAccumulator = (name: PhaseName): void => {
    accs.push(newPhaseAccumulator(name, now()));
    missUnanswered.push([]);
    phaseIdx = accs.length - 1;
  };
  enterAccumulator(specs[0].name);

  const record = (rec: Rec, a: Answer): void => {
    countAnswer(bucket[a.kind], a);
    const acc = accs[rec.phase];
    countAnswer(acc[a.kind], a);
    // Sent before an upstream fault began, answered during it: the fault's doing, not this phase's.
    if (!(a.status >= 200 && a.status < 300) && rec.phase !== phaseIdx && specs[phaseIdx].upstream !== "ok") acc.failuresInLaterFault += 1;
    if (a.kind === "miss") {
      const ok = a.status >= 200 && a.status < 300;
      acc.misses.push({ sentMs: rec.t0 - acc.startMs, latencyMs: a.latencyMs, status: a.status, breaker: (a.status === 503 && a.retryAfter) || (ok && a.xCache === "STALE"), ok });
    }
  };

  const request: AutocannonRequest = {
    method: "GET",
    setupRequest: (req, context) => {
      const kind: Kind = rand() < args.missRatio ? "miss" : "cached";
      req.path = kind === "miss" ? `/items/c${missTag}x${missCounter++}?lang=en` : warmPaths[Math.floor(rand() * warmPaths.length)];
      const rec: Rec = { kind, t0: now(), phase: phaseIdx, done: false };
      inflight.add(rec);
      (context as Record<string, unknown>).rec = rec;
      return req;
    },
    onResponse: (status, body, context, headers) => {
      const rec = (context as Record<string, unknown>).rec as Rec | undefined;
      if (!rec || rec.done) return;
      rec.done = true;
      inflight.delete(rec);
      const ok = status >= 200 && status < 300;
      record(rec, {
        kind: rec.kind,
        status,
        latencyMs: now() - rec.t0,
        xCache: headerValue(headers, "x-cache"),
        retryAfter: headerValue(headers, "retry-after") !== undefined,
        jsonError: ok ? false : isJsonError(body),
      });
    },
  };

  /** Requests older than the client timeout can no longer be answered: count them as unanswered. */
  const sweep = (all: boolean): number => {
    const t = now();
    let young = 0;
    for (const rec of inflight) {
      if (t - rec.t0 > timeoutMs + 500 || (all && t - rec.t0 > timeoutMs)) {
        rec.done = true;
        inflight.delete(rec);
        bucket[rec.kind].unanswered += 1;
        accs[rec.phase][rec.kind].unanswered += 1;
        if (rec.kind === "miss") missUnanswered[rec.phase].push(rec.t0 - accs[rec.phase].startMs);
      } else if (all) {
        young += 1;
      }
    }
    return young;
  };

  // Reconcile the stack to a phase's desired state.
  let nodeAUp = true;
  const events: Array<{ t: number; phase: PhaseName; what: string }> = [];
  const act = (what: string): void => {
    const t = Math.round(now()) / 1000;
    accs[phaseIdx].actions.push(what);
    events.push({ t, phase: accs[phaseIdx].name, what });
    process.stdout.write(`      ── ${what}\n`);
  };
  const enter = async (spec: PhaseSpec): Promise<void> => {
    process.stdout.write(`      ── phase ${spec.name}: ${spec.what}\n`);
    if (spec.nodeAUp && !nodeAUp) {
      await nodeA.restart();
      nodeAUp = true;
      act(`memcached A restarted, empty (pid ${nodeA.pid()})`);
    } else if (!spec.nodeAUp && nodeAUp) {
      const pid = nodeA.pid();
      await nodeA.kill();
      nodeAUp = false;
      act(`memcached A killed (SIGKILL pid ${pid})`);
    }
    if (spec.nodeBFrozen && !nodeB.frozen) {
      nodeB.freeze();
      act(`memcached B frozen (SIGSTOP pid ${nodeB.pid()})`);
    } else if (!spec.nodeBFrozen && nodeB.frozen) {
      nodeB.resume();
      act(`memcached B resumed (SIGCONT pid ${nodeB.pid()})`);
    }
    if (upstream.mode !== spec.upstream) {
      upstream.mode = spec.upstream;
      act(`upstream ${spec.upstream === "ok" ? "healthy" : spec.upstream === "fail" ? "failing (500)" : spec.upstream === "slow" ? `slow (${args.slowMs} ms)` : "hanging (never answers)"}`);
    }
  };

  process.stderr.write(`loading ${base}: ${args.connections} connections, ${round(args.missRatio * 100, 1)} % misses, phases ${args.phases.join(" → ")} (${args.duration} s each; about ${plannedS} s)\n`);
  const instance = startAutocannon({
    url: base,
    connections: args.connections,
    duration: plannedS + 600,
    timeout: args.clientTimeoutS,
    pipelining: 1,
    ...(args.rate ? { overallRate: args.rate } : {}),
    requests: [request],
  });
  onCleanup({ name: "load", stop: () => instance.stop?.() });
  instance.on("reqError", (err) => {
    const timeout = err.message === "request timed out";
    if (timeout) bucket.clientTimeouts += 1; else bucket.clientErrors += 1;
    if (timeout) accs[phaseIdx].clientTimeouts += 1; else accs[phaseIdx].clientErrors += 1;
  });
  const finished = instance.then(() => undefined, () => undefined);

  console.log(LINE_HEADER);
  await enter(specs[0]);
  const series: SecondSample[] = [];
  let specIdx = 0;
  let secondsInPhase = 0;
  let t = 0;
  let lastCpu = processCpuSeconds(server.pid);
  let phaseCpuStart = lastCpu;
  const loaderCpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  let lastLoaderCpu = loaderCpu();
  let phaseLoaderCpuStart = lastLoaderCpu;
  let lastUp = upstream.requests();
  let phaseUpStart = lastUp;
  let logOffset = 0;
  upstream.takePeak();
  for (;;) {
    const wait = (t + 1) * 1000 - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (state.interrupted) return parked();
    sweep(false);
    const cpu = processCpuSeconds(server.pid);
    const lcpu = loaderCpu();
    const up = upstream.requests();
    const peak = upstream.takePeak();
    const acc = accs[phaseIdx];
    acc.upstreamPeakConcurrent = Math.max(acc.upstreamPeakConcurrent, peak);
    const sample: SecondSample = {
      t,
      phase: acc.name,
      cached: summarizeKind(bucket.cached, 1),
      miss: summarizeKind(bucket.miss, 1),
      clientErrors: bucket.clientErrors,
      clientTimeouts: bucket.clientTimeouts,
      upstream: { requests: up - lastUp, peakConcurrent: peak },
      serverCpuCores: cpu !== undefined && lastCpu !== undefined ? round(cpu - lastCpu, 2) : null,
      loaderCpuCores: round(lcpu - lastLoaderCpu, 2),
    };
    series.push(sample);
    console.log(formatLine(sample));
    bucket = newBucket();
    lastCpu = cpu;
    lastLoaderCpu = lcpu;
    lastUp = up;
    // Log lines of the server about the breaker, the bulkhead, memcached ejections and flushes become events on the timeline.
    const out = server.output();
    if (out.length > logOffset) {
      for (const line of out.slice(logOffset).split("\n")) {
        if (/breaker|circuit|bulkhead|shed|generation|flush|invalidat|ejected|node back/i.test(line) && events.length < 500) {
          let what = line.trim();
          try { what = `server: ${String((JSON.parse(line) as { message?: unknown }).message ?? line)}`; } catch { /* not JSON */ }
          events.push({ t: t + 1, phase: acc.name, what });
        }
      }
      logOffset = out.lastIndexOf("\n") + 1;
    }
    t += 1;
    secondsInPhase += 1;
    if (serverExit !== undefined) {
      process.stdout.write(`      ── the server exited (${serverExit}): stopping the run\n`);
      break;
    }
    const spec = specs[specIdx];
    if (secondsInPhase < phaseSeconds(spec, args.duration)) continue;
    acc.endMs = now();
    acc.serverCpuSeconds = cpu !== undefined && phaseCpuStart !== undefined ? cpu - phaseCpuStart : null;
    acc.loaderCpuSeconds = lcpu - phaseLoaderCpuStart;
    phaseLoaderCpuStart = lcpu;
    acc.upstreamRequests = up - phaseUpStart;
    phaseCpuStart = cpu;
    phaseUpStart = up;
    specIdx += 1;
    if (specIdx >= specs.length) break;
    secondsInPhase = 0;
    enterAccumulator(specs[specIdx].name);
    await enter(specs[specIdx]);
  }
  const last = accs[accs.length - 1];
  if (last.endMs === last.startMs) last.endMs = now();
  instance.stop();
  const inFlightAtEnd = sweep(true);
  await Promise.race([finished, new Promise((r) => setTimeout(r, 3000))]);

  if (state.interrupted) return parked();

  // --- results ---------------------------------------------------------------------------------
  const bulkhead = bulkheadLimit(args.upstreamLimit, env, args.server);
  const targets: Targets = { ...DEFAULT_TARGETS, upstreamConcurrencyLimit: bulkhead.limit };
  const phases: PhaseSummary[] = withRatios(accs.map((a, i) => summarizePhase(a, missUnanswered[i])), series);
  const verdicts = judge(phases, targets, serverExit, bulkhead.source);
  const missing = args.phases.filter((p) => !phases.some((x) => x.name === p));
  if (missing.length > 0) verdicts.push({ id: "all-phases-ran", target: "every planned phase ran", pass: false, measured: `not run: ${missing.join(", ")}` });
  const code = exitCodeFor(verdicts);

  console.log("");
  console.log("Per phase (requests counted by the phase they were sent in):");
  console.log(table(
    ["phase", "s", "cached 2xx/s", "median s of baseline", "cached p50", "cached p99", "cached 5xx", "miss/s", "miss answers", "miss p99", "breaker open after", "errors", "upstream peak", "cpu server/load"],
    phases.map((p) => [
      p.name,
      round(p.durationS, 1),
      round(p.cached.okPerSec, 0),
      p.cachedThroughputRatio === null ? "-" : `${round(p.cachedThroughputRatio * 100, 1)} %`,
      `${ms1(p.cached.p50Ms)} ms`,
      `${ms1(p.cached.p99Ms)} ms`,
      p.cached["5xx"],
      round(p.miss.perSec, 0),
      Object.entries(p.miss.byStatus).map(([s, c]) => `${s}×${c}`).join(" ") || "-",
      `${ms1(p.miss.p99Ms)} ms`,
      p.breaker.openedAfterMs === null ? "-" : `${p.breaker.openedAfterMs} ms`,
      p.clientErrors + p.clientTimeouts + p.cached.unanswered + p.miss.unanswered,
      p.upstream.peakConcurrent,
      `${p.serverCpuCores === null ? "-" : p.serverCpuCores.toFixed(2)} / ${p.loaderCpuCores === null ? "-" : p.loaderCpuCores.toFixed(2)}`,
    ]),
  ));
  console.log("");
  console.log("Verdicts (targets of issue 12):");
  for (const v of verdicts) console.log(`  ${verdictMark(v)}  ${v.id.padEnd(34)} ${v.measured}`);
  const failed = verdicts.filter((v) => v.pass === false);
  const loadAvgEnd = os.loadavg()[0];
  const cpus = os.cpus().length;
  const busy = Math.max(loadAvgStart, loadAvgEnd) > cpus;
  if (busy) console.log(`\nnote: the machine was busy (1-min load average ${round(loadAvgStart, 1)} at the start, ${round(loadAvgEnd, 1)} at the end, on ${cpus} CPUs, this run included): throughput ratios and latencies are noisier than usual`);
  console.log("");
  console.log(failed.length === 0 ? "chaos: every judged target met" : `chaos: ${failed.length} target(s) violated: ${failed.map((v) => v.id).join(", ")}`);

  const json = {
    tool: "bench/chaos.ts",
    date: new Date().toISOString(),
    machine: { ...machineInfo(), loadAvg1m: { start: round(loadAvgStart, 2), end: round(loadAvgEnd, 2) }, busy },
    settings: {
      phaseSeconds: args.duration,
      connections: args.connections,
      warmKeys: warmPaths.length,
      missRatio: args.missRatio,
      slowMs: args.slowMs,
      clientTimeoutS: args.clientTimeoutS,
      rate: args.rate ?? null,
      phases: args.phases,
      server: args.server,
      serverEnv: Object.fromEntries(Object.entries(env).filter(([k]) => !["UPSTREAM_URL", "MEMCACHED_SERVERS", "PORT"].includes(k))),
      memcachedNodes: 2,
    },
    targets,
    bulkheadLimitSource: bulkhead.source,
    warmUp: { keys: warmPaths.length, ms: warm.ms, rounds: warm.rounds, upstreamRequests: upstreamAfterWarm },
    phaseCatalogue: specs.map((s) => ({ name: s.name, label: s.label, what: s.what })),
    events,
    series,
    phases,
    verdicts,
    result: code === 0 ? "pass" : "fail",
    exitCode: code,
    inFlightAtEnd,
    runtimeS: round((Date.now() - started) / 1000, 1),
  };
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, JSON.stringify(json, null, 2) + "\n");
  const svgPath = args.out.replace(/\.json$/i, "") + ".svg";
  fs.writeFileSync(svgPath, renderChart(json));
  console.log(`\nwrote ${path.relative(process.cwd(), args.out) || args.out} and ${path.relative(process.cwd(), svgPath) || svgPath} (${round((Date.now() - started) / 1000, 1)} s)`);
  return code;
}

if (require.main === module) {
  main()
    .then(async (code) => {
      await cleanup();
      process.exit(code);
    })
    .catch(async (e: unknown) => {
      process.stderr.write(e instanceof UsageError ? `${usageMessage("chaos", e.message, CHAOS_USAGE)}\n` : `chaos run failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      await cleanup();
      process.exit(2);
    });
}
