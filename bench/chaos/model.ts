/**
 * The chaos run's data model, without I/O: the phase catalogue, what is counted per second and per
 * phase, and the verdicts against the targets of issue 12. bench/chaos.ts feeds it; the tests feed
 * it synthetic numbers to prove each verdict can fail.
 */

// ---------------------------------------------------------------------------------------------
// Phases.

export type PhaseName =
  | "lead-in"
  | "baseline"
  | "mc-kill"
  | "mc-restart"
  | "mc-freeze"
  | "mc-resume"
  | "upstream-fail"
  | "upstream-slow"
  | "upstream-hang"
  | "recovery";

export type UpstreamMode = "ok" | "fail" | "slow" | "hang";

export interface PhaseSpec {
  name: PhaseName;
  /** Short label for the chart. */
  label: string;
  /** What the harness does on entering the phase. */
  what: string;
  /** Desired state while the phase lasts (the harness reconciles to it on entry). */
  nodeAUp: boolean;
  nodeBFrozen: boolean;
  upstream: UpstreamMode;
  /** Which group of targets judges the phase (lead-in: none). */
  group: "lead-in" | "healthy" | "memcached" | "upstream" | "recovery";
}

/**
 * Two seconds of load before the baseline, not judged: the load generator and the server's hot
 * paths settle (the first second after the warm-up runs visibly slower), so the baseline is a fair
 * reference. Always run first; not selectable with --phases.
 */
export const LEAD_IN: PhaseSpec = { name: "lead-in", label: "lead-in", what: "load starts; not judged (JIT and connections settle before the baseline)", nodeAUp: true, nodeBFrozen: false, upstream: "ok", group: "lead-in" };

export const PHASES: readonly PhaseSpec[] = [
  { name: "baseline", label: "baseline", what: "two memcached nodes, healthy upstream: the reference throughput", nodeAUp: true, nodeBFrozen: false, upstream: "ok", group: "healthy" },
  { name: "upstream-fail", label: "upstream 500s", what: "the upstream answers every request 500 at once", nodeAUp: true, nodeBFrozen: false, upstream: "fail", group: "upstream" },
  { name: "upstream-slow", label: "upstream slow", what: "the upstream answers 200, but only after the slow delay (2 s by default; under the server's 3 s upstream timeout)", nodeAUp: true, nodeBFrozen: false, upstream: "slow", group: "upstream" },
  { name: "upstream-hang", label: "upstream hangs", what: "the upstream accepts requests and never answers: only the server's own timeout ends them", nodeAUp: true, nodeBFrozen: false, upstream: "hang", group: "upstream" },
  { name: "recovery", label: "upstream back", what: "the upstream is healthy again (requests it already holds stay hung)", nodeAUp: true, nodeBFrozen: false, upstream: "ok", group: "recovery" },
  { name: "mc-kill", label: "memcached A killed", what: "SIGKILL memcached node A: its connections reset; its keys go to node B (ring neighbour) and load from the upstream", nodeAUp: false, nodeBFrozen: false, upstream: "ok", group: "memcached" },
  { name: "mc-restart", label: "A restarted (empty)", what: "node A starts again on the same port, empty (a replaced node); the server probes it and moves its keys back", nodeAUp: true, nodeBFrozen: false, upstream: "ok", group: "memcached" },
  { name: "mc-freeze", label: "memcached B frozen", what: "SIGSTOP memcached node B: connections stay open, nothing answers; operations time out until B is ejected", nodeAUp: true, nodeBFrozen: true, upstream: "ok", group: "memcached" },
  { name: "mc-resume", label: "B resumed", what: "SIGCONT node B: it answers again (with its data)", nodeAUp: true, nodeBFrozen: false, upstream: "ok", group: "memcached" },
];

