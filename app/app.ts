/**
 * The demo app (Hono, fetch-standard): /items/{id} through the platform's two-tier cache, /runtime,
 * /slow (and /health, which the platform answers before it). Decisions come from the pure
 * functions of routes.ts; this file only does the I/O (cache, sleep) and writes responses. The cache
 * is injected (the platform's `ctx.cache`); app/index.ts is the factory passed to the component.
 *
 * Serialized by value into both runtimes by Pulumi: no classes of our own, no module-level mutable
 * state (per-instance state lives in the closure `createApp` builds at run time).
 */
import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { DEFAULT_ALLOWED_CONTENT_TYPES, UPSTREAM_MAX_BODY_BYTES, fetchUpstream, isUpstreamError, requestCacheKey, servableAnswerCheck } from "../functions/cache";
import type { InvalidAnswer, ReadThroughCache } from "../functions/cache";
import { DEFAULT_LIMITS, JSON_CONTENT_TYPE, RequestLimits, errorJson } from "../functions/platform/http";
import { describeError, jsonLineLog } from "../functions/platform/log";
import type { LambdaInvocationInfo, LogFn, LogLevel, PlainAnswer, RequestInfo, RuntimeKind } from "../functions/platform/types";
import { DEFAULT_ROUTE_OPTIONS, Route, RouteOptions, itemCacheRequest, itemUpstreamUrl, parseQueryString, resolveRoute, stripBasePath } from "./routes";

export { jsonLineLog, logEnabled } from "../functions/platform/log";
export type { LambdaInvocationInfo, LogFn, LogLevel, PlainAnswer, RuntimeKind };

/** Everything the app needs, injected. */
export interface ApiDeps {
  /** The read-through cache (the platform's `ctx.cache`, or functions/cache `createTwoTierCache`). */
  cache: Pick<ReadThroughCache, "getOrLoad">;
  /** Upstream base URL; items are read from `${upstreamUrl}${upstreamItemPath}?lang=`. */
  upstreamUrl: string;
  /** Path of an item below `upstreamUrl`, holding `{id}` once. Default "/items/{id}". */
  upstreamItemPath?: string;
  /** Which runtime this app answers for (reported by /runtime and the `x-served-by` header). */
  runtime: RuntimeKind;
  /** Cache key namespace (1-64 of [A-Za-z0-9_.-]). Default "api". */
  namespace?: string;
  /** Upper bound of one upstream request, ms (the cache's own budget may make it shorter). Default 3000. */
  upstreamTimeoutMs?: number;
  /**
   * Media types an item may have (the upstream's answer, and what is read back from the cache): anything
   * else is a 502 from the upstream, a miss from the cache (never served). Default application/json,
   * text/plain, application/octet-stream.
   */
  allowedContentTypes?: readonly string[];
  /** Largest upstream body read, bytes (streamed; beyond it the request is cut and answered 502). Default 5 MiB. */
  upstreamMaxBodyBytes?: number;
  /** Freshness of a cached item, s. Default 300. */
  ttlSeconds?: number;
  /** How long past freshness an item may still be served when the upstream fails, s. Default 3600. */
  staleTtlSeconds?: number;
  /** `/slow` and `/items` parameter rules. */
  routeOptions?: Partial<RouteOptions>;
  /** Request limits (body, headers, path). */
  limits?: Partial<RequestLimits>;
  /** Identifies this instance in /runtime. Default: a random UUID per app. */
  instanceId?: string;
  /** Log sink. Default: JSON lines on stdout/stderr for warn and error. */
  log?: LogFn;
  /**
   * Request counter shared with another entry point of the same instance (the container's fast
   * path), so /runtime's requestNumber and coldStart count every request. Default: the app's own.
   */
  stats?: InstanceStats;
}

/** Identity and request count of one app instance. Mutated, never reassigned. */
export interface InstanceStats {
  id: string;
  startedAt: number;
  requests: number;
}

/**
 * Per-request facts (Hono `Bindings`): the platform's {@link RequestInfo}, plus `draining` for a
 * caller that runs the app outside the platform's adapters (the platform answers /health itself).
 */
export type RequestEnv = Partial<RequestInfo> & { draining?: boolean };

/** What /items stores in the cache: the upstream answer, as served. */
export interface CachedUpstreamAnswer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Decide the client-facing answer to an upstream failure (pure). The cache library gives 502
 * (failed / non-2xx) or 504 (timed out); an upstream 404 is a missing item, not a failure.
 * The upstream's own error text is logged, not sent (it can name internal hosts).
 */
