// Pure decision logic: ring placement, discovery-reply parsing, freshness/staleness, keys, health.
import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { buildRing, hash32, nodeForKey, ringLookup } from "../../../functions/cache/ring";
import { nodeId, parseDiscoveryReply, parseHostPort, parseNodeEntry, shouldApplyConfig } from "../../../functions/cache/discovery";
import {
  ageSeconds, budgetMs, classify, decodeEnvelope, encodeEnvelope, fitsItemLimit, leaseWaitBudget,
  memcachedExptime, newerUsable, planStore, remainingMs, MEMCACHED_MAX_RELATIVE_EXPTIME,
} from "../../../functions/cache/freshness";
import { canonicalRequest, isSafeMemcachedKey, leaseKey, requestCacheKey, storageKey } from "../../../functions/cache/keys";
import { availability, isAvailable, isEjected, recordFailure, recordSuccess, startProbe } from "../../../functions/cache/health";
import { createUpstreamError, isUpstreamError, toUpstreamError } from "../../../functions/cache/errors";
import { upstreamErrorFromGot } from "../../../functions/cache/upstream";
import { configReply } from "./helpers";

const keys = (n: number, prefix = "k"): string[] => Array.from({ length: n }, (_, i) => storageKey("ring", `${prefix}${i}`));

describe("cache/ring (consistent hashing)", () => {
  const nodes = ["10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"];

  it("is deterministic and independent of node order", () => {
    const a = buildRing(nodes);
    const b = buildRing([...nodes].reverse().concat(nodes[0]));
    assert.deepEqual([...a.points], [...b.points]);
    for (const k of keys(500)) assert.equal(nodeForKey(a, k), nodeForKey(b, k));
  });

  it("spreads keys evenly over nodes (160 virtual nodes)", () => {
    const ring = buildRing(nodes);
    assert.equal(ring.points.length, 3 * 160);
    const counts = new Map<string, number>();
    const ks = keys(30000);
    for (const k of ks) counts.set(nodeForKey(ring, k) as string, (counts.get(nodeForKey(ring, k) as string) ?? 0) + 1);
    assert.equal(counts.size, 3);
    for (const c of counts.values()) assert.ok(Math.abs(c / ks.length - 1 / 3) < 0.06, `share ${c / ks.length}`);
  });

  it("removing a node moves only that node's keys", () => {
    const before = buildRing(nodes);
    const after = buildRing(nodes.slice(0, 2));
    let moved = 0;
    for (const k of keys(20000)) {
      const a = nodeForKey(before, k);
      const b = nodeForKey(after, k);
      if (a === nodes[2]) { moved++; assert.notEqual(b, nodes[2]); } else assert.equal(b, a, "a key of a surviving node moved");
    }
    assert.ok(moved > 5000 && moved < 8500, `moved ${moved}`);
  });

  it("adding a node moves about 1/N of the keys, all to the new node", () => {
    const before = buildRing(nodes);
    const after = buildRing([...nodes, "10.0.0.4:11211"]);
    let moved = 0;
    const ks = keys(20000);
    for (const k of ks) {
      const a = nodeForKey(before, k);
      const b = nodeForKey(after, k);
      if (a !== b) { moved++; assert.equal(b, "10.0.0.4:11211"); }
    }
    assert.ok(Math.abs(moved / ks.length - 0.25) < 0.06, `moved share ${moved / ks.length}`);
  });

  it("skips unavailable nodes without touching other keys, -1 when none is left", () => {
    const ring = buildRing(nodes);
    const down = ring.nodes.indexOf(nodes[1]);
    for (const k of keys(3000)) {
      const h = hash32(k);
      const normal = ringLookup(ring, h);
      const skipping = ringLookup(ring, h, (i) => i !== down);
      if (normal === down) assert.notEqual(skipping, down); else assert.equal(skipping, normal);
    }
    assert.equal(ringLookup(ring, 12345, () => false), -1);
    assert.equal(ringLookup(buildRing([]), 12345), -1);
    assert.equal(nodeForKey(buildRing(["a:1"]), "x"), "a:1");
  });

  it("wraps around the circle", () => {
    const ring = buildRing(nodes);
    const last = ring.points[ring.points.length - 1];
    assert.equal(ringLookup(ring, (last + 1) >>> 0), ring.owners[0]);
    assert.equal(ringLookup(ring, 0xffffffff), last === 0xffffffff ? ring.owners[ring.points.length - 1] : ring.owners[0]);
    assert.equal(ringLookup(ring, ring.points[5]), ring.owners[5]);
  });

  it("hash32 spreads sequential keys", () => {
    const buckets = new Array(16).fill(0);
    for (let i = 0; i < 16000; i++) buckets[hash32(`key-${i}`) >>> 28]++;
    for (const b of buckets) assert.ok(b > 800 && b < 1200, `bucket ${b}`);
  });
});

