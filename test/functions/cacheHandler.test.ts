import * as assert from "node:assert/strict";
import { namespaceKeyring, parseMacKeys, sealEntry, storageKey } from "../../functions/cache";
import { cacheKeyOf } from "../../functions/cacheHandler";
import { memcachedText, newMacKey, ssmEnv, startFakeSsm, TEST_CREDENTIALS, type FakeSsm } from "./cache/helpers";
import { extractLambdaArchive, type ExtractedLambda } from "../support/lambdaArchive";
import { startMemcached, type MemcachedServer } from "../support/memcached";
import { runProgram } from "../support/program";
import { startUpstream, type Upstream } from "../support/upstream";
import {
  MAX_PROXY_PATH_LENGTH,
  canonicalTarget,
  checkProxyPath,
  upstreamBaseOf,
  upstreamUrlFor,
  type ProxyPathProblem,
} from "../../functions/cacheHandler";

interface AlbLikeResponse {
  statusCode: number;
  statusDescription: string;
  headers: Record<string, string>;
  body: string;
}
type Handler = (event: unknown, context?: unknown) => Promise<AlbLikeResponse>;

/** A Lambda context with a real clock, as the runtime passes it. */
function lambdaContext(timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  return { getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()), awsRequestId: "test", functionName: "cache-handler" };
}

