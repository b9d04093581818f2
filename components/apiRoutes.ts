/**
 * Pure helpers behind CachedPrivateApi: route validation, the resource tree, request/cache-key
 * parameters, method-settings paths and the deployment hash; the IAM ARNs and policy documents are in
 * api/iamDocuments.ts (re-exported here).
 * No Pulumi imports: everything here is plain data in, plain data out, and tested exhaustively.
 */

/** Cache sizes (GB) API Gateway offers for a stage cache, as the API expects them (strings). */
export const CACHE_SIZES_GB = ["0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"] as const;
export type CacheSizeGb = (typeof CACHE_SIZES_GB)[number];
/** API Gateway's default and maximum cache TTL; 0 disables caching. */
export const DEFAULT_CACHE_TTL_SECONDS = 300;
export const MAX_CACHE_TTL_SECONDS = 3600;

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "ANY"] as const;
/** How callers are authorised on every method: anyone through the endpoint, or SigV4-signed IAM principals. */
export type ApiAuthorization = "NONE" | "AWS_IAM";
export const API_AUTHORIZATIONS: readonly ApiAuthorization[] = ["NONE", "AWS_IAM"];
export type HttpMethod = (typeof HTTP_METHODS)[number];

/**
 * Names of the stack outputs `scripts/invalidate.ts` reads (`pulumi stack output --json`).
 * index.ts must export the component's values under exactly these names.
 */
export const STACK_OUTPUT_KEYS = {
  apiId: "apiId",
  stageName: "apiStageName",
  invokeUrl: "apiInvokeUrl",
  region: "apiRegion",
} as const;

/** One route as declared by the user of CachedPrivateApi. */
export interface RouteSpec {
  /** Resource path, e.g. "/items/{id}" or "/files/{path+}" (a greedy parameter must be the last segment). */
  path: string;
  /** HTTP method, or "ANY". */
  method: string;
  /**
   * Serve this route from the stage cache. Only GET routes can be cached.
   * @default true for GET (unless its TTL, or the stage default TTL, is 0), false otherwise
   */
  cached?: boolean;
  /**
   * Cache TTL of this route, 0 to 3600 seconds (0 disables caching for it).
   * @default the stage's default TTL
   */
  ttlSeconds?: number;
  /** Query string parameters that are part of the cache key (and declared on the method). */
  queryStrings?: string[];
  /** Request headers that are part of the cache key (and declared on the method). */
  headers?: string[];
}

export type Segment =
  | { kind: "literal"; value: string }
  | { kind: "param"; name: string }
  | { kind: "greedy"; name: string };

/** A validated route with every default resolved. */
export interface NormalizedRoute {
  /** "GET /items/{id}": unique per route. */
  key: string;
  path: string;
  method: HttpMethod;
  segments: Segment[];
  /** Path parameter names in order (the greedy one included, without "+"). */
  pathParams: string[];
  cached: boolean;
  /** Effective TTL (0 when not cached). */
  ttlSeconds: number;
  /** Sorted, unique. */
  queryStrings: string[];
  /** Sorted (case-insensitively), unique case-insensitively, in the declared spelling. */
  headers: string[];
  /** True for the ANY /{proxy+} route added by `proxyFallback`. */
  fallback: boolean;
}

export interface NormalizeOptions {
  /** The stage's default TTL (already validated). */
  defaultTtlSeconds: number;
  /** Add `ANY /{proxy+}` (uncached) for every path no route declares. */
  proxyFallback: boolean;
}

const LITERAL_SEGMENT = /^[A-Za-z0-9._-]+$/;
const PARAM_SEGMENT = /^\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}$/;
const QUERY_STRING_NAME = /^[A-Za-z0-9._~-]+$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const STAGE_NAME = /^[A-Za-z0-9_-]{1,128}$/;

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/**
 * Validate a stage cache size. Accepts a number or a numeric string; returns the canonical string
 * API Gateway expects ("0.5", "1.6", ..., "118", "237").
 * @param field the name reported in the error (a config key, an Args field)
 */
export function validateCacheSize(value: unknown, field = "cacheSizeGb"): CacheSizeGb {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  const found = CACHE_SIZES_GB.find((s) => Number(s) === n);
  if (found === undefined) {
    throw new Error(`${field} = ${describe(value)}: must be one of ${CACHE_SIZES_GB.join(", ")} (GB)`);
  }
  return found;
}

/**
 * Validate a cache TTL: a whole number of seconds from 0 (caching off) to 3600.
 * Accepts a number or a numeric string (config values arrive as strings).
 */
