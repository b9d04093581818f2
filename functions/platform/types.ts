/**
 * The contract between the platform (this directory: ALB and container adapters, cache, limits,
 * health, drain) and an app brought to HybridLambdaFargateService.
 *
 * An app is a factory: `(ctx) => ({ fetch(request, info) })`. The factory runs once per execution
 * environment (Lambda cold start) or container process; `fetch` runs per request and is a
 * web-standard fetch handler, so a Hono app fits unchanged (`return app`: Hono calls
 * `app.fetch(request, env)` and handlers read `info` as `c.env`), and so does a plain function.
 *
 * Both runtimes run the same serialized closure of the factory (see functions/platform/entry.ts).
 * Keep the factory's code serializable by Pulumi: no classes of your own captured by value, no
 * module-level mutable state (keep per-instance state inside the factory's scope), packages
 * imported by name (they are `require`d from the archive's node_modules; declare them in
 * `appPackages`).
 */
import type { TwoTierCache } from "../cache";

/** Which runtime answers: the ALB Lambda target or the container (Fargate, or `npm start`). */
export type RuntimeKind = "lambda" | "container";

/** The project's log level and log function (functions/cache/log.ts). */
import type { LogFn, LogLevel } from "../cache/log";
export type { LogFn, LogLevel };

/**
 * The two-tier cache (in-process L1 + memcached L2, functions/cache) in the app's namespace
 * (CACHE_NAMESPACE, default "api"), created by the platform once per execution environment / process.
 * The platform owns its life cycle (it closes it when a container drains), hence no `close`.
 */
export type AppCache = Omit<TwoTierCache, "close">;

/** What the platform gives the app factory. */
export interface AppContext {
  /** The two-tier cache of the app's namespace: `ctx.cache.getOrLoad(key, loader, options)`. */
  cache: AppCache;
  /** The platform's logger (JSON lines, LOG_LEVEL threshold): use it so both runtimes log in one style. */
  log: LogFn;
  /** Where this instance runs. */
  runtime: RuntimeKind;
  /**
   * The environment: the platform's variables plus the component's `appEnvironment` (the same in
   * both runtimes). Read it in the factory, once; a bad value should throw there (the Lambda's
   * init fails, the container exits 78, naming the variable).
   */
  env: Readonly<Record<string, string | undefined>>;
}

/** Facts about one request the platform knows and the app does not (second argument of `fetch`; Hono's `c.env`). */
export interface RequestInfo {
  /**
   * Epoch ms by which the answer must be out: Lambda = now + remaining time − DEADLINE_MARGIN_MS;
   * container = now + REQUEST_TIMEOUT_MS. Pass it to `ctx.cache.getOrLoad(..., { deadline })`. An app
   * still running at the deadline (plus a short grace) is answered 504 `deadline_exceeded` by the platform.
   */
  deadline: number;
  /** The Lambda request id, or a random UUID per request in the container. */
  requestId: string;
  runtime: RuntimeKind;
  /** Lambda only: facts from the invocation context (reported by the demo app's /runtime). */
  lambda?: LambdaInvocationInfo;
}

export interface LambdaInvocationInfo {
  awsRequestId?: string;
  functionName?: string;
  functionVersion?: string;
  logStreamName?: string;
  memoryLimitInMB?: string;
}

/** An HTTP answer as plain data (no fetch Response), for {@link FetchApp.fastPath}. */
export interface PlainAnswer {
  status: number;
  headers: Record<string, string>;
  /** null when the status may carry no body (204/205). */
  body: string | null;
}

/** Result of {@link FetchApp.cacheKeyForPath}. `notCached`: the path is valid but not cached by this app (nothing to delete). */
export type CacheKeyForPath = { ok: true; key: string } | { ok: false; message: string; notCached?: boolean };

/** What an app factory returns. Only `fetch` is required. */
export interface FetchApp {
  /**
   * Answer one request. The platform has already: removed API_BASE_PATH, answered `/health`, refused
   * oversized or malformed requests (413/414/431/400), and it shapes the answer for the ALB (status
   * description, non-empty headers, base64 for binary, > 1 MB bodies to S3 + 303) or writes it to the
   * socket. The request URL's origin is fixed (`http://lambda.internal` / the Host header): route on
   * the path. A thrown error is answered 500 `internal_error` (logged with its stack).
   */
  fetch(request: Request, info: RequestInfo): Response | Promise<Response>;
  /**
   * Optional, for `npm run invalidate --path` and the direct-invocation control event: the cache key
   * the app stores a GET of `path` (below the stage, with query) under. Without it, an invalidation
   * by path finds nothing to delete here (a flush of the whole namespace always works).
   */
  cacheKeyForPath?(path: string): CacheKeyForPath;
  /**
   * Optional, container only: answer a bodiless GET/HEAD straight from node:http, skipping the fetch
   * Request/Response objects (hot cache hits cost several times less CPU). Return undefined to let
   * `fetch` answer. `url` is the raw request target after API_BASE_PATH was removed. Must answer
   * exactly what `fetch` would.
   */
  fastPath?(method: "GET" | "HEAD", url: string, info: RequestInfo): Promise<PlainAnswer> | undefined;
}

/**
 * The app as the component takes it (`app:`): runs once per Lambda execution environment or
 * container process, may be async (e.g. to read a parameter first).
 */
export type AppFactory = (ctx: AppContext) => FetchApp | Promise<FetchApp>;