describe("cache/discovery (config get cluster parser)", () => {
  const aws =
    "CONFIG cluster 0 147\r\n12\nmyCluster.pc4ldq.0001.use1.cache.amazonaws.com|10.82.235.120|11211 myCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|11211\n\r\nEND\r\n";

  it("parses the documented reply (LF-only version line)", () => {
    const r = parseDiscoveryReply(aws);
    assert.equal(r.kind, "config");
    if (r.kind !== "config") return;
    assert.equal(r.config.version, 12);
    assert.deepEqual(r.config.nodes.map((n) => n.id), ["10.82.235.120:11211", "10.80.249.27:11211"]);
    assert.equal(r.config.nodes[0].host, "myCluster.pc4ldq.0001.use1.cache.amazonaws.com");
  });

  it("uses the host when the IP is empty; parses many nodes; drops duplicates", () => {
    const reply = configReply(3, [
      { host: "a.example", ip: "", port: 11211 },
      { host: "b.example", ip: "10.0.0.2", port: 11212 },
      { host: "c.example", ip: "10.0.0.3", port: 11211 },
      { host: "c.example", ip: "10.0.0.3", port: 11211 },
    ]);
    const r = parseDiscoveryReply(reply);
    assert.equal(r.kind, "config");
    if (r.kind !== "config") return;
    assert.deepEqual(r.config.nodes.map((n) => n.id), ["a.example:11211", "10.0.0.2:11212", "10.0.0.3:11211"]);
    assert.equal(r.config.nodes[0].address, "a.example");
  });

  it("answers incomplete for every prefix of a reply, config only for the whole of it", () => {
    for (let cut = 0; cut < aws.length; cut++) {
      assert.equal(parseDiscoveryReply(aws.slice(0, cut)).kind, "incomplete", `prefix of ${cut} bytes`);
    }
    assert.equal(parseDiscoveryReply(aws).kind, "config");
  });

  it("tolerates a wrong byte count and a CRLF version line when the END line is there", () => {
    assert.equal(parseDiscoveryReply(aws.replace(" 147\r\n", " 100\r\n")).kind, "config");
    assert.equal(parseDiscoveryReply(aws.replace(" 147\r\n", " 999\r\n")).kind, "config");
    const crlf = "CONFIG cluster 0 30\r\n7\r\nh|10.0.0.1|11211\r\n\r\nEND\r\n";
    const r = parseDiscoveryReply(crlf);
    assert.equal(r.kind, "config");
    if (r.kind === "config") assert.equal(r.config.version, 7);
  });

  it("recognises plain memcached (ERROR) and other error lines", () => {
    assert.deepEqual(parseDiscoveryReply("ERROR\r\n"), { kind: "unsupported", line: "ERROR" });
    assert.equal(parseDiscoveryReply("CLIENT_ERROR bad command line format\r\n").kind, "unsupported");
    assert.equal(parseDiscoveryReply("SERVER_ERROR out of memory\r\n").kind, "unsupported");
    assert.equal(parseDiscoveryReply("ERR").kind, "incomplete");
  });

  it("rejects malformed replies", () => {
    const bad = [
      "HELLO\r\n",
      "VALUE x 0 1\r\n",
      "CONFIG cluster x 10\r\n1\na|b|1\n\r\nEND\r\n",
      "CONFIG cluster 0 10\r\nv1\na|10.0.0.1|11211\n\r\nEND\r\n", // non-numeric version
      "CONFIG cluster 0 10\r\n1\na|10.0.0.1|0\n\r\nEND\r\n", // port 0
      "CONFIG cluster 0 10\r\n1\na|10.0.0.1|70000\n\r\nEND\r\n", // port too big
      "CONFIG cluster 0 10\r\n1\na|10.0.0.1\n\r\nEND\r\n", // 2 fields
      "CONFIG cluster 0 10\r\n1\na|10.0.0.1|11211|x\n\r\nEND\r\n", // 4 fields
      "CONFIG cluster 0 10\r\n1\n||11211\n\r\nEND\r\n", // neither host nor ip
      "CONFIG cluster 0 3\r\n1\n\r\nEND\r\n", // no node line
      "CONFIG cluster 0 0\r\nEND\r\n", // empty
      "CONFIG cluster 0 10\r\n1\na b\nc\n\r\nEND\r\n", // 3 lines
      "CONFIG cluster 0 10\r\n1\na|10.0.0.1|11211\n\r\nEND\r\nEXTRA", // trailing bytes
      "CONFIG cluster 0 10\r\n1\na|10.0.0.1 x|11211\n\r\nEND\r\n", // space inside entry
      "CONFIG cluster 0 10\r\n1\na|10.0.0.1|11211\u0000\n\r\nEND\r\n", // control char
    ];
    for (const text of bad) assert.equal(parseDiscoveryReply(text).kind, "malformed", JSON.stringify(text));
  });

  it("parses node entries and host:port specs", () => {
    assert.deepEqual(parseNodeEntry("h|1.2.3.4|11211"), { host: "h", ip: "1.2.3.4", port: 11211, address: "1.2.3.4", id: "1.2.3.4:11211" });
    assert.equal(parseNodeEntry("h|1.2.3.4|-1"), undefined);
    assert.equal(parseNodeEntry("h|1.2.3.4|1e3"), undefined);
    assert.deepEqual(parseHostPort("cache.local:11212"), { host: "cache.local", port: 11212 });
    assert.deepEqual(parseHostPort("cache.local"), { host: "cache.local", port: 11211 });
    assert.deepEqual(parseHostPort("[::1]:11300"), { host: "::1", port: 11300 });
    assert.equal(nodeId("::1", 11300), "[::1]:11300");
    for (const bad of ["", ":11211", "h:0", "h:99999", "h:abc", "a:b:c", "h o:1"]) {
      assert.throws(() => parseHostPort(bad), TypeError, bad);
    }
  });

  it("applies only newer-or-equal versions with a different node set", () => {
    const cfg = (version: number, ids: string[]) => ({ version, nodes: ids.map((id) => parseNodeEntry(`h|${id.split(":")[0]}|${id.split(":")[1]}`)!) });
    assert.equal(shouldApplyConfig(undefined, cfg(1, ["10.0.0.1:1"])), true);
    assert.equal(shouldApplyConfig(undefined, cfg(1, [])), false);
    const cur = { version: 5, nodeIds: ["10.0.0.1:1", "10.0.0.2:1"] };
    assert.equal(shouldApplyConfig(cur, cfg(5, ["10.0.0.2:1", "10.0.0.1:1"])), false, "same nodes");
    assert.equal(shouldApplyConfig(cur, cfg(6, ["10.0.0.1:1", "10.0.0.2:1"])), false, "same nodes, newer version");
    assert.equal(shouldApplyConfig(cur, cfg(6, ["10.0.0.1:1", "10.0.0.3:1"])), true);
    assert.equal(shouldApplyConfig(cur, cfg(4, ["10.0.0.1:1"])), false, "older version");
  });
});

