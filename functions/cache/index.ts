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
  type InvalidatableCache,
  type InvalidationOptions,
  type InvalidationResult,
  type FlushResult,
  type EntryAuthOptions,
  ENTRY_AUTH_DEFAULTS,
  INVALIDATION_BUDGET_MS,
} from "./readThrough";
export { createUpstreamError, isUpstreamError, toUpstreamError, type InvalidAnswer, type UpstreamError, type UpstreamErrorOptions } from "./errors";
export { requestCacheKey, canonicalRequest, storageKey, leaseKey, isSafeMemcachedKey, assertNamespace, type RequestIdentity } from "./keys";
export { fetchUpstream, upstreamErrorFromGot, UPSTREAM_MAX_BODY_BYTES, type FetchUpstreamOptions, type UpstreamResponse } from "./upstream";
export {
  SEALED_PREFIX, MAX_MAC_KEYS, MIN_MAC_KEY_BYTES, deriveNamespaceKey, keyId, namespaceKeyring, openEntry, parseMacKeys, sealEntry,
  type EntryKeyring, type EntryRejectReason, type OpenResult,
} from "./integrity";
export {
  DEFAULT_ALLOWED_CONTENT_TYPES, isAllowedContentType, isServableAnswer, mediaTypeOf, parseAllowedContentTypes, servableAnswerCheck, type ServableAnswer,
} from "./contentTypes";
export { credentialsFromEnv, getSsmParameter, isSafeAwsEndpoint, signV4, ssmEndpoint, ssmParameterLoader, type AwsCredentials, type SsmError, type SsmParameterRequest } from "./ssm";
export { MEMCACHED_DEFAULTS, type L2DeleteResult, type MemcachedOptions, type MemcachedTier, type TopologyInfo } from "./memcachedTier";
export { L1_DEFAULTS, type L1Options } from "./l1";
export { cacheLoggerFrom, createJsonLog, describeError, formatLogLine, jsonLineLog, logEnabled, logThreshold, type LogFn, type LogLevel } from "./log";
export { METRIC, RESILIENCE_METRICS, createEmfMetrics, type CacheLogger, type CacheMetrics, type CacheMetricUnit, type EmfMetrics, type EmfMetricsOptions } from "./telemetry";
export { parseDiscoveryReply, parseHostPort, shouldApplyConfig, type ClusterConfig, type ClusterNode, type DiscoveryReply, type MemcachedTlsOptions } from "./discovery";
export { buildRing, hash32, ringLookup, nodeForKey, type HashRing } from "./ring";
export { classify, planStore, memcachedExptime, type Envelope, type Freshness, type NegativeMark } from "./freshness";
export {
  BREAKER_DEFAULTS, breakerAdmit, breakerCancel, breakerMode, breakerRecord, breakerWouldAdmit, classifyOutcome, initialBreaker, normalizeBreakerPolicy,
  type BreakerDecision, type BreakerMode, type BreakerOutcome, type BreakerPolicy, type BreakerState, type BreakerTicket, type BreakerTransition,
} from "./breaker";
export { BULKHEAD_DEFAULTS, bulkheadAdmit, bulkheadLeaveQueue, bulkheadRelease, normalizeBulkheadPolicy, type BulkheadDecision, type BulkheadPolicy, type BulkheadState } from "./bulkhead";
export { gateAdmit, gateCancel, gateComplete, gateLeaveQueue, gatePeek, initialGate, SHED_RETRY_AFTER_MS, type Admission, type GatePolicy, type GateState, type GateTicket, type RejectReason } from "./admission";
export { createUpstreamGate, GATE_DEFAULTS, type UpstreamGate, type UpstreamGateOptions, type UpstreamGateSnapshot } from "./upstreamGate";
export { NEGATIVE_DEFAULTS, NEGATIVE_MAX_TTL_SECONDS, clampNegativeTtl, negativeKind, negativeTtlSeconds, type NegativeCacheOptions, type NegativeKind } from "./negative";
export { envelopeGeneration, generationCheckDue, generationKey, isCurrent, l1EntryUsable, mergeGenerations, nextGeneration, parseGeneration } from "./generation";
export {
  RESILIENCE_ENV, resilienceCacheOptions, resilienceFromEnv, securityFromEnv, SECURITY_ENV,
  type ResilienceEnvName, type ResilienceSettings, type SecuritySettings,
} from "./envOptions";
export {
  CONTROL_EVENT_FIELD, parseControlEvent, isDirectInvocation, runControlRequest,
  type ControlRequest, type ControlEventParse, type ControlResponse,
} from "./invalidation";
