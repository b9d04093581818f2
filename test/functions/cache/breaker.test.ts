// Upstream circuit breaker, bulkhead and their combination: pure state machines, tested by tables
// and by a seeded randomized simulation whose invariants are themselves tested against mutants
// (each mutant breaks one guarantee; the harness must catch it, so these tests can fail).
import * as assert from "node:assert/strict";
import {
  breakerAdmit, breakerCancel, breakerMode, breakerRecord, breakerWouldAdmit, classifyOutcome, countedOutcome, initialBreaker, normalizeBreakerPolicy,
  type BreakerOutcome, type BreakerPolicy, type BreakerState, type BreakerTransition,
} from "../../../functions/cache/breaker";
import { bulkheadAdmit, bulkheadLeaveQueue, bulkheadRelease, normalizeBulkheadPolicy } from "../../../functions/cache/bulkhead";
import { gateAdmit, gateCancel, gateComplete, gateLeaveQueue, gatePeek, gateSlowCall, initialGate, type Admission, type GatePolicy, type GateState, type GateTicket } from "../../../functions/cache/admission";
import { mulberry32 } from "../../support/prng";

const P: BreakerPolicy = { failureThreshold: 3, openMs: 1000, maxOpenMs: 4000, backoffMultiplier: 2, probeTimeoutMs: 5000, slowCallMs: 1000 };
const T0 = 1_000_000;

/** Drive a breaker through `n` failures of calls admitted while closed. */
function failTimes(s0: BreakerState, n: number, now: number): { state: BreakerState; transitions: (BreakerTransition | undefined)[] } {
  let s = s0;
  const transitions: (BreakerTransition | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const a = breakerAdmit(s, now, P);
    assert.equal(a.decision.kind, "allow");
    s = a.state;
    if (a.decision.kind !== "allow") break;
    const r = breakerRecord(s, a.decision.ticket, "failure", now, P);
    s = r.state;
    transitions.push(r.transition);
  }
  return { state: s, transitions };
}

