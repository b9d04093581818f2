/**
 * HTTP vocabulary of the platform (both adapters) and the demo app: status texts, the JSON error body, limits,
 * the base path, the health route.
 * Pure: no I/O, no Node-only APIs, no classes (serialized by value into the Lambda by Pulumi).
 */

/** `{ "error": { "code", "message" } }`: the only error shape the API answers with. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** A decision to answer with an error, before any I/O. */
export interface ErrorDecision {
  ok: false;
  status: number;
  code: string;
  message: string;
  /** Extra response headers (e.g. `allow` on 405). */
  headers?: Record<string, string>;
}

/** Limits both runtimes enforce the same way (so the container and the Lambda answer alike). */
export interface RequestLimits {
  /** Largest request body accepted, bytes. The ALB refuses more than 1 MB for a Lambda target anyway. */
  maxBodyBytes: number;
  /** Largest header block accepted (names + values), bytes. */
  maxHeaderBytes: number;
  /** Longest request path (before the query string), characters. */
  maxPathLength: number;
  /** Longest query string, characters. */
  maxQueryLength: number;
}

export const DEFAULT_LIMITS: RequestLimits = {
  maxBodyBytes: 1024 * 1024,
  maxHeaderBytes: 32 * 1024,
  maxPathLength: 2048,
  maxQueryLength: 4096,
};

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Reason phrase of a status code ("" when unknown). */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? "";
}

/** ALB `statusDescription`: "200 OK"; a status without a known phrase still gets a generic one. */
export function statusDescription(status: number): string {
  const text = STATUS_TEXT[status];
  if (text) return `${status} ${text}`;
  const generic = status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : status >= 300 ? "Redirection" : status >= 200 ? "Success" : "Informational";
  return `${status} ${generic}`;
}

/** The JSON text of an error body. */
export function errorJson(code: string, message: string): string {
  const body: ApiErrorBody = { error: { code, message } };
  return JSON.stringify(body);
}

/** Build an {@link ErrorDecision}. */
export function fail(status: number, code: string, message: string, headers?: Record<string, string>): ErrorDecision {
  return headers ? { ok: false, status, code, message, headers } : { ok: false, status, code, message };
}

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

const BASE_PATH = /^\/[A-Za-z0-9_-]{1,128}$/;

/**
 * Validate a base path the front door adds before every route (API Gateway sends the stage,
 * "/dev", in front of the path over a private integration). Error text, or undefined when valid.
 */
export function basePathProblem(basePath: string): string | undefined {
  return BASE_PATH.test(basePath) ? undefined : "must be \"/\" followed by 1 to 128 letters, digits, \"-\" or \"_\" (e.g. /dev)";
}

/**
 * Remove `basePath` from the front of a raw request target (path with or without query), when it
 * is there as whole segment(s): "/dev/items/1?x" -> "/items/1?x", "/dev" -> "/", "/devices" stays.
 * A request without the prefix (the ALB called directly) is returned unchanged. Pure.
 */
export function stripBasePath(target: string, basePath: string | undefined): string {
  return basePath ? basePathStripper(basePath)(target) : target;
}

/**
 * {@link stripBasePath} for one base path, as a closure made once (per server or handler) for the
 * per-request code: see "Per-request code" in server.ts. Pure.
 */
export function basePathStripper(basePath: string): (target: string) => string {
  const length = basePath.length;
  return (target) => {
    if (!target.startsWith(basePath)) return target;
    const rest = target.slice(length);
    if (rest === "") return "/";
    // "/dev//items" if the stage and the URI's path are joined with a slash each: one is enough.
    if (rest.startsWith("/")) return rest.replace(/^\/{2,}/, "/");
    if (rest.startsWith("?")) return `/${rest}`;
    return target;
  };
}

/** The load balancers' probe path, answered by the platform before any app (both target groups). */
export const HEALTH_PATH = "/health";

/**
 * The platform's answer to `/health` (after the base path is removed), or undefined for any other
 * path. Never slow, touches nothing (no cache, no upstream, no app): GET/HEAD 200 `{"status":"ok"}`,
 * 503 `{"status":"draining"}` while a container shuts down, 405 for other methods. Pure.
 */
export function healthAnswer(method: string, rawPath: string, draining: boolean): { status: number; headers: Record<string, string>; body: string } | undefined {
  if (rawPath !== HEALTH_PATH) return undefined;
  if (method !== "GET" && method !== "HEAD") {
    return { status: 405, headers: { "content-type": JSON_CONTENT_TYPE, "cache-control": "no-store", allow: "GET, HEAD" }, body: errorJson("method_not_allowed", `method ${method} is not allowed here; use GET or HEAD`) };
  }
  return draining
    ? { status: 503, headers: { "content-type": JSON_CONTENT_TYPE, "cache-control": "no-store" }, body: JSON.stringify({ status: "draining" }) }
    : { status: 200, headers: { "content-type": JSON_CONTENT_TYPE, "cache-control": "no-store" }, body: JSON.stringify({ status: "ok" }) };
}

/**
 * The request-target limits both runtimes apply before the app (pure): path longer than
 * `maxPathLength` or query longer than `maxQueryLength` → 414. `rawQuery` without "?".
 */
export function targetProblem(rawPath: string, rawQuery: string, limits: RequestLimits): ErrorDecision | undefined {
  if (rawPath.length > limits.maxPathLength) return fail(414, "uri_too_long", `request path is longer than ${limits.maxPathLength} characters`);
  if (rawQuery.length > limits.maxQueryLength) return fail(414, "uri_too_long", `query string is longer than ${limits.maxQueryLength} characters`);
  return undefined;
}
