/**
 * Pure failover decision for the HybridLambdaFargateService.
 *
 * The failover Lambda observes the world (alarm states, listener weights, ECS service counts,
 * Fargate target health), calls {@link decideFailover} once, applies the returned actions in order
 * and exits. There is no memory between invocations and no waiting loop: the next EventBridge
 * alarm event or the next scheduled tick (every minute) observes again and continues.
 *
 * Everything in this module is pure: no I/O, no clock (time is passed in), no module state.
 * Plain functions and object literals only, so the module survives Pulumi closure serialization.
 *
 * Decision rules (see docs/failover.md for the state machine):
 *
 * - **Alarming** = at least one watched alarm is `ALARM` (INSUFFICIENT_DATA counts as not alarming
 *   unless {@link FailoverConfig.treatInsufficientDataAsAlarm} is set).
 * - **Quiet time** = while nothing is alarming, the time since the most recent state update of any
 *   watched alarm (`nowMs - max(stateUpdatedAtMs)`). This is the memory-less cooldown clock.
 * - **Weights**:
 *   - Fargate has 0 healthy targets → {@link NORMAL_WEIGHTS} (Lambda only). Always, in every mode.
 *     The Lambda target group has no health checks, so it is always eligible.
 *   - Alarming and Fargate has ≥ `minHealthyTargets` healthy targets → `failedOverWeights`.
 *     Once failed over, the weights stay there while at least 1 target is healthy (hysteresis).
 *   - Not alarming → {@link NORMAL_WEIGHTS}, except that a listener that is currently failed over
 *     stays failed over until the quiet time reaches `shiftBackDelaySeconds` (default 0).
 * - **ECS desired count**:
 *   - Alarming → raised to `failoverDesiredCount` if lower; never lowered while alarming.
 *   - Not alarming and below `baselineDesiredCount` → raised to the baseline at once.
 *   - Not alarming, above the baseline, quiet time ≥ `cooldownSeconds` and the desired weights give
 *     Fargate 0 → lowered to the baseline. The weight shift back (if still needed) is ordered
 *     before the scale-down in the same action list, so traffic leaves Fargate first.
 * - **Order**: a scale-up comes before a weight change (capacity first); a scale-down comes after
 *   it (traffic off first).
 *
 * Guarantees (checked by the randomized tests in test/functions/failover/decide.test.ts):
 * - total: any input (NaN, negative, missing fields, unknown states) gives a valid answer;
 * - the resulting weights are never both 0 and never give Fargate weight when the observation
 *   shows 0 healthy Fargate targets;
 * - idempotent in one step: applying the actions and deciding again on the same observation
 *   (same alarms, health, running count and time) returns no actions.
 */

/** CloudWatch alarm state values, as returned by DescribeAlarms `StateValue`. */
export type AlarmStateValue = "OK" | "ALARM" | "INSUFFICIENT_DATA";

/** One watched alarm as observed (from DescribeAlarms, the source of truth). */
export interface ObservedAlarm {
  /** Alarm name. */
  name: string;
  /** Current state. Unknown strings are treated as INSUFFICIENT_DATA. */
  state: AlarmStateValue;
  /**
   * Epoch milliseconds of the alarm's last state update (the later of CloudWatch's
   * `StateUpdatedTimestamp` and `StateTransitionedTimestamp`). Non-finite values are treated as
   * "just now", which can only delay a shift back or a scale-down.
   */
  stateUpdatedAtMs: number;
}

/** Weights of the listener's default weighted forward action (each 0..999). */
export interface Weights {
  /** Weight of the Lambda target group. */
  lambda: number;
  /** Weight of the Fargate (`ip`) target group. */
  fargate: number;
}

/** The ECS service as observed (DescribeServices). */
export interface ObservedService {
  /** The service's desiredCount. */
  desiredCount: number;
  /** The service's runningCount. Reported in logs; decisions use target health instead. */
  runningCount: number;
}

/** Everything the decision needs, read from AWS at the start of every invocation. */
export interface ObservedState {
  /** The watched alarms (configured names only). */
  alarms: ObservedAlarm[];
  /** Current listener default-action weights of our two target groups. */
  weights: Weights;
  /** Current ECS service counts. */
  service: ObservedService;
  /** Number of Fargate targets whose health state is `healthy`. */
  fargateHealthyTargets: number;
}