describe("cache/breaker (pure state machine)", () => {
  it("closed -> open after exactly failureThreshold consecutive failures; a success in between resets the count", () => {
    const a = failTimes(initialBreaker(), 3, T0);
    assert.deepEqual(a.transitions, [undefined, undefined, "opened"]);
    assert.equal(a.state.mode, "open");
    assert.equal(a.state.openMs, 1000);

    let s = failTimes(initialBreaker(), 2, T0).state;
    const ok = breakerAdmit(s, T0, P);
    s = ok.state;
    if (ok.decision.kind !== "allow") assert.fail("closed must allow");
    s = breakerRecord(s, ok.decision.ticket, "success", T0, P).state;
    assert.equal(s.failures, 0);
    assert.equal(failTimes(s, 2, T0).state.mode, "closed");
  });

  it("neutral outcomes (timeouts cut short by the caller's deadline) neither count nor reset", () => {
    let s = failTimes(initialBreaker(), 2, T0).state;
    const a = breakerAdmit(s, T0, P);
    if (a.decision.kind !== "allow") return assert.fail();
    s = breakerRecord(a.state, a.decision.ticket, "neutral", T0, P).state;
    assert.equal(s.failures, 2);
    assert.equal(failTimes(s, 1, T0).state.mode, "open");
  });

  // Each row: the breaker is opened at T0, then [time offset, action] steps with the expected result.
  type Step = { at: number; admit?: "allow" | "probe" | "reject-open" | "reject-probing"; record?: BreakerOutcome; expectMode: "closed" | "open" | "half-open"; transition?: BreakerTransition; openMs?: number };
  const table: { name: string; steps: Step[] }[] = [
    {
      name: "open rejects until the cool-off is over, then one probe; its success closes",
      steps: [
        { at: 0, admit: "reject-open", expectMode: "open" },
        { at: 999, admit: "reject-open", expectMode: "open" },
        { at: 1000, admit: "probe", expectMode: "half-open", transition: "half-opened" },
        { at: 1001, admit: "reject-probing", expectMode: "half-open" },
        { at: 1200, record: "success", expectMode: "closed", transition: "closed" },
        { at: 1201, admit: "allow", expectMode: "closed" },
      ],
    },
    {
      name: "a failed probe reopens with a doubled cool-off, capped at maxOpenMs; a later success resets it",
      steps: [
        { at: 1000, admit: "probe", expectMode: "half-open", transition: "half-opened" },
        { at: 1100, record: "failure", expectMode: "open", transition: "reopened", openMs: 2000 },
        { at: 3099, admit: "reject-open", expectMode: "open" },
        { at: 3100, admit: "probe", expectMode: "half-open", transition: "half-opened" },
        { at: 3100, record: "failure", expectMode: "open", transition: "reopened", openMs: 4000 },
        { at: 7100, admit: "probe", expectMode: "half-open", transition: "half-opened" },
        { at: 7100, record: "failure", expectMode: "open", transition: "reopened", openMs: 4000 },
        { at: 11100, admit: "probe", expectMode: "half-open", transition: "half-opened" },
        { at: 11150, record: "success", expectMode: "closed", transition: "closed" },
      ],
    },
    {
      name: "a neutral probe gives the probe back: the next call probes at once",
      steps: [
        { at: 1000, admit: "probe", expectMode: "half-open", transition: "half-opened" },
        { at: 1050, record: "neutral", expectMode: "half-open" },
        { at: 1051, admit: "probe", expectMode: "half-open" },
      ],
    },
    {
      name: "a probe that never reports is presumed lost after probeTimeoutMs: another call probes (never stuck half-open)",
      steps: [
        { at: 1000, admit: "probe", expectMode: "half-open", transition: "half-opened" },
        { at: 5999, admit: "reject-probing", expectMode: "half-open" },
        { at: 6000, admit: "probe", expectMode: "half-open" },
      ],
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      let s = failTimes(initialBreaker(), 3, T0).state;
      let lastTicket: { epoch: number; probe: boolean } | undefined;
      for (const step of row.steps) {
        const now = T0 + step.at;
        let transition: BreakerTransition | undefined;
        if (step.admit) {
          const r = breakerAdmit(s, now, P);
          s = r.state;
          transition = r.transition;
          const got = r.decision.kind === "reject" ? `reject-${r.decision.reason}` : r.decision.kind;
          assert.equal(got, step.admit, `at +${step.at}`);
          if (r.decision.kind !== "reject") lastTicket = r.decision.ticket;
          if (r.decision.kind === "reject") assert.ok(r.decision.retryAfterMs > 0);
        }
        if (step.record) {
          assert.ok(lastTicket, "a ticket to report");
          const r = breakerRecord(s, lastTicket, step.record, now, P);
          s = r.state;
          transition = r.transition;
        }
        assert.equal(breakerMode(s, now), step.expectMode, `mode at +${step.at}`);
        assert.equal(transition, step.transition, `transition at +${step.at}`);
        if (step.openMs !== undefined) assert.equal(s.openMs, step.openMs);
      }
    });
  }

  it("late reports of calls admitted before the breaker opened change nothing (opossum #381, #385)", () => {
    let s = initialBreaker();
    const early = breakerAdmit(s, T0, P);
    if (early.decision.kind !== "allow") return assert.fail();
    s = failTimes(early.state, 3, T0).state;
    assert.equal(s.mode, "open");
    // the early call succeeds after the breaker opened: it must not close it
    const late = breakerRecord(s, early.decision.ticket, "success", T0 + 10, P);
    assert.equal(late.state.mode, "open");
    assert.equal(late.transition, undefined);
    // ... nor fail it again (no extra reopen, no cool-off growth)
    const lateFail = breakerRecord(s, early.decision.ticket, "failure", T0 + 10, P);
    assert.deepEqual({ ...lateFail.state, seenAt: s.seenAt }, s);
    // and a stale probe ticket after the breaker closed does nothing either
    const probe = breakerAdmit(s, T0 + 1000, P);
    if (probe.decision.kind !== "probe") return assert.fail();
    const closed = breakerRecord(probe.state, probe.decision.ticket, "success", T0 + 1001, P).state;
    assert.deepEqual(breakerRecord(closed, probe.decision.ticket, "failure", T0 + 1002, P).state, closed);
  });

  it("cancel gives an unused probe back; a stale cancel changes nothing", () => {
    const s = failTimes(initialBreaker(), 3, T0).state;
    const probe = breakerAdmit(s, T0 + 1000, P);
    if (probe.decision.kind !== "probe") return assert.fail();
    const back = breakerCancel(probe.state, probe.decision.ticket);
    assert.equal(breakerAdmit(back, T0 + 1001, P).decision.kind, "probe");
    assert.deepEqual(breakerCancel(back, { epoch: 0, probe: false }), back);
  });

  it("a clock that jumps backwards does not stretch the cool-off: elapsed time is carried over", () => {
    const s = failTimes(initialBreaker(), 3, T0).state;
    const r1 = breakerAdmit(s, T0 + 600, P); // 600 ms of the 1000 ms cool-off elapsed
    assert.equal(r1.decision.kind, "reject");
    const back = T0 - 3_600_000; // then the clock jumps one hour back
    const r2 = breakerAdmit(r1.state, back, P);
    assert.equal(r2.decision.kind === "reject" && Math.round(r2.decision.retryAfterMs), 400);
    assert.equal(breakerAdmit(r2.state, back + 399, P).decision.kind, "reject");
    assert.equal(breakerAdmit(r2.state, back + 400, P).decision.kind, "probe", "400 ms later, not an hour later");
  });

  it("breakerWouldAdmit agrees with breakerAdmit and changes nothing", () => {
    const s = failTimes(initialBreaker(), 3, T0).state;
    for (const dt of [0, 500, 999, 1000, 4000]) {
      const w = breakerWouldAdmit(s, T0 + dt, P);
      const a = breakerAdmit(s, T0 + dt, P);
      assert.equal(w.admit, a.decision.kind !== "reject", `+${dt}`);
    }
  });

  it("classifyOutcome: answers and 4xx count for the upstream; 5xx, 408, 429, errors and full-length timeouts against it", () => {
    assert.equal(classifyOutcome(undefined, 3000, 3000), "success");
    assert.equal(classifyOutcome({ statusCode: 502, upstreamStatus: 404 }, 3000, 3000), "success");
    assert.equal(classifyOutcome({ statusCode: 502, upstreamStatus: 400 }, 3000, 3000), "success");
    for (const st of [500, 502, 503, 504, 408, 429]) assert.equal(classifyOutcome({ statusCode: 502, upstreamStatus: st }, 3000, 3000), "failure", String(st));
    assert.equal(classifyOutcome({ statusCode: 502 }, 3000, 3000), "failure");
    assert.equal(classifyOutcome({ statusCode: 504 }, 3000, 3000), "failure");
    assert.equal(classifyOutcome({ statusCode: 504 }, 1500, 3000), "failure");
    assert.equal(classifyOutcome({ statusCode: 504 }, 1499, 3000), "neutral", "the caller's deadline, not the upstream");
  });

  it("normalizeBreakerPolicy makes any input sane", () => {
    const p = normalizeBreakerPolicy({ failureThreshold: 0, openMs: -5, maxOpenMs: -1, backoffMultiplier: 0.5, probeTimeoutMs: Number.NaN });
    assert.ok(p.failureThreshold >= 1 && p.openMs >= 0 && p.maxOpenMs >= p.openMs && p.backoffMultiplier >= 1 && p.probeTimeoutMs >= 1);
    assert.equal(normalizeBreakerPolicy({ openMs: 9000 }).maxOpenMs, 9000, "max is never below the base");
  });
});

