/** The API app of issue 4: one Hono app, two entry points (ALB Lambda, container server). */
export { createApp, jsonLineLog, logEnabled, slowFitsDeadline, upstreamFailure } from "./app";
export type { ApiDeps, CachedUpstreamAnswer, LambdaInvocationInfo, LogFn, LogLevel, RequestEnv, RuntimeKind } from "./app";
export { createLambdaHandler, lambdaDeadline } from "./lambda";
export type { AlbHandler, LambdaContextLike, LambdaDeps } from "./lambda";
export { startContainerServer, clientErrorResponse } from "./server";
export type { ContainerDeps, ContainerServer, ContainerServerOptions } from "./server";
export { apiSettingsFromEnv, cacheLoggerFrom, cacheOptionsFromSettings, detectRuntime } from "./env";
export { createApiLambdaHandler, lambdaDepsFromEnv } from "./lambdaEntry";
export type { ApiSettings } from "./env";
export { albError, albFormOf, albResultBytes, needsBase64, parseAlbEvent, shapeAlbResult } from "./alb";
export type { AlbEvent, AlbForm, AlbResult, ParsedAlbRequest, ResponseParts } from "./alb";
export { ALB_MAX_RESPONSE_BYTES, createLargeResponseStore, mustOffload, redirectParts } from "./largeResponse";
export type { LargeResponseOptions, LargeResponseStore, StoredResponse } from "./largeResponse";
