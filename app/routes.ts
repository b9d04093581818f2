/**
 * Routing and validation of the API, as plain functions over (method, raw path, query): no I/O.
 * Both runtimes (container server and ALB Lambda) go through {@link resolveRoute}, so a request is
 * judged the same way wherever it lands.
 */
import { DEFAULT_LIMITS, ErrorDecision, RequestLimits, fail } from "../functions/platform/http";

/** Query parameters as every value given (repeated keys keep every value, in order). */
export type QueryMap = Record<string, string[]>;

export type Route =
  | { kind: "health" }
  | { kind: "runtime" }
  | { kind: "item"; id: string; lang: string }
  | { kind: "slow"; ms: number };

export type RouteDecision = { ok: true; route: Route; head: boolean } | ErrorDecision;

export interface RouteOptions {
  /** Upper bound of `/slow?ms=`. */
  slowMaxMs: number;
  /** `/slow` without `ms`. */
  slowDefaultMs: number;
  /** `/items/{id}` without `lang`. */
  defaultLang: string;
  /**
   * Serve the test routes `/slow` and `/runtime` (API_DEBUG_ROUTES). When false they are unknown
   * routes: 404, the same answer as any other path. Default true; prod turns them off.
   */
  debugRoutes?: boolean;
}

export const DEFAULT_ROUTE_OPTIONS: RouteOptions = { slowMaxMs: 5000, slowDefaultMs: 1000, defaultLang: "en", debugRoutes: true };

export const ALLOWED_METHODS = "GET, HEAD";

const ITEM_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** A language tag of the simple form the upstream understands: `en`, `pt-BR`, `es-419`, `gsw`. */
const LANG = /^([A-Za-z]{2,3})(?:-([A-Za-z]{2}|[0-9]{3}))?$/;
const DIGITS = /^[0-9]{1,7}$/;

