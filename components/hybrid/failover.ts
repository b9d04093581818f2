import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { createFailoverHandlerFromEnv } from "../../functions/failover/shell";
import { failoverIamStatements } from "../../functions/failover/iam";
import { p99DurationAlarm, sumOf, sumsAlarm } from "../alarms";
import { LAMBDA_LOG_LEVELS } from "../lambdaDefaults";
import { lambdaCodePathOptions } from "../lambdaPackaging";
import type { AppPackaging } from "./platform";
import type { HybridContext } from "./settings";

/** What the failover Lambda acts on and watches. */
export interface FailoverTargets {
  alb: aws.lb.LoadBalancer;
  listener: aws.lb.Listener;
  lambdaTargetGroup: aws.lb.TargetGroup;
  fargateTargetGroup: aws.lb.TargetGroup;
  cluster: aws.ecs.Cluster;
  service: aws.ecs.Service;
  /** The alarms that start a failover (createFailoverTriggers). */
  triggers: aws.cloudwatch.MetricAlarm[];
  region: pulumi.Output<string>;
  packaging: AppPackaging;
}

export interface Failover {
  failoverFunction: aws.lambda.Function;
  /** The failover Lambda's own alarms: duration, errors, starved (throttled or dropped events). */
  durationAlarm: aws.cloudwatch.MetricAlarm;
  errorsAlarm: aws.cloudwatch.MetricAlarm;
  starvedAlarm: aws.cloudwatch.MetricAlarm;
}

/**
 * The failover Lambda: scales Fargate up, moves weight only to healthy targets and back once the demand
 * fits Lambda; invoked by the trigger alarms' state changes and by a 1-minute schedule. See docs/failover.md.
 */
export function createFailover(ctx: HybridContext, targets: FailoverTargets): Failover {
  const failoverFunction = createFailoverFunction(ctx, targets);
  const alarms = createFailoverHealthAlarms(ctx, failoverFunction);
  createFailoverInvocations(ctx, failoverFunction, targets.triggers);
  return { failoverFunction, ...alarms };
}

function createFailoverFunction({ name, settings, parent, child }: HybridContext, targets: FailoverTargets): aws.lambda.Function {
  const { alb, listener, lambdaTargetGroup, fargateTargetGroup, cluster, service, triggers: alarms, region } = targets;
  const failoverRole = new aws.iam.Role(`${name}-failover-role`, {
    assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" }),
  }, child);
  const failoverBasicLogs = new aws.iam.RolePolicyAttachment(`${name}-failover-logs`, {
    role: failoverRole.name,
    policyArn: aws.iam.ManagedPolicy.AWSLambdaBasicExecutionRole,
  }, child);
  new aws.iam.RolePolicy(`${name}-failover`, {
    role: failoverRole.id,
    policy: pulumi
      .all([listener.arn, service.id, pulumi.all(alarms.map((a) => a.arn)), region])
      .apply(([listenerArn, serviceArn, alarmArns, awsRegion]) => JSON.stringify({
        Version: "2012-10-17",
        Statement: failoverIamStatements({ listenerArn, serviceArn, alarmArns, region: awsRegion }),
      })),
  }, child);
  const failoverLogs = new aws.cloudwatch.LogGroup(`${name}-failover-logs`, { retentionInDays: settings.retention }, child);
  const self = targets.packaging.self;
  const failoverFunction = new aws.lambda.CallbackFunction(`${name}-failover`, {
    description: "Shifts ALB weight to Fargate on Lambda throttling alarms, and back when the demand fits Lambda",
    role: failoverRole,
    runtime: aws.lambda.Runtime.NodeJS22dX,
    architectures: ["arm64"],
    timeout: 30,
    memorySize: 256,
    // One at a time: two concurrent invocations could interleave observe/apply.
    reservedConcurrentExecutions: 1,
    loggingConfig: { logFormat: "JSON", logGroup: failoverLogs.name, ...LAMBDA_LOG_LEVELS },
    environment: {
      variables: {
        FAILOVER_LISTENER_ARN: listener.arn,
        FAILOVER_LAMBDA_TG_ARN: lambdaTargetGroup.arn,
        FAILOVER_FARGATE_TG_ARN: fargateTargetGroup.arn,
        FAILOVER_CLUSTER: cluster.name,
        FAILOVER_SERVICE: service.name,
        FAILOVER_ALARM_NAMES: pulumi.all(alarms.map((a) => a.name)).apply((n) => n.join(",")),
        FAILOVER_BASELINE_COUNT: String(settings.baselineCount),
        FAILOVER_DESIRED_COUNT: String(settings.failoverCount),
        FAILOVER_COOLDOWN_SECONDS: String(settings.cooldownSeconds),
        FAILOVER_SHIFT_BACK_DELAY_SECONDS: String(settings.shiftBackDelaySeconds),
        // The failback's demand: the Fargate target group's RequestCount and TargetResponseTime
        // (AWS/ApplicationELB, dimensions LoadBalancer + TargetGroup), against the Lambda's cap.
        FAILOVER_ALB_ARN_SUFFIX: alb.arnSuffix,
        FAILOVER_FARGATE_TG_ARN_SUFFIX: fargateTargetGroup.arnSuffix,
        FAILOVER_LAMBDA_RESERVED_CONCURRENCY: String(settings.reservedConcurrency),
        FAILOVER_FAILBACK_DEMAND_FRACTION: String(settings.failbackDemandFraction),
        FAILOVER_FAILBACK_WINDOW_SECONDS: String(settings.failbackWindowSeconds),
        FAILOVER_DEMAND_LAG_SECONDS: String(settings.demandLagSeconds),
        FAILOVER_MIN_RESPONSE_TIME_SECONDS: String(settings.minResponseTimeSeconds),
      },
    },
    callbackFactory: () => createFailoverHandlerFromEnv(process.env),
    codePathOptions: lambdaCodePathOptions({ uses: ["@aws-sdk/client-cloudwatch", "@aws-sdk/client-ecs", "@aws-sdk/client-elastic-load-balancing-v2", ...(self ? [self] : [])] }),
  }, { parent, dependsOn: [failoverLogs, failoverBasicLogs] });

  // Every invocation observes afresh, so a stale or retried event is worth nothing: no retries, and an
  // event that waited a minute (throttled behind reserved concurrency 1) is dropped, not run hours late.
  new aws.lambda.FunctionEventInvokeConfig(`${name}-failover`, {
    functionName: failoverFunction.name,
    maximumRetryAttempts: 0,
    maximumEventAgeInSeconds: 60,
  }, child);
  return failoverFunction;
}

