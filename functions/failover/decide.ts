/**
 * Pure failover decision for the HybridLambdaFargateService.
 *
 * The failover Lambda observes the world (alarm states, listener weights, ECS service counts,
 * Fargate target health and, while traffic or capacity is on Fargate, the Fargate target group's
 * per-minute demand), calls {@link decideFailover} once, applies the returned actions in order and
 * exits. There is no memory between invocations and no waiting loop: the next EventBridge alarm
 * event or the next scheduled tick (every minute) observes again and continues.
 *
 * Everything in this module is pure: no I/O, no clock (time is passed in), no module state.
 * Plain functions and object literals only, so the module survives Pulumi closure serialization.
 *
 * Decision rules (see docs/failover.md for the state machine):
 *
 * - **Alarming** = at least one watched alarm is `ALARM` (INSUFFICIENT_DATA counts as not alarming
 *   unless {@link FailoverConfig.treatInsufficientDataAsAlarm} is set). The alarms watch the API
 *   Lambda's own throttles and concurrency: they start a failover, but they go quiet as soon as the
 *   traffic has left Lambda, so they never decide a failback on their own.
 * - **Quiet time** = while nothing is alarming, the time since the most recent state update of any
 *   watched alarm (`nowMs - max(stateUpdatedAtMs)`).
 * - **Demand** ({@link assessDemand}) = the concurrency Lambda would need to carry the traffic now on
 *   Fargate, per minute, by Little's law: `RequestCount / 60 × max(TargetResponseTime,
 *   minResponseTimeSeconds)`, scaled up by the failed-over (or current, if smaller) Fargate share.
 *   A minute without a datapoint had no requests (the ALB publishes nothing for an idle minute), but
 *   only minutes that ended at least `demandLagSeconds` ago are taken as final.
 * - **Weights**:
 *   - Fargate has 0 healthy targets → {@link NORMAL_WEIGHTS} (Lambda only). Always, in every mode.
 *     The Lambda target group has no health checks, so it is always eligible.
 *   - Alarming and Fargate has ≥ `minHealthyTargets` healthy targets → `failedOverWeights`.
 *     Once failed over, the weights stay there while at least 1 target is healthy (hysteresis);
 *     other weights that already give a healthy Fargate traffic are kept, not moved to Lambda.
 *   - Not alarming and traffic on a healthy Fargate (the failed-over weights, or any other weights
 *     with Fargate > 0) → keep the weights until **failback**: the quiet time has reached
 *     `shiftBackDelaySeconds`, the failback window (`failbackWindowSeconds`, ending
 *     `demandLagSeconds` ago) lies entirely after the last alarm state update (so it only covers
 *     time when traffic was already on Fargate), and in every minute of that window, and in every
 *     newer minute already reported, the demand stayed below `failbackDemandFraction ×
 *     lambdaReservedConcurrency`. Without a demand observation there is no failback (except for
 *     health).
 *   - Not alarming otherwise → {@link NORMAL_WEIGHTS}.
 * - **ECS desired count**:
 *   - Alarming → raised to `failoverDesiredCount` if lower; never lowered while alarming.
 *   - Not alarming and below `baselineDesiredCount` → raised to the baseline at once.
 *   - Not alarming, above the baseline, quiet time ≥ `cooldownSeconds`, the desired weights give
 *     Fargate 0, and the Fargate target group served no request in the last `cooldownSeconds`
 *     (as reported, ending `demandLagSeconds` ago, plus any newer minute) → lowered to the baseline.
 *     The weight shift back (if still needed) is ordered before the scale-down in the same action
 *     list, so traffic leaves Fargate first.
 * - **Order**: a scale-up comes before a weight change (capacity first); a scale-down comes after
 *   it (traffic off first).
 *
 * Guarantees (checked by the randomized tests in test/functions/failover/decide.test.ts):
 * - total: any input (NaN, negative, missing fields, unknown states, junk demand) gives a valid
 *   answer;
 * - the resulting weights are never both 0 and never give Fargate weight when the observation
 *   shows 0 healthy Fargate targets;
 * - a failback (weight leaves Fargate while it has a healthy target, whatever the weights were)
 *   happens only with the demand below the threshold for the whole window;
 * - idempotent in one step: applying the actions and deciding again on the same observation
 *   (same alarms, health, running count, demand and time) returns no actions.
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

/**
 * One minute of the Fargate target group's traffic (CloudWatch `AWS/ApplicationELB`, dimensions
 * `LoadBalancer` + `TargetGroup`, period 60 s). Either value may be missing (no datapoint).
 */
