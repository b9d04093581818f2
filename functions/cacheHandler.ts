/**
 * The cache Lambda's runtime code: a read-through proxy in front of an upstream HTTP API, on the
 * two-tier cache library (functions/cache): L1 in-process -> memcached (auto discovery, consistent
 * hashing, leases) -> upstream (got, deadline-bounded), with stale-if-error.
 *
 * No Pulumi imports: this module is serialized by value into the Lambda by
 * components/CacheFunction.ts (aws.lambda.CallbackFunction with a callbackFactory).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import {
  createTwoTierCache,
  fetchUpstream,
  isUpstreamError,
  requestCacheKey,
  type CacheLogger,
  type CacheMetrics,
  type UpstreamResponse,
} from "./cache";

/** Settings the handler reads from its environment (set by the component). */
export interface CacheHandlerSettings {
  /** memcached nodes, "host:port" each (used as is when auto discovery is unavailable). */
  servers: string[];
  /** ElastiCache configuration endpoint "host:port" for auto discovery; optional. */
  configEndpoint?: string;
  /** Upstream base URL, e.g. https://api.example.com */
  upstreamUrl: string;
  /** Upstream request timeout; also bounded by the Lambda's remaining time. */
  upstreamTimeoutMs: number;
  /** Freshness of a cached answer. */
  ttlSeconds: number;
  /** How long after expiry a stale answer may still be served when the upstream fails. */
  staleTtlSeconds: number;
  /** memcached operation timeout; a slow cache is a miss, not a slow answer. */
  cacheTimeoutMs: number;
  /** Time kept free before the Lambda timeout for answering. */
  deadlineMarginMs: number;
  /** Key namespace; bump its version to drop every cached entry. */
  namespace: string;
}

/** The parts of an ALB / API Gateway proxy event (or a direct invoke) the handler reads. */
export interface CacheRequestEvent {
  httpMethod?: string;
  path?: string;
  queryStringParameters?: Record<string, string | undefined> | null;
}

/** The part of the Lambda context the handler reads. */
export interface CacheRequestContext {
  getRemainingTimeInMillis?: () => number;
}

export interface CacheResponse {
  statusCode: number;
  statusDescription: string;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: false;
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
  502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
};

/** Read settings from environment variables; throws naming the variable when one is missing or bad. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): CacheHandlerSettings {
  const need = (name: string): string => {
    const v = env[name];
    if (!v) throw new Error(`environment variable ${name} is required`);
    return v;
  };
  const positiveInt = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`environment variable ${name}=${raw} must be a positive integer`);
    return n;
  };
  const servers = (env.MEMCACHED_SERVERS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const configEndpoint = env.MEMCACHED_CONFIG_ENDPOINT?.trim() || undefined;
  if (servers.length === 0 && !configEndpoint) {
    throw new Error("environment variable MEMCACHED_SERVERS or MEMCACHED_CONFIG_ENDPOINT is required");
  }
  return {
    servers,
    ...(configEndpoint ? { configEndpoint } : {}),
    upstreamUrl: need("UPSTREAM_URL").replace(/\/+$/, ""),
    upstreamTimeoutMs: positiveInt("UPSTREAM_TIMEOUT_MS", 3000),
    ttlSeconds: positiveInt("CACHE_TTL_SECONDS", 300),
    staleTtlSeconds: positiveInt("CACHE_STALE_TTL_SECONDS", 3600),
    cacheTimeoutMs: positiveInt("CACHE_TIMEOUT_MS", 150),
    deadlineMarginMs: positiveInt("DEADLINE_MARGIN_MS", 300),
    namespace: env.CACHE_NAMESPACE || "sc-v1",
  };
}

function respond(statusCode: number, body: string, headers: Record<string, string>): CacheResponse {
  return {
    statusCode,
    statusDescription: `${statusCode} ${STATUS_TEXT[statusCode] ?? ""}`.trim(),
    // Never empty: an ALB answers 502 to a Lambda response with an empty headers map.
    headers: { "content-type": "application/json", ...headers },
    body,
    isBase64Encoded: false,
  };
}

function errorResponse(statusCode: number, code: string, message: string): CacheResponse {
  return respond(statusCode, JSON.stringify({ error: { code, message } }), { "cache-control": "no-store" });
}

/** Path + sorted query string: the request identity used for the upstream URL. */
export function canonicalTarget(event: CacheRequestEvent): string {
  const path = event.path && event.path.startsWith("/") ? event.path : "/";
  const query = Object.entries(event.queryStringParameters ?? {})
    .filter((e): e is [string, string] => typeof e[1] === "string")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
  return query ? `${path}?${query}` : path;
}