describe("cache/freshness", () => {
  const env = { s: 1000, f: 2000, e: 5000, d: "x" };

  it("classifies at the boundaries: fresh before f, stale before e, then expired", () => {
    assert.equal(classify(env, 1000), "fresh");
    assert.equal(classify(env, 1999), "fresh");
    assert.equal(classify(env, 2000), "stale");
    assert.equal(classify(env, 4999), "stale");
    assert.equal(classify(env, 5000), "expired");
    assert.equal(classify({ f: 10, e: 10 }, 10), "expired", "no stale window");
    assert.equal(ageSeconds(env, 3999), 2);
    assert.equal(ageSeconds(env, 500), 0);
  });

  it("plans lifetimes: exptime = ttl + staleTtl, rounded up, absolute beyond 30 days", () => {
    const now = 1_700_000_000_000;
    assert.deepEqual(planStore(60, 300, now), { freshUntil: now + 60_000, staleUntil: now + 360_000, exptime: 360 });
    assert.deepEqual(planStore(0.5, 0, now), { freshUntil: now + 500, staleUntil: now + 500, exptime: 1 });
    assert.deepEqual(planStore(10, -5, now), { freshUntil: now + 10_000, staleUntil: now + 10_000, exptime: 10 });
    assert.equal(planStore(0, 300, now), undefined);
    assert.equal(planStore(-1, 300, now), undefined);
    assert.equal(planStore(NaN, 300, now), undefined);
    assert.equal(planStore(Infinity, 300, now), undefined);
    assert.equal(memcachedExptime(MEMCACHED_MAX_RELATIVE_EXPTIME, now), MEMCACHED_MAX_RELATIVE_EXPTIME);
    assert.equal(memcachedExptime(MEMCACHED_MAX_RELATIVE_EXPTIME + 1, now), Math.floor(now / 1000) + MEMCACHED_MAX_RELATIVE_EXPTIME + 1);
    assert.equal(memcachedExptime(1.2, now), 2);
  });

  it("picks the newest usable stale candidate", () => {
    const a = { s: 1, f: 2, e: 100 };
    const b = { s: 5, f: 6, e: 100 };
    const dead = { s: 9, f: 9, e: 10 };
    assert.equal(newerUsable(a, b, 50), b);
    assert.equal(newerUsable(b, a, 50), b);
    assert.equal(newerUsable(a, dead, 50), a);
    assert.equal(newerUsable(undefined, dead, 50), undefined);
    assert.equal(newerUsable(undefined, undefined, 50), undefined);
  });

  it("derives time budgets from the deadline", () => {
    assert.equal(remainingMs(undefined, 5), Infinity);
    assert.equal(remainingMs(100, 40), 60);
    assert.equal(remainingMs(100, 140), 0);
    assert.equal(budgetMs(150, 1000, 900), 100);
    assert.equal(budgetMs(150, undefined, 900), 150);
    assert.equal(budgetMs(150, 800, 900), 0);
    assert.equal(leaseWaitBudget(250, undefined, 0), 250);
    assert.equal(leaseWaitBudget(250, 100, 0), 50);
    assert.equal(leaseWaitBudget(250, 0, 10), 0);
  });

  it("encodes and decodes envelopes, rejecting anything else", () => {
    const e = { s: 1, f: 2, e: 3, d: { a: [1, "ü"] } };
    assert.deepEqual(decodeEnvelope(encodeEnvelope(e) as string), e);
    assert.equal(encodeEnvelope({ s: 1, f: 2, e: 3, d: undefined }), undefined);
    assert.equal(encodeEnvelope({ s: 1, f: 2, e: 3, d: 10n as unknown }), undefined);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(encodeEnvelope({ s: 1, f: 2, e: 3, d: cyclic }), undefined);
    for (const raw of ["", "{", "null", "42", '"x"', '{"s":1,"f":2,"e":3}', '{"s":"1","f":2,"e":3,"d":1}', '{"s":5,"f":2,"e":3,"d":1}']) {
      assert.equal(decodeEnvelope(raw), undefined, raw);
    }
    assert.deepEqual(decodeEnvelope('{"s":1,"f":2,"e":3,"d":null}'), { s: 1, f: 2, e: 3, d: null });
  });

  it("checks the item size limit including key and overhead", () => {
    assert.equal(fitsItemLimit(1000, 50, 1130), true);
    assert.equal(fitsItemLimit(1001, 50, 1130), false);
    assert.equal(fitsItemLimit(2 * 1024 * 1024, 60, 1024 * 1024), false);
  });
});

