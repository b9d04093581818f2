/**
 * The catalogue app: a Hono app whose three routes read through the platform's two-tier cache
 * (`ctx.cache`: in-process L1 + memcached L2) from the catalogue service (UPSTREAM_URL).
 *
 *   GET /products/{sku}                   one product              (fresh 5 min)
 *   GET /categories/{id}/products?page=N  one page of a category   (fresh 1 min)
 *   GET /rates                            currency exchange rates  (fresh 30 s, stale up to 10 min)
 *
 * HybridLambdaFargateService serializes `catalogApp` (Pulumi's closure serializer) into the Lambda
 * archive and the container image: keep the per-instance state inside the factory, import packages by
 * name (here only hono, listed in `appPackages`), and import only types from "serverless-cache".
 */
import { Hono } from "hono";
import type { AppFactory, CacheSource, FetchApp, RequestInfo } from "serverless-cache";

/** What the app keeps in the cache for one upstream document. */
interface Stored {
  status: number;
  body: unknown;
}

const SKU = /^[A-Z0-9][A-Z0-9-]{1,31}$/;
const CATEGORY = /^[a-z0-9-]{1,40}$/;

export const catalogApp: AppFactory = (ctx): FetchApp => {
  const upstream = (ctx.env.UPSTREAM_URL ?? "").replace(/\/+$/, "");
  if (!/^https?:\/\//.test(upstream)) throw new Error(`UPSTREAM_URL=${ctx.env.UPSTREAM_URL ?? ""} must be an http(s) URL`);
  const currency = ctx.env.CATALOG_CURRENCY ?? "EUR";
  // Per instance, kept across requests (inside the factory: the serialized code runs it once per cold start).
  const stats = { requests: 0, misses: 0 };

  /** Read `path` from the upstream through the cache; 404 is cached briefly, other errors never. */
  const read = async (key: string, path: string, info: RequestInfo, ttlSeconds: number, staleTtlSeconds = 60): Promise<{ stored: Stored; source: CacheSource; ageSeconds: number }> => {
    const result = await ctx.cache.getOrLoad<Stored>(key, async ({ signal }) => {
      stats.misses += 1;
      const res = await fetch(`${upstream}${path}`, { signal, headers: { accept: "application/json" } });
      if (res.status === 404) return { status: 404, body: { error: "not_found" } };
      // Any other status fails the load: the cache serves a stale copy if it has one, else the error
      // reaches onError below as an UpstreamError (statusCode 502, or 504 on a timeout).
      if (res.status !== 200) throw new Error(`upstream answered ${res.status} for ${path}`);
      return { status: 200, body: await res.json() as unknown };
    }, { ttlSeconds, staleTtlSeconds, deadline: info.deadline });
    return { stored: result.value, source: result.source, ageSeconds: result.ageSeconds };
  };

  const app = new Hono<{ Bindings: RequestInfo }>();
  app.use(async (c, next) => {
    stats.requests += 1;
    await next();
    c.header("x-served-by", c.env.runtime);
  });
  const answer = (c: { json: (body: unknown, status: 200 | 404, headers: Record<string, string>) => Response }, r: { stored: Stored; source: CacheSource; ageSeconds: number }): Response =>
    c.json(r.stored.body, r.stored.status === 404 ? 404 : 200, { "x-cache": r.source, age: String(r.ageSeconds) });

  app.get("/products/:sku", async (c) => {
    const sku = c.req.param("sku").toUpperCase();
    if (!SKU.test(sku)) return c.json({ error: "bad_sku" }, 400);
    return answer(c, await read(`product:${sku}`, `/products/${sku}?currency=${currency}`, c.env, 300));
  });

  app.get("/categories/:id/products", async (c) => {
    const id = c.req.param("id");
    const page = Number(c.req.query("page") ?? "1");
    if (!CATEGORY.test(id) || !Number.isInteger(page) || page < 1 || page > 100) return c.json({ error: "bad_request" }, 400);
    return answer(c, await read(`category:${id}:${page}`, `/categories/${id}/products?page=${page}`, c.env, 60));
  });

  app.get("/rates", async (c) => answer(c, await read(`rates:${currency}`, `/rates?base=${currency}`, c.env, 30, 600)));

  app.get("/stats", (c) => c.json({ ...stats, runtime: ctx.runtime }));

  app.onError((err, c) => {
    // The cache's UpstreamError carries the status to answer with (502, 503 with Retry-After, 504).
    const status = (err as { statusCode?: unknown }).statusCode;
    if (status === 502 || status === 503 || status === 504) {
      ctx.log("warn", "upstream failed", { path: c.req.path, status, error: err.message });
      return c.json({ error: "upstream_unavailable" }, status);
    }
    ctx.log("error", "request failed", { path: c.req.path, error: String(err) });
    return c.json({ error: "internal_error" }, 500);
  });

  ctx.log("info", "catalog app ready", { runtime: ctx.runtime, upstream });
  return { fetch: (request, info) => app.fetch(request, info) };
};

/** The packages the app loads at run time (HybridLambdaFargateService `appPackages`). */
export const CATALOG_APP_PACKAGES = ["hono"];
