import * as assert from "node:assert/strict";
import {
  applyAlarmHint,
  assessDemand,
  assessFailover,
  decideFailover,
  demandQueryRange,
  needsDemand,
  normalizeFailoverConfig,
  NORMAL_WEIGHTS,
  type AlarmHint,
  type AlarmStateValue,
  type DemandMinute,
  type FailoverAction,
  type FailoverConfig,
  type ObservedDemand,
  type ObservedState,
  type Weights,
} from "../../../functions/failover/decide";
import { mulberry32 } from "../../support/prng";

/** A whole minute (the demand series is per minute), so window arithmetic stays readable. */
const T0 = 1_700_000_040_000;
const SEC = 1000;
const MIN = 60 * SEC;

/** Dev-like config: no warm Fargate, all traffic to Fargate when failed over. Threshold 0.5 × 10 = 5. */
const DEV: FailoverConfig = {
  failoverDesiredCount: 3,
  baselineDesiredCount: 0,
  cooldownSeconds: 600,
  failedOverWeights: { lambda: 0, fargate: 1 },
  minHealthyTargets: 1,
  shiftBackDelaySeconds: 0,
  treatInsufficientDataAsAlarm: false,
  lambdaReservedConcurrency: 10,
  failbackDemandFraction: 0.5,
  failbackWindowSeconds: 600,
  demandLagSeconds: 180,
  minResponseTimeSeconds: 0.01,
};
/** Prod-like config: warm standby, split weights, hysteresis. Threshold 0.5 × 200 = 100. */
const PROD: FailoverConfig = {
  ...DEV,
  baselineDesiredCount: 2,
  failoverDesiredCount: 6,
  failedOverWeights: { lambda: 1, fargate: 3 },
  minHealthyTargets: 2,
  shiftBackDelaySeconds: 120,
  lambdaReservedConcurrency: 200,
};
const F_DEV: Weights = DEV.failedOverWeights;
const N: Weights = { lambda: 1, fargate: 0 };

/** Response time of the simulated app, seconds: requests/min = concurrency × 60 / RT. */
const RT = 0.2;
/** Requests per minute that make `concurrency` by Little's law at RT. */
const rpm = (concurrency: number): number => (concurrency * 60) / RT;
/**
 * A demand series: one datapoint per minute from `fromMin` to `toMin` minutes relative to T0
 * (negative = past; toMin exclusive), each `concurrency` (number or per-minute function).
 */
function series(fromMin: number, toMin: number, concurrency: number | ((m: number) => number), rt = RT): DemandMinute[] {
  const out: DemandMinute[] = [];
  for (let m = fromMin; m < toMin; m++) {
    const c = typeof concurrency === "number" ? concurrency : concurrency(m);
    if (c > 0) out.push({ startMs: T0 + m * MIN, requests: rpm(c) * (rt / RT), responseTimeSeconds: rt });
  }
  return out;
}
const demandOf = (...parts: DemandMinute[][]): ObservedDemand => ({ minutes: parts.flat() });
/** No request reported at all: Fargate idle. */
const IDLE: ObservedDemand = { minutes: [] };
/** The last hour at 1 (DEV threshold 5): low, but Fargate is not idle. */
const LOW_DEV = demandOf(series(-60, 0, 1));
/** The last hour at 8: above the DEV threshold. */
const HIGH_DEV = demandOf(series(-60, 0, 8));

function state(p: {
  alarms?: Array<[AlarmStateValue, number]>;
  weights?: Weights;
  desired?: number;
  running?: number;
  healthy?: number;
  demand?: ObservedDemand;
}): ObservedState {
  const alarms = p.alarms ?? [["OK", T0 - 60 * MIN], ["OK", T0 - 60 * MIN]];
  return {
    alarms: alarms.map(([s, at], i) => ({ name: `alarm-${i}`, state: s, stateUpdatedAtMs: at })),
    weights: p.weights ?? N,
    service: { desiredCount: p.desired ?? 0, runningCount: p.running ?? p.desired ?? 0 },
    fargateHealthyTargets: p.healthy ?? 0,
    ...(p.demand ? { demand: p.demand } : {}),
  };
}
const scale = (desiredCount: number): FailoverAction => ({ type: "scaleService", desiredCount });
const weights = (w: Weights): FailoverAction => ({ type: "setWeights", lambda: w.lambda, fargate: w.fargate });
/** Alarms that went OK `minutesAgo` ago (one of them; the other long ago). */
const okSince = (minutesAgo: number): Array<[AlarmStateValue, number]> => [["OK", T0 - minutesAgo * MIN], ["OK", T0 - 120 * MIN]];