/** Tuning of the failover. Use {@link normalizeFailoverConfig} or {@link DEFAULT_FAILOVER_CONFIG}. */
export interface FailoverConfig {
  /** ECS desiredCount while alarming. Raised to max(1, baselineDesiredCount) if lower. */
  failoverDesiredCount: number;
  /** ECS desiredCount in normal operation (0 in dev; > 0 keeps a warm standby in prod). */
  baselineDesiredCount: number;
  /** Scale down to the baseline only after all alarms have been quiet this long. */
  cooldownSeconds: number;
  /**
   * Listener weights when failed over. `fargate` must be ≥ 1 (raised to 1 otherwise).
   * Default `{ lambda: 0, fargate: 1 }`: all traffic to Fargate, which fully relieves a
   * throttling Lambda. A split such as `{ lambda: 1, fargate: 3 }` keeps some traffic on Lambda.
   * Must differ from {@link NORMAL_WEIGHTS} (guaranteed because fargate ≥ 1).
   */
  failedOverWeights: Weights;
  /** Healthy Fargate targets required before shifting weight to Fargate (≥ 1). */
  minHealthyTargets: number;
  /**
   * Hysteresis for shifting back: a failed-over listener returns to Lambda only after all alarms
   * have been quiet this long. 0 = shift back as soon as every alarm is out of ALARM.
   * The effective cooldown is never shorter than this delay.
   */
  shiftBackDelaySeconds: number;
  /** When true, INSUFFICIENT_DATA counts as alarming. Default false. */
  treatInsufficientDataAsAlarm: boolean;
}

/** Scale the ECS service to `desiredCount` (UpdateService). */
export interface ScaleServiceAction {
  type: "scaleService";
  desiredCount: number;
}

/** Set the listener default action weights of our two target groups (ModifyListener). */
export interface SetWeightsAction {
  type: "setWeights";
  lambda: number;
  fargate: number;
}

/** One step to apply, in list order. */
export type FailoverAction = ScaleServiceAction | SetWeightsAction;

/** Human-readable phase, for logs and the summary. */
export type FailoverPhase =
  | "normal"
  | "scaling-up"
  | "waiting-for-healthy-targets"
  | "failed-over"
  | "shift-back-pending"
  | "shifting-back"
  | "cooling-down"
  | "scaling-down";

/** The decision with its reasoning; {@link decideFailover} returns only `actions`. */
export interface FailoverAssessment {
  /** True when at least one watched alarm counts as alarming. */
  alarming: boolean;
  /** Quiet time in ms (0 while alarming; Infinity when no alarm is watched). */
  quietForMs: number;
  /** Weights the listener should have after the actions. */
  targetWeights: Weights;
  /** ECS desiredCount the service should have after the actions. */
  targetDesiredCount: number;
  /** Phase label for logs. */
  phase: FailoverPhase;
  /** Actions to apply, in order. Empty = nothing to do. */
  actions: FailoverAction[];
}

/** A (possibly late or out-of-order) alarm state taken from an EventBridge event. */
export interface AlarmHint {
  /** Alarm name from the event's `detail.alarmName`. */
  name: string;
  /** State from `detail.state.value`. */
  state: AlarmStateValue;
  /** Epoch ms from `detail.state.timestamp`. */
  atMs: number;
}

/** Weights in normal operation: Lambda only. */
export const NORMAL_WEIGHTS: Weights = { lambda: 1, fargate: 0 };

/** Maximum weight accepted by an ALB weighted forward action. */
export const MAX_WEIGHT = 999;

/** Defaults (dev-like: no warm Fargate task). */
export const DEFAULT_FAILOVER_CONFIG: FailoverConfig = {
  failoverDesiredCount: 2,
  baselineDesiredCount: 0,
  cooldownSeconds: 900,
  failedOverWeights: { lambda: 0, fargate: 1 },
  minHealthyTargets: 1,
  shiftBackDelaySeconds: 0,
  treatInsufficientDataAsAlarm: false,
};

/** A non-negative integer count; anything else (NaN, negative, Infinity, non-number) → 0. */
function toCount(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

/** A weight in 0..999; non-finite or non-number → 0. */
function toWeight(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) return 0;
  return Math.min(MAX_WEIGHT, Math.max(0, Math.round(value)));
}

/** A non-negative finite number of seconds, or the fallback. */
function toSeconds(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : fallback;
}

