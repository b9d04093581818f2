/**
 * Environment → the platform's settings (memcached and the cache, the large-response bucket, the base
 * path, ports, deadlines, drain), the same for every app. The app's own variables are the app's to
 * read (`ctx.env`). Pure: reads only the object it is given.
 */
import { RESILIENCE_METRICS, createEmfMetrics, resilienceCacheOptions, resilienceFromEnv, securityFromEnv } from "../cache";
import type { CacheLogger, EmfMetrics, ResilienceSettings, SecuritySettings, TwoTierCacheOptions } from "../cache";
import type { LogFn, RuntimeKind } from "./types";
import { basePathProblem } from "./http";
import { envReader } from "../cache/envReader";
import { cacheLoggerFrom as sharedCacheLoggerFrom } from "../cache/log";

/** Set to "container" by the generated Dockerfile (and `npm start`): the entry then serves HTTP instead of returning the Lambda handler. */
export const RUNTIME_ENV = "SERVERLESS_CACHE_RUNTIME";

export interface PlatformSettings {
  /** Prefix the front door adds to every path, removed before routing (API_BASE_PATH, e.g. /dev). */
  basePath?: string;
  memcached: { configEndpoint?: string; servers?: string[] };
  /** Cache key namespace of the app (CACHE_NAMESPACE, default "api"). */
  namespace: string;
  /** The cache's longest load, ms (UPSTREAM_TIMEOUT_MS, default 3000): also how long an invalidation waits for in-flight loads. */
  upstreamTimeoutMs: number;
  /** Cache default freshness, s (CACHE_TTL_SECONDS, default 300). */
  ttlSeconds: number;
  /** Cache default stale window, s (CACHE_STALE_TTL_SECONDS, default 3600). */
  staleTtlSeconds: number;
  /** Container: HTTP port (PORT). */
  port: number;
  /** Container: per-request budget, ms (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Container: how long SIGTERM waits for in-flight requests, ms (SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  /** Lambda: time kept free before the function timeout, ms (DEADLINE_MARGIN_MS). */
  deadlineMarginMs: number;
  /** Lambda: bucket for responses over 1 MB (LARGE_RESPONSE_BUCKET); none = such responses fail with 500. */
  largeResponseBucket?: string;
  /**
   * Lambda: serve large bodies through the front door at this path prefix (LARGE_RESPONSE_LOCATION_PREFIX,
   * e.g. /dev/_large/) instead of presigned URLs.
   */
  largeResponseLocationPrefix?: string;
  /** Lambda: presigned URL lifetime, s (LARGE_RESPONSE_URL_TTL_SECONDS). */
  largeResponseUrlTtlSeconds: number;
  /** Circuit breaker, bulkhead, negative caching, L1 max age (UPSTREAM_BREAKER_*, UPSTREAM_MAX_*, CACHE_*_TTL_SECONDS, CACHE_L1_MAX_AGE_MS; see docs/cache.md). */
  resilience: ResilienceSettings;
  /** Emit EMF metrics of the resilience events (CACHE_METRICS=off turns them off). Default on. */
  metrics: boolean;
  /**
   * Entry authentication keys (CACHE_MAC_KEYS / CACHE_MAC_KEY_PARAMETER), served content types
   * (UPSTREAM_CONTENT_TYPES), upstream body cap (UPSTREAM_MAX_BODY_BYTES), memcached TLS (MEMCACHED_TLS).
   */
  security: SecuritySettings;
}

/** Lambda when the runtime API is there (set in every Lambda execution environment), else container. */
export function detectRuntime(env: Readonly<Record<string, string | undefined>>): RuntimeKind {
  return env.AWS_LAMBDA_RUNTIME_API ? "lambda" : "container";
}

/**
 * What the entry (`hybridEntry`) does when loaded: serve HTTP only when SERVERLESS_CACHE_RUNTIME is
 * "container" (the generated Dockerfile and `npm start` set it); otherwise return the Lambda handler,
 * also where no Lambda runtime API is around (the archive loaded by tests or a local invoke).
 */
export function entryRuntime(env: Readonly<Record<string, string | undefined>>): RuntimeKind {
  return (env[RUNTIME_ENV] ?? "").trim().toLowerCase() === "container" ? "container" : "lambda";
}