export function upstreamFailure(statusCode: 502 | 503 | 504, upstreamStatus?: number, invalidAnswer?: InvalidAnswer): { status: number; code: string; message: string } {
  if (invalidAnswer === "too-large") return { status: 502, code: "upstream_error", message: "the upstream's answer is larger than this API accepts" };
  if (invalidAnswer === "content-type") return { status: 502, code: "upstream_error", message: "the upstream answered a content type this API does not serve" };
  if (upstreamStatus === 404 || upstreamStatus === 410) return { status: 404, code: "item_not_found", message: "the upstream has no such item" };
  if (statusCode === 503) return { status: 503, code: "upstream_unavailable", message: "the upstream is unavailable right now and no copy is cached; retry after the time in Retry-After" };
  if (statusCode === 504) return { status: 504, code: "upstream_timeout", message: "the upstream did not answer in time" };
  return {
    status: 502,
    code: "upstream_error",
    message: upstreamStatus ? `the upstream answered ${upstreamStatus}` : "the upstream could not be reached",
  };
}

/**
 * Decide /slow against the deadline (pure): sleeping past the deadline would only end in a Lambda
 * timeout (an opaque 502 from the ALB), so refuse up front.
 */
export function slowFitsDeadline(ms: number, now: number, deadline: number | undefined): boolean {
  return deadline === undefined || now + ms <= deadline;
}

/** Sleep `ms`, or less when `signal` aborts (the client went away). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    // Declared before use: Pulumi's closure analysis rejects a reference to a later `const`.
    const pending: { timer?: ReturnType<typeof setTimeout>; onAbort?: () => void } = {};
    pending.onAbort = (): void => {
      clearTimeout(pending.timer);
      resolve();
    };
    pending.timer = setTimeout(() => {
      if (pending.onAbort) signal?.removeEventListener("abort", pending.onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", pending.onAbort, { once: true });
  });
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": JSON_CONTENT_TYPE, ...headers } });
}

function errorResponse(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(errorJson(code, message), {
    status,
    headers: { "content-type": JSON_CONTENT_TYPE, "cache-control": "no-store", ...headers },
  });
}

/** Cache key of an item: the same for the answerer and for invalidation. Pure. */
export function itemCacheKey(namespace: string, id: string, lang: string): string {
  return requestCacheKey(namespace, itemCacheRequest(id, lang));
}

/**
 * Which cache key a path below the stage (as clients and `npm run invalidate --path` write it,
 * e.g. "/items/42?lang=de") is stored under, by the same route rules as a GET. Pure.
 */
export function cacheKeyForPath(
  path: string,
  options: { namespace?: string; basePath?: string; routeOptions?: Partial<RouteOptions>; limits?: Partial<RequestLimits> } = {},
): { ok: true; key: string; id: string; lang: string } | { ok: false; message: string } {
  if (typeof path !== "string" || !path.startsWith("/")) return { ok: false, message: "path must start with /" };
  const target = stripBasePath(path, options.basePath);
  const q = target.indexOf("?");
  const rawPath = q < 0 ? target : target.slice(0, q);
  const search = q < 0 ? "" : target.slice(q);
  const routeOptions: RouteOptions = { ...DEFAULT_ROUTE_OPTIONS, ...options.routeOptions };
  const limits: RequestLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const decision = resolveRoute("GET", rawPath, parseQueryString(search), routeOptions, limits);
  if (!decision.ok) return { ok: false, message: `${path}: ${decision.message}` };
  if (decision.route.kind !== "item") return { ok: false, message: `${path} is not a cached route (only /items/{id}[?lang=] is cached)` };
  return { ok: true, key: itemCacheKey(options.namespace ?? "api", decision.route.id, decision.route.lang), id: decision.route.id, lang: decision.route.lang };
}

/**
 * `GET /items/{id}?lang=` as plain data: read through the cache, upstream on a miss. Used by the
 * app (wrapped into a Response) and by the container's node:http fast path, so both answer alike.
 */