/** The failover is the safety net: its own slowness, failures and starvation must page someone. */
function createFailoverHealthAlarms({ name, settings: { alarmActions }, child }: HybridContext, failoverFunction: aws.lambda.Function): Omit<Failover, "failoverFunction"> {
  const durationAlarm = p99DurationAlarm(`${name}-failover`, failoverFunction.name, 30, child, alarmActions);
  // It runs every minute, so errors in 3 of 5 minutes is a persistent problem, not one AWS hiccup.
  const errorsAlarm = new aws.cloudwatch.MetricAlarm(`${name}-failover-errors`, {
    alarmDescription: `The failover Lambda of ${name} failed in 3 of the last 5 minutes: failover and failback are not happening`,
    namespace: "AWS/Lambda",
    metricName: "Errors",
    dimensions: { FunctionName: failoverFunction.name },
    statistic: "Sum",
    period: 60,
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
    alarmActions,
    okActions: alarmActions,
  }, child);
  // Throttled and dropped events are not Errors: a failover stuck behind reserved concurrency 1, or
  // events older than the 60 s maximum age, would otherwise go unseen.
  const starvedAlarm = sumsAlarm(`${name}-failover-starved`, {
    description: `Events for the failover Lambda of ${name} were throttled or dropped (older than 60 s) in 3 of the last 5 minutes`,
    when: { op: ">=", threshold: 1, datapoints: 3, periods: 5 },
    sums: [
      sumOf("throttles", "AWS/Lambda", "Throttles", { FunctionName: failoverFunction.name }, 60),
      sumOf("dropped", "AWS/Lambda", "AsyncEventsDropped", { FunctionName: failoverFunction.name }, 60),
    ],
    result: { id: "starved", label: "failover events throttled or dropped", expression: "FILL(throttles, 0) + FILL(dropped, 0)" },
    alarmActions,
  }, child);
  return { durationAlarm, errorsAlarm, starvedAlarm };
}

/** EventBridge: the trigger alarms' state changes (these alarms only) and a 1-minute tick invoke the failover. */
function createFailoverInvocations({ name, child }: HybridContext, failoverFunction: aws.lambda.Function, triggers: aws.cloudwatch.MetricAlarm[]): void {
  const alarmRule = new aws.cloudwatch.EventRule(`${name}-alarms`, {
    description: `State changes of the ${name} throttling alarms (these alarms only)`,
    eventPattern: pulumi.all(triggers.map((a) => a.arn)).apply((arns) => JSON.stringify({
      source: ["aws.cloudwatch"],
      "detail-type": ["CloudWatch Alarm State Change"],
      resources: arns,
    })),
  }, child);
  const scheduleRule = new aws.cloudwatch.EventRule(`${name}-tick`, {
    description: `Lets the ${name} failover finish multi-step work (scale, wait for health, shift)`,
    scheduleExpression: "rate(1 minute)",
  }, child);
  for (const [ruleName, rule] of [["alarms", alarmRule], ["tick", scheduleRule]] as const) {
    new aws.lambda.Permission(`${name}-failover-${ruleName}`, {
      action: "lambda:InvokeFunction",
      function: failoverFunction.name,
      principal: "events.amazonaws.com",
      sourceArn: rule.arn,
    }, child);
    new aws.cloudwatch.EventTarget(`${name}-failover-${ruleName}`, {
      rule: rule.name,
      arn: failoverFunction.arn,
      retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 120 },
    }, child);
  }
}
