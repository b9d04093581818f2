import { randomUUID } from "node:crypto";
import { createUpstreamError, toUpstreamError, type UpstreamError } from "./errors";
import {
  ageSeconds,
  budgetMs,
  classify,
  decodeEnvelope,
  encodeEnvelope,
  fitsItemLimit,
  leaseWaitBudget,
  newerUsable,
  planStore,
  remainingMs,
  type Envelope,
} from "./freshness";
import { assertNamespace, leaseKey, storageKey } from "./keys";
import { createL1, type L1Cache, type L1Options } from "./l1";
import { createMemcachedTier, MEMCACHED_DEFAULTS, type MemcachedOptions, type MemcachedTier } from "./memcachedTier";
import { createTelemetry, METRIC, type CacheLogger, type CacheMetrics } from "./telemetry";

/** Where an answer came from; handlers put it in an `x-cache` header. */
export type CacheSource = "HIT-L1" | "HIT-L2" | "MISS" | "STALE";

export interface CacheResult<T> {
  value: T;
  source: CacheSource;
  /** Seconds since the value was stored (0 for MISS). */
  ageSeconds: number;
}

/** What a loader gets. */
export interface LoaderContext {
  /** ms the loader may take (derived from the deadline); the loader's result is ignored after that. */
  timeoutMs: number;
  /** Aborted when `timeoutMs` is over: pass it to the HTTP client. */
  signal: AbortSignal;
}

/** Per-call options of getOrLoad. */
export interface GetOrLoadOptions {
  /** Seconds a stored value is fresh. Default: `defaults.ttlSeconds` (60). <= 0: do not cache. */
  ttlSeconds?: number;
  /** Seconds after `ttlSeconds` during which the value may still be served as STALE (on upstream error, or while another process refreshes it). Default: `defaults.staleTtlSeconds` (300). */
  staleTtlSeconds?: number;
  /**
   * Epoch ms: the answer (or the error) must come before this. Pass
   * `Date.now() + context.getRemainingTimeInMillis() - safetyMarginMs`. Default: none (each step
   * then only has its own timeout; the loader gets `defaults.loaderTimeoutMs`).
   */
  deadline?: number;
}

export interface ReadThroughCache {
  getOrLoad<T>(key: string, loader: (ctx: LoaderContext) => Promise<T>, options?: GetOrLoadOptions): Promise<CacheResult<T>>;
  close(): Promise<void>;
}

/** Defaults applied when getOrLoad's options leave something out. */
export interface CacheDefaults {
  /** Seconds a value is fresh. Default 60. */
  ttlSeconds?: number;
  /** Extra seconds a value is kept to be served STALE. Default 300. */
  staleTtlSeconds?: number;
  /** Longest a loader may run (ms), also when the deadline is further away. Default 5000. */
  loaderTimeoutMs?: number;
  /**
   * Time (ms) kept back from the deadline when giving the loader its timeout, so the answer (stale
   * value or error) is produced before the deadline even when timers fire a little late. Default 25.
   */
  deadlineReserveMs?: number;
}

/** Cross-process stampede protection (a memcached `add` lease per key). */
export interface LeaseOptions {
  /** Use leases. Default true (needs memcached). */
  enabled?: boolean;
  /**
   * Lease lifetime in memcached (seconds, >= 1). While it lasts, other processes do not call the
   * upstream for this key: they serve stale or wait. Released as soon as the value is stored; kept
   * until it expires when the loader fails (so a failing upstream is not hammered by every process).
   * Default: ceil(loaderTimeoutMs / 1000).
   */
  ttlSeconds?: number;
  /** How long (ms) a process without a stale value waits for the lease holder's value (at most half the time left). Default 250. */
  waitMs?: number;
  /** Poll interval (ms) while waiting. Default 20. */
  pollIntervalMs?: number;
}

