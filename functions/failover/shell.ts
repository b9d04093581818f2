/**
 * Thin AWS SDK v3 shell around the pure decision in ./decide.ts.
 *
 * One invocation = observe (4 reads in parallel, then the Fargate target group's demand with
 * GetMetricData when traffic or extra capacity is on Fargate) → decide → apply (≤ 2 writes, in
 * order) → log a summary. No loops, no sleeps, no state kept between invocations: the next alarm event or
 * scheduled tick continues multi-step work. Every AWS call is time-boxed twice: the SDK's own
 * request timeout (see {@link createFailoverClients}) and a hard race against a timer that also
 * aborts the request ({@link FailoverCallOptions}); the whole invocation has a budget derived from
 * the Lambda's remaining time.
 *
 * Serialization (Pulumi `aws.lambda.CallbackFunction({ callbackFactory })`): plain functions and
 * object literals only; create clients inside the factory, e.g.
 *
 * ```ts
 * callbackFactory: () => createFailoverHandler({
 *   clients: createFailoverClients(),
 *   ids: { listenerArn: listenerArn.get(), ... },
 *   config: { failoverDesiredCount: 2, baselineDesiredCount: 0, cooldownSeconds: 900 },
 * })
 * ```
 *
 * The `@aws-sdk/*` clients ship in the archive (components/lambdaPackaging.ts): the runtime's own SDK is
 * an older, partial copy that changes without notice.
 */
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import {
  DescribeListenersCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  type Action as ElbAction,
  type TargetGroupTuple,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  applyAlarmHint,
  assessFailover,
  DEMAND_PERIOD_SECONDS,
  demandQueryRange,
  MAX_WEIGHT,
  needsDemand,
  type AlarmHint,
  type AlarmStateValue,
  type DemandAssessment,
  type DemandMinute,
  type FailoverAction,
  type FailoverConfig,
  type FailoverPhase,
  type ObservedDemand,
  type ObservedAlarm,
  type ObservedState,
  type Weights,
} from "./decide";
import { createJsonLog, formatLogLine } from "../cache/log";

/** The `service` of the failover Lambda's log lines. */
const FAILOVER_SERVICE = "failover";

export { failoverIamStatements, FAILOVER_IAM_ACTIONS } from "./iam";
export type { FailoverIamArns, FailoverIamAction, IamPolicyStatement } from "./iam";

/** The three SDK clients the shell uses. */
export interface FailoverClients {
  cloudwatch: CloudWatchClient;
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
}

/** Identifiers of the resources the failover watches and changes. */
export interface FailoverIds {
  /** ALB listener whose default action forwards (weighted) to both target groups. */
  listenerArn: string;
  /** Lambda target group ARN. */
  lambdaTargetGroupArn: string;
  /** Fargate (`ip`) target group ARN. */
  fargateTargetGroupArn: string;
  /** ECS cluster name or ARN. */
  cluster: string;
  /** ECS service name or ARN. */
  service: string;
  /** Names of the watched CloudWatch metric alarms (1..100). */
  alarmNames: string[];
  /**
   * The ALB's ARN suffix, the `LoadBalancer` dimension of `AWS/ApplicationELB`
   * (`app/<name>/<id>`). Needed to read the demand: without it every invocation fails (fail
   * static), as a cold start without a required variable would.
   */
  albArnSuffix?: string;
  /**
   * The Fargate target group's ARN suffix, the `TargetGroup` dimension (`targetgroup/<name>/<id>`).
   * Needed like {@link albArnSuffix}.
   */
  fargateTargetGroupArnSuffix?: string;
}

