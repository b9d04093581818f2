/**
 * Per-node failure tracking (ejection with a retry time). Pure: state in, state out.
 *
 * A node that fails `ejectAfterFailures` operations in a row is skipped for `retryAfterMs`; its keys
 * go to its ring neighbours meanwhile. After that exactly one request probes it (the others keep
 * skipping it while the probe is in flight): success clears the record, a failure ejects it again.
 */
export interface NodeHealth {
  /** Consecutive failures since the last success. */
  failures: number;
  /** Epoch ms until which the node is skipped; > 0 also means "ejected, not yet confirmed back" (0 = healthy). */
  ejectedUntil: number;
  /** Epoch ms until which a probe request is in flight (others skip the node meanwhile). */
  probeUntil: number;
}

export interface HealthPolicy {
  ejectAfterFailures: number;
  retryAfterMs: number;
}

export const HEALTHY: NodeHealth = Object.freeze({ failures: 0, ejectedUntil: 0, probeUntil: 0 });

/** "up": use it; "down": skip it; "probe": ejected, retry time over, nobody probing: one request may try it. */
export type Availability = "up" | "down" | "probe";

export function availability(h: NodeHealth | undefined, now: number): Availability {
  if (!h || h.ejectedUntil === 0) return "up";
  if (h.ejectedUntil > now || h.probeUntil > now) return "down";
  return "probe";
}

/** True unless the node is being skipped ("probe" counts as available). */
export function isAvailable(h: NodeHealth | undefined, now: number): boolean {
  return availability(h, now) !== "down";
}

/** True while the node is ejected or waiting for a successful probe. */
export function isEjected(h: NodeHealth | undefined): boolean {
  return !!h && h.ejectedUntil > 0;
}

/** A request claims the probe of a node in "probe" state; others skip it for `probeTimeoutMs`. */
export function startProbe(h: NodeHealth, now: number, probeTimeoutMs: number): NodeHealth {
  return { ...h, probeUntil: now + probeTimeoutMs };
}

/** Record a failure; `ejected` is true when this failure (re-)ejects the node. */
export function recordFailure(h: NodeHealth | undefined, now: number, policy: HealthPolicy): { health: NodeHealth; ejected: boolean } {
  const prev = h ?? HEALTHY;
  const failures = prev.failures + 1;
  // A node on probation (was ejected, not yet back) goes straight out again on its first failure.
  if (failures >= Math.max(1, policy.ejectAfterFailures) || isEjected(prev)) {
    return { health: { failures, ejectedUntil: now + policy.retryAfterMs, probeUntil: 0 }, ejected: true };
  }
  return { health: { failures, ejectedUntil: 0, probeUntil: 0 }, ejected: false };
}

export function recordSuccess(): NodeHealth {
  return HEALTHY;
}
