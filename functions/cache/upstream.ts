import { createUpstreamError, isTimeoutLike, isUpstreamError, type UpstreamError } from "./errors";

/** Options of {@link fetchUpstream}. */
export interface FetchUpstreamOptions {
  /** Hard limit for the whole request (connect + response), ms. Use LoaderContext.timeoutMs. <= 0 fails at once with 504. */
  timeoutMs: number;
  /** Request headers. Default: none. */
  headers?: Record<string, string>;
  /** Abort signal (use LoaderContext.signal). An abort is a 504 (or the UpstreamError given as the abort reason). Default: none. */
  signal?: AbortSignal;
  /** Which statuses count as an answer; anything else throws an UpstreamError 502. Default: 200-299. */
  acceptStatus?: (status: number) => boolean;
}

export interface UpstreamResponse {
  status: number;
  /** The upstream's content-type, or "application/octet-stream" when it sent none. */
  contentType: string;
  body: string;
}

function isAccepted(status: number): boolean {
  return status >= 200 && status < 300;
}

/** Map an error from got to an UpstreamError (pure). */
export function upstreamErrorFromGot(err: unknown, url: string, signal?: AbortSignal): UpstreamError {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (isUpstreamError(reason)) return reason;
    return createUpstreamError(504, `upstream request to ${url} aborted`, { cause: err });
  }
  if (isUpstreamError(err)) return err;
  if (isTimeoutLike(err)) return createUpstreamError(504, `upstream ${url} timed out`, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return createUpstreamError(502, `upstream ${url} failed: ${message}`, { cause: err });
}

/**
 * GET `url` with got, for use as a getOrLoad loader. got (ESM-only) is loaded on first use with a
 * real dynamic `import()`, so processes that only ever hit the cache never load it. No retries (a
 * retry could only run past the deadline); non-accepted statuses (default: non-2xx) -> UpstreamError
 * 502, timeouts -> 504.
 */
export async function fetchUpstream(url: string, options: FetchUpstreamOptions): Promise<UpstreamResponse> {
  const timeoutMs = Math.floor(options.timeoutMs);
  if (!(timeoutMs > 0)) throw createUpstreamError(504, `no time left to call upstream ${url}`);
  if (options.signal?.aborted) throw upstreamErrorFromGot(undefined, url, options.signal);
  const { default: got } = await import("got");
  let response;
  try {
    response = await got(url, {
      method: "GET",
      headers: options.headers,
      signal: options.signal,
      timeout: { request: timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      responseType: "text",
    });
  } catch (err) {
    throw upstreamErrorFromGot(err, url, options.signal);
  }
  const status = response.statusCode;
  if (!(options.acceptStatus ?? isAccepted)(status)) {
    throw createUpstreamError(502, `upstream ${url} answered ${status}`, { upstreamStatus: status });
  }
  const ct = response.headers["content-type"];
  return { status, contentType: typeof ct === "string" && ct ? ct : "application/octet-stream", body: response.body };
}
