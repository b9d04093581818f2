/**
 * The platform's logger, given to apps as `ctx.log`: the project's one JSON-lines logger
 * (functions/cache/log.ts), service "api", in the Lambda and in the container.
 */
export { describeError, jsonLineLog, logEnabled, logThreshold } from "../cache/log";
