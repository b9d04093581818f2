/**
 * Bulkhead: a bound on concurrent upstream calls from one execution environment, with a small
 * bounded FIFO queue. Pure (state in, state out).
 *
 * No barging: while anyone is queued, a new call queues (or is shed) even if a slot just freed: the
 * shell hands a freed slot to the first waiter in the same synchronous step as the release.
 */

export interface BulkheadPolicy {
  /** Upstream calls in flight at most (>= 1). */
  maxConcurrent: number;
  /** Calls waiting for a slot at most (>= 0); beyond it they are shed at once. */
  maxQueue: number;
}

export interface BulkheadState {
  active: number;
  queued: number;
}

export type BulkheadDecision = "run" | "queue" | "shed";

export const BULKHEAD_DEFAULTS: BulkheadPolicy = Object.freeze({ maxConcurrent: 64, maxQueue: 64 });

export function normalizeBulkheadPolicy(p: Partial<BulkheadPolicy>): BulkheadPolicy {
  const int = (v: number | undefined, d: number, min: number): number => (typeof v === "number" && Number.isFinite(v) ? Math.max(min, Math.floor(v)) : d);
  return { maxConcurrent: int(p.maxConcurrent, BULKHEAD_DEFAULTS.maxConcurrent, 1), maxQueue: int(p.maxQueue, BULKHEAD_DEFAULTS.maxQueue, 0) };
}

export function hasFreeSlot(s: BulkheadState, p: BulkheadPolicy): boolean {
  return s.active < p.maxConcurrent;
}

/**
 * A new call arrives. `mayQueue`: whether it may wait (a probe may not). `fromQueue`: the call was
 * queued and is now offered a slot (it is removed from the queue either way).
 */
export function bulkheadAdmit(s: BulkheadState, p: BulkheadPolicy, opts: { mayQueue: boolean; fromQueue?: boolean }): { state: BulkheadState; decision: BulkheadDecision } {
  const base = opts.fromQueue ? { active: s.active, queued: Math.max(0, s.queued - 1) } : s;
  const othersWaiting = !opts.fromQueue && base.queued > 0;
  if (hasFreeSlot(base, p) && !othersWaiting) return { state: { active: base.active + 1, queued: base.queued }, decision: "run" };
  if (opts.mayQueue && !opts.fromQueue && base.queued < p.maxQueue) return { state: { active: base.active, queued: base.queued + 1 }, decision: "queue" };
  return { state: base, decision: "shed" };
}

/** A running call ended (or gave its slot back unused). */
export function bulkheadRelease(s: BulkheadState): BulkheadState {
  return { active: Math.max(0, s.active - 1), queued: s.queued };
}

/** A queued call gave up (its wait ran out, or the breaker opened). */
export function bulkheadLeaveQueue(s: BulkheadState): BulkheadState {
  return { active: s.active, queued: Math.max(0, s.queued - 1) };
}
