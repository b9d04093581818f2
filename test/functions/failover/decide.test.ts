import * as assert from "node:assert/strict";
import {
  applyAlarmHint,
  assessFailover,
  decideFailover,
  normalizeFailoverConfig,
  NORMAL_WEIGHTS,
  type AlarmHint,
  type AlarmStateValue,
  type FailoverAction,
  type FailoverConfig,
  type ObservedState,
  type Weights,
} from "../../../functions/failover/decide";

const T0 = 1_700_000_000_000;
const SEC = 1000;
const MIN = 60 * SEC;

/** Dev-like config: no warm Fargate, all traffic to Fargate when failed over. */
const DEV: FailoverConfig = {
  failoverDesiredCount: 3,
  baselineDesiredCount: 0,
  cooldownSeconds: 600,
  failedOverWeights: { lambda: 0, fargate: 1 },
  minHealthyTargets: 1,
  shiftBackDelaySeconds: 0,
  treatInsufficientDataAsAlarm: false,
};
/** Prod-like config: warm standby, split weights, hysteresis. */
const PROD: FailoverConfig = {
  ...DEV,
  baselineDesiredCount: 2,
  failoverDesiredCount: 6,
  failedOverWeights: { lambda: 1, fargate: 3 },
  minHealthyTargets: 2,
  shiftBackDelaySeconds: 120,
};
const F_DEV: Weights = DEV.failedOverWeights;
const N: Weights = { lambda: 1, fargate: 0 };

function state(p: {
  alarms?: Array<[AlarmStateValue, number]>;
  weights?: Weights;
  desired?: number;
  running?: number;
  healthy?: number;
}): ObservedState {
  const alarms = p.alarms ?? [["OK", T0 - 60 * MIN], ["OK", T0 - 60 * MIN]];
  return {
    alarms: alarms.map(([s, at], i) => ({ name: `alarm-${i}`, state: s, stateUpdatedAtMs: at })),
    weights: p.weights ?? N,
    service: { desiredCount: p.desired ?? 0, runningCount: p.running ?? p.desired ?? 0 },
    fargateHealthyTargets: p.healthy ?? 0,
  };
}
const scale = (desiredCount: number): FailoverAction => ({ type: "scaleService", desiredCount });
const weights = (w: Weights): FailoverAction => ({ type: "setWeights", lambda: w.lambda, fargate: w.fargate });