describe("failover decide: transition table", () => {
  const ALARM_NOW: Array<[AlarmStateValue, number]> = [["ALARM", T0 - 30 * SEC], ["OK", T0 - 60 * MIN]];
  const cases: Array<{ name: string; cfg?: FailoverConfig; s: ObservedState; now?: number; want: FailoverAction[]; phase?: string }> = [
    { name: "normal: all OK, Lambda only, no tasks", s: state({}), want: [] },
    { name: "alarm → scale up to the failover count", s: state({ alarms: ALARM_NOW }), want: [scale(3)] },
    {
      name: "scaled but no healthy target → no weight shift",
      s: state({ alarms: ALARM_NOW, desired: 3, running: 3, healthy: 0 }),
      want: [],
    },
    {
      name: "first healthy target → shift to Fargate",
      s: state({ alarms: ALARM_NOW, desired: 3, running: 2, healthy: 1 }),
      want: [weights(F_DEV)],
    },
    {
      name: "failed over and healthy → nothing to do",
      s: state({ alarms: ALARM_NOW, weights: F_DEV, desired: 3, running: 3, healthy: 3, demand: HIGH_DEV }),
      want: [],
    },
    {
      name: "failed over, Fargate loses every healthy target → back to Lambda",
      s: state({ alarms: ALARM_NOW, weights: F_DEV, desired: 3, running: 1, healthy: 0 }),
      want: [weights(N)],
    },
    {
      name: "alarm just cleared (traffic left Lambda) → stay failed over: the window must follow the alarms",
      s: state({ alarms: okSince(1 / 6), weights: F_DEV, desired: 3, healthy: 3, demand: LOW_DEV }),
      want: [],
      phase: "shift-back-pending",
    },
    {
      name: "alarms quiet but Fargate carries demand above 50 % of Lambda's cap → stay failed over",
      s: state({ alarms: okSince(50), weights: F_DEV, desired: 3, healthy: 3, demand: HIGH_DEV }),
      want: [],
      phase: "demand-high",
    },
    {
      name: "demand below the threshold for the whole window after the alarms → fail back, keep capacity",
      s: state({ alarms: okSince(50), weights: F_DEV, desired: 3, healthy: 3, demand: LOW_DEV }),
      want: [weights(N)],
      phase: "shifting-back",
    },
    {
      name: "window exactly after the last alarm update (13 min: 10 window + 3 lag) → fail back",
      s: state({ alarms: okSince(13), weights: F_DEV, desired: 3, healthy: 3, demand: LOW_DEV }),
      want: [weights(N)],
    },
    {
      name: "alarm update 12 min ago: the window would start before it → stay",
      s: state({ alarms: okSince(12), weights: F_DEV, desired: 3, healthy: 3, demand: LOW_DEV }),
      want: [],
      phase: "shift-back-pending",
    },
    {
      name: "one busy minute in the window → stay (sustained means every minute)",
      s: state({ alarms: okSince(50), weights: F_DEV, desired: 3, healthy: 3, demand: demandOf(series(-60, 0, (m) => (m === -8 ? 6 : 1))) }),
      want: [],
      phase: "demand-high",
    },
    {
      name: "a busy minute older than the window does not block",
      s: state({ alarms: okSince(50), weights: F_DEV, desired: 3, healthy: 3, demand: demandOf(series(-60, 0, (m) => (m === -14 ? 9 : 1))) }),
      want: [weights(N)],
    },
    {
      name: "a busy minute newer than the window (already reported inside the lag) blocks too",
      s: state({ alarms: okSince(50), weights: F_DEV, desired: 3, healthy: 3, demand: demandOf(series(-60, 0, (m) => (m === -2 ? 6 : 1))) }),
      want: [],
      phase: "demand-high",
    },
    {
      name: "demand exactly at the threshold → stay (strictly below)",
      s: state({ alarms: okSince(50), weights: F_DEV, desired: 3, healthy: 3, demand: demandOf(series(-60, 0, 5)) }),
      want: [],
    },
    {
      name: "missing minutes inside the window are minutes without requests → fail back",
      s: state({ alarms: okSince(50), weights: F_DEV, desired: 3, healthy: 3, demand: demandOf(series(-60, -13, 9), series(-1, 0, 1)) }),
      want: [weights(N)],
    },
    {
      name: "no demand observation → stay failed over (no failback on alarms alone)",
      s: state({ alarms: okSince(50), weights: F_DEV, desired: 3, healthy: 3 }),
      want: [],
      phase: "demand-unknown",
    },
    {
      name: "a minute with requests but no response time uses the largest response time seen",
      // 1500 requests/min: 5 at 0.2 s (the series' largest), 0.25 at the 10 ms floor.
      s: state({ alarms: okSince(50), weights: F_DEV, desired: 3, healthy: 3, demand: demandOf(series(-60, -6, 1), series(-4, 0, 1), [{ startMs: T0 - 5 * MIN, requests: 1500 }]) }),
      want: [],
    },
    {
      name: "the response-time floor: 1 ms Fargate responses still count as 10 ms of Lambda",
      // 30,000 requests/min = 500/s: 0.5 at 1 ms, 5 at the 10 ms floor (= the threshold).
      s: state({ alarms: okSince(50), weights: F_DEV, desired: 3, healthy: 3, demand: demandOf(series(-60, 0, 1, 0.001).map((m) => ({ ...m, requests: 30_000 }))) }),
      want: [],
    },
    {
      name: "after the failback, Fargate served requests within the cooldown → keep capacity",
      s: state({ alarms: okSince(50), desired: 3, healthy: 3, demand: demandOf(series(-60, -6, 1)) }),
      want: [],
      phase: "cooling-down",
    },
    {
      name: "Fargate idle for the cooldown (ending the lag ago) → scale to baseline",
      s: state({ alarms: okSince(50), desired: 3, healthy: 3, demand: demandOf(series(-60, -13, 1)) }),
      want: [scale(0)],
    },
    {
      name: "scale-down needs a demand observation (Fargate idle must be known)",
      s: state({ alarms: okSince(50), desired: 3, healthy: 3 }),
      want: [],
    },
    {
      name: "within cooldown → keep capacity",
      s: state({ alarms: [["OK", T0 - 5 * MIN], ["OK", T0 - 60 * MIN]], desired: 3, healthy: 3, demand: IDLE }),
      want: [],
    },
    {
      name: "cooldown measured from the most recent alarm update (not the oldest)",
      s: state({ alarms: [["OK", T0 - 60 * MIN], ["OK", T0 - 9 * MIN]], desired: 3, healthy: 3, demand: IDLE }),
      want: [],
    },
    {
      name: "after cooldown → scale to baseline",
      s: state({ alarms: [["OK", T0 - 11 * MIN], ["OK", T0 - 60 * MIN]], desired: 3, healthy: 3, demand: IDLE }),
      want: [scale(0)],
    },
    {
      name: "exactly at cooldown → scale to baseline",
      s: state({ alarms: [["OK", T0 - 10 * MIN], ["OK", T0 - 60 * MIN]], desired: 3, healthy: 3, demand: IDLE }),
      want: [scale(0)],
    },
    {
      name: "catch-up after a long outage of the failover function, no traffic: weights first, then scale-down",
      s: state({ alarms: [["OK", T0 - 30 * MIN], ["OK", T0 - 60 * MIN]], weights: F_DEV, desired: 3, healthy: 3, demand: IDLE }),
      want: [weights(N), scale(0)],
    },
    {
      name: "INSUFFICIENT_DATA is not alarming",
      s: state({ alarms: [["INSUFFICIENT_DATA", T0 - 30 * SEC], ["OK", T0 - 60 * MIN]] }),
      want: [],
    },
    {
      name: "INSUFFICIENT_DATA while failed over, low demand for the window → fail back (it is not ALARM)",
      s: state({ alarms: [["INSUFFICIENT_DATA", T0 - 20 * MIN], ["OK", T0 - 60 * MIN]], weights: F_DEV, desired: 3, healthy: 3, demand: LOW_DEV }),
      want: [weights(N)],
    },
    {
      name: "INSUFFICIENT_DATA counts as alarming when configured",
      cfg: { ...DEV, treatInsufficientDataAsAlarm: true },
      s: state({ alarms: [["INSUFFICIENT_DATA", T0 - 30 * SEC], ["OK", T0 - 60 * MIN]] }),
      want: [scale(3)],
    },
    {
      name: "INSUFFICIENT_DATA update restarts the quiet clock (conservative)",
      s: state({ alarms: [["INSUFFICIENT_DATA", T0 - 1 * MIN], ["OK", T0 - 60 * MIN]], desired: 3, demand: IDLE }),
      want: [],
    },
    {
      name: "never scale down while alarming, even above the failover count",
      s: state({ alarms: ALARM_NOW, weights: F_DEV, desired: 9, healthy: 9, demand: IDLE }),
      want: [],
    },
    {
      name: "observed weights both 0 (manual edit) → restore Lambda",
      s: state({ weights: { lambda: 0, fargate: 0 } }),
      want: [weights(N)],
    },
    // Weights someone else wrote (a deploy that reset the listener's weights — pulumi-aws#5772/#5798 —
    // an operator, a changed failedOverWeights): traffic on a healthy Fargate leaves only by the demand rule.
    {
      name: "other weights on a healthy Fargate, alarms quiet, demand high → keep them (no failback without the demand rule)",
      s: state({ alarms: okSince(50), weights: { lambda: 1, fargate: 1 }, desired: 3, healthy: 3, demand: demandOf(series(-60, 0, 3)) }),
      // Fargate's half at 3 is 6 of total demand (≥ 5): Lambda could not carry it.
      want: [],
      phase: "demand-high",
    },
    {
      name: "other weights on a healthy Fargate, no demand observation → keep them",
      s: state({ alarms: okSince(50), weights: { lambda: 1, fargate: 1 }, desired: 3, healthy: 3 }),
      want: [],
      phase: "demand-unknown",
    },
    {
      name: "other weights on a healthy Fargate, demand low for the window → back to Lambda",
      s: state({ alarms: okSince(50), weights: { lambda: 1, fargate: 1 }, desired: 3, healthy: 3, demand: demandOf(series(-60, 0, 2)) }),
      // Fargate's half at 2 is 4 of total demand (< 5).
      want: [weights(N)],
      phase: "shifting-back",
    },
    {
      name: "other weights, alarm cleared a minute ago → keep them (the window must follow the alarms)",
      s: state({ alarms: okSince(1), weights: { lambda: 0, fargate: 2 }, desired: 3, healthy: 3, demand: LOW_DEV }),
      want: [],
      phase: "shift-back-pending",
    },
    {
      name: "other weights without a healthy Fargate target → Lambda at once (health first)",
      s: state({ alarms: okSince(50), weights: { lambda: 1, fargate: 1 }, desired: 3, healthy: 0, demand: HIGH_DEV }),
      want: [weights(N)],
    },
    {
      name: "unknown weights while alarming without health → Lambda only",
      s: state({ alarms: ALARM_NOW, weights: { lambda: 2, fargate: 5 }, desired: 3, healthy: 0 }),
      want: [weights(N)],
    },
    {
      name: "alarm timestamp in the future (clock skew) → not quiet, no failback, no scale-down",
      s: state({ alarms: [["OK", T0 + 5 * MIN], ["OK", T0 - 60 * MIN]], weights: F_DEV, desired: 3, healthy: 3, demand: IDLE }),
      want: [],
    },
    {
      name: "Fargate idle for longer than the window and the cooldown: fail back and scale down together",
      s: state({ alarms: okSince(50), weights: F_DEV, desired: 3, healthy: 3, demand: demandOf(series(-60, -13, 9)) }),
      want: [weights(N), scale(0)],
    },
    {
      name: "no watched alarms → normal and scaled to baseline",
      s: { ...state({ desired: 3, demand: IDLE }), alarms: [] },
      want: [scale(0)],
    },
    // prod: warm standby baseline > 0, split weights 1/3 (the Fargate series is 3/4 of the traffic)
    { name: "prod normal: warm baseline, Lambda only", cfg: PROD, s: state({ desired: 2, healthy: 2 }), want: [] },
    {
      name: "prod alarm with warm standby → scale up and shift at once (capacity first)",
      cfg: PROD,
      s: state({ alarms: ALARM_NOW, desired: 2, healthy: 2 }),
      want: [scale(6), weights(PROD.failedOverWeights)],
    },
    {
      name: "prod alarm, fewer than minHealthyTargets → do not enter failover",
      cfg: PROD,
      s: state({ alarms: ALARM_NOW, desired: 6, running: 1, healthy: 1 }),
      want: [],
    },
    {
      name: "prod failed over, health drops to 1 (< min, > 0) → stay failed over (hysteresis)",
      cfg: PROD,
      s: state({ alarms: ALARM_NOW, weights: PROD.failedOverWeights, desired: 6, healthy: 1 }),
      want: [],
    },
    {
      name: "prod alarm clears, within shift-back delay → stay failed over",
      cfg: PROD,
      s: state({ alarms: [["OK", T0 - 60 * SEC], ["OK", T0 - 60 * MIN]], weights: PROD.failedOverWeights, desired: 6, healthy: 6, demand: demandOf(series(-60, 0, 10)) }),
      want: [],
    },
    {
      name: "prod within shift-back delay but Fargate lost every healthy target → Lambda at once",
      cfg: PROD,
      s: state({ alarms: [["OK", T0 - 60 * SEC], ["OK", T0 - 60 * MIN]], weights: PROD.failedOverWeights, desired: 6, running: 2, healthy: 0 }),
      want: [weights(N)],
    },
    {
      name: "prod: Fargate's 3/4 share at 80 (< 100) is 107 of total demand → stay",
      cfg: PROD,
      s: state({ alarms: okSince(50), weights: PROD.failedOverWeights, desired: 6, healthy: 6, demand: demandOf(series(-60, 0, 80)) }),
      want: [],
      phase: "demand-high",
    },
    {
      name: "prod: Fargate's share at 70 is 93 of total demand → back to Lambda, keep capacity",
      cfg: PROD,
      s: state({ alarms: okSince(50), weights: PROD.failedOverWeights, desired: 6, healthy: 6, demand: demandOf(series(-60, 0, 70)) }),
      want: [weights(N)],
    },
    {
      name: "prod after cooldown, Fargate idle → scale down to the baseline, not to 0",
      cfg: PROD,
      s: state({ alarms: [["OK", T0 - 11 * MIN], ["OK", T0 - 60 * MIN]], desired: 6, healthy: 6, demand: IDLE }),
      want: [scale(2)],
    },
    {
      name: "prod below baseline (someone scaled to 0) → restore baseline at once",
      cfg: PROD,
      s: state({ alarms: [["OK", T0 - 1 * MIN], ["OK", T0 - 60 * MIN]], desired: 0 }),
      want: [scale(2)],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const cfg = c.cfg ?? DEV;
      const now = c.now ?? T0;
      const got = decideFailover(c.s, cfg, now);
      assert.deepEqual(got, c.want);
      if (c.phase) assert.equal(assessFailover(c.s, cfg, now).phase, c.phase);
      // every table row is also a one-step fixed point
      assert.deepEqual(decideFailover(applyToState(c.s, got), cfg, now), [], "not idempotent");
    });
  }

  it("assessFailover labels phases", () => {
    assert.equal(assessFailover(state({}), DEV, T0).phase, "normal");
    assert.equal(assessFailover(state({ alarms: ALARM_NOW }), DEV, T0).phase, "scaling-up");
    assert.equal(assessFailover(state({ alarms: ALARM_NOW, desired: 3 }), DEV, T0).phase, "waiting-for-healthy-targets");
    assert.equal(assessFailover(state({ alarms: ALARM_NOW, desired: 3, healthy: 1 }), DEV, T0).phase, "failed-over");
    assert.equal(assessFailover(state({ weights: F_DEV, desired: 3, healthy: 0, alarms: [["OK", T0], ["OK", T0]] }), DEV, T0).phase, "shifting-back");
    assert.equal(assessFailover(state({ desired: 3, alarms: [["OK", T0], ["OK", T0]], demand: IDLE }), DEV, T0).phase, "cooling-down");
    assert.equal(assessFailover(state({ desired: 3, demand: IDLE }), DEV, T0).phase, "scaling-down");
  });

  it("reports the demand it judged (threshold, window, peak)", () => {
    const a = assessFailover(state({ alarms: okSince(50), weights: F_DEV, desired: 3, healthy: 3, demand: HIGH_DEV }), DEV, T0);
    assert.equal(a.demand.thresholdConcurrency, 5);
    assert.equal(a.demand.windowEndMs, T0 - 3 * MIN);
    assert.equal(a.demand.windowStartMs, T0 - 13 * MIN);
    assert.ok(Math.abs(a.demand.peakConcurrency - 8) < 1e-9, String(a.demand.peakConcurrency));
    assert.equal(a.demand.low, false);
    assert.equal(a.demand.fargateIdle, false);
    assert.equal(assessDemand(undefined, DEV, T0, T0 - 60 * MIN).observed, false);
    assert.equal(assessDemand(IDLE, DEV, Number.NaN, T0).low, false);
  });
});

