import { randomUUID } from "node:crypto";
import type { GateTicket, RejectReason } from "./admission";
import { classifyOutcome } from "./breaker";
import { createUpstreamError, toUpstreamError, type UpstreamError } from "./errors";
import {
  budgetMs,
  decodeEnvelope,
  encodeEnvelope,
  fitsItemLimit,
  freshnessRules,
  leaseWaitBudget,
  memcachedExptime,
  newerUsable,
  planStore,
  remainingMs,
  type Envelope,
} from "./freshness";
import { generationKey, generationRules, mergeGenerations, nextGeneration, parseGeneration } from "./generation";
import { KEY_ID_LENGTH, SEALED_PREFIX, namespaceKeyring, openEntry, parseMacKeys, sealEntry, type EntryKeyring, type EntryRejectReason, type OpenResult } from "./integrity";
import { assertNamespace, leaseKey, storageKey } from "./keys";
import { createL1, L1_DEFAULTS, type L1Cache, type L1Options } from "./l1";
import { createMemcachedTier, MEMCACHED_DEFAULTS, type L2DeleteResult, type MemcachedOptions, type MemcachedTier } from "./memcachedTier";
import { negativeKind, negativeTtlSeconds, type NegativeCacheOptions } from "./negative";
import { createTelemetry, METRIC, type CacheLogger, type CacheMetrics } from "./telemetry";
import { createUpstreamGate, type UpstreamGate, type UpstreamGateOptions, type UpstreamGateSnapshot } from "./upstreamGate";

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
  /**
   * What may be served. A value read from memcached that this rejects is not served: a miss, counted
   * as `CacheEntryRejected` (reason "value") and overwritten by the next load. A value the loader
   * returns that this rejects fails the load (UpstreamError 502, `invalidAnswer: "content-type"`), so
   * it is neither cached nor served. Negative entries are not passed to it. Default: everything.
   */
  accept?: (value: unknown) => boolean;
}

/**
 * Authenticated memcached entries (integrity.ts): every value and the namespace generation are written
 * with an HMAC-SHA256 under a key of this namespace, and read back only when it verifies.
 */
export interface EntryAuthOptions {
  /**
   * The master keys in text form (base64 keys of >= 32 bytes, comma-separated, the first signs; see
   * parseMacKeys), or a function that fetches that text (e.g. ssmParameterLoader). A loader is called
   * when the cache is created (the Lambda init phase), re-called every `refreshMs`, and after a failure
   * at most every `retryAfterMs`; until it has succeeded once, memcached is not used at all (L1 and the
   * upstream only), so nothing is ever read or written unauthenticated.
   */
  keys: string | (() => Promise<string>);
  /** How long a request waits for keys being loaded (at most half of the time left before its deadline). Default 1000. */
  waitMs?: number;
  /** A loader's keys are loaded again this often (ms), by the first request after that (which waits for it at most `waitMs`); 0 = never. Default 900000 (15 min). */
  refreshMs?: number;
  /** After a failed load, the next try comes this much later at the earliest (ms). Default 30000. */
  retryAfterMs?: number;
}

export const ENTRY_AUTH_DEFAULTS = { waitMs: 1000, refreshMs: 900_000, retryAfterMs: 30_000 } as const;
/** A key load that has not settled after this long is presumed lost (frozen in flight) and started again. */
export const ENTRY_KEY_LOAD_LOST_MS = 5000;

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
  /**
   * Upstream protection per execution environment: circuit breaker and bulkhead (see breaker.ts,
   * bulkhead.ts). On by default; `{ breaker: false, bulkhead: false }` turns both off.
   */
  upstream?: UpstreamGateOptions;
  /** Negative caching of upstream errors (see negative.ts). Default: 404/410 for 5 s, other errors for 1 s. `false` disables it. */
  negative?: NegativeCacheOptions | false;
  /**
   * Authenticate every memcached entry (integrity.ts). Default: none: entries are written and read
   * without a MAC (local runs and tests); the deployed functions always set it (docs/cache.md).
   */
  entryAuth?: EntryAuthOptions;
  /** Shortest gap (ms) between two warn lines about rejected entries; counts in between are summed into the next. Default 10000. */
  rejectLogIntervalMs?: number;
  /** Powertools Logger (or compatible). Default: silent. */
  logger?: CacheLogger;
  /** Powertools Metrics (or compatible); the handler publishes them. Default: none. */
  metrics?: CacheMetrics;
  /** Clock (epoch ms), for tests. Default Date.now. */
  clock?: () => number;
}

/** Result of {@link TwoTierCache.invalidate}: what each memcached node said. */
export interface InvalidationResult {
  /** True when no node failed to answer (the key is gone from every node that holds it). */
  ok: boolean;
  nodes: { node: string; result: L2DeleteResult }[];
}

/** Result of {@link TwoTierCache.flush}. */
export interface FlushResult {
  /** True when every node stored the new generation. */
  ok: boolean;
  /** The namespace generation now in force. */
  generation: number;
  nodes: { node: string; result: "stored" | "error" }[];
}

