/**
 * The container adapter, for any app: the app's web-standard `fetch` on Node's http server (through
 * @hono/node-server's request listener, loaded only here so a Lambda cold start never pays for it),
 * with what is the platform's for every app: API_BASE_PATH, /health (503 while draining), request
 * limits (413/414 and Node's own 431/400 as JSON), the deadline (504), `x-served-by`, the app's
 * optional node:http fast path, and a graceful close for SIGTERM.
 *
 * Per-request code. Both runtimes run this module as Pulumi's closure serializer wrote it (the
 * Lambda's and the image's `__index.js`). There every module-level function is a wrapper that builds
 * the function anew, inside a `with (captured names)` scope, at each call; and every name a function
 * does not declare itself (imports, module-level constants, globals such as `Date`, `Buffer`,
 * `String`, `Math`, even `undefined`) is looked up through that scope at each use, a dynamic lookup
 * V8 cannot cache. A cached item cost 10 such calls and 36 such lookups per request, more CPU than
 * the rest of our code. So the code that runs per request (the listener, `platformFirst`,
 * `infoFor`, the answer writer, and the app's fast path and the cache's L1 hit they call) uses only
 * names its factory bound once at start-up: closures made there, constants (`now = Date.now`),
 * `typeof x === "undefined"` rather than `x === undefined`. Module-level helpers stay on the rare
 * paths (errors, limits, /health). test/functions/platform/serializedHotPath.test.ts counts both on
 * the serialized fast path.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { randomUUID } from "node:crypto";
import { DEADLINE_GRACE_MS, beforeDeadline } from "./deadline";
import { DEFAULT_LIMITS, HEALTH_PATH, JSON_CONTENT_TYPE, RequestLimits, basePathStripper, errorJson, healthAnswer, statusText, targetProblem } from "./http";
import { bodyTooLarge } from "./alb";
import { describeError, jsonLineLog } from "./log";
import type { FetchApp, LogFn, PlainAnswer, RequestInfo, RuntimeKind } from "./types";

/** Writes a {@link PlainAnswer} (with `x-served-by: servedBy` unless it has one): made once per server. */
type PlainWriter = (res: http.ServerResponse, answer: PlainAnswer, head: boolean) => void;

function plainWriter(servedBy: RuntimeKind): PlainWriter {
  const byteLength = Buffer.byteLength;
  return (res, answer, head) => {
    if (res.headersSent || res.destroyed) return;
    const body = answer.body ?? "";
    // One header object for writeHead (no setHeader before it: merging the two is the slow path of node:http).
    res.writeHead(answer.status, { "x-served-by": servedBy, ...answer.headers, "content-length": `${byteLength(body)}` });
    if (head) res.end();
    else res.end(body);
  };
}

function errorAnswer(status: number, code: string, message: string, headers: Record<string, string> = {}): PlainAnswer {
  return { status, headers: { "content-type": JSON_CONTENT_TYPE, "cache-control": "no-store", ...headers }, body: errorJson(code, message) };
}

export interface ContainerDeps {
  /** The app (already built by its factory). */
  app: FetchApp;
  /** Prefix the front door puts before every path (API_BASE_PATH), removed before anything else. */
  basePath?: string;
  /** Request limits (body, headers, path, query). Default {@link DEFAULT_LIMITS}. */
  limits?: Partial<RequestLimits>;
  /** Log sink. Default: JSON lines. */
  log?: LogFn;
  /** Budget of one request (the app's `info.deadline`), ms. Default 10000. */
  requestTimeoutMs?: number;
  /** Reported runtime (`x-served-by`, `info.runtime`). Default "container". */
  runtime?: RuntimeKind;
}

/**
 * True when the request body is within `max` bytes, for a body without a declared length (chunked);
 * returns the bytes read so the app can still read them. A declared length was checked before.
 */