export function phaseSpec(name: string): PhaseSpec {
  const p = name === LEAD_IN.name ? LEAD_IN : PHASES.find((x) => x.name === name);
  if (!p) throw new Error(`unknown phase ${name} (phases: ${PHASES.map((x) => x.name).join(", ")})`);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Targets (issue 12). Absolute numbers are judged in the run, never in tests.

export interface Targets {
  /** Cached-key throughput during an upstream fault, as a share of the baseline's. */
  cachedThroughputRatio: number;
  /** Cached-key p99 during an upstream fault, ms. */
  cachedP99Ms: number;
  /** p99 of the misses sent after the breaker opened, ms. */
  openMissP99Ms: number;
  /** Share of the misses sent after the breaker opened that must be answered by it (503 + Retry-After, or STALE). */
  openMissBreakerShare: number;
  /** After the upstream is healthy again, misses must all succeed from at most this long after, ms. */
  breakerCloseWithinMs: number;
  /** The server's bulkhead: the most concurrent upstream requests allowed; undefined = not judged. */
  upstreamConcurrencyLimit?: number;
}

export const DEFAULT_TARGETS: Targets = {
  cachedThroughputRatio: 0.8,
  cachedP99Ms: 50,
  openMissP99Ms: 20,
  openMissBreakerShare: 0.99,
  breakerCloseWithinMs: 5000,
};

// ---------------------------------------------------------------------------------------------
// Counting.

export type Kind = "cached" | "miss";

/** One answered request, as the load generator saw it. */
export interface Answer {
  kind: Kind;
  status: number;
  latencyMs: number;
  xCache?: string;
  retryAfter: boolean;
  /** For a non-2xx: the body is our JSON error ({"error":{...}}). */
  jsonError: boolean;
}

/** 503 with Retry-After, or a STALE value: what an open breaker answers a miss with. */
export function isBreakerAnswer(a: Pick<Answer, "status" | "retryAfter" | "xCache">): boolean {
  return (a.status === 503 && a.retryAfter) || (a.status >= 200 && a.status < 300 && a.xCache === "STALE");
}

/** A clean failure: 502/503/504 with our JSON error body (not a 500 "internal error", not a reset). */
export function isCleanFailure(a: Pick<Answer, "status" | "jsonError">): boolean {
  return (a.status === 502 || a.status === 503 || a.status === 504) && a.jsonError;
}

export interface KindCounts {
  responses: number;
  "2xx": number;
  "4xx": number;
  "5xx": number;
  /** Sent and never answered (client timeout or connection error). */
  unanswered: number;
  byStatus: Record<string, number>;
  xCache: Record<string, number>;
  /** 503 with Retry-After or STALE. */
  breakerAnswers: number;
  /** Non-2xx answers that are not clean failures (500, 4xx, 5xx without our JSON body). */
  unclean: number;
  latencies: number[];
}

export function newKindCounts(): KindCounts {
  return { responses: 0, "2xx": 0, "4xx": 0, "5xx": 0, unanswered: 0, byStatus: {}, xCache: {}, breakerAnswers: 0, unclean: 0, latencies: [] };
}

export function countAnswer(c: KindCounts, a: Answer): void {
  c.responses += 1;
  if (a.status >= 200 && a.status < 300) c["2xx"] += 1;
  else if (a.status >= 400 && a.status < 500) c["4xx"] += 1;
  else if (a.status >= 500) c["5xx"] += 1;
  c.byStatus[a.status] = (c.byStatus[a.status] ?? 0) + 1;
  const xc = a.xCache ?? "none";
  c.xCache[xc] = (c.xCache[xc] ?? 0) + 1;
  if (isBreakerAnswer(a)) c.breakerAnswers += 1;
  if (!(a.status >= 200 && a.status < 300) && !isCleanFailure(a)) c.unclean += 1;
  c.latencies.push(a.latencyMs);
}

/** Nearest-rank percentile of unsorted values (NaN when empty). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

const r1 = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);

export interface KindSummary {
  responses: number;
  "2xx": number;
  "4xx": number;
  "5xx": number;
  unanswered: number;
  /** 2xx answers per second. */
  okPerSec: number;
  /** All answers per second. */
  perSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  byStatus: Record<string, number>;
  xCache: Record<string, number>;
  breakerAnswers: number;
  unclean: number;
}