describe("cache Lambda: the archive Pulumi serializes, executed for real", function () {
  this.timeout(60_000);
  let lambda: ExtractedLambda;
  let memcached: MemcachedServer;
  let upstream: Upstream;
  let env: Record<string, string>;
  let timeoutSeconds: number;
  /** Stands in for SSM Parameter Store: holds the entry key under the parameter name the stack gives the function. */
  let ssm: FakeSsm;
  const ENTRY_KEY = newMacKey();
  const savedEnv = { ...process.env };

  before(async () => {
    const run = await runProgram("dev");
    const fn = run.one("aws:lambda/function:Function", "cache-handler");
    timeoutSeconds = fn.inputs.timeout;
    env = fn.inputs.environment.variables;
    lambda = await extractLambdaArchive(fn.inputs.code);
    memcached = await startMemcached();
    upstream = await startUpstream();
    assert.match(env.CACHE_MAC_KEY_PARAMETER, /cache-entry-keys$/, "the stack names the function's key parameter");
    ssm = await startFakeSsm({ [env.CACHE_MAC_KEY_PARAMETER]: ENTRY_KEY }, TEST_CREDENTIALS);
  });

  after(async () => {
    process.env = savedEnv;
    await memcached?.stop();
    await upstream?.close();
    await ssm?.close();
    lambda?.remove();
  });

  /**
   * Cold start: the deployed environment, pointed at loopback servers (memcached, the upstream, and SSM
   * for the entry key the stack's parameter holds), then a fresh module load.
   */
  function coldStart(overrides: Record<string, string> = {}): Handler {
    process.env = { ...savedEnv, ...env, MEMCACHED_SERVERS: memcached.address, MEMCACHED_CONFIG_ENDPOINT: memcached.address, UPSTREAM_URL: upstream.url, ...ssmEnv(ssm, env.CACHE_MAC_KEY_PARAMETER), ...overrides };
    return lambda.load<Handler>("handler");
  }

  it("ships the handler and its runtime dependencies, and nothing the runtime provides", () => {
    assert.ok(lambda.entries.includes("__index.js"));
    assert.ok(lambda.entries.includes("node_modules/memjs"), "memjs in archive");
    assert.ok(lambda.entries.includes("node_modules/got"), "got in archive");
    assert.ok(!lambda.entries.some((e) => e.startsWith("node_modules/@aws-sdk/")), "the cache handler uses no AWS SDK");
    assert.ok(!lambda.entries.some((e) => e.startsWith("node_modules/@pulumi/")), "no Pulumi in the archive");
    assert.match(lambda.source, /exports\.handler = /);
  });

  it("misses first (upstream called once), then hits without calling the upstream", async () => {
    const handler = coldStart();
    upstream.requests.length = 0;
    upstream.behaviour = { ...upstream.behaviour, status: 200, body: '{"id":1,"title":"first"}' };
    const event = { httpMethod: "GET", path: "/todos/1", queryStringParameters: { b: "2", a: "1" } };

    const first = await handler(event, lambdaContext(timeoutSeconds * 1000));
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers["x-cache"], "MISS");
    assert.deepEqual(JSON.parse(first.body), { id: 1, title: "first" });
    assert.equal(upstream.requests.length, 1);
    assert.equal(upstream.requests[0].url, "/todos/1?a=1&b=2", "query forwarded in canonical order");

    upstream.behaviour = { ...upstream.behaviour, body: '{"changed":true}' };
    const second = await handler({ ...event, queryStringParameters: { a: "1", b: "2" } }, lambdaContext(timeoutSeconds * 1000));
    assert.equal(second.statusCode, 200);
    assert.equal(second.headers["x-cache"], "HIT-L1", "same environment: in-process hit");
    assert.deepEqual(JSON.parse(second.body), { id: 1, title: "first" }, "served from cache, not the changed upstream");
    assert.equal(upstream.requests.length, 1, "upstream not called on a hit");

    // A second execution environment (fresh module) shares memcached: still a hit.
    const other = coldStart();
    const third = await other(event, lambdaContext(timeoutSeconds * 1000));
    assert.equal(third.headers["x-cache"], "HIT-L2", "new environment: memcached hit");
    assert.equal(upstream.requests.length, 1);
  });

  it("answers valid ALB-style responses (status line, non-empty headers, string body)", async () => {
    const handler = coldStart();
    const res = await handler({ httpMethod: "GET", path: "/todos/2" }, lambdaContext(timeoutSeconds * 1000));
    assert.equal(res.statusDescription, "200 OK");
    assert.ok(Object.keys(res.headers).length > 0);
    assert.equal(res.headers["content-type"], "application/json");
    assert.equal(typeof res.body, "string");
  });

  it("still answers from the upstream, within the configured timeout, when memcached is down", async () => {
    const handler = coldStart();
    await memcached.stop();
    try {
      upstream.requests.length = 0;
      upstream.behaviour = { ...upstream.behaviour, status: 200, body: '{"fresh":true}' };
      const started = Date.now();
      const res = await handler({ httpMethod: "GET", path: "/todos/3" }, lambdaContext(timeoutSeconds * 1000));
      const elapsed = Date.now() - started;
      assert.equal(res.statusCode, 200);
      assert.deepEqual(JSON.parse(res.body), { fresh: true });
      assert.equal(upstream.requests.length, 1);
      assert.ok(elapsed < Number(env.UPSTREAM_TIMEOUT_MS), `answered in ${elapsed} ms, under the ${env.UPSTREAM_TIMEOUT_MS} ms upstream timeout`);
      // And again: the client does not get stuck after a failure.
      const again = await handler({ httpMethod: "GET", path: "/todos/4" }, lambdaContext(timeoutSeconds * 1000));
      assert.equal(again.statusCode, 200);
    } finally {
      await memcached.start();
    }
  });

  it("turns an upstream 500 into a clean 502 JSON error, cached for CACHE_ERROR_TTL_SECONDS only", async () => {
    const handler = coldStart({ CACHE_ERROR_TTL_SECONDS: "1" });
    upstream.requests.length = 0;
    upstream.behaviour = { ...upstream.behaviour, status: 500, body: "boom" };
    const res = await handler({ httpMethod: "GET", path: "/todos/500" }, lambdaContext(timeoutSeconds * 1000));
    assert.equal(res.statusCode, 502);
    assert.equal(res.statusDescription, "502 Bad Gateway");
    assert.equal(JSON.parse(res.body).error.code, "upstream_error");
    upstream.behaviour = { ...upstream.behaviour, status: 200, body: '{"ok":true}' };
    const cached = await handler({ httpMethod: "GET", path: "/todos/500" }, lambdaContext(timeoutSeconds * 1000));
    assert.equal(cached.statusCode, 502, "the error is cached briefly");
    assert.equal(cached.headers["x-cache"], "NEGATIVE");
    assert.equal(upstream.requests.length, 1);
    await new Promise((r) => setTimeout(r, 1050));
    const next = await handler({ httpMethod: "GET", path: "/todos/500" }, lambdaContext(timeoutSeconds * 1000));
    assert.equal(next.statusCode, 200, "never cached longer than the TTL");
    assert.equal(upstream.requests.length, 2);
  });

  it("an upstream 404 is a 404, cached for CACHE_NOT_FOUND_TTL_SECONDS (the upstream is not asked again meanwhile)", async () => {
    const handler = coldStart({ CACHE_NOT_FOUND_TTL_SECONDS: "1" });
    upstream.requests.length = 0;
    upstream.behaviour = { ...upstream.behaviour, status: 404, body: '{"missing":true}' };
    const ctx = lambdaContext(timeoutSeconds * 1000);
    const first = await handler({ httpMethod: "GET", path: "/todos/404" }, ctx);
    assert.equal(first.statusCode, 404);
    assert.equal(first.statusDescription, "404 Not Found");
    assert.equal(JSON.parse(first.body).error.code, "not_found");
    for (let i = 0; i < 5; i++) assert.equal((await handler({ httpMethod: "GET", path: "/todos/404" }, ctx)).statusCode, 404);
    assert.equal(upstream.requests.length, 1, "a missing item does not reach the upstream on every request");
    upstream.behaviour = { ...upstream.behaviour, status: 200, body: '{"now":"here"}' };
    await new Promise((r) => setTimeout(r, 1050));
    assert.equal((await handler({ httpMethod: "GET", path: "/todos/404" }, ctx)).statusCode, 200);
    assert.equal(upstream.requests.length, 2);
  });

  it("answers 503 with Retry-After once its breaker is open, without calling the upstream", async () => {
    const handler = coldStart({ UPSTREAM_BREAKER_FAILURES: "2", UPSTREAM_BREAKER_OPEN_MS: "2000", CACHE_ERROR_TTL_SECONDS: "0" });
    upstream.requests.length = 0;
    upstream.behaviour = { ...upstream.behaviour, status: 500, body: "boom" };
    const ctx = lambdaContext(timeoutSeconds * 1000);
    assert.equal((await handler({ httpMethod: "GET", path: "/todos/b1" }, ctx)).statusCode, 502);
    assert.equal((await handler({ httpMethod: "GET", path: "/todos/b2" }, ctx)).statusCode, 502);
    const start = Date.now();
    const refused = await handler({ httpMethod: "GET", path: "/todos/b3" }, ctx);
    assert.ok(Date.now() - start < 50, `took ${Date.now() - start} ms`);
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.statusDescription, "503 Service Unavailable");
    assert.equal(refused.headers["retry-after"], "2");
    assert.equal(JSON.parse(refused.body).error.code, "upstream_unavailable");
    assert.equal(upstream.requests.length, 2, "the open breaker kept the request away from the upstream");
  });

  it("a direct control event invalidates a key on every node; the same field inside an HTTP event is refused", async () => {
    const handler = coldStart();
    upstream.requests.length = 0;
    upstream.behaviour = { ...upstream.behaviour, status: 200, body: '{"v":1}' };
    const ctx = lambdaContext(timeoutSeconds * 1000);
    const get = { httpMethod: "GET", path: "/todos/inv", queryStringParameters: { a: "1" } };
    assert.equal((await handler(get, ctx)).headers["x-cache"], "MISS");
    const other = coldStart();
    assert.equal((await other(get, ctx)).headers["x-cache"], "HIT-L2");
    const forged = await handler({ ...get, serverlessCacheControl: { action: "invalidate", path: "/todos/inv?a=1" } }, ctx);
    assert.equal(forged.statusCode, 403);
    assert.equal((await other(get, ctx)).headers["x-cache"], "HIT-L1", "the refused event changed nothing");
    const res = await handler({ serverlessCacheControl: { action: "invalidate", path: "/todos/inv?a=1" } }, ctx) as unknown as { ok: boolean; nodes: { result: string }[] };
    assert.equal(res.ok, true);
    assert.deepEqual(res.nodes.map((n) => n.result), ["deleted"]);
    upstream.behaviour = { ...upstream.behaviour, body: '{"v":2}' };
    const fresh = coldStart();
    const after = await fresh(get, ctx);
    assert.equal(after.headers["x-cache"], "MISS");
    assert.deepEqual(JSON.parse(after.body), { v: 2 });
  });

  it("serves a stale answer (x-cache: STALE) when the upstream fails after the TTL", async () => {
    const handler = coldStart({ CACHE_TTL_SECONDS: "1", CACHE_STALE_TTL_SECONDS: "60" });
    upstream.behaviour = { ...upstream.behaviour, status: 200, body: '{"v":"old"}', delayMs: 0 };
    const first = await handler({ httpMethod: "GET", path: "/todos/stale" }, lambdaContext(timeoutSeconds * 1000));
    assert.equal(first.headers["x-cache"], "MISS");
    await new Promise((r) => setTimeout(r, 1100));
    upstream.behaviour = { ...upstream.behaviour, status: 503, body: "down" };
    try {
      const res = await handler({ httpMethod: "GET", path: "/todos/stale" }, lambdaContext(timeoutSeconds * 1000));
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers["x-cache"], "STALE");
      assert.deepEqual(JSON.parse(res.body), { v: "old" });
    } finally {
      upstream.behaviour = { ...upstream.behaviour, status: 200 };
    }
  });

  it("never runs past the Lambda deadline: a short remaining time cuts the upstream call", async () => {
    const handler = coldStart({ UPSTREAM_TIMEOUT_MS: "5000" });
    upstream.behaviour = { ...upstream.behaviour, status: 200, delayMs: 3000 };
    try {
      const started = Date.now();
      const res = await handler({ httpMethod: "GET", path: "/todos/deadline" }, lambdaContext(1000));
      const elapsed = Date.now() - started;
      assert.equal(res.statusCode, 504);
      assert.ok(elapsed < 1000, `answered after ${elapsed} ms, inside the 1000 ms the context allowed`);
    } finally {
      upstream.behaviour = { ...upstream.behaviour, delayMs: 0 };
    }
  });

  it("answers 405 to non-GET and 400 to a malformed event, without crashing", async () => {
    const handler = coldStart();
    const post = await handler({ httpMethod: "POST", path: "/todos/1" }, lambdaContext(timeoutSeconds * 1000));
    assert.equal(post.statusCode, 405);
    assert.equal(post.headers.allow, "GET");
    const bad = await handler(null, lambdaContext(timeoutSeconds * 1000));
    assert.equal(bad.statusCode, 400);
  });

  it("answers 504 before the Lambda timeout when the upstream hangs", async () => {
    const handler = coldStart({ UPSTREAM_TIMEOUT_MS: "300" });
    upstream.behaviour = { ...upstream.behaviour, status: 200, delayMs: 2000 };
    try {
      const started = Date.now();
      const res = await handler({ httpMethod: "GET", path: "/todos/slow" }, lambdaContext(timeoutSeconds * 1000));
      const elapsed = Date.now() - started;
      assert.equal(res.statusCode, 504);
      assert.equal(JSON.parse(res.body).error.code, "upstream_timeout");
      assert.ok(elapsed < 1500, `gave up after ${elapsed} ms`);
    } finally {
      upstream.behaviour = { ...upstream.behaviour, delayMs: 0 };
    }
  });

  it("refuses hostile paths with 400 invalid_path naming the reason, before the cache or the upstream", async () => {
    const handler = coldStart({ UPSTREAM_URL: `${upstream.url}/api/v1` });
    upstream.requests.length = 0;
    const cases: Array<[string, ProxyPathProblem]> = [
      ["/%2e%2e/%2e%2e/admin", "encoded_separator"],
      ["/todos/../../admin", "dot_segment"],
      ["/todos/1?admin=true", "query_or_fragment"],
      ["/todos/1%23", "query_or_fragment"],
      ["/todos//1", "empty_segment"],
      ["/a\\..\\admin", "backslash"],
      ["/todos/1%0d%0aX:%20y", "control_character"],
      [`/${"a".repeat(MAX_PROXY_PATH_LENGTH)}`, "too_long"],
    ];
    for (const [path, reason] of cases) {
      const res = await handler({ httpMethod: "GET", path }, lambdaContext(timeoutSeconds * 1000));
      assert.equal(res.statusCode, 400, path);
      assert.equal(res.statusDescription, "400 Bad Request");
      assert.equal(res.headers["cache-control"], "no-store");
      assert.deepEqual(JSON.parse(res.body).error.code, "invalid_path");
      assert.equal(JSON.parse(res.body).error.reason, reason, path);
    }
    assert.deepEqual(upstream.requests, [], "no hostile path reached the upstream");
  });

  it("spellings of one resource share one entry and one upstream URL under the base; invalidation by any spelling removes it", async () => {
    // Entry keys as a value (the deployed function reads them from SSM).
    const handler = coldStart({ UPSTREAM_URL: `${upstream.url}/api/v1`, CACHE_MAC_KEY_PARAMETER: "", CACHE_MAC_KEYS: Buffer.alloc(32, 7).toString("base64") });
    upstream.requests.length = 0;
    upstream.behaviour = { ...upstream.behaviour, status: 200, body: '{"v":"caf\u00e9"}' };
    const ctx = lambdaContext(timeoutSeconds * 1000);
    const spellings = ["/items/caf%C3%A9", "/items/caf%c3%a9", "/items/café", "/%69tems/caf%C3%A9", "/items/%63af%C3%A9"];
    const sources: string[] = [];
    for (const path of spellings) sources.push((await handler({ httpMethod: "GET", path }, ctx)).headers["x-cache"]);
    assert.deepEqual(sources, ["MISS", "HIT-L1", "HIT-L1", "HIT-L1", "HIT-L1"]);
    assert.deepEqual(upstream.requests.map((r) => r.url), ["/api/v1/items/caf%C3%A9"]);
    const res = await handler({ serverlessCacheControl: { action: "invalidate", path: "/items/caf%c3%a9" } }, ctx) as unknown as { ok: boolean; nodes: { result: string }[] };
    assert.equal(res.ok, true);
    assert.deepEqual(res.nodes.map((n) => n.result), ["deleted"]);
    const refused = await handler({ serverlessCacheControl: { action: "invalidate", path: "/items/%2e%2e/x" } }, ctx) as unknown as { ok: boolean; error: string };
    assert.equal(refused.ok, false);
    assert.match(refused.error, /percent-encoded dot/);
  });

  describe("data in the caches (issue 15, item 4)", () => {
    const namespace = (): string => process.env.CACHE_NAMESPACE || "sc-v1";
    const skeyOf = (path: string, query: Record<string, string> = {}): string => storageKey(namespace(), cacheKeyOf(namespace(), { httpMethod: "GET", path, queryStringParameters: query }));
    const rawGet = async (skey: string): Promise<string> => memcachedText(memcached.address, `get ${skey}\r\n`, /END\r\n$/);
    const put = async (skey: string, raw: string): Promise<void> => {
      assert.equal(await memcachedText(memcached.address, `set ${skey} 0 300 ${Buffer.byteLength(raw)}\r\n${raw}\r\n`, /\r\n$/), "STORED\r\n");
    };

    it("reads its entry key from the stack's parameter once per cold start (signed request), and stores only sealed entries", async () => {
      const before = ssm.calls.length;
      const handler = coldStart();
      upstream.behaviour = { ...upstream.behaviour, status: 200, body: '{"sealed":true}', contentType: "application/json", delayMs: 0 };
      assert.equal((await handler({ httpMethod: "GET", path: "/todos/sealed" }, lambdaContext(timeoutSeconds * 1000))).headers["x-cache"], "MISS");
      await handler({ httpMethod: "GET", path: "/todos/sealed2" }, lambdaContext(timeoutSeconds * 1000));
      const calls = ssm.calls.slice(before);
      assert.equal(calls.length, 1, "one GetParameter per execution environment");
      assert.deepEqual([calls[0].name, calls[0].signatureValid, calls[0].sessionToken], [env.CACHE_MAC_KEY_PARAMETER, true, "test-session-token"]);
      assert.match(await rawGet(skeyOf("/todos/sealed")), /\r\n~m1:[A-Za-z0-9_-]{8}:[A-Za-z0-9_-]{43}:\{/);
    });

    it("a poisoned entry (unsigned text/html, or authentic text/html) under its key is never served: it refetches", async () => {
      const ring = namespaceKeyring(parseMacKeys(ENTRY_KEY), namespace());
      const html = { status: 200, contentType: "text/html", body: "<script>alert(document.domain)</script>" };
      const now = Date.now();
      const envelope = JSON.stringify({ s: now, f: now + 300_000, e: now + 600_000, d: html, g: 0 });
      upstream.behaviour = { ...upstream.behaviour, status: 200, body: '{"real":true}', contentType: "application/json", delayMs: 0 };
      for (const [path, raw] of [["/todos/poison1", envelope], ["/todos/poison2", sealEntry(ring, skeyOf("/todos/poison2"), envelope)]] as const) {
        await put(skeyOf(path), raw);
        upstream.requests.length = 0;
        const res = await coldStart()({ httpMethod: "GET", path }, lambdaContext(timeoutSeconds * 1000));
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers["x-cache"], "MISS");
        assert.equal(res.headers["content-type"], "application/json");
        assert.deepEqual(JSON.parse(res.body), { real: true });
        assert.equal(upstream.requests.length, 1);
        assert.equal((await coldStart()({ httpMethod: "GET", path }, lambdaContext(timeoutSeconds * 1000))).headers["x-cache"], "HIT-L2", "repaired");
      }
    });

    it("when the key cannot be read it never touches memcached (no unauthenticated entry), and still answers from the upstream", async () => {
      const handler = coldStart({ CACHE_MAC_KEY_PARAMETER: "/serverless-cache/nope/cache-entry-keys" });
      upstream.behaviour = { ...upstream.behaviour, status: 200, body: '{"nokey":true}', contentType: "application/json", delayMs: 0 };
      upstream.requests.length = 0;
      const ctx = lambdaContext(timeoutSeconds * 1000);
      assert.equal((await handler({ httpMethod: "GET", path: "/todos/nokey" }, ctx)).statusCode, 200);
      assert.equal(await rawGet(skeyOf("/todos/nokey")), "END\r\n", "nothing written");
      const other = coldStart({ CACHE_MAC_KEY_PARAMETER: "/serverless-cache/nope/cache-entry-keys" });
      assert.equal((await other({ httpMethod: "GET", path: "/todos/nokey" }, ctx)).headers["x-cache"], "MISS");
      assert.equal(upstream.requests.length, 2);
    });

    it("an upstream body over UPSTREAM_MAX_BODY_BYTES, or of a content type it does not serve, is a 502", async () => {
      const handler = coldStart({ UPSTREAM_MAX_BODY_BYTES: "65536", CACHE_ERROR_TTL_SECONDS: "0" });
      const ctx = lambdaContext(timeoutSeconds * 1000);
      upstream.behaviour = { ...upstream.behaviour, status: 200, body: JSON.stringify({ blob: "x".repeat(200_000) }), contentType: "application/json", delayMs: 0 };
      const big = await handler({ httpMethod: "GET", path: "/todos/huge" }, ctx);
      assert.equal(big.statusCode, 502);
      assert.equal(JSON.parse(big.body).error.code, "upstream_error");
      upstream.behaviour = { ...upstream.behaviour, body: "<html>login</html>", contentType: "text/html" };
      assert.equal((await handler({ httpMethod: "GET", path: "/todos/html" }, ctx)).statusCode, 502);
      upstream.behaviour = { ...upstream.behaviour, body: "plain words", contentType: "text/plain; charset=utf-8" };
      const text = await handler({ httpMethod: "GET", path: "/todos/text" }, ctx);
      assert.equal(text.statusCode, 200);
      assert.equal(text.headers["content-type"], "text/plain; charset=utf-8");
      assert.equal(text.headers["x-content-type-options"], "nosniff");
    });
  });
});