export interface DemandMinute {
  /** Epoch ms of the minute's start (the datapoint's timestamp). Rounded down to the minute. */
  startMs: number;
  /** `RequestCount` (Sum) in that minute. Missing or invalid = no datapoint. */
  requests?: number;
  /** `TargetResponseTime` (Average) in that minute, seconds. Missing or invalid = no datapoint. */
  responseTimeSeconds?: number;
}

/** The demand series read with GetMetricData (see {@link demandQueryRange}). */
export interface ObservedDemand {
  /**
   * Datapoints as CloudWatch returned them: any order, duplicates and gaps allowed. Minutes that
   * are missing had no requests, once they are older than `demandLagSeconds`.
   */
  minutes: DemandMinute[];
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
  /**
   * The Fargate target group's traffic. Needed only when {@link needsDemand} says so (traffic or
   * extra capacity on Fargate); when absent, there is no failback (except for health) and no
   * scale-down above the baseline.
   */
  demand?: ObservedDemand;
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
  /**
   * The API Lambda's reserved concurrency: the cap the demand is compared with. Default 10 (the
   * component's default); values below 1 become 1.
   */
  lambdaReservedConcurrency: number;
  /**
   * Failback only while the demand stays below this fraction of `lambdaReservedConcurrency`.
   * Default 0.5. Kept within 0.05..0.8: it must stay well below the concurrency alarm's 90 % (the
   * failover trigger), or a failback would run straight into the next failover.
   */
  failbackDemandFraction: number;
  /**
   * How long the demand must have stayed below the threshold, seconds (whole minutes, 60..3600).
   * Default 600.
   */
  failbackWindowSeconds: number;
  /**
   * How late CloudWatch reports an ALB minute, seconds (60..900). Minutes that ended less than this
   * long ago are not yet taken as final: a missing one is not read as "no requests". Default 180.
   */
  demandLagSeconds: number;
  /**
   * Floor for the response time used in Little's law, seconds (0..10). A Lambda invocation costs
   * more than a 1 ms Fargate cache hit; the floor keeps very fast Fargate responses from suggesting
   * that Lambda needs almost no concurrency. Default 0.01.
   */
  minResponseTimeSeconds: number;
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
  | "demand-high"
  | "demand-unknown"
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
  /** The demand as judged for failback and scale-down. */
  demand: DemandAssessment;
  /** Actions to apply, in order. Empty = nothing to do. */
  actions: FailoverAction[];
}

/** What {@link assessDemand} concluded from the demand series. */
export interface DemandAssessment {
  /** Whether the observation carried a demand series at all. */
  observed: boolean;
  /** `failbackDemandFraction × lambdaReservedConcurrency`: failback needs the demand below it. */
  thresholdConcurrency: number;
  /** Start (inclusive) of the failback window, epoch ms; NaN when it cannot be placed. */
  windowStartMs: number;
  /** End (exclusive) of the failback window = the newest minute taken as final, epoch ms. */
  windowEndMs: number;
  /**
   * Highest concurrency Lambda would have needed in any minute from the window start on
   * (including newer minutes already reported). 0 when no request was reported.
   */
  peakConcurrency: number;
  /** The window lies entirely after the last alarm state update. */
  windowAfterAlarms: boolean;
  /** Failback allowed by demand: observed, window after the alarms, and peak below the threshold. */
  low: boolean;
  /**
   * The Fargate target group served no request in the last `cooldownSeconds` (ending at the
   * window end), nor in any newer minute already reported. Needed for a scale-down.
   */
  fargateIdle: boolean;
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
  lambdaReservedConcurrency: 10,
  failbackDemandFraction: 0.5,
  failbackWindowSeconds: 600,
  demandLagSeconds: 180,
  minResponseTimeSeconds: 0.01,
};