/** Time-box settings for AWS calls. */
export interface FailoverCallOptions {
  /** Maximum duration of one AWS call, ms. Default 4000. */
  callTimeoutMs?: number;
  /** Absolute deadline (epoch ms) that no call may run past. Default: none. */
  deadlineMs?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/** What {@link observe} returns: the pure state plus the raw listener actions `apply` rewrites. */
export interface Observation {
  /** Input of the decision. */
  state: ObservedState;
  /** The listener's current DefaultActions, untouched (kept for ModifyListener). */
  listenerDefaultActions: ElbAction[];
  /** The ECS service status (always "ACTIVE" here: anything else throws). */
  serviceStatus: string;
}

/** Options of {@link apply}. */
export interface ApplyOptions extends FailoverCallOptions {
  /** DefaultActions from the same invocation's observe; read with DescribeListeners if absent. */
  listenerDefaultActions?: ElbAction[];
  /** Called after each action succeeded (for partial-progress logging). */
  onApplied?: (action: FailoverAction) => void;
}

/** Dependencies of {@link createFailoverHandler}. */
export interface FailoverHandlerDeps {
  clients: FailoverClients;
  ids: FailoverIds;
  /** Failover tuning; normalized by the decision. */
  config: Partial<FailoverConfig>;
  /** Maximum duration of one AWS call, ms. Default 4000. */
  callTimeoutMs?: number;
  /** Maximum duration of one invocation, ms. Default 20000 (for a 30 s Lambda timeout). */
  budgetMs?: number;
  /** Kept free before the Lambda deadline when the context tells the remaining time. Default 3000. */
  safetyMarginMs?: number;
  /** Clock. Default `Date.now`. */
  now?: () => number;
  /**
   * Sink for the one-line JSON summary (`{"level","message","timestamp","service":"failover","failover":{...}}`),
   * unfiltered. Default: the project's JSON-lines logger (functions/cache/log.ts), level-filtered.
   */
  log?: (line: string) => void;
}

/** The part of the Lambda context the handler uses. */
export interface FailoverContext {
  getRemainingTimeInMillis?: () => number;
  /** `arn:aws:lambda:<region>:<account>:function:<name>`: the account and Region an event must come from. */
  invokedFunctionArn?: string;
}

/** How far an alarm event's timestamp may lie in the future (clock skew), and how old it may be. */
export const HINT_MAX_FUTURE_MS = 60_000;
export const HINT_MAX_AGE_MS = 15 * 60_000;

/** Where events may come from: this function's own account and Region (from its ARN), and the time now. */
export interface HintExpectations {
  account?: string;
  region?: string;
  nowMs?: number;
}

/** Account and Region of a Lambda function ARN, if it is one. */
export function functionArnParts(arn: unknown): { region?: string; account?: string } {
  const m = typeof arn === "string" ? /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):function:/.exec(arn) : null;
  return m ? { region: m[1], account: m[2] } : {};
}

/** Result of one invocation (also logged as one JSON line). */
export interface FailoverSummary {
  /** What invoked us: an alarm state change event, the schedule, or anything else. */
  trigger: "alarm-event" | "schedule" | "other";
  /** Alarm state carried by the event, when it named a watched alarm. */
  hint?: AlarmHint;
  /** Observed state used for the decision (after merging a newer hint). */
  observed?: ObservedState;
  /** Decision phase. */
  phase?: FailoverPhase;
  /** How the demand was judged (threshold, window, peak, low, idle). */
  demand?: DemandAssessment;
  /** Decided actions, in order. */
  actions: FailoverAction[];
  /** Actions that completed (equals `actions` on success). */
  applied: FailoverAction[];
  /** Duration of the invocation, ms. */
  durationMs: number;
  /** Error message when the invocation failed (the handler then rethrows). */
  error?: string;
}

/** Default maximum duration of one AWS call. */
export const DEFAULT_CALL_TIMEOUT_MS = 4000;
/** Default invocation budget. */
export const DEFAULT_BUDGET_MS = 20000;
/** Default margin kept before the Lambda deadline. */
export const DEFAULT_SAFETY_MARGIN_MS = 3000;

/** Create an Error whose name is `FailoverTimeoutError`. */
function timeoutError(message: string): Error {
  const err = new Error(message);
  err.name = "FailoverTimeoutError";
  return err;
}

/**
 * Run `run(signal)` but settle no later than the call budget: min(callTimeoutMs, deadline − now).
 * On expiry the signal is aborted (the SDK cancels the HTTP request) and the returned promise
 * rejects with a `FailoverTimeoutError`, even if the underlying call ignores the signal.
 */
