/**
 * Every project setting is parsed and validated here, in one place, so a bad value fails
 * `pulumi preview` with the key, the value and what is allowed — before anything is created.
 * Defaults and descriptions live in Pulumi.yaml (the CLI passes them in); this file decides what is valid.
 */
import * as pulumi from "@pulumi/pulumi";
import { cidrContains, parseCidr, subnetCapacity } from "./components/cidr";

export const PROJECT = "serverless-cache";

export type NatMode = "perAz" | "single";
export const NAT_MODES: readonly NatMode[] = ["perAz", "single"];
export type CacheAzMode = "cross-az" | "single-az";
export const CACHE_AZ_MODES: readonly CacheAzMode[] = ["cross-az", "single-az"];
/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
/** Lambda's hard limit. */
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;
/** memcached treats a relative expiry above 30 days as an absolute Unix time. */
export const MEMCACHED_MAX_RELATIVE_TTL_SECONDS = 2_592_000;

export interface NetworkConfig {
  vpcCidr: string;
  azCount: number;
  subnetPrefixLength: number;
  natMode: NatMode;
}

export interface CacheClusterConfig {
  nodeType: string;
  nodeCount: number;
  azMode: CacheAzMode;
  engineVersion: string;
}

export interface CacheHandlerConfig {
  upstreamUrl: string;
  upstreamTimeoutMs: number;
  ttlSeconds: number;
  timeoutSeconds: number;
  memoryMb: number;
}

export interface StackConfig {
  network: NetworkConfig;
  cache: CacheClusterConfig;
  cacheHandler: CacheHandlerConfig;
  logRetentionDays: number;
}

/** Reads one raw config value by its short key (without the project prefix). */
export type RawConfigReader = (key: string) => string | undefined;