export function validateCacheTtl(value: unknown, field = "cacheTtlSeconds"): number {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > MAX_CACHE_TTL_SECONDS) {
    throw new Error(`${field} = ${describe(value)}: must be a whole number of seconds from 0 (caching off) to ${MAX_CACHE_TTL_SECONDS}`);
  }
  return n;
}

/** Throttling: steady-state rate (requests/second, > 0) and burst (whole number > 0). */
export function validateThrottle(rateLimit: unknown, burstLimit: unknown, fields = { rate: "throttleRateLimit", burst: "throttleBurstLimit" }): { rateLimit: number; burstLimit: number } {
  const rate = typeof rateLimit === "string" && rateLimit.trim() !== "" ? Number(rateLimit) : rateLimit;
  const burst = typeof burstLimit === "string" && burstLimit.trim() !== "" ? Number(burstLimit) : burstLimit;
  if (typeof rate !== "number" || !Number.isFinite(rate) || rate <= 0) {
    throw new Error(`${fields.rate} = ${describe(rateLimit)}: must be a number of requests per second greater than 0`);
  }
  if (typeof burst !== "number" || !Number.isInteger(burst) || burst <= 0) {
    throw new Error(`${fields.burst} = ${describe(burstLimit)}: must be a whole number of requests greater than 0`);
  }
  return { rateLimit: rate, burstLimit: burst };
}

/** Stage names: 1-128 of letters, digits, "-" and "_" (the stack name is used by default). */
export function validateStageName(value: unknown, field = "stageName"): string {
  if (typeof value !== "string" || !STAGE_NAME.test(value)) {
    throw new Error(`${field} = ${describe(value)}: must be 1 to 128 letters, digits, "-" or "_"`);
  }
  return value;
}

/** Split and validate a resource path. Throws with the reason. */
export function parsePath(path: unknown): Segment[] {
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new Error(`path ${describe(path)}: must start with "/"`);
  }
  if (path === "/") return [];
  if (path.endsWith("/")) throw new Error(`path ${describe(path)}: must not end with "/"`);
  const parts = path.slice(1).split("/");
  const seen = new Set<string>();
  return parts.map((part, i) => {
    if (part === "") throw new Error(`path ${describe(path)}: empty segment`);
    const param = PARAM_SEGMENT.exec(part);
    if (param) {
      const [, name, plus] = param;
      if (seen.has(name)) throw new Error(`path ${describe(path)}: parameter {${name}} appears twice`);
      seen.add(name);
      if (plus) {
        if (i !== parts.length - 1) throw new Error(`path ${describe(path)}: greedy parameter {${name}+} must be the last segment`);
        return { kind: "greedy", name } as const;
      }
      return { kind: "param", name } as const;
    }
    if (part.includes("{") || part.includes("}")) {
      throw new Error(`path ${describe(path)}: segment ${JSON.stringify(part)} must be a whole parameter like {id} or {proxy+} (letters, digits, _)`);
    }
    if (!LITERAL_SEGMENT.test(part)) {
      throw new Error(`path ${describe(path)}: segment ${JSON.stringify(part)} may contain only letters, digits, ".", "_" and "-"`);
    }
    return { kind: "literal", value: part } as const;
  });
}

export function segmentText(s: Segment): string {
  return s.kind === "literal" ? s.value : s.kind === "param" ? `{${s.name}}` : `{${s.name}+}`;
}

export function joinPath(segments: Segment[]): string {
  return `/${segments.map(segmentText).join("/")}`;
}

