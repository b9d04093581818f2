import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { sumOf, sumsAlarm } from "../alarms";
import type { HybridContext } from "./settings";

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
  const elb5xx = sumsAlarm(`${name}-elb-5xx`, {
    description: `More than 5% of requests to the ALB of ${name} answered 5xx by the load balancer itself (Lambda throttled or failed, no healthy target) in 2 of 3 minutes`,
    when: { op: ">", threshold: 5, datapoints: 2, periods: 3 },
    sums: [
      sumOf("errors", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", { LoadBalancer: alb.arnSuffix }, 60),
      sumOf("requests", "AWS/ApplicationELB", "RequestCount", { LoadBalancer: alb.arnSuffix }, 60),
    ],
    // RequestCount leaves out requests for which no target could be chosen, and a 5xx count is
    // reported only when non-zero: count both sides with FILL so such 503s still raise the rate.
    result: { id: "rate", label: "ALB 5xx (%)", expression: "IF(FILL(requests, 0) + FILL(errors, 0) >= 20, 100 * FILL(errors, 0) / (FILL(requests, 0) + FILL(errors, 0)), 0)" },
    alarmActions,
  }, child);
  const targetGroupDims = { LoadBalancer: alb.arnSuffix, TargetGroup: lambdaTargetGroup.arnSuffix };
  const lambdaTargetErrors = sumsAlarm(`${name}-lambda-target-errors`, {
    description: `The ALB could not use the Lambda target of ${name} (LambdaUserError: permission, malformed or oversized response; LambdaInternalError) 5+ times in 5 minutes`,
    when: { op: ">=", threshold: 5, periods: 1 },
    sums: [
      sumOf("user", "AWS/ApplicationELB", "LambdaUserError", targetGroupDims, 300),
      sumOf("internal", "AWS/ApplicationELB", "LambdaInternalError", targetGroupDims, 300),
    ],
    result: { id: "total", label: "Lambda target errors", expression: "FILL(user, 0) + FILL(internal, 0)" },
    alarmActions,
  }, child);
  return [elb5xx, lambdaTargetErrors];
}
