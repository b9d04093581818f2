/**
 * The demo app's own variables (read from `ctx.env`, set through the component's `appEnvironment`
 * or by the platform for every app). Pure: reads only the object it is given; throws an Error naming
 * the variable when one is missing or wrong.
 */
import { securityFromEnv } from "../functions/cache";
import { platformSettingsFromEnv, type PlatformSettings } from "../functions/platform/env";
import { DEFAULT_ITEM_PATH, itemPathTemplateProblem } from "./routes";
import { envReader } from "../functions/cache/envReader";

export interface DemoSettings {
  upstreamUrl: string;
  /** Path of an item below the upstream URL (UPSTREAM_ITEM_PATH, default /items/{id}). */
  upstreamItemPath: string;
  /** The cache namespace the platform created the cache in (CACHE_NAMESPACE, default "api"): part of every item key. */
  namespace: string;
  upstreamTimeoutMs: number;
  ttlSeconds: number;
  staleTtlSeconds: number;
  slowMaxMs: number;
  /** Serve the test routes /slow and /runtime (API_DEBUG_ROUTES=on|off). Default on; off = 404 like any unknown path. */
  debugRoutes: boolean;
  instanceId?: string;
  /** Served content types (UPSTREAM_CONTENT_TYPES) and the upstream body cap (UPSTREAM_MAX_BODY_BYTES). */
  security: { allowedContentTypes: string[]; maxBodyBytes: number };
}

const NAMESPACE = /^[A-Za-z0-9_.-]{1,64}$/;

export function demoSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): DemoSettings {
  const { text, int, onOff } = envReader(env);

  const upstream = text("UPSTREAM_URL");
  if (!upstream) throw new Error("environment variable UPSTREAM_URL is required (the upstream API base URL)");
  let parsed: URL;
  try {
    parsed = new URL(upstream);
  } catch {
    throw new Error(`environment variable UPSTREAM_URL=${upstream} is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error(`environment variable UPSTREAM_URL must be http or https (got ${parsed.protocol})`);
  if (parsed.search || parsed.hash) throw new Error("environment variable UPSTREAM_URL must not have a query or fragment");
  const namespace = text("CACHE_NAMESPACE") ?? "api";
  if (!NAMESPACE.test(namespace)) throw new Error(`environment variable CACHE_NAMESPACE=${namespace} must be 1-64 of [A-Za-z0-9_.-]`);
  const security = securityFromEnv({ ...env });
  const settings: DemoSettings = {
    upstreamUrl: upstream.replace(/\/+$/, ""),
    upstreamItemPath: text("UPSTREAM_ITEM_PATH") ?? DEFAULT_ITEM_PATH,
    namespace,
    upstreamTimeoutMs: int("UPSTREAM_TIMEOUT_MS", 3000, 1, 900000),
    ttlSeconds: int("CACHE_TTL_SECONDS", 300, 1, 2592000),
    staleTtlSeconds: int("CACHE_STALE_TTL_SECONDS", 3600, 0, 2592000),
    slowMaxMs: int("SLOW_MAX_MS", 5000, 0, 60000),
    debugRoutes: onOff("API_DEBUG_ROUTES", true),
    security: { allowedContentTypes: security.allowedContentTypes, maxBodyBytes: security.maxBodyBytes },
  };
  const itemPathProblem = itemPathTemplateProblem(settings.upstreamItemPath);
  if (itemPathProblem) throw new Error(`environment variable UPSTREAM_ITEM_PATH=${settings.upstreamItemPath} ${itemPathProblem}`);
  const instanceId = text("INSTANCE_ID");
  if (instanceId !== undefined) settings.instanceId = instanceId;
  return settings;
}

/** Everything a local run of the demo app reads: its own settings and the platform's (tests, benchmarks). */
export type ApiSettings = PlatformSettings & DemoSettings;

/** The demo app's settings, then the platform's (the same variables and errors as before the split). */
export function apiSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): ApiSettings {
  const demo = demoSettingsFromEnv(env);
  const platform = platformSettingsFromEnv(env);
  return { ...platform, ...demo, security: { ...platform.security, ...demo.security } };
}