function uniqueNames(names: unknown, what: string, pattern: RegExp, routeKey: string, caseInsensitive: boolean): string[] {
  if (names === undefined) return [];
  if (!Array.isArray(names)) throw new Error(`route ${routeKey}: ${what} must be a list of names`);
  const seen = new Map<string, string>();
  for (const name of names) {
    if (typeof name !== "string" || !pattern.test(name)) {
      throw new Error(`route ${routeKey}: ${what} name ${describe(name)} is not valid`);
    }
    const k = caseInsensitive ? name.toLowerCase() : name;
    if (seen.has(k)) throw new Error(`route ${routeKey}: ${what} ${JSON.stringify(name)} is declared twice`);
    seen.set(k, name);
  }
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

/**
 * Validate routes and resolve defaults. Throws on: invalid path or method, duplicate routes,
 * two different variable path parts under one parent (API Gateway allows one), caching a
 * non-GET route, a TTL out of 0-3600, invalid or duplicate query string / header names.
 * Output is sorted by path then method, so declaration order never matters.
 */
export function normalizeRoutes(routes: readonly RouteSpec[], options: NormalizeOptions): NormalizedRoute[] {
  if (!Array.isArray(routes)) throw new Error("routes must be a list");
  if (routes.length === 0 && !options.proxyFallback) throw new Error("routes is empty and proxyFallback is off: the API would have no method");
  const out: NormalizedRoute[] = [];
  const byKey = new Map<string, number>();
  routes.forEach((route, index) => {
    if (!route || typeof route !== "object") throw new Error(`routes[${index}]: must be an object`);
    const method = typeof route.method === "string" ? route.method.toUpperCase() : route.method;
    if (!(HTTP_METHODS as readonly unknown[]).includes(method)) {
      throw new Error(`routes[${index}] (${describe(route.path)}): method ${describe(route.method)} must be one of ${HTTP_METHODS.join(", ")}`);
    }
    let segments: Segment[];
    try {
      segments = parsePath(route.path);
    } catch (e) {
      throw new Error(`routes[${index}]: ${(e as Error).message}`, { cause: e });
    }
    const path = joinPath(segments);
    const key = `${method} ${path}`;
    const previous = byKey.get(key);
    if (previous !== undefined) throw new Error(`routes[${index}]: duplicate route ${key} (also routes[${previous}])`);
    byKey.set(key, index);

    if (route.ttlSeconds !== undefined) validateCacheTtl(route.ttlSeconds, `route ${key}: ttlSeconds`);
    if (route.cached !== undefined && typeof route.cached !== "boolean") throw new Error(`route ${key}: cached must be true or false`);
    if (route.cached === true && method !== "GET") {
      throw new Error(`route ${key}: only GET routes can be cached (API Gateway caches GET; caching other methods would replay writes)`);
    }
    const ttl = route.ttlSeconds ?? options.defaultTtlSeconds;
    if (route.cached === true && ttl === 0) {
      throw new Error(`route ${key}: cached is true but its TTL is 0 (0 disables caching); set ttlSeconds from 1 to ${MAX_CACHE_TTL_SECONDS}`);
    }
    const cached = route.cached ?? (method === "GET" && ttl > 0);
    if (!cached && route.ttlSeconds !== undefined && route.ttlSeconds > 0) {
      throw new Error(`route ${key}: ttlSeconds is set but the route is not cached`);
    }
    out.push({
      key,
      path,
      method: method as HttpMethod,
      segments,
      pathParams: segments.filter((s) => s.kind !== "literal").map((s) => (s as { name: string }).name),
      cached,
      ttlSeconds: cached ? ttl : 0,
      queryStrings: uniqueNames(route.queryStrings, "query string", QUERY_STRING_NAME, key, false),
      headers: uniqueNames(route.headers, "header", HEADER_NAME, key, true),
      fallback: false,
    });
  });

  if (options.proxyFallback) {
    const rootVariable = out.find((r) => r.segments.length > 0 && r.segments[0].kind !== "literal");
    const first = rootVariable?.segments[0];
    if (first && first.kind === "param") {
      throw new Error(`route ${rootVariable!.key}: a variable first segment {${first.name}} leaves no room for the ANY /{proxy+} fallback; set proxyFallback: false or make it greedy`);
    }
    const greedyName = first && first.kind === "greedy" ? first.name : "proxy";
    const fallbackPath = `/{${greedyName}+}`;
    if (!out.some((r) => r.path === fallbackPath && r.method === "ANY")) {
      out.push({
        key: `ANY ${fallbackPath}`,
        path: fallbackPath,
        method: "ANY",
        segments: [{ kind: "greedy", name: greedyName }],
        pathParams: [greedyName],
        cached: false,
        ttlSeconds: 0,
        queryStrings: [],
        headers: [],
        fallback: true,
      });
    }
  }

  // One variable child per resource (API Gateway rejects {id} next to {itemId} or {proxy+}).
  const variableChild = new Map<string, { text: string; key: string }>();
  for (const r of out) {
    r.segments.forEach((s, i) => {
      if (s.kind === "literal") return;
      const parent = joinPath(r.segments.slice(0, i));
      const text = segmentText(s);
      const existing = variableChild.get(parent);
      if (existing && existing.text !== text) {
        throw new Error(`routes ${existing.key} and ${r.key}: ${parent} has two different variable children ${existing.text} and ${text}; API Gateway allows one per resource`);
      }
      variableChild.set(parent, { text, key: r.key });
    });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.method < b.method ? -1 : a.method > b.method ? 1 : 0));
}

/** One API Gateway resource to create (the root "/" is the API's own root resource, not listed). */
export interface ResourceNode {
  path: string;
  pathPart: string;
  /** "/" for children of the root. */
  parentPath: string;
}