/** One CloudWatch period of the demand series. */
export const DEMAND_PERIOD_SECONDS = 60;
const MINUTE_MS = DEMAND_PERIOD_SECONDS * 1000;

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

/** A finite number within [min, max], or the fallback when not a finite number. */
function toRange(value: unknown, min: number, max: number, fallback: number): number {
  if (typeof value !== "number" || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, value));
}

/**
 * Fill defaults and repair out-of-range values so that every config gives safe decisions:
 * counts become non-negative integers, `failoverDesiredCount ≥ max(1, baseline)`,
 * `failedOverWeights.fargate ≥ 1`, weights within 0..999, `minHealthyTargets ≥ 1`,
 * `cooldownSeconds ≥ shiftBackDelaySeconds`, `lambdaReservedConcurrency ≥ 1`,
 * `failbackDemandFraction` within 0.05..0.8, `failbackWindowSeconds` whole minutes within
 * 60..3600, `demandLagSeconds` within 60..900, `minResponseTimeSeconds` within 0..10.
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
    lambdaReservedConcurrency: c.lambdaReservedConcurrency === undefined
      ? d.lambdaReservedConcurrency
      : Math.max(1, toCount(c.lambdaReservedConcurrency)),
    failbackDemandFraction: toRange(c.failbackDemandFraction, 0.05, 0.8, d.failbackDemandFraction),
    failbackWindowSeconds: Math.ceil(toRange(c.failbackWindowSeconds, 60, 3600, d.failbackWindowSeconds) / 60) * 60,
    demandLagSeconds: toRange(c.demandLagSeconds, 60, 900, d.demandLagSeconds),
    minResponseTimeSeconds: toRange(c.minResponseTimeSeconds, 0, 10, d.minResponseTimeSeconds),
  };
}

/**
 * Whether the decision can use a demand observation for this state: traffic is on Fargate (a
 * failback to judge) or Fargate runs above its baseline (a scale-down to judge). The shell reads
 * the demand (GetMetricData) only then; in normal operation it costs nothing.
 */
export function needsDemand(observed: ObservedState, config: Partial<FailoverConfig>): boolean {
  const cfg = normalizeFailoverConfig(config);
  const obs: Partial<ObservedState> = observed && typeof observed === "object" ? observed : {};
  const w: Partial<Weights> = obs.weights && typeof obs.weights === "object" ? obs.weights : {};
  const desired = toCount(obs.service && typeof obs.service === "object" ? obs.service.desiredCount : 0);
  return toWeight(w.fargate) > 0 || desired > cfg.baselineDesiredCount;
}

/**
 * The time range the shell asks GetMetricData for: whole minutes covering the longer of the
 * failback window and the cooldown, the reporting lag, and one spare minute, up to the next whole
 * minute after `nowMs`. Non-finite `nowMs` gives NaNs (the shell then cannot build a request).
 */
export function demandQueryRange(config: Partial<FailoverConfig>, nowMs: number): { startMs: number; endMs: number } {
  const cfg = normalizeFailoverConfig(config);
  const lookbackMs = (Math.max(cfg.failbackWindowSeconds, idleWindowSeconds(cfg)) + cfg.demandLagSeconds + DEMAND_PERIOD_SECONDS) * 1000;
  if (!Number.isFinite(nowMs)) return { startMs: Number.NaN, endMs: Number.NaN };
  return {
    startMs: Math.floor((nowMs - lookbackMs) / MINUTE_MS) * MINUTE_MS,
    endMs: Math.ceil(nowMs / MINUTE_MS) * MINUTE_MS,
  };
}

/** Longest idle window a scale-down waits for, seconds (the cooldown, capped at one day). */
export const MAX_IDLE_WINDOW_SECONDS = 86400;