describe("failover decide: transition table", () => {
  const ALARM_NOW: Array<[AlarmStateValue, number]> = [["ALARM", T0 - 30 * SEC], ["OK", T0 - 60 * MIN]];
  const cases: Array<{ name: string; cfg?: FailoverConfig; s: ObservedState; now?: number; want: FailoverAction[] }> = [
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
      s: state({ alarms: ALARM_NOW, weights: F_DEV, desired: 3, running: 3, healthy: 3 }),
      want: [],
    },
    {
      name: "failed over, Fargate loses every healthy target → back to Lambda",
      s: state({ alarms: ALARM_NOW, weights: F_DEV, desired: 3, running: 1, healthy: 0 }),
      want: [weights(N)],
    },
    {
      name: "alarm clears → shift back to Lambda first, keep capacity",
      s: state({ alarms: [["OK", T0 - 10 * SEC], ["OK", T0 - 60 * MIN]], weights: F_DEV, desired: 3, healthy: 3 }),
      want: [weights(N)],
    },
    {
      name: "within cooldown → keep capacity",
      s: state({ alarms: [["OK", T0 - 5 * MIN], ["OK", T0 - 60 * MIN]], desired: 3, healthy: 3 }),
      want: [],
    },
    {
      name: "cooldown measured from the most recent alarm update (not the oldest)",
      s: state({ alarms: [["OK", T0 - 60 * MIN], ["OK", T0 - 9 * MIN]], desired: 3, healthy: 3 }),
      want: [],
    },
    {
      name: "after cooldown → scale to baseline",
      s: state({ alarms: [["OK", T0 - 11 * MIN], ["OK", T0 - 60 * MIN]], desired: 3, healthy: 3 }),
      want: [scale(0)],
    },
    {
      name: "exactly at cooldown → scale to baseline",
      s: state({ alarms: [["OK", T0 - 10 * MIN], ["OK", T0 - 60 * MIN]], desired: 3, healthy: 3 }),
      want: [scale(0)],
    },
    {
      name: "catch-up after a long outage of the failover function: weights first, then scale-down",
      s: state({ alarms: [["OK", T0 - 30 * MIN], ["OK", T0 - 60 * MIN]], weights: F_DEV, desired: 3, healthy: 3 }),
      want: [weights(N), scale(0)],
    },
    {
      name: "INSUFFICIENT_DATA is not alarming",
      s: state({ alarms: [["INSUFFICIENT_DATA", T0 - 30 * SEC], ["OK", T0 - 60 * MIN]] }),
      want: [],
    },
    {
      name: "INSUFFICIENT_DATA while failed over → shift back (it is not ALARM)",
      s: state({ alarms: [["INSUFFICIENT_DATA", T0 - 30 * SEC], ["OK", T0 - 60 * MIN]], weights: F_DEV, desired: 3, healthy: 3 }),
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
      s: state({ alarms: [["INSUFFICIENT_DATA", T0 - 1 * MIN], ["OK", T0 - 60 * MIN]], desired: 3 }),
      want: [],
    },
    {
      name: "never scale down while alarming, even above the failover count",
      s: state({ alarms: ALARM_NOW, weights: F_DEV, desired: 9, healthy: 9 }),
      want: [],
    },
    {
      name: "observed weights both 0 (manual edit) → restore Lambda",
      s: state({ weights: { lambda: 0, fargate: 0 } }),
      want: [weights(N)],
    },
    {
      name: "unknown weights while alarming without health → Lambda only",
      s: state({ alarms: ALARM_NOW, weights: { lambda: 2, fargate: 5 }, desired: 3, healthy: 0 }),
      want: [weights(N)],
    },
    {
      name: "alarm timestamp in the future (clock skew) → not quiet, no scale-down",
      s: state({ alarms: [["OK", T0 + 5 * MIN], ["OK", T0 - 60 * MIN]], desired: 3 }),
      want: [],
    },
    {
      name: "no watched alarms → normal and scaled to baseline",
      s: { ...state({ desired: 3 }), alarms: [] },
      want: [scale(0)],
    },
    // prod: warm standby baseline > 0
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
      s: state({ alarms: [["OK", T0 - 60 * SEC], ["OK", T0 - 60 * MIN]], weights: PROD.failedOverWeights, desired: 6, healthy: 6 }),
      want: [],
    },
    {
      name: "prod within shift-back delay but Fargate lost every healthy target → Lambda at once",
      cfg: PROD,
      s: state({ alarms: [["OK", T0 - 60 * SEC], ["OK", T0 - 60 * MIN]], weights: PROD.failedOverWeights, desired: 6, running: 2, healthy: 0 }),
      want: [weights(N)],
    },
    {
      name: "prod after shift-back delay → back to Lambda, keep capacity",
      cfg: PROD,
      s: state({ alarms: [["OK", T0 - 121 * SEC], ["OK", T0 - 60 * MIN]], weights: PROD.failedOverWeights, desired: 6, healthy: 6 }),
      want: [weights(N)],
    },
    {
      name: "prod after cooldown → scale down to the baseline, not to 0",
      cfg: PROD,
      s: state({ alarms: [["OK", T0 - 11 * MIN], ["OK", T0 - 60 * MIN]], desired: 6, healthy: 6 }),
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
      // every table row is also a one-step fixed point
      assert.deepEqual(decideFailover(applyToState(c.s, got), cfg, now), [], "not idempotent");
    });
  }

  it("assessFailover labels phases", () => {
    assert.equal(assessFailover(state({}), DEV, T0).phase, "normal");
    assert.equal(assessFailover(state({ alarms: ALARM_NOW }), DEV, T0).phase, "scaling-up");
    assert.equal(assessFailover(state({ alarms: ALARM_NOW, desired: 3 }), DEV, T0).phase, "waiting-for-healthy-targets");
    assert.equal(assessFailover(state({ alarms: ALARM_NOW, desired: 3, healthy: 1 }), DEV, T0).phase, "failed-over");
    assert.equal(assessFailover(state({ weights: F_DEV, desired: 3, healthy: 3, alarms: [["OK", T0], ["OK", T0]] }), DEV, T0).phase, "shifting-back");
    assert.equal(assessFailover(state({ desired: 3, alarms: [["OK", T0], ["OK", T0]] }), DEV, T0).phase, "cooling-down");
    assert.equal(assessFailover(state({ desired: 3 }), DEV, T0).phase, "scaling-down");
  });
});