export function summarizeKind(c: KindCounts, seconds: number): KindSummary {
  const s = Math.max(seconds, 1e-9);
  return {
    responses: c.responses,
    "2xx": c["2xx"],
    "4xx": c["4xx"],
    "5xx": c["5xx"],
    unanswered: c.unanswered,
    okPerSec: Math.round((c["2xx"] / s) * 10) / 10,
    perSec: Math.round((c.responses / s) * 10) / 10,
    p50Ms: r1(percentile(c.latencies, 50)),
    p99Ms: r1(percentile(c.latencies, 99)),
    maxMs: r1(c.latencies.reduce((m, x) => (x > m ? x : m), -Infinity)),
    byStatus: c.byStatus,
    xCache: c.xCache,
    breakerAnswers: c.breakerAnswers,
    unclean: c.unclean,
  };
}

/** One second of the run (answers counted by the second they arrived in). */
export interface SecondSample {
  /** Seconds since the load started (this sample covers [t, t+1)). */
  t: number;
  phase: PhaseName;
  cached: KindSummary;
  miss: KindSummary;
  /** Connection errors and client timeouts reported by the load generator in this second. */
  clientErrors: number;
  clientTimeouts: number;
  upstream: { requests: number; peakConcurrent: number };
  /** CPU cores the server process used in this second (Linux /proc), null elsewhere. */
  serverCpuCores: number | null;
  /** CPU cores the load generator's process (autocannon + upstream) used in this second. */
  loaderCpuCores: number | null;
}

/** A miss as the breaker analysis needs it (misses are a small share of the load: all are kept). */
export interface MissRecord {
  /** ms since the phase started, when it was sent. */
  sentMs: number;
  latencyMs: number;
  status: number;
  breaker: boolean;
  ok: boolean;
}

/** Per phase, everything counted by the phase the request was SENT in. */
export interface PhaseAccumulator {
  name: PhaseName;
  startMs: number;
  endMs: number;
  cached: KindCounts;
  miss: KindCounts;
  misses: MissRecord[];
  clientErrors: number;
  clientTimeouts: number;
  upstreamRequests: number;
  upstreamPeakConcurrent: number;
  serverCpuSeconds: number | null;
  /** CPU seconds the load generator's own process (autocannon + upstream) used in the phase. */
  loaderCpuSeconds: number | null;
  actions: string[];
  /**
   * Failed answers to requests sent in this phase but answered after a later phase had injected an
   * upstream fault (a miss sent just before the upstream starts failing meets the failing upstream).
   */
  failuresInLaterFault: number;
}

export function newPhaseAccumulator(name: PhaseName, startMs: number): PhaseAccumulator {
  return {
    name,
    startMs,
    endMs: startMs,
    cached: newKindCounts(),
    miss: newKindCounts(),
    misses: [],
    clientErrors: 0,
    clientTimeouts: 0,
    upstreamRequests: 0,
    upstreamPeakConcurrent: 0,
    serverCpuSeconds: null,
    loaderCpuSeconds: null,
    actions: [],
    failuresInLaterFault: 0,
  };
}

export interface BreakerView {
  /**
   * ms after the phase start when the breaker was first seen open: the earliest moment a miss came
   * back answered by it (sent + latency). A miss sent before that but answered by the breaker waited
   * for it to open (queued behind the hung calls): it belongs to the time before. null = never.
   */
  openedAfterMs: number | null;
  /**
   * Misses sent from that moment on: how many, the share the breaker answered (503 + Retry-After or
   * STALE), the p99 of those breaker answers, the p99 of all of them (probes that went through to
   * the upstream included), and how many were never answered.
   */
  afterOpen: { misses: number; breakerShare: number | null; breakerP99Ms: number | null; p99Ms: number | null; unanswered: number };
  /** From this many ms after the phase start every miss sent was answered 2xx; null = not by the end. */
  allOkFromMs: number | null;
}