/** Parse a raw query string (with or without the leading "?") into a {@link QueryMap}. Never throws. */
export function parseQueryString(search: string): QueryMap {
  const out: QueryMap = {};
  const text = search.startsWith("?") ? search.slice(1) : search;
  if (!text) return out;
  // URLSearchParams never throws: malformed escapes are kept literally (as every HTTP server does).
  for (const [key, value] of new URLSearchParams(text)) {
    // Own-property check: a client's "?constructor=" or "?__proto__=" must not reach Object.prototype.
    if (Object.prototype.hasOwnProperty.call(out, key)) out[key].push(value);
    else Object.defineProperty(out, key, { value: [value], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The single value of `name`: undefined when absent, an error when repeated. */
function single(query: QueryMap, name: string): { ok: true; value: string | undefined } | ErrorDecision {
  const values = Object.prototype.hasOwnProperty.call(query, name) ? query[name] : undefined;
  if (!values || values.length === 0) return { ok: true, value: undefined };
  if (values.length > 1) return fail(400, "invalid_query", `query parameter '${name}' was given ${values.length} times; give it once`);
  return { ok: true, value: values[0] };
}

/** Validate an item id (already percent-decoded). */
export function validateItemId(id: string): { ok: true; id: string } | ErrorDecision {
  if (!ITEM_ID.test(id)) {
    return fail(400, "invalid_id", "item id must be 1 to 64 characters of A-Z a-z 0-9 _ . - and start with a letter or digit");
  }
  return { ok: true, id };
}

/** Validate and normalise a `lang` value: `EN` -> `en`, `pt-br` -> `pt-BR`. */
export function normalizeLang(raw: string | undefined, defaultLang: string): { ok: true; lang: string } | ErrorDecision {
  if (raw === undefined) return { ok: true, lang: defaultLang };
  const m = LANG.exec(raw);
  if (!m) return fail(400, "invalid_lang", "lang must be a language tag such as en, de, pt-BR or es-419");
  const region = m[2] === undefined ? "" : `-${m[2].toUpperCase()}`;
  return { ok: true, lang: `${m[1].toLowerCase()}${region}` };
}

/** Validate `/slow?ms=`: an integer from 0 to `max` (never clamped: a wrong value is an error). */
export function parseSlowMs(raw: string | undefined, options: RouteOptions): { ok: true; ms: number } | ErrorDecision {
  if (raw === undefined) return { ok: true, ms: options.slowDefaultMs };
  if (!DIGITS.test(raw) || Number(raw) > options.slowMaxMs) {
    return fail(400, "invalid_ms", `ms must be an integer from 0 to ${options.slowMaxMs}`);
  }
  return { ok: true, ms: Number(raw) };
}

function decodeSegments(rawPath: string): string[] | undefined {
  const segments = rawPath.split("/").slice(1);
  const out: string[] = [];
  for (const s of segments) {
    try {
      out.push(decodeURIComponent(s));
    } catch {
      return undefined;
    }
  }
  return out;
}

/**
 * Decide what a request is: a route with validated parameters, or an error (404 unknown path,
 * 405 wrong method, 400 bad parameters, 414 too long). `rawPath` is the percent-encoded path as
 * received, without the query string. Unknown query parameters are ignored.
 */
export function resolveRoute(
  method: string,
  rawPath: string,
  query: QueryMap,
  options: RouteOptions = DEFAULT_ROUTE_OPTIONS,
  limits: RequestLimits = DEFAULT_LIMITS,
): RouteDecision {
  if (rawPath.length > limits.maxPathLength) {
    return fail(414, "uri_too_long", `request path is longer than ${limits.maxPathLength} characters`);
  }
  if (!rawPath.startsWith("/")) return fail(400, "bad_path", "request path must start with /");
  const segments = decodeSegments(rawPath);
  if (!segments) return fail(400, "bad_path", "request path has a malformed percent-escape");

  let pending: (() => RouteDecision) | undefined;
  const head = method === "HEAD";
  const debug = options.debugRoutes !== false;
  if (segments.length === 1 && segments[0] === "health") {
    pending = () => ({ ok: true, route: { kind: "health" }, head });
  } else if (debug && segments.length === 1 && segments[0] === "runtime") {
    pending = () => ({ ok: true, route: { kind: "runtime" }, head });
  } else if (debug && segments.length === 1 && segments[0] === "slow") {
    pending = () => {
      const ms = single(query, "ms");
      if (!ms.ok) return ms;
      const parsed = parseSlowMs(ms.value, options);
      return parsed.ok ? { ok: true, route: { kind: "slow", ms: parsed.ms }, head } : parsed;
    };
  } else if (segments.length === 2 && segments[0] === "items" && segments[1] !== "") {
    pending = () => {
      const id = validateItemId(segments[1]);
      if (!id.ok) return id;
      const langParam = single(query, "lang");
      if (!langParam.ok) return langParam;
      const lang = normalizeLang(langParam.value, options.defaultLang);
      return lang.ok ? { ok: true, route: { kind: "item", id: id.id, lang: lang.lang }, head } : lang;
    };
  }
  if (!pending) {
    return fail(404, "not_found", debug ? "no such route; try GET /health, /runtime, /items/{id}?lang= or /slow?ms=" : "no such route; try GET /health or /items/{id}?lang=");
  }
  if (method !== "GET" && method !== "HEAD") {
    return fail(405, "method_not_allowed", `method ${method} is not allowed here; use GET or HEAD`, { allow: ALLOWED_METHODS });
  }
  return pending();
}

/** The request identity the cache key is built from: validated parameters only (never raw query). */
export function itemCacheRequest(id: string, lang: string): { method: string; path: string; query: Record<string, string> } {
  return { method: "GET", path: `/items/${id}`, query: { lang } };
}

/** Where the upstream serves an item, below its base URL, unless configured otherwise. */
export const DEFAULT_ITEM_PATH = "/items/{id}";
const ITEM_PATH_TEMPLATE = /^(\/[A-Za-z0-9._~-]+)*\/([A-Za-z0-9._~-]*\{id\}[A-Za-z0-9._~-]*)(\/[A-Za-z0-9._~-]+)*$/;

/**
 * Validate an upstream item path template: absolute, plain segments, `{id}` exactly once (e.g.
 * "/items/{id}", "/todos/{id}", "/v2/things/{id}.json"). Returns an error text, or undefined when valid.
 */
export function itemPathTemplateProblem(template: string): string | undefined {
  const dotSegment = template.split("/").some((seg) => seg === "." || seg === "..");
  if (!ITEM_PATH_TEMPLATE.test(template) || template.split("{id}").length !== 2 || dotSegment) {
    return "must be an absolute path of plain segments (no . or ..) holding {id} exactly once, e.g. /items/{id}";
  }
  return undefined;
}

/**
 * Upstream URL of an item: `${base}${template with {id}}?lang=` (base without trailing slash).
 * The id is percent-encoded, so it can never add a segment or a query.
 */
export function itemUpstreamUrl(upstreamUrl: string, id: string, lang: string, pathTemplate: string = DEFAULT_ITEM_PATH): string {
  const base = upstreamUrl.replace(/\/+$/, "");
  return `${base}${pathTemplate.replace("{id}", encodeURIComponent(id))}?lang=${encodeURIComponent(lang)}`;
}

// The base path is the platform's (API Gateway's stage in front of every path): re-exported for the app's callers.
export { basePathProblem, stripBasePath } from "../functions/platform/http";