/**
 * Fill defaults and repair out-of-range values so that every config gives safe decisions:
 * counts become non-negative integers, `failoverDesiredCount ≥ max(1, baseline)`,
 * `failedOverWeights.fargate ≥ 1`, weights within 0..999, `minHealthyTargets ≥ 1`,
 * `cooldownSeconds ≥ shiftBackDelaySeconds`.
 */
export function normalizeFailoverConfig(config?: Partial<FailoverConfig> | null): FailoverConfig {
  const c: Partial<FailoverConfig> = config && typeof config === "object" ? config : {};
  const d = DEFAULT_FAILOVER_CONFIG;
  const baseline = c.baselineDesiredCount === undefined ? d.baselineDesiredCount : toCount(c.baselineDesiredCount);
  const failoverRaw = c.failoverDesiredCount === undefined ? d.failoverDesiredCount : toCount(c.failoverDesiredCount);
  const shiftBack = toSeconds(c.shiftBackDelaySeconds, d.shiftBackDelaySeconds);
  const cooldown = Math.max(toSeconds(c.cooldownSeconds, d.cooldownSeconds), shiftBack);
  const w = c.failedOverWeights && typeof c.failedOverWeights === "object" ? c.failedOverWeights : d.failedOverWeights;
  const minHealthy =
    c.minHealthyTargets === undefined ? d.minHealthyTargets : Math.max(1, toCount(c.minHealthyTargets));
  return {
    failoverDesiredCount: Math.max(1, baseline, failoverRaw),
    baselineDesiredCount: baseline,
    cooldownSeconds: cooldown,
    failedOverWeights: { lambda: toWeight(w.lambda), fargate: Math.max(1, toWeight(w.fargate)) },
    minHealthyTargets: minHealthy,
    shiftBackDelaySeconds: shiftBack,
    treatInsufficientDataAsAlarm: c.treatInsufficientDataAsAlarm === true,
  };
}

/** Whether two weight pairs are equal. */
export function sameWeights(a: Weights, b: Weights): boolean {
  return a.lambda === b.lambda && a.fargate === b.fargate;
}

/** Normalize a state string: anything but OK/ALARM becomes INSUFFICIENT_DATA. */
function toAlarmState(value: unknown): AlarmStateValue {
  return value === "OK" || value === "ALARM" ? value : "INSUFFICIENT_DATA";
}

/**
 * Decide with reasoning. Same rules and guarantees as {@link decideFailover}; also returns the
 * phase, target weights and count for the log summary.
 *
 * @param observed state read from AWS in this invocation (may be malformed: it is sanitized)
 * @param config tuning (normalized with {@link normalizeFailoverConfig})
 * @param nowMs current time in epoch ms (non-finite → quiet time 0, i.e. no shift back delay or
 *   cooldown is considered elapsed)
 */
