/**
 * The ALB Lambda adapter, for any app: `createLambdaHandler(deps)` runs once per execution
 * environment (inside Pulumi's `callbackFactory`) and returns the per-invocation handler. It sits on
 * the app's web-standard `fetch` (see docs/api.md for why not `hono/aws-lambda`) and applies what
 * is the platform's for every app: the control event, request limits, API_BASE_PATH, /health, the
 * deadline, the ALB response shape, and > 1 MB bodies to S3 + 303.
 */
import { randomUUID } from "node:crypto";
import { CONTROL_EVENT_FIELD, parseControlEvent, runControlRequest, type ControlResponse } from "../cache";
import { AlbResult, albError as albErrorResult, albFormOf, albResultBytes, parseAlbEvent, shapeAlbResult } from "./alb";
import { DEADLINE_GRACE_MS, beforeDeadline, lambdaDeadline } from "./deadline";
import { DEFAULT_LIMITS, ErrorDecision, RequestLimits, basePathStripper, fail, healthAnswer, stripBasePath } from "./http";
import { ALB_MAX_RESPONSE_BYTES, LargeResponseOptions, LargeResponseStore, createLargeResponseStore, mustOffload, redirectParts } from "./largeResponse";
import { describeError, jsonLineLog } from "./log";
import type { CacheKeyForPath, FetchApp, LambdaInvocationInfo, LogFn, RequestInfo } from "./types";

export { lambdaDeadline } from "./deadline";

/** The parts of the Lambda context the handler reads. */
export interface LambdaContextLike {
  getRemainingTimeInMillis?: () => number;
  awsRequestId?: string;
  functionName?: string;
  functionVersion?: string;
  logStreamName?: string;
  memoryLimitInMB?: string;
}

export type AlbHandler = (event: unknown, context?: LambdaContextLike) => Promise<AlbResult>;

/** The function's handler: an ALB result for HTTP events, a {@link ControlResponse} for a direct control invocation. */
export type ApiLambdaHandler = (event: unknown, context?: LambdaContextLike) => Promise<AlbResult | ControlResponse>;

export interface LambdaDeps {
  /** The app, or the promise of it (an async factory): awaited by the first request. */
  app: FetchApp | Promise<FetchApp>;
  /** The environment's cache: what a control event invalidates or flushes. */
  cache?: unknown;
  /** Prefix the front door puts before every path (API_BASE_PATH), removed before anything else. */
  basePath?: string;
  /** Request limits (body, headers, path, query). Default {@link DEFAULT_LIMITS}. */
  limits?: Partial<RequestLimits>;
  /** Log sink. Default: JSON lines. */
  log?: LogFn;
  /** Kept free before the Lambda timeout for answering (the app's deadline is remaining time minus this). Default 500 ms. */
  deadlineMarginMs?: number;
  /** Budget when the context tells no remaining time (tests, local calls), ms. Default 10000. */
  defaultBudgetMs?: number;
  /** Where bodies over the ALB limit go (S3); without it they are answered 500 response_too_large. */
  largeResponses?: LargeResponseOptions | LargeResponseStore;
  /** ALB limit on the response JSON. Default {@link ALB_MAX_RESPONSE_BYTES}. */
  maxResponseBytes?: number;
  /** Called at the end of every invocation (writes pending EMF metrics). Default: none. */
  flushMetrics?: () => void;
}

function remainingTime(context: LambdaContextLike | undefined): number | undefined {
  try {
    const v = context?.getRemainingTimeInMillis?.();
    return typeof v === "number" ? v : undefined;
  } catch {
    return undefined;
  }
}

function invocationInfo(context: LambdaContextLike | undefined): LambdaInvocationInfo {
  const c = context ?? {};
  const info: LambdaInvocationInfo = {};
  if (typeof c.awsRequestId === "string") info.awsRequestId = c.awsRequestId;
  if (typeof c.functionName === "string") info.functionName = c.functionName;
  if (typeof c.functionVersion === "string") info.functionVersion = c.functionVersion;
  if (typeof c.logStreamName === "string") info.logStreamName = c.logStreamName;
  if (typeof c.memoryLimitInMB === "string") info.memoryLimitInMB = c.memoryLimitInMB;
  return info;
}

