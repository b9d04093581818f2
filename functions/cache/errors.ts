/**
 * The one error the cache layer lets escape: "the upstream could not give us an answer and there was
 * nothing stale to serve". It is a plain `Error` with extra fields (no class, no `instanceof`): the
 * library is serialized by value into Lambda code by Pulumi, so a class identity does not survive the
 * boundary, while a duck-typed check (`isUpstreamError`) always does.
 */
export interface UpstreamError extends Error {
  name: "UpstreamError";
  /**
   * HTTP status the handler should answer with: 502 = upstream failed / answered non-2xx, 504 =
   * upstream timed out, 503 = the upstream was not called (circuit breaker open, or shed by the
   * bulkhead) and nothing stale was kept: answer with `Retry-After: retryAfterSeconds`.
   */
  statusCode: 502 | 503 | 504;
  /** HTTP status the upstream answered with, when it answered at all. */
  upstreamStatus?: number;
  /** 503 only: seconds after which a retry may succeed (>= 1). */
  retryAfterSeconds?: number;
  /** 503 only: why the upstream was not called. */
  refused?: "breaker-open" | "shed";
  /** True when this error was answered from a negative cache entry (the upstream was not called). */
  cached?: boolean;
  /** 502 only: the upstream answered, but the answer was refused (body over the size cap, or a content type the app does not serve). */
  invalidAnswer?: InvalidAnswer;
  /** Underlying error (got error, loader exception, ...). */
  cause?: unknown;
}

/** Why an upstream answer was refused. */
export type InvalidAnswer = "too-large" | "content-type";

/** Options of {@link createUpstreamError}. */
export interface UpstreamErrorOptions {
  /** Status the upstream answered with (kept for logs; not sent to clients). Default: none. */
  upstreamStatus?: number;
  /** 503: seconds until a retry may succeed. Default: none. */
  retryAfterSeconds?: number;
  /** 503: why the upstream was not called. Default: none. */
  refused?: "breaker-open" | "shed";
  /** Answered from a negative cache entry. Default: false. */
  cached?: boolean;
  /** 502: the answer was refused (too large, or not an allowed content type). Default: none. */
  invalidAnswer?: InvalidAnswer;
  /** The error that caused this one. Default: none. */
  cause?: unknown;
}

/** Create an {@link UpstreamError} (a real `Error`, so stack traces and loggers work). */
export function createUpstreamError(statusCode: 502 | 503 | 504, message: string, options: UpstreamErrorOptions = {}): UpstreamError {
  const err = new Error(message) as UpstreamError;
  err.name = "UpstreamError";
  err.statusCode = statusCode;
  if (options.upstreamStatus !== undefined) err.upstreamStatus = options.upstreamStatus;
  if (options.retryAfterSeconds !== undefined) err.retryAfterSeconds = Math.max(1, Math.ceil(options.retryAfterSeconds));
  if (options.refused !== undefined) err.refused = options.refused;
  if (options.cached) err.cached = true;
  if (options.invalidAnswer !== undefined) err.invalidAnswer = options.invalidAnswer;
  if (options.cause !== undefined) err.cause = options.cause;
  return err;
}

/** Type guard that works across module copies / serialized closures (checks shape, not prototype). */
export function isUpstreamError(e: unknown): e is UpstreamError {
  if (typeof e !== "object" || e === null) return false;
  const x = e as { name?: unknown; statusCode?: unknown };
  return x.name === "UpstreamError" && (x.statusCode === 502 || x.statusCode === 503 || x.statusCode === 504);
}

/** True when `e` looks like a timeout / abort-by-timeout error from got, undici, AbortSignal.timeout or our own timer. */
export function isTimeoutLike(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const x = e as { name?: unknown; code?: unknown };
  return x.name === "TimeoutError" || x.code === "ETIMEDOUT" || x.code === "ERR_TIMEOUT" || x.code === "UND_ERR_CONNECT_TIMEOUT";
}

/**
 * Map anything a loader threw to an {@link UpstreamError}: an UpstreamError stays as it is, timeouts
 * become 504, everything else 502. Pure.
 */
export function toUpstreamError(e: unknown, fallbackMessage = "upstream request failed"): UpstreamError {
  if (isUpstreamError(e)) return e;
  if (isTimeoutLike(e)) {
    return createUpstreamError(504, `upstream timed out: ${messageOf(e) || fallbackMessage}`, { cause: e });
  }
  return createUpstreamError(502, `${fallbackMessage}: ${messageOf(e) || String(e)}`, { cause: e });
}

function messageOf(e: unknown): string {
  return typeof e === "object" && e !== null && typeof (e as { message?: unknown }).message === "string"
    ? (e as { message: string }).message
    : "";
}
