/**
 * `serverless-cache`: the components of this repository as a library for other Pulumi programs.
 *
 *     import { MultiAzNetwork, MemcachedCluster, CacheFunction, HybridLambdaFargateService, CachedPrivateApi } from "serverless-cache";
 *
 * This entry loads @pulumi/pulumi, @pulumi/aws and @pulumi/awsx (peer dependencies): import it from the
 * Pulumi program only. App code that runs inside the Lambda and the container (the `app` factory of
 * HybridLambdaFargateService) imports types only from here (`import type { AppFactory } from
 * "serverless-cache"`), so nothing of Pulumi is captured into the serialized function.
 *
 * Unit-test a program that uses these components with `serverless-cache/testing` (docs/testing.md).
 */

// ---- The five components and their arguments.
export { MultiAzNetwork, type MultiAzNetworkArgs, type NatMode, type FlowLogMode } from "../components/MultiAzNetwork";
export { MemcachedCluster, type MemcachedClusterArgs, type MemcachedAzMode, MEMCACHED_PORT } from "../components/MemcachedCluster";
export { CacheFunction, type CacheFunctionArgs } from "../components/CacheFunction";
export {
  HybridLambdaFargateService,
  type HybridLambdaFargateServiceArgs,
  type MemcachedAccess,
  CONTAINER_PORT,
  HEALTH_PATH,
  PLATFORM_PACKAGES,
  PLATFORM_ENVIRONMENT,
} from "../components/HybridLambdaFargateService";
export {
  CachedPrivateApi,
  type CachedPrivateApiArgs,
  type RouteSpec,
  type UnauthorizedCacheControlStrategy,
  backendBasePath,
} from "../components/CachedPrivateApi";

// ---- The app contract of HybridLambdaFargateService (types only: nothing is loaded at run time).
export type {
  AppFactory,
  AppContext,
  AppCache,
  FetchApp,
  RequestInfo,
  RuntimeKind,
  LogFn,
  LogLevel,
  CacheKeyForPath,
  PlainAnswer,
  LambdaInvocationInfo,
} from "../functions/platform/types";
// What `ctx.cache.getOrLoad(key, loader, options)` takes and returns.
export type { CacheResult, CacheSource, GetOrLoadOptions, LoaderContext } from "../functions/cache";
