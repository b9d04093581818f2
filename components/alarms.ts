// The alarm shapes the components share: one place decides what missing data means and who is told.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Share of the timeout at which p99 duration alarms: a function this close to its timeout is about to fail. */
export const DURATION_ALARM_SHARE_OF_TIMEOUT = 0.8;

/**
 * Alarm when a function's p99 duration nears its timeout (80% by default) for 3 of 5 minutes:
 * the early warning before requests start timing out (and billing the full timeout).
 */
export function p99DurationAlarm(
  name: string,
  functionName: pulumi.Input<string>,
  timeoutSeconds: number,
  opts: pulumi.CustomResourceOptions,
  alarmActions: pulumi.Input<string>[] = [],
): aws.cloudwatch.MetricAlarm {
  return new aws.cloudwatch.MetricAlarm(`${name}-p99-duration`, {
    alarmDescription: `p99 duration of ${name} is above ${DURATION_ALARM_SHARE_OF_TIMEOUT * 100}% of its ${timeoutSeconds} s timeout`,
    namespace: "AWS/Lambda",
    metricName: "Duration",
    dimensions: { FunctionName: functionName },
    extendedStatistic: "p99",
    period: 60,
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    threshold: Math.round(timeoutSeconds * 1000 * DURATION_ALARM_SHARE_OF_TIMEOUT),
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
    alarmActions,
    okActions: alarmActions,
  }, opts);
}

/** One summed metric of a metric-math alarm: an input to its expression, never the returned series. */
export interface SumQuery extends aws.types.input.cloudwatch.MetricAlarmMetricQuery {
  returnData: false;
}

/** One summed metric of a metric-math alarm (an input to its expression, not returned). */
export function sumOf(id: string, namespace: string, metricName: string, dimensions: Record<string, pulumi.Input<string>>, period: number): SumQuery {
  return { id, returnData: false, metric: { namespace, metricName, dimensions, period, stat: "Sum" } };
}

/** A metric-math alarm over sums (`sumOf`): one expression is the alarmed series. */
export interface SumsAlarmArgs {
  /** The alarm's name in CloudWatch; default: the one Pulumi generates from the resource name. */
  alarmName?: pulumi.Input<string>;
  description: pulumi.Input<string>;
  /** The sums the expression reads (`sumOf`; never returned themselves). */
  sums: SumQuery[];
  /** The returned series: its id, its label on the console, and its metric-math expression. */
  result: { id: string; label: string; expression: string };
  /** Alarm when the result is `op` `threshold` in `datapoints` (default: all) of the last `periods` periods. */
  when: { op: ">" | ">=" | "<"; threshold: number; datapoints?: number; periods: number };
  /** Notified on ALARM and again on OK. */
  alarmActions: pulumi.Input<pulumi.Input<string>[]>;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

const COMPARISON = { ">": "GreaterThanThreshold", ">=": "GreaterThanOrEqualToThreshold", "<": "LessThanThreshold" } as const;

/**
 * Missing data is not breaching: a sum CloudWatch does not report is a quiet minute, not an outage
 * (each expression guards its own low-traffic case). Many metrics are reported only when non-zero
 * (ALB error counts, API Gateway cache hits): expressions read their sums through FILL(x, 0), else a
 * period with one of two sums would have no value at all and read as OK.
 */
export function sumsAlarm(name: string, args: SumsAlarmArgs, opts: pulumi.CustomResourceOptions): aws.cloudwatch.MetricAlarm {
  return new aws.cloudwatch.MetricAlarm(name, {
    ...(args.alarmName === undefined ? {} : { name: args.alarmName }),
    alarmDescription: args.description,
    comparisonOperator: COMPARISON[args.when.op],
    threshold: args.when.threshold,
    evaluationPeriods: args.when.periods,
    ...(args.when.datapoints === undefined ? {} : { datapointsToAlarm: args.when.datapoints }),
    treatMissingData: "notBreaching",
    // Exactly one returned series, as PutMetricAlarm requires (a SumQuery never returns data).
    metricQueries: [...args.sums, { ...args.result, returnData: true }],
    alarmActions: args.alarmActions,
    okActions: args.alarmActions,
    ...(args.tags === undefined ? {} : { tags: args.tags }),
  }, opts);
}
