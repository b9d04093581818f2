/**
 * serverless-cache: composes the components from the stack's validated config.
 * `pulumi up --stack dev` (or prod) deploys; tests run this same file under Pulumi mocks.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CacheFunction } from "./components/CacheFunction";
import { CachedPrivateApi } from "./components/CachedPrivateApi";
import { HybridLambdaFargateService } from "./components/HybridLambdaFargateService";
import { MemcachedCluster } from "./components/MemcachedCluster";
import { MultiAzNetwork } from "./components/MultiAzNetwork";
import { loadAwsProviderSettings, loadStackConfig } from "./config";

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

const network = new MultiAzNetwork(`net-${stack}`, {
  cidrBlock: config.network.vpcCidr,
  azCount: config.network.azCount,
  subnetPrefixLength: config.network.subnetPrefixLength,
  natMode: config.network.natMode,
  interfaceEndpoints: config.network.interfaceEndpoints,
}, withProvider);

const cache = new MemcachedCluster(`cache-${stack}`, {
  vpcId: network.vpcId,
  subnetIds: network.privateSubnetIds,
  availabilityZones: network.availabilityZones,
  nodeType: config.cache.nodeType,
  nodeCount: config.cache.nodeCount,
  azMode: config.cache.azMode,
  engineVersion: config.cache.engineVersion,
}, withProvider);

const cacheFunction = new CacheFunction(`cache-handler-${stack}`, {
  vpcId: network.vpcId,
  subnetIds: network.privateSubnetIds,
  memcachedNodes: cache.nodeEndpoints,
  memcachedConfigurationEndpoint: cache.configurationEndpoint,
  memcachedSecurityGroupId: cache.securityGroupId,
  upstreamUrl: config.cacheHandler.upstreamUrl,
  upstreamTimeoutMs: config.cacheHandler.upstreamTimeoutMs,
  ttlSeconds: config.cacheHandler.ttlSeconds,
  timeoutSeconds: config.cacheHandler.timeoutSeconds,
  memorySize: config.cacheHandler.memoryMb,
  reservedConcurrency: config.cacheHandler.reservedConcurrency,
  logRetentionDays: config.logRetentionDays,
}, withProvider);
cache.allowFrom("cache-handler", cacheFunction.securityGroupId);

const service = new HybridLambdaFargateService(`svc-${stack}`, {
  vpcId: network.vpcId,
  vpcCidrBlock: network.vpcCidrBlock,
  privateSubnetIds: network.privateSubnetIds,
  publicSubnetIds: network.publicSubnetIds,
  memcached: cache,
  upstreamUrl: config.cacheHandler.upstreamUrl,
  upstreamTimeoutMs: config.cacheHandler.upstreamTimeoutMs,
  cacheTtlSeconds: config.cacheHandler.ttlSeconds,
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
  },
  failover: { cooldownSeconds: config.service.failoverCooldownSeconds },
  alb: { internetFacing: config.service.albInternetFacing, certificateArn: config.service.albCertificateArn },
  logRetentionDays: config.logRetentionDays,
}, withProvider);

// The private REST API in front of the service: cache keys from the declared routes.
const api = new CachedPrivateApi(`api-${stack}`, {
  vpcId: network.vpcId,
  vpcCidrBlock: network.vpcCidrBlock,
  privateSubnetIds: network.privateSubnetIds,
  backend: {
    loadBalancerArn: service.albArn,
    loadBalancerDnsName: service.albDnsName,
    listenerArn: service.listenerArn,
    listenerPort: config.service.albInternetFacing ? 443 : 80,
    protocol: config.service.albInternetFacing ? "https" : "http",
    securityGroupId: service.albSecurityGroupId,
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
}, withProvider);

export const vpcId = network.vpcId;
export const availabilityZones = network.availabilityZones;
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
export const failoverFunctionName = service.failoverFunctionName;

// scripts/invalidate.ts reads these names.
export const apiId = api.apiId;
export const apiStageName = api.stageName;
export const apiInvokeUrl = api.invokeUrl;
export const apiRegion = api.region;
export const apiVpcEndpointId = api.vpcEndpointId;
export const apiInvalidationPolicyArn = api.invalidationPolicyArn;
export const apiFlushPolicyArn = api.flushPolicyArn;
