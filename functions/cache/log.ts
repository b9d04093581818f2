/**
 * The one logger of the project: both Lambdas of the API path (cache handler, API handler), the
 * failover Lambda and the container write the same JSON line per entry,
 * `{"level","message","timestamp","service",...fields}`, with no dependency (nothing to load on a cold
 * start; Powertools Logger + Metrics cost ~35 ms more per cold start, measured for issue 13).
 *
 * Level filter: the stricter of AWS_LAMBDA_LOG_LEVEL (what Lambda sets from the function's
 * loggingConfig.applicationLogLevel, components/lambdaDefaults.ts) and LOG_LEVEL
 * (debug|info|warn|error|silent); default warn when neither is set. Read per call.
 * Metrics are separate: CloudWatch Embedded Metric Format lines from createEmfMetrics (telemetry.ts).
 */
import type { CacheLogger } from "./telemetry";

export type LogLevel = "debug" | "info" | "warn" | "error";
/** One JSON line per entry (`{"level","message","timestamp","service",...fields}`), at or above the threshold. */
export type LogFn = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

// trace and fatal are Lambda's levels (AWS_LAMBDA_LOG_LEVEL); silent is LOG_LEVEL's "nothing".
const LEVEL_RANK: Record<string, number> = { trace: 5, debug: 10, info: 20, warn: 30, error: 40, fatal: 50, silent: 100 };

/** Whether `level` is logged under the threshold (debug|info|warn|error|silent, unknown or unset: warn). Pure. */
export function logEnabled(level: LogLevel, threshold: string | undefined): boolean {
  const min = LEVEL_RANK[(threshold ?? "").toLowerCase()] ?? LEVEL_RANK.warn;
  return LEVEL_RANK[level] >= min;
}

/** The threshold: the stricter of AWS_LAMBDA_LOG_LEVEL and LOG_LEVEL among those set to a known level, else undefined (warn). Pure. */
export function logThreshold(env: Record<string, string | undefined>): string | undefined {
  const known = [env.AWS_LAMBDA_LOG_LEVEL, env.LOG_LEVEL]
    .map((v) => (v ?? "").toLowerCase())
    .filter((v) => LEVEL_RANK[v] !== undefined);
  return known.length === 0 ? undefined : known.reduce((a, b) => (LEVEL_RANK[b] > LEVEL_RANK[a] ? b : a));
}

/** One log line: `{"level","message","timestamp","service",...fields}`. */
export function formatLogLine(level: LogLevel, message: string, service: string, fields?: Record<string, unknown>): string {
  return JSON.stringify({ level: level.toUpperCase(), message, timestamp: new Date().toISOString(), service, ...fields });
}

/**
 * A {@link LogFn} for `service`, filtered by {@link logThreshold} of the live environment. Written with
 * the console method of the level (error, warn; `console.log` below), so Lambda's own
 * applicationLogLevel filter and JSON wrapper see the right level (`console.log` is INFO to Lambda:
 * a warning written with it would be dropped by a WARN function, e.g. the cache Lambda).
 */
export function createJsonLog(service: string): LogFn {
  return (level, message, fields) => {
    if (!logEnabled(level, logThreshold(process.env))) return;
    const line = formatLogLine(level, message, service, fields);
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  };
}

/** The API's (Lambda and container) log function: service "api". */
export const jsonLineLog: LogFn = createJsonLog("api");

/** A {@link CacheLogger} (what the cache library takes) writing through `log`, with `base` fields on every entry. */
export function cacheLoggerFrom(log: LogFn, base: Record<string, unknown> = {}): CacheLogger {
  const fields = (extra: Record<string, unknown>[]): Record<string, unknown> => Object.assign({ ...base }, ...extra);
  return {
    debug: (message, ...extra) => log("debug", message, fields(extra)),
    info: (message, ...extra) => log("info", message, fields(extra)),
    warn: (message, ...extra) => log("warn", message, fields(extra)),
    error: (message, ...extra) => log("error", message, fields(extra)),
  };
}

/** Error fields for a log entry. */
export function describeError(e: unknown, withStack: boolean): Record<string, unknown> {
  if (e instanceof Error) return withStack ? { error: e.message, errorName: e.name, stack: e.stack } : { error: e.message, errorName: e.name };
  return { error: String(e) };
}
