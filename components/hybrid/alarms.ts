import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { HybridContext } from "./settings";

/** One summed metric of a metric-math alarm (an input to its expression, not returned). */
export function sumOf(id: string, namespace: string, metricName: string, dimensions: Record<string, pulumi.Input<string>>, period: number): aws.types.input.cloudwatch.MetricAlarmMetricQuery {
  return { id, returnData: false, metric: { namespace, metricName, dimensions, period, stat: "Sum" } };
}

/**
 * Alarms on Lambda's limits: they start a failover (and drive the failover Lambda through EventBridge);
 * they cannot end one (no traffic on Lambda, no throttles): the failback reads the Fargate target
 * group's demand instead (GetMetricData, see docs/failover.md).
 */
export function createFailoverTriggers({ name, settings, child }: HybridContext, apiFunctionName: pulumi.Output<string>): aws.cloudwatch.MetricAlarm[] {
  const { alarmActions, reservedConcurrency, failbackDemandFraction, failbackWindowSeconds } = settings;
  const throttles = new aws.cloudwatch.MetricAlarm(`${name}-throttles`, {
    alarmDescription: `Lambda ${name}-api is throttled: shift traffic to Fargate (traffic returns when the demand on Fargate stays below ${Math.round(failbackDemandFraction * 100)}% of the reserved concurrency for ${failbackWindowSeconds / 60} minutes)`,
    namespace: "AWS/Lambda",
    metricName: "Throttles",
    dimensions: { FunctionName: apiFunctionName },
    statistic: "Sum",
    period: 60,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
    alarmActions,
    okActions: alarmActions,
  }, child);
  const nearCap = Math.max(1, Math.floor(reservedConcurrency * 0.9));
  const concurrency = new aws.cloudwatch.MetricAlarm(`${name}-concurrency`, {
    alarmDescription: `Lambda ${name}-api concurrency at >= 90% of its reserved ${reservedConcurrency}: shift traffic to Fargate`,
    namespace: "AWS/Lambda",
    metricName: "ConcurrentExecutions",
    dimensions: { FunctionName: apiFunctionName },
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    threshold: nearCap,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
    alarmActions,
    okActions: alarmActions,
  }, child);
  return [throttles, concurrency];
}

/**
 * What clients see. The ALB does not retry a throttled Lambda on the other target group: until the
 * failover has moved the weights, throttles reach clients as ALB 502s (HTTPCode_ELB_5XX_Count).
 * Notifications only: these do not drive the failover.
 */
export function createClientAlarms({ name, settings: { alarmActions }, child }: HybridContext, alb: aws.lb.LoadBalancer, lambdaTargetGroup: aws.lb.TargetGroup): aws.cloudwatch.MetricAlarm[] {
  const elb5xx = new aws.cloudwatch.MetricAlarm(`${name}-elb-5xx`, {
    alarmDescription: `More than 5% of requests to the ALB of ${name} answered 5xx by the load balancer itself (Lambda throttled or failed, no healthy target) in 2 of 3 minutes`,
    comparisonOperator: "GreaterThanThreshold",
    threshold: 5,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: "notBreaching",
    metricQueries: [
      sumOf("errors", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", { LoadBalancer: alb.arnSuffix }, 60),
      sumOf("requests", "AWS/ApplicationELB", "RequestCount", { LoadBalancer: alb.arnSuffix }, 60),
      // RequestCount leaves out requests for which no target could be chosen, and a 5xx count is
      // reported only when non-zero: count both sides with FILL so such 503s still raise the rate.
      { id: "rate", label: "ALB 5xx (%)", returnData: true, expression: "IF(FILL(requests, 0) + FILL(errors, 0) >= 20, 100 * FILL(errors, 0) / (FILL(requests, 0) + FILL(errors, 0)), 0)" },
    ],
    alarmActions,
    okActions: alarmActions,
  }, child);
  const lambdaTargetErrors = new aws.cloudwatch.MetricAlarm(`${name}-lambda-target-errors`, {
    alarmDescription: `The ALB could not use the Lambda target of ${name} (LambdaUserError: permission, malformed or oversized response; LambdaInternalError) 5+ times in 5 minutes`,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: 5,
    evaluationPeriods: 1,
    treatMissingData: "notBreaching",
    metricQueries: [
      sumOf("user", "AWS/ApplicationELB", "LambdaUserError", { LoadBalancer: alb.arnSuffix, TargetGroup: lambdaTargetGroup.arnSuffix }, 300),
      sumOf("internal", "AWS/ApplicationELB", "LambdaInternalError", { LoadBalancer: alb.arnSuffix, TargetGroup: lambdaTargetGroup.arnSuffix }, 300),
      { id: "total", label: "Lambda target errors", returnData: true, expression: "user + internal" },
    ],
    alarmActions,
    okActions: alarmActions,
  }, child);
  return [elb5xx, lambdaTargetErrors];
}
