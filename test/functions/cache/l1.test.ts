// L1 (in-process) behaviour: TTL expiry, LRU eviction by entries and by bytes.
import * as assert from "node:assert/strict";
import { createL1 } from "../../../functions/cache/l1";
import { createTwoTierCache, isUpstreamError } from "../../../functions/cache";

function fakeClock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

const env = (now: number, freshMs: number, staleMs: number, d: unknown = "v") => ({ s: now, f: now + freshMs, e: now + freshMs + staleMs, d });

describe("cache/L1", () => {
  it("keeps an entry until the end of its stale window, then drops it", () => {
    const clock = fakeClock();
    const l1 = createL1({ maxEntries: 10, maxBytes: 10_000 }, clock.now)!;
    const t0 = clock.now();
    assert.equal(l1.set("a", env(t0, 1000, 2000), 10), true);
    clock.advance(999);
    assert.equal(l1.get("a")?.f, t0 + 1000);
    clock.advance(1500); // stale window
    assert.ok(l1.get("a"), "stale entry kept for stale-if-error");
    clock.advance(501); // t0 + 3000: past the stale window
    assert.equal(l1.get("a"), undefined);
    assert.equal(l1.set("b", env(clock.now() - 10, 5, 5), 10), false, "already past its stale window");
  });

  it("evicts the least recently used entry beyond maxEntries", () => {
    const clock = fakeClock();
    const l1 = createL1({ maxEntries: 3, maxBytes: 1_000_000 }, clock.now)!;
    for (const k of ["a", "b", "c"]) l1.set(k, env(clock.now(), 60_000, 0, k), 10);
    assert.ok(l1.get("a")); // a is now the most recently used
    l1.set("d", env(clock.now(), 60_000, 0, "d"), 10);
    assert.equal(l1.size, 3);
    assert.equal(l1.get("b"), undefined, "b was the LRU entry");
    for (const k of ["a", "c", "d"]) assert.ok(l1.get(k), k);
  });

  it("evicts by bytes and refuses an entry larger than maxBytes", () => {
    const clock = fakeClock();
    // Each entry: 300 value bytes + 1 key byte + 64 overhead = 365; 3 fit in 1100, 4 do not.
    const l1 = createL1({ maxEntries: 100, maxBytes: 1100 }, clock.now)!;
    for (const k of ["a", "b", "c"]) l1.set(k, env(clock.now(), 60_000, 0), 300);
    assert.equal(l1.size, 3);
    assert.equal(l1.bytes, 3 * 365);
    l1.get("a");
    l1.set("d", env(clock.now(), 60_000, 0), 300);
    assert.equal(l1.get("b"), undefined, "LRU entry evicted for bytes");
    assert.ok(l1.bytes <= 1100);
    assert.equal(l1.set("huge", env(clock.now(), 60_000, 0), 2000), false);
    assert.equal(l1.get("huge"), undefined);
    assert.ok(l1.get("a") && l1.get("c") && l1.get("d"));
  });

  it("is disabled with maxEntries 0", () => {
    assert.equal(createL1({ maxEntries: 0 }, Date.now), undefined);
  });

  it("getOrLoad: serves fresh from L1, reloads after the TTL, serves STALE on error inside the stale window only", async () => {
    const clock = fakeClock();
    const cache = createTwoTierCache({ namespace: "l1test", clock: clock.now, defaults: { ttlSeconds: 10, staleTtlSeconds: 20 } });
    let calls = 0;
    const ok = async () => ++calls;
    const fail = async (): Promise<number> => { throw new Error("upstream down"); };

    assert.deepEqual(await cache.getOrLoad("k", ok), { value: 1, source: "MISS", ageSeconds: 0 });
    clock.advance(9_999);
    assert.deepEqual(await cache.getOrLoad("k", ok), { value: 1, source: "HIT-L1", ageSeconds: 9 });
    clock.advance(1); // exactly ttl: no longer fresh
    assert.deepEqual(await cache.getOrLoad("k", ok), { value: 2, source: "MISS", ageSeconds: 0 });
    clock.advance(15_000); // stale, inside the stale window
    assert.deepEqual(await cache.getOrLoad("k", fail), { value: 2, source: "STALE", ageSeconds: 15 });
    clock.advance(15_000); // 30 s after store: past ttl + staleTtl
    await assert.rejects(cache.getOrLoad("k", fail), (e: unknown) => isUpstreamError(e) && e.statusCode === 502);
    assert.equal(calls, 2);
    await cache.close();
  });

  it("getOrLoad: keeps at most maxEntries keys (LRU) and does not keep values larger than maxBytes", async () => {
    const cache = createTwoTierCache({ namespace: "l1test", l1: { maxEntries: 2, maxBytes: 4096 } });
    const loads: string[] = [];
    const load = (k: string, size = 10) => cache.getOrLoad(k, async () => { loads.push(k); return "x".repeat(size); });
    await load("a");
    await load("b");
    assert.equal((await load("a")).source, "HIT-L1");
    await load("c"); // evicts b (LRU)
    assert.equal((await load("a")).source, "HIT-L1");
    assert.equal((await load("b")).source, "MISS");
    assert.equal((await load("big", 5000)).source, "MISS");
    assert.equal((await load("big", 5000)).source, "MISS", "larger than maxBytes: never in L1");
    assert.deepEqual(loads, ["a", "b", "c", "b", "big", "big"]);
    assert.ok(cache.l1Stats().entries <= 2);
    await cache.close();
  });
});