const HOST_PORT = /^[A-Za-z0-9.-]+:[0-9]{1,5}$/;
const NAMESPACE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Read and validate the platform's settings; throws an Error naming the variable when one is missing or wrong. */
export function platformSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): PlatformSettings {
  const { text, int } = envReader(env);

  const endpointName = text("MEMCACHED_ENDPOINT") !== undefined ? "MEMCACHED_ENDPOINT" : "MEMCACHED_CONFIG_ENDPOINT";
  const configEndpoint = text(endpointName);
  if (configEndpoint !== undefined && !HOST_PORT.test(configEndpoint)) throw new Error(`environment variable ${endpointName}=${configEndpoint} must be host:port`);
  const serversRaw = text("MEMCACHED_SERVERS");
  const servers = serversRaw?.split(",").map((s) => s.trim()).filter(Boolean);
  for (const s of servers ?? []) if (!HOST_PORT.test(s)) throw new Error(`environment variable MEMCACHED_SERVERS has ${JSON.stringify(s)}, not host:port`);
  if (!configEndpoint && (!servers || servers.length === 0)) {
    throw new Error("set MEMCACHED_ENDPOINT (configuration endpoint, host:port) or MEMCACHED_SERVERS (host:port,...)");
  }
  const namespace = text("CACHE_NAMESPACE") ?? "api";
  if (!NAMESPACE.test(namespace)) throw new Error(`environment variable CACHE_NAMESPACE=${namespace} must be 1-64 of [A-Za-z0-9_.-]`);

  const memcached: PlatformSettings["memcached"] = {};
  if (configEndpoint) memcached.configEndpoint = configEndpoint;
  if (servers && servers.length > 0) memcached.servers = servers;
  const settings: PlatformSettings = {
    memcached,
    namespace,
    upstreamTimeoutMs: int("UPSTREAM_TIMEOUT_MS", 3000, 1, 900000),
    ttlSeconds: int("CACHE_TTL_SECONDS", 300, 1, 2592000),
    staleTtlSeconds: int("CACHE_STALE_TTL_SECONDS", 3600, 0, 2592000),
    port: int("PORT", 8080, 0, 65535),
    requestTimeoutMs: int("REQUEST_TIMEOUT_MS", 10000, 100, 900000),
    shutdownGraceMs: int("SHUTDOWN_GRACE_MS", 10000, 0, 120000),
    deadlineMarginMs: int("DEADLINE_MARGIN_MS", 500, 0, 60000),
    largeResponseUrlTtlSeconds: int("LARGE_RESPONSE_URL_TTL_SECONDS", 300, 1, 604800),
    resilience: resilienceFromEnv(env),
    metrics: (text("CACHE_METRICS") ?? "on").toLowerCase() !== "off",
    security: securityFromEnv(env),
  };
  const basePath = text("API_BASE_PATH");
  if (basePath !== undefined) {
    const problem = basePathProblem(basePath);
    if (problem) throw new Error(`environment variable API_BASE_PATH=${basePath} ${problem}`);
    settings.basePath = basePath;
  }
  const locationPrefix = text("LARGE_RESPONSE_LOCATION_PREFIX");
  if (locationPrefix !== undefined) {
    if (!/^(\/[A-Za-z0-9_.-]+)+\/$/.test(locationPrefix)) throw new Error(`environment variable LARGE_RESPONSE_LOCATION_PREFIX=${locationPrefix} must be a path that starts and ends with / (e.g. /dev/_large/)`);
    settings.largeResponseLocationPrefix = locationPrefix;
  }
  const bucket = text("LARGE_RESPONSE_BUCKET");
  if (bucket !== undefined) settings.largeResponseBucket = bucket;
  return settings;
}

/** A cache-library logger writing through our log sink (warn and error reach the logs by default). */
export function cacheLoggerFrom(log: LogFn): CacheLogger {
  return sharedCacheLoggerFrom(log, { component: "cache" });
}

/**
 * Options of `createTwoTierCache` for these settings. The loader timeout is the upstream timeout.
 * `metrics`: an EMF sink for the resilience metrics (create it with {@link apiMetricsSink}).
 */
export function cacheOptionsFromSettings(s: PlatformSettings, log?: LogFn, metrics?: EmfMetrics): TwoTierCacheOptions {
  const r = resilienceCacheOptions(s.resilience);
  const options: TwoTierCacheOptions = {
    namespace: s.namespace,
    memcached: { ...s.memcached, ...(s.security.memcachedTls ? { tls: true } : {}) },
    l1: { maxAgeMs: r.l1MaxAgeMs },
    defaults: { ttlSeconds: s.ttlSeconds, staleTtlSeconds: s.staleTtlSeconds, loaderTimeoutMs: s.upstreamTimeoutMs },
    upstream: r.upstream,
    negative: r.negative,
  };
  if (s.security.entryAuth) options.entryAuth = s.security.entryAuth;
  if (log) options.logger = cacheLoggerFrom(log);
  if (metrics) options.metrics = metrics;
  return options;
}

/** EMF sink of the API's resilience metrics (namespace ServerlessCache, dimensions service=api, runtime), or undefined when CACHE_METRICS=off. */
export function apiMetricsSink(s: PlatformSettings, runtime: RuntimeKind): EmfMetrics | undefined {
  if (!s.metrics) return undefined;
  return createEmfMetrics({ namespace: "ServerlessCache", dimensions: { service: "api", runtime }, names: RESILIENCE_METRICS });
}

/** The start-up warning when memcached entries are not authenticated (no key configured), else undefined. */
export function entryAuthWarning(s: PlatformSettings): string | undefined {
  return s.security.entryKeySource === "none"
    ? "memcached entries are not authenticated: set CACHE_MAC_KEY_PARAMETER (SSM SecureString) or CACHE_MAC_KEYS"
    : undefined;
}