describe("cache/keys", () => {
  it("derives the same key whatever the order of query keys and header case", () => {
    const a = requestCacheKey("api", { method: "get", path: "/items", query: { b: "2", a: ["x", "y"], z: undefined }, headers: { Accept: "application/json", "X-Other": "1" }, varyHeaders: ["accept"] });
    const b = requestCacheKey("api", { method: "GET", path: "/items", query: { a: ["x", "y"], b: "2" }, headers: { accept: "application/json" }, varyHeaders: ["ACCEPT", "Accept"] });
    assert.equal(a, b);
    assert.match(a, /^api:[A-Za-z0-9_-]{43}$/);
  });

  it("derives different keys for different identities", () => {
    const base = { method: "GET", path: "/items", query: { a: ["x", "y"] }, headers: { accept: "json" }, varyHeaders: ["accept"] };
    const variants = [
      base,
      { ...base, method: "HEAD" },
      { ...base, path: "/items/" },
      { ...base, query: { a: ["y", "x"] } }, // order of repeated values is kept
      { ...base, query: { a: "x,y" } },
      { ...base, query: { a: ["x", "y"], b: "" } },
      { ...base, headers: { accept: "xml" } },
      { ...base, headers: { accept: "" } }, // empty differs from missing
      { ...base, headers: {} },
      { ...base, varyHeaders: [] },
    ];
    const seen = new Set(variants.map((v) => requestCacheKey("api", v)));
    assert.equal(seen.size, variants.length);
    assert.notEqual(requestCacheKey("api", base), requestCacheKey("api2", base));
    // Headers outside varyHeaders do not matter.
    assert.equal(requestCacheKey("api", { ...base, headers: { accept: "json", cookie: "a=1" } }), requestCacheKey("api", base));
    // The canonical form is unambiguous JSON.
    assert.notEqual(canonicalRequest("n", { method: "GET", path: "/a", query: { "a&b": "c" } }), canonicalRequest("n", { method: "GET", path: "/a", query: { a: "", b: "c" } }));
  });

  it("turns hostile keys into safe memcached keys", () => {
    const hostile = [
      "x".repeat(100_000), "with spaces", "new\nline\r\n", "\u0000\u0001\u007f", "ünïcødé 🚀", "get foo\r\nset bar 0 0 1\r\nx", "", " ",
      randomBytes(300).toString("latin1"),
    ];
    for (const k of hostile) {
      const s = storageKey("ns", k);
      assert.ok(isSafeMemcachedKey(s), JSON.stringify(s));
      assert.ok(isSafeMemcachedKey(leaseKey(s)));
      assert.ok(Buffer.byteLength(leaseKey(storageKey("n".repeat(64), k))) <= 250);
    }
    assert.notEqual(storageKey("ns", "a"), storageKey("ns", "b"));
    assert.notEqual(storageKey("ns", "a"), storageKey("ns2", "a"));
    assert.equal(isSafeMemcachedKey("a b"), false);
    assert.equal(isSafeMemcachedKey("a".repeat(251)), false);
    assert.equal(isSafeMemcachedKey("é"), false);
  });

  it("validates namespaces", () => {
    for (const bad of ["", "has space", "a:b", "x".repeat(65), "ü"]) assert.throws(() => requestCacheKey(bad, { method: "GET", path: "/" }), TypeError);
  });
});

