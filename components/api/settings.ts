import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  API_AUTHORIZATIONS,
  type ApiAuthorization,
  DEFAULT_CACHE_TTL_SECONDS,
  type NormalizedRoute,
  normalizeRoutes,
  validateCacheSize,
  validateCacheTtl,
  validateStageName,
  validateThrottle,
} from "../apiRoutes";
import { DEFAULT_LARGE_RESPONSE_KEY_PREFIX } from "../../functions/platform/largeResponse";
import type { CachedPrivateApiArgs } from "../CachedPrivateApi";
import { LARGE_RESPONSE_PATH } from "./largeResponseRoute";

/** What API Gateway does with `Cache-Control: max-age=0` from a caller that may not invalidate. */
export type UnauthorizedCacheControlStrategy = "FAIL_WITH_403" | "SUCCEED_WITH_RESPONSE_HEADER" | "SUCCEED_WITHOUT_RESPONSE_HEADER";
export const UNAUTHORIZED_CACHE_CONTROL_STRATEGIES: readonly UnauthorizedCacheControlStrategy[] = ["SUCCEED_WITH_RESPONSE_HEADER", "SUCCEED_WITHOUT_RESPONSE_HEADER", "FAIL_WITH_403"];
export const DEFAULT_UNAUTHORIZED_CACHE_CONTROL_STRATEGY: UnauthorizedCacheControlStrategy = "SUCCEED_WITH_RESPONSE_HEADER";
/** API Gateway's range for a REST integration's timeout, ms (also the default: the 29 s maximum). */
export const INTEGRATION_TIMEOUT_MS = { min: 50, max: 29000 } as const;

/** Settings derived from the args, validated before anything is registered. */
export interface ResolvedSettings {
  routes: NormalizedRoute[];
  sizeGb: string;
  defaultTtl: number;
  throttle: { rateLimit: number; burstLimit: number };
  stageName: string;
  clusterEnabled: boolean;
  protocol: "http" | "https";
  timeoutMs: number;
  alarms: { minRatio: number; minCacheable: number; max5xx: number; min5xxRequests: number };
  logRetentionDays: number;
  unauthorizedCacheControl: UnauthorizedCacheControlStrategy;
  largeResponseKeyPrefix?: string;
  authorization: ApiAuthorization;
}

