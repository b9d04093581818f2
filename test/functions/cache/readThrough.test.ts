// getOrLoad over L1 -> L2 -> loader with real memcached and a real HTTP upstream: single-flight,
// cross-process leases, stale-if-error, 502/504 before the deadline, deadline propagation,
// telemetry, and the got-based loader.
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { startMemcached, freePort, type MemcachedServer } from "../../support/memcached";
import { startUpstream, type Upstream } from "../../support/upstream";
import {
  createTwoTierCache, fetchUpstream, isUpstreamError, leaseKey, METRIC,
  type CacheResult, type TwoTierCache, type TwoTierCacheOptions, type UpstreamResponse,
} from "../../../functions/cache";
import { nodeHasKey, recorder, sleep, spawnMemcached } from "./helpers";

const FAST = { opTimeoutMs: 100, connectTimeoutMs: 100 };

describe("cache/getOrLoad (real memcached + real upstream)", function () {
  this.timeout(20_000);
  let mc: MemcachedServer[] = [];
  let up: Upstream;
  const caches: TwoTierCache[] = [];
  let nsCounter = 0;
  const ns = (): string => `rt${process.pid}-${++nsCounter}`;
  const mk = (namespace: string, extra: Partial<TwoTierCacheOptions> = {}): TwoTierCache => {
    const c = createTwoTierCache({ namespace, ...extra, memcached: { servers: mc.map((m) => m.address), ...FAST, ...(extra.memcached ?? {}) } });
    caches.push(c);
    return c;
  };
  const fromUpstream = (p: string) => (ctx: { timeoutMs: number; signal: AbortSignal }): Promise<UpstreamResponse> =>
    fetchUpstream(`${up.url}${p}`, { timeoutMs: ctx.timeoutMs, signal: ctx.signal });

  before(async () => {
    mc = await Promise.all([startMemcached(), startMemcached()]);
    up = await startUpstream();
  });
  beforeEach(() => {
    up.behaviour = { status: 200, body: '{"hello":"world"}', contentType: "application/json", delayMs: 0 };
    up.handler = undefined;
    up.requests.length = 0;
  });
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((c) => c.close()));
  });
  after(async () => {
    await up.close();
    await Promise.all(mc.map((m) => m.stop()));
  });

  describe("single-flight and leases", () => {
    it("200 concurrent misses for one key in one process call the loader once", async () => {
      for (const cache of [mk(ns()), createTwoTierCache({ namespace: ns() })]) {
        let calls = 0;
        const results = await Promise.all(
          Array.from({ length: 200 }, () => cache.getOrLoad("hot", async () => { calls++; await sleep(30); return { n: calls }; })),
        );
        assert.equal(calls, 1);
        assert.ok(results.every((r) => r.source === "MISS" && r.value.n === 1));
        assert.equal((await cache.getOrLoad("hot", async () => ({ n: -1 }))).source, "HIT-L1");
        await cache.close();
      }
    });

    it("across 8 processes (own L1 + memjs client each) the lease lets about one of them load", async () => {
      const name = ns();
      const procs = Array.from({ length: 8 }, () => mk(name));
      await Promise.all(procs.map((p) => p.memcached!.whenReady()));
      let calls = 0;
      const loader = async () => { calls++; await sleep(80); return "v"; };
      const results = await Promise.all(procs.flatMap((p) => Array.from({ length: 25 }, () => p.getOrLoad("cold", loader))));
      assert.equal(results.length, 200);
      assert.ok(results.every((r) => r.value === "v"));
      assert.ok(calls <= 2, `loader called ${calls} times for 8 processes`);
      const sources = new Set(results.map((r) => r.source));
      assert.ok(sources.has("MISS") && sources.has("HIT-L2"), [...sources].join());
    });

    it("without the lease every process loads (control for the test above)", async () => {
      const name = ns();
      const procs = Array.from({ length: 8 }, () => mk(name, { lease: { enabled: false } }));
      await Promise.all(procs.map((p) => p.memcached!.whenReady()));
      let calls = 0;
      await Promise.all(procs.map((p) => p.getOrLoad("cold", async () => { calls++; await sleep(80); return "v"; })));
      assert.equal(calls, 8);
    });

    it("while another process holds the lease, a process with a stale value serves it at once", async () => {
      const name = ns();
      const clockB = () => Date.now() + 90_000; // B and C live 90 s later: the value is stale for them
      const a = mk(name);
      const b = mk(name, { clock: clockB });
      const c = mk(name, { clock: clockB });
      await a.getOrLoad("k", async () => "old", { ttlSeconds: 60, staleTtlSeconds: 300 });
      await a.close();
      let release!: () => void;
      const slow = b.getOrLoad("k", () => new Promise<string>((r) => { release = () => r("new"); }));
      await sleep(30); // b now holds the lease and waits for its loader
      const t = Date.now();
      const rc = await c.getOrLoad("k", async () => { throw new Error("c must not load"); });
      assert.equal(rc.source, "STALE");
      assert.equal(rc.value, "old");
      assert.ok(Date.now() - t < 50);
      release();
      assert.equal((await slow).source, "MISS");
    });

    it("releases the lease before getOrLoad resolves (nothing left in flight when a Lambda freezes)", async () => {
      const cache = mk(ns());
      const r = await cache.getOrLoad("released", async () => 1);
      assert.equal(r.source, "MISS");
      assert.equal(cache.memcached!.pendingOps(), 0, "a memcached operation outlives the answer");
      const lk = leaseKey(cache.storageKey("released"));
      const owner = cache.memcached!.nodeFor(lk)!;
      assert.equal(await nodeHasKey(owner, lk), false, "lease still held after the answer");
      assert.equal(await nodeHasKey(cache.memcached!.nodeFor(cache.storageKey("released"))!, cache.storageKey("released")), true);
    });

    it("a process without a stale value waits for the lease holder's value instead of loading", async () => {
      const name = ns();
      const a = mk(name);
      const b = mk(name, { lease: { waitMs: 500 } });
      let calls = 0;
      const loader = async () => { calls++; await sleep(100); return "v"; };
      const pa = a.getOrLoad("k", loader);
      await sleep(20);
      const rb = await b.getOrLoad("k", loader);
      assert.equal(rb.source, "HIT-L2");
      assert.equal((await pa).source, "MISS");
      assert.equal(calls, 1);
    });
  });

  describe("stale-if-error and upstream errors", () => {
    // Writer stores at "now"; readers live 90 s later (stale: ttl 60 + stale 60) or 130 s later (gone).
    const seed = async (name: string): Promise<void> => {
      const w = mk(name);
      const r = await w.getOrLoad("item", fromUpstream("/item"), { ttlSeconds: 60, staleTtlSeconds: 60 });
      assert.equal(r.source, "MISS");
      await w.close();
    };
    const later = (name: string, offsetMs: number) => mk(name, { clock: () => Date.now() + offsetMs });

    for (const scenario of ["down", "slow", "5xx"] as const) {
      it(`upstream ${scenario}: serves STALE inside the stale window, errors (${scenario === "slow" ? 504 : 502}) after it, before the deadline`, async () => {
        const name = ns();
        await seed(name);
        let url = `${up.url}/item`;
        if (scenario === "down") url = `http://127.0.0.1:${await freePort()}/item`;
        if (scenario === "slow") up.behaviour.delayMs = 5000;
        if (scenario === "5xx") up.behaviour.status = 503;
        const loader = (ctx: { timeoutMs: number; signal: AbortSignal }) => fetchUpstream(url, { timeoutMs: ctx.timeoutMs, signal: ctx.signal });

        // Deadlines are epoch ms on the cache's own clock (shifted here).
        const stale = later(name, 90_000);
        let start = Date.now();
        const r = await stale.getOrLoad("item", loader, { deadline: Date.now() + 90_000 + 300 });
        assert.equal(r.source, "STALE");
        assert.deepEqual(JSON.parse(r.value.body), { hello: "world" });
        assert.ok(r.ageSeconds >= 89 && r.ageSeconds <= 91, `age ${r.ageSeconds}`);
        assert.ok(Date.now() - start < 300, `took ${Date.now() - start} ms`);

        const gone = later(name, 130_000);
        start = Date.now();
        const deadline = Date.now() + 300;
        await assert.rejects(gone.getOrLoad("item", loader, { deadline: deadline + 130_000 }), (e: unknown) => {
          assert.ok(isUpstreamError(e), String(e));
          assert.equal(e.statusCode, scenario === "slow" ? 504 : 502);
          if (scenario === "5xx") assert.equal(e.upstreamStatus, 503);
          return true;
        });
        assert.ok(Date.now() < deadline, `answered ${Date.now() - deadline} ms after the deadline`);
        assert.ok(Date.now() - start < 300);
      });
    }

    it("a loader that ignores its signal and never settles still ends in a 504 before the deadline", async () => {
      const cache = mk(ns());
      const start = Date.now();
      const deadline = start + 200;
      let ctxSeen: { timeoutMs: number; signal: AbortSignal } | undefined;
      await assert.rejects(
        cache.getOrLoad("never", (ctx) => { ctxSeen = ctx; return new Promise(() => undefined); }, { deadline }),
        (e: unknown) => isUpstreamError(e) && e.statusCode === 504,
      );
      assert.ok(Date.now() <= deadline + 5, `late by ${Date.now() - deadline} ms`);
      assert.ok(ctxSeen && ctxSeen.timeoutMs <= 200 && ctxSeen.timeoutMs > 100, `timeoutMs ${ctxSeen?.timeoutMs}`);
      assert.equal(ctxSeen?.signal.aborted, true, "signal aborted at the timeout");
    });

    it("passes the remaining time to the loader (deadline propagation) and caps it by loaderTimeoutMs", async () => {
      const cache = mk(ns(), { defaults: { loaderTimeoutMs: 1000 } });
      const seen: number[] = [];
      await cache.getOrLoad("a", async (ctx) => { seen.push(ctx.timeoutMs); return 1; }, { deadline: Date.now() + 400 });
      await cache.getOrLoad("b", async (ctx) => { seen.push(ctx.timeoutMs); return 1; }, { deadline: Date.now() + 60_000 });
      await cache.getOrLoad("c", async (ctx) => { seen.push(ctx.timeoutMs); return 1; });
      assert.ok(seen[0] <= 400 && seen[0] > 300, `${seen[0]}`);
      assert.deepEqual(seen.slice(1), [1000, 1000]);
      // A deadline already over: no loader call at all.
      let called = false;
      await assert.rejects(cache.getOrLoad("d", async () => { called = true; return 1; }, { deadline: Date.now() - 1 }), (e: unknown) => isUpstreamError(e) && e.statusCode === 504);
      assert.equal(called, false);
    });

    it("a hung memcached (SIGSTOP, generous op timeout) cannot push an answer past the deadline", async () => {
      const m = await spawnMemcached();
      try {
        const cache = createTwoTierCache({ namespace: ns(), memcached: { servers: [m.address], opTimeoutMs: 2000, connectTimeoutMs: 2000 } });
        caches.push(cache);
        await cache.getOrLoad("warm", async () => 0);
        await m.pause();
        const start = Date.now();
        const r = await cache.getOrLoad("k", async () => "from upstream", { deadline: start + 300 });
        assert.equal(r.value, "from upstream");
        assert.ok(Date.now() - start < 300, `took ${Date.now() - start} ms`);
      } finally {
        m.signal("SIGCONT");
        await m.stop();
      }
    });

    it("stale from memcached is used when only L2 has it (fresh process)", async () => {
      const name = ns();
      await seed(name);
      up.behaviour.status = 500;
      const r = await later(name, 61_000).getOrLoad("item", fromUpstream("/item"));
      assert.equal(r.source, "STALE");
      assert.equal(up.requests.length, 2, "one upstream call to seed, one failed refresh, no retries");
    });

    it("serves MISS, then HIT-L1, then HIT-L2 in a new process, with ages", async () => {
      const name = ns();
      const a = mk(name);
      const r1 = await a.getOrLoad("x", fromUpstream("/x"));
      const r2 = await a.getOrLoad("x", fromUpstream("/x"));
      const r3 = await mk(name, { clock: () => Date.now() + 5000 }).getOrLoad("x", fromUpstream("/x"));
      assert.deepEqual([r1.source, r2.source, r3.source], ["MISS", "HIT-L1", "HIT-L2"]);
      assert.equal(r1.ageSeconds, 0);
      assert.ok(r3.ageSeconds >= 4 && r3.ageSeconds <= 6);
      assert.equal(up.requests.length, 1);
    });

    it("ttlSeconds 0 does not cache", async () => {
      const cache = mk(ns());
      let calls = 0;
      await cache.getOrLoad("nocache", async () => ++calls, { ttlSeconds: 0 });
      const r = await cache.getOrLoad("nocache", async () => ++calls, { ttlSeconds: 0 });
      assert.equal(r.source, "MISS");
      assert.equal(calls, 2);
    });
  });

  describe("telemetry", () => {
    it("counts hits, misses, stale, errors and upstream latency", async () => {
      const rec = recorder();
      const name = ns();
      const a = mk(name, { logger: rec.logger, metrics: rec.metrics });
      await a.getOrLoad("m", async () => 1);
      await a.getOrLoad("m", async () => 1);
      await a.close();
      await mk(name, { logger: rec.logger, metrics: rec.metrics }).getOrLoad("m", async () => 1);
      await mk(name, { logger: rec.logger, metrics: rec.metrics }).getOrLoad("fails", async () => { throw new Error("x"); })
        .catch(() => undefined);
      const s = mk(name, { logger: rec.logger, metrics: rec.metrics, clock: () => Date.now() + 90_000 });
      assert.equal((await s.getOrLoad("m", async () => { throw new Error("x"); })).source, "STALE");
      assert.equal(rec.count(METRIC.miss), 1);
      assert.equal(rec.count(METRIC.hitL1), 1);
      assert.equal(rec.count(METRIC.hitL2), 1);
      assert.equal(rec.count(METRIC.stale), 1);
      assert.equal(rec.count(METRIC.upstreamError), 2);
      assert.ok(rec.metricsSeen.some((m) => m.name === METRIC.upstreamLatency && m.unit === "Milliseconds"));
      assert.ok(rec.logs.some((l) => l.level === "warn" && /serving stale/.test(l.message)));
    });

    it("a throwing logger or metrics sink never breaks a request", async () => {
      const boom = () => { throw new Error("telemetry down"); };
      const cache = mk(ns(), { logger: { debug: boom, info: boom, warn: boom, error: boom }, metrics: { addMetric: boom } });
      assert.equal((await cache.getOrLoad("t", async () => 1)).source, "MISS");
      assert.equal((await cache.getOrLoad("t", async () => 1)).source, "HIT-L1");
      await assert.rejects(cache.getOrLoad("u", async () => { throw new Error("x"); }), (e: unknown) => isUpstreamError(e));
    });

    it("works with Powertools Logger and Metrics (EMF)", async () => {
      const metrics = new Metrics({ namespace: "ServerlessCache", serviceName: "cache-test" });
      const logger = new Logger({ serviceName: "cache-test", logLevel: "SILENT" });
      const cache = mk(ns(), { logger, metrics });
      await cache.getOrLoad("p", async () => 1);
      await cache.getOrLoad("p", async () => 1);
      let out = "";
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string | Uint8Array) => { out += String(chunk); return true; }) as typeof process.stdout.write;
      try {
        metrics.publishStoredMetrics();
      } finally {
        process.stdout.write = write;
      }
      const emf = JSON.parse(out.trim().split("\n").pop() as string);
      assert.equal(emf.CacheMiss, 1);
      assert.equal(emf.CacheHitL1, 1);
      assert.ok(emf._aws.CloudWatchMetrics[0].Metrics.some((m: { Name: string }) => m.Name === "UpstreamLatency"));
    });
  });

  describe("fetchUpstream", () => {
    it("returns status, content-type and body, passing headers", async () => {
      up.handler = (req) => ({ body: JSON.stringify({ auth: req.headers["x-api-key"] }), contentType: "application/json; charset=utf-8" });
      const r = await fetchUpstream(`${up.url}/h`, { timeoutMs: 1000, headers: { "x-api-key": "k1" } });
      assert.deepEqual(r, { status: 200, contentType: "application/json; charset=utf-8", body: '{"auth":"k1"}' });
    });

    it("maps non-2xx to 502 (no retries), timeouts to 504, refused connections to 502", async () => {
      for (const status of [500, 503, 404, 301]) {
        up.behaviour.status = status;
        up.requests.length = 0;
        await assert.rejects(fetchUpstream(`${up.url}/s`, { timeoutMs: 1000 }), (e: unknown) => isUpstreamError(e) && e.statusCode === 502 && e.upstreamStatus === status);
        assert.equal(up.requests.length, 1, "no retry");
      }
      up.behaviour.status = 404;
      assert.equal((await fetchUpstream(`${up.url}/s`, { timeoutMs: 1000, acceptStatus: (s) => s === 404 })).status, 404);
      up.behaviour = { ...up.behaviour, status: 200, delayMs: 2000 };
      const t = Date.now();
      await assert.rejects(fetchUpstream(`${up.url}/slow`, { timeoutMs: 150 }), (e: unknown) => isUpstreamError(e) && e.statusCode === 504);
      assert.ok(Date.now() - t < 400, `${Date.now() - t} ms`);
      await assert.rejects(fetchUpstream(`http://127.0.0.1:${await freePort()}/`, { timeoutMs: 500 }), (e: unknown) => isUpstreamError(e) && e.statusCode === 502);
      await assert.rejects(fetchUpstream(`${up.url}/`, { timeoutMs: 0 }), (e: unknown) => isUpstreamError(e) && e.statusCode === 504);
    });

    it("loads got only on the miss path (a cold start that hits the cache never imports it)", async () => {
      const name = ns();
      await mk(name).getOrLoad("lazy", fromUpstream("/lazy"));
      const script = `
        const { createTwoTierCache, fetchUpstream } = require(${JSON.stringify(path.resolve(__dirname, "../../../functions/cache"))});
        const gotLoaded = () => Object.keys(require.cache).some((k) => k.includes("/node_modules/http2-wrapper/") || k.includes("/node_modules/got/"));
        (async () => {
          const cache = createTwoTierCache({ namespace: ${JSON.stringify(name)}, memcached: { servers: ${JSON.stringify(mc.map((m) => m.address))} } });
          const load = (p) => (ctx) => fetchUpstream(${JSON.stringify(up.url)} + p, { timeoutMs: ctx.timeoutMs, signal: ctx.signal });
          const hit = await cache.getOrLoad("lazy", load("/lazy"));
          const afterHit = gotLoaded();
          const miss = await cache.getOrLoad("other-" + Date.now(), load("/other"));
          const afterMiss = gotLoaded();
          await cache.close();
          console.log(JSON.stringify({ hit: hit.source, afterHit, miss: miss.source, afterMiss }));
        })().catch((e) => { console.error(e); process.exit(1); });`;
      // Asynchronous spawn: the upstream lives in this process and must keep answering.
      const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: path.resolve(__dirname, "../../.."), stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      assert.equal(code, 0, stderr);
      assert.deepEqual(JSON.parse(stdout.trim().split("\n").pop() as string), { hit: "HIT-L2", afterHit: false, miss: "MISS", afterMiss: true });
    });
  });
});

// Keep the CacheResult type exercised by the type-check.
export type _Check = CacheResult<UpstreamResponse>;
