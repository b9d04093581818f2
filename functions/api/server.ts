/**
 * The container entry's HTTP server: the same app on Node's http server through @hono/node-server,
 * with JSON answers for what Node itself rejects (oversized headers, malformed requests) and a
 * graceful close for SIGTERM.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { getRequestListener } from "@hono/node-server";
import { randomUUID } from "node:crypto";
import { ApiDeps, InstanceStats, PlainAnswer, RequestEnv, createApp, createItemAnswerer, jsonLineLog } from "./app";
import { DEFAULT_LIMITS, JSON_CONTENT_TYPE, RequestLimits, errorJson, statusText } from "./http";
import { DEFAULT_ROUTE_OPTIONS, RouteOptions, parseQueryString, resolveRoute, stripBasePath } from "./routes";

/**
 * Requests the node:http fast path may answer: a bodiless GET/HEAD of an item whose URL holds only
 * plain characters (no percent-escapes, dot segments or odd bytes, so no URL normalisation can
 * change its meaning). Anything else goes through the app.
 */
const FAST_ITEM_URL = /^\/items\/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}(\?[A-Za-z0-9_.=&-]{0,256})?$/;

function writePlain(res: http.ServerResponse, answer: PlainAnswer, head: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const body = answer.body ?? "";
  res.writeHead(answer.status, { ...answer.headers, "content-length": String(Buffer.byteLength(body)) });
  res.end(head ? undefined : body);
}

export interface ContainerDeps extends Omit<ApiDeps, "runtime"> {
  /** Reported runtime. Default "container". */
  runtime?: ApiDeps["runtime"];
  /** Budget of one request (the cache deadline), ms. Default 10000. */
  requestTimeoutMs?: number;
}

export interface ContainerServerOptions {
  /** Interface to listen on. Default "0.0.0.0" (all IPv4, as a container port mapping needs). */
  hostname?: string;
  /**
   * Let @hono/node-server replace the global Request/Response with its faster ones. Default true
   * (production); in-process tests pass false so other code in the process sees the real globals.
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
  const limits: RequestLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const log = deps.log ?? jsonLineLog;
  const runtime = deps.runtime ?? "container";
  const stats: InstanceStats = { id: deps.instanceId ?? randomUUID(), startedAt: Date.now(), requests: 0 };
  const app = createApp({ ...deps, runtime, log, stats });
  // Cache hits are most of the traffic; serving them straight from node:http skips building a fetch
  // Request/Response per request (about 7x the CPU of a bare server). Same answerer as the app's.
  const answerItem = createItemAnswerer({ ...deps, runtime, log });
  const routeOptions: RouteOptions = { ...DEFAULT_ROUTE_OPTIONS, ...deps.routeOptions };
  routeOptions.slowDefaultMs = Math.min(routeOptions.slowDefaultMs, routeOptions.slowMaxMs);
  const fastRoutes = new Map<string, { kind: "item"; id: string; lang: string }>();
  const fastItem = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const method = req.method;
    const url = req.url ?? "";
    if ((method !== "GET" && method !== "HEAD") || req.headers["content-length"] !== undefined ||
      req.headers["transfer-encoding"] !== undefined || !FAST_ITEM_URL.test(url)) return false;
    // Hot URLs repeat: remember their validated route (a pure function of method and URL).
    const memoKey = `${method} ${url}`;
    let route = fastRoutes.get(memoKey);
    if (route === undefined) {
      const q = url.indexOf("?");
      const decision = resolveRoute(method, q < 0 ? url : url.slice(0, q), parseQueryString(q < 0 ? "" : url.slice(q)), routeOptions, limits);
      if (!decision.ok || decision.route.kind !== "item") return false;
      route = decision.route;
      if (fastRoutes.size >= 4096) fastRoutes.clear();
      fastRoutes.set(memoKey, route);
    }
    stats.requests += 1;
    answerItem(route.id, route.lang, Date.now() + requestTimeoutMs).then(
      (answer) => writePlain(res, answer, method === "HEAD"),
      (err: unknown) => {
        log("error", "request failed", { error: err instanceof Error ? err.message : String(err) });
        writePlain(res, {
          status: 500,
          headers: { "content-type": JSON_CONTENT_TYPE, "cache-control": "no-store", "x-served-by": runtime },
          body: errorJson("internal_error", "internal error; the request was logged"),
        }, method === "HEAD");
      },
    );
    return true;
  };
  const requestTimeoutMs = deps.requestTimeoutMs ?? 10000;
  const state = { draining: false };
  /** Responses not finished yet: told to close their connection when draining starts. */
  const inflight = new Set<http.ServerResponse>();

  const listener = getRequestListener(
    async (req, bindings) => {
      const res = await app.fetch(req, { deadline: Date.now() + requestTimeoutMs, draining: state.draining } satisfies RequestEnv);
      // Answered before the body was read: the connection cannot be reused (the client may still be sending).
      if (res.status === 413 && bindings.outgoing instanceof http.ServerResponse) endAfterResponse(bindings.outgoing);
      return res;
    },
    {
      overrideGlobalObjects: options.overrideGlobalObjects ?? true,
      // Node could not turn the request into a Request (bad Host, bad URL...): a client error.
      errorHandler: (err) => {
        const message = err instanceof Error && err.name === "RequestError" ? err.message : "the request could not be processed";
        const status = err instanceof Error && err.name === "RequestError" ? 400 : 500;
        if (status === 500) log("error", "request failed", { error: err instanceof Error ? err.message : String(err) });
        return new Response(errorJson(status === 400 ? "bad_request" : "internal_error", message), {
          status,
          headers: { "content-type": JSON_CONTENT_TYPE, "cache-control": "no-store", "x-served-by": deps.runtime ?? "container" },
        });
      },
    },
  );

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
      res.once("close", () => {
        inflight.delete(res);
        // A keep-alive socket that just became idle during draining would hold close() open.
        if (state.draining) setImmediate(() => server.closeIdleConnections());
      });
      if (state.draining) endAfterResponse(res);
      if (deps.basePath && req.url) req.url = stripBasePath(req.url, deps.basePath);
      if (fastItem(req, res)) return;
      void listener(req, res);
    },
  );
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