async function readChunkedBody(req: Request, max: number): Promise<Uint8Array | undefined> {
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export interface ContainerServerOptions {
  /** Interface to listen on. Default "0.0.0.0" (all IPv4, as a container port mapping needs). */
  hostname?: string;
  /**
   * Let @hono/node-server replace the global Request/Response with its lighter ones. Default false:
   * its Response answers a string body with `text/plain; charset=UTF-8` where the runtime's own (the
   * Lambda's) says `text/plain;charset=UTF-8`, so apps would answer differently in the two runtimes
   * (found by test/components/hybridArtifacts.test.ts). Hot paths belong in the app's `fastPath`.
   */
  overrideGlobalObjects?: boolean;
  /** Keep-alive idle timeout, ms: above the ALB's 60 s idle timeout, so the ALB closes first. Default 65000. */
  keepAliveTimeoutMs?: number;
}

export interface ContainerServer {
  readonly port: number;
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly server: http.Server;
  /** True once {@link close} has begun. */
  readonly draining: boolean;
  /**
   * Stop accepting, let in-flight requests finish (responses carry `connection: close`), close idle
   * keep-alive sockets, force-close whatever remains after `graceMs` (default 10000).
   */
  close(graceMs?: number): Promise<void>;
}

/** The raw HTTP/1.1 answer for a request Node's parser refused (pure). */
export function clientErrorResponse(code: string | undefined): { status: number; raw: string } | undefined {
  if (code === "ECONNRESET" || code === "EPIPE") return undefined;
  let status = 400;
  let errCode = "bad_request";
  let message = "malformed HTTP request";
  if (code === "HPE_HEADER_OVERFLOW") {
    status = 431;
    errCode = "headers_too_large";
    message = "request headers are too large";
  } else if (code === "ERR_HTTP_REQUEST_TIMEOUT" || code === "HPE_REQUEST_TIMEOUT") {
    status = 408;
    errCode = "request_timeout";
    message = "the request was not received in time";
  } else if (code === "HPE_URI_OVERFLOW") {
    status = 414;
    errCode = "uri_too_long";
    message = "request URI is too long";
  }
  const body = errorJson(errCode, message);
  const raw =
    `HTTP/1.1 ${status} ${statusText(status)}\r\n` +
    `content-type: ${JSON_CONTENT_TYPE}\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    "cache-control: no-store\r\nx-served-by: container\r\nconnection: close\r\n\r\n" +
    body;
  return { status, raw };
}

/** Make the connection of `res` close after it (when its headers are not out yet). */
function endAfterResponse(res: http.ServerResponse): void {
  if (res.headersSent) return;
  res.setHeader("connection", "close");
  res.shouldKeepAlive = false;
}

/** Start the app on `port` (0 = any free port). Resolves once listening. */
export async function startContainerServer(deps: ContainerDeps, port = 8080, options: ContainerServerOptions = {}): Promise<ContainerServer> {
  // Loaded here, not at module level: the same serialized code is the Lambda's, which never needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: the Lambda runs the same code and never needs it
  const { getRequestListener } = require("@hono/node-server") as typeof import("@hono/node-server");
  const limits: RequestLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const log = deps.log ?? jsonLineLog;
  const runtime = deps.runtime ?? "container";
  const app = deps.app;
  const requestTimeoutMs = deps.requestTimeoutMs ?? 10000;
  const state = { draining: false };
  /** Responses not finished yet: told to close their connection when draining starts. */
  const inflight = new Set<http.ServerResponse>();
  // Bound once for the per-request code (see "Per-request code" above).
  const now = Date.now;
  const newRequestId = randomUUID;
  const writePlain = plainWriter(runtime);
  const healthPath = HEALTH_PATH;
  const stripBase = deps.basePath ? basePathStripper(deps.basePath) : undefined;
  /** A request target no longer than this is within both the path and the query limit. */
  const shortTarget = Math.min(limits.maxPathLength, limits.maxQueryLength);
  const infoFor = (): RequestInfo => ({ deadline: now() + requestTimeoutMs, requestId: newRequestId(), runtime });
  const internalError = (): Response => new Response(errorJson("internal_error", "internal error; the request was logged"), {
    status: 500,
    headers: { "content-type": JSON_CONTENT_TYPE, "cache-control": "no-store" },
  });

  const listener = getRequestListener(
    async (req, bindings) => {
      const outgoing = bindings.outgoing instanceof http.ServerResponse ? bindings.outgoing : undefined;
      let request = req;
      // A body without a declared length (chunked): read up to the limit (a declared one was checked before).
      if (req.method !== "GET" && req.method !== "HEAD" && req.headers.get("content-length") === null && req.headers.get("transfer-encoding") !== null) {
        const body = await readChunkedBody(req, limits.maxBodyBytes);
        if (body === undefined) {
          // Answered before the body was read: the connection cannot be reused (the client may still be sending).
          if (outgoing) endAfterResponse(outgoing);
          const d = bodyTooLarge(limits);
          return new Response(errorJson(d.code, d.message), { status: d.status, headers: { "content-type": JSON_CONTENT_TYPE, "cache-control": "no-store" } });
        }
        const headers = new Headers(req.headers);
        headers.delete("transfer-encoding");
        headers.set("content-length", String(body.byteLength));
        request = new Request(req.url, { method: req.method, headers, body });
      }
      const info = infoFor();
      try {
        const answered = await beforeDeadline(Promise.resolve(app.fetch(request, info)), info.deadline + DEADLINE_GRACE_MS);
        if (answered.late) {
          log("error", "the app did not answer before the deadline", { method: req.method, url: req.url, requestId: info.requestId });
          if (outgoing) endAfterResponse(outgoing);
          return new Response(errorJson("deadline_exceeded", "the request did not finish in time"), { status: 504, headers: { "content-type": JSON_CONTENT_TYPE, "cache-control": "no-store" } });
        }
        return answered.value;
      } catch (e) {
        log("error", "handler failure", describeError(e, true));
        return internalError();
      }
    },
    {
      overrideGlobalObjects: options.overrideGlobalObjects ?? false,
      // Node could not turn the request into a Request (bad Host, bad URL...): a client error.
      errorHandler: (err) => {
        const message = err instanceof Error && err.name === "RequestError" ? err.message : "the request could not be processed";
        const status = err instanceof Error && err.name === "RequestError" ? 400 : 500;
        if (status === 500) log("error", "request failed", { error: err instanceof Error ? err.message : String(err) });
        return new Response(errorJson(status === 400 ? "bad_request" : "internal_error", message), {
          status,
          headers: { "content-type": JSON_CONTENT_TYPE, "cache-control": "no-store" },
        });
      },
    },
  );

  /** What the platform answers itself, before the app (limits, /health), or the app's fast path. */
  const platformFirst = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const method = req.method ?? "GET";
    const head = method === "HEAD";
    const declared = req.headers["content-length"];
    const hasBody = typeof declared !== "undefined" || typeof req.headers["transfer-encoding"] !== "undefined";
    if (typeof declared !== "undefined" && /^[0-9]+$/.test(declared) && Number(declared) > limits.maxBodyBytes) {
      const d = bodyTooLarge(limits);
      endAfterResponse(res);
      writePlain(res, errorAnswer(d.status, d.code, d.message), head);
      return true;
    }
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const rawPath = q < 0 ? url : url.slice(0, q);
    if (url.length > shortTarget) {
      const tooLong = targetProblem(rawPath, q < 0 ? "" : url.slice(q + 1), limits);
      if (tooLong) {
        writePlain(res, errorAnswer(tooLong.status, tooLong.code, tooLong.message), head);
        return true;
      }
    }
    if (rawPath === healthPath) {
      const health = healthAnswer(method, rawPath, state.draining);
      if (health) {
        writePlain(res, health, head);
        return true;
      }
    }
    if (!app.fastPath || (method !== "GET" && method !== "HEAD") || hasBody) return false;
    const info = infoFor();
    let pending: Promise<PlainAnswer> | undefined;
    try {
      pending = app.fastPath(method, url, info);
    } catch (err) {
      // A fast path that throws instead of rejecting must cost one request a 500, not the process.
      fastPathFailed(res, head, err);
      return true;
    }
    if (!pending) return false;
    pending.then(
      (answer) => writePlain(res, answer, head),
      (err: unknown) => fastPathFailed(res, head, err),
    );
    return true;
  };

  const keepAliveTimeout = options.keepAliveTimeoutMs ?? 65000;
  const server = http.createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      keepAliveTimeout,
      headersTimeout: keepAliveTimeout + 1000,
      // Time to receive a whole request (not to answer it); must be >= headersTimeout.
      requestTimeout: Math.max(keepAliveTimeout + 1000, 120000),
    },
    (req, res) => {
      inflight.add(res);
      res.on("close", responseClosed);
      if (state.draining) endAfterResponse(res);
      if (stripBase && req.url) req.url = stripBase(req.url);
      if (platformFirst(req, res)) return;
      // Every answer says which runtime gave it (an app's own x-served-by wins: writeHead's headers do).
      res.setHeader("x-served-by", runtime);
      void listener(req, res);
    },
  );
  function fastPathFailed(res: http.ServerResponse, head: boolean, err: unknown): void {
    log("error", "request failed", describeError(err, true));
    writePlain(res, errorAnswer(500, "internal_error", "internal error; the request was logged"), head);
  }
  /** The 'close' of every response: one function for all (nothing made per request). */
  function responseClosed(this: http.ServerResponse): void {
    inflight.delete(this);
    // A keep-alive socket that just became idle during draining would hold close() open.
    if (state.draining) setImmediate(() => server.closeIdleConnections());
  }
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    const answer = clientErrorResponse(err.code);
    const sent = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (!answer || !socket.writable || sent) {
      socket.destroy();
      return;
    }
    socket.end(answer.raw);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, options.hostname ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.address === "0.0.0.0" || address.address === "::" ? "127.0.0.1" : address.address;
  let closing: Promise<void> | undefined;

  return {
    port: address.port,
    url: `http://${host}:${address.port}`,
    server,
    get draining() {
      return state.draining;
    },
    close(graceMs = 10000) {
      if (closing) return closing;
      state.draining = true;
      for (const res of inflight) endAfterResponse(res);
      closing = new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
