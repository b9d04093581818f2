/**
 * serverless-cache: composes the components from the stack's validated config.
 * `pulumi up --stack dev` (or prod) deploys; tests run this same file under Pulumi mocks.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CacheFunction } from "./components/CacheFunction";
import { backendBasePath, CachedPrivateApi, LARGE_RESPONSE_PATH } from "./components/CachedPrivateApi";
import { HybridLambdaFargateService } from "./components/HybridLambdaFargateService";
import { DEMO_APP_PACKAGES, demoApp } from "./app";
import { legacyClientRuleName, MemcachedCluster } from "./components/MemcachedCluster";
import { MultiAzNetwork } from "./components/MultiAzNetwork";
import { loadAwsProviderSettings, loadStackConfig, STACK_ZONE_REQUIREMENTS } from "./config";

const config = loadStackConfig();
const awsSettings = loadAwsProviderSettings();
const stack = pulumi.getStack();

// One explicit provider, built from aws:region, aws:profile and aws:defaultTags, so every taggable
// resource carries project/stack/owner/costCentre (and tests can see it: default providers are invisible under mocks).
const provider = new aws.Provider(`aws-${stack}`, {
  region: awsSettings.region as aws.Region,
  profile: awsSettings.profile,
  defaultTags: { tags: awsSettings.defaultTags },
});
const withProvider = { providers: [provider] };

// Every alarm of the stack notifies this topic (subscribe more endpoints to it as needed). An e-mail
// subscription delivers only once its recipient confirms it; a pending one cannot be deleted by Pulumi.
const alarmTopic = new aws.sns.Topic(`alarms-${stack}`, {}, { provider });
if (config.alarmEmail) {
  new aws.sns.TopicSubscription(`alarms-${stack}-email`, {
    topic: alarmTopic.arn,
    protocol: "email",
    endpoint: config.alarmEmail,
  }, { provider });
}
const alarmActions = [alarmTopic.arn];
// The API's stage is named after the stack, and API Gateway sends it in front of every backend path.
const stageName = stack;

const network = new MultiAzNetwork(`net-${stack}`, {
  cidrBlock: config.network.vpcCidr,
  azCount: config.network.azCount,
  availabilityZoneIds: config.network.availabilityZoneIds.length > 0 ? config.network.availabilityZoneIds : undefined,
  zoneRequirements: [...STACK_ZONE_REQUIREMENTS],
  subnetPrefixLength: config.network.subnetPrefixLength,
  natMode: config.network.natMode,
  interfaceEndpoints: config.network.interfaceEndpoints,
  flowLogs: config.network.flowLogs,
  flowLogRetentionDays: config.logRetentionDays,
}, withProvider);

const cache = new MemcachedCluster(`cache-${stack}`, {
  vpcId: network.vpcId,
  subnetIds: network.privateSubnetIds,
  availabilityZones: network.availabilityZones,
  nodeType: config.cache.nodeType,
  nodeCount: config.cache.nodeCount,
  azMode: config.cache.azMode,
  engineVersion: config.cache.engineVersion,
  applyImmediately: config.cache.applyImmediately,
  transitEncryption: config.cache.transitEncryption,
  protect: config.cache.protect,
}, withProvider);

const cacheFunction = new CacheFunction(`cache-handler-${stack}`, {
  vpcId: network.vpcId,
  subnetIds: network.privateSubnetIds,
  memcached: cache,
  // The rule memcached admits this function with; formerly cache.allowFrom("cache-handler", ...), moved here by alias.
  memcachedIngressRule: { name: legacyClientRuleName(`cache-${stack}`, "cache-handler"), previousParent: cache.urn },
  upstreamUrl: config.cacheHandler.upstreamUrl,
  upstreamTimeoutMs: config.cacheHandler.upstreamTimeoutMs,
  ttlSeconds: config.cacheHandler.ttlSeconds,
  timeoutSeconds: config.cacheHandler.timeoutSeconds,
  memorySize: config.cacheHandler.memoryMb,
  reservedConcurrency: config.cacheHandler.reservedConcurrency,
  logRetentionDays: config.logRetentionDays,
  alarmActions,
}, withProvider);

const service = new HybridLambdaFargateService(`svc-${stack}`, {
  vpcId: network.vpcId,
  vpcCidrBlock: network.vpcCidrBlock,
  privateSubnetIds: network.privateSubnetIds,
  publicSubnetIds: network.publicSubnetIds,
  // Plain data; the rules admitting the service used to be the cluster's children: aliased by urn + name.
  memcached: {
    configurationEndpoint: cache.configurationEndpoint,
    nodeEndpoints: cache.nodeEndpoints,
    securityGroupId: cache.securityGroupId,
    transitEncryption: cache.transitEncryption,
    port: cache.port,
    urn: cache.urn,
    name: `cache-${stack}`,
  },
  // The program's own app (app/), passed as any user's app would be.
  app: demoApp,
  appPackages: DEMO_APP_PACKAGES,
  appEnvironment: {
    UPSTREAM_ITEM_PATH: config.service.upstreamItemPath,
    API_DEBUG_ROUTES: config.service.debugRoutes ? "on" : "off",
  },
  upstreamUrl: config.cacheHandler.upstreamUrl,
  upstreamTimeoutMs: config.cacheHandler.upstreamTimeoutMs,
  cacheTtlSeconds: config.cacheHandler.ttlSeconds,
  basePath: backendBasePath(stageName),
  largeResponseLocationPrefix: `${backendBasePath(stageName)}${LARGE_RESPONSE_PATH}/`,
  alarmActions,
  lambda: {
    reservedConcurrency: config.service.lambdaReservedConcurrency,
    memorySize: config.service.lambdaMemoryMb,
    timeoutSeconds: config.service.lambdaTimeoutSeconds,
    provisionedConcurrency: config.service.lambdaProvisionedConcurrency,
  },
  fargate: {
    cpu: config.service.fargateCpu,
    memory: config.service.fargateMemoryMb,
    baselineCount: config.service.fargateBaselineCount,
    failoverCount: config.service.fargateFailoverCount,
    architecture: config.service.fargateArchitecture,
  },
  failover: { cooldownSeconds: config.service.failoverCooldownSeconds },
  // The private API is the only way in: the internal ALB admits its VPC link, not the whole VPC.
  alb: { internetFacing: config.service.albInternetFacing, certificateArn: config.service.albCertificateArn, admitVpcCidr: false },
  logRetentionDays: config.logRetentionDays,
}, withProvider);

// The private REST API in front of the service: cache keys from the declared routes.
const api = new CachedPrivateApi(`api-${stack}`, {
  vpcId: network.vpcId,
  vpcCidrBlock: network.vpcCidrBlock,
  privateSubnetIds: network.privateSubnetIds,
  privateSubnetZoneIds: network.availabilityZoneIds,
  endpointSubnetIds: network.privateSubnetIdsOffering("execute-api"),
  stageName,
  backend: {
    loadBalancerArn: service.albArn,
    loadBalancerDnsName: service.albDnsName,
    listenerArn: service.listenerArn,
    listenerPort: config.service.albInternetFacing ? 443 : 80,
    protocol: config.service.albInternetFacing ? "https" : "http",
    serverName: config.service.albDomainName,
    securityGroupId: service.albSecurityGroupId,
    largeResponseBucket: { name: service.largeResponseBucketName, arn: service.largeResponseBucketArn },
  },
  routes: [
    { path: "/items/{id}", method: "GET", queryStrings: ["lang"] },
    { path: "/health", method: "GET", cached: false },
    { path: "/runtime", method: "GET", cached: false },
  ],
  cacheSizeGb: config.api.cacheSizeGb,
  cacheTtlSeconds: config.api.cacheTtlSeconds,
  throttleRateLimit: config.api.throttleRateLimit,
  throttleBurstLimit: config.api.throttleBurstLimit,
  logRetentionDays: config.logRetentionDays,
  manageAccountCloudWatchRole: config.api.manageAccountLogRole,
  accessLogs: config.api.accessLogs,
  unauthorizedCacheControl: config.api.unauthorizedCacheControl,
  authorization: config.api.authorization,
  alarms: { actions: alarmActions },
}, withProvider);

export const vpcId = network.vpcId;
export const availabilityZones = network.availabilityZones;
export const availabilityZoneIds = network.availabilityZoneIds;
export const alarmTopicArn = alarmTopic.arn;
export const publicSubnetIds = network.publicSubnetIds;
export const privateSubnetIds = network.privateSubnetIds;
export const cacheConfigurationEndpoint = cache.configurationEndpoint;
export const cacheNodeEndpoints = cache.nodeEndpoints;
export const cacheHandlerFunctionName = cacheFunction.functionName;
export const cacheHandlerFunctionArn = cacheFunction.functionArn;

export const albDnsName = service.albDnsName;
export const listenerArn = service.listenerArn;
export const lambdaTargetGroupArn = service.lambdaTargetGroupArn;
export const fargateTargetGroupArn = service.fargateTargetGroupArn;
export const serviceName = service.serviceName;
export const apiFunctionName = service.apiFunctionName;
export const cacheControlPolicyArn = service.cacheControlPolicyArn;
export const failoverFunctionName = service.failoverFunctionName;

// scripts/invalidate.ts reads these names.
export const apiId = api.apiId;
export const apiStageName = api.stageName;
export const apiInvokeUrl = api.invokeUrl;
export const apiRegion = api.region;
export const apiVpcEndpointId = api.vpcEndpointId;
export const apiInvalidationPolicyArn = api.invalidationPolicyArn;
export const apiInvokePolicyArn = api.invokePolicyArn;
export const apiFlushPolicyArn = api.flushPolicyArn;