function timeBoxed<T>(label: string, opts: FailoverCallOptions, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const now = opts.now ?? Date.now;
  const callMs = opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const leftMs = opts.deadlineMs === undefined ? callMs : Math.min(callMs, opts.deadlineMs - now());
  if (!(leftMs > 0)) {
    return Promise.reject(timeoutError(`${label}: invocation budget exhausted before the call`));
  }
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const err = timeoutError(`${label} timed out after ${Math.round(leftMs)} ms`);
      controller.abort(err);
      reject(err);
    }, leftMs);
  });
  let call: Promise<T>;
  try {
    call = run(controller.signal);
  } catch (err) {
    call = Promise.reject(err);
  }
  return Promise.race([call, expiry]).finally(() => clearTimeout(timer));
}

/** Epoch ms of a Date-ish value, or NaN. */
function toMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "string" || typeof value === "number") return new Date(value).getTime();
  return Number.NaN;
}

/** Normalize an SDK state string. */
function toState(value: unknown): AlarmStateValue {
  return value === "OK" || value === "ALARM" ? value : "INSUFFICIENT_DATA";
}

/** The listener's (first) forward default action, or throw. */
function forwardAction(actions: ElbAction[]): ElbAction {
  const fwd = actions.find((a) => a.Type === "forward");
  if (!fwd) throw new Error("listener default actions contain no forward action");
  return fwd;
}

/** Target group tuples of a forward action (a plain `TargetGroupArn` forward counts as weight 1). */
function forwardGroups(fwd: ElbAction): TargetGroupTuple[] {
  const groups = fwd.ForwardConfig?.TargetGroups;
  if (groups && groups.length > 0) return groups;
  return fwd.TargetGroupArn ? [{ TargetGroupArn: fwd.TargetGroupArn, Weight: 1 }] : [];
}

/**
 * Weights of our two target groups in the listener's default forward action. A group absent from
 * the action has weight 0; a group listed without a Weight counts as 1 (conservative: treated as
 * receiving traffic). Throws when neither group is referenced (not our listener).
 */
export function weightsFromListenerActions(actions: ElbAction[], ids: Pick<FailoverIds, "lambdaTargetGroupArn" | "fargateTargetGroupArn">): Weights {
  const groups = forwardGroups(forwardAction(actions));
  const weightOf = (arn: string): number | undefined => {
    const g = groups.find((t) => t.TargetGroupArn === arn);
    if (!g) return undefined;
    return typeof g.Weight === "number" && Number.isFinite(g.Weight) ? g.Weight : 1;
  };
  const lambda = weightOf(ids.lambdaTargetGroupArn);
  const fargate = weightOf(ids.fargateTargetGroupArn);
  if (lambda === undefined && fargate === undefined) {
    throw new Error("listener default forward action references neither configured target group");
  }
  return { lambda: lambda ?? 0, fargate: fargate ?? 0 };
}

/**
 * New DefaultActions with our two target groups' weights replaced. Everything else is kept:
 * other actions (e.g. authenticate-*), Order, other target groups, TargetGroupStickinessConfig.
 * A plain `TargetGroupArn` forward is converted to a ForwardConfig (the two forms cannot be mixed
 * with several target groups).
 */
export function listenerActionsWithWeights(
  actions: ElbAction[],
  ids: Pick<FailoverIds, "lambdaTargetGroupArn" | "fargateTargetGroupArn">,
  weights: Weights,
): ElbAction[] {
  const fwd = forwardAction(actions);
  const groups: TargetGroupTuple[] = forwardGroups(fwd).map((g) => ({ ...g }));
  const setWeight = (arn: string, weight: number): void => {
    const g = groups.find((t) => t.TargetGroupArn === arn);
    if (g) g.Weight = weight;
    else groups.push({ TargetGroupArn: arn, Weight: weight });
  };
  setWeight(ids.lambdaTargetGroupArn, weights.lambda);
  setWeight(ids.fargateTargetGroupArn, weights.fargate);
  const next: ElbAction = { ...fwd, ForwardConfig: { ...fwd.ForwardConfig, TargetGroups: groups } };
  delete next.TargetGroupArn;
  return actions.map((a) => (a === fwd ? next : a));
}

