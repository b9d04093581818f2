/**
 * Admission to the upstream: the circuit breaker and the bulkhead together. Pure.
 *
 * Order: the breaker first (an open breaker rejects without touching the bulkhead), then the
 * bulkhead. The half-open probe needs a free slot like any call (the bound on concurrent upstream
 * calls holds for probes too) and never queues: without a slot it is shed and the probe stays
 * available for the next call.
 */
import { breakerAdmit, breakerCancel, breakerMode, breakerRecord, breakerWouldAdmit, initialBreaker, type BreakerOutcome, type BreakerPolicy, type BreakerState, type BreakerTicket, type BreakerTransition } from "./breaker";
import { bulkheadAdmit, bulkheadLeaveQueue, bulkheadRelease, type BulkheadPolicy, type BulkheadState } from "./bulkhead";

export interface GatePolicy {
  /** undefined: no breaker. */
  breaker?: BreakerPolicy;
  /** undefined: no concurrency bound. */
  bulkhead?: BulkheadPolicy;
}

export interface GateState {
  breaker: BreakerState;
  bulkhead: BulkheadState;
}

export interface GateTicket {
  /** Breaker ticket (absent without a breaker). */
  breaker?: BreakerTicket;
  /** Holds a bulkhead slot. */
  slot: boolean;
}

export type RejectReason = "open" | "probing" | "shed";

export type Admission =
  | { kind: "run"; ticket: GateTicket }
  | { kind: "queue" }
  | { kind: "reject"; reason: RejectReason; retryAfterMs: number };

/** Retry-After given to a shed call (the bulkhead frees up within one upstream round trip). */
export const SHED_RETRY_AFTER_MS = 1000;

export function initialGate(): GateState {
  return { breaker: initialBreaker(), bulkhead: { active: 0, queued: 0 } };
}

/** The cheap check before taking a lease: would the breaker reject right now? No state change. */
export function gatePeek(s: GateState, now: number, p: GatePolicy): { admit: true } | { admit: false; reason: RejectReason; retryAfterMs: number } {
  if (!p.breaker) return { admit: true };
  return breakerWouldAdmit(s.breaker, now, p.breaker);
}

/**
 * A call asks for the upstream (`fromQueue`: a queued call offered a freed slot; it leaves the
 * queue whatever the answer).
 */
export function gateAdmit(s: GateState, now: number, p: GatePolicy, opts: { fromQueue?: boolean } = {}): { state: GateState; admission: Admission; transition?: BreakerTransition } {
  const leaveQueue = (b: BulkheadState): BulkheadState => (opts.fromQueue ? bulkheadLeaveQueue(b) : b);
  if (p.breaker) {
    const w = breakerWouldAdmit(s.breaker, now, p.breaker);
    if (!w.admit) return { state: { breaker: s.breaker, bulkhead: leaveQueue(s.bulkhead) }, admission: { kind: "reject", reason: w.reason, retryAfterMs: w.retryAfterMs } };
  }
  const probe = p.breaker !== undefined && breakerMode(s.breaker, now) !== "closed";
  let bulkhead = s.bulkhead;
  let slot = false;
  if (p.bulkhead) {
    const b = bulkheadAdmit(s.bulkhead, p.bulkhead, { mayQueue: !probe, fromQueue: opts.fromQueue });
    if (b.decision === "shed") return { state: { breaker: s.breaker, bulkhead: b.state }, admission: { kind: "reject", reason: "shed", retryAfterMs: SHED_RETRY_AFTER_MS } };
    if (b.decision === "queue") return { state: { breaker: s.breaker, bulkhead: b.state }, admission: { kind: "queue" } };
    bulkhead = b.state;
    slot = true;
  } else {
    bulkhead = leaveQueue(bulkhead);
  }
  if (!p.breaker) return { state: { breaker: s.breaker, bulkhead }, admission: { kind: "run", ticket: { slot } } };
  const r = breakerAdmit(s.breaker, now, p.breaker);
  if (r.decision.kind === "reject") {
    // Not reachable (breakerWouldAdmit said yes at the same `now`); kept total: give the slot back.
    return { state: { breaker: r.state, bulkhead: slot ? bulkheadRelease(bulkhead) : bulkhead }, admission: { kind: "reject", reason: r.decision.reason, retryAfterMs: r.decision.retryAfterMs } };
  }
  return { state: { breaker: r.state, bulkhead }, admission: { kind: "run", ticket: { breaker: r.decision.ticket, slot } }, ...(r.transition ? { transition: r.transition } : {}) };
}

/** The call holding `ticket` finished with `outcome`: the slot is freed and the breaker told. */
export function gateComplete(s: GateState, ticket: GateTicket, outcome: BreakerOutcome, now: number, p: GatePolicy): { state: GateState; transition?: BreakerTransition } {
  const bulkhead = ticket.slot ? bulkheadRelease(s.bulkhead) : s.bulkhead;
  if (!ticket.breaker || !p.breaker) return { state: { breaker: s.breaker, bulkhead } };
  const r = breakerRecord(s.breaker, ticket.breaker, outcome, now, p.breaker);
  return { state: { breaker: r.state, bulkhead }, ...(r.transition ? { transition: r.transition } : {}) };
}

/** The call holding `ticket` did not call the upstream after all: slot and probe are given back. */
export function gateCancel(s: GateState, ticket: GateTicket): GateState {
  return {
    breaker: ticket.breaker ? breakerCancel(s.breaker, ticket.breaker) : s.breaker,
    bulkhead: ticket.slot ? bulkheadRelease(s.bulkhead) : s.bulkhead,
  };
}

/** A queued call gave up waiting. */
export function gateLeaveQueue(s: GateState): GateState {
  return { breaker: s.breaker, bulkhead: bulkheadLeaveQueue(s.bulkhead) };
}

/**
 * A call holding `ticket` has been in flight for `slowCallMs`: it counts as a failure now (it keeps
 * its slot until it ends; its end must then be reported as "neutral", see countedOutcome).
 */
export function gateSlowCall(s: GateState, ticket: GateTicket, now: number, p: GatePolicy): { state: GateState; transition?: BreakerTransition } {
  if (!ticket.breaker || !p.breaker) return { state: s };
  const r = breakerRecord(s.breaker, ticket.breaker, "failure", now, p.breaker);
  return { state: { breaker: r.state, bulkhead: s.bulkhead }, ...(r.transition ? { transition: r.transition } : {}) };
}