export function breakerView(misses: readonly MissRecord[], unansweredAfter: (fromMs: number) => number): BreakerView {
  const sorted = [...misses].sort((a, b) => a.sentMs - b.sentMs);
  const first = sorted.find((m) => m.breaker);
  let allOkFromMs: number | null = 0;
  for (const m of sorted) if (!m.ok) allOkFromMs = null;
  if (allOkFromMs === null) {
    // The send time of the first miss after the last failed one.
    let lastBad = -1;
    sorted.forEach((m, i) => { if (!m.ok) lastBad = i; });
    allOkFromMs = lastBad + 1 < sorted.length ? Math.round(sorted[lastBad + 1].sentMs) : null;
  }
  if (!first) return { openedAfterMs: null, afterOpen: { misses: 0, breakerShare: null, breakerP99Ms: null, p99Ms: null, unanswered: 0 }, allOkFromMs };
  const openedAt = Math.min(...sorted.filter((m) => m.breaker).map((m) => m.sentMs + m.latencyMs));
  const after = sorted.filter((m) => m.sentMs >= openedAt);
  const answered = after.filter((m) => m.breaker);
  const breakerN = answered.length;
  return {
    openedAfterMs: Math.round(openedAt),
    afterOpen: {
      misses: after.length,
      breakerShare: after.length ? Math.round((breakerN / after.length) * 10000) / 10000 : null,
      breakerP99Ms: r1(percentile(answered.map((m) => m.latencyMs), 99)),
      p99Ms: r1(percentile(after.map((m) => m.latencyMs), 99)),
      unanswered: unansweredAfter(openedAt),
    },
    allOkFromMs,
  };
}

export interface PhaseSummary {
  name: PhaseName;
  label: string;
  group: PhaseSpec["group"];
  /** Seconds since the load started. */
  startS: number;
  endS: number;
  durationS: number;
  actions: string[];
  cached: KindSummary;
  miss: KindSummary;
  clientErrors: number;
  clientTimeouts: number;
  upstream: { requests: number; peakConcurrent: number };
  serverCpuCores: number | null;
  loaderCpuCores: number | null;
  breaker: BreakerView;
  /** See PhaseAccumulator.failuresInLaterFault. */
  failuresInLaterFault: number;
  /**
   * Cached-key 2xx per second, second by second (answers counted in the second they arrived):
   * the median second, the worst, and how many seconds.
   */
  cachedPerSecond: { median: number | null; worst: number | null; seconds: number };
  /**
   * Cached-key throughput / the baseline's: median second against median second (a stall followed
   * by a catch-up burst does not average out to a pass); the phase means when there is no series.
   * null without a baseline.
   */
  cachedThroughputRatio: number | null;
  /** The same with phase means (requests counted by the phase they were sent in), for reference. */
  cachedThroughputRatioMean: number | null;
}

/** A phase summary before the ratios to the baseline are known. */
export type PhaseCore = Omit<PhaseSummary, "cachedPerSecond" | "cachedThroughputRatio" | "cachedThroughputRatioMean">;

export function summarizePhase(acc: PhaseAccumulator, missUnansweredSentMs: readonly number[]): PhaseCore {
  const durationS = Math.max(0.001, (acc.endMs - acc.startMs) / 1000);
  const spec = phaseSpec(acc.name);
  return {
    name: acc.name,
    label: spec.label,
    group: spec.group,
    startS: Math.round(acc.startMs) / 1000,
    endS: Math.round(acc.endMs) / 1000,
    durationS: Math.round(durationS * 1000) / 1000,
    actions: acc.actions,
    cached: summarizeKind(acc.cached, durationS),
    miss: summarizeKind(acc.miss, durationS),
    clientErrors: acc.clientErrors,
    clientTimeouts: acc.clientTimeouts,
    upstream: { requests: acc.upstreamRequests, peakConcurrent: acc.upstreamPeakConcurrent },
    serverCpuCores: acc.serverCpuSeconds === null ? null : Math.round((acc.serverCpuSeconds / durationS) * 100) / 100,
    loaderCpuCores: acc.loaderCpuSeconds === null ? null : Math.round((acc.loaderCpuSeconds / durationS) * 100) / 100,
    breaker: breakerView(acc.misses, (from) => missUnansweredSentMs.filter((t) => t >= from).length),
    failuresInLaterFault: acc.failuresInLaterFault,
  };
}

