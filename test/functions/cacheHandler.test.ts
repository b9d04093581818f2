import * as assert from "node:assert/strict";
import { extractLambdaArchive, type ExtractedLambda } from "../support/lambdaArchive";
import { startMemcached, type MemcachedServer } from "../support/memcached";
import { runProgram } from "../support/program";
import { startUpstream, type Upstream } from "../support/upstream";

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
  const savedEnv = { ...process.env };

  before(async () => {
    const run = await runProgram("dev");
    const fn = run.one("aws:lambda/function:Function", "cache-handler");
    timeoutSeconds = fn.inputs.timeout;
    env = fn.inputs.environment.variables;
    lambda = await extractLambdaArchive(fn.inputs.code);
    memcached = await startMemcached();
    upstream = await startUpstream();
  });

  after(async () => {
    process.env = savedEnv;
    await memcached?.stop();
    await upstream?.close();
    lambda?.remove();
  });

  /** Cold start: the deployed environment, pointed at loopback servers, then a fresh module load. */
  function coldStart(overrides: Record<string, string> = {}): Handler {
    process.env = { ...savedEnv, ...env, MEMCACHED_SERVERS: memcached.address, MEMCACHED_CONFIG_ENDPOINT: memcached.address, UPSTREAM_URL: upstream.url, ...overrides };
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

  it("turns an upstream 500 into a clean 502 JSON error, and caches nothing", async () => {
    const handler = coldStart();
    upstream.requests.length = 0;
    upstream.behaviour = { ...upstream.behaviour, status: 500, body: "boom" };
    const res = await handler({ httpMethod: "GET", path: "/todos/500" }, lambdaContext(timeoutSeconds * 1000));
    assert.equal(res.statusCode, 502);
    assert.equal(res.statusDescription, "502 Bad Gateway");
    assert.equal(JSON.parse(res.body).error.code, "upstream_error");
    upstream.behaviour = { ...upstream.behaviour, status: 200, body: '{"ok":true}' };
    const next = await handler({ httpMethod: "GET", path: "/todos/500" }, lambdaContext(timeoutSeconds * 1000));
    assert.equal(next.statusCode, 200, "the error was not cached");
    assert.equal(upstream.requests.length, 2);
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
});
