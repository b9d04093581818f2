/**
 * The platform of HybridLambdaFargateService: what every app gets in both runtimes (ALB Lambda
 * target, container server). Apps implement the contract of ./types (`AppFactory`).
 */
export type { AppCache, AppContext, AppFactory, CacheKeyForPath, FetchApp, LambdaInvocationInfo, LogFn, LogLevel, PlainAnswer, RequestInfo, RuntimeKind } from "./types";
export { hybridEntry, createLambdaEntry, startContainer, EXIT_BAD_CONFIG } from "./entry";
export type { RunningContainer } from "./entry";
export { jsonLineLog, logEnabled, describeError } from "./log";
export { createLambdaHandler, createApiHandler, lambdaDeadline } from "./lambda";
export type { AlbHandler, ApiLambdaHandler, LambdaContextLike, LambdaDeps } from "./lambda";
export { startContainerServer, clientErrorResponse } from "./server";
export type { ContainerDeps, ContainerServer, ContainerServerOptions } from "./server";
export { RUNTIME_ENV, apiMetricsSink, cacheLoggerFrom, cacheOptionsFromSettings, detectRuntime, entryRuntime, platformSettingsFromEnv } from "./env";
export type { PlatformSettings } from "./env";
export { albError, albFormOf, albResultBytes, needsBase64, parseAlbEvent, shapeAlbResult } from "./alb";
export type { AlbEvent, AlbForm, AlbResult, ParsedAlbRequest, ResponseParts } from "./alb";
export { DEFAULT_LIMITS, HEALTH_PATH, JSON_CONTENT_TYPE, basePathProblem, errorJson, fail, healthAnswer, stripBasePath } from "./http";
export type { ErrorDecision, RequestLimits } from "./http";
export { DEADLINE_GRACE_MS } from "./deadline";
export { ALB_MAX_RESPONSE_BYTES, DEFAULT_LARGE_RESPONSE_KEY_PREFIX, createLargeResponseStore, mustOffload, redirectParts } from "./largeResponse";
export type { LargeResponseOptions, LargeResponseStore, StoredResponse } from "./largeResponse";