export interface TwoTierCacheOptions {
  /** Namespace of every key (1-64 chars of `[A-Za-z0-9_.-]`); change it (or bump a version in it) to drop everything. Required. */
  namespace: string;
  /** L2 settings. Omit for an L1-only cache. */
  memcached?: MemcachedOptions;
  /** L1 settings. Default: 1000 entries / 16 MiB. */
  l1?: L1Options;
  /** Defaults of getOrLoad options. */
  defaults?: CacheDefaults;
  /** Stampede protection across processes. */
  lease?: LeaseOptions;
  /** Powertools Logger (or compatible). Default: silent. */
  logger?: CacheLogger;
  /** Powertools Metrics (or compatible); the handler publishes them. Default: none. */
  metrics?: CacheMetrics;
  /** Clock (epoch ms), for tests. Default Date.now. */
  clock?: () => number;
}

/** What createTwoTierCache returns: the ReadThroughCache plus diagnostics. */
export interface TwoTierCache extends ReadThroughCache {
  /** Remove a key from L1 and memcached. */
  delete(key: string): Promise<void>;
  /** The memcached key a caller key is stored under. */
  storageKey(key: string): string;
  /** memcached tier (undefined for an L1-only cache): topology, node of a key, ejected nodes. */
  readonly memcached: MemcachedTier | undefined;
  /** L1 stats. */
  l1Stats(): { entries: number; bytes: number };
}

export const CACHE_DEFAULTS = { ttlSeconds: 60, staleTtlSeconds: 300, loaderTimeoutMs: 5000, deadlineReserveMs: 25 } as const;
export const LEASE_DEFAULTS = { enabled: true, waitMs: 250, pollIntervalMs: 20 } as const;

/**
 * Create a two-tier read-through cache. Call it once per execution environment (in the Lambda
 * `callbackFactory`, or at module scope in a normal process): every bit of state lives in the
 * returned object.
 */
