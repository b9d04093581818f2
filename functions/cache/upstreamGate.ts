/**
 * The I/O shell around admission.ts: one per cache (so one per execution environment). It keeps the
 * gate state in one object (mutated, never reassigned: it survives Pulumi closure serialization and
 * warm invocations), parks queued calls, hands freed slots to them in order, and reports
 * transitions and rejections through the cache telemetry. Every decision is made by the pure
 * functions of admission.ts / breaker.ts / bulkhead.ts.
 */
import { gateAdmit, gateCancel, gateComplete, gateLeaveQueue, gatePeek, gateSlowCall, initialGate, SHED_RETRY_AFTER_MS, type Admission, type GatePolicy, type GateState, type GateTicket, type RejectReason } from "./admission";
import { breakerMode, countedOutcome, normalizeBreakerPolicy, type BreakerMode, type BreakerOutcome, type BreakerPolicy, type BreakerTransition } from "./breaker";
import { normalizeBulkheadPolicy, type BulkheadPolicy } from "./bulkhead";
import { METRIC, type Telemetry } from "./telemetry";

/** Options of the upstream gate (`TwoTierCacheOptions.upstream`). */
export interface UpstreamGateOptions {
  /** Circuit breaker; `false` disables it. Defaults: BREAKER_DEFAULTS (5 failures or calls slower than 1 s, 1 s cool-off doubling up to 5 s). */
  breaker?: Partial<BreakerPolicy> | false;
  /** Bulkhead; `false` disables it. Defaults: 64 concurrent, 64 queued for at most 100 ms. */
  bulkhead?: (Partial<BulkheadPolicy> & {
    /** Longest wait (ms) of a queued call for a slot (also bounded by the request's deadline). Default 100. */
    maxQueueWaitMs?: number;
  }) | false;
  /** Shortest gap (ms) between two "calls rejected" log lines (counts are summed in between). Default 5000. */
  rejectLogIntervalMs?: number;
}

export const GATE_DEFAULTS = { maxQueueWaitMs: 100, rejectLogIntervalMs: 5000 } as const;

export type GrantedAdmission = Exclude<Admission, { kind: "queue" }>;

export interface UpstreamGateSnapshot {
  mode: BreakerMode;
  failures: number;
  /** Current cool-off (ms) when open / half-open. */
  openMs: number;
  active: number;
  queued: number;
  /** Most calls ever in flight at once (diagnostics, tests). */
  maxActive: number;
  transitions: Record<BreakerTransition, number>;
  rejected: Record<RejectReason, number>;
}

/** A call in flight to the upstream, as the gate tracks it. */
export interface UpstreamCall {
  readonly ticket: GateTicket;
}

export interface UpstreamGate {
  /** Would the breaker reject now? (No state change: checked before taking a lease.) */
  peek(): { admit: true } | { admit: false; reason: RejectReason; retryAfterMs: number };
  /** Claim a slot (and the probe when half-open). Resolves at once, or after at most `waitBudgetMs` when queued. */
  acquire(waitBudgetMs: number): Promise<GrantedAdmission>;
  /**
   * The call holding `ticket` starts now. `abort` is called (once) if the breaker opens while it is
   * in flight: the caller answers at once (stale or 503) instead of waiting for the upstream.
   */
  start(ticket: GateTicket, abort: (retryAfterMs: number) => void): UpstreamCall;
  /** The call finished; `outcome` from classifyOutcome ("neutral" when it was aborted). */
  complete(call: UpstreamCall, outcome: BreakerOutcome): void;
  /** The admission was not used: nothing went to the upstream. */
  cancel(ticket: GateTicket): void;
  snapshot(): UpstreamGateSnapshot;
}

interface Waiter {
  resolve: (a: GrantedAdmission) => void;
  timer: NodeJS.Timeout | undefined;
}

interface Running extends UpstreamCall {
  /** Already counted as a failure by the slow-call timer. */
  counted: boolean;
  timer: NodeJS.Timeout | undefined;
  abort: (retryAfterMs: number) => void;
}

