import * as assert from "node:assert/strict";
import { createTwoTierCache, type TwoTierCache } from "../../../functions/cache";
import { startContainerServer as startPlatformServer, type ContainerServer } from "../../../functions/platform/server";
import { startDemoContainerServer as startContainerServer } from "../../../app/server";
import { startMemcached, type MemcachedServer } from "../../support/memcached";
import { startUpstream, type Upstream } from "../../support/upstream";

/**
 * The container answers plain item GETs from a node:http fast path and everything else through the
 * app. Both must give the same answer: compare a fast-path URL with an equivalent URL that the fast
 * path refuses (a percent-escape) and so goes through the app.
 */
describe("api container server: node:http fast path = app path", function () {
  this.timeout(30000);
  let mc: MemcachedServer;
  let up: Upstream;
  let cache: TwoTierCache;
  let srv: ContainerServer;

  before(async () => {
    mc = await startMemcached();
    up = await startUpstream();
    up.handler = (req) => ({ body: JSON.stringify({ url: req.url }) });
    cache = createTwoTierCache({ namespace: "fastpath", memcached: { servers: [mc.address] } });
    srv = await startContainerServer({ cache, upstreamUrl: up.url, log: () => undefined }, 0, { hostname: "127.0.0.1", overrideGlobalObjects: false });
  });
  after(async () => {
    await srv?.close(1000);
    await cache?.close();
    await up?.close();
    await mc?.stop();
  });

  async function get(path: string, method = "GET") {
    const res = await fetch(`${srv.url}${path}`, { method });
    return { status: res.status, body: await res.text(), headers: Object.fromEntries(res.headers) };
  }

  it("serves the same item, headers and cache state through both paths", async () => {
    up.requests.length = 0;
    const fast = await get("/items/42?lang=de");
    assert.equal(fast.status, 200);
    assert.equal(fast.headers["x-cache"], "MISS");
    assert.equal(fast.headers["x-served-by"], "container");
    assert.equal(fast.headers["content-length"], String(Buffer.byteLength(fast.body)));
    const viaApp = await get("/items/4%32?lang=de"); // same item, refused by the fast path
    assert.equal(viaApp.status, 200);
    assert.equal(viaApp.body, fast.body);
    assert.equal(viaApp.headers["x-cache"], "HIT-L1", "the app path reads the entry the fast path stored");
    assert.equal(viaApp.headers["content-type"], fast.headers["content-type"]);
    assert.equal(viaApp.headers["x-served-by"], "container");
    assert.equal(up.requests.length, 1);
  });

  it("answers HEAD without a body but with the GET's length", async () => {
    const got = await get("/items/7");
    const head = await get("/items/7", "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal(head.headers["content-length"], String(Buffer.byteLength(got.body)));
  });

  it("leaves invalid input to the app's validation (same 4xx JSON as before)", async () => {
    const badLang = await get("/items/42?lang=xx_yy_zz");
    assert.equal(badLang.status, 400);
    assert.equal(JSON.parse(badLang.body).error.code.length > 0, true);
    const twice = await get("/items/42?lang=de&lang=en");
    assert.equal(twice.status, 400);
  });

  it("counts fast-path requests in /runtime's requestNumber", async () => {
    const before = JSON.parse((await get("/runtime")).body).requestNumber as number;
    await get("/items/1");
    await get("/items/2");
    const after = JSON.parse((await get("/runtime")).body).requestNumber as number;
    assert.equal(after, before + 3);
  });

  it("turns an upstream failure into the same JSON error on the fast path", async () => {
    up.handler = () => ({ status: 500, body: "boom" });
    try {
      const res = await get("/items/err1");
      assert.equal(res.status, 502);
      assert.equal(res.headers["cache-control"], "no-store");
      assert.ok(JSON.parse(res.body).error.code);
    } finally {
      up.handler = (req) => ({ body: JSON.stringify({ url: req.url }) });
    }
  });
});

describe("api container server: an app's fast path that throws", function () {
  this.timeout(30000);

  it("costs that request a 500 and is logged; the process and the next requests go on", async () => {
    const logged: string[] = [];
    const srv = await startPlatformServer({
      app: {
        fetch: () => new Response("via fetch", { status: 200 }),
        fastPath: (_method, url) => {
          if (url.startsWith("/throw")) throw new Error("fast path bug");
          if (url.startsWith("/reject")) return Promise.reject(new Error("fast path rejection"));
          return url.startsWith("/fast") ? Promise.resolve({ status: 200, headers: { "content-type": "text/plain" }, body: "fast" }) : undefined;
        },
      },
      log: (_level, message, fields) => { logged.push(`${message}: ${JSON.stringify(fields)}`); },
    }, 0, { hostname: "127.0.0.1", overrideGlobalObjects: false });
    try {
      const answer = async (path: string) => {
        const res = await fetch(`${srv.url}${path}`);
        return `${res.status} ${await res.text()}`;
      };
      assert.match(await answer("/throw"), /^500 .*internal_error/);
      assert.match(await answer("/reject"), /^500 .*internal_error/);
      assert.equal(await answer("/fast"), "200 fast");
      assert.equal(await answer("/other"), "200 via fetch");
      assert.equal(logged.filter((l) => /request failed: .*fast path (bug|rejection)/.test(l)).length, 2, logged.join("\n"));
    } finally {
      await srv.close(1000);
    }
  });
});