/** Options of invalidate / flush. */
export interface InvalidationOptions {
  /** Epoch ms by which to give up on nodes that do not answer. Default: now + 2000. */
  deadline?: number;
}

/** What a cache that can be invalidated offers (the API handlers check for it). */
export interface InvalidatableCache {
  /** Delete a key from this environment's L1 and from every memcached node. */
  invalidate(key: string, options?: InvalidationOptions): Promise<InvalidationResult>;
  /** Bump the namespace generation on every memcached node (and clear this L1): every environment stops serving every entry within `invalidationBoundMs`. */
  flush(options?: InvalidationOptions): Promise<FlushResult>;
  /** ms after which no environment serves an invalidated value any more (the L1 max age with memcached; 0 without). */
  readonly invalidationBoundMs: number;
  /** Longest a load may run (ms): a load that started before an invalidation can store the old value until then. */
  readonly loaderTimeoutMs: number;
}

/** What createTwoTierCache returns: the ReadThroughCache plus invalidation and diagnostics. */
export interface TwoTierCache extends ReadThroughCache, InvalidatableCache {
  /** Remove a key from L1 and memcached (every node). */
  delete(key: string): Promise<void>;
  /** The namespace generation this environment knows. */
  generation(): number;
  /** Circuit breaker and bulkhead state of this environment. */
  upstreamState(): UpstreamGateSnapshot;
  /** The memcached key a caller key is stored under. */
  storageKey(key: string): string;
  /** memcached tier (undefined for an L1-only cache): topology, node of a key, ejected nodes. */
  readonly memcached: MemcachedTier | undefined;
  /** L1 stats. */
  l1Stats(): { entries: number; bytes: number };
  /** Entry authentication: on or off, whether keys are loaded, the id of the signing key and of every accepted key. */
  entryAuth(): { enabled: boolean; ready: boolean; signKeyId?: string; keyIds: string[] };
}

export const CACHE_DEFAULTS = { ttlSeconds: 60, staleTtlSeconds: 300, loaderTimeoutMs: 5000, deadlineReserveMs: 25 } as const;
export const LEASE_DEFAULTS = { enabled: true, waitMs: 250, pollIntervalMs: 20 } as const;
/** Default budget of invalidate() / flush() when no deadline is given (ms). */
export const INVALIDATION_BUDGET_MS = 2000;

/** What a sealed read may find besides an entry. */
type Opened = OpenResult | { ok: true; payload: string; keyId?: undefined };

/** An item a read found in memcached, or why it found none. */
type L2Read<T> =
  | { status: "hit"; env: Envelope<T>; bytes: number }
  | { status: "miss" }
  | { status: "failed" }
  | { status: "skipped" };

/**
 * Create a two-tier read-through cache. Call it once per execution environment (in the Lambda
 * `callbackFactory`, or at module scope in a normal process): every bit of state lives in the
 * returned object.
 */