describe("cache/bulkhead (pure)", () => {
  const BP = normalizeBulkheadPolicy({ maxConcurrent: 2, maxQueue: 1 });
  it("runs up to the limit, queues up to the bound, sheds beyond; no barging past waiters", () => {
    let s = { active: 0, queued: 0 };
    const seq: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = bulkheadAdmit(s, BP, { mayQueue: true });
      s = r.state;
      seq.push(r.decision);
    }
    assert.deepEqual(seq, ["run", "run", "queue", "shed"]);
    assert.deepEqual(s, { active: 2, queued: 1 });
    s = bulkheadRelease(s);
    // A slot is free, but someone is queued: a newcomer does not jump the queue.
    assert.equal(bulkheadAdmit(s, BP, { mayQueue: true }).decision, "shed");
    const w = bulkheadAdmit(s, BP, { mayQueue: true, fromQueue: true });
    assert.equal(w.decision, "run");
    assert.deepEqual(w.state, { active: 2, queued: 0 });
    assert.deepEqual(bulkheadLeaveQueue({ active: 0, queued: 0 }), { active: 0, queued: 0 });
    assert.deepEqual(bulkheadRelease({ active: 0, queued: 3 }), { active: 0, queued: 3 });
  });
  it("a call that may not queue (a probe) is shed when no slot is free", () => {
    assert.equal(bulkheadAdmit({ active: 2, queued: 0 }, BP, { mayQueue: false }).decision, "shed");
  });
  it("normalizeBulkheadPolicy: at least one slot, no negative queue", () => {
    assert.deepEqual(normalizeBulkheadPolicy({ maxConcurrent: 0, maxQueue: -3 }), { maxConcurrent: 1, maxQueue: 0 });
  });
});

