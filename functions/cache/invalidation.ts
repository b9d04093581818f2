/**
 * The control event: how `npm run invalidate` reaches the cache of every execution environment.
 *
 * The operator's CLI invokes the function directly (lambda:InvokeFunction, an IAM permission) with
 *
 *   { "serverlessCacheControl": { "action": "invalidate", "path": "/items/42?lang=de" } }
 *   { "serverlessCacheControl": { "action": "flush" } }
 *
 * The one environment that receives it deletes the key from every memcached node (or bumps the
 * namespace generation on every node); every other environment stops serving the value within the
 * L1 max age (see generation.ts). Its answer tells the CLI that bound.
 *
 * Why a client cannot forge it: every event the ALB sends to a Lambda target is built by the ALB and
 * always carries `requestContext.elb` (plus httpMethod, path, headers); a client controls only the
 * HTTP request inside it, never the event's top-level fields. A control event is accepted only when
 * the event has no `requestContext`, no `httpMethod` and no headers at all, i.e. when it came from a
 * direct invocation, which needs lambda:InvokeFunction on the function (the function's resource
 * policy lets only the ALB's target group invoke it; operators get it through IAM). An event that
 * carries the control field *and* looks like an HTTP event is refused (403), never executed.
 *
 * Pure, except runControlRequest, which only calls the cache it is given.
 */
import type { InvalidatableCache } from "./readThrough";

/** Top-level field of a control event. */
export const CONTROL_EVENT_FIELD = "serverlessCacheControl";

/** Longest path accepted in a control event. */
const MAX_CONTROL_PATH = 4096;

export type ControlRequest = { action: "invalidate"; path: string } | { action: "flush" };

export type ControlEventParse =
  /** Not a control event: handle it as before. */
  | { kind: "none" }
  | { kind: "control"; request: ControlRequest }
  /** A direct invocation with a malformed control field: answer with the error, do nothing. */
  | { kind: "invalid"; error: string }
  /** The control field inside an HTTP-shaped event (ALB, API Gateway, function URL): refuse. */
  | { kind: "forbidden"; error: string };

/** What the function answers to a control event (and the CLI prints). */
export interface ControlResponse {
  ok: boolean;
  action: "invalidate" | "flush" | "unknown";
  path?: string;
  /** Per memcached node: deleted / missing / error (invalidate), stored / error (flush). */
  nodes: { node: string; result: string }[];
  /** flush: the namespace generation now in force. */
  generation?: number;
  /** invalidate: why nothing was deleted (the path is not cached by this function). */
  note?: string;
  /** ms after which no execution environment serves the invalidated value (the L1 max age). */
  boundMs: number;
  /** Longest a load runs (ms): a load that started before the invalidation may store the old value until then. */
  settleMs: number;
  error?: string;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/**
 * True when the event cannot have come from the ALB, API Gateway or a function URL: no
 * `requestContext`, no `httpMethod`, no (multi-value) headers. Pure.
 */
export function isDirectInvocation(event: unknown): boolean {
  if (!isObject(event)) return false;
  return !["requestContext", "httpMethod", "headers", "multiValueHeaders", "rawPath"].some((k) => k in event);
}

/** Classify an incoming event. Pure. */
export function parseControlEvent(event: unknown): ControlEventParse {
  if (!isObject(event) || !Object.prototype.hasOwnProperty.call(event, CONTROL_EVENT_FIELD)) return { kind: "none" };
  if (!isDirectInvocation(event)) {
    return { kind: "forbidden", error: `${CONTROL_EVENT_FIELD} is accepted only from a direct invocation (lambda:InvokeFunction), never inside an HTTP event` };
  }
  const c = event[CONTROL_EVENT_FIELD];
  if (!isObject(c)) return { kind: "invalid", error: `${CONTROL_EVENT_FIELD} must be an object` };
  if (c.action === "flush") return { kind: "control", request: { action: "flush" } };
  if (c.action === "invalidate") {
    const path = c.path;
    if (typeof path !== "string" || !path.startsWith("/") || path.length > MAX_CONTROL_PATH || /[\u0000-\u0020\u007f]/.test(path)) {
      return { kind: "invalid", error: `${CONTROL_EVENT_FIELD}.path must be a URL-encoded path starting with / (at most ${MAX_CONTROL_PATH} characters)` };
    }
    return { kind: "control", request: { action: "invalidate", path } };
  }
  return { kind: "invalid", error: `${CONTROL_EVENT_FIELD}.action must be "invalidate" or "flush"` };
}

/** A cache that offers invalidation (duck-typed: works across serialized copies). */
export function isInvalidatable(cache: unknown): cache is InvalidatableCache {
  return isObject(cache) && typeof cache.invalidate === "function" && typeof cache.flush === "function";
}

/**
 * Carry out a control request on this environment's cache. `keyForPath` maps a path to the cache
 * key the handler stores it under (the same function its GET uses).
 */
export async function runControlRequest(
  request: ControlRequest,
  cache: unknown,
  keyForPath: (path: string) => { ok: true; key: string } | { ok: false; message: string; notCached?: boolean },
  deadline: number | undefined,
): Promise<ControlResponse> {
  if (!isInvalidatable(cache)) {
    return { ok: false, action: request.action, nodes: [], boundMs: 0, settleMs: 0, error: "this function's cache cannot be invalidated" };
  }
  const timing = { boundMs: cache.invalidationBoundMs, settleMs: cache.loaderTimeoutMs };
  const opts = deadline === undefined ? {} : { deadline };
  if (request.action === "flush") {
    const r = await cache.flush(opts);
    return { ok: r.ok, action: "flush", nodes: r.nodes, generation: r.generation, ...timing, ...(r.ok ? {} : { error: failedNodes(r.nodes) }) };
  }
  const k = keyForPath(request.path);
  // A path this function does not cache has nothing here to delete; the other layers may still hold it.
  if (!k.ok && k.notCached) return { ok: true, action: "invalidate", path: request.path, nodes: [], ...timing, note: k.message };
  if (!k.ok) return { ok: false, action: "invalidate", path: request.path, nodes: [], ...timing, error: k.message };
  const r = await cache.invalidate(k.key, opts);
  return { ok: r.ok, action: "invalidate", path: request.path, nodes: r.nodes, ...timing, ...(r.ok ? {} : { error: failedNodes(r.nodes) }) };
}

function failedNodes(nodes: { node: string; result: string }[]): string {
  const bad = nodes.filter((n) => n.result === "error").map((n) => n.node);
  return bad.length > 0
    ? `memcached node(s) ${bad.join(", ")} did not answer: entries there may still be served once they are reachable again; retry`
    : "no memcached node is known (discovery has not finished); retry";
}
