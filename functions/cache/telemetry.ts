/**
 * Optional logging and metrics. The shapes are the subset of Powertools `Logger` and `Metrics` the
 * library uses, so a Powertools instance can be passed as it is; anything else with these methods
 * works too. Every call is wrapped: a failing logger or metrics sink never fails a request.
 */

/** Subset of `@aws-lambda-powertools/logger` `Logger`. */
export interface CacheLogger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Metric units used by the library (values of Powertools `MetricUnit`). */
export type CacheMetricUnit = "Count" | "Milliseconds" | "Bytes";

/** Subset of `@aws-lambda-powertools/metrics` `Metrics` (EMF). The handler calls `publishStoredMetrics()`. */
export interface CacheMetrics {
  addMetric(name: string, unit: CacheMetricUnit, value: number): unknown;
}

/** Metric names emitted (all `Count` unless noted). */
export const METRIC = {
  hitL1: "CacheHitL1",
  hitL2: "CacheHitL2",
  miss: "CacheMiss",
  stale: "CacheStale",
  /** Any cache-side failure (memcached error/timeout, undecodable entry); each is served as a miss. */
  error: "CacheError",
  /** Loader (upstream) duration, Milliseconds. */
  upstreamLatency: "UpstreamLatency",
  upstreamError: "UpstreamError",
  upstreamTimeout: "UpstreamTimeout",
  /** Value not cached because it exceeds the item size limit. */
  tooLarge: "CacheValueTooLarge",
  /** A memcached node was ejected after failures. */
  nodeEjected: "CacheNodeEjected",
  /** A getOrLoad waited for another process's lease. */
  leaseWait: "CacheLeaseWait",
} as const;

/** Null-safe, exception-safe telemetry facade used internally. */
export interface Telemetry {
  log(level: keyof CacheLogger, message: string, extra?: Record<string, unknown>): void;
  metric(name: string, value?: number, unit?: CacheMetricUnit): void;
}

export function createTelemetry(logger?: CacheLogger, metrics?: CacheMetrics): Telemetry {
  return {
    log(level, message, extra) {
      if (!logger) return;
      try {
        if (extra) logger[level](message, extra); else logger[level](message);
      } catch {
        // Logging must never break a request.
      }
    },
    metric(name, value = 1, unit = "Count") {
      if (!metrics) return;
      try {
        metrics.addMetric(name, unit, value);
      } catch {
        // Nor must metrics.
      }
    },
  };
}