/**
 * Read the current state from AWS: DescribeAlarms (configured names only), DescribeListeners,
 * DescribeServices and DescribeTargetHealth, in parallel, each time-boxed.
 * Throws (fail static: nothing is changed) when an alarm is missing, the service is not ACTIVE or
 * the listener does not forward to our target groups.
 */
export async function observe(clients: FailoverClients, ids: FailoverIds, opts: FailoverCallOptions = {}): Promise<Observation> {
  const [alarmsOut, listenersOut, servicesOut, healthOut] = await Promise.all([
    timeBoxed("cloudwatch:DescribeAlarms", opts, (abortSignal) =>
      clients.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ids.alarmNames, MaxRecords: 100 }), { abortSignal }),
    ),
    timeBoxed("elasticloadbalancing:DescribeListeners", opts, (abortSignal) =>
      clients.elbv2.send(new DescribeListenersCommand({ ListenerArns: [ids.listenerArn] }), { abortSignal }),
    ),
    timeBoxed("ecs:DescribeServices", opts, (abortSignal) =>
      clients.ecs.send(new DescribeServicesCommand({ cluster: ids.cluster, services: [ids.service] }), { abortSignal }),
    ),
    timeBoxed("elasticloadbalancing:DescribeTargetHealth", opts, (abortSignal) =>
      clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: ids.fargateTargetGroupArn }), { abortSignal }),
    ),
  ]);

  const metricAlarms = alarmsOut.MetricAlarms ?? [];
  const missing: string[] = [];
  const alarms: ObservedAlarm[] = [];
  for (const name of ids.alarmNames) {
    const a = metricAlarms.find((m) => m.AlarmName === name);
    if (!a) {
      missing.push(name);
      continue;
    }
    const updated = toMs(a.StateUpdatedTimestamp);
    const transitioned = toMs(a.StateTransitionedTimestamp);
    // The later of the two: a later timestamp can only lengthen the quiet-time wait.
    const at = Number.isFinite(updated) || Number.isFinite(transitioned)
      ? Math.max(Number.isFinite(updated) ? updated : -Infinity, Number.isFinite(transitioned) ? transitioned : -Infinity)
      : Number.NaN;
    alarms.push({ name, state: toState(a.StateValue), stateUpdatedAtMs: at });
  }
  if (missing.length > 0) throw new Error(`watched alarm(s) not found by DescribeAlarms: ${missing.join(", ")}`);

  const listener = (listenersOut.Listeners ?? []).find((l) => l.ListenerArn === ids.listenerArn) ?? listenersOut.Listeners?.[0];
  if (!listener) throw new Error(`listener not found: ${ids.listenerArn}`);
  const listenerDefaultActions = listener.DefaultActions ?? [];
  const weights = weightsFromListenerActions(listenerDefaultActions, ids);

  if (servicesOut.failures && servicesOut.failures.length > 0) {
    const f = servicesOut.failures[0];
    throw new Error(`DescribeServices failure for ${f.arn ?? ids.service}: ${f.reason ?? "unknown"}`);
  }
  const svc = servicesOut.services?.[0];
  if (!svc) throw new Error(`ECS service not found: ${ids.service}`);
  const serviceStatus = svc.status ?? "UNKNOWN";
  if (serviceStatus !== "ACTIVE") throw new Error(`ECS service ${ids.service} is ${serviceStatus}, not ACTIVE`);

  const fargateHealthyTargets = (healthOut.TargetHealthDescriptions ?? []).filter(
    (d) => d.TargetHealth?.State === "healthy",
  ).length;

  return {
    state: {
      alarms,
      weights,
      service: { desiredCount: svc.desiredCount ?? 0, runningCount: svc.runningCount ?? 0 },
      fargateHealthyTargets,
    },
    listenerDefaultActions,
    serviceStatus,
  };
}

/** The two GetMetricData query ids, and what they read. */
const DEMAND_QUERIES = [
  { Id: "requests", MetricName: "RequestCount", Stat: "Sum" },
  { Id: "latency", MetricName: "TargetResponseTime", Stat: "Average" },
] as const;

