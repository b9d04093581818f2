/**
 * The cache Lambda's runtime code: lazy loading in front of an upstream HTTP API.
 * memcached get -> on miss fetch the upstream (got) -> set with a TTL -> answer.
 *
 * No Pulumi imports: this module is serialized by value into the Lambda by
 * components/CacheFunction.ts (aws.lambda.CallbackFunction with a callbackFactory).
 */
import { createHash } from "node:crypto";
import { Client } from "memjs";

/** Settings the handler reads from its environment (set by the component). */
export interface CacheHandlerSettings {
  /** memcached nodes, "host:port" each. */
  servers: string[];
  /** Upstream base URL, e.g. https://api.example.com */
  upstreamUrl: string;
  /** Upstream request timeout; kept below the Lambda timeout. */
  upstreamTimeoutMs: number;
  /** memcached expiry of a cached answer. */
  ttlSeconds: number;
  /** memcached operation timeout (memjs `timeout`); a slow cache is a miss, not a slow answer. */
  cacheTimeoutMs: number;
}

/** The parts of an ALB / API Gateway proxy event (or a direct invoke) the handler reads. */
export interface CacheRequestEvent {
  httpMethod?: string;
  path?: string;
  queryStringParameters?: Record<string, string | undefined> | null;
}

export interface CacheResponse {
  statusCode: number;
  statusDescription: string;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: false;
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 502: "Bad Gateway", 504: "Gateway Timeout",
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
  return {
    servers: need("MEMCACHED_SERVERS").split(",").map((s) => s.trim()).filter(Boolean),
    upstreamUrl: need("UPSTREAM_URL").replace(/\/+$/, ""),
    upstreamTimeoutMs: positiveInt("UPSTREAM_TIMEOUT_MS", 3000),
    ttlSeconds: positiveInt("CACHE_TTL_SECONDS", 300),
    cacheTimeoutMs: positiveInt("CACHE_TIMEOUT_MS", 150),
  };
}

function respond(statusCode: number, body: unknown, extraHeaders: Record<string, string> = {}): CacheResponse {
  return {
    statusCode,
    statusDescription: `${statusCode} ${STATUS_TEXT[statusCode] ?? ""}`.trim(),
    headers: { "content-type": "application/json", ...extraHeaders },
    body: typeof body === "string" ? body : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/** Path + sorted query string: the request identity used for the cache key and the upstream URL. */
export function canonicalTarget(event: CacheRequestEvent): string {
  const path = event.path && event.path.startsWith("/") ? event.path : "/";
  const query = Object.entries(event.queryStringParameters ?? {})
    .filter((e): e is [string, string] => typeof e[1] === "string")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
  return query ? `${path}?${query}` : path;
}

/** memcached keys: <= 250 bytes, no spaces or control characters, so hash the request identity. */
export function cacheKeyFor(target: string): string {
  return `sc:v1:${createHash("sha256").update(target).digest("base64url")}`;
}

/**
 * Build the handler once per execution environment (the callbackFactory calls this on cold start):
 * the memjs client lives as long as the environment, and is never quit per invocation.
 */
export function createCacheHandler(settings: CacheHandlerSettings): (event: CacheRequestEvent) => Promise<CacheResponse> {
  const client = Client.create(settings.servers.join(","), {
    timeout: settings.cacheTimeoutMs / 1000,
    conntimeout: (2 * settings.cacheTimeoutMs) / 1000,
    retries: 0,
    failover: true,
    failoverTime: 30,
    keepAlive: true,
    logger: { log: () => undefined },
  });

  const cacheGet = async (key: string): Promise<string | undefined> => {
    try {
      const { value } = await client.get(key);
      return value ? value.toString("utf8") : undefined;
    } catch {
      return undefined; // any cache error is a miss
    }
  };
  const cacheSet = async (key: string, value: string): Promise<void> => {
    try {
      await client.set(key, value, { expires: settings.ttlSeconds });
    } catch {
      // a failed write only costs a future miss
    }
  };

  return async (event) => {
    const method = (event.httpMethod ?? "GET").toUpperCase();
    if (method !== "GET") return respond(405, { error: { code: "method_not_allowed", message: "only GET is cached" } }, { allow: "GET" });
    const target = canonicalTarget(event);
    const key = cacheKeyFor(target);

    const cached = await cacheGet(key);
    if (cached !== undefined) return respond(200, cached, { "x-cache": "HIT" });

    const { default: got, TimeoutError, HTTPError } = await import("got");
    let body: string;
    try {
      body = await got(`${settings.upstreamUrl}${target}`, {
        timeout: { request: settings.upstreamTimeoutMs },
        retry: { limit: 0 },
        headers: { accept: "application/json" },
      }).text();
    } catch (err) {
      if (err instanceof TimeoutError) {
        return respond(504, { error: { code: "upstream_timeout", message: `upstream did not answer within ${settings.upstreamTimeoutMs} ms` } });
      }
      const status = err instanceof HTTPError ? err.response.statusCode : undefined;
      return respond(502, { error: { code: "upstream_error", message: status ? `upstream answered ${status}` : "upstream unreachable" } });
    }
    await cacheSet(key, body);
    return respond(200, body, { "x-cache": "MISS" });
  };
}
