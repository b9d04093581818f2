/**
 * serverless-cache: composes the components from the stack's validated config.
 * `pulumi up --stack dev` (or prod) deploys; tests run this same file under Pulumi mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { CacheFunction } from "./components/CacheFunction";
import { MemcachedCluster } from "./components/MemcachedCluster";
import { MultiAzNetwork } from "./components/MultiAzNetwork";
import { loadStackConfig } from "./config";

const config = loadStackConfig();
const stack = pulumi.getStack();

const network = new MultiAzNetwork(`net-${stack}`, {
  cidrBlock: config.network.vpcCidr,
  azCount: config.network.azCount,
  subnetPrefixLength: config.network.subnetPrefixLength,
  natMode: config.network.natMode,
});

const cache = new MemcachedCluster(`cache-${stack}`, {
  vpcId: network.vpcId,
  subnetIds: network.privateSubnetIds,
  availabilityZones: network.availabilityZones,
  nodeType: config.cache.nodeType,
  nodeCount: config.cache.nodeCount,
  azMode: config.cache.azMode,
  engineVersion: config.cache.engineVersion,
});

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
  logRetentionDays: config.logRetentionDays,
});
cache.allowFrom("cache-handler", cacheFunction.securityGroupId);

export const vpcId = network.vpcId;
export const availabilityZones = network.availabilityZones;
export const publicSubnetIds = network.publicSubnetIds;
export const privateSubnetIds = network.privateSubnetIds;
export const cacheConfigurationEndpoint = cache.configurationEndpoint;
export const cacheNodeEndpoints = cache.nodeEndpoints;
export const cacheHandlerFunctionName = cacheFunction.functionName;
export const cacheHandlerFunctionArn = cacheFunction.functionArn;