export function resolveSettings(name: string, args: CachedPrivateApiArgs): ResolvedSettings {
  const fail = (e: unknown): never => {
    throw new Error(`CachedPrivateApi ${name}: ${(e as Error).message}`);
  };
  try {
    const sizeGb = validateCacheSize(args.cacheSizeGb ?? "0.5", "cacheSizeGb");
    const defaultTtl = validateCacheTtl(args.cacheTtlSeconds ?? DEFAULT_CACHE_TTL_SECONDS, "cacheTtlSeconds");
    const throttle = validateThrottle(args.throttleRateLimit ?? 1000, args.throttleBurstLimit ?? 2000);
    const stageName = validateStageName(args.stageName ?? pulumi.getStack(), "stageName");
    const routes = normalizeRoutes(args.routes, { defaultTtlSeconds: defaultTtl, proxyFallback: args.proxyFallback ?? true });
    const port = args.backend?.listenerPort;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`backend.listenerPort = ${port}: must be a port number from 1 to 65535`);
    const protocol = args.backend.protocol ?? "http";
    if (protocol !== "http" && protocol !== "https") throw new Error(`backend.protocol = ${JSON.stringify(protocol)}: must be "http" or "https"`);
    if (protocol === "https" && !args.backend.serverName) {
      throw new Error("backend.serverName is required when backend.protocol is \"https\": API Gateway checks the ALB certificate against the integration URI's host, and no certificate covers the ALB's *.elb.amazonaws.com name");
    }
    const authorization = args.authorization ?? "NONE";
    if (!API_AUTHORIZATIONS.includes(authorization)) throw new Error(`authorization = ${JSON.stringify(authorization)}: must be one of ${API_AUTHORIZATIONS.join(", ")}`);
    const unauthorizedCacheControl = args.unauthorizedCacheControl ?? DEFAULT_UNAUTHORIZED_CACHE_CONTROL_STRATEGY;
    if (!UNAUTHORIZED_CACHE_CONTROL_STRATEGIES.includes(unauthorizedCacheControl)) {
      throw new Error(`unauthorizedCacheControl = ${JSON.stringify(unauthorizedCacheControl)}: must be one of ${UNAUTHORIZED_CACHE_CONTROL_STRATEGIES.join(", ")}`);
    }
    const large = args.backend.largeResponseBucket;
    const largeResponseKeyPrefix = large ? (large.keyPrefix ?? DEFAULT_LARGE_RESPONSE_KEY_PREFIX) : undefined;
    if (largeResponseKeyPrefix !== undefined && !/^([A-Za-z0-9_.-]+\/)*$/.test(largeResponseKeyPrefix)) {
      throw new Error(`backend.largeResponseBucket.keyPrefix = ${JSON.stringify(largeResponseKeyPrefix)}: must be empty or folders ending in "/" (letters, digits, _ . -)`);
    }
    if (large) {
      const clash = routes.find((r) => r.path === LARGE_RESPONSE_PATH || r.path.startsWith(`${LARGE_RESPONSE_PATH}/`));
      if (clash) throw new Error(`route ${clash.key}: ${LARGE_RESPONSE_PATH} is reserved for large responses (backend.largeResponseBucket)`);
    }
    const timeoutMs = args.backend.timeoutMilliseconds ?? INTEGRATION_TIMEOUT_MS.max;
    if (!Number.isInteger(timeoutMs) || timeoutMs < INTEGRATION_TIMEOUT_MS.min || timeoutMs > INTEGRATION_TIMEOUT_MS.max) {
      throw new Error(`backend.timeoutMilliseconds = ${timeoutMs}: must be a whole number from ${INTEGRATION_TIMEOUT_MS.min} to ${INTEGRATION_TIMEOUT_MS.max}`);
    }
    const a = args.alarms ?? {};
    const alarms = {
      minRatio: a.minCacheHitRatioPercent ?? 50,
      minCacheable: a.minCacheableRequests ?? 100,
      max5xx: a.max5xxPercent ?? 5,
      min5xxRequests: a.min5xxRequests ?? 20,
    };
    for (const [field, v] of [["alarms.minCacheHitRatioPercent", alarms.minRatio], ["alarms.max5xxPercent", alarms.max5xx]] as const) {
      if (typeof v !== "number" || !(v > 0 && v <= 100)) throw new Error(`${field} = ${v}: must be a percentage above 0 and at most 100`);
    }
    for (const [field, v] of [["alarms.minCacheableRequests", alarms.minCacheable], ["alarms.min5xxRequests", alarms.min5xxRequests]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${field} = ${v}: must be a whole number of requests, at least 1`);
    }
    const logRetentionDays = args.logRetentionDays ?? 14;
    if (!Number.isInteger(logRetentionDays) || logRetentionDays < 1) throw new Error(`logRetentionDays = ${logRetentionDays}: must be a CloudWatch retention in days (1, 3, 5, 7, 14, 30, ...)`);
    return {
      routes, sizeGb, defaultTtl, throttle, stageName, clusterEnabled: routes.some((r) => r.cached), protocol, timeoutMs, alarms, logRetentionDays,
      unauthorizedCacheControl, largeResponseKeyPrefix, authorization,
    };
  } catch (e) {
    return fail(e);
  }
}

/** What every step of the API's construction shares. */
export interface ApiContext {
  name: string;
  args: CachedPrivateApiArgs;
  settings: ResolvedSettings;
  /** API name (includes the stack name). */
  apiName: string;
  stack: string;
  tags: Record<string, pulumi.Input<string>>;
  /** The component: parent of every resource. */
  parent: pulumi.Resource;
  /** `{ parent }`: the options of most resources. */
  child: { parent: pulumi.Resource };
  region: pulumi.Output<string>;
  accountId: pulumi.Output<string>;
  partition: pulumi.Output<aws.GetPartitionResult>;
}
