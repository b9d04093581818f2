/**
 * Freshness, staleness and time-budget decisions. Pure functions of (entry, now, options).
 *
 * Every cached value travels in an envelope that carries its own clock:
 *   s = stored at, f = fresh until, e = usable (as stale) until   (epoch ms)
 * memcached keeps the item for ttl + staleTtl seconds (exptime), so a value past `f` but before `e`
 * is still there to be served when the upstream fails (stale-if-error) or while another process
 * refreshes it (stale-while-revalidate, under a lease).
 */

/** Stored form of a cached value. Short field names: it is written to memcached for every entry. */
export interface Envelope<T = unknown> {
  /** Stored at (epoch ms). */
  s: number;
  /** Fresh until (epoch ms). */
  f: number;
  /** Servable as stale until (epoch ms); the item is gone after this anyway. */
  e: number;
  /** The value (null in a negative entry). */
  d: T;
  /** Namespace generation the value was loaded under (absent = 0); see generation.ts. */
  g?: number;
  /** Negative entry: the upstream error that is cached instead of a value; see negative.ts. */
  n?: NegativeMark;
}

/** What a negative entry remembers of the upstream error. */
export interface NegativeMark {
  /** statusCode of the UpstreamError (502/504). */
  c: number;
  /** HTTP status the upstream answered, when it answered. */
  u?: number;
}

export type Freshness = "fresh" | "stale" | "expired";

/** The freshness rules of every cache read. */
export interface FreshnessRules {
  /** Classify an envelope at `now`: fresh before `f`, stale before `e`, expired after. */
  classify(env: Pick<Envelope, "f" | "e">, now: number): Freshness;
  /** Seconds since the value was stored (whole seconds, never negative). */
  ageSeconds(env: Pick<Envelope, "s">, now: number): number;
}

/**
 * The freshness rules as closures made by this call. A cache makes its own once: in the serialized
 * closure a module-level function is rebuilt at every call and a global such as `Math` is a dynamic
 * lookup, so per-request code calls closures that use only their own names ("Per-request code" in
 * functions/platform/server.ts). {@link classify} and {@link ageSeconds} are the same rules.
 */
export function freshnessRules(): FreshnessRules {
  const { floor, max } = Math;
  const classifyAt = (env: Pick<Envelope, "f" | "e">, now: number): Freshness => {
    if (now < env.f) return "fresh";
    if (now < env.e) return "stale";
    return "expired";
  };
  const ageAt = (env: Pick<Envelope, "s">, now: number): number => max(0, floor((now - env.s) / 1000));
  return { classify: classifyAt, ageSeconds: ageAt };
}

/** See {@link FreshnessRules}. */
export const { classify, ageSeconds }: FreshnessRules = freshnessRules();

/** Largest relative exptime memcached accepts; larger numbers are taken as absolute unix times. */
export const MEMCACHED_MAX_RELATIVE_EXPTIME = 60 * 60 * 24 * 30;

/** What to store for a value loaded at `now`. */
export interface StorePlan {
  freshUntil: number;
  staleUntil: number;
  /** memcached exptime: whole seconds (relative), or an absolute unix time beyond 30 days. */
  exptime: number;
}

/**
 * Plan the lifetimes of a value. `ttlSeconds` <= 0 (or not finite) means "do not cache": returns
 * undefined. `staleTtlSeconds` < 0 counts as 0.
 */
export function planStore(ttlSeconds: number, staleTtlSeconds: number, now: number): StorePlan | undefined {
  if (!(ttlSeconds > 0) || !Number.isFinite(ttlSeconds)) return undefined;
  const stale = staleTtlSeconds > 0 && Number.isFinite(staleTtlSeconds) ? staleTtlSeconds : 0;
  const freshUntil = now + Math.round(ttlSeconds * 1000);
  const staleUntil = freshUntil + Math.round(stale * 1000);
  return { freshUntil, staleUntil, exptime: memcachedExptime(ttlSeconds + stale, now) };
}

/** memcached exptime for a lifetime in seconds: rounded up, >= 1, absolute beyond 30 days. */
export function memcachedExptime(seconds: number, now: number): number {
  const rel = Math.max(1, Math.ceil(seconds));
  if (rel <= MEMCACHED_MAX_RELATIVE_EXPTIME) return rel;
  return Math.floor(now / 1000) + rel;
}

/**
 * Of two optional stale candidates, the one stored most recently that is still usable at `now`.
 * A negative entry is never a stale candidate (there is no value in it).
 */
export function newerUsable<E extends Pick<Envelope, "s" | "f" | "e" | "n">>(a: E | undefined, b: E | undefined, now: number): E | undefined {
  const ua = a && !a.n && classify(a, now) !== "expired" ? a : undefined;
  const ub = b && !b.n && classify(b, now) !== "expired" ? b : undefined;
  if (!ua) return ub;
  if (!ub) return ua;
  return ub.s > ua.s ? ub : ua;
}

/** Milliseconds left before `deadline` (Infinity when there is none), never negative. */
export function remainingMs(deadline: number | undefined, now: number): number {
  if (deadline === undefined || !Number.isFinite(deadline)) return Infinity;
  return Math.max(0, deadline - now);
}

/** Time budget of one step: its own cap, shortened to what is left before the deadline. */
export function budgetMs(capMs: number, deadline: number | undefined, now: number): number {
  return Math.max(0, Math.min(capMs, remainingMs(deadline, now)));
}

/**
 * How long followers wait for a lease holder to publish the value: `waitMs`, but at most half of the
 * time left, so that they can still load it themselves if the holder never delivers.
 */
export function leaseWaitBudget(waitMs: number, deadline: number | undefined, now: number): number {
  const left = remainingMs(deadline, now);
  return Math.max(0, Math.floor(Math.min(waitMs, left / 2)));
}

/** Serialize an envelope; undefined when the value is not JSON-serializable (undefined, BigInt, cycles, ...). */
export function encodeEnvelope<T>(env: Envelope<T>): string | undefined {
  if (env.d === undefined) return undefined;
  try {
    return JSON.stringify(env);
  } catch {
    return undefined;
  }
}

/** Parse a stored envelope; undefined for anything that is not one (foreign data, truncation, ...). */
export function decodeEnvelope<T = unknown>(raw: string): Envelope<T> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const p = parsed as Partial<Envelope<T>>;
  if (typeof p.s !== "number" || typeof p.f !== "number" || typeof p.e !== "number" || !("d" in p)) return undefined;
  if (!(p.s <= p.f && p.f <= p.e)) return undefined;
  if (p.g !== undefined && !(typeof p.g === "number" && Number.isSafeInteger(p.g) && p.g >= 0)) return undefined;
  if (p.n !== undefined && !(typeof p.n === "object" && p.n !== null && typeof p.n.c === "number" && (p.n.u === undefined || typeof p.n.u === "number"))) return undefined;
  return p as Envelope<T>;
}

/** Bytes memcached needs around a value (item header, key, CAS, suffix); used for the size check. */
export const MEMCACHED_ITEM_OVERHEAD_BYTES = 80;

/** True when a value of `valueBytes` under `key` fits in memcached's item size limit. */
export function fitsItemLimit(valueBytes: number, keyBytes: number, maxItemBytes: number): boolean {
  return valueBytes + keyBytes + MEMCACHED_ITEM_OVERHEAD_BYTES <= maxItemBytes;
}
