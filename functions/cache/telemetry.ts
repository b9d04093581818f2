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
  /** The upstream circuit breaker opened (or reopened after a failed probe). */
  breakerOpen: "UpstreamBreakerOpen",
  /** The breaker let its one probe through. */
  breakerHalfOpen: "UpstreamBreakerHalfOpen",
  /** The probe succeeded: the breaker closed. */
  breakerClose: "UpstreamBreakerClose",
  /** A miss was not sent to the upstream because the breaker is open (answered stale or 503). */
  upstreamRejected: "UpstreamRejected",
  /** A miss was shed by the bulkhead (too many upstream calls in flight; answered stale or 503). */
  upstreamShed: "UpstreamShed",
  /** An upstream error (404, 5xx, timeout) was answered from a negative cache entry. */
  negativeHit: "CacheNegativeHit",
  /** An upstream error was stored as a negative cache entry. */
  negativeStore: "CacheNegativeStore",
  /**
   * An entry read from memcached was not served (treated as a miss): no MAC, an invalid MAC, a key not
   * accepted here, or a value the app does not serve (content type, shape). See integrity.ts.
   */
  entryRejected: "CacheEntryRejected",
  /** The entry keys could not be loaded: this environment runs without memcached until they can. */
  keysUnavailable: "CacheKeysUnavailable",
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

/** A {@link CacheMetrics} that writes CloudWatch Embedded Metric Format lines itself. */
export interface EmfMetrics extends CacheMetrics {
  /** Write what is pending now (call it at the end of a Lambda invocation). */
  flush(): void;
}

export interface EmfMetricsOptions {
  /** CloudWatch namespace. */
  namespace: string;
  /** Dimensions attached to every metric, e.g. { service: "api", runtime: "lambda" }. */
  dimensions: Record<string, string>;
  /** Only these metric names are written (others are dropped): keep it to the rare, actionable ones. */
  names: readonly string[];
  /** Shortest gap (ms) between two lines; counts in between are summed. Default 1000. Infinity: only on flush(). */
  intervalMs?: number;
  /** Where a line goes. Default: process.stdout (not console.log, which Lambda's JSON log format would wrap). */
  write?: (line: string) => void;
  clock?: () => number;
}

/**
 * EMF without a dependency: sums the selected `Count` metrics (other units keep each value, as an EMF
 * value array) and writes at most one line per `intervalMs` (when a metric arrives after the interval,
 * or on flush()). No timers: nothing runs between
 * requests, and a Lambda freeze loses nothing as long as the handler calls flush().
 */
export function createEmfMetrics(o: EmfMetricsOptions): EmfMetrics {
  const clock = o.clock ?? Date.now;
  const intervalMs = o.intervalMs ?? 1000;
  const names = new Set(o.names);
  const write = o.write ?? ((line: string) => { process.stdout.write(`${line}\n`); });
  // Mutated, never reassigned.
  const st = { pending: new Map<string, { unit: CacheMetricUnit; values: number[] }>(), lastAt: Number.NEGATIVE_INFINITY };
  const flush = (): void => {
    if (st.pending.size === 0) return;
    const now = clock();
    const metrics = [...st.pending.entries()];
    st.pending.clear();
    st.lastAt = now;
    const line = {
      _aws: {
        Timestamp: now,
        CloudWatchMetrics: [{ Namespace: o.namespace, Dimensions: [Object.keys(o.dimensions)], Metrics: metrics.map(([Name, m]) => ({ Name, Unit: m.unit })) }],
      },
      ...o.dimensions,
      ...Object.fromEntries(metrics.map(([name, m]) => [name, m.values.length === 1 ? m.values[0] : m.values])),
    };
    try {
      write(JSON.stringify(line));
    } catch {
      // Metrics must never fail a request.
    }
  };
  return {
    addMetric(name, unit, value) {
      if (!names.has(name)) return;
      const p = st.pending.get(name);
      if (!p) st.pending.set(name, { unit, values: [value] });
      else if (unit === "Count" && p.unit === "Count") p.values[0] += value;
      else p.values.push(value);
      if (Number.isFinite(intervalMs) && clock() - st.lastAt >= intervalMs) flush();
    },
    flush,
  };
}

/**
 * The metrics the API writes through {@link createEmfMetrics}: breaker transitions, refusals, upstream
 * failures, negative hits, and the integrity ones (rejected entries, missing keys).
 */
export const RESILIENCE_METRICS: readonly string[] = [
  METRIC.breakerOpen, METRIC.breakerHalfOpen, METRIC.breakerClose, METRIC.upstreamRejected, METRIC.upstreamShed,
  METRIC.upstreamError, METRIC.upstreamTimeout, METRIC.negativeHit, METRIC.negativeStore,
  METRIC.entryRejected, METRIC.keysUnavailable,
];