/**
 * Read the Fargate target group's demand with one `cloudwatch:GetMetricData` call (read only):
 * `RequestCount` (Sum) and `TargetResponseTime` (Average) of `AWS/ApplicationELB` with dimensions
 * `LoadBalancer` + `TargetGroup`, period 60 s, over `range` (see `demandQueryRange`). Time-boxed
 * like every call. Throws (fail static) when the ARN suffixes are missing or a result is not
 * `Complete` (a partial series could hide a busy minute).
 */
export async function observeDemand(
  clients: FailoverClients,
  ids: FailoverIds,
  range: { startMs: number; endMs: number },
  opts: FailoverCallOptions = {},
): Promise<ObservedDemand> {
  if (!ids.albArnSuffix || !ids.fargateTargetGroupArnSuffix) {
    throw new Error("demand metrics are not configured: albArnSuffix and fargateTargetGroupArnSuffix are required (FAILOVER_ALB_ARN_SUFFIX, FAILOVER_FARGATE_TG_ARN_SUFFIX)");
  }
  if (!Number.isFinite(range.startMs) || !Number.isFinite(range.endMs) || range.endMs <= range.startMs) {
    throw new Error(`invalid demand query range ${JSON.stringify(range)}`);
  }
  const dimensions = [
    { Name: "LoadBalancer", Value: ids.albArnSuffix },
    { Name: "TargetGroup", Value: ids.fargateTargetGroupArnSuffix },
  ];
  const out = await timeBoxed("cloudwatch:GetMetricData", opts, (abortSignal) =>
    clients.cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(range.startMs),
        EndTime: new Date(range.endMs),
        ScanBy: "TimestampAscending",
        MetricDataQueries: DEMAND_QUERIES.map((q) => ({
          Id: q.Id,
          ReturnData: true,
          MetricStat: {
            Metric: { Namespace: "AWS/ApplicationELB", MetricName: q.MetricName, Dimensions: dimensions },
            Period: DEMAND_PERIOD_SECONDS,
            Stat: q.Stat,
          },
        })),
      }),
      { abortSignal },
    ),
  );
  const byMinute = new Map<number, DemandMinute>();
  for (const q of DEMAND_QUERIES) {
    const result = (out.MetricDataResults ?? []).find((r) => r.Id === q.Id);
    if (!result) throw new Error(`GetMetricData returned no result for ${q.MetricName}`);
    if (result.StatusCode !== "Complete") {
      throw new Error(`GetMetricData ${q.MetricName}: status ${result.StatusCode ?? "missing"}, not Complete`);
    }
    const timestamps = result.Timestamps ?? [];
    const values = result.Values ?? [];
    for (let i = 0; i < timestamps.length && i < values.length; i++) {
      const startMs = toMs(timestamps[i]);
      if (!Number.isFinite(startMs)) continue;
      const minute = byMinute.get(startMs) ?? { startMs };
      if (q.Id === "requests") minute.requests = values[i];
      else minute.responseTimeSeconds = values[i];
      byMinute.set(startMs, minute);
    }
  }
  return { minutes: [...byMinute.values()].sort((a, b) => a.startMs - b.startMs) };
}

/** Whether `n` is an integer in [min, max]. */
function isIntIn(n: unknown, min: number, max: number): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= min && n <= max;
}

/**
 * Apply the decided actions in order (ModifyListener, UpdateService), each time-boxed. Stops at
 * the first failure (later actions may rely on earlier ones, e.g. traffic off Fargate before the
 * scale-down) and rethrows. Refuses invalid actions, in particular weights that are both 0.
 */
