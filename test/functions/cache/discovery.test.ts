// ElastiCache Auto Discovery against a fake configuration endpoint (it only answers
// `config get cluster`); the data path always goes to REAL memcached processes.
import * as assert from "node:assert/strict";
import { startMemcached, freePort, type MemcachedServer } from "../../support/memcached";
import { createTwoTierCache, type TwoTierCache, type TwoTierCacheOptions, type MemcachedOptions } from "../../../functions/cache";
import { configReply, currItems, nodeHasKey, sleep, startFakeConfigEndpoint, type FakeConfigEndpoint } from "./helpers";

const node = (m: MemcachedServer, i: number, ip = "127.0.0.1") => ({ host: `node${i}.cache.example`, ip, port: m.port });

describe("cache/discovery (fake config endpoint, real memcached data path)", function () {
  this.timeout(15_000);
  let nodes: MemcachedServer[] = [];
  let endpoint: FakeConfigEndpoint;
  const caches: TwoTierCache[] = [];
  const mk = (namespace: string, memcached: MemcachedOptions, extra: Partial<TwoTierCacheOptions> = {}): TwoTierCache => {
    const c = createTwoTierCache({ namespace, l1: { maxEntries: 0 }, memcached: { opTimeoutMs: 100, connectTimeoutMs: 100, ...memcached }, ...extra });
    caches.push(c);
    return c;
  };

  before(async () => {
    nodes = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
  });
  beforeEach(async () => {
    endpoint = await startFakeConfigEndpoint(configReply(1, [node(nodes[0], 0), node(nodes[1], 1)]));
  });
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((c) => c.close()));
    await endpoint.close();
  });
  after(async () => {
    await Promise.all(nodes.map((m) => m.stop()));
  });

  it("connects to every node listed by the configuration endpoint", async () => {
    const cache = mk("disc1", { configEndpoint: endpoint.address });
    await cache.memcached!.whenReady();
    assert.deepEqual(cache.memcached!.topology(), { source: "discovery", version: 1, nodes: [nodes[0].address, nodes[1].address].sort() });
    const before = await Promise.all(nodes.map((m) => currItems(m.address)));
    for (let i = 0; i < 100; i++) await cache.getOrLoad(`d${i}`, async () => i);
    await cache.close();
    const delta = (await Promise.all(nodes.map((m) => currItems(m.address)))).map((n, i) => n - before[i]);
    assert.ok(delta[0] > 20 && delta[1] > 20, `spread ${delta}`);
    assert.equal(delta[2], 0, "node 2 is not in the cluster");
  });

  it("uses the host name when the IP is empty", async () => {
    endpoint.reply = configReply(4, [{ host: "127.0.0.1", ip: "", port: nodes[2].port }]);
    const cache = mk("disc2", { configEndpoint: endpoint.address });
    await cache.memcached!.whenReady();
    assert.deepEqual(cache.memcached!.topology()?.nodes, [nodes[2].address]);
    await cache.getOrLoad("x", async () => 1);
    assert.ok(await nodeHasKey(nodes[2].address, cache.storageKey("x")));
  });

  it("refreshes in the background without blocking requests, then uses the new node", async () => {
    const cache = mk("disc3", { configEndpoint: endpoint.address, discoveryIntervalMs: 100, discoveryTimeoutMs: 3000 });
    await cache.memcached!.whenReady();
    const keys = Array.from({ length: 60 }, (_, i) => `r${i}`);
    for (const k of keys) await cache.getOrLoad(k, async () => k);
    // The cluster grows, and the endpoint is slow to say so.
    endpoint.reply = configReply(2, [node(nodes[0], 0), node(nodes[1], 1), node(nodes[2], 2)]);
    endpoint.delayMs = 700;
    const seenBefore = endpoint.requests;
    await sleep(120);
    const t0 = Date.now();
    let worst = 0;
    while (Date.now() - t0 < 400) {
      const t = Date.now();
      const r = await cache.getOrLoad(keys[Math.floor(Math.random() * keys.length)], async () => "reloaded");
      worst = Math.max(worst, Date.now() - t);
      assert.equal(r.source, "HIT-L2", "served from the old topology meanwhile");
    }
    assert.ok(endpoint.requests > seenBefore, "a refresh was started");
    assert.ok(worst < 50, `a request waited for the refresh: ${worst} ms`);
    assert.equal(cache.memcached!.topology()?.version, 1, "refresh still in flight");
    const until = Date.now() + 3000;
    while (Date.now() < until && cache.memcached!.topology()?.version !== 2) {
      await cache.getOrLoad("poke", async () => 0);
      await sleep(50);
    }
    assert.equal(cache.memcached!.topology()?.version, 2);
    assert.equal(cache.memcached!.topology()?.nodes.length, 3);
    const before = await currItems(nodes[2].address);
    for (let i = 0; i < 60; i++) await cache.getOrLoad(`new${i}`, async () => i);
    assert.ok((await currItems(nodes[2].address)) - before > 5, "new node gets its share");
    // Keys of the old nodes that did not move to node 2 are still cached.
    const stayed = keys.filter((k) => cache.memcached!.nodeFor(cache.storageKey(k)) !== nodes[2].address);
    for (const k of stayed) assert.equal((await cache.getOrLoad(k, async () => "reloaded")).source, "HIT-L2");
  });

  it("ignores malformed replies and older versions, keeping the current node list", async () => {
    endpoint.reply = configReply(5, [node(nodes[0], 0), node(nodes[1], 1)]);
    const cache = mk("disc4", { configEndpoint: endpoint.address });
    await cache.memcached!.whenReady();
    endpoint.reply = "CONFIG cluster 0 10\r\n5\ngarbage\n\r\nEND\r\n";
    await cache.memcached!.refresh();
    assert.equal(cache.memcached!.topology()?.version, 5);
    assert.equal(cache.memcached!.topology()?.nodes.length, 2);
    endpoint.reply = configReply(4, [node(nodes[2], 2)]);
    await cache.memcached!.refresh();
    assert.deepEqual(cache.memcached!.topology()?.nodes, [nodes[0].address, nodes[1].address].sort());
    endpoint.reply = configReply(6, [node(nodes[2], 2)]);
    await cache.memcached!.refresh();
    assert.deepEqual(cache.memcached!.topology(), { source: "discovery", version: 6, nodes: [nodes[2].address] });
  });

  it("falls back to the endpoint itself when it is plain memcached (answers ERROR)", async () => {
    const cache = mk("disc5", { configEndpoint: nodes[2].address });
    await cache.memcached!.whenReady();
    assert.deepEqual(cache.memcached!.topology(), { source: "static", version: -1, nodes: [nodes[2].address] });
    await cache.getOrLoad("plain", async () => 1);
    assert.ok(await nodeHasKey(nodes[2].address, cache.storageKey("plain")));
    assert.equal((await mk("disc5", { configEndpoint: nodes[2].address }).getOrLoad("plain", async () => 2)).source, "HIT-L2");
  });

  it("falls back to the configured servers when the endpoint is plain memcached", async () => {
    const cache = mk("disc6", { configEndpoint: nodes[2].address, servers: [nodes[0].address, nodes[1].address] });
    await cache.memcached!.whenReady();
    assert.deepEqual(cache.memcached!.topology()?.nodes, [nodes[0].address, nodes[1].address].sort());
  });

  it("does not hold requests for long when the endpoint is unreachable, and uses the servers list", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const cache = mk("disc7", { configEndpoint: dead, servers: [nodes[0].address], initialDiscoveryWaitMs: 100 });
    const t = Date.now();
    const r = await cache.getOrLoad("u", async () => 1);
    assert.ok(Date.now() - t < 150, `${Date.now() - t} ms`);
    assert.equal(r.value, 1);
    await cache.memcached!.whenReady();
    assert.deepEqual(cache.memcached!.topology()?.nodes, [nodes[0].address]);
  });

  it("re-reads the configuration soon after a node error (rate limited), not only on the interval", async () => {
    const victim = await startMemcached();
    try {
      endpoint.reply = configReply(1, [node(nodes[0], 0), node(victim, 9)]);
      const cache = mk("disc8", { configEndpoint: endpoint.address, discoveryIntervalMs: 60_000, discoveryMinIntervalMs: 100 });
      await cache.memcached!.whenReady();
      const seen = endpoint.requests;
      // The cluster replaces the failed node: the endpoint already lists the new one.
      endpoint.reply = configReply(2, [node(nodes[0], 0), node(nodes[1], 1)]);
      await victim.stop();
      await sleep(120);
      const until = Date.now() + 2000;
      let i = 0;
      while (Date.now() < until && cache.memcached!.topology()?.version !== 2) {
        await cache.getOrLoad(`e${i++}`, async () => i);
      }
      assert.ok(endpoint.requests > seen, "no refresh after the error");
      assert.equal(cache.memcached!.topology()?.version, 2);
    } finally {
      await victim.stop();
    }
  });
});