export function createTwoTierCache(options: TwoTierCacheOptions): TwoTierCache {
  assertNamespace(options.namespace);
  const ns = options.namespace;
  const clock = options.clock ?? Date.now;
  const tel = createTelemetry(options.logger, options.metrics);
  const defaults = {
    ttlSeconds: options.defaults?.ttlSeconds ?? CACHE_DEFAULTS.ttlSeconds,
    staleTtlSeconds: options.defaults?.staleTtlSeconds ?? CACHE_DEFAULTS.staleTtlSeconds,
    loaderTimeoutMs: options.defaults?.loaderTimeoutMs ?? CACHE_DEFAULTS.loaderTimeoutMs,
    deadlineReserveMs: Math.max(0, options.defaults?.deadlineReserveMs ?? CACHE_DEFAULTS.deadlineReserveMs),
  };
  const lease = {
    enabled: options.lease?.enabled ?? LEASE_DEFAULTS.enabled,
    ttlSeconds: Math.max(1, Math.ceil(options.lease?.ttlSeconds ?? defaults.loaderTimeoutMs / 1000)),
    waitMs: options.lease?.waitMs ?? LEASE_DEFAULTS.waitMs,
    pollIntervalMs: Math.max(1, options.lease?.pollIntervalMs ?? LEASE_DEFAULTS.pollIntervalMs),
  };
  const l1: L1Cache | undefined = createL1(options.l1, clock);
  const tier: MemcachedTier | undefined = options.memcached ? createMemcachedTier(options.memcached, tel, clock) : undefined;
  const maxItemBytes = tier?.maxItemBytes ?? options.memcached?.maxItemBytes ?? MEMCACHED_DEFAULTS.maxItemBytes;
  // Mutated, never reassigned (closure serialization keeps its identity across warm invocations).
  const state = { closed: false, flights: new Map<string, Promise<CacheResult<unknown>>>() };

  const l2 = (): MemcachedTier | undefined => (state.closed ? undefined : tier);

  /** storageKey() with a small memo for short, repeated keys (sha256 is most of an L1 hit's cost). */
  const keyMemo = new Map<string, string>();
  function skeyOf(key: string): string {
    if (key.length > 512) return storageKey(ns, key);
    let s = keyMemo.get(key);
    if (s === undefined) {
      if (keyMemo.size >= 10_000) keyMemo.clear();
      s = storageKey(ns, key);
      keyMemo.set(key, s);
    }
    return s;
  }

  /** Time a cache round trip may take: half of what is left before the deadline (Infinity without one; the tier caps it at its op timeout). */
  function cacheBudget(deadline: number | undefined): number {
    const left = remainingMs(deadline, clock());
    return left === Infinity ? Infinity : Math.floor(left / 2);
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  }

  function result<T>(env: Envelope<T>, source: CacheSource, now: number): CacheResult<T> {
    return { value: env.d, source, ageSeconds: source === "MISS" ? 0 : ageSeconds(env, now) };
  }

  /** Run the loader with a hard timeout; resolves/rejects by `timeoutMs` at the latest. */
  function runLoader<T>(loader: (ctx: LoaderContext) => Promise<T>, timeoutMs: number): Promise<T> {
    if (!(timeoutMs > 0)) return Promise.reject(createUpstreamError(504, "no time left to call the upstream before the deadline"));
    return new Promise<T>((resolve, reject) => {
      const ac = new AbortController();
      const timer = setTimeout(() => {
        const err = createUpstreamError(504, `upstream did not answer within ${Math.round(timeoutMs)} ms`);
        ac.abort(err);
        reject(err);
      }, timeoutMs);
      let p: Promise<T>;
      try {
        p = Promise.resolve(loader({ timeoutMs: Math.floor(timeoutMs), signal: ac.signal }));
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(
        (v) => { clearTimeout(timer); resolve(v); },
        (e) => { clearTimeout(timer); reject(e); },
      );
    });
  }

  /** Read a fresh-or-stale envelope from memcached. */
  async function readL2<T>(skey: string, deadline: number | undefined): Promise<{ env?: Envelope<T>; bytes: number; failed: boolean }> {
    const t = l2();
    // A slow cache must not eat the time the loader needs: a read gets at most half of what is left.
    const budget = cacheBudget(deadline);
    if (!t || budget < 1) return { bytes: 0, failed: false };
    const r = await t.get(skey, budget);
    if (r.kind === "error") {
      tel.metric(METRIC.error);
      tel.log("debug", "cache: memcached get failed, treated as a miss", { reason: r.reason });
      return { bytes: 0, failed: true };
    }
    if (r.kind === "miss") return { bytes: 0, failed: false };
    const env = decodeEnvelope<T>(r.raw);
    if (!env) {
      tel.metric(METRIC.error);
      tel.log("warn", "cache: undecodable entry in memcached, treated as a miss", { key: skey });
      return { bytes: 0, failed: true };
    }
    return { env, bytes: r.bytes, failed: false };
  }

  /**
   * Release a lease, awaited: nothing is left in flight when the handler returns (Lambda freezes the
   * process then; a timer of an operation left behind would fire after the thaw and wrongly count as
   * a node failure). Without time left the lease simply expires.
   */
  async function releaseLease(t: MemcachedTier, lkey: string, deadline: number | undefined): Promise<void> {
    const budget = cacheBudget(deadline);
    if (budget >= 1) await t.delete(lkey, budget);
  }

  /** A follower: poll memcached for the lease holder's value. */
  async function waitForLeader<T>(skey: string, deadline: number | undefined): Promise<{ env: Envelope<T>; bytes: number } | undefined> {
    const start = clock();
    const until = start + leaseWaitBudget(lease.waitMs, deadline, start);
    tel.metric(METRIC.leaseWait);
    for (;;) {
      const left = until - clock();
      if (left <= 0) return undefined;
      await sleep(Math.min(lease.pollIntervalMs, left));
      const got = await readL2<T>(skey, Math.min(until, deadline ?? Infinity));
      if (got.env && classify(got.env, clock()) === "fresh") return { env: got.env, bytes: got.bytes };
      if (got.failed) return undefined; // memcached trouble: stop waiting, load
    }
  }

  async function store<T>(skey: string, value: T, ttl: number, staleTtl: number, deadline: number | undefined): Promise<Envelope<T>> {
    const now = clock();
    const plan = planStore(ttl, staleTtl, now);
    const env: Envelope<T> = { s: now, f: plan?.freshUntil ?? now, e: plan?.staleUntil ?? now, d: value };
    if (!plan) return env;
    const json = encodeEnvelope(env);
    if (json === undefined) {
      tel.log("warn", "cache: value is not JSON-serializable, not cached", { key: skey });
      return env;
    }
    const bytes = Buffer.byteLength(json, "utf8");
    if (!fitsItemLimit(bytes, skey.length, maxItemBytes)) {
      tel.metric(METRIC.tooLarge);
      tel.log("warn", "cache: value exceeds the item size limit, not cached", { key: skey, bytes, maxItemBytes });
      return env;
    }
    l1?.set(skey, env, bytes);
    const t = l2();
    const budget = cacheBudget(deadline);
    if (t && budget >= 1) {
      const ok = await t.set(skey, json, plan.exptime, budget);
      if (!ok) {
        tel.metric(METRIC.error);
        tel.log("debug", "cache: memcached set failed", { key: skey });
      }
    }
    return env;
  }

  async function loadThrough<T>(
    skey: string,
    loader: (ctx: LoaderContext) => Promise<T>,
    ttl: number,
    staleTtl: number,
    deadline: number | undefined,
    l1env: Envelope<T> | undefined,
  ): Promise<CacheResult<T>> {
    let stale = newerUsable(l1env, undefined, clock());

    // L2
    const fromL2 = await readL2<T>(skey, deadline);
    if (fromL2.env) {
      const now = clock();
      const cls = classify(fromL2.env, now);
      if (cls === "fresh") {
        l1?.set(skey, fromL2.env, fromL2.bytes);
        return result(fromL2.env, "HIT-L2", now);
      }
      if (cls === "stale" && stale !== fromL2.env) {
        const newer = newerUsable(stale, fromL2.env, now);
        if (newer === fromL2.env) l1?.set(skey, fromL2.env, fromL2.bytes);
        stale = newer;
      }
    }

    // Lease: one process loads, the others serve stale or wait for its value.
    const t = l2();
    let leaseHeld = false;
    const lkey = leaseKey(skey);
    if (t && lease.enabled && !fromL2.failed && cacheBudget(deadline) >= 1) {
      const added = await t.add(lkey, randomUUID(), lease.ttlSeconds, cacheBudget(deadline));
      if (added === "stored") {
        leaseHeld = true;
        // Double check: the previous holder may have stored the value and released its lease between
        // our read and our add. One more round trip on a real miss, far cheaper than a needless load.
        const again = await readL2<T>(skey, deadline);
        if (again.env && classify(again.env, clock()) === "fresh") {
          await releaseLease(t, lkey, deadline);
          l1?.set(skey, again.env, again.bytes);
          return result(again.env, "HIT-L2", clock());
        }
      } else if (added === "exists") {
        const now = clock();
        if (stale && classify(stale, now) !== "expired") return result(stale, "STALE", now);
        const led = await waitForLeader<T>(skey, deadline);
        if (led) {
          l1?.set(skey, led.env, led.bytes);
          return result(led.env, "HIT-L2", clock());
        }
      }
    }

    // Load
    const loaderBudget = budgetMs(defaults.loaderTimeoutMs, deadline === undefined ? undefined : deadline - defaults.deadlineReserveMs, clock());
    const t0 = clock();
    let value: T;
    try {
      value = await runLoader(loader, loaderBudget);
      tel.metric(METRIC.upstreamLatency, clock() - t0, "Milliseconds");
    } catch (e) {
      const err: UpstreamError = toUpstreamError(e);
      tel.metric(METRIC.upstreamLatency, clock() - t0, "Milliseconds");
      tel.metric(err.statusCode === 504 ? METRIC.upstreamTimeout : METRIC.upstreamError);
      const now = clock();
      if (stale && classify(stale, now) !== "expired") {
        tel.log("warn", "cache: upstream failed, serving stale", { key: skey, statusCode: err.statusCode, error: err.message });
        return result(stale, "STALE", now);
      }
      tel.log("warn", "cache: upstream failed, nothing stale to serve", { key: skey, statusCode: err.statusCode, error: err.message });
      // The lease is kept until it expires: other processes do not hammer a failing upstream.
      throw err;
    }
    const env = await store(skey, value, ttl, staleTtl, deadline);
    if (leaseHeld && t) await releaseLease(t, lkey, deadline);
    return result(env, "MISS", clock());
  }

  /** A caller that found a load for its key already running in this process. */
  async function join<T>(flight: Promise<CacheResult<T>>, deadline: number | undefined, l1env: Envelope<T> | undefined): Promise<CacheResult<T>> {
    const left = remainingMs(deadline, clock());
    if (left === Infinity) return flight;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = Symbol("timeout");
    const r = await Promise.race([flight, new Promise<typeof timedOut>((resolve) => { timer = setTimeout(() => resolve(timedOut), left); })]);
    clearTimeout(timer);
    if (r !== timedOut) return r as CacheResult<T>;
    const now = clock();
    if (l1env && classify(l1env, now) !== "expired") return result(l1env, "STALE", now);
    throw createUpstreamError(504, "deadline reached while waiting for the upstream");
  }

  function count(source: CacheSource): void {
    tel.metric(source === "HIT-L1" ? METRIC.hitL1 : source === "HIT-L2" ? METRIC.hitL2 : source === "MISS" ? METRIC.miss : METRIC.stale);
  }

  async function getOrLoad<T>(key: string, loader: (ctx: LoaderContext) => Promise<T>, opts: GetOrLoadOptions = {}): Promise<CacheResult<T>> {
    const ttl = opts.ttlSeconds ?? defaults.ttlSeconds;
    const staleTtl = opts.staleTtlSeconds ?? defaults.staleTtlSeconds;
    const deadline = opts.deadline;
    const skey = skeyOf(String(key));
    const now = clock();
    const l1env = l1?.get(skey) as Envelope<T> | undefined;
    if (l1env && classify(l1env, now) === "fresh") {
      count("HIT-L1");
      return result(l1env, "HIT-L1", now);
    }
    let res: CacheResult<T>;
    const running = state.flights.get(skey) as Promise<CacheResult<T>> | undefined;
    if (running) {
      res = await join(running, deadline, l1env);
    } else {
      const flight = loadThrough(skey, loader, ttl, staleTtl, deadline, l1env);
      state.flights.set(skey, flight as Promise<CacheResult<unknown>>);
      const cleanup = (): void => {
        if (state.flights.get(skey) === flight) state.flights.delete(skey);
      };
      flight.then(cleanup, cleanup);
      res = await flight;
    }
    count(res.source);
    return res;
  }

  return {
    getOrLoad,
    async delete(key: string) {
      const skey = storageKey(ns, String(key));
      l1?.delete(skey);
      const t = l2();
      if (t) await t.delete(skey, Infinity);
    },
    storageKey(key: string) {
      return storageKey(ns, String(key));
    },
    memcached: tier,
    l1Stats() {
      return { entries: l1?.size ?? 0, bytes: l1?.bytes ?? 0 };
    },
    async close() {
      state.closed = true;
      await Promise.allSettled([...state.flights.values()]);
      if (tier) await tier.close();
    },
  };
}