describe("cache proxy paths (pure): validation, one canonical spelling, upstream URL under the base", () => {
  const refused: Array<[unknown, ProxyPathProblem]> = [
    ["todos/1", "not_absolute"],
    ["", "not_absolute"],
    [42, "not_absolute"],
    [`/${"a".repeat(MAX_PROXY_PATH_LENGTH)}`, "too_long"],
    ["/%2e%2e/%2e%2e/admin", "encoded_separator"],
    ["/%2E%2E/admin", "encoded_separator"],
    ["/.%2e/admin", "encoded_separator"],
    ["/%2e/admin", "encoded_separator"],
    ["/todos/1.%2ejson", "encoded_separator"],
    ["/a%2fb", "encoded_separator"],
    ["/a%2F..%2Fadmin", "encoded_separator"],
    ["/a%5cb", "encoded_separator"],
    ["/a%5C..%5Cadmin", "encoded_separator"],
    ["/%252e%252e/admin", "double_encoding"],
    ["/a%25", "double_encoding"],
    ["/a%2541", "double_encoding"],
    ["/../admin", "dot_segment"],
    ["/todos/../../admin", "dot_segment"],
    ["/./todos", "dot_segment"],
    ["/todos/.", "dot_segment"],
    ["/todos/..", "dot_segment"],
    ["/..;/admin", "dot_segment"],
    ["/todos/..;jsessionid=x/admin", "dot_segment"],
    ["/a//b", "empty_segment"],
    ["//evil.example.com/x", "empty_segment"],
    ["/todos/", "empty_segment"],
    ["/todos/1?admin=1", "query_or_fragment"],
    ["/todos/1%3Fadmin=1", "query_or_fragment"],
    ["/todos/1%3fadmin", "query_or_fragment"],
    ["/todos/1#frag", "query_or_fragment"],
    ["/todos/1%23frag", "query_or_fragment"],
    ["/?", "query_or_fragment"],
    ["/a\\..\\admin", "backslash"],
    ["/\\evil.example.com", "backslash"],
    ["/a%00b", "control_character"],
    ["/a\u0000b", "control_character"],
    ["/a\tb", "control_character"],
    ["/.\t./admin", "control_character"],
    ["/a%0d%0aHost:%20evil", "control_character"],
    ["/a\r\nb", "control_character"],
    ["/a%7f", "control_character"],
    ["/a%c2%85", "control_character"],
    ["/a%zz", "bad_escape"],
    ["/a%", "bad_escape"],
    ["/a%e0%a4%a", "bad_escape"],
    ["/%c0%ae%c0%ae/admin", "bad_escape"],
    ["/%ed%a0%80", "bad_escape"],
    ["/a\ud800b", "bad_escape"],
    ["/%ef%bc%8e%ef%bc%8e/admin", "lookalike"],
    ["/\uff0e\uff0e/admin", "lookalike"],
    ["/a%ef%bc%8fb", "lookalike"],
    ["/a%ef%bc%bcb", "lookalike"],
    ["/a%ef%b9%96", "lookalike"],
    ["/a%ef%b9%9f", "lookalike"],
    ["/a\ufe6a41", "lookalike"],
  ];
  for (const [path, reason] of refused) {
    it(`refuses ${JSON.stringify(path).slice(0, 60)}: ${reason}`, () => {
      const r = checkProxyPath(path);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.reason, reason);
        assert.ok(r.message.length > 0);
      }
    });
  }

  const accepted: Array<[unknown, string]> = [
    [undefined, "/"],
    [null, "/"],
    ["/", "/"],
    ["/todos/1", "/todos/1"],
    ["/todos/%41", "/todos/A"],
    ["/%74odos/1", "/todos/1"],
    ["/todos/%7e", "/todos/~"],
    ["/a%20b", "/a%20b"],
    ["/a b", "/a%20b"],
    ["/caf%c3%a9", "/caf%C3%A9"],
    ["/café", "/caf%C3%A9"],
    ["/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;="],
    ["/%3A%40%24%26%2B%2C%3B%3D", "/:@$&+,;="],
    ["/{x}", "/%7Bx%7D"],
    ["/%7Bx%7D", "/%7Bx%7D"],
    ["/v2/things/x.json", "/v2/things/x.json"],
    ["/a..b/...", "/a..b/..."],
    ["/.well-known/x", "/.well-known/x"],
    ["/a;b", "/a;b"],
    [`/${"a".repeat(MAX_PROXY_PATH_LENGTH - 1)}`, `/${"a".repeat(MAX_PROXY_PATH_LENGTH - 1)}`],
  ];
  for (const [path, canonical] of accepted) {
    it(`accepts ${String(JSON.stringify(path)).slice(0, 40)} as ${canonical.slice(0, 40)}`, () => {
      assert.deepEqual(checkProxyPath(path), { ok: true, path: canonical });
      assert.deepEqual(checkProxyPath(canonical), { ok: true, path: canonical }, "the canonical spelling is a fixed point");
    });
  }

  it("the upstream URL is built with the URL API and stays under the base", () => {
    const base = upstreamBaseOf("https://api.example.com/v1/");
    assert.deepEqual(base, { origin: "https://api.example.com", path: "/v1" });
    assert.equal(upstreamUrlFor(base, "/todos/1"), "https://api.example.com/v1/todos/1");
    assert.equal(upstreamUrlFor(base, "/"), "https://api.example.com/v1/");
    assert.equal(
      upstreamUrlFor(base, canonicalTarget({ path: "/todos/1", queryStringParameters: { q: "it's #1&x=y", a: "1" } })),
      "https://api.example.com/v1/todos/1?a=1&q=it%27s%20%231%26x%3Dy",
      "query values can neither add parameters nor cut the query",
    );
    assert.equal(upstreamUrlFor(upstreamBaseOf("http://127.0.0.1:8080"), "/x"), "http://127.0.0.1:8080/x");
    // Defence in depth: whatever slips past checkProxyPath, a URL that leaves the base (or that the
    // parser rewrote) is never returned.
    for (const escaping of ["/../x", "/%2e%2e/x", "/.%2E/x", "/..\\x", "/../v10/x", "/.\t./x", "/x#y", "/x/../../y"]) {
      assert.equal(upstreamUrlFor(base, escaping), undefined, escaping);
    }
  });

  it("the upstream base must be http(s) without credentials, query or fragment (named UPSTREAM_URL)", () => {
    for (const bad of ["not a url", "ftp://x.example.com", "https://u:p@x.example.com", "https://x.example.com/?a=1", "https://x.example.com/#f", "file:///etc/passwd"]) {
      assert.throws(() => upstreamBaseOf(bad), /UPSTREAM_URL/, bad);
    }
  });

  it("property: every accepted random hostile path resolves under the base, once decoded too; rejected ones say why", () => {
    const tokens = [
      "/", "/", "/", "\\", ".", "..", "...", "%2e", "%2E", "%2f", "%2F", "%5c", "%5C", "%25", "%", "%%", "?", "#", "%3f", "%3F", "%23",
      ";", ";x", "\t", "\n", "\r", "\u0000", "%00", "%0a", "%0D", "%7f", "%c2%85", "a", "b", "Z", "9", "-", "_", "~", "é", "%c3%a9", "%C3%A9",
      "%c0%ae", "%e0%80%ae", "\uff0e", "%ef%bc%8e", "\uff0f", "%ef%bc%8f", "\uff3c", "\u2024", "\u3002", ":", "@", "!", "$", "&", "'", "(", ")",
      "*", "+", ",", "=", " ", "%20", "+", "%41", "%61", "%7e", "%7E", "{", "}", "|", "^", "`", "\"", "<", ">", "[", "]", "//", "/./", "/../",
      "\ud83d\ude00", "%f0%9f%98%80", "\ud800", "%ed%a0%80", "http:", "//evil.example.com", "@evil.example.com", "admin",
    ];
    let seed = 0x5eed1234;
    const random = (): number => {
      // mulberry32: reproducible, so a failure names an input that fails again.
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const bases = ["https://api.example.com", "https://api.example.com/v1", "http://127.0.0.1:8080/a/b"].map(upstreamBaseOf);
    const reasons = new Map<string, number>();
    let acceptedCount = 0;
    for (let i = 0; i < 5000; i++) {
      const n = 1 + Math.floor(random() * 8);
      let path = random() < 0.95 ? "/" : "";
      for (let j = 0; j < n; j++) path += tokens[Math.floor(random() * tokens.length)];
      const r = checkProxyPath(path);
      if (!r.ok) {
        reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
        continue;
      }
      acceptedCount += 1;
      assert.deepEqual(checkProxyPath(r.path), r, `canonical form of ${JSON.stringify(path)} is a fixed point`);
      assert.match(r.path, /^\/([A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-F]{2})*(\/([A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-F]{2})+)*$/, `${JSON.stringify(path)} -> ${r.path}`);
      for (const base of bases) {
        const href = upstreamUrlFor(base, r.path);
        assert.ok(href, `${JSON.stringify(path)} (${r.path}) must resolve under ${base.origin}${base.path}`);
        const url = new URL(href);
        assert.equal(url.origin, base.origin);
        assert.equal(url.search, "");
        assert.ok(url.pathname === `${base.path}/` || url.pathname.startsWith(`${base.path}/`), href);
        // An upstream that decodes the path once still sees no traversal, separator or query.
        for (const segment of url.pathname.slice(base.path.length + 1).split("/")) {
          if (segment === "" && url.pathname === `${base.path}/`) continue;
          const decoded = decodeURIComponent(segment).normalize("NFKC");
          assert.ok(decoded !== "" && decoded.split(";")[0] !== "." && decoded.split(";")[0] !== "..", `${href}: segment ${segment}`);
          assert.ok(!/[/\\?#\u0000-\u001f\u007f-\u009f]/.test(decoded), `${href}: segment ${segment}`);
        }
      }
    }
    assert.ok(acceptedCount > 200, `the generator must also produce acceptable paths (${acceptedCount})`);
    for (const reason of ["encoded_separator", "dot_segment", "empty_segment", "query_or_fragment", "backslash", "control_character", "bad_escape", "double_encoding", "lookalike"]) {
      assert.ok((reasons.get(reason) ?? 0) > 0, `the generator never hit ${reason}: ${JSON.stringify([...reasons])}`);
    }
  });
});
