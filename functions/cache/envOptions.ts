/**
 * Resilience, invalidation and security settings from environment variables, shared by the API
 * (Lambda and container) and the cache Lambda. Pure: reads only the object it is given; throws an
 * Error naming the variable when one is malformed (never echoing a key). Documented in docs/cache.md
 * ("Configuration by environment").
 */
import { DEFAULT_ALLOWED_CONTENT_TYPES, parseAllowedContentTypes } from "./contentTypes";
import { parseMacKeys } from "./integrity";
import type { EntryAuthOptions, TwoTierCacheOptions } from "./readThrough";
import { ssmParameterLoader } from "./ssm";
import { UPSTREAM_MAX_BODY_BYTES } from "./upstream";
import { envReader } from "./envReader";

/** Variable name -> [default, min, max]. Integers only. */
export const RESILIENCE_ENV = {
  /** Consecutive upstream failures that open the breaker; 0 turns the breaker off. */
  UPSTREAM_BREAKER_FAILURES: [5, 0, 1000],
  /** First cool-off of an open breaker (ms) before one probe goes through. */
  UPSTREAM_BREAKER_OPEN_MS: [1000, 1, 600_000],
  /** Longest cool-off (ms) after repeated failed probes (doubling from UPSTREAM_BREAKER_OPEN_MS). */
  UPSTREAM_BREAKER_MAX_OPEN_MS: [5000, 1, 600_000],
  /** A call still in flight after this long (ms) counts as a failure then (a hang opens the breaker before the timeout); 0 = off. */
  UPSTREAM_SLOW_CALL_MS: [1000, 0, 600_000],
  /** Upstream calls in flight at most per execution environment; 0 turns the bulkhead off. */
  UPSTREAM_MAX_CONCURRENCY: [64, 0, 100_000],
  /** Misses that may wait for a free slot; beyond it they are shed at once. */
  UPSTREAM_MAX_QUEUE: [64, 0, 100_000],
  /** Longest wait (ms) of a queued miss before it is shed. */
  UPSTREAM_QUEUE_WAIT_MS: [100, 0, 60_000],
  /** Seconds an upstream 404/410 is cached (negative caching); 0 = not cached. */
  CACHE_NOT_FOUND_TTL_SECONDS: [5, 0, 300],
  /** Seconds any other upstream error is cached when nothing stale is kept; 0 = not cached. */
  CACHE_ERROR_TTL_SECONDS: [1, 0, 300],
  /** The invalidation bound (ms): longest an environment serves an L1 entry without asking memcached. */
  CACHE_L1_MAX_AGE_MS: [5000, 0, 3_600_000],
} as const satisfies Record<string, readonly [number, number, number]>;

export type ResilienceEnvName = keyof typeof RESILIENCE_ENV;

export interface ResilienceSettings {
  breakerFailures: number;
  breakerOpenMs: number;
  breakerMaxOpenMs: number;
  slowCallMs: number;
  maxConcurrency: number;
  maxQueue: number;
  queueWaitMs: number;
  notFoundTtlSeconds: number;
  errorTtlSeconds: number;
  l1MaxAgeMs: number;
}

/** Read the variables of {@link RESILIENCE_ENV}; defaults for those not set. */
export function resilienceFromEnv(env: Record<string, string | undefined>): ResilienceSettings {
  const read = (name: ResilienceEnvName): number => {
    const [fallback, min, max] = RESILIENCE_ENV[name];
    const raw = env[name]?.trim();
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!/^[0-9]+$/.test(raw) || n < min || n > max) throw new Error(`environment variable ${name}=${raw} must be an integer from ${min} to ${max}`);
    return n;
  };
  const s: ResilienceSettings = {
    breakerFailures: read("UPSTREAM_BREAKER_FAILURES"),
    breakerOpenMs: read("UPSTREAM_BREAKER_OPEN_MS"),
    breakerMaxOpenMs: read("UPSTREAM_BREAKER_MAX_OPEN_MS"),
    slowCallMs: read("UPSTREAM_SLOW_CALL_MS"),
    maxConcurrency: read("UPSTREAM_MAX_CONCURRENCY"),
    maxQueue: read("UPSTREAM_MAX_QUEUE"),
    queueWaitMs: read("UPSTREAM_QUEUE_WAIT_MS"),
    notFoundTtlSeconds: read("CACHE_NOT_FOUND_TTL_SECONDS"),
    errorTtlSeconds: read("CACHE_ERROR_TTL_SECONDS"),
    l1MaxAgeMs: read("CACHE_L1_MAX_AGE_MS"),
  };
  if (s.breakerMaxOpenMs < s.breakerOpenMs) {
    throw new Error(`environment variable UPSTREAM_BREAKER_MAX_OPEN_MS=${s.breakerMaxOpenMs} must not be below UPSTREAM_BREAKER_OPEN_MS=${s.breakerOpenMs}`);
  }
  return s;
}

