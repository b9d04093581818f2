import { isAllowedContentType } from "./contentTypes";
import { createUpstreamError, isTimeoutLike, isUpstreamError, type UpstreamError } from "./errors";

/** Default cap of an upstream body (bytes, after decompression): 5 MiB. */
export const UPSTREAM_MAX_BODY_BYTES = 5 * 1024 * 1024;

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
  /**
   * Largest body accepted, in bytes after decompression. The body is streamed and counted; beyond the
   * cap the request is aborted (nothing more is read) and an UpstreamError 502 (`invalidAnswer:
   * "too-large"`) thrown. A declared content-length over the cap fails before any byte is read.
   * Default {@link UPSTREAM_MAX_BODY_BYTES} (5 MiB).
   */
  maxBodyBytes?: number;
  /**
   * Media types accepted (see contentTypes.ts); an accepted status with another content type is an
   * UpstreamError 502 (`invalidAnswer: "content-type"`), read no further. Default: any.
   */
  allowedContentTypes?: readonly string[];
  /**
   * Follow redirects (got's, up to 10 hops). Off by default: a redirect could lead outside the base URL
   * the handlers checked (another path, another origin inside the VPC); a 3xx is then a non-accepted
   * status (502). Default false.
   */
  followRedirects?: boolean;
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
 * 502, timeouts -> 504. The body is streamed with a byte cap (`maxBodyBytes`): an oversized answer is
 * cut off and fails with 502, it is never buffered whole.
 */
export async function fetchUpstream(url: string, options: FetchUpstreamOptions): Promise<UpstreamResponse> {
  const timeoutMs = Math.floor(options.timeoutMs);
  if (!(timeoutMs > 0)) throw createUpstreamError(504, `no time left to call upstream ${url}`);
  if (options.signal?.aborted) throw upstreamErrorFromGot(undefined, url, options.signal);
  const maxBytes = Math.max(0, Math.floor(options.maxBodyBytes ?? UPSTREAM_MAX_BODY_BYTES));
  const accept = options.acceptStatus ?? isAccepted;
  const allowed = options.allowedContentTypes;
  const { default: got } = await import("got");
  return new Promise<UpstreamResponse>((resolve, reject) => {
    const chunks: Buffer[] = [];
    // Mutated, never reassigned (declared before the closures that use it).
    const st = { settled: false, bytes: 0, status: 0, contentType: "application/octet-stream" };
    const stream = got.stream(url, {
      method: "GET",
      headers: options.headers,
      signal: options.signal,
      timeout: { request: timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: options.followRedirects === true,
    });
    const fail = (err: UpstreamError): void => {
      if (st.settled) return;
      st.settled = true;
      chunks.length = 0;
      stream.destroy();
      reject(err);
    };
    const tooLarge = (what: string): UpstreamError =>
      createUpstreamError(502, `upstream ${url} answered ${what}, over the ${maxBytes}-byte cap`, { upstreamStatus: st.status, invalidAnswer: "too-large" });
    stream.on("response", (res: { statusCode: number; headers: Record<string, string | string[] | undefined> }) => {
      st.status = res.statusCode;
      if (!accept(res.statusCode)) return fail(createUpstreamError(502, `upstream ${url} answered ${res.statusCode}`, { upstreamStatus: res.statusCode }));
      const ct = res.headers["content-type"];
      if (typeof ct === "string" && ct) st.contentType = ct;
      if (allowed && !isAllowedContentType(st.contentType, allowed)) {
        return fail(createUpstreamError(502, `upstream ${url} answered content type ${JSON.stringify(st.contentType.slice(0, 100))}, not one of ${allowed.join(", ")}`, { upstreamStatus: res.statusCode, invalidAnswer: "content-type" }));
      }
      const declared = res.headers["content-length"];
      const encoded = res.headers["content-encoding"];
      // A declared length counts only for an identity body (a compressed one is counted as it inflates).
      if (typeof declared === "string" && /^[0-9]+$/.test(declared) && (!encoded || encoded === "identity") && Number(declared) > maxBytes) {
        return fail(tooLarge(`${declared} bytes`));
      }
    });
    stream.on("data", (chunk: Buffer) => {
      if (st.settled) return;
      st.bytes += chunk.length;
      if (st.bytes > maxBytes) return fail(tooLarge(`more than ${st.bytes - chunk.length} bytes`));
      chunks.push(chunk);
    });
    stream.on("end", () => {
      if (st.settled) return;
      st.settled = true;
      resolve({ status: st.status, contentType: st.contentType, body: Buffer.concat(chunks, st.bytes).toString("utf8") });
    });
    stream.on("error", (err: unknown) => fail(upstreamErrorFromGot(err, url, options.signal)));
  });
}