/** Optional telemetry: Powertools in Lambda; injectable (or silent) elsewhere. */
export interface CacheHandlerTelemetry {
  logger?: CacheLogger;
  metrics?: CacheMetrics & { publishStoredMetrics(): void };
}

/** Powertools Logger + Metrics (Embedded Metric Format) for the Lambda runtime. */
export function powertoolsTelemetry(serviceName = "cache-handler"): Required<CacheHandlerTelemetry> {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: "ServerlessCache", serviceName }),
  };
}

/**
 * Build the handler once per execution environment (the callbackFactory calls this on cold start):
 * the cache (its L1 and memcached connections) lives as long as the environment.
 */
export function createCacheHandler(
  settings: CacheHandlerSettings,
  telemetry: CacheHandlerTelemetry = {},
): (event: CacheRequestEvent, context?: CacheRequestContext) => Promise<CacheResponse> {
  const cache = createTwoTierCache({
    namespace: settings.namespace,
    memcached: {
      ...(settings.configEndpoint ? { configEndpoint: settings.configEndpoint } : {}),
      ...(settings.servers.length > 0 ? { servers: settings.servers } : {}),
      opTimeoutMs: settings.cacheTimeoutMs,
    },
    defaults: { ttlSeconds: settings.ttlSeconds, staleTtlSeconds: settings.staleTtlSeconds, loaderTimeoutMs: settings.upstreamTimeoutMs },
    ...(telemetry.logger ? { logger: telemetry.logger } : {}),
    ...(telemetry.metrics ? { metrics: telemetry.metrics } : {}),
  });

  return async (event, context) => {
    try {
      if (!event || typeof event !== "object") return errorResponse(400, "bad_request", "event must be an object");
      const method = (event.httpMethod ?? "GET").toUpperCase();
      if (method !== "GET") {
        return { ...errorResponse(405, "method_not_allowed", "only GET is cached"), headers: { "content-type": "application/json", allow: "GET" } };
      }
      const target = canonicalTarget(event);
      const key = requestCacheKey(settings.namespace, {
        method,
        path: event.path && event.path.startsWith("/") ? event.path : "/",
        query: event.queryStringParameters ?? {},
      });
      const remaining = context?.getRemainingTimeInMillis?.();
      const deadline = typeof remaining === "number" ? Date.now() + remaining - settings.deadlineMarginMs : undefined;
      const result = await cache.getOrLoad<UpstreamResponse>(
        key,
        ({ timeoutMs, signal }) => fetchUpstream(`${settings.upstreamUrl}${target}`, { timeoutMs, signal, headers: { accept: "application/json" } }),
        deadline !== undefined ? { deadline } : {},
      );
      return respond(result.value.status, result.value.body, {
        "content-type": result.value.contentType,
        "x-cache": result.source,
        age: String(Math.max(0, Math.floor(result.ageSeconds))),
      });
    } catch (err) {
      if (isUpstreamError(err)) {
        return err.statusCode === 504
          ? errorResponse(504, "upstream_timeout", "the upstream did not answer in time")
          : errorResponse(502, "upstream_error", "the upstream failed");
      }
      telemetry.logger?.error("unexpected error", { error: err instanceof Error ? err.message : String(err) });
      return errorResponse(500, "internal_error", "unexpected error");
    } finally {
      try {
        telemetry.metrics?.publishStoredMetrics();
      } catch {
        // metrics must never fail a request
      }
    }
  };
}
