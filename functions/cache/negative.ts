/**
 * Negative caching: an upstream error is remembered for a few seconds so that a missing item (or a
 * failing one) does not send every request to the upstream. Pure.
 *
 * - "not found" (the upstream answered 404 or 410) is an answer, not a failure: it replaces any
 *   cached value of the key (a deleted item must not be served stale) and is kept
 *   `notFoundTtlSeconds`.
 * - Any other error (5xx, timeout, connection) is kept `errorTtlSeconds`, and only when there is no
 *   stale value to serve instead (stale-if-error wins); it is written with memcached `add`, so it
 *   never overwrites a value another environment has just stored.
 * - A negative entry has no stale window (fresh until = usable until = stored + TTL), is never a
 *   stale candidate, and is never served after its TTL: the TTL is the bound.
 * - TTL 0 disables the kind.
 */
export interface NegativeCacheOptions {
  /** Seconds a 404/410 from the upstream is cached. Default 5. 0 = not cached. */
  notFoundTtlSeconds?: number;
  /** Seconds any other upstream error is cached when nothing stale is kept. Default 1. 0 = not cached. */
  errorTtlSeconds?: number;
}

export const NEGATIVE_DEFAULTS = { notFoundTtlSeconds: 5, errorTtlSeconds: 1 } as const;

/** Longest TTL a negative entry may have (seconds): negative caching is for seconds, not minutes. */
export const NEGATIVE_MAX_TTL_SECONDS = 300;

export type NegativeKind = "not-found" | "error";

/** Which kind of negative answer an upstream error is. */
export function negativeKind(err: { upstreamStatus?: number }): NegativeKind {
  return err.upstreamStatus === 404 || err.upstreamStatus === 410 ? "not-found" : "error";
}

/** Clamp a TTL option: not finite or <= 0 -> 0 (disabled), above the maximum -> the maximum. */
export function clampNegativeTtl(ttl: number | undefined, fallback: number): number {
  const v = ttl === undefined ? fallback : ttl;
  if (!Number.isFinite(v) || v <= 0) return 0;
  return Math.min(v, NEGATIVE_MAX_TTL_SECONDS);
}

/** TTL (seconds) of a negative entry of this kind; 0 = do not cache. */
export function negativeTtlSeconds(kind: NegativeKind, options: NegativeCacheOptions | undefined): number {
  return kind === "not-found"
    ? clampNegativeTtl(options?.notFoundTtlSeconds, NEGATIVE_DEFAULTS.notFoundTtlSeconds)
    : clampNegativeTtl(options?.errorTtlSeconds, NEGATIVE_DEFAULTS.errorTtlSeconds);
}