export async function apply(
  clients: FailoverClients,
  ids: FailoverIds,
  actions: FailoverAction[],
  opts: ApplyOptions = {},
): Promise<FailoverAction[]> {
  const done: FailoverAction[] = [];
  let current = opts.listenerDefaultActions;
  for (const action of actions) {
    if (action.type === "setWeights") {
      if (!isIntIn(action.lambda, 0, MAX_WEIGHT) || !isIntIn(action.fargate, 0, MAX_WEIGHT)) {
        throw new Error(`refusing invalid weights ${JSON.stringify(action)}`);
      }
      if (action.lambda + action.fargate === 0) throw new Error("refusing to set both weights to 0");
      if (!current) {
        const out = await timeBoxed("elasticloadbalancing:DescribeListeners", opts, (abortSignal) =>
          clients.elbv2.send(new DescribeListenersCommand({ ListenerArns: [ids.listenerArn] }), { abortSignal }),
        );
        current = out.Listeners?.[0]?.DefaultActions;
        if (!current) throw new Error(`listener not found: ${ids.listenerArn}`);
      }
      const next = listenerActionsWithWeights(current, ids, { lambda: action.lambda, fargate: action.fargate });
      await timeBoxed("elasticloadbalancing:ModifyListener", opts, (abortSignal) =>
        clients.elbv2.send(new ModifyListenerCommand({ ListenerArn: ids.listenerArn, DefaultActions: next }), { abortSignal }),
      );
      current = next;
    } else if (action.type === "scaleService") {
      if (!isIntIn(action.desiredCount, 0, 100000)) throw new Error(`refusing invalid desiredCount ${JSON.stringify(action)}`);
      await timeBoxed("ecs:UpdateService", opts, (abortSignal) =>
        clients.ecs.send(
          new UpdateServiceCommand({ cluster: ids.cluster, service: ids.service, desiredCount: action.desiredCount }),
          { abortSignal },
        ),
      );
    } else {
      throw new Error(`unknown action ${JSON.stringify(action)}`);
    }
    done.push(action);
    if (opts.onApplied) opts.onApplied(action);
  }
  return done;
}

/**
 * The alarm state carried by an EventBridge "CloudWatch Alarm State Change" event for one of the
 * watched alarms, or undefined (schedule events, other alarms, malformed events).
 */
export function alarmHintFromEvent(event: unknown, alarmNames: string[], expected: HintExpectations = {}): AlarmHint | undefined {
  if (!event || typeof event !== "object") return undefined;
  const e = event as {
    "detail-type"?: unknown;
    source?: unknown;
    account?: unknown;
    region?: unknown;
    time?: unknown;
    detail?: { alarmName?: unknown; state?: { value?: unknown; timestamp?: unknown } };
  };
  if (e["detail-type"] !== "CloudWatch Alarm State Change") return undefined;
  // Only CloudWatch's own events, from this account and Region, are evidence. Anything else (an event
  // someone with invoke rights crafted) is ignored: DescribeAlarms is read in any case.
  if (e.source !== "aws.cloudwatch") return undefined;
  if (expected.account !== undefined && e.account !== expected.account) return undefined;
  if (expected.region !== undefined && e.region !== expected.region) return undefined;
  const name = e.detail?.alarmName;
  if (typeof name !== "string" || !alarmNames.includes(name)) return undefined;
  const value = e.detail?.state?.value;
  if (value !== "OK" && value !== "ALARM" && value !== "INSUFFICIENT_DATA") return undefined;
  const atMs = toMs(e.detail?.state?.timestamp ?? e.time);
  if (!Number.isFinite(atMs)) return undefined;
  // A timestamp from the future would make the hint outrank every later real state change; a stale
  // one says nothing DescribeAlarms does not. Both are dropped.
  if (expected.nowMs !== undefined && (atMs > expected.nowMs + HINT_MAX_FUTURE_MS || atMs < expected.nowMs - HINT_MAX_AGE_MS)) return undefined;
  return { name, state: value, atMs };
}

/** Classify the invoking event. */
function triggerOf(event: unknown): FailoverSummary["trigger"] {
  const type = event && typeof event === "object" ? (event as { "detail-type"?: unknown })["detail-type"] : undefined;
  if (type === "CloudWatch Alarm State Change") return "alarm-event";
  if (type === "Scheduled Event") return "schedule";
  return "other";
}

/**
 * SDK clients with their own timeouts (connection 1 s, request 3 s, 2 attempts) so a stuck
 * connection is cut even before the handler's time box. Call inside the callbackFactory.
 */