/** The createTwoTierCache options these settings stand for (merge into the rest). Pure. */
export function resilienceCacheOptions(s: ResilienceSettings): Pick<TwoTierCacheOptions, "upstream" | "negative"> & { l1MaxAgeMs: number } {
  return {
    upstream: {
      breaker: s.breakerFailures === 0 ? false : { failureThreshold: s.breakerFailures, openMs: s.breakerOpenMs, maxOpenMs: s.breakerMaxOpenMs, slowCallMs: s.slowCallMs },
      bulkhead: s.maxConcurrency === 0 ? false : { maxConcurrent: s.maxConcurrency, maxQueue: s.maxQueue, maxQueueWaitMs: s.queueWaitMs },
    },
    negative: { notFoundTtlSeconds: s.notFoundTtlSeconds, errorTtlSeconds: s.errorTtlSeconds },
    l1MaxAgeMs: s.l1MaxAgeMs,
  };
}

/** Security variables (see docs/cache.md): entry keys, served content types, upstream body cap, memcached TLS. */
export const SECURITY_ENV = [
  "CACHE_MAC_KEYS", "CACHE_MAC_KEY_PARAMETER", "CACHE_MAC_KEY_REFRESH_SECONDS", "UPSTREAM_CONTENT_TYPES", "UPSTREAM_MAX_BODY_BYTES", "MEMCACHED_TLS",
] as const;

export interface SecuritySettings {
  /** Entry authentication for createTwoTierCache; undefined = entries are not authenticated (no key configured). */
  entryAuth?: EntryAuthOptions;
  /** Where the entry keys come from (for the start-up log line; never the keys). */
  entryKeySource: "value" | "parameter" | "none";
  /** Media types an upstream answer may have to be served (and cached). */
  allowedContentTypes: string[];
  /** Largest upstream body read (bytes); beyond it the answer is a 502. */
  maxBodyBytes: number;
  /** Speak TLS to memcached (ElastiCache in-transit encryption). */
  memcachedTls: boolean;
}

const SSM_NAME = /^(arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter\/[A-Za-z0-9_./-]{1,2011}|\/?[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*)$/;

/**
 * Read the security variables:
 * - `CACHE_MAC_KEYS`: the entry keys themselves (base64, comma-separated, the first signs). Takes
 *   precedence; for local runs and tests.
 * - `CACHE_MAC_KEY_PARAMETER`: name or ARN of the SSM SecureString holding them (what the deployed
 *   functions get); read at cold start with the runtime's credentials, then every
 *   `CACHE_MAC_KEY_REFRESH_SECONDS` (default 900, 0 = never).
 * - neither: entries are not authenticated.
 * - `UPSTREAM_CONTENT_TYPES` (default application/json,text/plain,application/octet-stream), `UPSTREAM_MAX_BODY_BYTES` (default
 *   5 MiB), `MEMCACHED_TLS` (on/off, default off).
 */
export function securityFromEnv(env: Record<string, string | undefined>): SecuritySettings {
  const { text, int } = envReader(env);
  const refreshMs = int("CACHE_MAC_KEY_REFRESH_SECONDS", 900, 0, 86_400) * 1000;
  let entryAuth: EntryAuthOptions | undefined;
  let entryKeySource: SecuritySettings["entryKeySource"] = "none";
  const keys = text("CACHE_MAC_KEYS");
  const parameter = text("CACHE_MAC_KEY_PARAMETER");
  if (keys !== undefined) {
    try {
      parseMacKeys(keys);
    } catch (e) {
      throw new Error(`environment variable CACHE_MAC_KEYS: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    entryAuth = { keys };
    entryKeySource = "value";
  } else if (parameter !== undefined) {
    if (!SSM_NAME.test(parameter)) throw new Error(`environment variable CACHE_MAC_KEY_PARAMETER=${parameter} is not an SSM parameter name or ARN`);
    entryAuth = { keys: ssmParameterLoader(parameter, env), refreshMs };
    entryKeySource = "parameter";
  }
  let allowedContentTypes = [...DEFAULT_ALLOWED_CONTENT_TYPES];
  const types = text("UPSTREAM_CONTENT_TYPES");
  if (types !== undefined) {
    try {
      allowedContentTypes = parseAllowedContentTypes(types);
    } catch (e) {
      throw new Error(`environment variable UPSTREAM_CONTENT_TYPES: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
  const tls = (text("MEMCACHED_TLS") ?? "off").toLowerCase();
  if (!["on", "off", "true", "false", "1", "0"].includes(tls)) throw new Error(`environment variable MEMCACHED_TLS=${tls} must be on or off`);
  return {
    ...(entryAuth ? { entryAuth } : {}),
    entryKeySource,
    allowedContentTypes,
    maxBodyBytes: int("UPSTREAM_MAX_BODY_BYTES", UPSTREAM_MAX_BODY_BYTES, 1024, 64 * 1024 * 1024),
    memcachedTls: tls === "on" || tls === "true" || tls === "1",
  };
}
