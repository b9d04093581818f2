// The cache library as Pulumi ships it: a CallbackFunction whose callbackFactory creates the cache,
// serialized under setMocks, laid out like /var/task and executed against real memcached + upstream.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { extractLambdaArchive, type ExtractedLambda } from "../../support/lambdaArchive";
import { startMemcached, type MemcachedServer } from "../../support/memcached";
import { startUpstream, type Upstream } from "../../support/upstream";
import { createTwoTierCache, fetchUpstream, isUpstreamError, requestCacheKey } from "../../../functions/cache";

interface Res { statusCode: number; headers: Record<string, string>; body: string }
type Handler = (event: { path: string }, context: { getRemainingTimeInMillis(): number }) => Promise<Res>;

const context = (ms: number) => { const end = Date.now() + ms; return { getRemainingTimeInMillis: () => end - Date.now() }; };

describe("cache library: survives Pulumi closure serialization (CallbackFunction archive, real memcached + upstream)", function () {
  this.timeout(60_000);
  let mc: MemcachedServer;
  let up: Upstream;
  let lambda: ExtractedLambda;

  before(async () => {
    mc = await startMemcached();
    up = await startUpstream();
    up.handler = (req) => (req.url === "/broken" ? { status: 500, body: "no" } : { body: JSON.stringify({ path: req.url, n: up.requests.length }) });
    let code: unknown;
    await pulumi.runtime.setMocks({
      newResource(args) {
        if (args.type === "aws:lambda/function:Function") code = args.inputs.code;
        return { id: `${args.name}-id`, state: { ...args.inputs, arn: `arn:aws:lambda:us-east-1:123456789012:function:${args.name}` } };
      },
      call(args) { return args.inputs; },
    }, "cache-serialization", "test", false);
    const aws = require("@pulumi/aws") as typeof import("@pulumi/aws");
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../../package.json"), "utf8")) as { dependencies: Record<string, string> };
    const servers = [mc.address];
    const upstreamUrl = up.url;
    const fn = new aws.lambda.CallbackFunction("cache-lib-test", {
      role: "arn:aws:iam::123456789012:role/test",
      timeout: 10,
      // The cache library uses no AWS SDK: leave those packages out of this test archive.
      codePathOptions: { extraExcludePackages: Object.keys(pkg.dependencies).filter((n) => n.startsWith("@aws-sdk/")) },
      callbackFactory: () => {
        // Once per execution environment: every bit of cache state lives in this object.
        const cache = createTwoTierCache({ namespace: "serialized", memcached: { servers }, l1: { maxEntries: 100 } });
        return async (event: { path: string }, ctx: { getRemainingTimeInMillis(): number }): Promise<Res> => {
          const key = requestCacheKey("serialized", { method: "GET", path: event.path });
          try {
            const r = await cache.getOrLoad(
              key,
              (lc) => fetchUpstream(`${upstreamUrl}${event.path}`, { timeoutMs: lc.timeoutMs, signal: lc.signal }),
              { deadline: Date.now() + ctx.getRemainingTimeInMillis() - 100, ttlSeconds: 60 },
            );
            return { statusCode: 200, headers: { "x-cache": r.source, age: String(r.ageSeconds) }, body: r.value.body };
          } catch (e) {
            if (isUpstreamError(e)) return { statusCode: e.statusCode, headers: { "x-cache": "MISS" }, body: e.message };
            throw e;
          }
        };
      },
    });
    await new Promise<void>((resolve) => fn.urn.apply(() => resolve()));
    for (let i = 0; i < 100 && code === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(code, "the mock saw no aws:lambda/function:Function");
    lambda = await extractLambdaArchive(code);
  });

  after(async () => {
    lambda?.remove();
    await up?.close();
    await mc?.stop();
  });

  it("ships our code by value and npm packages as requires (got only as a dynamic import)", () => {
    assert.ok(lambda.entries.includes("node_modules/memjs"));
    assert.ok(lambda.entries.includes("node_modules/lru-cache"));
    assert.ok(lambda.entries.includes("node_modules/got"));
    assert.match(lambda.source, /require\("memjs[^"]*"\)/); // memjs has no exports map: a deep path
    assert.match(lambda.source, /import\("got"\)/);
    assert.doesNotMatch(lambda.source, /require\("got"\)/);
    assert.match(lambda.source, /config get cluster/, "library code serialized by value");
  });

  it("MISS (upstream once), then HIT-L1 when warm, then HIT-L2 after a cold start", async () => {
    up.requests.length = 0;
    const handler = lambda.load<Handler>();
    const first = await handler({ path: "/items/1" }, context(5000));
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers["x-cache"], "MISS");
    assert.deepEqual(JSON.parse(first.body), { path: "/items/1", n: 1 });
    const second = await handler({ path: "/items/1" }, context(5000));
    assert.equal(second.headers["x-cache"], "HIT-L1", "state survives between warm invocations");
    assert.equal(second.body, first.body);
    const cold = lambda.load<Handler>();
    const third = await cold({ path: "/items/1" }, context(5000));
    assert.equal(third.headers["x-cache"], "HIT-L2");
    assert.equal(third.body, first.body);
    assert.equal(up.requests.length, 1);
  });

  it("maps an upstream failure to 502 (UpstreamError recognised across the serialized boundary)", async () => {
    const handler = lambda.load<Handler>();
    const res = await handler({ path: "/broken" }, context(5000));
    assert.equal(res.statusCode, 502);
  });
});
