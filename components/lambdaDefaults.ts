/**
 * Settings every Lambda of the project shares.
 *
 * Log levels are set explicitly: with JSON logs and no levels the provider shows a perpetual diff,
 * which (with `publish`, i.e. provisioned concurrency) publishes a new version and moves the alias on
 * every `up` (terraform-provider-aws #42181). The system level stays Lambda's default (INFO: the
 * platform's START/END/REPORT lines carry duration and memory).
 *
 * The application level filters what the runtime's `console.*` methods write: `console.log` is INFO.
 * Every function logs with the one JSON-lines logger (functions/cache/log.ts): it writes each level
 * with its console method (warn with `console.warn`, ...) and also takes this level as its threshold
 * (AWS_LAMBDA_LOG_LEVEL, the stricter of it and LOG_LEVEL). EMF metrics (createEmfMetrics) go to
 * process.stdout directly, which the level does not filter.
 */
export function lambdaLogLevels(applicationLogLevel: "INFO" | "WARN" | "ERROR" = "INFO") {
  return { applicationLogLevel, systemLogLevel: "INFO" } as const;
}

/** Lambda's defaults, explicit: every function of the API and failover paths. */
export const LAMBDA_LOG_LEVELS = lambdaLogLevels("INFO");

/** Lambda's hard limit on a function's timeout (15 minutes): the components accept up to this. */
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

/** Lambda's memory range, MB. */
export const LAMBDA_MIN_MEMORY_MB = 128;
export const LAMBDA_MAX_MEMORY_MB = 10240;