describe("cache/admission (breaker + bulkhead, pure)", () => {
  const GP: GatePolicy = { breaker: P, bulkhead: { maxConcurrent: 1, maxQueue: 1 } };
  it("an open breaker rejects before the bulkhead is touched; a queued call offered a slot is rejected if it opened meanwhile", () => {
    let s: GateState = { ...initialGate(), breaker: failTimes(initialBreaker(), 3, T0).state };
    const r = gateAdmit(s, T0 + 1, GP);
    assert.deepEqual(r.admission.kind === "reject" && r.admission.reason, "open");
    assert.deepEqual(r.state.bulkhead, { active: 0, queued: 0 });
    s = { ...initialGate(), bulkhead: { active: 1, queued: 1 }, breaker: failTimes(initialBreaker(), 3, T0).state };
    const q = gateAdmit(s, T0 + 1, GP, { fromQueue: true });
    assert.equal(q.admission.kind, "reject");
    assert.deepEqual(q.state.bulkhead, { active: 1, queued: 0 }, "it left the queue");
  });
  it("the probe needs a free slot and never queues; without one it is shed and the probe stays available", () => {
    const s: GateState = { bulkhead: { active: 1, queued: 0 }, breaker: failTimes(initialBreaker(), 3, T0).state };
    const r = gateAdmit(s, T0 + 1000, GP);
    assert.equal(r.admission.kind === "reject" && r.admission.reason, "shed");
    assert.equal(breakerAdmit(r.state.breaker, T0 + 1000, P).decision.kind, "probe", "probe still available");
    const freed = gateAdmit({ ...r.state, bulkhead: { active: 0, queued: 0 } }, T0 + 1000, GP);
    assert.equal(freed.admission.kind === "run" && freed.admission.ticket.breaker?.probe, true);
    assert.equal(freed.transition, "half-opened");
  });
  it("complete frees the slot and reports to the breaker; cancel frees the slot and the probe", () => {
    const a = gateAdmit(initialGate(), T0, GP);
    if (a.admission.kind !== "run") return assert.fail();
    const done = gateComplete(a.state, a.admission.ticket, "failure", T0, GP);
    assert.deepEqual(done.state.bulkhead, { active: 0, queued: 0 });
    assert.equal(done.state.breaker.failures, 1);
    const c = gateCancel(a.state, a.admission.ticket);
    assert.deepEqual(c.bulkhead, { active: 0, queued: 0 });
    assert.deepEqual(gateLeaveQueue({ ...initialGate(), bulkhead: { active: 0, queued: 1 } }).bulkhead, { active: 0, queued: 0 });
  });
  it("a slow call counts as a failure at once and keeps its slot; its end then counts for nothing", () => {
    const GP3: GatePolicy = { breaker: { ...P, failureThreshold: 1 }, bulkhead: { maxConcurrent: 2, maxQueue: 0 } };
    const a = gateAdmit(initialGate(), T0, GP3);
    if (a.admission.kind !== "run") return assert.fail();
    const slow = gateSlowCall(a.state, a.admission.ticket, T0 + 1000, GP3);
    assert.equal(slow.transition, "opened");
    assert.deepEqual(slow.state.bulkhead, { active: 1, queued: 0 }, "still in flight");
    assert.equal(countedOutcome(true, "success"), "neutral");
    assert.equal(countedOutcome(true, "failure"), "neutral");
    assert.equal(countedOutcome(false, "failure"), "failure");
    const end = gateComplete(slow.state, a.admission.ticket, countedOutcome(true, "success"), T0 + 1200, GP3);
    assert.equal(end.state.breaker.mode, "open", "the late success of the slow call does not close it");
    assert.deepEqual(end.state.bulkhead, { active: 0, queued: 0 });
    assert.deepEqual(gateSlowCall(initialGate(), { slot: true }, T0, {}), { state: initialGate() });
  });

  it("without breaker and bulkhead everything runs; gatePeek only looks", () => {
    const r = gateAdmit(initialGate(), T0, {});
    assert.equal(r.admission.kind, "run");
    const open: GateState = { ...initialGate(), breaker: failTimes(initialBreaker(), 3, T0).state };
    assert.equal(gatePeek(open, T0, GP).admit, false);
    assert.equal(gatePeek(open, T0, {}).admit, true);
  });
});

