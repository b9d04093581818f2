// Invalidation through every environment: the control event (pure), namespace generations and the
// L1 bound (pure), then two (or three) cache instances sharing REAL memcached nodes: an invalidated
// value is served by no instance for longer than the L1 max age, a flush reaches every instance
// within the same bound, a lost generation is repaired, a node that does not answer is reported.
import * as assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { startMemcached, type MemcachedServer } from "../../support/memcached";
import {
  CONTROL_EVENT_FIELD, createEmfMetrics, createTwoTierCache, generationCheckDue, generationKey, isDirectInvocation, l1EntryUsable,
  mergeGenerations, negativeKind, negativeTtlSeconds, nextGeneration, parseControlEvent, parseGeneration, resilienceCacheOptions,
  resilienceFromEnv, runControlRequest, METRIC, NEGATIVE_MAX_TTL_SECONDS,
  type TwoTierCache, type TwoTierCacheOptions,
} from "../../../functions/cache";
import { isInvalidatable } from "../../../functions/cache/invalidation";
import { nodeHasKey, sleep } from "./helpers";

describe("cache/invalidation: pure parts", () => {
  const alb = { requestContext: { elb: { targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123:targetgroup/x/y" } }, httpMethod: "GET", path: "/items/1", headers: {} };
  const table: { name: string; event: unknown; kind: string }[] = [
    { name: "an ALB event", event: alb, kind: "none" },
    { name: "an ALB event carrying the control field (cannot come from a client; refused anyway)", event: { ...alb, [CONTROL_EVENT_FIELD]: { action: "flush" } }, kind: "forbidden" },
    { name: "an API Gateway proxy event carrying it", event: { requestContext: { apiId: "a" }, [CONTROL_EVENT_FIELD]: { action: "flush" } }, kind: "forbidden" },
    { name: "a function-URL-like event carrying it", event: { rawPath: "/", [CONTROL_EVENT_FIELD]: { action: "flush" } }, kind: "forbidden" },
    { name: "headers only, carrying it", event: { headers: {}, [CONTROL_EVENT_FIELD]: { action: "flush" } }, kind: "forbidden" },
    { name: "requestContext: null still counts as HTTP", event: { requestContext: null, [CONTROL_EVENT_FIELD]: { action: "flush" } }, kind: "forbidden" },
    { name: "a direct flush", event: { [CONTROL_EVENT_FIELD]: { action: "flush" } }, kind: "control" },
    { name: "a direct invalidate", event: { [CONTROL_EVENT_FIELD]: { action: "invalidate", path: "/items/42?lang=de" } }, kind: "control" },
    { name: "invalidate without a path", event: { [CONTROL_EVENT_FIELD]: { action: "invalidate" } }, kind: "invalid" },
    { name: "a relative path", event: { [CONTROL_EVENT_FIELD]: { action: "invalidate", path: "items/1" } }, kind: "invalid" },
    { name: "a path with a space or control character", event: { [CONTROL_EVENT_FIELD]: { action: "invalidate", path: "/items/1 x" } }, kind: "invalid" },
    { name: "an unknown action", event: { [CONTROL_EVENT_FIELD]: { action: "drop-table" } }, kind: "invalid" },
    { name: "a non-object field", event: { [CONTROL_EVENT_FIELD]: "flush" }, kind: "invalid" },
    { name: "a cache-handler request (direct invoke, no field)", event: { path: "/todos/1" }, kind: "none" },
    { name: "not an object", event: "flush", kind: "none" },
    { name: "an inherited field does not count", event: Object.create({ [CONTROL_EVENT_FIELD]: { action: "flush" } }) as unknown, kind: "none" },
  ];
  for (const row of table) {
    it(`parseControlEvent: ${row.name} -> ${row.kind}`, () => {
      assert.equal(parseControlEvent(row.event).kind, row.kind);
    });
  }
  it("isDirectInvocation: only events without any HTTP envelope field", () => {
    assert.equal(isDirectInvocation({ [CONTROL_EVENT_FIELD]: {} }), true);
    assert.equal(isDirectInvocation(alb), false);
    assert.equal(isDirectInvocation(null), false);
    assert.equal(isDirectInvocation([]), false);
  });

  it("generations: parse, merge, next, due", () => {
    assert.equal(parseGeneration("0"), 0);
    assert.equal(parseGeneration(" 1732000000000 "), 1732000000000);
    for (const bad of ["", "-1", "1.5", "1e3", "abc", "99999999999999999"]) assert.equal(parseGeneration(bad), undefined, bad);
    assert.equal(mergeGenerations(5, [undefined, 3, 9, undefined]), 9);
    assert.equal(mergeGenerations(5, [1, undefined]), 5, "never goes down");
    assert.equal(nextGeneration([0], 1000), 1000);
    assert.equal(nextGeneration([5000, 2], 1000), 5001, "above everything seen even with a slow clock");
    assert.equal(generationCheckDue(Number.NEGATIVE_INFINITY, 0, 5000), true);
    assert.equal(generationCheckDue(1000, 5999, 5000), false);
    assert.equal(generationCheckDue(1000, 6000, 5000), true);
    assert.equal(generationCheckDue(1000, 999, 5000), true, "clock went back: check");
    assert.equal(generationKey("api"), "api:gen");
  });

  it("l1EntryUsable: younger than the max age only; no bound without a shared tier", () => {
    assert.equal(l1EntryUsable(1000, 1000, 300), true);
    assert.equal(l1EntryUsable(1000, 1299, 300), true);
    assert.equal(l1EntryUsable(1000, 1300, 300), false);
    assert.equal(l1EntryUsable(1000, 999, 300), false, "clock went back");
    assert.equal(l1EntryUsable(1000, 1e12, Infinity), true);
    assert.equal(l1EntryUsable(1000, 1000, 0), false, "max age 0: always ask memcached");
  });

  it("negative caching: kinds and TTL bounds", () => {
    assert.equal(negativeKind({ upstreamStatus: 404 }), "not-found");
    assert.equal(negativeKind({ upstreamStatus: 410 }), "not-found");
    assert.equal(negativeKind({ upstreamStatus: 500 }), "error");
    assert.equal(negativeKind({}), "error");
    assert.equal(negativeTtlSeconds("not-found", undefined), 5);
    assert.equal(negativeTtlSeconds("error", undefined), 1);
    assert.equal(negativeTtlSeconds("error", { errorTtlSeconds: 0 }), 0);
    assert.equal(negativeTtlSeconds("not-found", { notFoundTtlSeconds: -3 }), 0);
    assert.equal(negativeTtlSeconds("not-found", { notFoundTtlSeconds: 1e9 }), NEGATIVE_MAX_TTL_SECONDS);
    assert.equal(negativeTtlSeconds("not-found", { notFoundTtlSeconds: Number.NaN }), 0);
  });

  it("resilienceFromEnv: defaults, overrides, 0 turns features off, errors name the variable", () => {
    const d = resilienceFromEnv({});
    assert.deepEqual(d, { breakerFailures: 5, breakerOpenMs: 1000, breakerMaxOpenMs: 5000, slowCallMs: 1000, maxConcurrency: 64, maxQueue: 64, queueWaitMs: 100, notFoundTtlSeconds: 5, errorTtlSeconds: 1, l1MaxAgeMs: 5000 });
    const off = resilienceCacheOptions(resilienceFromEnv({ UPSTREAM_BREAKER_FAILURES: "0", UPSTREAM_MAX_CONCURRENCY: "0", CACHE_L1_MAX_AGE_MS: "250" }));
    assert.deepEqual(off.upstream, { breaker: false, bulkhead: false });
    assert.equal(off.l1MaxAgeMs, 250);
    const on = resilienceCacheOptions(d);
    assert.deepEqual(on.upstream, { breaker: { failureThreshold: 5, openMs: 1000, maxOpenMs: 5000, slowCallMs: 1000 }, bulkhead: { maxConcurrent: 64, maxQueue: 64, maxQueueWaitMs: 100 } });
    assert.throws(() => resilienceFromEnv({ CACHE_ERROR_TTL_SECONDS: "301" }), /CACHE_ERROR_TTL_SECONDS=301 must be an integer from 0 to 300/);
    assert.throws(() => resilienceFromEnv({ UPSTREAM_MAX_QUEUE: "-1" }), /UPSTREAM_MAX_QUEUE/);
    assert.throws(() => resilienceFromEnv({ UPSTREAM_BREAKER_OPEN_MS: "2000", UPSTREAM_BREAKER_MAX_OPEN_MS: "1000" }), /UPSTREAM_BREAKER_MAX_OPEN_MS=1000 must not be below/);
  });

  it("EMF sink: only the selected metrics, summed, at most one line per interval, flushed on demand", () => {
    let now = 0;
    const lines: string[] = [];
    const emf = createEmfMetrics({ namespace: "NS", dimensions: { service: "api", runtime: "lambda" }, names: [METRIC.breakerOpen, METRIC.upstreamShed], write: (l) => lines.push(l), clock: () => now, intervalMs: 1000 });
    emf.addMetric(METRIC.upstreamShed, "Count", 1); // first: written at once
    emf.addMetric(METRIC.upstreamShed, "Count", 1);
    emf.addMetric(METRIC.upstreamShed, "Count", 1);
    emf.addMetric(METRIC.hitL1, "Count", 1); // not selected
    assert.equal(lines.length, 1);
    now = 500;
    emf.addMetric(METRIC.breakerOpen, "Count", 1);
    assert.equal(lines.length, 1, "coalesced within the interval");
    emf.flush();
    assert.equal(lines.length, 2);
    const second = JSON.parse(lines[1]) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } };
    assert.equal(second[METRIC.upstreamShed], 2);
    assert.equal(second[METRIC.breakerOpen], 1);
    assert.equal(second.service, "api");
    assert.deepEqual(second._aws.CloudWatchMetrics[0].Dimensions, [["service", "runtime"]]);
    assert.equal(second._aws.CloudWatchMetrics[0].Namespace, "NS");
    assert.equal(JSON.parse(lines[0])[METRIC.hitL1], undefined);
    emf.flush();
    assert.equal(lines.length, 2, "nothing pending, nothing written");
  });

  it("runControlRequest refuses a cache without invalidation, and reports a path that is not cached", async () => {
    const r = await runControlRequest({ action: "flush" }, { getOrLoad: () => undefined }, () => ({ ok: true, key: "k" }), undefined);
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /cannot be invalidated/);
    const l1only = createTwoTierCache({ namespace: "ctl" });
    assert.equal(isInvalidatable(l1only), true);
    const bad = await runControlRequest({ action: "invalidate", path: "/health" }, l1only, () => ({ ok: false, message: "/health is not a cached route" }), undefined);
    assert.deepEqual([bad.ok, bad.error], [false, "/health is not a cached route"]);
    await l1only.close();
  });
});