export function createFailoverClients(opts: { region?: string; requestTimeoutMs?: number; maxAttempts?: number } = {}): FailoverClients {
  const config = {
    region: opts.region,
    maxAttempts: opts.maxAttempts ?? 2,
    requestHandler: {
      connectionTimeout: 1000,
      requestTimeout: opts.requestTimeoutMs ?? 3000,
      throwOnRequestTimeout: true,
    },
  };
  return {
    cloudwatch: new CloudWatchClient(config),
    ecs: new ECSClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
  };
}

/** Validate ids once, at handler creation (a cold start), so misconfiguration is loud. */
function validateIds(ids: FailoverIds): void {
  const required: Array<keyof FailoverIds> = ["listenerArn", "lambdaTargetGroupArn", "fargateTargetGroupArn", "cluster", "service"];
  for (const key of required) {
    const v = ids?.[key];
    if (typeof v !== "string" || v === "") throw new Error(`failover ids.${key} is required`);
  }
  if (ids.lambdaTargetGroupArn === ids.fargateTargetGroupArn) throw new Error("failover target groups must differ");
  if (!Array.isArray(ids.alarmNames) || ids.alarmNames.length === 0 || ids.alarmNames.length > 100) {
    throw new Error("failover ids.alarmNames must list 1..100 alarm names");
  }
  // The suffixes may be absent (then every invocation fails before any AWS call), never malformed.
  if (ids.albArnSuffix !== undefined && !/^app\/[^/]+\/[0-9a-f]+$/.test(ids.albArnSuffix)) {
    throw new Error(`failover ids.albArnSuffix ${JSON.stringify(ids.albArnSuffix)} is not an ALB ARN suffix (app/<name>/<id>)`);
  }
  if (ids.fargateTargetGroupArnSuffix !== undefined && !/^targetgroup\/[^/]+\/[0-9a-f]+$/.test(ids.fargateTargetGroupArnSuffix)) {
    throw new Error(`failover ids.fargateTargetGroupArnSuffix ${JSON.stringify(ids.fargateTargetGroupArnSuffix)} is not a target group ARN suffix (targetgroup/<name>/<id>)`);
  }
}

/**
 * Build the Lambda handler: observe → decide → apply → log one JSON summary line.
 * Returns the summary; on any error logs the summary with `error` and rethrows (the invocation
 * is reported as failed; the next event or tick retries from fresh observations).
 */
export function createFailoverHandler(
  deps: FailoverHandlerDeps,
): (event: unknown, context?: FailoverContext) => Promise<FailoverSummary> {
  validateIds(deps.ids);
  const ids: FailoverIds = { ...deps.ids, alarmNames: deps.ids.alarmNames.slice() };
  const clients = deps.clients;
  const config = deps.config;
  const now = deps.now ?? Date.now;
  const jsonLog = createJsonLog(FAILOVER_SERVICE);
  const sink = deps.log;
  const logSummary = (level: "info" | "error", summary: FailoverSummary): void => {
    if (sink) sink(formatLogLine(level, "failover summary", FAILOVER_SERVICE, { failover: summary }));
    else jsonLog(level, "failover summary", { failover: summary });
  };
  const callTimeoutMs = deps.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const budgetMs = deps.budgetMs ?? DEFAULT_BUDGET_MS;
  const safetyMarginMs = deps.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;

  return async (event: unknown, context?: FailoverContext): Promise<FailoverSummary> => {
    const start = now();
    const remaining = context && typeof context.getRemainingTimeInMillis === "function" ? context.getRemainingTimeInMillis() : undefined;
    const budget = typeof remaining === "number" && Number.isFinite(remaining) ? Math.min(budgetMs, remaining - safetyMarginMs) : budgetMs;
    const callOpts: FailoverCallOptions = { callTimeoutMs, deadlineMs: start + budget, now };
    const summary: FailoverSummary = { trigger: triggerOf(event), actions: [], applied: [], durationMs: 0 };
    try {
      if (!ids.albArnSuffix || !ids.fargateTargetGroupArnSuffix) {
        // Fail every invocation, as loudly as a cold start without a required variable would.
        throw new Error("demand metrics are not configured: FAILOVER_ALB_ARN_SUFFIX and FAILOVER_FARGATE_TG_ARN_SUFFIX are required");
      }
      const hint = alarmHintFromEvent(event, ids.alarmNames, { ...functionArnParts(context?.invokedFunctionArn), nowMs: start });
      if (hint) summary.hint = hint;
      const observation = await observe(clients, ids, callOpts);
      let state: ObservedState = hint
        ? { ...observation.state, alarms: applyAlarmHint(observation.state.alarms, hint) }
        : observation.state;
      if (needsDemand(state, config)) {
        // Traffic or extra capacity on Fargate: failback and scale-down depend on the demand.
        state = { ...state, demand: await observeDemand(clients, ids, demandQueryRange(config, now()), callOpts) };
      }
      summary.observed = state;
      const assessment = assessFailover(state, config, now());
      summary.phase = assessment.phase;
      summary.demand = assessment.demand;
      summary.actions = assessment.actions;
      await apply(clients, ids, assessment.actions, {
        ...callOpts,
        listenerDefaultActions: observation.listenerDefaultActions,
        onApplied: (a) => summary.applied.push(a),
      });
      summary.durationMs = now() - start;
      logSummary("info", summary);
      return summary;
    } catch (err) {
      summary.durationMs = now() - start;
      summary.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      logSummary("error", summary);
      throw err;
    }
  };
}

