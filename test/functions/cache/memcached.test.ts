// The memcached tier against REAL memcached processes: placement over several nodes, node loss and
// restart, hung nodes, graceful server close (memjs #162), stuck connects (memjs #117), close() under
// load, hostile keys and oversized values; one memjs client per node (public API only), created and
// closed as discovery adds and removes nodes.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { startMemcached, type MemcachedServer } from "../../support/memcached";
import { startUpstream, type Upstream } from "../../support/upstream";
import { createTwoTierCache, fetchUpstream, METRIC, type TwoTierCache, type TwoTierCacheOptions } from "../../../functions/cache";
import { configReply, currItems, memcachedStats, nodeHasKey, recorder, sleep, spawnMemcached, startFakeConfigEndpoint } from "./helpers";

const FAST = { opTimeoutMs: 100, connectTimeoutMs: 100, retryFailedNodeAfterMs: 400 };

function mk(namespace: string, servers: string[], extra: Partial<TwoTierCacheOptions> = {}): TwoTierCache {
  return createTwoTierCache({
    namespace,
    l1: { maxEntries: 0 }, // every read goes to memcached
    // These tests fire hundreds of concurrent misses for distinct keys at one cache to exercise
    // memcached; the bulkhead (resilience.test.ts) would shed most of them, by design.
    upstream: { bulkhead: false },
    ...extra,
    memcached: { servers, ...FAST, ...(extra.memcached ?? {}) },
  });
}

