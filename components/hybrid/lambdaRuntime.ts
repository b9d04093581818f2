import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { hybridEntry } from "../../functions/platform/entry";
import { readParameterPolicy } from "../CacheFunction";
import { p99DurationAlarm } from "../alarms";
import { LAMBDA_LOG_LEVELS } from "../lambdaDefaults";
import type { AppPackaging } from "./platform";
import type { LargeResponseStore } from "./largeResponses";
import type { HybridContext } from "./settings";

export interface LambdaRuntimeInputs {
  securityGroup: aws.ec2.SecurityGroup;
  largeResponses: LargeResponseStore;
  entryKeys: aws.ssm.Parameter;
  environment: Record<string, pulumi.Input<string>>;
  entry: ReturnType<typeof hybridEntry>;
  packaging: AppPackaging;
}

export interface LambdaRuntime {
  apiFunction: aws.lambda.Function;
  durationAlarm: aws.cloudwatch.MetricAlarm;
  targetGroup: aws.lb.TargetGroup;
}

/** The Lambda runtime of the app: its role, the function (and `live` alias), its alarm, its ALB target group. */
export function createLambdaRuntime(ctx: HybridContext, inputs: LambdaRuntimeInputs): LambdaRuntime {
  const apiFunction = createApiFunction(ctx, inputs);
  const liveAlias = createLiveAlias(ctx, apiFunction);
  const { name, settings, child } = ctx;
  const durationAlarm = p99DurationAlarm(`${name}-api`, apiFunction.name, settings.lambdaTimeout, child, settings.alarmActions);
  const targetGroup = createLambdaTarget(ctx, apiFunction, liveAlias);
  return { apiFunction, durationAlarm, targetGroup };
}

function createApiFunction({ name, args, settings, parent, child }: HybridContext, inputs: LambdaRuntimeInputs): aws.lambda.Function {
  const apiRole = new aws.iam.Role(`${name}-api-role`, {
    assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" }),
  }, child);
  const apiVpcAccess = new aws.iam.RolePolicyAttachment(`${name}-api-vpc`, {
    role: apiRole.name,
    policyArn: aws.iam.ManagedPolicy.AWSLambdaVPCAccessExecutionRole,
  }, child);
  inputs.largeResponses.grantObjects(apiRole, "api");
  const apiEntryKeys = readParameterPolicy(`${name}-api-entry-keys`, apiRole, inputs.entryKeys, parent);
  const apiLogs = new aws.cloudwatch.LogGroup(`${name}-api-logs`, { retentionInDays: settings.retention }, child);
  return new aws.lambda.CallbackFunction(`${name}-api`, {
    description: "API (Lambda runtime of the hybrid service, ALB target)",
    role: apiRole,
    runtime: aws.lambda.Runtime.NodeJS22dX,
    architectures: ["arm64"],
    timeout: settings.lambdaTimeout,
    memorySize: args.lambda?.memorySize ?? 512,
    reservedConcurrentExecutions: settings.reservedConcurrency,
    publish: settings.provisioned > 0,
    vpcConfig: { subnetIds: args.privateSubnetIds, securityGroupIds: [inputs.securityGroup.id] },
    loggingConfig: { logFormat: "JSON", logGroup: apiLogs.name, ...LAMBDA_LOG_LEVELS },
    environment: { variables: inputs.environment },
    callbackFactory: inputs.entry,
    codePathOptions: inputs.packaging.codePathOptions(),
  // The ENI permissions must exist before the function (create) and outlive it (destroy: its ENIs are
  // released only with them).
  }, { parent, dependsOn: [apiLogs, apiVpcAccess, apiEntryKeys] });
}

/** With provisioned concurrency the ALB must target the alias that carries it, not $LATEST. */
function createLiveAlias({ name, settings: { provisioned }, child }: HybridContext, apiFunction: aws.lambda.Function): aws.lambda.Alias | undefined {
  if (provisioned <= 0) return undefined;
  const liveAlias = new aws.lambda.Alias(`${name}-api-live`, {
    name: "live",
    functionName: apiFunction.name,
    functionVersion: apiFunction.version,
    description: "Published version with provisioned concurrency; the ALB target",
  }, child);
  new aws.lambda.ProvisionedConcurrencyConfig(`${name}-api-live`, {
    functionName: apiFunction.name,
    qualifier: liveAlias.name,
    provisionedConcurrentExecutions: provisioned,
  }, child);
  return liveAlias;
}

/** The Lambda target group, the ALB's permission to invoke, and the attachment of the function (or alias). */
function createLambdaTarget({ name, parent, child }: HybridContext, apiFunction: aws.lambda.Function, liveAlias: aws.lambda.Alias | undefined): aws.lb.TargetGroup {
  const lambdaTargetGroup = new aws.lb.TargetGroup(`${name}-fn`, {
    targetType: "lambda",
    lambdaMultiValueHeadersEnabled: true,
    // Off on purpose: each Lambda health check is a billed invocation, and Lambda is judged by its alarms.
    healthCheck: { enabled: false },
  }, child);
  const albInvoke = new aws.lambda.Permission(`${name}-alb-invoke`, {
    action: "lambda:InvokeFunction",
    function: apiFunction.name,
    principal: "elasticloadbalancing.amazonaws.com",
    sourceArn: lambdaTargetGroup.arn,
    qualifier: liveAlias?.name,
  }, child);
  new aws.lb.TargetGroupAttachment(`${name}-fn`, {
    targetGroupArn: lambdaTargetGroup.arn,
    targetId: liveAlias ? liveAlias.arn : apiFunction.arn,
  }, { parent, dependsOn: [albInvoke] });
  return lambdaTargetGroup;
}
