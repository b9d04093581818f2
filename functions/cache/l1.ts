import { LRUCache } from "lru-cache";
import type { Envelope } from "./freshness";

/** In-process (L1) cache options. */
export interface L1Options {
  /**
   * Most entries kept; least recently used ones are evicted beyond it. Default 1000.
   * 0 disables L1 (every read goes to memcached).
   */
  maxEntries?: number;
  /**
   * Most bytes kept (sum of the serialized sizes of the values plus their keys); LRU eviction beyond
   * it. A single value larger than this is not kept in L1. Default 16 MiB.
   */
  maxBytes?: number;
  /**
   * With memcached: an entry is served from L1 for at most this long (ms) after this environment
   * read it from memcached or loaded it; the next request then asks memcached again (and re-reads
   * the namespace generation). This is the invalidation bound: no environment serves an
   * invalidated value from L1 for longer. Default 5000. Without memcached it has no effect.
   */
  maxAgeMs?: number;
}

export const L1_DEFAULTS = { maxEntries: 1000, maxBytes: 16 * 1024 * 1024, maxAgeMs: 5000 } as const;

/** Bytes counted per entry on top of key and value (object and bookkeeping overhead). */
const ENTRY_OVERHEAD_BYTES = 64;

interface L1Entry {
  env: Envelope;
  size: number;
  /** When it was put into L1 (read from memcached or loaded), epoch ms. */
  at: number;
}

/**
 * L1: a bounded LRU (lru-cache) of envelopes. Each entry lives until its stale window ends (`env.e`);
 * whether it may be served as fresh is decided by the caller from `env.f`, so an expired value is
 * never mistaken for a fresh one. The values are shared between callers: treat them as immutable.
 */
export interface L1Cache {
  /** Envelope stored under `key` (fresh or stale), or undefined. Counts as a use for LRU. */
  get(key: string): Envelope | undefined;
  /** Same, with the time it was put into L1 (for the L1 max age, see generation.ts). */
  getEntry(key: string): { env: Envelope; at: number } | undefined;
  /** Store; `bytes` is the value's serialized size. False when it was not kept (too large / already past its stale window). */
  set(key: string, env: Envelope, bytes: number): boolean;
  delete(key: string): void;
  /** Count the entry as read from memcached now (restarts its max age). */
  touch(key: string): void;
  clear(): void;
  /** Entries currently kept. */
  readonly size: number;
  /** Bytes currently accounted. */
  readonly bytes: number;
}

/** Create an L1, or undefined when disabled (`maxEntries: 0`). `clock` = epoch ms (injectable for tests). */
export function createL1(options: L1Options | undefined, clock: () => number): L1Cache | undefined {
  const maxEntries = options?.maxEntries ?? L1_DEFAULTS.maxEntries;
  const maxBytes = options?.maxBytes ?? L1_DEFAULTS.maxBytes;
  if (!(maxEntries > 0) || !(maxBytes > 0)) return undefined;
  const lru = new LRUCache<string, L1Entry>({
    max: Math.floor(maxEntries),
    maxSize: Math.floor(maxBytes),
    sizeCalculation: (entry) => entry.size,
    // No timers: expired entries are dropped when touched or evicted by LRU pressure.
    ttlAutopurge: false,
    ttlResolution: 0, // ask the clock every time (the default caches "now" for 1 ms with a timer)
    allowStale: false,
    updateAgeOnGet: false,
    perf: { now: clock },
  });
  function getEntry(key: string): L1Entry | undefined {
    const entry = lru.get(key);
    if (!entry) return undefined;
    if (entry.env.e <= clock()) {
      lru.delete(key);
      return undefined;
    }
    return entry;
  }
  return {
    get(key) {
      return getEntry(key)?.env;
    },
    getEntry,
    set(key, env, bytes) {
      const ttl = env.e - clock();
      const size = Math.max(1, Math.ceil(bytes) + key.length + ENTRY_OVERHEAD_BYTES);
      if (ttl <= 0 || size > maxBytes) {
        lru.delete(key);
        return false;
      }
      lru.set(key, { env, size, at: clock() }, { ttl });
      return lru.has(key);
    },
    delete(key) {
      lru.delete(key);
    },
    touch(key) {
      const entry = lru.peek(key);
      if (entry) entry.at = clock();
    },
    clear() {
      lru.clear();
    },
    get size() {
      return lru.size;
    },
    get bytes() {
      return lru.calculatedSize;
    },
  };
}
