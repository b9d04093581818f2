/**
 * The platform's logger, given to apps as `ctx.log`: one JSON line per entry, at or above LOG_LEVEL
 * (debug|info|warn|error|silent, default warn). Lambda's JSON log format and CloudWatch keep it
 * structured; the container's awslogs driver ships the same lines.
 */
import type { LogLevel } from "./types";

const LEVEL_RANK: Record<string, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Whether `level` is logged under the threshold `LOG_LEVEL` (debug|info|warn|error|silent, default warn). Pure. */
export function logEnabled(level: LogLevel, threshold: string | undefined): boolean {
  const min = LEVEL_RANK[(threshold ?? "").toLowerCase()] ?? LEVEL_RANK.warn;
  return LEVEL_RANK[level] >= min;
}

/** Default log sink: one JSON line per entry at or above `LOG_LEVEL` (read per call, default warn). */
export function jsonLineLog(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
  if (!logEnabled(level, process.env.LOG_LEVEL)) return;
  const line = JSON.stringify({ level: level.toUpperCase(), message, ...fields, time: new Date().toISOString() });
  if (level === "error") console.error(line);
  else console.log(line);
}

/** Error fields for a log entry. */
export function describeError(e: unknown, withStack: boolean): Record<string, unknown> {
  if (e instanceof Error) return withStack ? { error: e.message, errorName: e.name, stack: e.stack } : { error: e.message, errorName: e.name };
  return { error: String(e) };
}