/** The idle window of a scale-down: the cooldown in whole minutes, at most one day. */
function idleWindowSeconds(cfg: FailoverConfig): number {
  return Math.ceil(Math.min(cfg.cooldownSeconds, MAX_IDLE_WINDOW_SECONDS) / 60) * 60;
}

/** Non-negative finite number, or undefined. */
function toMetric(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Judge the demand series for failback and scale-down. Pure and total.
 *
 * - Buckets datapoints by minute (duplicates: the larger value counts, conservatively).
 * - The window is `[windowEnd − failbackWindowSeconds, windowEnd)` with `windowEnd` = the start of
 *   the minute containing `nowMs − demandLagSeconds`: every minute in it ended at least the lag
 *   ago, so a missing datapoint there means "no requests". Newer minutes count when reported.
 * - Needed concurrency of a minute = `requests / 60 × max(responseTime, minResponseTimeSeconds)` ×
 *   `max((wL + wF) / wF)` over the failed-over weights and the current ones (the Fargate share of the
 *   traffic scaled to all of it). A minute with requests but no response time uses the largest
 *   response time in the series (or the floor).
 * - `fargateIdle`: no reported minute with requests in `[windowEnd − cooldown, windowEnd)` (cooldown
 *   in whole minutes, at most a day) or later.
 * - `low` needs the window to start at or after `latestAlarmUpdateMs` (the window then covers only
 *   time when traffic was on Fargate: a failover happens while an alarm is ALARM, and that alarm's
 *   later return to OK is an update).
 *
 * @param demand the observed series, or undefined (→ not observed: never low, never idle)
 * @param config tuning (normalized)
 * @param nowMs current time, epoch ms
 * @param latestAlarmUpdateMs latest alarm state update, epoch ms (−Infinity when no alarm is watched)
 * @param currentWeights the listener's weights now (optional): a smaller Fargate share than the
 *   failed-over one scales the series up further
 */
export function assessDemand(
  demand: ObservedDemand | undefined,
  config: Partial<FailoverConfig>,
  nowMs: number,
  latestAlarmUpdateMs: number,
  currentWeights?: Weights,
): DemandAssessment {
  const cfg = normalizeFailoverConfig(config);
  const threshold = cfg.failbackDemandFraction * cfg.lambdaReservedConcurrency;
  const observed = !!demand && typeof demand === "object" && Array.isArray(demand.minutes);
  const none: DemandAssessment = {
    observed,
    thresholdConcurrency: threshold,
    windowStartMs: Number.NaN,
    windowEndMs: Number.NaN,
    peakConcurrency: Number.NaN,
    windowAfterAlarms: false,
    low: false,
    fargateIdle: false,
  };
  if (!observed || !Number.isFinite(nowMs)) return none;

  const byMinute = new Map<number, { requests?: number; rt?: number }>();
  let maxRt = 0;
  for (const raw of (demand as ObservedDemand).minutes as unknown[]) {
    const m = (raw && typeof raw === "object" ? raw : {}) as Partial<DemandMinute>;
    if (typeof m.startMs !== "number" || !Number.isFinite(m.startMs)) continue;
    const start = Math.floor(m.startMs / MINUTE_MS) * MINUTE_MS;
    const requests = toMetric(m.requests);
    const rt = toMetric(m.responseTimeSeconds);
    const b = byMinute.get(start) ?? {};
    if (requests !== undefined) b.requests = Math.max(b.requests ?? 0, requests);
    if (rt !== undefined) {
      b.rt = Math.max(b.rt ?? 0, rt);
      maxRt = Math.max(maxRt, rt);
    }
    byMinute.set(start, b);
  }

  // The Fargate series is the Fargate share of the traffic: scale it up to all of it. The share is
  // the failed-over weights', or the listener's current one when that is smaller (weights someone
  // else wrote: a deploy, an operator); the larger factor is the conservative one.
  const scaleOf = (w: Weights): number => (w.lambda + w.fargate) / w.fargate;
  const fo = cfg.failedOverWeights;
  const cw = currentWeights && typeof currentWeights === "object" ? { lambda: toWeight(currentWeights.lambda), fargate: toWeight(currentWeights.fargate) } : undefined;
  const scale = Math.max(scaleOf(fo), cw && cw.fargate > 0 ? scaleOf(cw) : 0);
  const windowEnd = Math.floor((nowMs - cfg.demandLagSeconds * 1000) / MINUTE_MS) * MINUTE_MS;
  const windowStart = windowEnd - cfg.failbackWindowSeconds * 1000;
  const idleStart = windowEnd - idleWindowSeconds(cfg) * 1000;
  let peak = 0;
  let idle = true;
  for (const [start, b] of byMinute) {
    const requests = b.requests ?? 0;
    if (requests <= 0) continue;
    if (start >= idleStart) idle = false;
    if (start >= windowStart) {
      const rt = Math.max(b.rt ?? maxRt, cfg.minResponseTimeSeconds);
      peak = Math.max(peak, (requests / DEMAND_PERIOD_SECONDS) * rt * scale);
    }
  }
  const latest = typeof latestAlarmUpdateMs === "number" && !Number.isNaN(latestAlarmUpdateMs) ? latestAlarmUpdateMs : nowMs;
  const windowAfterAlarms = windowStart >= latest;
  return {
    observed,
    thresholdConcurrency: threshold,
    windowStartMs: windowStart,
    windowEndMs: windowEnd,
    peakConcurrency: peak,
    windowAfterAlarms,
    low: windowAfterAlarms && peak < threshold,
    fargateIdle: idle,
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
  // An unknown timestamp counts as "just updated": it can only delay shift back / scale-down.
  let latestUpdate = Number.NEGATIVE_INFINITY;
  for (const a of alarms) {
    const at = typeof a.at === "number" && Number.isFinite(a.at) ? a.at : nowMs;
    if (Number.isNaN(at) || at > latestUpdate) latestUpdate = at;
  }
  let quietForMs: number;
  if (alarming) {
    quietForMs = 0;
  } else if (alarms.length === 0) {
    quietForMs = Number.POSITIVE_INFINITY;
  } else if (!Number.isFinite(nowMs)) {
    quietForMs = 0;
  } else {
    quietForMs = Math.max(0, nowMs - latestUpdate);
  }
  const demand = assessDemand(obs.demand, cfg, nowMs, latestUpdate, current);

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
    } else if (healthy > 0 && current.fargate > 0) {
      // Weights someone else wrote already put traffic on a Fargate that has a healthy target, but
      // fewer than minHealthyTargets: keep them (moving it to the throttling Lambda is worse) until
      // enough targets are healthy to fail over properly.
      targetWeights = current;
      phase = desiredCount < cfg.failoverDesiredCount ? "scaling-up" : "waiting-for-healthy-targets";
    } else {
      targetWeights = NORMAL_WEIGHTS;
      phase = desiredCount < cfg.failoverDesiredCount ? "scaling-up" : "waiting-for-healthy-targets";
    }
  } else if (healthy > 0 && current.fargate > 0 && !(quietForMs >= shiftBackDelayMs && demand.low)) {
    // Failback needs the alarms quiet for the delay AND the demand Lambda would carry below the
    // threshold for the whole window (the Lambda alarms alone say nothing once traffic has left).
    // That holds for any weights that put traffic on a healthy Fargate, not only failedOverWeights:
    // weights written by someone else (a deploy that resets the listener's weights, an operator, a
    // changed failedOverWeights) are kept as they are until the demand allows the failback.
    targetWeights = isFailedOver ? failedOver : current;
    if (!demand.observed) phase = "demand-unknown";
    else if (quietForMs < shiftBackDelayMs || !demand.windowAfterAlarms) phase = "shift-back-pending";
    else phase = "demand-high";
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
    if (quietForMs >= cooldownMs && targetWeights.fargate === 0 && demand.fargateIdle) {
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
    demand,
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