/**
 * Build the ALB handler. Call it once per execution environment (in the `callbackFactory`): the app,
 * its cache client and the S3 client live as long as the environment.
 */
export function createLambdaHandler(deps: LambdaDeps): AlbHandler {
  const limits: RequestLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const log = deps.log ?? jsonLineLog;
  const margin = deps.deadlineMarginMs ?? 500;
  const defaultBudgetMs = deps.defaultBudgetMs ?? 10000;
  const maxResponseBytes = deps.maxResponseBytes ?? ALB_MAX_RESPONSE_BYTES;
  const lr = deps.largeResponses;
  const stripBase = deps.basePath ? basePathStripper(deps.basePath) : undefined;
  const store: LargeResponseStore | undefined = lr === undefined ? undefined : "store" in lr ? lr : createLargeResponseStore(lr);
  // Held in an object (mutated, never reassigned) so the resolved app survives warm invocations.
  const held: { app?: FetchApp } = {};
  const appReady = Promise.resolve(deps.app).then((app) => {
    held.app = app;
    return app;
  });
  // An async factory that fails is reported by the first request (500) and logged; never unhandled.
  appReady.catch(() => undefined);

  return async (event, context) => {
    const form = albFormOf(event);
    const albError = (d: Pick<ErrorDecision, "status" | "code" | "message" | "headers">): AlbResult =>
      albErrorResult({ ...d, headers: { ...d.headers, "x-served-by": "lambda" } }, form);
    try {
      // A control event is executed only from a direct invocation (createApiHandler); one that
      // arrives inside an HTTP event is refused, never executed.
      if (parseControlEvent(event).kind === "forbidden") {
        log("warn", "control field in an HTTP event refused", { field: CONTROL_EVENT_FIELD });
        return albError(fail(403, "forbidden", "control events are accepted only by direct invocation"));
      }
      const parsed = parseAlbEvent(event, limits);
      if (!parsed.ok) return albError(parsed);
      const path = stripBase ? stripBase(parsed.path) : parsed.path;
      const head = parsed.method === "HEAD";
      const health = healthAnswer(parsed.method, path, false);
      if (health) {
        const pairs = Object.entries(health.headers);
        pairs.push(["x-served-by", "lambda"]);
        return shapeAlbResult({ status: health.status, headers: pairs, body: Buffer.from(health.body) }, form, { head });
      }
      const query = parsed.rawQuery ? `?${parsed.rawQuery}` : "";
      // A fixed origin: the route never depends on the Host header, and a hostile Host cannot break the URL.
      const url = `http://lambda.internal${path.replace(/#/g, "%23")}${query}`;
      const headers = new Headers();
      for (const [name, value] of parsed.headers) headers.append(name, value);
      let request: Request;
      try {
        const hasBody = parsed.body !== undefined && parsed.method !== "GET" && parsed.method !== "HEAD";
        request = new Request(url, hasBody ? { method: parsed.method, headers, body: parsed.body } : { method: parsed.method, headers });
      } catch (e) {
        return albError(fail(400, "bad_request", `the request cannot be represented: ${e instanceof Error ? e.message : String(e)}`));
      }
      const now = Date.now();
      const lambda = invocationInfo(context);
      const info: RequestInfo = {
        deadline: lambdaDeadline(now, remainingTime(context), margin) ?? now + defaultBudgetMs,
        requestId: lambda.awsRequestId ?? randomUUID(),
        runtime: "lambda",
        lambda,
      };
      const app = held.app ?? (await appReady);
      const answered = await beforeDeadline((async () => {
        const response = await app.fetch(request, info);
        return { response, body: new Uint8Array(await response.arrayBuffer()) };
      })(), info.deadline + DEADLINE_GRACE_MS);
      if (answered.late) {
        log("error", "the app did not answer before the deadline", { method: parsed.method, path, requestId: info.requestId });
        return albError(fail(504, "deadline_exceeded", "the request did not finish in time"));
      }
      const { response, body } = answered.value;
      const pairs: Array<[string, string]> = [];
      let servedBy = false;
      response.headers.forEach((value, name) => {
        if (name === "x-served-by") servedBy = true;
        if (name !== "set-cookie") pairs.push([name, value]);
      });
      for (const cookie of response.headers.getSetCookie()) pairs.push(["set-cookie", cookie]);
      if (!servedBy) pairs.push(["x-served-by", "lambda"]);
      const result = shapeAlbResult({ status: response.status, headers: pairs, body }, form, { head });
      const size = albResultBytes(result);
      if (!mustOffload(size, maxResponseBytes)) return result;

      // Too large for the ALB: only a successful answer can be handed over as a redirect.
      if (response.status < 200 || response.status > 299) {
        log("error", "oversized error response", { status: response.status, bytes: size });
        return albError(fail(500, "response_too_large", "the response is larger than the load balancer accepts"));
      }
      if (!store) {
        log("error", "oversized response and no LARGE_RESPONSE_BUCKET", { bytes: size });
        return albError(fail(500, "response_too_large", "the response is larger than 1 MB and no large-response bucket is configured"));
      }
      try {
        const stored = await store.store(body, {
          contentType: response.headers.get("content-type") ?? "application/octet-stream",
          contentEncoding: response.headers.get("content-encoding") ?? undefined,
        });
        log("info", "large response stored", { bucket: stored.bucket, key: stored.key, bytes: body.length });
        const redirect = redirectParts(stored);
        redirect.headers.push(["x-served-by", "lambda"]);
        return shapeAlbResult(redirect, form);
      } catch (e) {
        log("error", "large response store failed", { error: e instanceof Error ? e.message : String(e) });
        return albError(fail(502, "large_response_failed", "the response is larger than 1 MB and could not be stored for download"));
      }
    } catch (e) {
      log("error", "handler failure", describeError(e, true));
      return albError(fail(500, "internal_error", "internal error; the request was logged"));
    }
  };
}