export function withRatios(phases: readonly PhaseCore[], series: readonly SecondSample[] = []): PhaseSummary[] {
  const perSecond = (name: PhaseName): PhaseSummary["cachedPerSecond"] => {
    const secs = series.filter((s) => s.phase === name).map((s) => s.cached["2xx"]);
    return { median: secs.length ? percentile(secs, 50) : null, worst: secs.length ? Math.min(...secs) : null, seconds: secs.length };
  };
  const ratio = (x: number | null | undefined, ref: number | null | undefined): number | null =>
    x === null || x === undefined || !ref || ref <= 0 ? null : Math.round((x / ref) * 1000) / 1000;
  const base = phases.find((p) => p.name === "baseline");
  const basePs = base ? perSecond(base.name) : undefined;
  return phases.map((p) => {
    const ps = perSecond(p.name);
    const mean = ratio(p.cached.okPerSec, base?.cached.okPerSec);
    const median = ps.median !== null && basePs?.median !== null && basePs?.median !== undefined ? ratio(ps.median, basePs.median) : mean;
    return { ...p, cachedPerSecond: ps, cachedThroughputRatio: base ? median : null, cachedThroughputRatioMean: base ? mean : null };
  });
}

// ---------------------------------------------------------------------------------------------
// Verdicts.

export interface Verdict {
  id: string;
  /** The phase judged; absent for whole-run verdicts. */
  phase?: PhaseName;
  target: string;
  /** true = met, false = violated, null = not judged (reason in `measured`). */
  pass: boolean | null;
  measured: string;
}

const fmt = (x: number | null | undefined, unit = ""): string => (x === null || x === undefined || !Number.isFinite(x) ? "n/a" : `${Math.round(x * 10) / 10}${unit}`);

function failedRequests(p: PhaseSummary): number {
  return p.cached.responses - p.cached["2xx"] + p.miss.responses - p.miss["2xx"] + p.cached.unanswered + p.miss.unanswered + p.clientErrors + p.clientTimeouts;
}

function statusList(byStatus: Record<string, number>): string {
  return Object.entries(byStatus).map(([s, n]) => `${s}×${n}`).join(" ") || "none";
}