// ---------------------------------------------------------------------------------------------
// Seeded randomized simulation of the gate as the shell drives it (admit, queue, drain on release,
// waiter timeouts, cancels), with a world that is healthy, failing or hanging in turns.


interface GateImpl {
  admit: typeof gateAdmit;
  complete: typeof gateComplete;
  cancel: typeof gateCancel;
  leaveQueue: typeof gateLeaveQueue;
  slow: typeof gateSlowCall;
  counted: typeof countedOutcome;
}
const REAL: GateImpl = { admit: gateAdmit, complete: gateComplete, cancel: gateCancel, leaveQueue: gateLeaveQueue, slow: gateSlowCall, counted: countedOutcome };

interface SimStats { steps: number; opened: number; closed: number; probes: number; shed: number; rejected: number; maxActive: number; slow: number }

/** Run the simulation; throws an AssertionError naming seed and step on the first broken invariant. */
function simulate(impl: GateImpl, seed: number, steps: number): SimStats {
  const rnd = mulberry32(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const breaker = normalizeBreakerPolicy({ failureThreshold: int(1, 5), openMs: int(20, 400), maxOpenMs: int(400, 2000), backoffMultiplier: 1 + rnd() * 2, probeTimeoutMs: 3000 });
  const bulkhead = normalizeBulkheadPolicy({ maxConcurrent: int(1, 6), maxQueue: int(0, 4) });
  const policy: GatePolicy = { breaker, bulkhead };
  const callTimeoutMs = 1500; // every call settles within this (runLoader's timer); < probeTimeoutMs
  let s = initialGate();
  let now = 5_000_000;
  let waiters = 0;
  let consecutive = 0; // failures of current-epoch calls while closed (the model of "N consecutive")
  const outstanding: { ticket: GateTicket; dueAt: number; counted: boolean }[] = [];
  const aborting: { ticket: GateTicket; dueAt: number; counted: boolean }[] = [];
  const stats: SimStats = { steps: 0, opened: 0, closed: 0, probes: 0, shed: 0, rejected: 0, maxActive: 0, slow: 0 };
  let regime: "healthy" | "failing" | "hanging" = "healthy";
  const ctx = (what: string): string => `${what} (seed ${seed}, step ${stats.steps}, now ${now}, state ${JSON.stringify(s)}, outstanding ${outstanding.length}, waiters ${waiters})`;

  const check = (): void => {
    const slots = [...outstanding, ...aborting].filter((o) => o.ticket.slot).length;
    assert.ok(s.bulkhead.active <= bulkhead.maxConcurrent, ctx("more than the limit in flight"));
    assert.equal(s.bulkhead.active, slots, ctx("slot accounting"));
    assert.ok(s.bulkhead.queued <= bulkhead.maxQueue, ctx("queue above its bound"));
    assert.equal(s.bulkhead.queued, waiters, ctx("queue accounting"));
    const probes = outstanding.filter((o) => o.ticket.breaker?.probe).length;
    assert.ok(probes <= 1, ctx("more than one probe in flight"));
    if (s.breaker.mode !== "closed") {
      assert.ok(s.breaker.openedAt <= now, ctx("openedAt in the future"));
      assert.ok(s.breaker.openMs >= breaker.openMs && s.breaker.openMs <= breaker.maxOpenMs, ctx("cool-off out of bounds"));
      const current = outstanding.filter((o) => o.ticket.breaker && o.ticket.breaker.epoch === s.breaker.epoch && !o.ticket.breaker.probe).length;
      assert.equal(current, 0, ctx("a normal call admitted while not closed"));
    }
    if (s.breaker.probeAt >= 0) assert.ok(s.breaker.probeAt <= now, ctx("probe in the future"));
    stats.maxActive = Math.max(stats.maxActive, s.bulkhead.active);
  };

  const onTransition = (t: BreakerTransition | undefined): void => {
    if (t === "opened" || t === "reopened") {
      stats.opened++;
      // the shell refuses every waiter when the breaker opens...
      while (waiters > 0) {
        s = impl.leaveQueue(s);
        waiters--;
      }
      // ... and aborts every call in flight: each reports "neutral" a little later (asynchronously,
      // its slot held until then), possibly after further transitions.
      aborting.push(...outstanding.splice(0));
    }
    if (t === "closed") stats.closed++;
    if (t === "half-opened") stats.probes++;
  };

  const admitted = (a: Admission, fromOpenEligible: boolean): void => {
    if (a.kind === "run") {
      // A hanging upstream holds every call for the full timeout.
      outstanding.push({ ticket: a.ticket, dueAt: now + (regime === "hanging" ? callTimeoutMs : int(1, callTimeoutMs)), counted: false });
      if (a.ticket.breaker?.probe) assert.ok(fromOpenEligible, ctx("a probe before the cool-off was over"));
    } else if (a.kind === "reject") {
      if (a.reason === "shed") stats.shed++; else stats.rejected++;
      assert.ok(a.retryAfterMs > 0, ctx("Retry-After must be positive"));
    }
  };

  /** The model's own reading of the spec: may a call pass the breaker right now? */
  const eligibleNow = (): boolean => {
    const b = s.breaker;
    if (b.mode === "closed") return true;
    if (b.mode === "open") return now - b.openedAt >= b.openMs;
    return b.probeAt < 0 || now - b.probeAt >= breaker.probeTimeoutMs;
  };

  const drain = (): void => {
    while (waiters > 0 && s.bulkhead.active < bulkhead.maxConcurrent) {
      const eligible = eligibleNow();
      const r = impl.admit(s, now, policy, { fromQueue: true });
      s = r.state;
      waiters--;
      assert.notEqual(r.admission.kind, "queue", ctx("a waiter queued again"));
      admitted(r.admission, eligible);
      onTransition(r.transition);
      check();
    }
  };

  /** The model of what a report should count: a slow call counts once, when it becomes slow. */
  const finish = (i: number, raw: BreakerOutcome): void => {
    const [o] = outstanding.splice(i, 1);
    // The model's own reading: a call already counted as slow counts for nothing when it ends.
    report(o, o.counted ? "neutral" : raw, () => impl.complete(s, o.ticket, impl.counted(o.counted, raw), now, policy), true);
  };
  const slowCall = (i: number): void => {
    const o = outstanding[i];
    o.counted = true;
    report(o, "failure", () => impl.slow(s, o.ticket, now, policy), false);
  };
  const report = (o: { ticket: GateTicket; counted: boolean }, outcome: BreakerOutcome, apply: () => { state: GateState; transition?: BreakerTransition }, ends: boolean): void => {
    const before = s;
    const closedBefore = before.breaker.mode === "closed";
    const counts = closedBefore && o.ticket.breaker && !o.ticket.breaker.probe && o.ticket.breaker.epoch === before.breaker.epoch;
    const r = apply();
    s = r.state;
    if (counts && outcome === "failure") consecutive++;
    if (counts && outcome === "success") consecutive = 0;
    if (r.transition === "closed") {
      assert.equal(outcome, "success", ctx("closed without a success"));
      assert.ok(o.ticket.breaker?.probe && o.ticket.breaker.epoch === before.breaker.epoch, ctx("closed by something other than the current probe"));
      consecutive = 0;
    }
    if (r.transition === "opened") {
      assert.ok(consecutive >= breaker.failureThreshold, ctx(`opened after ${consecutive} consecutive failures`));
      consecutive = 0;
    }
    if (r.transition === "reopened") assert.ok(o.ticket.breaker?.probe && outcome === "failure", ctx("reopened without a failed probe"));
    if (!closedBefore && s.breaker.mode === "closed") assert.equal(r.transition, "closed", ctx("closed silently"));
    onTransition(r.transition);
    check();
    if (ends) drain();
  };

  for (stats.steps = 0; stats.steps < steps; stats.steps++) {
    now += int(0, 120); // monotonic
    if (rnd() < 0.03) regime = (["healthy", "failing", "hanging"] as const)[int(0, 2)];
    // Calls past their timeout settle now (as runLoader's timer makes them): a failure.
    // (A failure may open the breaker, which aborts every other call: re-check the index.)
    for (let i = outstanding.length - 1; i >= 0; i--) if (i < outstanding.length && outstanding[i].dueAt <= now) finish(i, regime === "healthy" ? "success" : "failure");
    const x = rnd();
    if (x < 0.45) {
      const eligible = eligibleNow();
      const slotFree = s.bulkhead.active < bulkhead.maxConcurrent && waiters === 0;
      const r = impl.admit(s, now, policy);
      s = r.state;
      if (r.admission.kind === "queue") waiters++;
      admitted(r.admission, eligible);
      // Liveness: an open breaker whose cool-off is over lets the next call through when a slot is free.
      if (eligible && slotFree && s.breaker.mode !== "closed") assert.equal(r.admission.kind, "run", ctx("stuck: cool-off over, slot free, call refused"));
      onTransition(r.transition);
      check();
    } else if (x < 0.8 && outstanding.length > 0 && regime !== "hanging") {
      const i = int(0, outstanding.length - 1);
      const y = rnd();
      const outcome: BreakerOutcome = regime === "healthy" ? (y < 0.9 ? "success" : y < 0.97 ? "failure" : "neutral") : (y < 0.85 ? "failure" : y < 0.95 ? "success" : "neutral");
      finish(i, outcome);
    } else if (x < 0.86 && outstanding.length > 0 && regime !== "hanging") {
      const [o] = outstanding.splice(int(0, outstanding.length - 1), 1);
      s = impl.cancel(s, o.ticket);
      check();
      drain();
    } else if (x < 0.93 && waiters > 0) {
      s = impl.leaveQueue(s); // a waiter's wait ran out
      waiters--;
      check();
    } else if (x < 0.95 && aborting.length > 0) {
      // an aborted call's rejection reaches the shell: "neutral"
      const [o] = aborting.splice(int(0, aborting.length - 1), 1);
      report(o, "neutral", () => impl.complete(s, o.ticket, impl.counted(o.counted, "neutral"), now, policy), true);
    } else if (x < 0.97 && outstanding.some((o) => !o.counted)) {
      // a call in flight passes slowCallMs (the shell's timer)
      const candidates = outstanding.map((o, i) => (o.counted ? -1 : i)).filter((i) => i >= 0);
      slowCall(candidates[int(0, candidates.length - 1)]);
      stats.slow++;
    }
  }
  return stats;
}

describe("cache/admission: seeded randomized simulation", () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: 4000 steps keep every invariant (limit, one probe, closes only on success, N consecutive failures, monotonic time, liveness)`, () => {
      const stats = simulate(REAL, seed, 4000);
      // The run must actually have exercised the machine, or the invariants prove nothing.
      assert.ok(stats.opened > 0 && stats.closed > 0 && stats.probes > 0, JSON.stringify(stats));
      assert.ok(stats.shed > 0 && stats.rejected > 0 && stats.slow > 0, JSON.stringify(stats));
    });
  }

  // Each mutant breaks one guarantee; the harness must fail on it. (A probe that bypasses the
  // bulkhead is not among them: when only this gate admits calls, the breaker opens with at least
  // one slot free and admits nothing new while open, so the probe always finds a slot; the guard
  // in gateAdmit is covered by the table test "the probe needs a free slot" above.)
  const mutants: { name: string; impl: GateImpl; expect: RegExp }[] = [
    {
      name: "no epoch check (a late success of an old call closes the breaker)",
      impl: { ...REAL, complete: (s, t, o, now, p) => gateComplete(s, t.breaker ? { ...t, breaker: { ...t.breaker, epoch: s.breaker.epoch, probe: s.breaker.mode === "half-open" } } : t, o, now, p) },
      expect: /closed by something other than the current probe|opened after|reopened without|a normal call admitted|more than one probe|closed without/,
    },
    {
      name: "half-open lets every call through",
      impl: {
        ...REAL,
        admit: (s, now, p, o) => {
          const r = gateAdmit(s, now, p, o);
          if (r.admission.kind === "reject" && r.admission.reason === "probing") {
            return { state: { ...r.state, bulkhead: { ...r.state.bulkhead, active: r.state.bulkhead.active + 1 } }, admission: { kind: "run", ticket: { slot: true, breaker: { epoch: s.breaker.epoch, probe: true } } } };
          }
          return r;
        },
      },
      expect: /more than one probe|more than the limit|a probe before the cool-off was over/,
    },
    {
      name: "the breaker never half-opens (stuck open)",
      impl: { ...REAL, admit: (s, now, p, o) => (s.breaker.mode === "closed" ? gateAdmit(s, now, p, o) : { state: o?.fromQueue ? gateLeaveQueue(s) : s, admission: { kind: "reject", reason: "open", retryAfterMs: 1 } }) },
      expect: /stuck/,
    },
    {
      name: "opens one failure too early",
      impl: {
        ...REAL,
        complete: (s, t, o, now, p) => gateComplete(s, t, o, now, { ...p, breaker: { ...p.breaker!, failureThreshold: Math.max(1, p.breaker!.failureThreshold - 1) } }),
      },
      expect: /opened after/,
    },
    {
      name: "a slow call counted again when it ends",
      impl: { ...REAL, counted: (_c, o) => o },
      expect: /opened after|reopened without|closed without/,
    },
    {
      name: "a released slot is not given back",
      impl: { ...REAL, complete: (s, t, o, now, p) => { const r = gateComplete(s, t, o, now, p); return { ...r, state: { ...r.state, bulkhead: { ...r.state.bulkhead, active: s.bulkhead.active } } }; } },
      expect: /slot accounting/,
    },
  ];
  for (const m of mutants) {
    it(`catches the mutant: ${m.name}`, () => {
      let caught: Error | undefined;
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        try {
          simulate(m.impl, seed, 4000);
        } catch (e) {
          caught = e as Error;
          break;
        }
      }
      assert.ok(caught, "the simulation did not notice");
      assert.match(caught.message, m.expect);
    });
  }
});

describe("cache/breaker: a clock that jumps backwards (seeded randomized)", () => {
  for (const seed of [11, 12, 13]) {
    it(`seed ${seed}: timestamps never lie in the future, and an open breaker probes within maxOpenMs of forward time`, () => {
      const rnd = mulberry32(seed);
      let s = initialBreaker();
      let now = 1_700_000_000_000; // epoch ms, as the cache's clock gives them
      let forwardSinceOpen = 0; // forward-moving time since the breaker last (re)opened
      let probes = 0;
      for (let step = 0; step < 5000; step++) {
        const jump = rnd() < 0.05 ? -Math.floor(rnd() * 100_000) : Math.floor(rnd() * 200);
        now += jump;
        if (jump > 0 && s.mode === "open") forwardSinceOpen += jump;
        const a = breakerAdmit(s, now, P);
        s = a.state;
        const ctx = `seed ${seed} step ${step} now ${now} ${JSON.stringify(s)}`;
        if (s.mode !== "closed") assert.ok(s.openedAt <= now && (s.probeAt < 0 || s.probeAt <= now), `future timestamp: ${ctx}`);
        // A step moves at most 200 ms forward, so the first call after the cool-off comes within 200 ms of its end.
        if (s.mode === "open") assert.ok(forwardSinceOpen <= P.maxOpenMs + 200, `open for ${forwardSinceOpen} ms of forward time: ${ctx}`);
        if (a.decision.kind === "reject") continue;
        if (a.decision.kind === "probe") probes++;
        const outcome: BreakerOutcome = rnd() < 0.6 ? "failure" : "success";
        const r = breakerRecord(s, a.decision.ticket, outcome, now, P);
        s = r.state;
        if (r.transition === "opened" || r.transition === "reopened") forwardSinceOpen = 0;
      }
      assert.ok(probes > 10, `only ${probes} probes`);
    });
  }
});
