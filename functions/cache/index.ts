/**
 * Two-tier (in-process L1 + memcached L2) read-through cache for Lambda handlers.
 * See docs/cache.md.
 */
export {
  createTwoTierCache,
  CACHE_DEFAULTS,
  LEASE_DEFAULTS,
  type CacheSource,
  type CacheResult,
  type LoaderContext,
  type GetOrLoadOptions,
  type ReadThroughCache,
  type TwoTierCache,
  type TwoTierCacheOptions,
  type CacheDefaults,
  type LeaseOptions,
} from "./readThrough";
export { createUpstreamError, isUpstreamError, toUpstreamError, type UpstreamError, type UpstreamErrorOptions } from "./errors";
export { requestCacheKey, canonicalRequest, storageKey, leaseKey, isSafeMemcachedKey, assertNamespace, type RequestIdentity } from "./keys";
export { fetchUpstream, upstreamErrorFromGot, type FetchUpstreamOptions, type UpstreamResponse } from "./upstream";
export { MEMCACHED_DEFAULTS, type MemcachedOptions, type MemcachedTier, type TopologyInfo } from "./memcachedTier";
export { L1_DEFAULTS, type L1Options } from "./l1";
export { METRIC, type CacheLogger, type CacheMetrics, type CacheMetricUnit } from "./telemetry";
export { parseDiscoveryReply, parseHostPort, shouldApplyConfig, type ClusterConfig, type ClusterNode, type DiscoveryReply } from "./discovery";
export { buildRing, hash32, ringLookup, nodeForKey, type HashRing } from "./ring";
export { classify, planStore, memcachedExptime, type Envelope, type Freshness } from "./freshness";