describe("failover decide: config normalization, demand gating and alarm hints", () => {
  it("repairs unsafe configs", () => {
    const c = normalizeFailoverConfig({
      failoverDesiredCount: 1,
      baselineDesiredCount: 4,
      cooldownSeconds: 10,
      shiftBackDelaySeconds: 60,
      failedOverWeights: { lambda: 5000, fargate: 0 },
      minHealthyTargets: 0,
      lambdaReservedConcurrency: 0,
      failbackDemandFraction: 0.95,
      failbackWindowSeconds: 90,
      demandLagSeconds: 5,
      minResponseTimeSeconds: -1,
    });
    assert.equal(c.failoverDesiredCount, 4, "failover count ≥ baseline");
    assert.equal(c.cooldownSeconds, 60, "cooldown ≥ shift-back delay");
    assert.deepEqual(c.failedOverWeights, { lambda: 999, fargate: 1 }, "fargate weight ≥ 1, weights ≤ 999");
    assert.equal(c.minHealthyTargets, 1);
    assert.equal(c.lambdaReservedConcurrency, 1);
    assert.equal(c.failbackDemandFraction, 0.8, "well below the 90 % failover trigger");
    assert.equal(c.failbackWindowSeconds, 120, "whole minutes");
    assert.equal(c.demandLagSeconds, 60);
    assert.equal(c.minResponseTimeSeconds, 0);
    assert.equal(normalizeFailoverConfig({ failoverDesiredCount: 0 }).failoverDesiredCount, 1);
    assert.deepEqual(normalizeFailoverConfig(undefined), normalizeFailoverConfig({}));
    assert.equal(normalizeFailoverConfig({ failbackDemandFraction: Number.NaN }).failbackDemandFraction, 0.5);
  });

  it("asks for the demand only with traffic or extra capacity on Fargate, over window/cooldown + lag", () => {
    assert.equal(needsDemand(state({}), DEV), false);
    assert.equal(needsDemand(state({ weights: F_DEV }), DEV), true);
    assert.equal(needsDemand(state({ desired: 1 }), DEV), true);
    assert.equal(needsDemand(state({ desired: 2 }), PROD), false, "prod's warm baseline alone needs no demand");
    assert.equal(needsDemand(undefined as unknown as ObservedState, DEV), false);
    const r = demandQueryRange(DEV, T0 + 7 * SEC);
    assert.equal(r.endMs, T0 + MIN);
    assert.equal(r.startMs, T0 - (600 + 180 + 60) * SEC, "max(window 600, cooldown 600) + lag 180 + 60");
    assert.equal(demandQueryRange({ ...DEV, cooldownSeconds: 10 * 86400 }, T0).startMs, T0 - (86400 + 240) * SEC, "at most a day");
    assert.ok(Number.isNaN(demandQueryRange(DEV, Number.NaN).startMs));
  });

  it("a newer event hint overrides a lagging DescribeAlarms; older, equal and foreign hints do not", () => {
    const alarms = state({ alarms: [["OK", T0 - MIN], ["OK", T0 - MIN]] }).alarms;
    const newer: AlarmHint = { name: "alarm-0", state: "ALARM", atMs: T0 };
    assert.equal(applyAlarmHint(alarms, newer)[0].state, "ALARM");
    assert.equal(applyAlarmHint(alarms, newer)[0].stateUpdatedAtMs, T0);
    assert.deepEqual(applyAlarmHint(alarms, { ...newer, atMs: T0 - MIN }), alarms, "equal timestamp = same transition");
    assert.deepEqual(applyAlarmHint(alarms, { ...newer, atMs: T0 - 2 * MIN }), alarms, "out-of-order event");
    assert.deepEqual(applyAlarmHint(alarms, { ...newer, name: "someone-elses-alarm" }), alarms);
    assert.deepEqual(applyAlarmHint(alarms, { ...newer, atMs: Number.NaN }), alarms);
    assert.deepEqual(applyAlarmHint(alarms, undefined), alarms);
  });

  it("is total: garbage in, valid and safe actions out", () => {
    const rnd = mulberry32(7);
    const junk = (): unknown => {
      const pool: unknown[] = [Number.NaN, -1, 0, 1, 2.7, 1e9, Infinity, -Infinity, "3", null, undefined, {}, [], true];
      return pool[Math.floor(rnd() * pool.length)];
    };
    for (let i = 0; i < 3000; i++) {
      const observed = {
        alarms: rnd() < 0.1 ? junk() : [{ name: "a", state: pick(rnd, ["OK", "ALARM", "INSUFFICIENT_DATA", "BOGUS", undefined]), stateUpdatedAtMs: junk() }, junk()],
        weights: rnd() < 0.1 ? junk() : { lambda: junk(), fargate: junk() },
        service: rnd() < 0.1 ? junk() : { desiredCount: junk(), runningCount: junk() },
        fargateHealthyTargets: junk(),
        demand: rnd() < 0.3 ? junk() : { minutes: rnd() < 0.2 ? junk() : [junk(), { startMs: junk(), requests: junk(), responseTimeSeconds: junk() }, { startMs: T0 - int(rnd, 0, 30) * MIN, requests: junk(), responseTimeSeconds: junk() }] },
      } as unknown as ObservedState;
      const config = (rnd() < 0.2 ? junk() : {
        failoverDesiredCount: junk(),
        baselineDesiredCount: junk(),
        cooldownSeconds: junk(),
        shiftBackDelaySeconds: junk(),
        minHealthyTargets: junk(),
        failedOverWeights: rnd() < 0.3 ? junk() : { lambda: junk(), fargate: junk() },
        lambdaReservedConcurrency: junk(),
        failbackDemandFraction: junk(),
        failbackWindowSeconds: junk(),
        demandLagSeconds: junk(),
        minResponseTimeSeconds: junk(),
      }) as Partial<FailoverConfig>;
      const now = rnd() < 0.5 ? T0 : (junk() as number);
      const actions = decideFailover(observed, config, now);
      assert.equal(typeof needsDemand(observed, config), "boolean");
      for (const a of actions) {
        if (a.type === "scaleService") assert.ok(Number.isInteger(a.desiredCount) && a.desiredCount >= 0, JSON.stringify(a));
        else {
          assert.ok(Number.isInteger(a.lambda) && Number.isInteger(a.fargate), JSON.stringify(a));
          assert.ok(a.lambda >= 0 && a.lambda <= 999 && a.fargate >= 0 && a.fargate <= 999, JSON.stringify(a));
          assert.ok(a.lambda + a.fargate > 0, "both weights 0");
          const h = (observed as { fargateHealthyTargets: unknown }).fargateHealthyTargets;
          if (!(typeof h === "number" && h >= 1)) assert.equal(a.fargate, 0, `weight on Fargate with healthy=${String(h)}`);
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Randomized simulation: a world model where actions are applied, running converges to desired,
// health follows running, alarms flip, events are duplicated/late/out of order, time jumps, and
// the ALB reports the Fargate target group's traffic per minute, late (1–5 minutes) and with gaps.
// ---------------------------------------------------------------------------------------------

type DecideFn = (o: ObservedState, c: Partial<FailoverConfig>, nowMs: number) => FailoverAction[];

function pick<T>(rnd: () => number, xs: T[]): T {
  return xs[Math.floor(rnd() * xs.length)];
}
function int(rnd: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rnd() * (hi - lo + 1));
}

/** The observed state after the actions took effect (weights and desiredCount only). */
function applyToState(s: ObservedState, actions: FailoverAction[]): ObservedState {
  let w = s.weights;
  let desired = s.service.desiredCount;
  for (const a of actions) {
    if (a.type === "setWeights") w = { lambda: a.lambda, fargate: a.fargate };
    else desired = a.desiredCount;
  }
  return { ...s, weights: w, service: { ...s.service, desiredCount: desired } };
}

/** The failback threshold, in concurrency. */
const thresholdOf = (cfg: FailoverConfig): number => cfg.failbackDemandFraction * cfg.lambdaReservedConcurrency;

/**
 * The failback/scale-down rule of docs/failover.md, written again from the text (the oracle the
 * simulation checks the decision against): the window of `failbackWindowSeconds` whole minutes
 * ending at the minute boundary at or before `now − demandLagSeconds`; every reported minute from
 * its start on counts; Little's law with the response-time floor and the split-weights scale.
 */
function oracleDemand(d: ObservedDemand | undefined, cfg: FailoverConfig, now: number, current?: Weights): { windowStart: number; peak: number; idle: boolean } {
  const lagged = now - cfg.demandLagSeconds * SEC;
  const windowEnd = lagged - (((lagged % MIN) + MIN) % MIN);
  const windowStart = windowEnd - cfg.failbackWindowSeconds * SEC;
  const idleStart = windowEnd - Math.ceil(cfg.cooldownSeconds / 60) * MIN;
  const minutes = d?.minutes ?? [];
  const rts = minutes.map((m) => m.responseTimeSeconds).filter((x): x is number => typeof x === "number");
  const fallbackRt = rts.length > 0 ? Math.max(...rts) : 0;
  // The Fargate series is the Fargate share of the traffic: the failed-over weights' share, or the
  // listener's current share when that is smaller (weights written by someone else).
  const shareOf = (w: Weights): number => w.fargate / (w.lambda + w.fargate);
  const share = Math.min(shareOf(cfg.failedOverWeights), current && current.fargate > 0 ? shareOf(current) : 1);
  let peak = 0;
  let idle = true;
  for (const m of minutes) {
    if (!m.requests) continue;
    if (m.startMs >= idleStart) idle = false;
    if (m.startMs < windowStart) continue;
    const perSecond = m.requests / 60;
    peak = Math.max(peak, (perSecond * Math.max(m.responseTimeSeconds ?? fallbackRt, cfg.minResponseTimeSeconds)) / share);
  }
  return { windowStart, peak, idle };
}

interface WorldAlarm {
  name: string;
  state: AlarmStateValue;
  at: number;
  /** Previous (state, at), served when DescribeAlarms "lags". */
  prev: { state: AlarmStateValue; at: number };
}
/** One minute of Fargate target group traffic as CloudWatch will report it. */
interface WorldPoint extends DemandMinute {
  /** When CloudWatch starts returning it. */
  visibleAtMs: number;
}
interface World {
  now: number;
  alarms: WorldAlarm[];
  events: AlarmHint[];
  weights: Weights;
  desired: number;
  running: number;
  healthy: number;
  /** Concurrency Lambda would need for all of the traffic (Little's law at RT). */
  load: number;
  /** Reported traffic of the Fargate target group. */
  series: WorldPoint[];
  /** Start of the next minute to report. */
  seriesNext: number;
  /** Reporting lag range of the current segment, ms. */
  lagMs: [number, number];
  /** Probability that a datapoint never arrives. */
  dropRate: number;
}

interface SimOptions {
  seed: number;
  steps: number;
  config: FailoverConfig;
}

interface SimStats {
  steps: number;
  actions: number;
  failedOverSteps: number;
  failbacks: number;
  /** Failed-over ticks where alarms were quiet but the demand kept traffic on Fargate. */
  heldByDemand: number;
  calmAlarmChecks: number;
  calmOkChecks: number;
  calmHighDemandChecks: number;
  /** Weights written by someone else (see `EXTERNAL_WEIGHTS`). */
  externalWeightWrites: number;
}

/**
 * Run the simulation with a decide function; throws an AssertionError on the first broken
 * invariant (with seed and step in the message).
 */
function simulate(decide: DecideFn, opts: SimOptions): SimStats {
  const rnd = mulberry32(opts.seed);
  const cfg = normalizeFailoverConfig(opts.config);
  const F = cfg.failedOverWeights;
  const threshold = thresholdOf(cfg);
  const alarming = (s: AlarmStateValue): boolean => s === "ALARM" || (cfg.treatInsufficientDataAsAlarm && s === "INSUFFICIENT_DATA");
  const w: World = {
    now: T0,
    alarms: [0, 1].map((i) => ({ name: `alarm-${i}`, state: "OK" as AlarmStateValue, at: T0 - 3600 * SEC, prev: { state: "OK" as AlarmStateValue, at: T0 - 7200 * SEC } })),
    events: [],
    weights: { ...NORMAL_WEIGHTS },
    desired: cfg.baselineDesiredCount,
    running: cfg.baselineDesiredCount,
    healthy: cfg.baselineDesiredCount,
    load: threshold * 0.2,
    series: [],
    seriesNext: T0,
    lagMs: [60 * SEC, 180 * SEC],
    dropRate: 0.05,
  };
  const stats: SimStats = { steps: 0, actions: 0, failedOverSteps: 0, failbacks: 0, heldByDemand: 0, calmAlarmChecks: 0, calmOkChecks: 0, calmHighDemandChecks: 0, externalWeightWrites: 0 };
  // Someone else writes the listener's weights now and then: a `pulumi up` whose ignoreChanges on
  // the (set-typed) forward target groups does not hold (pulumi-aws#5772, #5798), or an operator.
  // Own PRNG, so the rest of the run is the same as without it.
  const ext = mulberry32(opts.seed + 7919);
  const EXTERNAL_WEIGHTS: Weights[] = [{ lambda: 1, fargate: 1 }, { lambda: 0, fargate: 2 }, { lambda: 2, fargate: 1 }, { lambda: 1, fargate: 3 }];
  let lastHint: AlarmHint | undefined;

  const setAlarm = (a: WorldAlarm, s: AlarmStateValue): void => {
    if (a.state === s) return;
    a.prev = { state: a.state, at: a.at };
    a.state = s;
    a.at = w.now;
    w.events.push({ name: a.name, state: s, atMs: w.now });
  };
  /** Report every minute that ended since the last call, with the weights in force. */
  const reportTraffic = (): void => {
    while (w.seriesNext + MIN <= w.now) {
      const share = w.weights.fargate / Math.max(1, w.weights.lambda + w.weights.fargate);
      const requests = Math.round(rpm(w.load) * share);
      // The ALB publishes nothing for a minute without requests.
      if (requests > 0) {
        const point: WorldPoint = { startMs: w.seriesNext, visibleAtMs: w.seriesNext + MIN + int(rnd, w.lagMs[0], w.lagMs[1]) };
        if (rnd() >= w.dropRate) point.requests = requests;
        if (rnd() >= w.dropRate) point.responseTimeSeconds = RT * (0.9 + 0.2 * rnd());
        w.series.push(point);
      }
      w.seriesNext += MIN;
    }
    if (w.series.length > 400) w.series.splice(0, w.series.length - 300);
  };
  const evolveEcs = (chaos: boolean): void => {
    // ECS converges towards desired; health lags behind running.
    if (w.running < w.desired) w.running = Math.min(w.desired, w.running + int(rnd, chaos ? 0 : 1, 2));
    else if (w.running > w.desired) w.running = Math.max(w.desired, w.running - int(rnd, 1, 2));
    w.healthy = Math.min(w.healthy, w.running);
    if (w.healthy < w.running) w.healthy = Math.min(w.running, w.healthy + int(rnd, chaos ? 0 : 1, 2));
    if (chaos && rnd() < 0.06) w.running = Math.max(0, w.running - 1); // task crash
    if (chaos && rnd() < 0.06) w.healthy = int(rnd, 0, w.healthy); // failing health checks
    if (chaos && rnd() < 0.03) w.healthy = 0; // every target fails at once (bad deploy, dependency down)
    w.healthy = Math.min(w.healthy, w.running);
  };
  /** What the shell would observe: the demand only when needed, over the query range, as reported so far. */
  const observeWorld = (stale: number, hint: AlarmHint | undefined): ObservedState => {
    const base: ObservedState = {
      alarms: applyAlarmHint(
        w.alarms.map((a, i) =>
          i === stale ? { name: a.name, state: a.prev.state, stateUpdatedAtMs: a.prev.at } : { name: a.name, state: a.state, stateUpdatedAtMs: a.at },
        ),
        hint,
      ),
      weights: { ...w.weights },
      service: { desiredCount: w.desired, runningCount: w.running },
      fargateHealthyTargets: w.healthy,
    };
    if (!needsDemand(base, cfg)) return base;
    const range = demandQueryRange(cfg, w.now);
    const minutes = w.series
      .filter((p) => p.visibleAtMs <= w.now && p.startMs >= range.startMs && p.startMs < range.endMs)
      .map(({ startMs, requests, responseTimeSeconds }) => ({ startMs, requests, responseTimeSeconds }));
    return { ...base, demand: { minutes } };
  };

  /** One failover invocation against the world; checks every per-step invariant. */
  const invoke = (where: string, stale: number, hint: AlarmHint | undefined): void => {
    reportTraffic();
    const observed = observeWorld(stale, hint);
    const actions = decide(observed, cfg, w.now);
    const ctx = `${where}: seed ${opts.seed} step ${stats.steps} now=${w.now - T0} observed=${JSON.stringify({ ...observed, demand: observed.demand ? `${observed.demand.minutes.length} minutes` : undefined })} actions=${JSON.stringify(actions)}`;
    // Well-formed: at most one action of each type, valid values.
    assert.ok(actions.filter((a) => a.type === "setWeights").length <= 1, `two setWeights: ${ctx}`);
    assert.ok(actions.filter((a) => a.type === "scaleService").length <= 1, `two scaleService: ${ctx}`);
    const after = applyToState(observed, actions);
    // Safety: never both weights 0; never weight on Fargate without a healthy target (health-gated).
    assert.ok(after.weights.lambda + after.weights.fargate > 0, `both weights 0: ${ctx}`);
    assert.ok(!(after.weights.fargate > 0 && w.healthy === 0), `weight on Fargate with 0 healthy targets: ${ctx}`);
    const isAlarming = observed.alarms.some((a) => alarming(a.state));
    const latestUpdate = Math.max(...observed.alarms.map((a) => a.stateUpdatedAtMs));
    const scaleIdx = actions.findIndex((a) => a.type === "scaleService");
    const weightIdx = actions.findIndex((a) => a.type === "setWeights");
    if (scaleIdx >= 0) {
      const target = (actions[scaleIdx] as { desiredCount: number }).desiredCount;
      assert.ok(target >= cfg.baselineDesiredCount, `scaled below baseline: ${ctx}`);
      if (target < w.desired) {
        // Scale-down: never while alarming, only after the cooldown, only with no weight on
        // Fargate, only after the weight shift back (if any) in the same action list, and only
        // when Fargate served no request in the cooldown (as reported).
        assert.ok(!isAlarming, `scale-down while alarming: ${ctx}`);
        assert.ok(w.now - latestUpdate >= cfg.cooldownSeconds * SEC, `scale-down before cooldown: ${ctx}`);
        assert.equal(after.weights.fargate, 0, `scale-down with weight on Fargate: ${ctx}`);
        assert.ok(weightIdx < 0 || weightIdx < scaleIdx, `scale-down before the weight shift: ${ctx}`);
        assert.ok(observed.demand, `scale-down without a demand observation: ${ctx}`);
        assert.ok(oracleDemand(observed.demand, cfg, w.now).idle, `scale-down while Fargate still served requests: ${ctx}`);
      } else {
        // Capacity first: a scale-up precedes the weight change.
        assert.ok(weightIdx < 0 || scaleIdx < weightIdx, `weight shift before the scale-up: ${ctx}`);
      }
    }
    if (isAlarming) {
      assert.ok(after.service.desiredCount >= cfg.failoverDesiredCount, `alarming but not scaled up: ${ctx}`);
      if (w.healthy >= cfg.minHealthyTargets) assert.deepEqual(after.weights, F, `alarming and healthy but not failed over: ${ctx}`);
    }
    // Failback (traffic leaves a healthy Fargate): only quiet, and only with the demand below the
    // threshold in every minute of a window that lies after the last alarm update.
    if (observed.weights.fargate > 0 && after.weights.fargate === 0 && w.healthy > 0) {
      assert.ok(!isAlarming, `failback while alarming: ${ctx}`);
      assert.ok(w.now - latestUpdate >= cfg.shiftBackDelaySeconds * SEC, `failback before the shift-back delay: ${ctx}`);
      assert.ok(observed.demand, `failback without a demand observation: ${ctx}`);
      const o = oracleDemand(observed.demand, cfg, w.now, observed.weights);
      assert.ok(o.windowStart >= latestUpdate, `failback on a window that starts before the alarms cleared: ${ctx}`);
      assert.ok(o.peak < threshold, `failback with demand ${o.peak.toFixed(2)} ≥ threshold ${threshold}: ${ctx}`);
      stats.failbacks++;
    }
    if (observed.weights.fargate > 0 && after.weights.fargate > 0 && !isAlarming && w.healthy > 0 && observed.demand) {
      const o = oracleDemand(observed.demand, cfg, w.now, observed.weights);
      if (o.peak >= threshold) stats.heldByDemand++;
    }
    // Apply to the world.
    for (const a of actions) {
      if (a.type === "setWeights") w.weights = { lambda: a.lambda, fargate: a.fargate };
      else w.desired = a.desiredCount;
    }
    stats.actions += actions.length;
    // Idempotence: the world did not change (same alarms, health, running, demand, time) → no new actions.
    const again = decide(observeWorld(stale, hint), cfg, w.now);
    assert.deepEqual(again, [], `not idempotent: ${ctx} then ${JSON.stringify(again)}`);
    if (w.weights.fargate > 0) stats.failedOverSteps++;
  };

  /** Ticks for a quiet, low-demand segment to end back on Lambda at the baseline. */
  const settleTicks = Math.ceil((Math.max(cfg.shiftBackDelaySeconds, cfg.failbackWindowSeconds + cfg.demandLagSeconds) + cfg.cooldownSeconds + cfg.demandLagSeconds) / 60) + 6;

  while (stats.steps < opts.steps) {
    const r0 = rnd();
    if (r0 >= 0.3) {
      // Chaotic segment: random alarm flips and load, stale reads, duplicate/late/out-of-order
      // events, late and missing datapoints (up to 5 minutes late).
      w.lagMs = [60 * SEC, 300 * SEC];
      const len = int(rnd, 5, 40);
      for (let i = 0; i < len && stats.steps < opts.steps; i++, stats.steps++) {
        w.now += pick(rnd, [0, 1 * SEC, 20 * SEC, 60 * SEC, 60 * SEC, 60 * SEC, 5 * MIN, 20 * MIN]);
        if (rnd() < 0.25) w.load = threshold * pick(rnd, [0, 0.3, 0.8, 0.95, 1.05, 1.3, 2, 4]);
        for (const a of w.alarms) {
          if (rnd() < 0.12) setAlarm(a, pick(rnd, ["OK", "OK", "ALARM", "ALARM", "INSUFFICIENT_DATA"]));
        }
        evolveEcs(true);
        if (ext() < 0.03) {
          w.weights = { ...pick(ext, EXTERNAL_WEIGHTS) };
          stats.externalWeightWrites++;
        }
        const stale = rnd() < 0.1 ? int(rnd, 0, w.alarms.length - 1) : -1;
        const r = rnd();
        let hint: AlarmHint | undefined;
        if (r < 0.3) hint = undefined; // scheduled tick
        else if (r < 0.55) hint = w.events[w.events.length - 1]; // fresh event
        else if (r < 0.75) hint = lastHint; // duplicate delivery
        else hint = w.events.length ? w.events[int(rnd, 0, w.events.length - 1)] : undefined; // late / out of order
        lastHint = hint;
        invoke("chaos", stale, hint);
      }
      continue;
    }
    // Calm segments: one alarm decision held, no chaos, minute ticks, data 1–3 minutes late.
    w.lagMs = [60 * SEC, 180 * SEC];
    const kind = r0 < 0.1 ? "alarm" : r0 < 0.2 ? "ok-low" : "ok-high";
    const alarmState: AlarmStateValue = kind === "alarm" ? "ALARM" : "OK";
    for (const a of w.alarms) setAlarm(a, a.name === "alarm-0" ? alarmState : "OK");
    if (kind === "ok-low") w.load = threshold * 0.8 * rnd();
    if (kind === "ok-high") w.load = threshold * (1.05 + rnd());
    // Traffic on a healthy Fargate at the start: the failed-over weights, or weights someone else wrote.
    const startedOnFargate = w.weights.fargate > 0 && w.healthy > 0 ? { ...w.weights } : undefined;
    const ticks = kind === "alarm" ? 12 : kind === "ok-low" ? settleTicks : settleTicks - 4;
    for (let i = 0; i < ticks && stats.steps < opts.steps; i++, stats.steps++) {
      w.now += 60 * SEC;
      evolveEcs(false);
      const before = { ...w.weights };
      invoke(`calm ${kind}`, -1, i === 0 ? w.events[w.events.length - 1] : undefined);
      if (kind === "ok-high" && before.fargate > 0 && w.healthy > 0) {
        // Quiet alarms (traffic has left Lambda) but demand above the threshold: traffic stays.
        assert.deepEqual(w.weights, before, `failback under sustained demand: seed ${opts.seed} step ${stats.steps} load ${w.load}`);
      }
    }
    if (stats.steps >= opts.steps) break;
    const ctx = `seed ${opts.seed} step ${stats.steps} world=${JSON.stringify({ ...w, events: w.events.length, series: w.series.length })}`;
    if (kind === "alarm") {
      // Eventually failed over while the alarm persists and Fargate becomes healthy.
      assert.ok(w.desired >= cfg.failoverDesiredCount, `never scaled up: ${ctx}`);
      assert.deepEqual(w.weights, F, `never failed over while alarm persisted: ${ctx}`);
      stats.calmAlarmChecks++;
    } else if (kind === "ok-low") {
      // Eventually back on Lambda at the baseline once demand is low and the alarms quiet.
      assert.deepEqual(w.weights, NORMAL_WEIGHTS, `never shifted back: ${ctx}`);
      assert.equal(w.desired, cfg.baselineDesiredCount, `never scaled back to baseline: ${ctx}`);
      stats.calmOkChecks++;
    } else if (startedOnFargate) {
      assert.deepEqual(w.weights, startedOnFargate, `left Fargate under sustained demand: ${ctx}`);
      stats.calmHighDemandChecks++;
    }
  }
  return stats;
}

function sameW(a: Weights, b: Weights): boolean {
  return a.lambda === b.lambda && a.fargate === b.fargate;
}

const SIM_CONFIGS: Array<[string, FailoverConfig]> = [
  ["dev", DEV],
  ["prod", PROD],
  ["dev, split weights, INSUFFICIENT_DATA alarms", { ...DEV, failedOverWeights: { lambda: 2, fargate: 5 }, treatInsufficientDataAsAlarm: true }],
  ["prod, no shift-back delay, minHealthy 3, short window", { ...PROD, shiftBackDelaySeconds: 0, minHealthyTargets: 3, cooldownSeconds: 300, failbackWindowSeconds: 300 }],
  ["dev, long shift-back delay, 60 % threshold", { ...DEV, shiftBackDelaySeconds: 600, cooldownSeconds: 900, failbackDemandFraction: 0.6 }],
  ["deployed defaults (component: cooldown 300, shift-back 150, reserved 10)", normalizeFailoverConfig({ failoverDesiredCount: 2, baselineDesiredCount: 0, cooldownSeconds: 300, shiftBackDelaySeconds: 150, lambdaReservedConcurrency: 10 })],
];
const SIM_STEPS = 2000;

describe("failover decide: randomized simulation", () => {
  for (const [label, config] of SIM_CONFIGS) {
    for (const seed of [1, 2]) {
      it(`${label}, seed ${seed}: invariants hold for ${SIM_STEPS} steps`, () => {
        const stats = simulate(decideFailover, { seed, steps: SIM_STEPS, config });
        if (process.env.FAILOVER_SIM_VERBOSE) console.log(`      ${JSON.stringify(stats)}`);
        // The run must actually exercise the interesting paths, or it proves nothing.
        assert.ok(stats.failedOverSteps > 20, `too few failed-over steps: ${JSON.stringify(stats)}`);
        assert.ok(stats.calmAlarmChecks >= 2 && stats.calmOkChecks >= 2 && stats.calmHighDemandChecks >= 2, `too few liveness checks: ${JSON.stringify(stats)}`);
        assert.ok(stats.failbacks >= 3 && stats.heldByDemand >= 10, `too few failbacks / demand holds: ${JSON.stringify(stats)}`);
        assert.ok(stats.actions > 50, `too few actions: ${JSON.stringify(stats)}`);
        assert.ok(stats.externalWeightWrites >= 10, `too few external weight writes: ${JSON.stringify(stats)}`);
      });
    }
  }
});

/**
 * The real decision's capacity actions with the weight action of another decision (for mutants
 * that differ in the failback only), in the real order: scale-up, weights, scale-down.
 */
function weightsFrom(fake: FailoverAction[], real: FailoverAction[], o: ObservedState): FailoverAction[] {
  const up = real.filter((x) => x.type === "scaleService" && x.desiredCount > o.service.desiredCount);
  const down = real.filter((x) => x.type === "scaleService" && x.desiredCount < o.service.desiredCount);
  const w = fake.filter((x): x is FailoverAction & { type: "setWeights" } => x.type === "setWeights");
  return [...up, ...w, ...(w.some((x) => x.fargate > 0) ? [] : down)];
}

/**
 * Judges the demand window without requiring it to start after the alarms cleared: minutes from
 * before the failover, when Fargate had weight 0 and so no requests, count as low demand.
 */
const countsMinutesBeforeTheFailover: DecideFn = (o, c, n) => {
  const cfg = normalizeFailoverConfig(c);
  const longAgo = n - (cfg.demandLagSeconds + cfg.failbackWindowSeconds + 60) * SEC;
  const moved = o.alarms.map((a) =>
    a.state === "OK" && n - a.stateUpdatedAtMs >= cfg.shiftBackDelaySeconds * SEC ? { ...a, stateUpdatedAtMs: Math.min(a.stateUpdatedAtMs, longAgo) } : a);
  return weightsFrom(decideFailover({ ...o, alarms: moved }, c, n), decideFailover(o, c, n), o);
};

/**
 * Fails back as if the Fargate target group had served nothing: once the Lambda alarms are quiet,
 * whatever the demand (its capacity actions stay the real ones).
 */
const failsBackOnAlarmsAlone: DecideFn = (o, c, n) =>
  weightsFrom(decideFailover(o.demand ? { ...o, demand: { minutes: [] } } : o, c, n), decideFailover(o, c, n), o);

// Each mutant breaks one guarantee; the harness must fail on it. This keeps the randomized test
// honest: if it stopped checking something, one of these would start passing.
const MUTANTS: Array<[string, DecideFn]> = [
  ["ignores target health", (o, c, n) => decideFailover({ ...o, fargateHealthyTargets: 99 }, c, n)],
  ["ignores the cooldown", (o, c, n) => decideFailover(o, { ...c, cooldownSeconds: 0, shiftBackDelaySeconds: 0 }, n)],
  [
    "scales down before shifting weight back",
    (o, c, n) => {
      const a = decideFailover(o, c, n);
      return a.some((x) => x.type === "scaleService" && x.desiredCount < o.service.desiredCount) ? [...a].reverse() : a;
    },
  ],
  [
    "sets both weights to 0 instead of normal",
    (o, c, n) => decideFailover(o, c, n).map((x) => (x.type === "setWeights" && x.fargate === 0 ? { ...x, lambda: 0 } : x)),
  ],
  ["re-sends weights every time (not idempotent)", (o, c, n) => {
    const a = decideFailover(o, c, n);
    return a.some((x) => x.type === "setWeights") ? a : [...a, { type: "setWeights", ...o.weights }];
  }],
  ["never fails over", (o, c, n) => decideFailover(o, c, n).filter((x) => !(x.type === "setWeights" && x.fargate > 0))],
  ["never scales back down", (o, c, n) => decideFailover(o, c, n).filter((x) => !(x.type === "scaleService" && x.desiredCount < o.service.desiredCount))],
  ["scales an unhealthy service back to baseline while alarming", (o, c, n) => {
    const alarming = o.alarms.some((x) => x.state === "ALARM");
    const baseline = normalizeFailoverConfig(c).baselineDesiredCount;
    return alarming && o.fargateHealthyTargets === 0 && o.service.runningCount > 0 && o.service.desiredCount > baseline
      ? [{ type: "scaleService", desiredCount: baseline }]
      : decideFailover(o, c, n);
  }],
  ["keeps Fargate weight when health is lost", (o, c, n) =>
    decideFailover(o, c, n).filter((x) => !(x.type === "setWeights" && x.fargate === 0 && o.weights.fargate > 0 && o.fargateHealthyTargets === 0))],
  // The rule before this review: weights other than failedOverWeights went back to Lambda as soon as
  // no alarm fired, whatever the demand.
  ["resets weights it did not write to Lambda without the demand rule", (o, c, n) => {
    const cfg = normalizeFailoverConfig(c);
    const real = decideFailover(o, c, n);
    const quiet = !o.alarms.some((x) => x.state === "ALARM" || (cfg.treatInsufficientDataAsAlarm && x.state === "INSUFFICIENT_DATA"));
    const other = o.weights.fargate > 0 && !sameW(o.weights, cfg.failedOverWeights);
    return quiet && other ? weightsFrom([{ type: "setWeights", ...NORMAL_WEIGHTS }], real, o) : real;
  }],
  // The demand rule.
  ["fails back on the Lambda alarms alone (ignores the demand)", failsBackOnAlarmsAlone],
  ["compares the demand with 90 % of the cap instead of the failback fraction", (o, c, n) => {
    const cfg = normalizeFailoverConfig(c);
    return decideFailover(o, { ...cfg, lambdaReservedConcurrency: (cfg.lambdaReservedConcurrency * 0.9) / cfg.failbackDemandFraction }, n);
  }],
  ["judges one minute instead of the window", (o, c, n) => decideFailover(o, { ...c, failbackWindowSeconds: 60 }, n)],
  ["ignores the reporting lag (takes minutes still to come as idle)", (o, c, n) => {
    // Window ending now: a minute not yet reported counts as "no requests".
    const cfg = normalizeFailoverConfig(c);
    return decideFailover(o, { ...cfg, demandLagSeconds: 60, failbackWindowSeconds: Math.max(60, cfg.failbackWindowSeconds - (cfg.demandLagSeconds - 60)) }, n);
  }],
  ["counts minutes from before the failover (window not after the alarms)", countsMinutesBeforeTheFailover],
  ["scales down in the same step as the failback (ignores Fargate's traffic)", (o, c, n) => {
    const cfg = normalizeFailoverConfig(c);
    const a = decideFailover(o, c, n);
    const failback = a.some((x) => x.type === "setWeights" && x.fargate === 0 && o.weights.fargate > 0);
    const quiet = o.alarms.every((x) => x.state !== "ALARM") && o.alarms.every((x) => n - x.stateUpdatedAtMs >= cfg.cooldownSeconds * SEC);
    return failback && quiet && !a.some((x) => x.type === "scaleService") && o.service.desiredCount > cfg.baselineDesiredCount
      ? [...a, { type: "scaleService", desiredCount: cfg.baselineDesiredCount }]
      : a;
  }],
];

describe("failover decide: the simulation catches broken decide functions", () => {
  for (const [name, mutant] of MUTANTS) {
    it(`catches a decide that ${name}`, () => {
      const failures = SIM_CONFIGS.filter(([, config]) => {
        try {
          simulate(mutant, { seed: 1, steps: SIM_STEPS, config });
          return false;
        } catch (err) {
          assert.ok(err instanceof assert.AssertionError, `harness crashed instead of asserting: ${String(err)}`);
          if (process.env.FAILOVER_SIM_VERBOSE) console.log(`      [${name}] ${err.message.split(":")[0]}`);
          return true;
        }
      });
      assert.ok(failures.length > 0, `mutant "${name}" passed the simulation on every config`);
      if (mutant === failsBackOnAlarmsAlone) assert.equal(failures.length, SIM_CONFIGS.length, "the alarms-alone failback is caught on every config");
    });
  }
});

// ---------------------------------------------------------------------------------------------
// A sustained overload, minute by minute: the API Lambda's alarms computed from its own metrics,
// Fargate tasks that take two minutes to pass health checks, every CloudWatch datapoint 1–3
// minutes late and 5 % of them never arriving.
// ---------------------------------------------------------------------------------------------

interface OverloadOptions {
  seed: number;
  config: FailoverConfig;
  /** Demand per minute as a multiple of the Lambda's reserved concurrency (before ±10 % noise). */
  profile: (minute: number) => number;
  minutes: number;
}
interface OverloadResult {
  /** Minutes at which traffic moved to Fargate / back to Lambda / capacity changed. */
  failovers: number[];
  failbacks: number[];
  scaleUps: number[];
  scaleDowns: number[];
  /** Minutes in which Lambda got more than its reserved concurrency (clients saw 502s). */
  throttledMinutes: number;
  final: { weights: Weights; desired: number };
}

/** The component's defaults (dev): reserved 10, failover 2 tasks, cooldown 300 s, shift-back 150 s. */
const DEPLOYED_DEV = normalizeFailoverConfig({ failoverDesiredCount: 2, baselineDesiredCount: 0, cooldownSeconds: 300, shiftBackDelaySeconds: 150, lambdaReservedConcurrency: 10 });
/** Prod-like: reserved 200, warm standby of 1, 6 tasks when failed over. */
const DEPLOYED_PROD = normalizeFailoverConfig({ failoverDesiredCount: 6, baselineDesiredCount: 1, cooldownSeconds: 300, shiftBackDelaySeconds: 150, lambdaReservedConcurrency: 200 });

function overloadRun(decide: DecideFn, opts: OverloadOptions): OverloadResult {
  const rnd = mulberry32(opts.seed);
  const cfg = normalizeFailoverConfig(opts.config);
  const cap = cfg.lambdaReservedConcurrency;
  const lateBy = (): number => int(rnd, 60, 180) * SEC;
  const arrives = (): boolean => rnd() >= 0.05;
  const res: OverloadResult = { failovers: [], failbacks: [], scaleUps: [], scaleDowns: [], throttledMinutes: 0, final: { weights: NORMAL_WEIGHTS, desired: 0 } };

  let weights: Weights = { ...NORMAL_WEIGHTS };
  let desired = cfg.baselineDesiredCount;
  /** Minute at which each task passes its health checks. */
  let tasks: number[] = Array.from({ length: desired }, () => -10);
  const lambdaPoints: Array<{ minute: number; throttles: number; concurrency: number; visibleAt: number }> = [];
  const fargatePoints: WorldPoint[] = [];
  const alarms = [
    { name: "throttles", state: "OK" as AlarmStateValue, at: T0 - 3600 * SEC },
    { name: "concurrency", state: "OK" as AlarmStateValue, at: T0 - 3600 * SEC },
  ];

  const invoke = (minute: number, now: number, hint?: AlarmHint): void => {
    const healthy = tasks.filter((h) => h <= minute).length;
    const base: ObservedState = {
      alarms: applyAlarmHint(alarms.map((a) => ({ name: a.name, state: a.state, stateUpdatedAtMs: a.at })), hint),
      weights: { ...weights },
      service: { desiredCount: desired, runningCount: tasks.length },
      fargateHealthyTargets: healthy,
    };
    const range = demandQueryRange(cfg, now);
    const observed: ObservedState = needsDemand(base, cfg)
      ? { ...base, demand: { minutes: fargatePoints.filter((p) => p.visibleAtMs <= now && p.startMs >= range.startMs).map(({ startMs, requests, responseTimeSeconds }) => ({ startMs, requests, responseTimeSeconds })) } }
      : base;
    for (const a of decide(observed, cfg, now)) {
      if (a.type === "setWeights") {
        assert.ok(!(a.fargate > 0 && healthy === 0), `minute ${minute}: weight on Fargate with 0 healthy targets`);
        if (weights.fargate === 0 && a.fargate > 0) res.failovers.push(minute);
        if (weights.fargate > 0 && a.fargate === 0) res.failbacks.push(minute);
        weights = { lambda: a.lambda, fargate: a.fargate };
      } else {
        if (a.desiredCount > desired) {
          res.scaleUps.push(minute);
          while (tasks.length < a.desiredCount) tasks.push(minute + 2); // start + health checks: ~2 minutes
        } else if (a.desiredCount < desired) {
          res.scaleDowns.push(minute);
          tasks = tasks.slice(0, a.desiredCount);
        }
        desired = a.desiredCount;
      }
    }
  };

  for (let m = 0; m < opts.minutes; m++) {
    const minuteStart = T0 + m * MIN;
    // CloudWatch evaluates the Lambda alarms on the datapoints it has (missing = not breaching).
    const seen = lambdaPoints.filter((p) => p.visibleAt <= minuteStart && p.minute >= m - 5).sort((a, b) => b.minute - a.minute);
    const next = {
      throttles: (seen[0]?.throttles ?? 0) >= 1 ? "ALARM" : "OK",
      concurrency: seen.length >= 2 && seen[0].concurrency >= 0.9 * cap && seen[1].concurrency >= 0.9 * cap ? "ALARM" : "OK",
    } as Record<string, AlarmStateValue>;
    for (const a of alarms) {
      if (a.state !== next[a.name]) {
        a.state = next[a.name];
        a.at = minuteStart + 1 * SEC;
        invoke(m, minuteStart + 3 * SEC, { name: a.name, state: a.state, atMs: a.at }); // EventBridge
      }
    }
    invoke(m, minuteStart + 7 * SEC); // the rate(1 minute) schedule
    // This minute's traffic, split by the weights now in force, reported late or never.
    const load = cap * opts.profile(m) * (0.9 + 0.2 * rnd());
    const total = weights.lambda + weights.fargate;
    const onLambda = (load * weights.lambda) / total;
    const onFargate = (load * weights.fargate) / total;
    if (onLambda > cap) res.throttledMinutes++;
    if (onLambda > 0 && arrives()) {
      lambdaPoints.push({ minute: m, throttles: Math.max(0, Math.round(rpm(onLambda - cap))), concurrency: Math.min(onLambda, cap), visibleAt: minuteStart + MIN + lateBy() });
    }
    if (onFargate > 0) {
      const p: WorldPoint = { startMs: minuteStart, visibleAtMs: minuteStart + MIN + lateBy() };
      if (arrives()) p.requests = Math.round(rpm(onFargate));
      if (arrives()) p.responseTimeSeconds = RT * (0.95 + 0.1 * rnd());
      fargatePoints.push(p);
    }
  }
  res.final = { weights, desired };
  return res;
}

/**
 * The rule before this change: failback once the alarms have been quiet for the shift-back delay,
 * whatever the demand (the alarms watch a Lambda that no longer gets traffic).
 */
const alarmsOnly: DecideFn = (o, c, n) => countsMinutesBeforeTheFailover(o.demand ? { ...o, demand: { minutes: [] } } : o, c, n);

/** 10 minutes at 30 %, an hour at 160 % of the reserved concurrency, then 20 %. */
const HOUR_OVERLOAD = (m: number): number => (m < 10 ? 0.3 : m < 70 ? 1.6 : 0.2);

describe("failover decide: one hour of sustained overload (minute ticks, 1–3 min metric lag, 5 % missing datapoints)", () => {
  const SEEDS = Array.from({ length: 25 }, (_, i) => i + 1);
  const scenarios: Array<[string, FailoverConfig, (m: number) => number, { from: number; to: number }]> = [
    ["dev defaults, 160 % for an hour", DEPLOYED_DEV, HOUR_OVERLOAD, { from: 70, to: 87 }],
    ["prod-like, 160 % for an hour", DEPLOYED_PROD, HOUR_OVERLOAD, { from: 70, to: 87 }],
    ["dev, overload with a 5-minute dip to 20 % in the middle", DEPLOYED_DEV, (m) => (m >= 40 && m < 45 ? 0.2 : HOUR_OVERLOAD(m)), { from: 70, to: 87 }],
    ["dev, overload then 30 minutes at 70 % (between failback 50 % and failover 90 %)", DEPLOYED_DEV, (m) => (m >= 70 && m < 100 ? 0.7 : HOUR_OVERLOAD(m)), { from: 100, to: 117 }],
  ];
  /** What went wrong in one run, against the expectations of the scenario ([] = all met). */
  const problems = (r: OverloadResult, config: FailoverConfig, failbackIn: { from: number; to: number }): string[] => {
    const out: string[] = [];
    if (r.failovers.length !== 1) out.push(`${r.failovers.length} failovers`);
    if (r.failbacks.length !== 1) out.push(`${r.failbacks.length} failbacks`);
    if (!(r.failovers[0] >= 10 && r.failovers[0] <= 17)) out.push(`failover at minute ${r.failovers[0]}, not within 7 minutes of the overload`);
    if (!(r.failbacks[0] >= failbackIn.from && r.failbacks[0] <= failbackIn.to)) out.push(`failback at minute ${r.failbacks[0]}, not in ${failbackIn.from}..${failbackIn.to}`);
    if (r.scaleUps.length !== 1) out.push(`${r.scaleUps.length} scale-ups`);
    if (r.scaleDowns.length !== 1) out.push(`${r.scaleDowns.length} scale-downs`);
    if (!(r.scaleDowns[0] > r.failbacks[0])) out.push("capacity left with the traffic, not after it");
    if (r.throttledMinutes > 8) out.push(`${r.throttledMinutes} throttled minutes`);
    if (!sameW(r.final.weights, NORMAL_WEIGHTS) || r.final.desired !== config.baselineDesiredCount) out.push(`ends at ${JSON.stringify(r.final)}`);
    return out;
  };
  for (const [label, config, profile, failbackIn] of scenarios) {
    it(`${label}: exactly one failover and one failback, after the load really drops (${SEEDS.length} seeds)`, () => {
      const minutes = failbackIn.to + 30;
      const summary: string[] = [];
      for (const seed of SEEDS) {
        const r = overloadRun(decideFailover, { seed, config, profile, minutes });
        assert.deepEqual(problems(r, config, failbackIn), [], `seed ${seed}: ${JSON.stringify(r)}`);
        assert.equal(r.failovers.length, 1);
        assert.equal(r.failbacks.length, 1);
        summary.push(`${seed}:${r.failovers[0]}/${r.failbacks[0]}/${r.scaleDowns[0]}/${r.throttledMinutes}`);
      }
      if (process.env.FAILOVER_SIM_VERBOSE) console.log(`      failover/failback/scale-down minute/throttled minutes per seed: ${summary.join(" ")}`);
    });
  }

  it("the rule before this change (alarms alone) flaps in the same hour: the scenario can tell", () => {
    const counts = SEEDS.map((seed) => overloadRun(alarmsOnly, { seed, config: DEPLOYED_DEV, profile: HOUR_OVERLOAD, minutes: 100 }));
    if (process.env.FAILOVER_SIM_VERBOSE) console.log(`      alarms alone: failovers per seed ${counts.map((r) => r.failovers.length).join(",")}, failbacks ${counts.map((r) => r.failbacks.length).join(",")}, throttled minutes ${counts.map((r) => r.throttledMinutes).join(",")}`);
    if (process.env.FAILOVER_SIM_VERBOSE) console.log(`      alarms alone, seed 1: failovers at ${counts[0].failovers.join(",")}, failbacks at ${counts[0].failbacks.join(",")}`);
    for (const r of counts) {
      assert.ok(r.failovers.length >= 4, `expected flapping, got ${JSON.stringify(r)}`);
      assert.ok(r.failbacks.length >= 4, JSON.stringify(r));
    }
  });

  it("the demand mutants break the hour scenarios too (the alarms-alone one always)", () => {
    const demandMutants = MUTANTS.slice(MUTANTS.findIndex(([name]) => name.startsWith("fails back on the Lambda alarms alone")));
    assert.equal(demandMutants.length, 6);
    const broken = new Map<string, string[]>();
    for (const [name, mutant] of demandMutants) {
      for (const [label, config, profile, failbackIn] of scenarios) {
        const first = SEEDS.map((seed) => {
          try {
            return problems(overloadRun(mutant, { seed, config, profile, minutes: failbackIn.to + 30 }), config, failbackIn);
          } catch (err) {
            assert.ok(err instanceof assert.AssertionError, String(err));
            return [err.message];
          }
        }).find((p) => p.length > 0);
        if (first) broken.set(name, [...(broken.get(name) ?? []), `${label}: ${first[0]}`]);
      }
      if (process.env.FAILOVER_SIM_VERBOSE) console.log(`      [${name}] ${broken.has(name) ? broken.get(name)!.join("; ") : "keeps one failover and one failback in every scenario"}`);
    }
    assert.equal(broken.get("fails back on the Lambda alarms alone (ignores the demand)")?.length, scenarios.length, "the alarms-alone rule flaps in every scenario");
  });
});
