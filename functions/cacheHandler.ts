/**
 * The cache Lambda's runtime code: a read-through proxy in front of an upstream HTTP API, on the
 * two-tier cache library (functions/cache): L1 in-process -> memcached (auto discovery, consistent
 * hashing, leases) -> upstream (got, deadline-bounded), with stale-if-error.
 *
 * No Pulumi imports: this module is serialized by value into the Lambda by
 * components/CacheFunction.ts (aws.lambda.CallbackFunction with a callbackFactory).
 */
import {
  METRIC,
  cacheLoggerFrom,
  createEmfMetrics,
  createJsonLog,
  createTwoTierCache,
  fetchUpstream,
  isUpstreamError,
  parseControlEvent,
  requestCacheKey,
  resilienceCacheOptions,
  resilienceFromEnv,
  runControlRequest,
  securityFromEnv,
  servableAnswerCheck,
  type SecuritySettings,
  type CacheLogger,
  type CacheMetrics,
  type ControlResponse,
  type ResilienceSettings,
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
  /** Breaker, bulkhead, negative caching, L1 max age (see docs/cache.md, "Configuration by environment"). Default: the library's defaults. */
  resilience?: ResilienceSettings;
  /** Entry authentication keys, served content types, upstream body cap, memcached TLS (docs/cache.md). Default: unauthenticated entries, JSON and plain text, 5 MiB, no TLS. */
  security?: SecuritySettings;
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
  200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
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
    resilience: resilienceFromEnv(env),
    security: securityFromEnv(env),
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

function errorResponse(statusCode: number, code: string, message: string, headers: Record<string, string> = {}): CacheResponse {
  return respond(statusCode, JSON.stringify({ error: { code, message } }), { "cache-control": "no-store", ...headers });
}

/** Cache key of a request (the same for a GET and for its invalidation). Pure. */
export function cacheKeyOf(namespace: string, event: CacheRequestEvent): string {
  return requestCacheKey(namespace, {
    method: "GET",
    path: event.path && event.path.startsWith("/") ? event.path : "/",
    query: event.queryStringParameters ?? {},
  });
}

/** The event a path with query ("/todos/1?a=1") stands for (the last value of a repeated parameter wins, as in a single-value event). Pure. */
export function eventForTarget(target: string): CacheRequestEvent {
  const q = target.indexOf("?");
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(q < 0 ? "" : target.slice(q + 1))) query[k] = v;
  return { httpMethod: "GET", path: q < 0 ? target : target.slice(0, q), queryStringParameters: query };
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

// ---- Request paths: decode, validate, one canonical spelling; the upstream URL stays under its base.

/** Longest request path the proxy accepts, in characters as received (before decoding). */
export const MAX_PROXY_PATH_LENGTH = 1024;

/** Why a request path is refused (the `reason` of the 400 answer). */
export type ProxyPathProblem =
  | "not_absolute" | "too_long" | "control_character" | "encoded_separator" | "double_encoding" | "bad_escape"
  | "query_or_fragment" | "backslash" | "empty_segment" | "dot_segment" | "lookalike" | "outside_base";

export type ProxyPathCheck = { ok: true; path: string } | { ok: false; reason: ProxyPathProblem; message: string };

const PROXY_PATH_PROBLEMS: Record<ProxyPathProblem, string> = {
  not_absolute: "request path must be a string that starts with /",
  too_long: `request path is longer than ${MAX_PROXY_PATH_LENGTH} characters`,
  control_character: "request path has a control character (raw or percent-encoded)",
  encoded_separator: "request path has a percent-encoded dot, slash or backslash (%2e, %2f, %5c)",
  double_encoding: "request path has a percent-encoded percent sign (%25): double encoding is refused",
  bad_escape: "request path has a malformed percent-escape, invalid UTF-8 or a lone surrogate",
  query_or_fragment: "request path has ? or # in it (raw or %3f / %23): send the query as query parameters",
  backslash: "request path has a backslash",
  empty_segment: "request path has an empty segment (// or a trailing /)",
  dot_segment: "request path has a . or .. segment",
  lookalike: "request path has a character that Unicode normalisation turns into . / \\ ? or #",
  outside_base: "request path does not resolve below the upstream base URL",
};

/**
 * Decode and validate a request path (the ALB's raw path or API Gateway's decoded one) and return its
 * one canonical spelling: each segment percent-decoded, then encoded again the same way (unreserved
 * characters and `!$&'()*+,;=:@` literal, everything else %XX in upper case). So `/todos/%41` and
 * `/todos/A` are one resource, one cache key and one upstream URL, and every path that could leave the
 * upstream's base path (dot segments, encoded separators, backslashes, `?`/`#`, control characters
 * the URL parser drops) is refused instead. No path = the base itself ("/"). Pure.
 */
export function checkProxyPath(raw: unknown): ProxyPathCheck {
  const bad = (reason: ProxyPathProblem): ProxyPathCheck => ({ ok: false, reason, message: PROXY_PATH_PROBLEMS[reason] });
  if (raw === undefined || raw === null) return { ok: true, path: "/" };
  if (typeof raw !== "string" || !raw.startsWith("/")) return bad("not_absolute");
  if (raw.length > MAX_PROXY_PATH_LENGTH) return bad("too_long");
  if (/[\u0000-\u001f\u007f-\u009f]/.test(raw)) return bad("control_character");
  if (/%(2e|2f|5c)/i.test(raw)) return bad("encoded_separator");
  if (/%25/.test(raw)) return bad("double_encoding");
  if (/[?#]|%(3f|23)/i.test(raw)) return bad("query_or_fragment");
  if (raw.includes("\\")) return bad("backslash");
  if (raw === "/") return { ok: true, path: "/" };
  const segments: string[] = [];
  for (const segment of raw.slice(1).split("/")) {
    if (segment === "") return bad("empty_segment");
    let decoded: string;
    let encoded: string;
    try {
      decoded = decodeURIComponent(segment);
      encoded = encodeURIComponent(decoded); // throws on a lone surrogate (raw or from API Gateway)
    } catch {
      return bad("bad_escape");
    }
    if (/[\u0000-\u001f\u007f-\u009f]/.test(decoded)) return bad("control_character");
    // "..;x" is ".." to servlet containers (path parameters); "．．" (fullwidth) is ".." after NFKC.
    const folded = decoded.normalize("NFKC");
    if (/[/\\?#%]/.test(folded)) return bad("lookalike");
    const name = folded.split(";")[0];
    if (name === "." || name === "..") return bad(decoded.split(";")[0] === name ? "dot_segment" : "lookalike");
    segments.push(encoded.replace(/%(24|26|2B|2C|3B|3D|3A|40)/g, (e) => decodeURIComponent(e)));
  }
  return { ok: true, path: `/${segments.join("/")}` };
}

/** The upstream base URL, parsed once: origin and path (no trailing slash; "" for the root). */
export interface UpstreamBase {
  origin: string;
  path: string;
}

/** Parse the upstream base URL (http or https, no credentials, query or fragment); throws naming UPSTREAM_URL. */
export function upstreamBaseOf(upstreamUrl: string): UpstreamBase {
  let url: URL;
  try {
    url = new URL(upstreamUrl);
  } catch {
    throw new Error(`environment variable UPSTREAM_URL=${upstreamUrl} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`environment variable UPSTREAM_URL must be http or https (got ${url.protocol})`);
  if (url.username || url.password || url.search || url.hash) throw new Error("environment variable UPSTREAM_URL must not have credentials, a query or a fragment");
  return { origin: url.origin, path: url.pathname.replace(/\/+$/, "") };
}

/**
 * The upstream URL of a canonical target (checked path + encoded query, see {@link canonicalTarget}),
 * built with the URL API; undefined unless the resolved URL has the base's origin, a path under the
 * base's path, and exactly the path asked for (the parser resolved or dropped nothing). Pure.
 */
export function upstreamUrlFor(base: UpstreamBase, target: string): string | undefined {
  let url: URL;
  try {
    url = new URL(`${base.origin}${base.path}${target}`);
  } catch {
    return undefined;
  }
  if (url.origin !== base.origin || url.hash) return undefined;
  if (url.pathname !== base.path && !url.pathname.startsWith(`${base.path}/`)) return undefined;
  const q = target.indexOf("?");
  if (url.pathname !== `${base.path}${q < 0 ? target : target.slice(0, q)}`) return undefined;
  return url.href;
}

function invalidPath(check: { reason: ProxyPathProblem; message: string }): CacheResponse {
  return respond(400, JSON.stringify({ error: { code: "invalid_path", reason: check.reason, message: check.message } }), { "cache-control": "no-store" });
}

/** Optional telemetry: JSON-lines logs and EMF metrics in Lambda; injectable (or silent) elsewhere. */
export interface CacheHandlerTelemetry {
  logger?: CacheLogger;
  metrics?: CacheMetrics & { publishStoredMetrics(): void };
}

/**
 * The project's JSON-lines logger (functions/cache/log.ts; level from AWS_LAMBDA_LOG_LEVEL / LOG_LEVEL)
 * and every cache metric as Embedded Metric Format (namespace ServerlessCache, dimension service),
 * written once per invocation by publishStoredMetrics(). CACHE_METRICS=off: no metrics.
 */
export function lambdaTelemetry(serviceName = "cache-handler", env: Record<string, string | undefined> = process.env): CacheHandlerTelemetry {
  const logger = cacheLoggerFrom(createJsonLog(serviceName));
  if ((env.CACHE_METRICS ?? "on").toLowerCase() === "off") return { logger };
  const emf = createEmfMetrics({ namespace: "ServerlessCache", dimensions: { service: serviceName }, names: Object.values(METRIC), intervalMs: Number.POSITIVE_INFINITY });
  return { logger, metrics: { addMetric: (name, unit, value) => emf.addMetric(name, unit, value), publishStoredMetrics: () => emf.flush() } };
}

/**
 * Build the handler once per execution environment (the callbackFactory calls this on cold start):
 * the cache (its L1 and memcached connections) lives as long as the environment.
 */
export function createCacheHandler(
  settings: CacheHandlerSettings,
  telemetry: CacheHandlerTelemetry = {},
): (event: CacheRequestEvent, context?: CacheRequestContext) => Promise<CacheResponse | ControlResponse> {
  const resilience = settings.resilience ? resilienceCacheOptions(settings.resilience) : undefined;
  const security = settings.security;
  if (!security?.entryAuth) telemetry.logger?.warn("memcached entries are not authenticated: set CACHE_MAC_KEY_PARAMETER (SSM SecureString) or CACHE_MAC_KEYS");
  // Only answers of these types are served, from the upstream or from the cache (a stored text/html is a miss).
  const accept = security ? servableAnswerCheck(security.allowedContentTypes) : undefined;
  const cache = createTwoTierCache({
    namespace: settings.namespace,
    memcached: {
      ...(settings.configEndpoint ? { configEndpoint: settings.configEndpoint } : {}),
      ...(settings.servers.length > 0 ? { servers: settings.servers } : {}),
      opTimeoutMs: settings.cacheTimeoutMs,
      ...(security?.memcachedTls ? { tls: true } : {}),
    },
    ...(security?.entryAuth ? { entryAuth: security.entryAuth } : {}),
    defaults: { ttlSeconds: settings.ttlSeconds, staleTtlSeconds: settings.staleTtlSeconds, loaderTimeoutMs: settings.upstreamTimeoutMs },
    ...(resilience ? { upstream: resilience.upstream, negative: resilience.negative, l1: { maxAgeMs: resilience.l1MaxAgeMs } } : {}),
    ...(telemetry.logger ? { logger: telemetry.logger } : {}),
    ...(telemetry.metrics ? { metrics: telemetry.metrics } : {}),
  });
  const upstreamBase = upstreamBaseOf(settings.upstreamUrl);
  // Invalidation names a path as clients send it: the same checks and canonical spelling as a GET.
  const keyForPath = (path: string): { ok: true; key: string } | { ok: false; message: string } => {
    const event = eventForTarget(path);
    const checked = checkProxyPath(event.path);
    return checked.ok ? { ok: true, key: cacheKeyOf(settings.namespace, { ...event, path: checked.path }) } : { ok: false, message: `${path}: ${checked.message}` };
  };

  return async (event, context) => {
    try {
      if (!event || typeof event !== "object") return errorResponse(400, "bad_request", "event must be an object");
      // Direct invocation with a control event: invalidate (see functions/cache/invalidation.ts).
      const control = parseControlEvent(event);
      if (control.kind === "forbidden") return errorResponse(403, "forbidden", "control events are accepted only by direct invocation");
      if (control.kind === "invalid") return { ok: false, action: "unknown", nodes: [], boundMs: 0, settleMs: 0, error: control.error };
      if (control.kind === "control") {
        const remaining = context?.getRemainingTimeInMillis?.();
        const response = await runControlRequest(control.request, cache, keyForPath, typeof remaining === "number" ? Date.now() + remaining - settings.deadlineMarginMs : undefined);
        telemetry.logger?.info("cache control event", { ...response });
        return response;
      }
      const method = (event.httpMethod ?? "GET").toUpperCase();
      if (method !== "GET") {
        return { ...errorResponse(405, "method_not_allowed", "only GET is cached"), headers: { "content-type": "application/json", allow: "GET" } };
      }
      const checked = checkProxyPath(event.path);
      if (!checked.ok) return invalidPath(checked);
      const request: CacheRequestEvent = { ...event, path: checked.path };
      const target = canonicalTarget(request);
      const upstreamUrl = upstreamUrlFor(upstreamBase, target);
      if (upstreamUrl === undefined) return invalidPath({ reason: "outside_base", message: PROXY_PATH_PROBLEMS.outside_base });
      const key = cacheKeyOf(settings.namespace, request);
      const remaining = context?.getRemainingTimeInMillis?.();
      const deadline = typeof remaining === "number" ? Date.now() + remaining - settings.deadlineMarginMs : undefined;
      const result = await cache.getOrLoad<UpstreamResponse>(
        key,
        ({ timeoutMs, signal }) => fetchUpstream(upstreamUrl, {
          timeoutMs, signal, headers: { accept: "application/json" },
          ...(security ? { maxBodyBytes: security.maxBodyBytes, allowedContentTypes: security.allowedContentTypes } : {}),
        }),
        { ...(deadline !== undefined ? { deadline } : {}), ...(accept ? { accept } : {}) },
      );
      return respond(result.value.status, result.value.body, {
        "content-type": result.value.contentType,
        "x-cache": result.source,
        age: String(Math.max(0, Math.floor(result.ageSeconds))),
        // The declared type is the only one: no browser may sniff a cached answer into HTML.
        "x-content-type-options": "nosniff",
      });
    } catch (err) {
      if (isUpstreamError(err)) {
        const cached: Record<string, string> = err.cached ? { "x-cache": "NEGATIVE" } : {};
        if (err.upstreamStatus === 404 || err.upstreamStatus === 410) return errorResponse(404, "not_found", "the upstream has no such item", cached);
        if (err.statusCode === 503) {
          return errorResponse(503, "upstream_unavailable", "the upstream is unavailable right now and no copy is cached", { "retry-after": String(Math.max(1, err.retryAfterSeconds ?? 1)) });
        }
        return err.statusCode === 504
          ? errorResponse(504, "upstream_timeout", "the upstream did not answer in time", cached)
          : errorResponse(502, "upstream_error", "the upstream failed", cached);
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