export function createUpstreamGate(options: UpstreamGateOptions | undefined, tel: Telemetry, clock: () => number, loaderTimeoutMs: number): UpstreamGate {
  const breaker = options?.breaker === false ? undefined : normalizeBreakerPolicy({ probeTimeoutMs: loaderTimeoutMs + 1000, ...(options?.breaker ?? {}) });
  const bulkheadOptions = options?.bulkhead === false ? undefined : options?.bulkhead ?? {};
  const bulkhead = bulkheadOptions ? normalizeBulkheadPolicy(bulkheadOptions) : undefined;
  const policy: GatePolicy = { ...(breaker ? { breaker } : {}), ...(bulkhead ? { bulkhead } : {}) };
  const maxQueueWaitMs = Math.max(0, bulkheadOptions?.maxQueueWaitMs ?? GATE_DEFAULTS.maxQueueWaitMs);
  const logEveryMs = Math.max(0, options?.rejectLogIntervalMs ?? GATE_DEFAULTS.rejectLogIntervalMs);

  // Everything mutable, in one object (mutated, never reassigned).
  const st = {
    gate: initialGate() as GateState,
    waiters: [] as Waiter[],
    running: new Set<Running>(),
    maxActive: 0,
    transitions: { opened: 0, "half-opened": 0, closed: 0, reopened: 0 } as Record<BreakerTransition, number>,
    rejected: { open: 0, probing: 0, shed: 0 } as Record<RejectReason, number>,
    unlogged: { open: 0, probing: 0, shed: 0 } as Record<RejectReason, number>,
    lastRejectLogAt: Number.NEGATIVE_INFINITY,
  };

  function noteActive(): void {
    if (st.gate.bulkhead.active > st.maxActive) st.maxActive = st.gate.bulkhead.active;
  }

  function onTransition(t: BreakerTransition | undefined): void {
    if (!t) return;
    st.transitions[t] += 1;
    const b = st.gate.breaker;
    if (t === "opened" || t === "reopened") {
      tel.metric(METRIC.breakerOpen);
      tel.log("warn", t === "opened" ? "upstream circuit breaker opened" : "upstream circuit breaker reopened: the probe failed", {
        failures: b.failures, coolOffMs: b.openMs, waiting: st.waiters.length,
      });
      // Nobody waits behind an open breaker: neither for a slot, nor for the upstream.
      for (const w of st.waiters.splice(0)) {
        clearTimeout(w.timer);
        st.gate = gateLeaveQueue(st.gate);
        w.resolve(reject("open", b.openMs));
      }
      for (const r of [...st.running]) {
        clearTimeout(r.timer);
        r.timer = undefined;
        try {
          r.abort(b.openMs);
        } catch {
          // the caller's abort must not break the gate
        }
      }
    } else if (t === "half-opened") {
      tel.metric(METRIC.breakerHalfOpen);
      tel.log("info", "upstream circuit breaker half-open: one probe goes to the upstream", { coolOffMs: b.openMs });
    } else {
      tel.metric(METRIC.breakerClose);
      tel.log("info", "upstream circuit breaker closed: the probe succeeded", {});
    }
  }

  function reject(reason: RejectReason, retryAfterMs: number): GrantedAdmission {
    st.rejected[reason] += 1;
    st.unlogged[reason] += 1;
    tel.metric(reason === "shed" ? METRIC.upstreamShed : METRIC.upstreamRejected);
    const now = clock();
    if (now - st.lastRejectLogAt >= logEveryMs) {
      st.lastRejectLogAt = now;
      tel.log("warn", "upstream calls refused without calling the upstream", {
        breakerOpen: st.unlogged.open, probing: st.unlogged.probing, shed: st.unlogged.shed,
        active: st.gate.bulkhead.active, queued: st.gate.bulkhead.queued, breaker: breakerMode(st.gate.breaker, now),
      });
      st.unlogged = { open: 0, probing: 0, shed: 0 };
    }
    return { kind: "reject", reason, retryAfterMs };
  }

  function admitNow(fromQueue: boolean): Admission {
    const r = gateAdmit(st.gate, clock(), policy, { fromQueue });
    st.gate = r.state;
    noteActive();
    onTransition(r.transition);
    if (r.admission.kind === "reject") return reject(r.admission.reason, r.admission.retryAfterMs);
    return r.admission;
  }

  /** Hand freed slots to queued calls, first come first served, in this synchronous step. */
  function drain(): void {
    while (st.waiters.length > 0 && (!bulkhead || st.gate.bulkhead.active < bulkhead.maxConcurrent)) {
      const w = st.waiters.shift() as Waiter;
      clearTimeout(w.timer);
      const a = admitNow(true);
      w.resolve(a.kind === "queue" ? reject("shed", SHED_RETRY_AFTER_MS) : a);
    }
  }

  return {
    peek() {
      const r = gatePeek(st.gate, clock(), policy);
      if (!r.admit) reject(r.reason, r.retryAfterMs);
      return r;
    },

    acquire(waitBudgetMs) {
      const a = admitNow(false);
      if (a.kind !== "queue") return Promise.resolve(a);
      const wait = Math.min(maxQueueWaitMs, Math.max(0, Math.floor(waitBudgetMs)));
      if (wait <= 0) {
        st.gate = gateLeaveQueue(st.gate);
        return Promise.resolve(reject("shed", SHED_RETRY_AFTER_MS));
      }
      return new Promise<GrantedAdmission>((resolve) => {
        const w: Waiter = { resolve, timer: undefined };
        w.timer = setTimeout(() => {
          const i = st.waiters.indexOf(w);
          if (i < 0) return;
          st.waiters.splice(i, 1);
          st.gate = gateLeaveQueue(st.gate);
          resolve(reject("shed", SHED_RETRY_AFTER_MS));
        }, wait);
        st.waiters.push(w);
      });
    },

    start(ticket, abort) {
      const call: Running = { ticket, counted: false, timer: undefined, abort };
      st.running.add(call);
      if (breaker && breaker.slowCallMs > 0 && ticket.breaker) {
        call.timer = setTimeout(() => {
          call.timer = undefined;
          if (!st.running.has(call)) return;
          call.counted = true;
          tel.log("debug", "upstream call slower than slowCallMs: counted as a failure", { slowCallMs: breaker.slowCallMs });
          const r = gateSlowCall(st.gate, ticket, clock(), policy);
          st.gate = r.state;
          onTransition(r.transition);
        }, breaker.slowCallMs);
      }
      return call;
    },

    complete(call, outcome) {
      const running = call as Running;
      clearTimeout(running.timer);
      st.running.delete(running);
      const r = gateComplete(st.gate, call.ticket, countedOutcome(running.counted, outcome), clock(), policy);
      st.gate = r.state;
      onTransition(r.transition);
      drain();
    },

    cancel(ticket) {
      st.gate = gateCancel(st.gate, ticket);
      drain();
    },

    snapshot() {
      const now = clock();
      const b = st.gate.breaker;
      return {
        mode: breakerMode(b, now),
        failures: b.failures,
        openMs: b.openMs,
        active: st.gate.bulkhead.active,
        queued: st.gate.bulkhead.queued,
        maxActive: st.maxActive,
        transitions: { ...st.transitions },
        rejected: { ...st.rejected },
      };
    },
  };
}