/** Every resource the routes need, each shared prefix once, parents before children. */
export function buildResourceTree(routes: readonly NormalizedRoute[]): ResourceNode[] {
  const nodes = new Map<string, ResourceNode>();
  for (const r of routes) {
    for (let i = 1; i <= r.segments.length; i++) {
      const path = joinPath(r.segments.slice(0, i));
      if (!nodes.has(path)) {
        nodes.set(path, { path, pathPart: segmentText(r.segments[i - 1]), parentPath: i === 1 ? "/" : joinPath(r.segments.slice(0, i - 1)) });
      }
    }
  }
  const depth = (p: string): number => p.split("/").length;
  return [...nodes.values()].sort((a, b) => depth(a.path) - depth(b.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Method request parameters: path parameters required, query strings and headers optional. */
export function methodRequestParameters(route: NormalizedRoute): Record<string, boolean> {
  const params: Record<string, boolean> = {};
  for (const p of route.pathParams) params[`method.request.path.${p}`] = true;
  for (const q of route.queryStrings) params[`method.request.querystring.${q}`] = false;
  for (const h of route.headers) params[`method.request.header.${h}`] = false;
  return params;
}

/** Integration request parameters: each declared method parameter mapped to the backend request. */
export function integrationRequestParameters(route: NormalizedRoute): Record<string, string> {
  const params: Record<string, string> = {};
  for (const p of route.pathParams) params[`integration.request.path.${p}`] = `method.request.path.${p}`;
  for (const q of route.queryStrings) params[`integration.request.querystring.${q}`] = `method.request.querystring.${q}`;
  for (const h of route.headers) params[`integration.request.header.${h}`] = `method.request.header.${h}`;
  return params;
}

/**
 * Cache key parameters of a cached route: every path parameter (without them /items/1 and
 * /items/2 would share one cache entry), then the declared query strings and headers.
 * Uncached routes get none.
 */
export function cacheKeyParameters(route: NormalizedRoute): string[] {
  if (!route.cached) return [];
  return [
    ...route.pathParams.map((p) => `method.request.path.${p}`),
    ...route.queryStrings.map((q) => `method.request.querystring.${q}`),
    ...route.headers.map((h) => `method.request.header.${h}`),
  ];
}

/** Backend path template: "/items/{id}", greedy "{proxy+}" becomes "{proxy}". */
export function backendPathTemplate(route: NormalizedRoute): string {
  return `/${route.segments.map((s) => (s.kind === "literal" ? s.value : `{${s.name}}`)).join("/")}`;
}

/** Integration URI: `<protocol>://<host>:<port><path template>`. */
export function integrationUri(protocol: "http" | "https", host: string, port: number, route: NormalizedRoute): string {
  return `${protocol}://${host}:${port}${backendPathTemplate(route)}`;
}

/**
 * `methodPath` of aws.apigateway.MethodSettings for one method. The provider passes it verbatim
 * into UpdateStage patch paths (`/<methodPath>/caching/enabled`), where every "/" of the
 * resource path must be escaped as "~1" (JSON pointer), the leading one included:
 * "/items/{id}" GET -> "~1items~1{id}/GET"; the root "/" GET -> "~1/GET". This is also the
 * key GetStage returns, so the provider reads the settings back without a diff.
 */
export function methodSettingsPath(route: Pick<NormalizedRoute, "path" | "method">): string {
  return `${route.path.replace(/~/g, "~0").replace(/\//g, "~1")}/${route.method}`;
}

export { executeApiRoutePath, invalidateCacheResourceArns, invalidationPolicyDocument, invokePolicyDocument, flushPolicyDocument, privateApiResourcePolicy, type ApiArnContext } from "./api/iamDocuments";

/** Access log line (JSON), one per request. */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  extendedRequestId: "$context.extendedRequestId",
  requestTime: "$context.requestTime",
  sourceIp: "$context.identity.sourceIp",
  vpceId: "$context.identity.vpceId",
  caller: "$context.identity.caller",
  userArn: "$context.identity.userArn",
  httpMethod: "$context.httpMethod",
  resourcePath: "$context.resourcePath",
  path: "$context.path",
  status: "$context.status",
  protocol: "$context.protocol",
  responseLength: "$context.responseLength",
  responseLatency: "$context.responseLatency",
  integrationLatency: "$context.integrationLatency",
  integrationStatus: "$context.integration.status",
  errorMessage: "$context.error.message",
});

/** Stable, injective logical-name suffix for a path: "/" -> "~", "/items/{id}" -> "~items~{id}". */
export function pathSlug(path: string): string {
  return path === "/" ? "~" : path.replace(/\//g, "~");
}