describe("cache/invalidation: every environment stops serving an invalidated value within the bound (real memcached)", function () {
  this.timeout(30_000);
  let nodes: MemcachedServer[] = [];
  const caches: TwoTierCache[] = [];
  let seq = 0;
  const ns = (): string => `inv${process.pid}-${++seq}`;
  const MAX_AGE = 300;
  const mk = (namespace: string, extra: Partial<TwoTierCacheOptions> = {}): TwoTierCache => {
    const c = createTwoTierCache({
      namespace,
      l1: { maxAgeMs: MAX_AGE },
      defaults: { ttlSeconds: 600, staleTtlSeconds: 600 },
      ...extra,
      memcached: { servers: nodes.map((n) => n.address), opTimeoutMs: 100, connectTimeoutMs: 100, retryFailedNodeAfterMs: 200, ...extra.memcached },
    });
    caches.push(c);
    return c;
  };
  /** The upstream's current content: what a loader returns. */
  const content = { v: "old" };
  const load = (c: TwoTierCache, key: string) => c.getOrLoad(key, async () => content.v);

  before(async () => {
    nodes = await Promise.all([startMemcached(), startMemcached()]);
  });
  beforeEach(() => { content.v = "old"; });
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((c) => c.close()));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  /** Poll `c` until it serves `want`; ms it took. */
  async function until(c: TwoTierCache, key: string, want: string, limitMs: number): Promise<number> {
    const t0 = performance.now();
    for (;;) {
      if ((await load(c, key)).value === want) return performance.now() - t0;
      if (performance.now() - t0 > limitMs) assert.fail(`still not ${want} after ${limitMs} ms`);
      await sleep(5);
    }
  }

  it("invalidate(key): deleted on every node; the other instance serves the old value for at most the L1 max age", async () => {
    const name = ns();
    const a = mk(name);
    const b = mk(name);
    assert.equal((await load(a, "item")).source, "MISS");
    assert.equal((await load(b, "item")).source, "HIT-L2");
    assert.equal((await load(b, "item")).source, "HIT-L1");
    content.v = "new";
    const res = await a.invalidate("item");
    assert.equal(res.ok, true);
    assert.equal(res.nodes.length, 2, "every node was asked");
    assert.deepEqual(res.nodes.map((n) => n.result).sort(), ["deleted", "missing"], "the owner deleted it, the other node had none");
    for (const n of nodes) assert.equal(await nodeHasKey(n.address, a.storageKey("item")), false);
    assert.equal((await load(a, "item")).value, "new", "the invalidating instance reloads at once");
    const took = await until(b, "item", "new", 3000);
    assert.ok(took <= MAX_AGE + 50, `the other instance served the old value for ${took.toFixed(0)} ms (bound ${MAX_AGE} ms)`);
    assert.equal(a.invalidationBoundMs, MAX_AGE);
    console.log(`      measured: old value served by the other instance for ${took.toFixed(0)} ms after invalidate (bound ${MAX_AGE} ms)`);
  });

  it("after an invalidation the old value is not served even as stale when the upstream fails", async () => {
    const name = ns();
    const a = mk(name);
    const b = mk(name);
    await load(a, "k");
    await load(b, "k"); // B: in L1
    await a.invalidate("k");
    await sleep(MAX_AGE + 10);
    await assert.rejects(b.getOrLoad("k", async () => { throw new Error("upstream down"); }), (e: unknown) => (e as { statusCode?: number }).statusCode === 502);
  });

  it("flush(): a new generation on every node; every instance stops serving every older entry within the bound; a load that started before the flush is never served", async () => {
    const name = ns();
    const a = mk(name);
    const b = mk(name);
    const keys = ["x", "y", "z"];
    for (const k of keys) { await load(a, k); await load(b, k); }
    // B starts a slow load of another key before the flush...
    let release: (() => void) | undefined;
    const slowStarted = b.getOrLoad("slow", () => new Promise<string>((r) => { release = () => r("old"); }));
    await sleep(20);
    content.v = "new";
    const genBefore = b.generation();
    const r = await a.flush();
    assert.equal(r.ok, true);
    assert.ok(r.generation > genBefore);
    assert.deepEqual(r.nodes.map((n) => n.result), ["stored", "stored"]);
    for (const n of nodes) assert.ok(await nodeHasKey(n.address, generationKey(name)), `generation on ${n.address}`);
    // ... and finishes after it: stored under the old generation.
    release?.();
    assert.equal((await slowStarted).value, "old");
    const t0 = performance.now();
    for (const k of keys) await until(b, k, "new", 3000);
    const took = performance.now() - t0;
    assert.ok(took <= MAX_AGE + 80, `B served pre-flush values for ${took.toFixed(0)} ms`);
    assert.equal(b.generation(), r.generation);
    const c = mk(name);
    assert.equal((await load(c, "slow")).value, "new", "the value loaded before the flush is not served");
  });

  it("an environment that cannot ask the key's owner node keeps serving its fresh L1 copy (no upstream call); a neighbour's miss is not taken for an invalidation", async () => {
    const name = ns();
    const a = mk(name, { memcached: { retryFailedNodeAfterMs: 60_000, ejectAfterFailures: 1 } });
    let loads = 0;
    const loader = async (): Promise<string> => { loads++; return content.v; };
    // A key owned by the node we are going to stop.
    const victim = nodes[0];
    let key: string;
    for (let i = 0; ; i++) if (a.memcached!.ownerOf(a.storageKey(`k${i}`)) === victim.address) { key = `k${i}`; break; }
    await a.getOrLoad(key, loader);
    await a.getOrLoad("other-warmup", loader); // the generation and connections are known
    await victim.stop();
    try {
      await sleep(MAX_AGE + 10);
      // L1 is past its max age; memcached's owner is unreachable (errors, then ejected: reads go to the neighbour).
      for (let i = 0; i < 6; i++) {
        const r = await a.getOrLoad(key, loader);
        assert.equal(r.source, "HIT-L1", `request ${i}`);
        assert.equal(r.value, "old");
        await sleep(MAX_AGE / 3);
      }
      assert.deepEqual(a.memcached!.ejectedNodes(), [victim.address], "reads of the key went to the ring neighbour meanwhile");
      assert.equal(loads, 2, "the upstream was not called for a key this environment still holds fresh");
    } finally {
      await victim.start();
    }
  });

  it("a node that lost the generation (restart) gets the highest one back; a node that does not answer is reported", async () => {
    const name = ns();
    const a = mk(name);
    await load(a, "k");
    const r = await a.flush();
    const owner = a.memcached!.nodeFor(generationKey(name))!;
    const ownerNode = nodes.find((n) => n.address === owner)!;
    await ownerNode.stop();
    await ownerNode.start(); // empty, as a replaced node
    assert.equal(await nodeHasKey(owner, generationKey(name)), false);
    const fresh = mk(name);
    await load(fresh, "k");
    assert.equal(fresh.generation(), r.generation, "took the highest generation from the other node");
    assert.equal(await nodeHasKey(owner, generationKey(name)), true, "repaired the node");

    const other = nodes.find((n) => n.address !== owner)!;
    await other.stop();
    try {
      const res = await a.invalidate("k");
      assert.equal(res.ok, false);
      assert.deepEqual(res.nodes.find((n) => n.node === other.address)?.result, "error");
      const f = await a.flush();
      assert.equal(f.ok, false);
    } finally {
      await other.start();
    }
  });
});