/** Judge a run. `serverExit` is set when the server process died during the run. */
export function judge(phases: readonly PhaseSummary[], targets: Targets, serverExit?: string, limitSource = "--upstream-limit"): Verdict[] {
  const v: Verdict[] = [];
  const baseline = phases.find((p) => p.name === "baseline");
  const baseP99 = baseline ? `; baseline ${fmt(baseline.cached.p99Ms, " ms")}` : "";
  v.push({
    id: "server-alive",
    target: "the server process stays up for the whole run",
    pass: serverExit === undefined,
    measured: serverExit === undefined ? "up" : `exited: ${serverExit}`,
  });
  const errors = phases.reduce((n, p) => n + p.clientErrors, 0);
  const timeouts = phases.reduce((n, p) => n + p.clientTimeouts, 0);
  const unanswered = phases.reduce((n, p) => n + p.cached.unanswered + p.miss.unanswered, 0);
  const worst = phases.filter((p) => p.clientErrors + p.clientTimeouts + p.cached.unanswered + p.miss.unanswered > 0).map((p) => p.name);
  v.push({
    id: "no-client-errors",
    target: "no request of the whole run ends in a client error or timeout",
    pass: errors + timeouts + unanswered === 0,
    measured: `${errors} connection errors, ${timeouts} timeouts, ${unanswered} requests never answered${worst.length ? ` (in ${worst.join(", ")})` : ""}`,
  });
  const cached5xx = phases.filter((p) => p.cached["5xx"] > 0);
  v.push({
    id: "no-5xx-cached",
    target: "no 5xx for a cached key, in any phase",
    pass: cached5xx.length === 0,
    measured: cached5xx.length === 0 ? "0" : cached5xx.map((p) => `${p.name}: ${p.cached["5xx"]}`).join(", "),
  });

  for (const p of phases) {
    if (p.group === "memcached") {
      v.push({
        id: `cached-throughput:${p.name}`,
        phase: p.name,
        target: "reported, not judged: the issue asks zero failed requests of memcached faults, not a throughput",
        pass: null,
        measured: `${p.cachedThroughputRatio === null ? "n/a" : fmt(p.cachedThroughputRatio * 100, " %")} of baseline; cached p99 ${fmt(p.cached.p99Ms, " ms")}; ${p.upstream.requests} upstream requests (cached keys reloaded: ${p.cached.xCache.MISS ?? 0})`,
      });
    }
    if (p.group === "healthy" || p.group === "memcached") {
      const excused = p.failuresInLaterFault;
      const failed = failedRequests(p) - excused;
      const note = excused > 0 ? `; ${excused} failure(s) of requests still in flight when the next phase's upstream fault began are charged to that fault` : "";
      v.push({
        id: `${p.group === "memcached" ? "memcached-zero-failed" : "healthy-zero-failed"}:${p.name}`,
        phase: p.name,
        target: p.group === "memcached" ? "memcached fault: zero failed requests (cached and miss)" : "nothing is broken: zero failed requests",
        pass: failed === 0,
        measured: (failed === 0
          ? `0 of ${p.cached.responses + p.miss.responses} failed`
          : `${failed} failed (cached ${statusList(p.cached.byStatus)}, miss ${statusList(p.miss.byStatus)}, ${p.clientErrors} errors, ${p.clientTimeouts} timeouts, ${p.cached.unanswered + p.miss.unanswered} unanswered)`) + note,
      });
    }
    if (p.name === "upstream-fail" || p.name === "upstream-hang") {
      v.push({
        id: `cached-throughput:${p.name}`,
        phase: p.name,
        target: `cached keys keep >= ${Math.round(targets.cachedThroughputRatio * 100)} % of their baseline throughput`,
        pass: p.cachedThroughputRatio === null ? null : p.cachedThroughputRatio >= targets.cachedThroughputRatio,
        measured: p.cachedThroughputRatio === null
          ? "no baseline phase in this run"
          : p.cachedPerSecond.median !== null && baseline?.cachedPerSecond.median !== null && baseline?.cachedPerSecond.median !== undefined
            ? `${fmt(p.cachedThroughputRatio * 100, " %")}: median second ${fmt(p.cachedPerSecond.median)} 2xx/s vs baseline ${fmt(baseline.cachedPerSecond.median)}; worst second ${fmt(p.cachedPerSecond.worst)}; phase means ${fmt((p.cachedThroughputRatioMean ?? NaN) * 100, " %")}`
            : `${fmt(p.cachedThroughputRatio * 100, " %")} (${fmt(p.cached.okPerSec)} 2xx/s; baseline ${fmt(baseline?.cached.okPerSec)})`,
      });
      v.push({
        id: `cached-p99:${p.name}`,
        phase: p.name,
        target: `cached keys p99 < ${targets.cachedP99Ms} ms`,
        pass: p.cached.p99Ms === null ? false : p.cached.p99Ms < targets.cachedP99Ms,
        measured: p.cached.p99Ms === null ? "no cached answers" : `${fmt(p.cached.p99Ms, " ms")}${baseP99}`,
      });
      const b = p.breaker;
      v.push({
        id: `miss-clean:${p.name}`,
        phase: p.name,
        target: "misses: stale where kept, else a clean 5xx (502/503/504 with a JSON error); never a crash or a timeout",
        pass: p.miss.unclean === 0 && p.miss.unanswered === 0,
        measured: `${p.miss.responses} misses: ${statusList(p.miss.byStatus)}; ${p.miss.unclean} unclean, ${p.miss.unanswered} unanswered`,
      });
      const opened = b.openedAfterMs !== null;
      const fast = opened && b.afterOpen.breakerP99Ms !== null && b.afterOpen.breakerP99Ms < targets.openMissP99Ms;
      const share = opened && b.afterOpen.breakerShare !== null && b.afterOpen.breakerShare >= targets.openMissBreakerShare;
      v.push({
        id: `breaker-fast-miss:${p.name}`,
        phase: p.name,
        target: `the breaker opens; from then on >= ${targets.openMissBreakerShare * 100} % of the misses are answered 503 + Retry-After or STALE, those answers with p99 < ${targets.openMissP99Ms} ms, and none times out`,
        pass: opened && fast && share && b.afterOpen.unanswered === 0,
        measured: opened
          ? `opened ${b.openedAfterMs} ms into the phase; then ${b.afterOpen.misses} misses, ${fmt((b.afterOpen.breakerShare ?? 0) * 100, " %")} answered by it with p99 ${fmt(b.afterOpen.breakerP99Ms, " ms")} (all misses ${fmt(b.afterOpen.p99Ms, " ms")}; cached keys meanwhile ${fmt(p.cached.p99Ms, " ms")}), ${b.afterOpen.unanswered} unanswered`
          : `never opened: no 503 with Retry-After and no STALE among ${p.miss.responses} misses (${statusList(p.miss.byStatus)}; miss p99 ${fmt(p.miss.p99Ms, " ms")})`,
      });
    }
    if (p.name === "upstream-slow") {
      v.push({
        id: `cached-throughput:${p.name}`,
        phase: p.name,
        target: "reported, not judged: the issue sets no target for a slow upstream that still answers within the timeout",
        pass: null,
        measured: p.cachedThroughputRatio === null ? "no baseline" : `${fmt(p.cachedThroughputRatio * 100, " %")} of baseline; cached p99 ${fmt(p.cached.p99Ms, " ms")}; miss p99 ${fmt(p.miss.p99Ms, " ms")}`,
      });
    }
    if (p.group === "recovery") {
      const within = p.breaker.allOkFromMs !== null && p.breaker.allOkFromMs <= targets.breakerCloseWithinMs;
      v.push({
        id: `breaker-closes:${p.name}`,
        phase: p.name,
        target: `after recovery every miss succeeds again within ${targets.breakerCloseWithinMs / 1000} s (the breaker closes)`,
        pass: p.miss.responses === 0 ? null : within,
        measured: p.miss.responses === 0
          ? "no misses sent"
          : p.breaker.allOkFromMs === null
            ? `misses still failing at the end of the phase (${statusList(p.miss.byStatus)})`
            : `all misses 2xx from ${p.breaker.allOkFromMs} ms after the upstream recovered`,
      });
    }
  }
  const peak = Math.max(0, ...phases.map((p) => p.upstream.peakConcurrent));
  const limit = targets.upstreamConcurrencyLimit;
  v.push({
    id: "upstream-concurrency",
    target: limit === undefined ? "the upstream never sees more concurrent requests than the bulkhead allows (give --upstream-limit to judge)" : `the upstream never sees more than ${limit} concurrent requests (bulkhead; limit from ${limitSource})`,
    pass: limit === undefined ? null : peak <= limit,
    measured: `peak ${peak} concurrent (per phase: ${phases.map((p) => `${p.name} ${p.upstream.peakConcurrent}`).join(", ")})`,
  });
  return v;
}

export function exitCodeFor(verdicts: readonly Verdict[]): 0 | 1 {
  return verdicts.some((x) => x.pass === false) ? 1 : 0;
}
