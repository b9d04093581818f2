import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ACCESS_LOG_FORMAT, methodSettingsPath, pathSlug } from "../apiRoutes";
import { deploymentHash } from "./deploymentHash";
import type { ApiContext } from "./settings";

/** What the deployment serves and must wait for. */
export interface DeploymentInputs {
  api: aws.apigateway.RestApi;
  backendHost: pulumi.Output<string>;
  vpcLink: aws.apigatewayv2.VpcLink;
  policyJson: pulumi.Output<string>;
  /** The large-response route's spec, when there is one. */
  largeResponseSpec?: pulumi.Output<string>;
  /** Methods, integrations, the resource policy, the ALB's ingress rule for the VPC link. */
  dependsOn: pulumi.Resource[];
}

/** Deployment: its trigger hashes every route, integration, cache setting and the policy. */
export function createDeployment({ name, args, settings, apiName, parent }: ApiContext, inputs: DeploymentInputs): { deployment: aws.apigateway.Deployment; hash: pulumi.Output<string> } {
  const { routes } = settings;
  const port = args.backend.listenerPort;
  const cacheSettings = {
    clusterEnabled: settings.clusterEnabled,
    sizeGb: settings.sizeGb,
    defaultTtlSeconds: settings.defaultTtl,
    dataEncrypted: true,
    requireAuthorizationForCacheControl: true,
    unauthorizedCacheControlHeaderStrategy: settings.unauthorizedCacheControl,
  };
  const hash = pulumi.all([
    inputs.backendHost, args.backend.loadBalancerArn, args.backend.listenerArn, inputs.vpcLink.id, inputs.policyJson, inputs.largeResponseSpec ?? "",
  ]).apply(([host, lbArn, listenerArn, vpcLinkId, policy, largeSpec]) => deploymentHash({
    routes,
    backend: { protocol: settings.protocol, host, port, loadBalancerArn: lbArn, listenerArn, vpcLinkId, timeoutMilliseconds: settings.timeoutMs },
    cache: cacheSettings,
    throttle: settings.throttle,
    policy,
    authorization: settings.authorization,
    ...(largeSpec ? { extra: { largeResponses: largeSpec } } : {}),
  }));
  const deployment = new aws.apigateway.Deployment(`${name}-deployment`, {
    restApi: inputs.api.id,
    description: `${apiName}: ${routes.length} routes`,
    triggers: { redeployment: hash },
  }, { parent, dependsOn: inputs.dependsOn });
  return { deployment, hash };
}

export interface AccountCloudWatch {
  role: aws.iam.Role;
  attachment: aws.iam.RolePolicyAttachment;
  account: aws.apigateway.Account;
}

export interface ApiStage {
  stage: aws.apigateway.Stage;
  accessLogs?: aws.cloudwatch.LogGroup;
  accountCloudWatch?: AccountCloudWatch;
}

/** Stage: cache cluster, access logs (and the account's CloudWatch role when managed here); named after the stack. */
export function createStage(ctx: ApiContext, api: aws.apigateway.RestApi, deployment: aws.apigateway.Deployment): ApiStage {
  const { name, args, settings, apiName, stack, tags, parent, child } = ctx;
  const accessLogs = (args.accessLogs ?? true)
    ? new aws.cloudwatch.LogGroup(`${name}-access-logs`, {
      name: `/aws/apigateway/${apiName}/${settings.stageName}/access`,
      retentionInDays: settings.logRetentionDays,
      tags,
    }, child)
    : undefined;
  const accountCloudWatch = args.manageAccountCloudWatchRole ? createAccountCloudWatchRole(ctx) : undefined;
  const stage = new aws.apigateway.Stage(`${name}-stage`, {
    restApi: api.id,
    stageName: settings.stageName,
    deployment: deployment.id,
    description: `Stack ${stack}`,
    cacheClusterEnabled: settings.clusterEnabled,
    cacheClusterSize: settings.clusterEnabled ? settings.sizeGb : undefined,
    accessLogSettings: accessLogs ? { destinationArn: accessLogs.arn, format: ACCESS_LOG_FORMAT } : undefined,
    tags,
  }, { parent, dependsOn: accountCloudWatch ? [accountCloudWatch.account] : [] });
  return { stage, accessLogs, accountCloudWatch };
}

/**
 * The account-wide API Gateway CloudWatch role. Kept on destroy, or destroying this stack would reset the
 * setting (provider >= 6) and break access logs for every other stack of the account and Region.
 */
function createAccountCloudWatchRole({ name, tags, parent, partition }: ApiContext): AccountCloudWatch {
  const keep = { parent, retainOnDelete: true };
  const role = new aws.iam.Role(`${name}-apigw-logs`, {
    description: "API Gateway account-wide role to write CloudWatch Logs",
    // The trust AWS documents, without conditions (checked 2026-11: "Set up CloudWatch logging for REST
    // APIs", https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html, and the
    // AWS::ApiGateway::Account example show no aws:SourceAccount/aws:SourceArn, and API Gateway has no
    // confused-deputy page listing keys it sends). A positive condition on a key the service does not
    // send never matches: UpdateAccount would refuse the role ("does not have required permissions") and
    // access logs would stop. API Gateway is reported NOT to send aws:SourceAccount when it assumes
    // integration roles (aws-solutions-library-samples/accelerated-intelligent-document-processing-on-aws#479).
    // Add the condition only once AWS documents it for this role.
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" }],
    }),
    tags,
  }, keep);
  const attachment = new aws.iam.RolePolicyAttachment(`${name}-apigw-logs`, {
    role: role.name,
    policyArn: pulumi.interpolate`arn:${partition.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs`,
  }, keep);
  const account = new aws.apigateway.Account(`${name}-account`, { cloudwatchRoleArn: role.arn }, { ...keep, dependsOn: [attachment] });
  return { role, attachment, account };
}

/**
 * Method settings: the stage default (uncached, throttled, metrics on) and one per cached route.
 * Applied one after another: each is an UpdateStage call on the same stage.
 */
export function createMethodSettings({ name, settings, parent, child }: ApiContext, api: aws.apigateway.RestApi, stage: aws.apigateway.Stage): void {
  const baseSettings = {
    metricsEnabled: true,
    throttlingRateLimit: settings.throttle.rateLimit,
    throttlingBurstLimit: settings.throttle.burstLimit,
    cacheDataEncrypted: true,
    requireAuthorizationForCacheControl: true,
    unauthorizedCacheControlHeaderStrategy: settings.unauthorizedCacheControl,
  };
  let previous: pulumi.Resource = new aws.apigateway.MethodSettings(`${name}-settings-all`, {
    restApi: api.id,
    stageName: stage.stageName,
    methodPath: "*/*",
    settings: { ...baseSettings, cachingEnabled: false, cacheTtlInSeconds: settings.defaultTtl },
  }, child);
  for (const route of settings.routes.filter((r) => r.cached)) {
    previous = new aws.apigateway.MethodSettings(`${name}-settings-${route.method}${pathSlug(route.path)}`, {
      restApi: api.id,
      stageName: stage.stageName,
      methodPath: methodSettingsPath(route),
      settings: { ...baseSettings, cachingEnabled: true, cacheTtlInSeconds: route.ttlSeconds },
    }, { parent, dependsOn: [previous] });
  }
}