export function createTwoTierCache(options: TwoTierCacheOptions): TwoTierCache {
  assertNamespace(options.namespace);
  const ns = options.namespace;
  const clock = options.clock ?? Date.now;
  // The rules of every read as this cache's own closures: getOrLoad's L1 hit runs per request and uses
  // only names bound in this function ("Per-request code" in functions/platform/server.ts).
  const { classify, ageSeconds } = freshnessRules();
  const { envelopeGeneration, generationCheckDue, isCurrent, l1EntryUsable } = generationRules();
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
  // The L1 max age only means something with a shared tier to go back to.
  const l1MaxAgeMs = tier ? Math.max(0, options.l1?.maxAgeMs ?? L1_DEFAULTS.maxAgeMs) : Infinity;
  const negative: NegativeCacheOptions | undefined = options.negative === false ? { notFoundTtlSeconds: 0, errorTtlSeconds: 0 } : options.negative;
  const gate: UpstreamGate = createUpstreamGate(options.upstream, tel, clock, defaults.loaderTimeoutMs);
  const genKey = generationKey(ns);
  const auth = {
    enabled: tier !== undefined && options.entryAuth !== undefined,
    loader: typeof options.entryAuth?.keys === "function" ? options.entryAuth.keys : undefined,
    waitMs: Math.max(0, options.entryAuth?.waitMs ?? ENTRY_AUTH_DEFAULTS.waitMs),
    refreshMs: Math.max(0, options.entryAuth?.refreshMs ?? ENTRY_AUTH_DEFAULTS.refreshMs),
    retryAfterMs: Math.max(0, options.entryAuth?.retryAfterMs ?? ENTRY_AUTH_DEFAULTS.retryAfterMs),
  };
  const rejectLogIntervalMs = Math.max(0, options.rejectLogIntervalMs ?? 10_000);
  // Mutated, never reassigned (closure serialization keeps its identity across warm invocations).
  const state = {
    closed: false,
    flights: new Map<string, Promise<CacheResult<unknown>>>(),
    /** Namespace generation known here, when it was last read, and the read in progress. */
    gen: { value: 0, checkedAt: Number.NEGATIVE_INFINITY, flight: undefined as Promise<void> | undefined },
    /** Entry keys: the keyring in force, when it was loaded, the load in progress, the last failure. */
    keys: {
      ring: undefined as EntryKeyring | undefined,
      loadedAt: Number.NEGATIVE_INFINITY,
      loading: undefined as Promise<void> | undefined,
      /** When the load in progress started, and its number (a newer load supersedes a lost one). */
      loadStartedAt: Number.NEGATIVE_INFINITY,
      seq: 0,
      failedAt: Number.NEGATIVE_INFINITY,
    },
    /** Rejected entries not yet logged, by reason; when the last line was written. */
    rejects: { counts: {} as Record<string, number>, lastLogAt: Number.NEGATIVE_INFINITY },
  };
  // Static keys are checked now: a bad value fails the cold start, naming what is wrong.
  if (auth.enabled && typeof options.entryAuth?.keys === "string") {
    state.keys.ring = namespaceKeyring(parseMacKeys(options.entryAuth.keys), ns);
    state.keys.loadedAt = clock();
  }

  /** memcached for reads and writes of entries: none while entry keys are required but not loaded. */
  const l2 = (): MemcachedTier | undefined => (state.closed || (auth.enabled && !state.keys.ring) ? undefined : tier);
  /** memcached for deletions (they need no key). */
  const l2any = (): MemcachedTier | undefined => (state.closed ? undefined : tier);

  /** Load the entry keys (single flight). Failures keep the keys in force, if any. */
  function loadKeys(): Promise<void> {
    const now = clock();
    // A load still "running" after ENTRY_KEY_LOAD_LOST_MS was lost: a Lambda environment initialised
    // ahead of time (provisioned concurrency) is frozen right after init, with the load in flight.
    if (state.keys.loading && now >= state.keys.loadStartedAt && now - state.keys.loadStartedAt < ENTRY_KEY_LOAD_LOST_MS) return state.keys.loading;
    const loader = auth.loader;
    if (!loader) return Promise.resolve();
    const seq = ++state.keys.seq;
    state.keys.loadStartedAt = now;
    const run = (async () => {
      try {
        const ring = namespaceKeyring(parseMacKeys(await loader()), ns);
        const before = state.keys.ring;
        state.keys.ring = ring;
        state.keys.loadedAt = clock();
        state.keys.failedAt = Number.NEGATIVE_INFINITY;
        const ids = [...ring.keys.keys()];
        if (!before || before.signId !== ring.signId || ids.join() !== [...before.keys.keys()].join()) {
          tel.log("info", "cache: entry keys loaded", { namespace: ns, signKeyId: ring.signId, acceptedKeyIds: ids });
        }
      } catch (e) {
        if (seq !== state.keys.seq) return; // superseded: its failure says nothing about the newer load
        state.keys.failedAt = clock();
        const error = e instanceof Error ? e.message : String(e);
        if (state.keys.ring) {
          tel.log("warn", "cache: reloading the entry keys failed; keeping the current ones", { namespace: ns, error });
        } else {
          tel.metric(METRIC.keysUnavailable);
          tel.log("error", "cache: entry keys unavailable; memcached is not used until they load", { namespace: ns, error, retryAfterMs: auth.retryAfterMs });
        }
      }
    })().finally(() => { if (seq === state.keys.seq) state.keys.loading = undefined; });
    state.keys.loading = run;
    return run;
  }

  /** Is a key load due now (first load, a refresh, a retry after a failure)? */
  function keysDue(now: number): boolean {
    if (state.keys.loading) return true;
    if (!auth.enabled || !auth.loader) return false;
    if (now - state.keys.failedAt < auth.retryAfterMs) return false;
    return !state.keys.ring || (auth.refreshMs > 0 && now - state.keys.loadedAt >= auth.refreshMs);
  }

  /**
   * Start a due key load and wait for it, at most `waitMs` (and half the time left). A refresh that
   * another request started is not waited for (the current keys stay in force meanwhile); the request
   * that starts one waits, so that a Lambda environment is not frozen in the middle of it.
   */
  async function awaitKeys(deadline: number | undefined, waitMs = auth.waitMs): Promise<void> {
    const seq = state.keys.seq;
    void loadKeys();
    const started = state.keys.seq !== seq;
    if (state.keys.ring && !started) return;
    const running = state.keys.loading;
    const wait = Math.min(waitMs, cacheBudget(deadline));
    if (!running || !(wait > 0)) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([running, new Promise<void>((r) => { timer = setTimeout(r, wait); })]);
    clearTimeout(timer);
  }

  /** Seal a payload for memcached key `skey` (as it is, without entry authentication). */
  function sealFor(skey: string, payload: string): string | undefined {
    if (!auth.enabled) return payload;
    const ring = state.keys.ring;
    return ring ? sealEntry(ring, skey, payload) : undefined;
  }

  /** Open what memcached holds under `skey`. */
  function openFrom(skey: string, raw: string): Opened {
    if (!auth.enabled) return { ok: true, payload: raw };
    const ring = state.keys.ring;
    if (!ring) return { ok: false, reason: "unknown-key" };
    return openEntry(ring, skey, raw);
  }

  /** Count (metric) and log (at most one line per interval, counts summed) an entry that is not served. */
  function rejectEntry(skey: string, reason: EntryRejectReason): void {
    tel.metric(METRIC.entryRejected);
    const r = state.rejects;
    r.counts[reason] = (r.counts[reason] ?? 0) + 1;
    const now = clock();
    if (now - r.lastLogAt >= rejectLogIntervalMs) {
      tel.log("warn", "cache: memcached entries rejected (not served, treated as misses)", { namespace: ns, reasons: r.counts, lastKey: skey });
      r.counts = {};
      r.lastLogAt = now;
    }
  }

  /** A generation read from memcached (verified), or undefined when there is none to trust. */
  function generationOf(raw: string): number | undefined {
    const o = openFrom(genKey, raw);
    if (!o.ok) {
      rejectEntry(genKey, o.reason);
      return undefined;
    }
    return parseGeneration(o.payload);
  }

  /**
   * Is this verified entry signed with a key that no longer signs (an accepted, older one)? The
   * generation never expires, so it is signed again with the current key before the old key is retired.
   */
  function signedWithOldKey(raw: string): boolean {
    const ring = state.keys.ring;
    return auth.enabled && ring !== undefined && raw.startsWith(SEALED_PREFIX) && raw.slice(SEALED_PREFIX.length, SEALED_PREFIX.length + KEY_ID_LENGTH) !== ring.signId;
  }

  // A loader starts at once (the Lambda init phase), next to memcached discovery.
  if (auth.enabled && auth.loader) void loadKeys();

  /** storageKey() with a small memo for short, repeated keys (sha256 is most of an L1 hit's cost). */
  const keyMemo = new Map<string, string>();
  function skeyOf(key: string): string {
    if (key.length > 512) return storageKey(ns, key);
    let s = keyMemo.get(key);
    if (typeof s === "undefined") {
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

  /** Learn a newer generation (never go back). */
  function adoptGeneration(g: number): void {
    if (g > state.gen.value) {
      tel.log("info", "cache: namespace generation changed", { namespace: ns, from: state.gen.value, to: g });
      state.gen.value = g;
    }
  }

  /**
   * Re-read the namespace generation (single-flight). A node whose copy is missing or lower gets the
   * highest value known; memcached trouble keeps the generation we know (checked again after the
   * L1 max age).
   */
  async function refreshGeneration(deadline: number | undefined): Promise<void> {
    if (state.gen.flight) return state.gen.flight;
    const run = (async () => {
      const t = l2();
      const budget = cacheBudget(deadline);
      if (!t || budget < 1) return;
      const r = await t.get(genKey, budget);
      if (r.kind === "hit") {
        const v = generationOf(r.raw);
        if (v !== undefined && v >= state.gen.value) {
          adoptGeneration(v);
          if (signedWithOldKey(r.raw)) {
            const resealed = sealFor(genKey, String(state.gen.value));
            if (resealed !== undefined) await t.set(genKey, resealed, 0, cacheBudget(deadline));
          }
        } else {
          // lower, garbage or not authentic: write ours back
          const sealed = sealFor(genKey, String(state.gen.value));
          if (sealed !== undefined) await t.set(genKey, sealed, 0, cacheBudget(deadline));
        }
      } else if (r.kind === "miss") {
        // The owner node has none (new cluster, or it restarted): take the highest any node has, give it to those without.
        const nodes = t.nodes();
        const reads = await Promise.all(nodes.map((n) => t.getFrom(n, genKey, cacheBudget(deadline))));
        const values = reads.map((x) => (x.kind === "hit" ? generationOf(x.raw) : undefined));
        adoptGeneration(mergeGenerations(state.gen.value, values));
        const g = sealFor(genKey, String(state.gen.value));
        if (g === undefined) return;
        await Promise.all(nodes.map((n, i) => {
          const x = reads[i];
          if (x.kind === "miss") return t.addOn(n, genKey, g, 0, cacheBudget(deadline));
          if (x.kind === "hit" && (values[i] !== state.gen.value || signedWithOldKey(x.raw))) return t.setOn(n, genKey, g, 0, cacheBudget(deadline));
          return undefined;
        }));
      }
    })().catch((e: unknown) => {
      tel.log("warn", "cache: reading the namespace generation failed", { error: e instanceof Error ? e.message : String(e) });
    }).finally(() => {
      state.gen.checkedAt = clock();
      state.gen.flight = undefined;
    });
    state.gen.flight = run;
    return run;
  }

  /**
   * Run the loader with a hard timeout; resolves/rejects by `timeoutMs` at the latest, or as soon as
   * `cut` aborts (the breaker opened meanwhile), with its reason.
   */
  function runLoader<T>(loader: (ctx: LoaderContext) => Promise<T>, timeoutMs: number, cut?: AbortSignal): Promise<T> {
    if (!(timeoutMs > 0)) return Promise.reject(createUpstreamError(504, "no time left to call the upstream before the deadline"));
    return new Promise<T>((resolve, reject) => {
      const ac = new AbortController();
      // Declared before use: Pulumi's closure serializer rejects a closure using a later `const`.
      let onCut: (() => void) | undefined;
      const timer = setTimeout(() => {
        const err = createUpstreamError(504, `upstream did not answer within ${Math.round(timeoutMs)} ms`);
        if (onCut) cut?.removeEventListener("abort", onCut);
        ac.abort(err);
        reject(err);
      }, timeoutMs);
      if (cut) {
        onCut = (): void => {
          clearTimeout(timer);
          ac.abort(cut.reason);
          reject(cut.reason);
        };
        if (cut.aborted) onCut();
        else cut.addEventListener("abort", onCut, { once: true });
      }
      let p: Promise<T>;
      try {
        p = Promise.resolve(loader({ timeoutMs: Math.floor(timeoutMs), signal: ac.signal }));
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(
        (v) => { clearTimeout(timer); if (onCut) cut?.removeEventListener("abort", onCut); resolve(v); },
        (e) => { clearTimeout(timer); if (onCut) cut?.removeEventListener("abort", onCut); reject(e); },
      );
    });
  }

  /**
   * Read an envelope of the current generation from memcached. An entry that does not verify, or whose
   * value `accept` refuses, is a miss (counted and logged as rejected), never served.
   */
  async function readL2<T>(skey: string, deadline: number | undefined, accept?: (value: unknown) => boolean): Promise<L2Read<T>> {
    const t = l2();
    // A slow cache must not eat the time the loader needs: a read gets at most half of what is left.
    const budget = cacheBudget(deadline);
    if (!t || budget < 1) return { status: "skipped" };
    const r = await t.get(skey, budget);
    if (r.kind === "error") {
      tel.metric(METRIC.error);
      tel.log("debug", "cache: memcached get failed, treated as a miss", { reason: r.reason });
      return { status: "failed" };
    }
    if (r.kind === "miss") return { status: "miss" };
    const opened = openFrom(skey, r.raw);
    if (!opened.ok) {
      rejectEntry(skey, opened.reason);
      return { status: "miss" };
    }
    const env = decodeEnvelope<T>(opened.payload);
    if (!env) {
      tel.metric(METRIC.error);
      tel.log("warn", "cache: undecodable entry in memcached, treated as a miss", { key: skey });
      return { status: "failed" };
    }
    if (!isCurrent(env, state.gen.value)) return { status: "miss" }; // loaded before a flush
    if (accept && !env.n && !accept(env.d)) {
      rejectEntry(skey, "value");
      return { status: "miss" };
    }
    adoptGeneration(envelopeGeneration(env));
    return { status: "hit", env, bytes: r.bytes };
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
  async function waitForLeader<T>(skey: string, deadline: number | undefined, accept?: (value: unknown) => boolean): Promise<{ env: Envelope<T>; bytes: number } | undefined> {
    const start = clock();
    const until = start + leaseWaitBudget(lease.waitMs, deadline, start);
    tel.metric(METRIC.leaseWait);
    for (;;) {
      const left = until - clock();
      if (left <= 0) return undefined;
      await sleep(Math.min(lease.pollIntervalMs, left));
      const got = await readL2<T>(skey, Math.min(until, deadline ?? Infinity), accept);
      if (got.status === "hit" && classify(got.env, clock()) === "fresh") return { env: got.env, bytes: got.bytes };
      if (got.status === "failed") return undefined; // memcached trouble: stop waiting, load
    }
  }

  /** Write an envelope to L1 and memcached (`set`, or `add` so as not to overwrite). */
  async function writeEnvelope<T>(skey: string, env: Envelope<T>, exptime: number, mode: "set" | "add", deadline: number | undefined): Promise<void> {
    const json = encodeEnvelope(env);
    if (json === undefined) {
      tel.log("warn", "cache: value is not JSON-serializable, not cached", { key: skey });
      return;
    }
    const t = l2();
    // Sealed only when it goes to memcached (L1 keeps the envelope itself).
    const stored = t ? sealFor(skey, json) : undefined;
    const bytes = Buffer.byteLength(stored ?? json, "utf8");
    if (!fitsItemLimit(bytes, skey.length, maxItemBytes)) {
      tel.metric(METRIC.tooLarge);
      tel.log("warn", "cache: value exceeds the item size limit, not cached", { key: skey, bytes, maxItemBytes });
      return;
    }
    l1?.set(skey, env, bytes);
    const budget = cacheBudget(deadline);
    if (t && stored !== undefined && budget >= 1) {
      const ok = mode === "set" ? await t.set(skey, stored, exptime, budget) : (await t.add(skey, stored, exptime, budget)) !== "error";
      if (!ok) {
        tel.metric(METRIC.error);
        tel.log("debug", "cache: memcached write failed", { key: skey, mode });
      }
    }
  }

  async function store<T>(skey: string, value: T, ttl: number, staleTtl: number, deadline: number | undefined, generation: number): Promise<Envelope<T>> {
    const now = clock();
    const plan = planStore(ttl, staleTtl, now);
    const env: Envelope<T> = { s: now, f: plan?.freshUntil ?? now, e: plan?.staleUntil ?? now, d: value, g: generation };
    if (plan) await writeEnvelope(skey, env, plan.exptime, "set", deadline);
    return env;
  }

  /** The error a negative entry stands for (the upstream is not called). */
  function negativeError(env: Envelope): UpstreamError {
    const n = env.n ?? { c: 502 };
    const code = n.c === 504 ? 504 : 502;
    return createUpstreamError(code, n.u !== undefined ? `upstream answered ${n.u} (cached)` : `upstream failed (cached, ${code})`, {
      ...(n.u !== undefined ? { upstreamStatus: n.u } : {}),
      cached: true,
    });
  }

  /**
   * The upstream was not called (breaker open, or shed): serve what is kept, else 503 with the time
   * after which a retry may succeed.
   */
  function refuse<T>(stale: Envelope<T> | undefined, reason: RejectReason, retryAfterMs: number, skey: string): CacheResult<T> {
    const now = clock();
    if (stale && classify(stale, now) !== "expired") return result(stale, "STALE", now);
    tel.log("debug", "cache: upstream not called and nothing stale kept", { key: skey, reason });
    const shed = reason === "shed";
    throw createUpstreamError(503, shed ? "too many upstream calls in flight: request shed" : "upstream circuit breaker is open", {
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
      refused: shed ? "shed" : "breaker-open",
    });
  }

  async function loadThrough<T>(
    skey: string,
    loader: (ctx: LoaderContext) => Promise<T>,
    ttl: number,
    staleTtl: number,
    deadline: number | undefined,
    l1env: Envelope<T> | undefined,
    accept: ((value: unknown) => boolean) | undefined,
  ): Promise<CacheResult<T>> {
    let stale = newerUsable(l1env, undefined, clock());

    // L2
    const fromL2 = await readL2<T>(skey, deadline, accept);
    if (fromL2.status === "hit") {
      const now = clock();
      const cls = classify(fromL2.env, now);
      if (cls === "fresh") {
        l1?.set(skey, fromL2.env, fromL2.bytes);
        if (fromL2.env.n) {
          tel.metric(METRIC.negativeHit);
          throw negativeError(fromL2.env);
        }
        return result(fromL2.env, "HIT-L2", now);
      }
      if (cls === "stale" && !fromL2.env.n && stale !== fromL2.env) {
        const newer = newerUsable(stale, fromL2.env, now);
        if (newer === fromL2.env) l1?.set(skey, fromL2.env, fromL2.bytes);
        stale = newer;
      }
    } else if (l1env) {
      const t0 = l2();
      // memcached's "none" is authoritative only from the key's owner (not from a ring neighbour
      // standing in for an ejected owner).
      const authoritative = fromL2.status === "miss" && t0 !== undefined && t0.nodeFor(skey) === t0.ownerOf(skey);
      if (authoritative) {
        // The value was invalidated (or evicted): the L1 copy is not served, not even stale.
        l1?.delete(skey);
        stale = undefined;
      } else if (classify(l1env, clock()) === "fresh") {
        // memcached could not tell (unreachable, no time left, owner ejected): keep serving what this
        // environment has until its TTL; it cannot learn of an invalidation meanwhile.
        l1?.touch(skey);
        if (l1env.n) {
          tel.metric(METRIC.negativeHit);
          throw negativeError(l1env);
        }
        return result(l1env, "HIT-L1", clock());
      }
    }

    // The breaker: while it is open, answer at once, without a lease round trip.
    const peek = gate.peek();
    if (!peek.admit) return refuse(stale, peek.reason, peek.retryAfterMs, skey);

    // Lease: one process loads, the others serve stale or wait for its value.
    const t = l2();
    let leaseHeld = false;
    const lkey = leaseKey(skey);
    if (t && lease.enabled && fromL2.status !== "failed" && cacheBudget(deadline) >= 1) {
      const added = await t.add(lkey, randomUUID(), lease.ttlSeconds, cacheBudget(deadline));
      if (added === "stored") {
        leaseHeld = true;
        // Double check: the previous holder may have stored the value and released its lease between
        // our read and our add. One more round trip on a real miss, far cheaper than a needless load.
        const again = await readL2<T>(skey, deadline, accept);
        if (again.status === "hit" && !again.env.n && classify(again.env, clock()) === "fresh") {
          await releaseLease(t, lkey, deadline);
          l1?.set(skey, again.env, again.bytes);
          return result(again.env, "HIT-L2", clock());
        }
      } else if (added === "exists") {
        const now = clock();
        if (stale && classify(stale, now) !== "expired") return result(stale, "STALE", now);
        const led = await waitForLeader<T>(skey, deadline, accept);
        if (led) {
          l1?.set(skey, led.env, led.bytes);
          if (led.env.n) {
            tel.metric(METRIC.negativeHit);
            throw negativeError(led.env);
          }
          return result(led.env, "HIT-L2", clock());
        }
      }
    }

    // Admission: breaker (the probe when half-open) and bulkhead slot.
    const admission = await gate.acquire(Math.floor(remainingMs(deadline, clock()) / 2));
    if (admission.kind === "reject") {
      if (leaseHeld && t) await releaseLease(t, lkey, deadline);
      return refuse(stale, admission.reason, admission.retryAfterMs, skey);
    }
    const ticket: GateTicket = admission.ticket;

    // Load (answered at once, stale or 503, if the breaker opens meanwhile)
    const generation = state.gen.value;
    const loaderBudget = budgetMs(defaults.loaderTimeoutMs, deadline === undefined ? undefined : deadline - defaults.deadlineReserveMs, clock());
    const cut = new AbortController();
    const call = gate.start(ticket, (retryAfterMs) => cut.abort(createUpstreamError(503, "upstream circuit breaker opened while waiting for the upstream", {
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
      refused: "breaker-open",
    })));
    const t0 = clock();
    let value: T;
    try {
      value = await runLoader(loader, loaderBudget, cut.signal);
      if (accept && !accept(value)) {
        throw createUpstreamError(502, "the upstream's answer is not one this cache may serve (accept)", { invalidAnswer: "content-type" });
      }
      gate.complete(call, "success");
      tel.metric(METRIC.upstreamLatency, clock() - t0, "Milliseconds");
    } catch (e) {
      if (cut.signal.aborted) {
        gate.complete(call, "neutral");
        if (leaseHeld && t) await releaseLease(t, lkey, deadline);
        return refuse(stale, "open", ((cut.signal.reason as UpstreamError).retryAfterSeconds ?? 1) * 1000, skey);
      }
      const err: UpstreamError = toUpstreamError(e);
      gate.complete(call, classifyOutcome(err, loaderBudget, defaults.loaderTimeoutMs));
      tel.metric(METRIC.upstreamLatency, clock() - t0, "Milliseconds");
      tel.metric(err.statusCode === 504 ? METRIC.upstreamTimeout : METRIC.upstreamError);
      const now = clock();
      const kind = negativeKind(err);
      if (kind === "error" && stale && classify(stale, now) !== "expired") {
        tel.log("warn", "cache: upstream failed, serving stale", { key: skey, statusCode: err.statusCode, error: err.message });
        return result(stale, "STALE", now);
      }
      if (kind === "error") tel.log("warn", "cache: upstream failed, nothing stale to serve", { key: skey, statusCode: err.statusCode, error: err.message });
      const negTtl = negativeTtlSeconds(kind, negative);
      if (negTtl > 0) {
        // fresh until = usable until = now + TTL: never served past the TTL, never a stale candidate.
        const until = now + Math.round(negTtl * 1000);
        const neg: Envelope<null> = { s: now, f: until, e: until, d: null, g: generation, n: { c: err.statusCode, ...(err.upstreamStatus !== undefined ? { u: err.upstreamStatus } : {}) } };
        if (err.statusCode === 504) {
          // A timeout has used up the request's time: remember it here only, answer now (other
          // environments are kept off this key by the lease, and off the upstream by their breakers).
          l1?.set(skey, neg, 64);
        } else {
          await writeEnvelope(skey, neg, memcachedExptime(negTtl, now), kind === "not-found" ? "set" : "add", deadline);
        }
        tel.metric(METRIC.negativeStore);
      } else if (kind === "not-found") {
        // The item is gone upstream: drop what is cached of it, so it is not served stale later.
        l1?.delete(skey);
        if (t && cacheBudget(deadline) >= 1) await t.delete(skey, cacheBudget(deadline));
      }
      // An answer (404) frees the key for others; after a failure the lease is kept until it
      // expires, so other processes do not hammer a failing upstream.
      if (kind === "not-found" && leaseHeld && t) await releaseLease(t, lkey, deadline);
      throw err;
    }
    const env = await store(skey, value, ttl, staleTtl, deadline, generation);
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
    if (l1env && !l1env.n && classify(l1env, now) !== "expired") return result(l1env, "STALE", now);
    throw createUpstreamError(504, "deadline reached while waiting for the upstream");
  }

  const sourceMetric: Readonly<Record<CacheSource, string>> = { "HIT-L1": METRIC.hitL1, "HIT-L2": METRIC.hitL2, MISS: METRIC.miss, STALE: METRIC.stale };
  function count(source: CacheSource): void {
    tel.metric(sourceMetric[source]);
  }

  async function getOrLoad<T>(key: string, loader: (ctx: LoaderContext) => Promise<T>, opts: GetOrLoadOptions = {}): Promise<CacheResult<T>> {
    const ttl = opts.ttlSeconds ?? defaults.ttlSeconds;
    const staleTtl = opts.staleTtlSeconds ?? defaults.staleTtlSeconds;
    const deadline = opts.deadline;
    const skey = skeyOf(typeof key === "string" ? key : String(key));
    let now = clock();
    if (keysDue(now)) {
      await awaitKeys(deadline);
      now = clock();
    }
    if (tier && generationCheckDue(state.gen.checkedAt, now, l1MaxAgeMs)) {
      await refreshGeneration(deadline);
      now = clock();
    }
    const entry = l1?.getEntry(skey);
    let l1env: Envelope<T> | undefined;
    if (entry && isCurrent(entry.env, state.gen.value)) {
      l1env = entry.env as Envelope<T>;
      if (classify(l1env, now) === "fresh" && l1EntryUsable(entry.at, now, l1MaxAgeMs)) {
        if (l1env.n) {
          tel.metric(METRIC.negativeHit);
          throw negativeError(l1env);
        }
        count("HIT-L1");
        return result(l1env, "HIT-L1", now);
      }
    }
    let res: CacheResult<T>;
    const running = state.flights.get(skey) as Promise<CacheResult<T>> | undefined;
    if (running) {
      res = await join(running, deadline, l1env);
    } else {
      const flight = loadThrough(skey, loader, ttl, staleTtl, deadline, l1env, opts.accept);
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

  /** Wait (bounded) until the memcached topology is known; true when it is. */
  async function ready(t: MemcachedTier, budget: number): Promise<boolean> {
    if (t.nodes().length > 0) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([t.whenReady(), new Promise<void>((r) => { timer = setTimeout(r, Math.max(0, budget)); })]);
    clearTimeout(timer);
    return t.nodes().length > 0;
  }

  function invalidationBudget(o: InvalidationOptions | undefined): number {
    return Math.max(1, o?.deadline !== undefined ? remainingMs(o.deadline, clock()) : INVALIDATION_BUDGET_MS);
  }

  async function invalidate(key: string, o?: InvalidationOptions): Promise<InvalidationResult> {
    const skey = storageKey(ns, String(key));
    l1?.delete(skey);
    const t = l2any(); // a deletion needs no entry key
    if (!t) return { ok: true, nodes: [] };
    const budget = invalidationBudget(o);
    if (!(await ready(t, budget))) return { ok: false, nodes: [] };
    const nodes = t.nodes();
    const results = await Promise.all(nodes.map((n) => t.deleteFrom(n, skey, invalidationBudget(o))));
    const out = { ok: results.every((r) => r !== "error"), nodes: nodes.map((node, i) => ({ node, result: results[i] })) };
    tel.log(out.ok ? "info" : "warn", "cache: key invalidated", { key: skey, nodes: out.nodes });
    return out;
  }

  async function flush(o?: InvalidationOptions): Promise<FlushResult> {
    l1?.clear();
    if (!l2any()) {
      adoptGeneration(nextGeneration([state.gen.value], clock()));
      return { ok: true, generation: state.gen.value, nodes: [] };
    }
    // The new generation must be signed: wait for the keys (within the invalidation budget).
    if (auth.enabled && !state.keys.ring) await awaitKeys(undefined, invalidationBudget(o));
    const t = l2();
    if (!t) return { ok: false, generation: state.gen.value, nodes: [] };
    if (!(await ready(t, invalidationBudget(o)))) return { ok: false, generation: state.gen.value, nodes: [] };
    const nodes = t.nodes();
    const reads = await Promise.all(nodes.map((n) => t.getFrom(n, genKey, invalidationBudget(o))));
    const seen = [state.gen.value, ...reads.map((r) => (r.kind === "hit" ? generationOf(r.raw) ?? 0 : 0))];
    const g = nextGeneration(seen, clock());
    const sealed = sealFor(genKey, String(g)) as string;
    const writes = await Promise.all(nodes.map((n) => t.setOn(n, genKey, sealed, 0, invalidationBudget(o))));
    adoptGeneration(g);
    state.gen.checkedAt = clock();
    const out: FlushResult = { ok: writes.every(Boolean), generation: g, nodes: nodes.map((node, i) => ({ node, result: writes[i] ? "stored" : "error" })) };
    tel.log(out.ok ? "info" : "warn", "cache: namespace flushed (generation bumped)", { namespace: ns, generation: g, nodes: out.nodes });
    return out;
  }

  return {
    getOrLoad,
    invalidate,
    flush,
    invalidationBoundMs: tier ? l1MaxAgeMs : 0,
    loaderTimeoutMs: defaults.loaderTimeoutMs,
    async delete(key: string) {
      await invalidate(key);
    },
    storageKey(key: string) {
      return storageKey(ns, String(key));
    },
    memcached: tier,
    l1Stats() {
      return { entries: l1?.size ?? 0, bytes: l1?.bytes ?? 0 };
    },
    generation() {
      return state.gen.value;
    },
    upstreamState() {
      return gate.snapshot();
    },
    entryAuth() {
      const ring = state.keys.ring;
      return {
        enabled: auth.enabled,
        ready: !auth.enabled || ring !== undefined,
        ...(ring ? { signKeyId: ring.signId } : {}),
        keyIds: ring ? [...ring.keys.keys()] : [],
      };
    },
    async close() {
      state.closed = true;
      await Promise.allSettled([...state.flights.values()]);
      if (state.gen.flight) await state.gen.flight;
      // A key load in flight is not waited for: it holds no memcached resource, and a lost one never settles.
      if (tier) await tier.close();
    },
  };
}