describe("failover decide: config normalization and alarm hints", () => {
  it("repairs unsafe configs", () => {
    const c = normalizeFailoverConfig({
      failoverDesiredCount: 1,
      baselineDesiredCount: 4,
      cooldownSeconds: 10,
      shiftBackDelaySeconds: 60,
      failedOverWeights: { lambda: 5000, fargate: 0 },
      minHealthyTargets: 0,
    });
    assert.equal(c.failoverDesiredCount, 4, "failover count ≥ baseline");
    assert.equal(c.cooldownSeconds, 60, "cooldown ≥ shift-back delay");
    assert.deepEqual(c.failedOverWeights, { lambda: 999, fargate: 1 }, "fargate weight ≥ 1, weights ≤ 999");
    assert.equal(c.minHealthyTargets, 1);
    assert.equal(normalizeFailoverConfig({ failoverDesiredCount: 0 }).failoverDesiredCount, 1);
    assert.deepEqual(normalizeFailoverConfig(undefined), normalizeFailoverConfig({}));
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
    for (let i = 0; i < 2000; i++) {
      const observed = {
        alarms: rnd() < 0.1 ? junk() : [{ name: "a", state: pick(rnd, ["OK", "ALARM", "INSUFFICIENT_DATA", "BOGUS", undefined]), stateUpdatedAtMs: junk() }, junk()],
        weights: rnd() < 0.1 ? junk() : { lambda: junk(), fargate: junk() },
        service: rnd() < 0.1 ? junk() : { desiredCount: junk(), runningCount: junk() },
        fargateHealthyTargets: junk(),
      } as unknown as ObservedState;
      const config = (rnd() < 0.2 ? junk() : {
        failoverDesiredCount: junk(),
        baselineDesiredCount: junk(),
        cooldownSeconds: junk(),
        shiftBackDelaySeconds: junk(),
        minHealthyTargets: junk(),
        failedOverWeights: rnd() < 0.3 ? junk() : { lambda: junk(), fargate: junk() },
      }) as Partial<FailoverConfig>;
      const now = junk() as number;
      const actions = decideFailover(observed, config, now);
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
// health follows running, alarms flip, events are duplicated/late/out of order, time jumps.
// ---------------------------------------------------------------------------------------------

type DecideFn = (o: ObservedState, c: Partial<FailoverConfig>, nowMs: number) => FailoverAction[];

/** Deterministic PRNG. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
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

interface WorldAlarm {
  name: string;
  state: AlarmStateValue;
  at: number;
  /** Previous (state, at), served when DescribeAlarms "lags". */
  prev: { state: AlarmStateValue; at: number };
}
interface World {
  now: number;
  alarms: WorldAlarm[];
  events: AlarmHint[];
  weights: Weights;
  desired: number;
  running: number;
  healthy: number;
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
  calmAlarmChecks: number;
  calmOkChecks: number;
}

/**
 * Run the simulation with a decide function; throws an AssertionError on the first broken
 * invariant (with seed and step in the message).
 */
function simulate(decide: DecideFn, opts: SimOptions): SimStats {
  const rnd = mulberry32(opts.seed);
  const cfg = opts.config;
  const F = cfg.failedOverWeights;
  const alarming = (s: AlarmStateValue): boolean => s === "ALARM" || (cfg.treatInsufficientDataAsAlarm && s === "INSUFFICIENT_DATA");
  const w: World = {
    now: T0,
    alarms: [0, 1].map((i) => ({ name: `alarm-${i}`, state: "OK" as AlarmStateValue, at: T0 - 3600 * SEC, prev: { state: "OK" as AlarmStateValue, at: T0 - 7200 * SEC } })),
    events: [],
    weights: { ...NORMAL_WEIGHTS },
    desired: cfg.baselineDesiredCount,
    running: cfg.baselineDesiredCount,
    healthy: cfg.baselineDesiredCount,
  };
  const stats: SimStats = { steps: 0, actions: 0, failedOverSteps: 0, calmAlarmChecks: 0, calmOkChecks: 0 };
  let lastHint: AlarmHint | undefined;

  const setAlarm = (a: WorldAlarm, s: AlarmStateValue): void => {
    if (a.state === s) return;
    a.prev = { state: a.state, at: a.at };
    a.state = s;
    a.at = w.now;
    w.events.push({ name: a.name, state: s, atMs: w.now });
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
  const observeWorld = (stale: number): ObservedState => ({
    alarms: w.alarms.map((a, i) =>
      i === stale ? { name: a.name, state: a.prev.state, stateUpdatedAtMs: a.prev.at } : { name: a.name, state: a.state, stateUpdatedAtMs: a.at },
    ),
    weights: { ...w.weights },
    service: { desiredCount: w.desired, runningCount: w.running },
    fargateHealthyTargets: w.healthy,
  });

  /** One failover invocation against the world; checks every per-step invariant. */
  const invoke = (where: string, stale: number, hint: AlarmHint | undefined): void => {
    const raw = observeWorld(stale);
    const observed: ObservedState = { ...raw, alarms: applyAlarmHint(raw.alarms, hint) };
    const actions = decide(observed, cfg, w.now);
    const ctx = `${where}: seed ${opts.seed} step ${stats.steps} observed=${JSON.stringify(observed)} actions=${JSON.stringify(actions)}`;
    // Well-formed: at most one action of each type, valid values.
    assert.ok(actions.filter((a) => a.type === "setWeights").length <= 1, `two setWeights: ${ctx}`);
    assert.ok(actions.filter((a) => a.type === "scaleService").length <= 1, `two scaleService: ${ctx}`);
    const after = applyToState(observed, actions);
    // Safety: never both weights 0; never weight on Fargate without a healthy target.
    assert.ok(after.weights.lambda + after.weights.fargate > 0, `both weights 0: ${ctx}`);
    assert.ok(!(after.weights.fargate > 0 && w.healthy === 0), `weight on Fargate with 0 healthy targets: ${ctx}`);
    const isAlarming = observed.alarms.some((a) => alarming(a.state));
    const scaleIdx = actions.findIndex((a) => a.type === "scaleService");
    const weightIdx = actions.findIndex((a) => a.type === "setWeights");
    if (scaleIdx >= 0) {
      const target = (actions[scaleIdx] as { desiredCount: number }).desiredCount;
      assert.ok(target >= cfg.baselineDesiredCount, `scaled below baseline: ${ctx}`);
      if (target < w.desired) {
        // Scale-down: never while alarming, only after the cooldown, only with no weight on
        // Fargate, and only after the weight shift back (if any) in the same action list.
        assert.ok(!isAlarming, `scale-down while alarming: ${ctx}`);
        const latest = Math.max(...observed.alarms.map((a) => a.stateUpdatedAtMs));
        assert.ok(w.now - latest >= cfg.cooldownSeconds * SEC, `scale-down before cooldown: ${ctx}`);
        assert.equal(after.weights.fargate, 0, `scale-down with weight on Fargate: ${ctx}`);
        assert.ok(weightIdx < 0 || weightIdx < scaleIdx, `scale-down before the weight shift: ${ctx}`);
      } else {
        assert.ok(weightIdx < 0 || scaleIdx < weightIdx, `weight shift before the scale-up: ${ctx}`);
      }
    }
    if (isAlarming) {
      assert.ok(after.service.desiredCount >= cfg.failoverDesiredCount, `alarming but not scaled up: ${ctx}`);
      if (w.healthy >= cfg.minHealthyTargets) assert.deepEqual(after.weights, F, `alarming and healthy but not failed over: ${ctx}`);
    }
    // Apply to the world.
    for (const a of actions) {
      if (a.type === "setWeights") w.weights = { lambda: a.lambda, fargate: a.fargate };
      else w.desired = a.desiredCount;
    }
    stats.actions += actions.length;
    // Idempotence: the world did not change (same alarms, health, running, time) → no new actions.
    const again = decide({ ...observeWorld(stale), alarms: applyAlarmHint(observeWorld(stale).alarms, hint) }, cfg, w.now);
    assert.deepEqual(again, [], `not idempotent: ${ctx} then ${JSON.stringify(again)}`);
    if (w.weights.fargate > 0) stats.failedOverSteps++;
  };

  while (stats.steps < opts.steps) {
    const calm = rnd() < 0.25;
    if (!calm) {
      // Chaotic segment: random alarm flips, stale reads, duplicate/late/out-of-order events.
      const len = int(rnd, 5, 40);
      for (let i = 0; i < len && stats.steps < opts.steps; i++, stats.steps++) {
        w.now += pick(rnd, [0, 1 * SEC, 20 * SEC, 60 * SEC, 60 * SEC, 60 * SEC, 5 * MIN, 20 * MIN]);
        for (const a of w.alarms) {
          if (rnd() < 0.12) setAlarm(a, pick(rnd, ["OK", "OK", "ALARM", "ALARM", "INSUFFICIENT_DATA"]));
        }
        evolveEcs(true);
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
    } else {
      // Calm segment: one alarm decision held, no chaos, minute ticks. Checks liveness.
      const alarmState: AlarmStateValue = rnd() < 0.5 ? "ALARM" : "OK";
      for (const a of w.alarms) setAlarm(a, a.name === "alarm-0" ? alarmState : "OK");
      const ticks = alarmState === "ALARM" ? 12 : Math.ceil(cfg.cooldownSeconds / 60) + 4;
      for (let i = 0; i < ticks && stats.steps < opts.steps; i++, stats.steps++) {
        w.now += 60 * SEC;
        evolveEcs(false);
        invoke("calm", -1, i === 0 ? w.events[w.events.length - 1] : undefined);
      }
      if (stats.steps >= opts.steps) break;
      const ctx = `seed ${opts.seed} step ${stats.steps} world=${JSON.stringify({ ...w, events: w.events.length })}`;
      if (alarmState === "ALARM") {
        // Eventually failed over while the alarm persists and Fargate becomes healthy.
        assert.ok(w.desired >= cfg.failoverDesiredCount, `never scaled up: ${ctx}`);
        assert.deepEqual(w.weights, F, `never failed over while alarm persisted: ${ctx}`);
        stats.calmAlarmChecks++;
      } else {
        // Eventually back to baseline after OK + cooldown, Lambda only.
        assert.deepEqual(w.weights, NORMAL_WEIGHTS, `never shifted back: ${ctx}`);
        assert.equal(w.desired, cfg.baselineDesiredCount, `never scaled back to baseline: ${ctx}`);
        stats.calmOkChecks++;
      }
    }
  }
  return stats;
}

const SIM_CONFIGS: Array<[string, FailoverConfig]> = [
  ["dev", DEV],
  ["prod", PROD],
  ["dev, split weights, INSUFFICIENT_DATA alarms", { ...DEV, failedOverWeights: { lambda: 2, fargate: 5 }, treatInsufficientDataAsAlarm: true }],
  ["prod, no shift-back delay, minHealthy 3", { ...PROD, shiftBackDelaySeconds: 0, minHealthyTargets: 3, cooldownSeconds: 300 }],
  ["dev, long shift-back delay", { ...DEV, shiftBackDelaySeconds: 600, cooldownSeconds: 900 }],
];

describe("failover decide: randomized simulation", () => {
  for (const [label, config] of SIM_CONFIGS) {
    for (const seed of [1, 2]) {
      it(`${label}, seed ${seed}: invariants hold for 1500 steps`, () => {
        const stats = simulate(decideFailover, { seed, steps: 1500, config });
        if (process.env.FAILOVER_SIM_VERBOSE) console.log(`      ${JSON.stringify(stats)}`);
        // The run must actually exercise the interesting paths, or it proves nothing.
        assert.ok(stats.failedOverSteps > 20, `too few failed-over steps: ${JSON.stringify(stats)}`);
        assert.ok(stats.calmAlarmChecks >= 2 && stats.calmOkChecks >= 2, `too few liveness checks: ${JSON.stringify(stats)}`);
        assert.ok(stats.actions > 50, `too few actions: ${JSON.stringify(stats)}`);
      });
    }
  }
});

describe("failover decide: the simulation catches broken decide functions", () => {
  // Each mutant breaks one guarantee; the harness must fail on it. This keeps the randomized
  // test honest: if it stopped checking something, one of these would start passing.
  const mutants: Array<[string, DecideFn]> = [
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
  ];
  for (const [name, mutant] of mutants) {
    it(`catches a decide that ${name}`, () => {
      const failures = SIM_CONFIGS.filter(([, config]) => {
        try {
          simulate(mutant, { seed: 1, steps: 1500, config });
          return false;
        } catch (err) {
          assert.ok(err instanceof assert.AssertionError, `harness crashed instead of asserting: ${String(err)}`);
          if (process.env.FAILOVER_SIM_VERBOSE) console.log(`      [${name}] ${err.message.split(":")[0]}`);
          return true;
        }
      });
      assert.ok(failures.length > 0, `mutant "${name}" passed the simulation on every config`);
    });
  }
});
