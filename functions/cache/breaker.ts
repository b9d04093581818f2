/**
 * Upstream circuit breaker: a pure state machine (state in, state out; time is an argument).
 *
 *   closed ──(failureThreshold consecutive failures, slow calls included)──► open
 *   open ──(cool-off over; the next call is the probe)──► half-open (exactly one probe in flight)
 *   half-open ──probe succeeds──► closed (cool-off back to openMs)
 *   half-open ──probe fails──► open again, cool-off × backoffMultiplier (at most maxOpenMs)
 *
 * Rules that keep it honest (each one a bug seen in other breakers):
 * - Only calls admitted in the current epoch move the machine. A call admitted while closed that
 *   finishes after the breaker opened neither closes it (opossum #381) nor counts again; every
 *   transition bumps the epoch, so late reports are ignored.
 * - The breaker only closes after a successful probe, never because time passed.
 * - Half-open lets exactly one probe through (opossum #119/#819); a probe that never reports (lost,
 *   process frozen) is presumed failed-silent after `probeTimeoutMs` and another one may start, so
 *   the breaker can never stick half-open (resilience4j #903).
 * - No timers: open → half-open is decided when a call asks (opossum needed a timer until 7.1, #719),
 *   which is what a Lambda environment that is frozen between invocations needs. (The shell keeps
 *   one timer per call in flight, for slow calls; it lives as long as the call the request awaits.)
 * - A call in flight longer than `slowCallMs` counts as a failure when that time is reached (a hung
 *   upstream is recognised before the loader timeout); `countedOutcome` makes its end count for
 *   nothing, so no call is counted twice.
 * - A clock that jumps backwards does not stretch the cool-off: the elapsed time is carried over
 *   (timestamps shift with the clock), so time as the machine sees it is monotonic.
 */

export type BreakerMode = "closed" | "open" | "half-open";

export interface BreakerPolicy {
  /** Consecutive failures (errors or timeouts) that open the breaker. >= 1. */
  failureThreshold: number;
  /** First cool-off (ms) before a probe is let through. */
  openMs: number;
  /** Longest cool-off (ms) after repeated failed probes. */
  maxOpenMs: number;
  /** Cool-off growth after each failed probe (>= 1). */
  backoffMultiplier: number;
  /** A probe that has not reported after this long (ms) is presumed lost; the next call may probe. */
  probeTimeoutMs: number;
  /**
   * A call still in flight after this long (ms) counts as a failure at that moment (once; its own
   * end then counts for nothing), so a hanging upstream opens the breaker before the loader timeout.
   * 0 = off.
   */
  slowCallMs: number;
}

export interface BreakerState {
  mode: BreakerMode;
  /** Consecutive failures while closed. */
  failures: number;
  /** open/half-open: when the current cool-off started (epoch ms). */
  openedAt: number;
  /** open/half-open: length of the current cool-off (ms). */
  openMs: number;
  /** half-open: when the probe in flight started; -1 = no probe in flight (the next call probes). */
  probeAt: number;
  /** Bumped by every transition and every probe; tickets from older epochs do not count. */
  epoch: number;
  /** open/half-open: the latest time seen (to carry elapsed time across a clock that jumps back). */
  seenAt: number;
}

/** What a caller holds while its call runs. */
export interface BreakerTicket {
  epoch: number;
  probe: boolean;
}

export type BreakerOutcome = "success" | "failure" | "neutral";

export type BreakerTransition = "opened" | "half-opened" | "closed" | "reopened";

export type BreakerDecision =
  | { kind: "allow"; ticket: BreakerTicket }
  | { kind: "probe"; ticket: BreakerTicket }
  | { kind: "reject"; reason: "open" | "probing"; retryAfterMs: number };

export const BREAKER_DEFAULTS: BreakerPolicy = Object.freeze({
  failureThreshold: 5,
  openMs: 1000,
  maxOpenMs: 5000,
  backoffMultiplier: 2,
  probeTimeoutMs: 10_000,
  slowCallMs: 1000,
});

export function initialBreaker(): BreakerState {
  return { mode: "closed", failures: 0, openedAt: 0, openMs: 0, probeAt: -1, epoch: 0, seenAt: 0 };
}

/** Policy with every field made sane (thresholds >= 1, times >= 0, max >= base). Pure. */
export function normalizeBreakerPolicy(p: Partial<BreakerPolicy>): BreakerPolicy {
  const num = (v: number | undefined, d: number): number => (typeof v === "number" && Number.isFinite(v) ? v : d);
  const openMs = Math.max(0, num(p.openMs, BREAKER_DEFAULTS.openMs));
  return {
    failureThreshold: Math.max(1, Math.floor(num(p.failureThreshold, BREAKER_DEFAULTS.failureThreshold))),
    openMs,
    maxOpenMs: Math.max(openMs, num(p.maxOpenMs, Math.max(openMs, BREAKER_DEFAULTS.maxOpenMs))),
    backoffMultiplier: Math.max(1, num(p.backoffMultiplier, BREAKER_DEFAULTS.backoffMultiplier)),
    probeTimeoutMs: Math.max(1, num(p.probeTimeoutMs, BREAKER_DEFAULTS.probeTimeoutMs)),
    slowCallMs: Math.max(0, num(p.slowCallMs, BREAKER_DEFAULTS.slowCallMs)),
  };
}

/**
 * Carry the state onto `now`'s timeline: when the clock went backwards since the last call, shift
 * every timestamp by the same amount (elapsed time is kept, nothing lies in the future).
 */