describe("cache/health (ejection)", () => {
  const policy = { ejectAfterFailures: 2, retryAfterMs: 1000 };

  it("ejects after N consecutive failures, retries after the retry time, re-ejects on a failed probe", () => {
    let r = recordFailure(undefined, 0, policy);
    assert.equal(r.ejected, false);
    assert.equal(isAvailable(r.health, 0), true);
    r = recordFailure(r.health, 10, policy);
    assert.equal(r.ejected, true);
    assert.equal(isAvailable(r.health, 500), false);
    assert.equal(availability(r.health, 1010), "probe", "retry time over: one request may probe");
    const probing = startProbe(r.health, 1010, 200);
    assert.equal(availability(probing, 1100), "down", "others skip it while the probe is in flight");
    assert.equal(availability(probing, 1210), "probe", "a probe that never settled frees the slot");
    assert.equal(isEjected(probing), true);
    r = recordFailure(probing, 1020, policy);
    assert.equal(r.ejected, true, "failed probe ejects at once");
    assert.equal(isAvailable(r.health, 1500), false);
    assert.equal(isAvailable(recordSuccess(), 1500), true);
    assert.equal(isEjected(recordSuccess()), false);
    assert.equal(availability(undefined, 0), "up");
    assert.equal(recordFailure(recordSuccess(), 0, policy).ejected, false, "success resets the count");
    assert.equal(recordFailure(undefined, 0, { ejectAfterFailures: 1, retryAfterMs: 5 }).ejected, true);
  });
});

describe("cache/errors", () => {
  it("maps loader failures to 502/504 and recognises UpstreamErrors by shape", () => {
    const e = createUpstreamError(504, "slow", { upstreamStatus: 0, cause: 1 });
    assert.ok(e instanceof Error);
    assert.equal(isUpstreamError(e), true);
    assert.equal(isUpstreamError({ name: "UpstreamError", statusCode: 502, message: "from another module copy" }), true);
    assert.equal(isUpstreamError({ name: "UpstreamError", statusCode: 500 }), false);
    assert.equal(isUpstreamError(new Error("x")), false);
    assert.equal(isUpstreamError(null), false);
    assert.equal(toUpstreamError(e), e);
    assert.equal(toUpstreamError(new Error("boom")).statusCode, 502);
    assert.equal(toUpstreamError("string thrown").statusCode, 502);
    assert.equal(toUpstreamError(Object.assign(new Error("t"), { name: "TimeoutError" })).statusCode, 504);
    assert.equal(toUpstreamError(Object.assign(new Error("t"), { code: "ETIMEDOUT" })).statusCode, 504);
    const ac = new AbortController();
    ac.abort(createUpstreamError(504, "deadline"));
    assert.equal(upstreamErrorFromGot(new Error("aborted"), "u", ac.signal).message, "deadline");
    const ac2 = new AbortController();
    ac2.abort();
    assert.equal(upstreamErrorFromGot(new Error("aborted"), "u", ac2.signal).statusCode, 504);
    assert.equal(upstreamErrorFromGot(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }), "u").statusCode, 502);
  });
});