/** All problems found in the stack's config, each naming the key, the value and what is allowed. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration for project ${PROJECT}:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

class Collector {
  readonly problems: string[] = [];
  constructor(private readonly read: RawConfigReader) {}

  private raw(key: string): string | undefined {
    const v = this.read(key);
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  }

  fail(key: string, value: unknown, allowed: string): void {
    this.problems.push(`${PROJECT}:${key} = ${JSON.stringify(value)}: ${allowed}`);
  }

  string(key: string): string {
    const v = this.raw(key);
    if (v === undefined) {
      this.fail(key, v, "is required (Pulumi.yaml declares its default; is the key misspelled in the stack file?)");
      return "";
    }
    return v;
  }

  integer(key: string, min: number, max: number): number {
    const v = this.raw(key);
    if (v === undefined || !/^-?\d+$/.test(v)) {
      this.fail(key, v, `must be a whole number from ${min} to ${max}`);
      return min;
    }
    const n = Number(v);
    if (n < min || n > max) this.fail(key, n, `must be a whole number from ${min} to ${max}`);
    return n;
  }

  oneOf<T extends string | number>(key: string, allowed: readonly T[], value: T): T {
    if (value === "") return value; // already reported as missing
    if (!allowed.includes(value)) this.fail(key, value, `must be one of ${allowed.join(", ")}`);
    return value;
  }
}

/** Parse and validate the whole stack config; throws one ConfigError listing every problem. */
export function parseStackConfig(read: RawConfigReader): StackConfig {
  const c = new Collector(read);

  const vpcCidr = c.string("vpcCidr");
  const azCount = c.integer("azCount", 2, 6);
  const subnetPrefixLength = c.integer("subnetPrefixLength", 16, 28);
  const natMode = c.oneOf("natMode", NAT_MODES, c.string("natMode") as NatMode);

  const vpc = parseCidr(vpcCidr);
  if (vpcCidr && !vpc) {
    c.fail("vpcCidr", vpcCidr, "must be an IPv4 network in CIDR form with no host bits set, e.g. 10.0.0.0/16");
  } else if (vpc) {
    if (vpc.prefix < 16 || vpc.prefix > 24) {
      c.fail("vpcCidr", vpcCidr, "must have a prefix from /16 to /24 (the sizes AWS allows for a VPC, leaving room for subnets)");
    }
    const isPrivate = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].some((r) => {
      const range = parseCidr(r);
      return range !== undefined && cidrContains(range, vpc);
    });
    if (!isPrivate) c.fail("vpcCidr", vpcCidr, "must lie in an RFC 1918 private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)");
    const needed = 2 * azCount;
    const azCountValid = azCount >= 2 && azCount <= 6;
    if (azCountValid && (subnetPrefixLength <= vpc.prefix || subnetCapacity(vpc, subnetPrefixLength) < needed)) {
      c.fail(
        "subnetPrefixLength",
        subnetPrefixLength,
        `${needed} subnets (public + private in ${azCount} AZs) of /${subnetPrefixLength} do not fit in ${vpcCidr}; ` +
          `use a prefix from /${vpc.prefix + Math.ceil(Math.log2(needed))} to /28 or a larger vpcCidr`,
      );
    }
  }

  const nodeType = c.string("cacheNodeType");
  if (nodeType && !/^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(nodeType)) {
    c.fail("cacheNodeType", nodeType, "must be an ElastiCache node type such as cache.t4g.micro or cache.m7g.large");
  }
  const nodeCount = c.integer("cacheNodeCount", 1, 40);
  const azMode = c.oneOf("cacheAzMode", CACHE_AZ_MODES, c.string("cacheAzMode") as CacheAzMode);
  if (azMode === "cross-az" && nodeCount < 2) {
    c.fail("cacheNodeCount", nodeCount, "must be 2 or more when cacheAzMode is cross-az (or set cacheAzMode to single-az)");
  }
  const engineVersion = c.string("cacheEngineVersion");
  if (engineVersion && !/^1\.6\.\d+$/.test(engineVersion)) {
    c.fail("cacheEngineVersion", engineVersion, "must be a memcached 1.6.x version, e.g. 1.6.22");
  }

  const upstreamUrl = c.string("upstreamUrl");
  if (upstreamUrl) {
    let ok = false;
    try {
      const u = new URL(upstreamUrl);
      ok = (u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password && !u.search && !u.hash;
    } catch {
      ok = false;
    }
    if (!ok) {
      c.fail("upstreamUrl", upstreamUrl, "must be an absolute http:// or https:// base URL without credentials, query or fragment");
    }
  }
  const timeoutSeconds = c.integer("lambdaTimeoutSeconds", 1, LAMBDA_MAX_TIMEOUT_SECONDS);
  const memoryMb = c.integer("lambdaMemoryMb", 128, 10240);
  const ttlSeconds = c.integer("cacheTtlSeconds", 1, MEMCACHED_MAX_RELATIVE_TTL_SECONDS);
  const upstreamTimeoutMs = c.integer("upstreamTimeoutMs", 100, LAMBDA_MAX_TIMEOUT_SECONDS * 1000);
  if (upstreamTimeoutMs > timeoutSeconds * 1000 - 1000) {
    c.fail(
      "upstreamTimeoutMs",
      upstreamTimeoutMs,
      `must be at least 1000 ms below lambdaTimeoutSeconds (${timeoutSeconds} s), i.e. at most ${timeoutSeconds * 1000 - 1000}, so the function answers before Lambda kills it`,
    );
  }

  const logRetentionDays = c.oneOf("logRetentionDays", LOG_RETENTION_DAYS, c.integer("logRetentionDays", 1, 3653));

  if (c.problems.length > 0) throw new ConfigError(c.problems);
  return {
    network: { vpcCidr, azCount, subnetPrefixLength, natMode },
    cache: { nodeType, nodeCount, azMode, engineVersion },
    cacheHandler: { upstreamUrl, upstreamTimeoutMs, ttlSeconds, timeoutSeconds, memoryMb },
    logRetentionDays,
  };
}

/** The current stack's config, validated. */
export function loadStackConfig(): StackConfig {
  const config = new pulumi.Config(PROJECT);
  return parseStackConfig((key) => config.get(key));
}