function anchored(s: BreakerState, now: number): BreakerState {
  if (s.mode === "closed" || now === s.seenAt) return s;
  if (now > s.seenAt) return { ...s, seenAt: now };
  const d = now - s.seenAt;
  return { ...s, openedAt: s.openedAt + d, probeAt: s.probeAt >= 0 ? s.probeAt + d : -1, seenAt: now };
}

/** What the breaker looks like at `now` (an open breaker whose cool-off is over shows as half-open). */
export function breakerMode(s: BreakerState, now: number): BreakerMode {
  if (s.mode === "open" && now - s.openedAt >= s.openMs) return "half-open";
  return s.mode;
}

/**
 * Would a call be let through at `now` (as a normal call or as the probe)? No state change: the
 * cheap check made before taking a lease or a bulkhead slot.
 */
export function breakerWouldAdmit(s0: BreakerState, now: number, p: BreakerPolicy): { admit: true } | { admit: false; reason: "open" | "probing"; retryAfterMs: number } {
  const s = anchored(s0, now);
  if (s.mode === "closed") return { admit: true };
  if (s.mode === "open") {
    const left = s.openedAt + s.openMs - now;
    return left > 0 ? { admit: false, reason: "open", retryAfterMs: left } : { admit: true };
  }
  if (s.probeAt < 0 || now - s.probeAt >= p.probeTimeoutMs) return { admit: true };
  return { admit: false, reason: "probing", retryAfterMs: Math.max(1, Math.min(p.openMs, s.probeAt + p.probeTimeoutMs - now)) };
}

/** A call asks to go to the upstream. */
export function breakerAdmit(s0: BreakerState, now: number, p: BreakerPolicy): { state: BreakerState; decision: BreakerDecision; transition?: BreakerTransition } {
  const s = anchored(s0, now);
  const w = breakerWouldAdmit(s, now, p);
  if (!w.admit) return { state: s, decision: { kind: "reject", reason: w.reason, retryAfterMs: w.retryAfterMs } };
  if (s.mode === "closed") return { state: s, decision: { kind: "allow", ticket: { epoch: s.epoch, probe: false } } };
  const epoch = s.epoch + 1;
  const state: BreakerState = { ...s, mode: "half-open", probeAt: now, epoch };
  return { state, decision: { kind: "probe", ticket: { epoch, probe: true } }, ...(s.mode === "open" ? { transition: "half-opened" as const } : {}) };
}

/** A call admitted with `ticket` finished with `outcome`. */
export function breakerRecord(s0: BreakerState, ticket: BreakerTicket, outcome: BreakerOutcome, now: number, p: BreakerPolicy): { state: BreakerState; transition?: BreakerTransition } {
  const s = anchored(s0, now);
  if (ticket.epoch !== s.epoch) return { state: s };
  if (s.mode === "closed" && !ticket.probe) {
    if (outcome === "success") return { state: s.failures === 0 ? s : { ...s, failures: 0 } };
    if (outcome === "neutral") return { state: s };
    const failures = s.failures + 1;
    if (failures < p.failureThreshold) return { state: { ...s, failures } };
    return { state: { mode: "open", failures, openedAt: now, openMs: p.openMs, probeAt: -1, epoch: s.epoch + 1, seenAt: now }, transition: "opened" };
  }
  if (s.mode === "half-open" && ticket.probe) {
    if (outcome === "success") return { state: { mode: "closed", failures: 0, openedAt: 0, openMs: 0, probeAt: -1, epoch: s.epoch + 1, seenAt: 0 }, transition: "closed" };
    if (outcome === "neutral") return { state: { ...s, probeAt: -1 } };
    const openMs = Math.min(p.maxOpenMs, Math.max(p.openMs, s.openMs * p.backoffMultiplier));
    return { state: { mode: "open", failures: s.failures, openedAt: now, openMs, probeAt: -1, epoch: s.epoch + 1, seenAt: now }, transition: "reopened" };
  }
  return { state: s };
}

/** A probe claimed but not used (e.g. no bulkhead slot, or another process holds the key's lease): the next call may probe. */
export function breakerCancel(s: BreakerState, ticket: BreakerTicket): BreakerState {
  if (ticket.probe && s.mode === "half-open" && ticket.epoch === s.epoch) return { ...s, probeAt: -1 };
  return s;
}

/**
 * Does a finished upstream call count for or against the upstream? Pure.
 * - Any answer (the loader returned) is a success.
 * - An upstream answer of 4xx other than 408/429 (e.g. 404) is a success: the upstream is alive.
 * - 5xx, 408, 429, connection errors and anything else thrown are failures.
 * - A timeout is a failure when the loader had at least half of `loaderTimeoutMs`; a shorter
 *   timeout was the caller's deadline talking, not the upstream, and is neutral.
 */
export function classifyOutcome(
  error: { statusCode?: number; upstreamStatus?: number } | undefined,
  loaderBudgetMs: number,
  loaderTimeoutMs: number,
): BreakerOutcome {
  if (!error) return "success";
  const up = error.upstreamStatus;
  if (typeof up === "number") {
    if (up >= 400 && up < 500 && up !== 408 && up !== 429) return "success";
    return "failure";
  }
  if (error.statusCode === 504) return loaderBudgetMs >= loaderTimeoutMs / 2 ? "failure" : "neutral";
  return "failure";
}

/** The outcome a finished call reports: nothing more when it was already counted as slow. Pure. */
export function countedOutcome(countedAsSlow: boolean, outcome: BreakerOutcome): BreakerOutcome {
  return countedAsSlow ? "neutral" : outcome;
}