export function assessFailover(
  observed: ObservedState,
  config: Partial<FailoverConfig>,
  nowMs: number,
): FailoverAssessment {
  const cfg = normalizeFailoverConfig(config);
  const obs: Partial<ObservedState> = observed && typeof observed === "object" ? observed : {};
  const rawAlarms: unknown[] = Array.isArray(obs.alarms) ? obs.alarms : [];
  const alarms = rawAlarms.map((a) => {
    const x = (a && typeof a === "object" ? a : {}) as Partial<ObservedAlarm>;
    return { state: toAlarmState(x.state), at: x.stateUpdatedAtMs };
  });
  const rawWeights: Partial<Weights> = obs.weights && typeof obs.weights === "object" ? obs.weights : {};
  const current: Weights = { lambda: toWeight(rawWeights.lambda), fargate: toWeight(rawWeights.fargate) };
  const desiredCount = toCount(obs.service && typeof obs.service === "object" ? obs.service.desiredCount : 0);
  const healthy = toCount(obs.fargateHealthyTargets);

  const alarming = alarms.some(
    (a) => a.state === "ALARM" || (cfg.treatInsufficientDataAsAlarm && a.state === "INSUFFICIENT_DATA"),
  );

  // Memory-less cooldown clock: time since the most recent state update among the watched alarms.
  let quietForMs: number;
  if (alarming) {
    quietForMs = 0;
  } else if (alarms.length === 0) {
    quietForMs = Number.POSITIVE_INFINITY;
  } else if (!Number.isFinite(nowMs)) {
    quietForMs = 0;
  } else {
    let latest = Number.NEGATIVE_INFINITY;
    for (const a of alarms) {
      // An unknown timestamp counts as "just updated": it can only delay shift back / scale-down.
      const at = typeof a.at === "number" && Number.isFinite(a.at) ? a.at : nowMs;
      if (at > latest) latest = at;
    }
    quietForMs = Math.max(0, nowMs - latest);
  }

  const failedOver = cfg.failedOverWeights;
  const isFailedOver = sameWeights(current, failedOver);
  const shiftBackDelayMs = cfg.shiftBackDelaySeconds * 1000;
  const cooldownMs = cfg.cooldownSeconds * 1000;

  // Weights. The Lambda TG has no health checks: it is always eligible. Fargate is eligible only
  // with at least one healthy target, and is entered only with minHealthyTargets.
  let targetWeights: Weights;
  let phase: FailoverPhase;
  if (alarming) {
    if (healthy > 0 && (isFailedOver || healthy >= cfg.minHealthyTargets)) {
      targetWeights = failedOver;
      phase = "failed-over";
    } else {
      targetWeights = NORMAL_WEIGHTS;
      phase = desiredCount < cfg.failoverDesiredCount ? "scaling-up" : "waiting-for-healthy-targets";
    }
  } else if (healthy > 0 && isFailedOver && quietForMs < shiftBackDelayMs) {
    targetWeights = failedOver;
    phase = "shift-back-pending";
  } else {
    targetWeights = NORMAL_WEIGHTS;
    phase = current.fargate > 0 ? "shifting-back" : "normal";
  }

  // ECS capacity. Raising is always safe; lowering only when quiet for the cooldown and no
  // weight stays on Fargate (the weight change, if any, is ordered before the scale-down).
  let targetDesiredCount = desiredCount;
  if (alarming) {
    if (desiredCount < cfg.failoverDesiredCount) targetDesiredCount = cfg.failoverDesiredCount;
  } else if (desiredCount < cfg.baselineDesiredCount) {
    targetDesiredCount = cfg.baselineDesiredCount;
    if (phase === "normal") phase = "scaling-up";
  } else if (desiredCount > cfg.baselineDesiredCount) {
    if (quietForMs >= cooldownMs && targetWeights.fargate === 0) {
      targetDesiredCount = cfg.baselineDesiredCount;
      if (phase === "normal") phase = "scaling-down";
    } else if (phase === "normal") {
      phase = "cooling-down";
    }
  }

  const actions: FailoverAction[] = [];
  if (targetDesiredCount > desiredCount) {
    actions.push({ type: "scaleService", desiredCount: targetDesiredCount });
  }
  if (!sameWeights(current, targetWeights)) {
    actions.push({ type: "setWeights", lambda: targetWeights.lambda, fargate: targetWeights.fargate });
  }
  if (targetDesiredCount < desiredCount) {
    actions.push({ type: "scaleService", desiredCount: targetDesiredCount });
  }

  return {
    alarming,
    quietForMs,
    targetWeights: { lambda: targetWeights.lambda, fargate: targetWeights.fargate },
    targetDesiredCount,
    phase,
    actions,
  };
}

/**
 * Decide what to do now. Pure and total.
 *
 * @param observed state read from AWS in this invocation
 * @param config failover tuning (missing/invalid fields are normalized)
 * @param nowMs current time, epoch ms
 * @returns the actions to apply in order; `[]` when the world already matches the decision
 */
export function decideFailover(observed: ObservedState, config: Partial<FailoverConfig>, nowMs: number): FailoverAction[] {
  return assessFailover(observed, config, nowMs).actions;
}

/**
 * Merge an alarm state carried by an EventBridge event into the observed alarms, only when the
 * event is strictly newer than what DescribeAlarms returned for that alarm (DescribeAlarms may
 * briefly lag the event). Late, duplicate and out-of-order events are older or equal and are
 * ignored; hints for alarms that are not watched are ignored. Pure; returns a new array.
 */
export function applyAlarmHint(alarms: ObservedAlarm[], hint: AlarmHint | undefined): ObservedAlarm[] {
  const list = Array.isArray(alarms) ? alarms : [];
  if (!hint || typeof hint.atMs !== "number" || !Number.isFinite(hint.atMs)) return list.slice();
  return list.map((a) => {
    if (a.name !== hint.name) return a;
    const seen = Number.isFinite(a.stateUpdatedAtMs) ? a.stateUpdatedAtMs : Number.NEGATIVE_INFINITY;
    return hint.atMs > seen ? { name: a.name, state: toAlarmState(hint.state), stateUpdatedAtMs: hint.atMs } : a;
  });
}
