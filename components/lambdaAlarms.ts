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