/**
 * The deployed handler: ids and config from the environment the component sets (FAILOVER_*), clients
 * from the SDK shipped in the archive. Used by the component's callbackFactory and by the cold-start
 * bundle. A missing variable fails the cold start with its name, except the two ARN suffixes
 * (FAILOVER_ALB_ARN_SUFFIX, FAILOVER_FARGATE_TG_ARN_SUFFIX): without them the handler is created
 * and every invocation fails before any AWS call (the same Errors signal; a malformed one fails the
 * cold start).
 */
export function createFailoverHandlerFromEnv(env: Record<string, string | undefined>): ReturnType<typeof createFailoverHandler> {
  const need = (key: string): string => {
    const v = env[key];
    if (!v) throw new Error(`environment variable ${key} is required`);
    return v;
  };
  return createFailoverHandler({
    clients: createFailoverClients(),
    ids: {
      listenerArn: need("FAILOVER_LISTENER_ARN"),
      lambdaTargetGroupArn: need("FAILOVER_LAMBDA_TG_ARN"),
      fargateTargetGroupArn: need("FAILOVER_FARGATE_TG_ARN"),
      cluster: need("FAILOVER_CLUSTER"),
      service: need("FAILOVER_SERVICE"),
      alarmNames: need("FAILOVER_ALARM_NAMES").split(","),
      ...(env.FAILOVER_ALB_ARN_SUFFIX ? { albArnSuffix: env.FAILOVER_ALB_ARN_SUFFIX } : {}),
      ...(env.FAILOVER_FARGATE_TG_ARN_SUFFIX ? { fargateTargetGroupArnSuffix: env.FAILOVER_FARGATE_TG_ARN_SUFFIX } : {}),
    },
    config: {
      baselineDesiredCount: Number(need("FAILOVER_BASELINE_COUNT")),
      failoverDesiredCount: Number(need("FAILOVER_DESIRED_COUNT")),
      cooldownSeconds: Number(need("FAILOVER_COOLDOWN_SECONDS")),
      shiftBackDelaySeconds: Number(need("FAILOVER_SHIFT_BACK_DELAY_SECONDS")),
      lambdaReservedConcurrency: Number(need("FAILOVER_LAMBDA_RESERVED_CONCURRENCY")),
      failbackDemandFraction: Number(need("FAILOVER_FAILBACK_DEMAND_FRACTION")),
      failbackWindowSeconds: Number(need("FAILOVER_FAILBACK_WINDOW_SECONDS")),
      demandLagSeconds: Number(need("FAILOVER_DEMAND_LAG_SECONDS")),
      minResponseTimeSeconds: Number(need("FAILOVER_MIN_RESPONSE_TIME_SECONDS")),
    },
  });
}