export function createItemAnswerer(deps: ApiDeps): (id: string, lang: string, deadline: number | undefined) => Promise<PlainAnswer> {
  const namespace = deps.namespace ?? "api";
  const upstreamTimeoutMs = deps.upstreamTimeoutMs ?? 3000;
  const ttlSeconds = deps.ttlSeconds ?? 300;
  const staleTtlSeconds = deps.staleTtlSeconds ?? 3600;
  const allowedContentTypes = [...(deps.allowedContentTypes ?? DEFAULT_ALLOWED_CONTENT_TYPES)];
  const maxBodyBytes = deps.upstreamMaxBodyBytes ?? UPSTREAM_MAX_BODY_BYTES;
  // Only answers of these types are served, from the upstream or from the cache (a stored text/html is a miss).
  const accept = servableAnswerCheck(allowedContentTypes);
  const log = deps.log ?? jsonLineLog;
  // The answerer runs per request: it uses only names bound here (see "Per-request code" in
  // functions/platform/server.ts).
  const { floor, max } = Math;
  // The key is a SHA-256 of the validated identity; hot items are asked for again and again, so keep
  // the last few thousand keys (mutated Map, never reassigned: it survives warm invocations).
  const keys = new Map<string, string>();
  const keyFor = (id: string, lang: string): string => {
    const memo = `${id}\u0000${lang}`;
    let key = keys.get(memo);
    if (!key) {
      key = itemCacheKey(namespace, id, lang);
      if (keys.size >= 4096) keys.clear();
      keys.set(memo, key);
    }
    return key;
  };
  return async (id, lang, deadline): Promise<PlainAnswer> => {
    try {
      const result = await deps.cache.getOrLoad<CachedUpstreamAnswer>(
        keyFor(id, lang),
        async (ctx) => {
          // Only a miss needs the upstream's URL.
          const url = itemUpstreamUrl(deps.upstreamUrl, id, lang, deps.upstreamItemPath);
          const answer = await fetchUpstream(url, {
            timeoutMs: Math.max(1, Math.min(ctx.timeoutMs, upstreamTimeoutMs)),
            signal: ctx.signal,
            headers: { accept: "application/json" },
            maxBodyBytes,
            allowedContentTypes,
          });
          return { status: answer.status, contentType: answer.contentType, body: answer.body };
        },
        { ttlSeconds, staleTtlSeconds, deadline, accept },
      );
      const value = result.value;
      const status = value.status >= 200 && value.status < 300 ? value.status : 200;
      return {
        status,
        headers: {
          "content-type": value.contentType || "application/octet-stream",
          "x-cache": result.source,
          age: `${max(0, floor(result.ageSeconds))}`,
          "x-served-by": deps.runtime,
          // The declared type is the only one: no browser may sniff a cached answer into HTML.
          "x-content-type-options": "nosniff",
        },
        // 204/205 may not carry a body (the Response constructor throws on one, even "").
        body: status === 204 || status === 205 ? null : value.body,
      };
    } catch (e) {
      if (!isUpstreamError(e)) throw e;
      const answer = upstreamFailure(e.statusCode, e.upstreamStatus, e.invalidAnswer);
      // Refusals (breaker open, shed) and cached errors are expected under load: debug, not warn
      // (the cache library logs breaker transitions and refusal counts itself).
      log(e.statusCode === 503 || e.cached ? "debug" : "warn", "upstream failure", { id, lang, status: answer.status, upstreamStatus: e.upstreamStatus, refused: e.refused, cached: e.cached, invalidAnswer: e.invalidAnswer, ...describeError(e, false) });
      const headers: Record<string, string> = { "content-type": JSON_CONTENT_TYPE, "cache-control": "no-store", "x-served-by": deps.runtime };
      if (answer.status === 503) headers["retry-after"] = String(Math.max(1, e.retryAfterSeconds ?? 1));
      if (e.cached) headers["x-cache"] = "NEGATIVE";
      return { status: answer.status, headers, body: errorJson(answer.code, answer.message) };
    }
  };
}