const keysOf = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe("cache/memcached tier (real memcached)", function () {
  this.timeout(20_000);
  let trio: MemcachedServer[] = [];
  const caches: TwoTierCache[] = [];
  const track = (c: TwoTierCache): TwoTierCache => { caches.push(c); return c; };

  before(async () => {
    trio = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
  });
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((c) => c.close()));
  });
  after(async () => {
    await Promise.all(trio.map((m) => m.stop()));
  });

  it("spreads keys over all nodes exactly where the ring puts them (our ring, one memjs client per node)", async () => {
    const addrs = trio.map((m) => m.address);
    const before = await Promise.all(addrs.map(currItems));
    const cache = track(mk("spread", addrs));
    const keys = keysOf(300, "spread");
    for (const k of keys) assert.equal((await cache.getOrLoad(k, async () => k)).source, "MISS");
    await cache.close(); // waits for the lease releases
    // 300 values, plus the namespace generation the cache writes to every node on first use.
    const delta = (await Promise.all(addrs.map(currItems))).map((n, i) => n - before[i] - 1);
    assert.equal(delta.reduce((a, b) => a + b, 0), 300, `items per node ${delta}`);
    for (const a of addrs) assert.ok(await nodeHasKey(a, "spread:gen"), `generation on ${a}`);
    for (const d of delta) assert.ok(d >= 60, `uneven spread ${delta}`);
    for (const k of keys.slice(0, 60)) {
      const skey = cache.storageKey(k);
      const owner = cache.memcached!.nodeFor(skey)!;
      for (const a of addrs) assert.equal(await nodeHasKey(a, skey), a === owner, `${k} on ${a}, ring says ${owner}`);
    }
  });

  it("stopping one node mid-run loses no request and remaps only that node's keys", async () => {
    const nodes = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
    try {
      const addrs = nodes.map((m) => m.address);
      // A killed node fails its operations at once (connection reset/refused), so a generous operation
      // timeout does not slow its detection; it only keeps a survivor's get from timing out (and its
      // key from being reloaded) when a loaded CI machine stalls the event loop for >100 ms.
      const cache = track(mk("remap", addrs, { memcached: { servers: addrs, opTimeoutMs: 1000 } }));
      const keys = keysOf(240, "remap");
      const loads = new Map<string, number>();
      const loader = (k: string) => async () => { loads.set(k, (loads.get(k) ?? 0) + 1); await sleep(2); return `v:${k}`; };
      await Promise.all(keys.map((k) => cache.getOrLoad(k, loader(k))));
      const ownerBefore = new Map(keys.map((k) => [k, cache.memcached!.nodeFor(cache.storageKey(k))!]));
      const victim = nodes[2];
      const victimKeys = keys.filter((k) => ownerBefore.get(k) === victim.address);
      assert.ok(victimKeys.length > 40, `victim owns ${victimKeys.length}`);

      // Mid-run: 16 workers keep requesting all keys; the node is killed while they run.
      const failures: string[] = [];
      const stopAt = Date.now() + 700;
      const worker = async (w: number): Promise<void> => {
        for (let i = w; Date.now() < stopAt; i = (i + 16) % keys.length) {
          const k = keys[i];
          try {
            const r = await cache.getOrLoad(k, loader(k));
            if (r.value !== `v:${k}`) failures.push(`${k}: wrong value`);
          } catch (e) {
            failures.push(`${k}: ${String(e)}`);
          }
        }
      };
      const workers = Array.from({ length: 16 }, (_, w) => worker(w));
      await sleep(200);
      const loadsAtKill = new Map(loads);
      await victim.stop();
      await Promise.all(workers);
      assert.deepEqual(failures, [], "requests lost while a node died");
      for (const k of keys) {
        if (ownerBefore.get(k) !== victim.address) assert.equal(loads.get(k), loadsAtKill.get(k), `survivor key ${k} reloaded`);
      }
      // Afterwards: the survivors' keys are still where they were and still cached; only the
      // victim's keys moved (to the ring neighbours), and they are cached there.
      const results = await Promise.all(keys.map((k) => cache.getOrLoad(k, loader(k))));
      keys.forEach((k, i) => {
        const now = cache.memcached!.nodeFor(cache.storageKey(k));
        if (ownerBefore.get(k) === victim.address) {
          assert.notEqual(now, victim.address);
          assert.equal(results[i].source, "HIT-L2", `${k} (remapped) should be cached on its new node`);
        } else {
          assert.equal(now, ownerBefore.get(k), `${k} moved although its node is alive`);
          assert.equal(results[i].source, "HIT-L2", `${k} lost although its node is alive`);
        }
      });
      for (const k of victimKeys) assert.ok((loads.get(k) ?? 0) <= 4, `${k} loaded ${loads.get(k)} times`);
      assert.deepEqual(cache.memcached!.ejectedNodes(), [victim.address]);
    } finally {
      await Promise.all(nodes.map((m) => m.stop()));
    }
  });

  describe("a node killed and restarted", () => {
    let up: Upstream;
    before(async () => { up = await startUpstream(); up.handler = (req) => ({ body: JSON.stringify({ path: req.url }) }); });
    after(async () => { await up.close(); });

    it("keeps the process alive and requests succeeding from upstream, then uses the node again", async () => {
      const pair = await Promise.all([startMemcached(), startMemcached()]);
      try {
        const [a, b] = pair;
        const cache = track(mk("restart", [a.address, b.address]));
        const keys = keysOf(60, "restart");
        const get = (k: string) => cache.getOrLoad(k, (ctx) => fetchUpstream(`${up.url}/${k}`, { timeoutMs: ctx.timeoutMs, signal: ctx.signal }));
        await Promise.all(keys.map(get));
        const bKeys = keys.filter((k) => cache.memcached!.nodeFor(cache.storageKey(k)) === b.address);
        assert.ok(bKeys.length > 10);

        await b.stop();
        const t0 = Date.now();
        const upstreamBefore = up.requests.length;
        while (Date.now() - t0 < 600) {
          const results = await Promise.all(keys.map(get));
          results.forEach((r, i) => assert.equal(JSON.parse(r.value.body).path, `/${keys[i]}`));
          await sleep(20);
        }
        // Only b's keys went to the upstream, and only until they were stored on a.
        assert.ok(up.requests.length - upstreamBefore >= bKeys.length, "b's keys were reloaded");
        assert.ok(up.requests.length - upstreamBefore <= bKeys.length * 3, `too many upstream calls: ${up.requests.length - upstreamBefore}`);
        assert.deepEqual(cache.memcached!.ejectedNodes(), [b.address]);

        await b.start(); // empty, as a replaced node would be
        await sleep(FAST.retryFailedNodeAfterMs + 50);
        const deadline = Date.now() + 3000;
        while (Date.now() < deadline && (await currItems(b.address)) === 0) {
          await Promise.all(keys.map(get));
          await sleep(50);
        }
        assert.ok((await currItems(b.address)) > 0, "restarted node is used again");
        assert.deepEqual(cache.memcached!.ejectedNodes(), []);
        for (const k of bKeys) assert.equal(cache.memcached!.nodeFor(cache.storageKey(k)), b.address);
        // b came back empty: its keys are reloaded once, then cached on b again.
        await Promise.all(bKeys.map(get));
        const again = await Promise.all(bKeys.map(get));
        assert.ok(again.every((r) => r.source === "HIT-L2"), "b's keys are cached on b again");
        for (const k of bKeys) assert.ok(await nodeHasKey(b.address, cache.storageKey(k)));
      } finally {
        await Promise.all(pair.map((m) => m.stop()));
      }
    });
  });

  it("survives a graceful server shutdown with requests in flight (memjs #162: lost callbacks)", async () => {
    const m = await spawnMemcached();
    try {
      const cache = track(mk("sigterm", [m.address]));
      const keys = keysOf(20, "term");
      await Promise.all(keys.map((k) => cache.getOrLoad(k, async () => k)));
      let worst = 0;
      let done = 0;
      let hits = 0;
      const stopAt = Date.now() + 1500;
      const worker = async (): Promise<void> => {
        while (Date.now() < stopAt) {
          const k = keys[Math.floor(Math.random() * keys.length)];
          const t = Date.now();
          // A watchdog so a lost callback fails the test quickly instead of hanging it.
          const r = await Promise.race([cache.getOrLoad(k, async () => k), sleep(2000).then(() => "HUNG" as const)]);
          assert.notEqual(r, "HUNG", "a request never settled");
          if (r !== "HUNG") { assert.equal(r.value, k); if (r.source === "HIT-L2") hits++; }
          worst = Math.max(worst, Date.now() - t);
          done++;
        }
      };
      const workers = Array.from({ length: 8 }, worker);
      await sleep(300);
      m.signal("SIGTERM"); // memcached closes every connection cleanly (FIN), in-flight requests get no answer
      await sleep(300);
      await m.start();
      await Promise.all(workers);
      assert.ok(done > 50, `only ${done} requests`);
      assert.ok(worst < FAST.opTimeoutMs + FAST.connectTimeoutMs + 150, `worst latency ${worst} ms`);
      // After the restart the (empty) node is used again.
      const hitsBefore = hits;
      await sleep(FAST.retryFailedNodeAfterMs);
      for (let i = 0; i < 3; i++) for (const k of keys) if ((await cache.getOrLoad(k, async () => k)).source === "HIT-L2") hits++;
      assert.ok(hits > hitsBefore, "node used again after restart");
    } finally {
      await m.stop();
    }
  });

  it("never hangs on memjs's lost-callback race (requests back to back while connections are refused), recovers after restart", async () => {
    // memjs reuses one Server object per node: a refused socket's late 'close' event clears the
    // socket of the NEXT connection attempt, whose request then never calls back (and has no timer).
    // No ejection here, so every request hits the down node back to back.
    const m = await spawnMemcached();
    try {
      const cache = track(mk("race", [m.address], { memcached: { ejectAfterFailures: 1_000_000 } }));
      const keys = keysOf(10, "race");
      let worst = 0;
      let n = 0;
      const hung: string[] = [];
      const loop = async (until: number): Promise<number> => {
        let hits = 0;
        while (Date.now() < until) {
          const k = keys[n++ % keys.length];
          const t = Date.now();
          const r = await Promise.race([cache.getOrLoad(k, async () => k), sleep(1500).then(() => undefined)]);
          if (!r) { hung.push(k); break; }
          if (r.source === "HIT-L2") hits++;
          worst = Math.max(worst, Date.now() - t);
        }
        return hits;
      };
      const t0 = Date.now();
      const running = loop(t0 + 1600);
      await sleep(200);
      m.signal("SIGTERM");
      await sleep(600);
      await m.start();
      await running;
      assert.deepEqual(hung, [], "a request never settled");
      assert.ok(worst < FAST.opTimeoutMs + FAST.connectTimeoutMs + 150, `worst latency ${worst} ms`);
      assert.ok((await loop(Date.now() + 300)) > 0, "client did not recover after the restart");
    } finally {
      await m.stop();
    }
  });

  it("bounds latency on a hung node (SIGSTOP) and ejects it", async () => {
    const [x, y] = await Promise.all([spawnMemcached(), spawnMemcached()]);
    try {
      const cache = track(mk("hung", [x.address, y.address]));
      const keys = keysOf(40, "hung");
      await Promise.all(keys.map((k) => cache.getOrLoad(k, async () => k)));
      const xKeys = keys.filter((k) => cache.memcached!.nodeFor(cache.storageKey(k)) === x.address);
      await x.pause();
      let worst = 0;
      for (const k of xKeys) {
        const t = Date.now();
        const r = await cache.getOrLoad(k, async () => k);
        worst = Math.max(worst, Date.now() - t);
        assert.equal(r.value, k);
      }
      assert.ok(worst < FAST.opTimeoutMs + FAST.connectTimeoutMs + 100, `worst ${worst} ms`);
      assert.deepEqual(cache.memcached!.ejectedNodes(), [x.address]);
      // Once ejected, x's keys are served quickly from y.
      const t = Date.now();
      const again = await Promise.all(xKeys.map((k) => cache.getOrLoad(k, async () => k)));
      assert.ok(Date.now() - t < 50, `ejected node still slows requests: ${Date.now() - t} ms`);
      // Stored on y since the ejection (the first key's write still went to x and timed out).
      const hits = again.filter((r) => r.source === "HIT-L2").length;
      assert.ok(hits >= xKeys.length - 2, `${hits} of ${xKeys.length} served from y`);
    } finally {
      x.signal("SIGCONT");
      await Promise.all([x.stop(), y.stop()]);
    }
  });

  it("recovers from connect timeouts once the node accepts again (memjs #117)", async () => {
    const m = await spawnMemcached(["-b", "1"]);
    const fillers: net.Socket[] = [];
    try {
      await m.pause();
      // Fill the listen backlog so that new connects hang (SYNs dropped).
      for (let i = 0; i < 4; i++) { const s = net.connect(m.port, "127.0.0.1"); s.on("error", () => undefined); fillers.push(s); }
      await sleep(50);
      const cache = track(mk("connect", [m.address], { memcached: { ejectAfterFailures: 1, retryFailedNodeAfterMs: 200 } }));
      for (let i = 0; i < 3; i++) {
        const t = Date.now();
        const r = await cache.getOrLoad(`c${i}`, async () => i);
        assert.equal(r.source, "MISS");
        assert.ok(Date.now() - t < FAST.opTimeoutMs + FAST.connectTimeoutMs + 100, `took ${Date.now() - t} ms`);
        await sleep(250);
      }
      m.signal("SIGCONT");
      for (const s of fillers) s.destroy();
      const until = Date.now() + 4000;
      let source = "";
      while (Date.now() < until && source !== "HIT-L2") {
        await sleep(100);
        source = (await cache.getOrLoad("after", async () => "x")).source;
      }
      assert.equal(source, "HIT-L2", "client stuck after connect timeouts");
    } finally {
      for (const s of fillers) s.destroy();
      m.signal("SIGCONT");
      await m.stop();
    }
  });

  it("close() with requests in flight: every request settles, connections are closed, later calls bypass L2", async () => {
    const addrs = trio.map((m) => m.address);
    const baseline = await Promise.all(addrs.map(async (a) => Number((await memcachedStats(a)).curr_connections)));
    const cache = createTwoTierCache({ namespace: "close", memcached: { servers: addrs, ...FAST }, upstream: { bulkhead: false } });
    const keys = keysOf(100, "close");
    const pending = keys.map((k) => cache.getOrLoad(k, async () => { await sleep(5); return k; }));
    await sleep(2);
    await cache.close();
    const results = await Promise.allSettled(pending);
    assert.ok(results.every((r) => r.status === "fulfilled"), "a request failed because of close()");
    await cache.close(); // idempotent
    await sleep(50);
    const after = await Promise.all(addrs.map(async (a) => Number((await memcachedStats(a)).curr_connections)));
    assert.deepEqual(after, baseline, "connections left open");
    assert.equal((await cache.getOrLoad("after-close", async () => 1)).value, 1);
  });

  it("one client per node: a discovery update closes a removed node's connection, keeps the others', and connects an added node", async () => {
    const [a, b] = trio;
    const entry = (m: MemcachedServer) => ({ host: "localhost", ip: "127.0.0.1", port: Number(m.address.split(":")[1]) });
    const endpoint = await startFakeConfigEndpoint(configReply(1, [entry(a), entry(b)]));
    try {
      const stats = async (m: MemcachedServer) => {
        const st = await memcachedStats(m.address);
        return { curr: Number(st.curr_connections), total: Number(st.total_connections) };
      };
      const base = { a: await stats(a), b: await stats(b) };
      const cache = track(mk("perNode", [], { memcached: { configEndpoint: endpoint.address } }));
      await cache.memcached!.whenReady();
      const keys = keysOf(60, "pn");
      for (const k of keys) await cache.getOrLoad(k, async () => k);
      const busy = { a: await stats(a), b: await stats(b) };
      // One connection per node (stats' own connection is the +1 on curr; total counts it too).
      assert.equal(busy.a.total - base.a.total, 2, "one client connection to a (+ this stats call)");
      assert.equal(busy.b.total - base.b.total, 2, "one client connection to b (+ this stats call)");

      endpoint.reply = configReply(2, [entry(a)]);
      await cache.memcached!.refresh();
      assert.deepEqual(cache.memcached!.topology()!.nodes, [a.address]);
      for (const k of keys) assert.equal((await cache.getOrLoad(k, async () => k)).value, k);
      await sleep(50);
      const after = { a: await stats(a), b: await stats(b) };
      assert.equal(after.b.curr, base.b.curr, "the removed node's connection is closed");
      assert.equal(after.a.total - busy.a.total, 1, "the staying node kept its connection (only this stats call is new)");

      endpoint.reply = configReply(3, [entry(a), entry(b)]);
      await cache.memcached!.refresh();
      for (const k of keys) await cache.getOrLoad(`${k}-again`, async () => k);
      const back = await stats(b);
      assert.equal(back.curr - base.b.curr, 1, "the added node gets one new client connection");
      assert.equal(back.total - after.b.total, 2, "one new connection to b (+ this stats call)");
    } finally {
      await endpoint.close();
    }
  });

  it("ignores memjs's SASL fallback variables (ElastiCache memcached has no SASL) and leaves them as they were", async () => {
    const names = ["MEMCACHIER_USERNAME", "MEMCACHIER_PASSWORD"] as const;
    const saved = names.map((n) => process.env[n]);
    process.env.MEMCACHIER_USERNAME = "someone";
    process.env.MEMCACHIER_PASSWORD = "secret";
    // A pass-through proxy in front of memcached records the opcode of every binary request header
    // (plain memcached answers SASL commands with an error that memjs shrugs off, so only the wire shows it).
    const opcodes: number[] = [];
    const [host, port] = trio[0].address.split(":");
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(port), host);
      let pending = Buffer.alloc(0);
      client.on("data", (d: Buffer) => {
        pending = Buffer.concat([pending, d]);
        while (pending.length >= 24 && pending[0] === 0x80) {
          const total = 24 + pending.readUInt32BE(8);
          if (pending.length < total) break;
          opcodes.push(pending[1]);
          pending = pending.subarray(total);
        }
        upstream.write(d);
      });
      upstream.on("data", (d: Buffer) => client.write(d));
      for (const sock of [client, upstream]) { sock.on("error", () => undefined); sock.on("close", () => { client.destroy(); upstream.destroy(); }); }
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
    try {
      const cache = track(mk("sasl-env", [`127.0.0.1:${(proxy.address() as net.AddressInfo).port}`]));
      assert.equal((await cache.getOrLoad("k", async () => "v")).source, "MISS");
      assert.equal((await cache.getOrLoad("k", async () => "other")).source, "HIT-L2");
      assert.ok(opcodes.length > 0, "requests went through the proxy");
      assert.deepEqual(opcodes.filter((op) => op === 0x20 || op === 0x21), [], "no SASL list/auth request was sent");
      assert.equal(process.env.MEMCACHIER_USERNAME, "someone");
      assert.equal(process.env.MEMCACHIER_PASSWORD, "secret");
    } finally {
      names.forEach((n, i) => { if (saved[i] === undefined) delete process.env[n]; else process.env[n] = saved[i]; });
      await Promise.all(caches.splice(0).map((c) => c.close()));
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  it("uses memjs through its public API only, outside the opt-in TLS transport", () => {
    const source = fs.readFileSync(path.join(__dirname, "../../../functions/cache/memcachedTier.ts"), "utf8");
    const start = source.indexOf("// ---- TLS transport");
    const end = source.indexOf("// ---- node clients");
    assert.ok(start > 0 && end > start, "the TLS transport section is marked");
    const rest = (source.slice(0, start) + source.slice(end)).replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    for (const internal of ["getServer", "_socket", ".connected", "connectCallbacks", "timeoutSet", "responseHandler", ".username", ".password", "client.servers", "as unknown as"]) {
      assert.ok(!rest.includes(internal), `memcachedTier.ts uses ${internal} outside useTls`);
    }
  });

  it("hostile keys never reach memcached as protocol errors", async () => {
    const addrs = trio.map((m) => m.address);
    const rec = recorder();
    const a = track(mk("hostile", addrs, { metrics: rec.metrics }));
    const b = track(mk("hostile", addrs, { metrics: rec.metrics }));
    const hostile = ["k".repeat(10_000), "with spaces in it", "new\nline\r\nset x 0 0 1\r\n", "\u0000\u0007\u001b", "ünïcødé/🚀?q=1&r=2", ""];
    for (const k of hostile) assert.equal((await a.getOrLoad(k, async () => ({ k }))).source, "MISS");
    for (const k of hostile) {
      const r = await b.getOrLoad(k, async () => { throw new Error("must come from memcached"); });
      assert.equal(r.source, "HIT-L2");
      assert.deepEqual(r.value, { k });
    }
    assert.equal(rec.count(METRIC.error), 0);
  });

  it("does not cache values over the item size limit (but answers them), caches values under it", async () => {
    const addrs = trio.map((m) => m.address);
    const rec = recorder();
    const a = track(mk("big", addrs, { logger: rec.logger, metrics: rec.metrics }));
    const b = track(mk("big", addrs, { logger: rec.logger, metrics: rec.metrics }));
    const twoMb = "x".repeat(2 * 1024 * 1024);
    let calls = 0;
    const loadBig = async () => { calls++; return twoMb; };
    const r1 = await a.getOrLoad("big", loadBig);
    assert.equal(r1.source, "MISS");
    assert.equal(r1.value.length, twoMb.length);
    const r2 = await b.getOrLoad("big", loadBig);
    assert.equal(r2.source, "MISS", "a 2 MB value must not be cached");
    assert.equal(calls, 2);
    assert.equal(rec.count(METRIC.tooLarge), 2);
    assert.ok(rec.logs.some((l) => l.level === "warn" && /item size limit/.test(l.message)));
    assert.equal(rec.count(METRIC.error), 0, "no memcached error: the value was never sent");

    const almost = "y".repeat(1_000_000);
    await a.getOrLoad("almost", async () => almost);
    const r3 = await b.getOrLoad("almost", async () => "not this");
    assert.equal(r3.source, "HIT-L2");
    assert.equal(r3.value.length, almost.length);
  });

  it("honours a larger configured item size (memcached -I 2m)", async () => {
    const m = await startMemcached(["-I", "2m"]);
    try {
      const opts = { memcached: { servers: [m.address], maxItemBytes: 2 * 1024 * 1024 } };
      const a = track(mk("big2", [m.address], opts));
      const b = track(mk("big2", [m.address], opts));
      const v = "z".repeat(1_500_000);
      assert.equal((await a.getOrLoad("v", async () => v)).source, "MISS");
      assert.equal((await b.getOrLoad("v", async () => "no")).source, "HIT-L2");
    } finally {
      await m.stop();
    }
  });
});