/**
 * The function's handler (Pulumi `callbackFactory`): a direct invocation carrying a control event
 * (`{ "serverlessCacheControl": { "action": "invalidate", "path": "/items/42?lang=de" } }` or
 * `{ ..., "action": "flush" }`) invalidates the cache; everything else is an ALB request. Why a
 * client cannot send a control event: see functions/cache/invalidation.ts. A path is mapped to its
 * key by the app's `cacheKeyForPath` (without one, nothing is cached by path: nothing to delete).
 */
export function createApiHandler(deps: LambdaDeps): ApiLambdaHandler {
  const alb = createLambdaHandler(deps);
  const log = deps.log ?? jsonLineLog;
  const margin = deps.deadlineMarginMs ?? 500;
  const appReady = Promise.resolve(deps.app);
  appReady.catch(() => undefined);
  return async (event, context) => {
    try {
      const control = parseControlEvent(event);
      if (control.kind === "invalid") {
        log("warn", "malformed control event", { error: control.error });
        return { ok: false, action: "unknown", nodes: [], boundMs: 0, settleMs: 0, error: control.error };
      }
      if (control.kind === "control") {
        const app = await appReady;
        const keyForPath = (path: string): CacheKeyForPath => {
          const k: CacheKeyForPath = app.cacheKeyForPath
            ? app.cacheKeyForPath(stripBasePath(path, deps.basePath))
            : { ok: false, message: `${path}: the app maps no path to a cache key` };
          return k.ok ? k : { ok: false, message: `${k.message}: not cached by this function, nothing to delete here`, notCached: true };
        };
        const response = await runControlRequest(control.request, deps.cache, keyForPath, lambdaDeadline(Date.now(), remainingTime(context), margin));
        log(response.ok ? "info" : "warn", "cache control event", { ...response, requestId: context?.awsRequestId });
        return response;
      }
      return await alb(event, context);
    } finally {
      try {
        deps.flushMetrics?.();
      } catch {
        // metrics must never fail an invocation
      }
    }
  };
}
