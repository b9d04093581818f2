/**
 * Invalidation bounds. Pure.
 *
 * Two mechanisms make every execution environment stop serving an invalidated value:
 *
 * 1. **L1 max age.** When memcached is configured, an L1 entry is served as a hit only for
 *    `l1MaxAgeMs` after this environment last read it from memcached (or loaded it). After that the
 *    next request reads memcached again. So once a key is deleted from memcached, no environment
 *    serves it from L1 for longer than `l1MaxAgeMs`.
 *
 * 2. **Namespace generation** (for a flush). Every stored envelope carries the generation `g` it was
 *    loaded under; a number kept in memcached under `<namespace>:gen`, on every node. An envelope
 *    whose `g` is below the generation an environment knows is never served (not even stale). An
 *    environment re-reads the generation every `l1MaxAgeMs` (together with the first request after
 *    that), so a flush (a bump of the generation) reaches every environment within the same bound.
 *    A load that started before the flush stores its value under the old generation: nobody reads
 *    it. The generation is the flush time (epoch ms) and never goes down:
 *    - an environment never adopts a lower one than it knows, and writes the higher one back;
 *    - a node that lost it (restart) gets the highest value the other nodes hold;
 *    - an envelope with a higher `g` than known teaches the environment the newer generation.
 */
import type { Envelope } from "./freshness";

/** memcached key of a namespace's generation. Distinct from every storage key (`<ns>:v2:...`). */
export function generationKey(namespace: string): string {
  return `${namespace}:gen`;
}

/** Parse a stored generation: a safe non-negative integer in decimal, else undefined. */
export function parseGeneration(raw: string): number | undefined {
  const t = raw.trim();
  if (!/^[0-9]{1,16}$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The next generation for a flush: above every generation seen, and at least `now` (epoch ms). */
export function nextGeneration(seen: readonly number[], now: number): number {
  const top = seen.reduce((m, g) => (g > m ? g : m), 0);
  return Math.max(Math.floor(now), top + 1);
}

/** Highest of the generations read (undefined entries = node had none / unreachable) and the known one. */
export function mergeGenerations(known: number, read: readonly (number | undefined)[]): number {
  let m = known;
  for (const g of read) if (g !== undefined && g > m) m = g;
  return m;
}

/** The generation and L1-age rules of every cache read. */
export interface GenerationRules {
  /** The generation of an envelope (entries written before generations existed count as 0). */
  envelopeGeneration(env: Pick<Envelope, "g">): number;
  /** May this envelope be served in an environment that knows generation `known`? */
  isCurrent(env: Pick<Envelope, "g">, known: number): boolean;
  /** Is it time to re-read the generation? (A clock that went backwards counts as due.) */
  generationCheckDue(checkedAt: number, now: number, intervalMs: number): boolean;
  /**
   * May an L1 entry put into L1 at `at` still be served as a hit at `now` without asking memcached?
   * Always true without a shared tier (`maxAgeMs` Infinity); a clock that went backwards counts as too old.
   */
  l1EntryUsable(at: number, now: number, maxAgeMs: number): boolean;
}

/**
 * The rules as closures made by this call: a cache makes its own once, for its per-request code
 * (why: freshnessRules in freshness.ts). The module's exports of the same names are the same rules.
 */
export function generationRules(): GenerationRules {
  const unbounded = Infinity;
  const generationOf = (env: Pick<Envelope, "g">): number => (typeof env.g === "number" ? env.g : 0);
  return {
    envelopeGeneration: generationOf,
    isCurrent: (env, known) => generationOf(env) >= known,
    generationCheckDue: (checkedAt, now, intervalMs) => now < checkedAt || now - checkedAt >= intervalMs,
    l1EntryUsable: (at, now, maxAgeMs) => maxAgeMs === unbounded || (now >= at && now - at < maxAgeMs),
  };
}

/** See {@link GenerationRules}. */
export const { envelopeGeneration, isCurrent, generationCheckDue, l1EntryUsable }: GenerationRules = generationRules();