/** The app. Each call builds an independent instance (own counters, own instance id). */
export function createApp(deps: ApiDeps): Hono<{ Bindings: RequestEnv }> {
  const routeOptions: RouteOptions = { ...DEFAULT_ROUTE_OPTIONS, ...deps.routeOptions };
  routeOptions.slowDefaultMs = Math.min(routeOptions.slowDefaultMs, routeOptions.slowMaxMs);
  const limits: RequestLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const log = deps.log ?? jsonLineLog;
  const instance: InstanceStats = deps.stats ?? { id: deps.instanceId ?? randomUUID(), startedAt: Date.now(), requests: 0 };
  const answerItem = createItemAnswerer(deps);
  const servedBy = { "x-served-by": deps.runtime };

  const handleRoute = async (route: Route, req: Request, env: RequestEnv, requestNumber: number): Promise<Response> => {
    switch (route.kind) {
      case "health":
        // Never slow, touches nothing: a load balancer probe must not depend on the cache or upstream.
        return env.draining
          ? json(503, { status: "draining" }, { "cache-control": "no-store" })
          : json(200, { status: "ok" }, { "cache-control": "no-store" });
      case "runtime": {
        const now = Date.now();
        return json(200, {
          runtime: deps.runtime,
          coldStart: requestNumber === 1,
          instanceId: instance.id,
          startedAt: new Date(instance.startedAt).toISOString(),
          uptimeMs: now - instance.startedAt,
          requestNumber,
          node: process.version,
          region: process.env.AWS_REGION ?? null,
          ...(deps.runtime === "lambda"
            ? { lambda: env.lambda ?? {} }
            : { container: { pid: process.pid, hostname: process.env.HOSTNAME ?? null } }),
        }, { "cache-control": "no-store" });
      }
      case "slow": {
        const now = Date.now();
        if (!slowFitsDeadline(route.ms, now, env.deadline)) {
          const left = Math.max(0, (env.deadline ?? now) - now);
          return errorResponse(503, "deadline_too_short", `ms=${route.ms} cannot finish before this request's deadline (${left} ms left)`);
        }
        await sleep(route.ms, req.signal);
        return json(200, { sleptMs: route.ms }, { "cache-control": "no-store" });
      }
      case "item": {
        const answer = await answerItem(route.id, route.lang, env.deadline);
        return new Response(answer.body, { status: answer.status, headers: answer.headers });
      }
    }
  };

  const app = new Hono<{ Bindings: RequestEnv }>();
  app.onError((err, c) => {
    log("error", "unhandled error", { method: c.req.method, path: c.req.path, ...describeError(err, true) });
    return errorResponse(500, "internal_error", "internal error; the request was logged");
  });
  app.all("*", async (c) => {
    const req = c.req.raw;
    const env: RequestEnv = c.env ?? {};
    // Body size, the base path and /health are the platform's (both runtimes), before the app.
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return errorResponse(400, "bad_path", "request URL cannot be parsed", servedBy);
    }
    if (url.search.length > limits.maxQueryLength + 1) {
      return errorResponse(414, "uri_too_long", `query string is longer than ${limits.maxQueryLength} characters`, servedBy);
    }
    const decision = resolveRoute(req.method, url.pathname, parseQueryString(url.search), routeOptions, limits);
    if (!decision.ok) return errorResponse(decision.status, decision.code, decision.message, { ...decision.headers, ...servedBy });
    instance.requests += 1;
    const res = await handleRoute(decision.route, req, env, instance.requests);
    if (!res.headers.has("x-served-by")) res.headers.set("x-served-by", deps.runtime);
    return res;
  });
  return app;
}

/**
 * Requests the node:http fast path may answer: a bodiless GET/HEAD of an item whose URL holds only
 * plain characters (no percent-escapes, dot segments or odd bytes, so no URL normalisation can
 * change its meaning). Anything else goes through the app's `fetch`.
 */
const FAST_ITEM_URL = /^\/items\/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}(\?[A-Za-z0-9_.=&-]{0,256})?$/;

/**
 * The app's optional `fastPath` (FetchApp, container only): cache hits are most of the traffic;
 * serving them straight from node:http skips building a fetch Request/Response per request (about 7x
 * the CPU of a bare server). Same answerer as the app's, same answers. `stats` must be the app's.
 */
export function createItemFastPath(deps: ApiDeps & { stats: InstanceStats }): (method: "GET" | "HEAD", url: string, info: RequestInfo) => Promise<PlainAnswer> | undefined {
  const answerItem = createItemAnswerer(deps);
  const routeOptions: RouteOptions = { ...DEFAULT_ROUTE_OPTIONS, ...deps.routeOptions };
  routeOptions.slowDefaultMs = Math.min(routeOptions.slowDefaultMs, routeOptions.slowMaxMs);
  const limits: RequestLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const stats = deps.stats;
  // Per request: only names bound here (see "Per-request code" in functions/platform/server.ts).
  const fastItemUrl = FAST_ITEM_URL;
  // Hot URLs repeat: remember their validated route (a pure function of method and URL).
  const fastRoutes = new Map<string, { kind: "item"; id: string; lang: string }>();
  return (method, url, info) => {
    const memoKey = `${method} ${url}`;
    let route = fastRoutes.get(memoKey);
    if (!route) {
      // A remembered URL passed this test when it was remembered.
      if (!fastItemUrl.test(url)) return;
      const q = url.indexOf("?");
      const decision = resolveRoute(method, q < 0 ? url : url.slice(0, q), parseQueryString(q < 0 ? "" : url.slice(q)), routeOptions, limits);
      if (!decision.ok || decision.route.kind !== "item") return;
      route = decision.route;
      if (fastRoutes.size >= 4096) fastRoutes.clear();
      fastRoutes.set(memoKey, route);
    }
    stats.requests += 1;
    return answerItem(route.id, route.lang, info.deadline);
  };
}
