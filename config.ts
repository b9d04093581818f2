/**
 * Every project setting is parsed and validated here, in one place, so a bad value fails
 * `pulumi preview` with the key, the value and what is allowed — before anything is created.
 * Defaults and descriptions live in Pulumi.yaml (the CLI passes them in); this file decides what is valid.
 */
import * as pulumi from "@pulumi/pulumi";
import { API_AUTHORIZATIONS, validateCacheSize, validateCacheTtl, validateThrottle, type ApiAuthorization, type CacheSizeGb } from "./components/apiRoutes";
import { AVAILABILITY_TABLES_CHECKED, isAzId, regionProblems, VPC_LINK_V2_ZONE_IDS, zoneIdPrefix, zoneProblems, type ZoneRequirement } from "./components/awsAvailability";
import { cidrContains, parseCidr, subnetCapacity } from "./components/cidr";
import { DEFAULT_ITEM_PATH, itemPathTemplateProblem } from "./app/routes";
// Limits of AWS and of the components live in the component that owns the resource; config.ts reuses
// them and adds only project policy (stated as such where it is stricter).
import { MEMCACHED_MAX_RELATIVE_TTL_SECONDS, UPSTREAM_TIMEOUT_MARGIN_MS } from "./components/CacheFunction";
import { FARGATE_ARCHITECTURES, type FargateArchitecture } from "./components/hybrid/settings";
import { LAMBDA_MAX_MEMORY_MB, LAMBDA_MAX_TIMEOUT_SECONDS, LAMBDA_MIN_MEMORY_MB } from "./components/lambdaDefaults";
import { MEMCACHED_AZ_MODES as CACHE_AZ_MODES, MEMCACHED_CROSS_AZ_MIN_NODES, MEMCACHED_NODE_COUNT_LIMITS, type MemcachedAzMode as CacheAzMode } from "./components/MemcachedCluster";
import { AZ_COUNT_LIMITS, FLOW_LOG_MODES, NAT_MODES, SUBNET_PREFIX_LENGTH_LIMITS, type FlowLogMode, type NatMode } from "./components/network/settings";

export const PROJECT = "serverless-cache";

export { CACHE_AZ_MODES, FARGATE_ARCHITECTURES, FLOW_LOG_MODES, LAMBDA_MAX_TIMEOUT_SECONDS, MEMCACHED_MAX_RELATIVE_TTL_SECONDS, NAT_MODES };
export type { CacheAzMode, FargateArchitecture, FlowLogMode, NatMode };
/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
/**
 * Project policy, stricter than the components (which accept Lambda's LAMBDA_MAX_TIMEOUT_SECONDS, 900):
 * this project's ceiling for any function timeout, so no function runs 15 minutes by accident.
 * Request/response functions behind an ALB or API Gateway (29 s integration limit) gain nothing from
 * more, and a runaway function is billed for all of it.
 */
export const PROJECT_MAX_LAMBDA_TIMEOUT_SECONDS = 60;
/** AWS API services that may get interface endpoints instead of going through NAT. */
export const INTERFACE_ENDPOINT_SERVICES: readonly string[] = ["logs", "monitoring", "ecr.api", "ecr.dkr", "elasticloadbalancing", "ecs", "sts", "lambda", "ssm"];
/**
 * Smallest subnet an ALB accepts: "/27 with at least 8 free IP addresses" (ELB user guide). The
 * private subnets also hold Lambda, Fargate, endpoint, VPC link and cache ENIs.
 */
export const MAX_SUBNET_PREFIX_LENGTH = 27;
/**
 * memcached versions ElastiCache offers in the 1.6 family (the parameter group family we use),
 * "Supported ElastiCache for Memcached versions", checked 2026-11-29.
 */
export const MEMCACHED_ENGINE_VERSIONS: readonly string[] = ["1.6.6", "1.6.12", "1.6.17", "1.6.22"];
/**
 * memcached in-transit encryption (TLS): "supported on clusters running Memcached 1.6.12 and later",
 * set only when the cluster is created (ElastiCache memcached guide, "In-transit encryption (TLS)",
 * conditions; checked 2026-11-29).
 */
export const MEMCACHED_TLS_MIN_ENGINE_VERSION = "1.6.12";
/**
 * Node families the same conditions list for memcached in-transit encryption: R6g, R5, R4, M6g, M5,
 * M4, T4g, T3. M7g and R7g are not listed there (the page predates them): re-check the page and add
 * them here when AWS lists them, rather than finding out from a failed CreateCacheCluster.
 */
export const MEMCACHED_TLS_NODE_FAMILIES: readonly string[] = ["t3", "t4g", "m4", "m5", "m6g", "r4", "r5", "r6g"];

/** -1, 0 or 1 as memcached version `a` is below, equal to or above `b` ("1.6.12"). */
export function compareEngineVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}
/**
 * Current-generation ElastiCache node types that run memcached ("Supported node types", checked
 * 2026-11-29). Previous generations (t2, m3, r3, ...) cannot be created any more.
 */
// Mirrored on purpose by plan/mockAccount.ts: the mock AWS account must not trust this list (nor load config.ts); a test keeps them equal.
export const MEMCACHED_NODE_TYPES: readonly string[] = [
  ...["micro", "small", "medium"].flatMap((size) => [`cache.t4g.${size}`, `cache.t3.${size}`]),
  ...["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"].flatMap((size) =>
    ["m7g", "m6g", "r7g", "r6g"].map((family) => `cache.${family}.${size}`)),
  ...["large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"].flatMap((size) => [`cache.m5.${size}`, `cache.r5.${size}`]),
  ...["large", "xlarge", "2xlarge", "4xlarge", "10xlarge"].map((size) => `cache.m4.${size}`),
  ...["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"].map((size) => `cache.r4.${size}`),
];
/** What API Gateway does with `Cache-Control: max-age=0` from a caller without InvalidateCache rights. */
export type UnauthorizedCacheControl = "FAIL_WITH_403" | "SUCCEED_WITH_RESPONSE_HEADER" | "SUCCEED_WITHOUT_RESPONSE_HEADER";
export const UNAUTHORIZED_CACHE_CONTROL: readonly UnauthorizedCacheControl[] = ["SUCCEED_WITH_RESPONSE_HEADER", "SUCCEED_WITHOUT_RESPONSE_HEADER", "FAIL_WITH_403"];
/** The services every AZ of this program must offer (the private API's VPC link, VPC Lambdas, Fargate). */
export const STACK_ZONE_REQUIREMENTS: readonly ZoneRequirement[] = ["vpc-link-v2", "lambda-vpc", "fargate"];

export interface NetworkConfig {
  vpcCidr: string;
  azCount: number;
  /** Zone IDs pinned for this stack, in subnet order ([] = chosen by zone ID at deploy time). */
  availabilityZoneIds: string[];
  subnetPrefixLength: number;
  natMode: NatMode;
  interfaceEndpoints: string[];
  /** VPC flow logs: off, rejected traffic only, or all traffic. */
  flowLogs: FlowLogMode;
}

export interface CacheClusterConfig {
  nodeType: string;
  nodeCount: number;
  azMode: CacheAzMode;
  engineVersion: string;
  /** Apply cache-emptying modifications (engine upgrades) at once instead of in the maintenance window. */
  applyImmediately: boolean;
  /**
   * TLS between every runtime and memcached (ElastiCache in-transit encryption). Set only at creation:
   * a change replaces the cluster (empty cache, new endpoints).
   */
  transitEncryption: boolean;
  /**
   * Pulumi `protect` on the memcached cluster: `pulumi destroy` and any change that would replace it
   * (node type, AZ mode, TLS) fail until it is turned off in an `up` of its own. True in prod.
   */
  protect: boolean;
}

export interface CacheHandlerConfig {
  upstreamUrl: string;
  upstreamTimeoutMs: number;
  ttlSeconds: number;
  timeoutSeconds: number;
  memoryMb: number;
  reservedConcurrency: number;
}

export interface ServiceConfig {
  lambdaReservedConcurrency: number;
  lambdaMemoryMb: number;
  lambdaTimeoutSeconds: number;
  lambdaProvisionedConcurrency: number;
  fargateCpu: number;
  fargateMemoryMb: number;
  fargateBaselineCount: number;
  fargateFailoverCount: number;
  /** CPU architecture of the Fargate tasks and their image. */
  fargateArchitecture: FargateArchitecture;
  failoverCooldownSeconds: number;
  albInternetFacing: boolean;
  albCertificateArn?: string;
  /** Host name the ALB's certificate covers: the private API's HTTPS integration names it. */
  albDomainName?: string;
  /** Where the upstream serves an item, below upstreamUrl. */
  upstreamItemPath: string;
  /** Serve the API's test routes /slow and /runtime (apiDebugRoutes; false in prod). */
  debugRoutes: boolean;
}

export interface PrivateApiConfig {
  cacheSizeGb: CacheSizeGb;
  cacheTtlSeconds: number;
  throttleRateLimit: number;
  throttleBurstLimit: number;
  manageAccountLogRole: boolean;
  accessLogs: boolean;
  unauthorizedCacheControl: UnauthorizedCacheControl;
  /** NONE: anyone through the endpoint; AWS_IAM: SigV4-signed principals of the account with the invoke policy. */
  authorization: ApiAuthorization;
}

export interface StackConfig {
  network: NetworkConfig;
  api: PrivateApiConfig;
  cache: CacheClusterConfig;
  cacheHandler: CacheHandlerConfig;
  service: ServiceConfig;
  logRetentionDays: number;
  /** E-mail address subscribed to the stack's alarm topic (confirmed by hand). */
  alarmEmail?: string;
}

/** Facts about the deployment target that some rules need (config.ts itself reads no AWS). */
export interface ConfigContext {
  /** aws:region, when known: zone IDs and the VPC link's Region support are checked against it. */
  region?: string;
  /**
   * Told each deprecation (a key set by its old name). loadStackConfig passes pulumi.log.warn, so
   * `pulumi preview`/`up` shows them; default: dropped.
   */
  warn?: (message: string) => void;
}

/** Fargate's valid task sizes: CPU units -> allowed memory (MB). */
export function fargateMemoryOptions(cpu: number): number[] {
  const range = (from: number, to: number, step: number): number[] =>
    Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
  switch (cpu) {
    case 256: return [512, 1024, 2048];
    case 512: return range(1024, 4096, 1024);
    case 1024: return range(2048, 8192, 1024);
    case 2048: return range(4096, 16384, 1024);
    case 4096: return range(8192, 30720, 1024);
    case 8192: return range(16384, 61440, 4096);
    case 16384: return range(32768, 122880, 8192);
    default: return [];
  }
}
export const FARGATE_CPU_OPTIONS: readonly number[] = [256, 512, 1024, 2048, 4096, 8192, 16384];

/** Reads one raw config value by its short key (without the project prefix). */
export type RawConfigReader = (key: string) => string | undefined;

/** A config key renamed to name its owner (issue 13); the old name still works for one release. */
export interface RenamedKey {
  old: string;
  new: string;
  /**
   * The new key's Pulumi.yaml default as the CLI passes it. The CLI always passes the new key, so
   * only a value other than this counts as "set"; test/config.test.ts checks it against Pulumi.yaml.
   */
  default: string;
  /**
   * A list key (`type: array`). Its old name stays declared as an array with default `[]` (so a stack
   * file's YAML list still passes the CLI's type check), so "[]" by the old name counts as unset; the
   * warning's command sets the new key element by element (`--path`).
   */
  list?: boolean;
}

/**
 * Old key -> new key. Owners: memcached* (the ElastiCache cluster), cacheFunction* (the cache
 * Lambda), apiFunction* (the API Lambda), apiGateway* (the private API's stage), fargate*, network*
 * (MultiAzNetwork). Keys whose name already says their owner (networkFlowLogs, upstream*, alb*,
 * fargate*) keep it.
 */
export const RENAMED_KEYS: readonly RenamedKey[] = [
  { old: "cacheNodeType", new: "memcachedNodeType", default: "cache.t4g.micro" },
  { old: "cacheNodeCount", new: "memcachedNodeCount", default: "2" },
  { old: "cacheAzMode", new: "memcachedAzMode", default: "cross-az" },
  { old: "cacheEngineVersion", new: "memcachedEngineVersion", default: "1.6.22" },
  { old: "cacheApplyImmediately", new: "memcachedApplyImmediately", default: "false" },
  { old: "cacheTransitEncryption", new: "memcachedTransitEncryption", default: "false" },
  { old: "cacheProtect", new: "memcachedProtect", default: "false" },
  { old: "cacheTtlSeconds", new: "cacheFunctionTtlSeconds", default: "300" },
  { old: "lambdaTimeoutSeconds", new: "cacheFunctionTimeoutSeconds", default: "10" },
  { old: "lambdaMemoryMb", new: "cacheFunctionMemoryMb", default: "512" },
  { old: "cacheLambdaReservedConcurrency", new: "cacheFunctionReservedConcurrency", default: "20" },
  { old: "apiLambdaReservedConcurrency", new: "apiFunctionReservedConcurrency", default: "10" },
  { old: "apiLambdaMemoryMb", new: "apiFunctionMemoryMb", default: "512" },
  { old: "apiLambdaTimeoutSeconds", new: "apiFunctionTimeoutSeconds", default: "10" },
  { old: "apiLambdaProvisionedConcurrency", new: "apiFunctionProvisionedConcurrency", default: "0" },
  { old: "failoverCooldownSeconds", new: "fargateFailoverCooldownSeconds", default: "300" },
  { old: "apiCacheSizeGb", new: "apiGatewayCacheSizeGb", default: "0.5" },
  { old: "apiCacheTtlSeconds", new: "apiGatewayCacheTtlSeconds", default: "300" },
  { old: "apiThrottleRateLimit", new: "apiGatewayThrottleRateLimit", default: "1000" },
  { old: "apiThrottleBurstLimit", new: "apiGatewayThrottleBurstLimit", default: "2000" },
  { old: "apiManageAccountLogRole", new: "apiGatewayManageAccountLogRole", default: "true" },
  { old: "apiAccessLogs", new: "apiGatewayAccessLogs", default: "true" },
  { old: "apiAuthorization", new: "apiGatewayAuthorization", default: "NONE" },
  { old: "apiUnauthorizedCacheControl", new: "apiGatewayUnauthorizedCacheControl", default: "SUCCEED_WITH_RESPONSE_HEADER" },
  { old: "vpcCidr", new: "networkVpcCidr", default: "10.0.0.0/16" },
  { old: "azCount", new: "networkAzCount", default: "2" },
  { old: "availabilityZoneIds", new: "networkAvailabilityZoneIds", default: "[]", list: true },
  { old: "subnetPrefixLength", new: "networkSubnetPrefixLength", default: "20" },
  { old: "natMode", new: "networkNatMode", default: "single" },
  { old: "interfaceEndpoints", new: "networkInterfaceEndpoints", default: "[]", list: true },
];

/** The commands that move an old key's value to its new key (a list element by element). */
function migrateCommand(r: RenamedKey, value: string): string {
  let sets = [`pulumi config set ${r.new} '${value}'`];
  if (r.list) {
    try {
      const items: unknown = JSON.parse(value);
      if (Array.isArray(items)) sets = items.map((item, i) => `pulumi config set --path '${r.new}[${i}]' '${String(item)}'`);
    } catch {
      // not a list: reported as a problem of the new key; the plain command is the best guess
    }
  }
  return [...sets, `pulumi config rm ${r.old}`].join(" && ");
}

/**
 * Reads new keys through their old names: an old key that is set stands in for its new key (with a
 * warning naming the new key) unless the new key is set too; set both ways with different values is
 * a problem naming both.
 */
function resolveRenamedKeys(read: RawConfigReader): { read: RawConfigReader; via: Map<string, string>; problems: string[]; warnings: string[] } {
  const given = (key: string): string | undefined => {
    const v = read(key)?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const values = new Map<string, string>();
  const via = new Map<string, string>();
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const r of RENAMED_KEYS) {
    const oldValue = given(r.old);
    if (oldValue === undefined || (r.list && oldValue === "[]")) continue;
    const newValue = given(r.new);
    const newSet = newValue !== undefined && newValue !== r.default;
    if (newSet && newValue !== oldValue) {
      problems.push(`${PROJECT}:${r.old} = ${JSON.stringify(oldValue)}: conflicts with ${PROJECT}:${r.new} = ${JSON.stringify(newValue)} ` +
        `(${r.old} is the deprecated name of ${r.new}); keep only ${r.new}: pulumi config rm ${r.old}`);
      continue;
    }
    warnings.push(`${PROJECT}:${r.old} is deprecated: use ${PROJECT}:${r.new} (${migrateCommand(r, oldValue)}; ` +
      `docs/configuration.md migrates a whole stack file). The old name stops working in the next release.`);
    if (!newSet) {
      values.set(r.new, oldValue);
      via.set(r.new, r.old);
    }
  }
  return { read: (key) => (values.has(key) ? values.get(key) : read(key)), via, problems, warnings };
}

/** All problems found in the stack's config, each naming the key, the value and what is allowed. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration for project ${PROJECT}:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

class Collector {
  readonly problems: string[] = [];
  /** `via`: new key -> the deprecated name its value was read from. */
  constructor(private readonly read: RawConfigReader, private readonly via: ReadonlyMap<string, string> = new Map()) {}

  /** The key as a problem names it: a value set by the old name says so. */
  label(key: string): string {
    const old = this.via.get(key);
    return old === undefined ? key : `${key} (set as deprecated ${old})`;
  }

  private raw(key: string): string | undefined {
    const v = this.read(key);
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  }

  fail(key: string, value: unknown, allowed: string): void {
    this.problems.push(`${PROJECT}:${this.label(key)} = ${JSON.stringify(value)}: ${allowed}`);
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

  boolean(key: string): boolean {
    const v = this.raw(key);
    if (v !== "true" && v !== "false") {
      this.fail(key, v, "must be true or false");
      return false;
    }
    return v === "true";
  }

  /** A JSON array of strings (how the CLI passes `type: array` config). */
  stringList(key: string): string[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    try {
      const parsed: unknown = JSON.parse(v);
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === "string")) return parsed;
    } catch {
      // fall through to the error below
    }
    this.fail(key, v, "must be a list of strings, e.g. [\"logs\", \"ecr.api\"]");
    return [];
  }

  optional(key: string): string | undefined {
    return this.raw(key);
  }

  oneOf<T extends string | number>(key: string, allowed: readonly T[], value: T): T {
    if (value === "") return value; // already reported as missing
    if (!allowed.includes(value)) this.fail(key, value, `must be one of ${allowed.join(", ")}`);
    return value;
  }
}

/**
 * A function timeout under the project policy (1 to PROJECT_MAX_LAMBDA_TIMEOUT_SECONDS, stricter than the
 * components' LAMBDA_MAX_TIMEOUT_SECONDS); a refused value says that the policy refused it.
 */
function projectTimeout(c: Collector, key: string): number {
  const before = c.problems.length;
  const seconds = c.integer(key, 1, PROJECT_MAX_LAMBDA_TIMEOUT_SECONDS);
  if (c.problems.length > before && seconds > PROJECT_MAX_LAMBDA_TIMEOUT_SECONDS) {
    c.problems[c.problems.length - 1] += ` (project policy: at most ${PROJECT_MAX_LAMBDA_TIMEOUT_SECONDS} s, so no function runs 15 minutes by accident; Lambda itself allows ${LAMBDA_MAX_TIMEOUT_SECONDS})`;
  }
  return seconds;
}

/** Parse and validate the whole stack config; throws one ConfigError listing every problem. */
export function parseStackConfig(readRaw: RawConfigReader, context: ConfigContext = {}): StackConfig {
  const renamed = resolveRenamedKeys(readRaw);
  const read = renamed.read;
  const c = new Collector(read, renamed.via);
  c.problems.push(...renamed.problems);
  for (const warning of renamed.warnings) context.warn?.(warning);

  const vpcCidr = c.string("networkVpcCidr");
  const azCount = c.integer("networkAzCount", AZ_COUNT_LIMITS.min, AZ_COUNT_LIMITS.max);
  const subnetPrefixLength = c.integer("networkSubnetPrefixLength", SUBNET_PREFIX_LENGTH_LIMITS.min, MAX_SUBNET_PREFIX_LENGTH);
  if (/^\d+$/.test(read("networkSubnetPrefixLength")?.trim() ?? "") && Number(read("networkSubnetPrefixLength")) > MAX_SUBNET_PREFIX_LENGTH) {
    c.problems[c.problems.length - 1] += ` (an ALB subnet must be at least /${MAX_SUBNET_PREFIX_LENGTH} with 8 free addresses)`;
  }
  const availabilityZoneIds = c.stringList("networkAvailabilityZoneIds");
  validateZoneIds(c, availabilityZoneIds, azCount, context.region);
  const natMode = c.oneOf("networkNatMode", NAT_MODES, c.string("networkNatMode") as NatMode);
  const interfaceEndpoints = c.stringList("networkInterfaceEndpoints");
  const flowLogs = c.oneOf("networkFlowLogs", FLOW_LOG_MODES, (c.optional("networkFlowLogs") ?? "reject") as FlowLogMode);
  for (const svc of interfaceEndpoints) c.oneOf("networkInterfaceEndpoints", INTERFACE_ENDPOINT_SERVICES, svc);

  const vpc = parseCidr(vpcCidr);
  if (vpcCidr && !vpc) {
    c.fail("networkVpcCidr", vpcCidr, "must be an IPv4 network in CIDR form with no host bits set, e.g. 10.0.0.0/16");
  } else if (vpc) {
    if (vpc.prefix < 16 || vpc.prefix > 24) {
      c.fail("networkVpcCidr", vpcCidr, "must have a prefix from /16 to /24 (the sizes AWS allows for a VPC, leaving room for subnets)");
    }
    const isPrivate = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].some((r) => {
      const range = parseCidr(r);
      return range !== undefined && cidrContains(range, vpc);
    });
    if (!isPrivate) c.fail("networkVpcCidr", vpcCidr, "must lie in an RFC 1918 private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)");
    const needed = 2 * azCount;
    const azCountValid = azCount >= AZ_COUNT_LIMITS.min && azCount <= AZ_COUNT_LIMITS.max;
    if (azCountValid && (subnetPrefixLength <= vpc.prefix || subnetCapacity(vpc, subnetPrefixLength) < needed)) {
      c.fail(
        "networkSubnetPrefixLength",
        subnetPrefixLength,
        `${needed} subnets (public + private in ${azCount} AZs) of /${subnetPrefixLength} do not fit in ${vpcCidr}; ` +
          `use a prefix from /${vpc.prefix + Math.ceil(Math.log2(needed))} to /${MAX_SUBNET_PREFIX_LENGTH} or a larger networkVpcCidr`,
      );
    }
  }

  const nodeType = c.string("memcachedNodeType");
  if (nodeType && !MEMCACHED_NODE_TYPES.includes(nodeType)) {
    const family = /^cache\.([a-z0-9]+)\./.exec(nodeType)?.[1];
    const sameFamily = MEMCACHED_NODE_TYPES.filter((t) => family !== undefined && t.startsWith(`cache.${family}.`));
    c.fail("memcachedNodeType", nodeType, sameFamily.length > 0
      ? `is not a ${family} size ElastiCache offers for memcached; allowed: ${sameFamily.join(", ")}`
      : `must be a current-generation memcached node type (families t4g, t3, m7g, m6g, m5, m4, r7g, r6g, r5, r4), e.g. cache.t4g.micro or cache.m7g.large`);
  }
  const nodeCount = c.integer("memcachedNodeCount", MEMCACHED_NODE_COUNT_LIMITS.min, MEMCACHED_NODE_COUNT_LIMITS.max);
  const azMode = c.oneOf("memcachedAzMode", CACHE_AZ_MODES, c.string("memcachedAzMode") as CacheAzMode);
  if (azMode === "cross-az" && nodeCount < MEMCACHED_CROSS_AZ_MIN_NODES) {
    c.fail("memcachedNodeCount", nodeCount, `must be ${MEMCACHED_CROSS_AZ_MIN_NODES} or more when memcachedAzMode is cross-az (or set memcachedAzMode to single-az)`);
  }
  const engineVersion = c.string("memcachedEngineVersion");
  if (engineVersion && !MEMCACHED_ENGINE_VERSIONS.includes(engineVersion)) {
    c.fail("memcachedEngineVersion", engineVersion, `must be a memcached 1.6.x version ElastiCache offers: one of ${MEMCACHED_ENGINE_VERSIONS.join(", ")}`);
  }
  const memcachedApplyImmediately = c.boolean("memcachedApplyImmediately");
  const transitRaw = c.optional("memcachedTransitEncryption") ?? "false";
  if (transitRaw !== "true" && transitRaw !== "false") c.fail("memcachedTransitEncryption", transitRaw, "must be true or false");
  const transitEncryption = transitRaw === "true";
  const memcachedProtect = c.boolean("memcachedProtect");
  if (transitEncryption) {
    if (engineVersion && MEMCACHED_ENGINE_VERSIONS.includes(engineVersion) && compareEngineVersions(engineVersion, MEMCACHED_TLS_MIN_ENGINE_VERSION) < 0) {
      const allowed = MEMCACHED_ENGINE_VERSIONS.filter((v) => compareEngineVersions(v, MEMCACHED_TLS_MIN_ENGINE_VERSION) >= 0);
      c.fail("memcachedEngineVersion", engineVersion,
        `must be ${MEMCACHED_TLS_MIN_ENGINE_VERSION} or later when memcachedTransitEncryption is true (ElastiCache offers memcached TLS from ${MEMCACHED_TLS_MIN_ENGINE_VERSION}): one of ${allowed.join(", ")}, or set memcachedTransitEncryption to false`);
    }
    const family = /^cache\.([a-z0-9]+)\./.exec(nodeType)?.[1];
    if (nodeType && MEMCACHED_NODE_TYPES.includes(nodeType) && family !== undefined && !MEMCACHED_TLS_NODE_FAMILIES.includes(family)) {
      c.fail("memcachedNodeType", nodeType,
        `is not a node family ElastiCache lists for memcached in-transit encryption (${MEMCACHED_TLS_NODE_FAMILIES.join(", ")}) while memcachedTransitEncryption is true; choose one of those (e.g. cache.${family.replace(/7g$/, "6g")}.${nodeType.split(".")[2]}) or set memcachedTransitEncryption to false`);
    }
  }

  const upstreamUrl = c.string("upstreamUrl");
  if (upstreamUrl) {
    let ok: boolean;
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
  const timeoutSeconds = projectTimeout(c, "cacheFunctionTimeoutSeconds");
  const memoryMb = c.integer("cacheFunctionMemoryMb", LAMBDA_MIN_MEMORY_MB, LAMBDA_MAX_MEMORY_MB);
  const ttlSeconds = c.integer("cacheFunctionTtlSeconds", 1, MEMCACHED_MAX_RELATIVE_TTL_SECONDS);
  const upstreamTimeoutMs = c.integer("upstreamTimeoutMs", 100, PROJECT_MAX_LAMBDA_TIMEOUT_SECONDS * 1000);
  const cacheReservedConcurrency = c.integer("cacheFunctionReservedConcurrency", 1, 1000);
  if (timeoutSeconds >= 1 && timeoutSeconds <= PROJECT_MAX_LAMBDA_TIMEOUT_SECONDS && upstreamTimeoutMs > timeoutSeconds * 1000 - UPSTREAM_TIMEOUT_MARGIN_MS) {
    c.fail(
      "upstreamTimeoutMs",
      upstreamTimeoutMs,
      `must be at least ${UPSTREAM_TIMEOUT_MARGIN_MS} ms below cacheFunctionTimeoutSeconds (${timeoutSeconds} s), i.e. at most ${timeoutSeconds * 1000 - UPSTREAM_TIMEOUT_MARGIN_MS}, so the function answers before Lambda kills it`,
    );
  }

  const fargateCpu = c.oneOf("fargateCpu", FARGATE_CPU_OPTIONS, c.integer("fargateCpu", 256, 16384));
  const fargateMemoryMb = c.integer("fargateMemoryMb", 512, 122880);
  const memoryOptions = fargateMemoryOptions(fargateCpu);
  if (memoryOptions.length > 0 && !memoryOptions.includes(fargateMemoryMb)) {
    c.fail("fargateMemoryMb", fargateMemoryMb, `is not valid with fargateCpu ${fargateCpu}; allowed: ${memoryOptions.join(", ")}`);
  }
  const fargateBaselineCount = c.integer("fargateBaselineCount", 0, 100);
  const fargateFailoverCount = c.integer("fargateFailoverCount", 1, 100);
  if (fargateFailoverCount < fargateBaselineCount) {
    c.fail("fargateFailoverCount", fargateFailoverCount, `must be at least fargateBaselineCount (${fargateBaselineCount})`);
  }
  const albInternetFacing = c.boolean("albInternetFacing");
  const albCertificateArn = c.optional("albCertificateArn");
  if (albInternetFacing && !albCertificateArn) {
    c.fail("albCertificateArn", albCertificateArn, "is required when albInternetFacing is true (the public listener is HTTPS only)");
  }
  const albDomainName = c.optional("albDomainName");
  if (albInternetFacing && !albDomainName) {
    c.fail("albDomainName", albDomainName,
      "is required when albInternetFacing is true: the private API reaches the ALB over HTTPS and API Gateway checks that the certificate covers this name (the ALB's own *.elb.amazonaws.com name never matches an ACM certificate)");
  }
  if (albDomainName && !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(albDomainName)) {
    c.fail("albDomainName", albDomainName, "must be a lower-case DNS host name such as api.example.com (no scheme, port or path)");
  }
  const upstreamItemPath = c.optional("upstreamItemPath") ?? DEFAULT_ITEM_PATH;
  const itemPathProblem = itemPathTemplateProblem(upstreamItemPath);
  if (itemPathProblem) c.fail("upstreamItemPath", upstreamItemPath, itemPathProblem);
  if (albCertificateArn && !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/.test(albCertificateArn)) {
    c.fail("albCertificateArn", albCertificateArn, "must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)");
  }
  const service: ServiceConfig = {
    lambdaReservedConcurrency: c.integer("apiFunctionReservedConcurrency", 1, 1000),
    lambdaMemoryMb: c.integer("apiFunctionMemoryMb", LAMBDA_MIN_MEMORY_MB, LAMBDA_MAX_MEMORY_MB),
    lambdaTimeoutSeconds: projectTimeout(c, "apiFunctionTimeoutSeconds"),
    lambdaProvisionedConcurrency: c.integer("apiFunctionProvisionedConcurrency", 0, 1000),
    fargateCpu,
    fargateMemoryMb,
    fargateBaselineCount,
    fargateFailoverCount,
    fargateArchitecture: c.oneOf("fargateArchitecture", FARGATE_ARCHITECTURES, (c.optional("fargateArchitecture") ?? "ARM64") as FargateArchitecture),
    failoverCooldownSeconds: c.integer("fargateFailoverCooldownSeconds", 60, 86400),
    albInternetFacing,
    albCertificateArn,
    albDomainName,
    upstreamItemPath,
    debugRoutes: c.boolean("apiDebugRoutes"),
  };

  /** Run a validator that throws "<field> = <value>: ..." and collect its message as a problem. */
  const check = <T>(fallback: T, validate: () => T): T => {
    try {
      return validate();
    } catch (err) {
      c.problems.push(err instanceof Error ? err.message : String(err));
      return fallback;
    }
  };
  const key = (k: string): string => `${PROJECT}:${c.label(k)}`;
  const throttle = check({ rateLimit: 1, burstLimit: 1 }, () =>
    validateThrottle(read("apiGatewayThrottleRateLimit"), read("apiGatewayThrottleBurstLimit"), { rate: key("apiGatewayThrottleRateLimit"), burst: key("apiGatewayThrottleBurstLimit") }));
  const api: PrivateApiConfig = {
    cacheSizeGb: check("0.5" as CacheSizeGb, () => validateCacheSize(read("apiGatewayCacheSizeGb"), key("apiGatewayCacheSizeGb"))),
    cacheTtlSeconds: check(300, () => validateCacheTtl(read("apiGatewayCacheTtlSeconds"), key("apiGatewayCacheTtlSeconds"))),
    throttleRateLimit: throttle.rateLimit,
    throttleBurstLimit: throttle.burstLimit,
    manageAccountLogRole: c.boolean("apiGatewayManageAccountLogRole"),
    accessLogs: c.boolean("apiGatewayAccessLogs"),
    unauthorizedCacheControl: c.oneOf("apiGatewayUnauthorizedCacheControl", UNAUTHORIZED_CACHE_CONTROL,
      (c.optional("apiGatewayUnauthorizedCacheControl") ?? "SUCCEED_WITH_RESPONSE_HEADER") as UnauthorizedCacheControl),
    authorization: c.oneOf("apiGatewayAuthorization", API_AUTHORIZATIONS, (c.optional("apiGatewayAuthorization") ?? "NONE") as ApiAuthorization),
  };
  const alarmEmail = c.optional("alarmEmail");
  if (alarmEmail && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alarmEmail)) c.fail("alarmEmail", alarmEmail, "must be an e-mail address (or unset)");

  const logRetentionDays = c.oneOf("logRetentionDays", LOG_RETENTION_DAYS, c.integer("logRetentionDays", 1, 3653));

  if (c.problems.length > 0) throw new ConfigError(c.problems);
  return {
    network: { vpcCidr, azCount, availabilityZoneIds, subnetPrefixLength, natMode, interfaceEndpoints, flowLogs },
    api,
    alarmEmail,
    cache: { nodeType, nodeCount, azMode, engineVersion, applyImmediately: memcachedApplyImmediately, transitEncryption, protect: memcachedProtect },
    cacheHandler: { upstreamUrl, upstreamTimeoutMs, ttlSeconds, timeoutSeconds, memoryMb, reservedConcurrency: cacheReservedConcurrency },
    service,
    logRetentionDays,
  };
}

/**
 * Pinned zone IDs: the right count, AZ IDs (not Local Zones) of the stack's Region, offered by every
 * service the stack needs there. The Region itself must offer VPC links V2.
 */
function validateZoneIds(c: Collector, ids: string[], azCount: number, region: string | undefined): void {
  if (region) {
    for (const problem of regionProblems(region, STACK_ZONE_REQUIREMENTS)) c.problems.push(`aws:region = ${JSON.stringify(region)}: ${problem}`);
    const offered = VPC_LINK_V2_ZONE_IDS[region];
    if (offered && azCount > offered.length && ids.length === 0) {
      c.fail("networkAzCount", azCount, `must be at most ${offered.length} in ${region}: the private API's VPC link is offered only in ${offered.join(", ")} (as of ${AVAILABILITY_TABLES_CHECKED})`);
    }
  }
  if (ids.length === 0) return;
  if (azCount >= 2 && azCount <= 6 && ids.length !== azCount) c.fail("networkAvailabilityZoneIds", ids, `must list exactly networkAzCount (${azCount}) zone IDs, one per AZ, in subnet order`);
  if (new Set(ids).size !== ids.length) c.fail("networkAvailabilityZoneIds", ids, "must not list a zone ID twice");
  const prefix = region ? zoneIdPrefix(region) : undefined;
  for (const id of ids) {
    if (!isAzId(id)) {
      c.fail("networkAvailabilityZoneIds", id, "must be an Availability Zone ID such as use1-az1 (zone IDs, not names like us-east-1a, and no Local Zones)");
    } else if (region && prefix && !id.startsWith(`${prefix}-`)) {
      c.fail("networkAvailabilityZoneIds", id, `is not a zone of ${region} (its zone IDs start with ${prefix}-)`);
    } else if (region) {
      for (const problem of zoneProblems(region, id, STACK_ZONE_REQUIREMENTS)) c.fail("networkAvailabilityZoneIds", id, `cannot be used: ${problem}`);
    }
  }
}

/** The current stack's config, validated (zone rules against aws:region). */
export function loadStackConfig(): StackConfig {
  const config = new pulumi.Config(PROJECT);
  const region = new pulumi.Config("aws").get("region");
  return parseStackConfig((key) => config.get(key), { region, warn: (message) => pulumi.log.warn(message) });
}

/** Tags every stack must carry on every taggable resource (via the provider's defaultTags). */
export const REQUIRED_TAGS: readonly string[] = ["project", "stack", "owner", "costCentre"];

export interface AwsProviderSettings {
  region: string;
  profile?: string;
  defaultTags: Record<string, string>;
}

/**
 * Validate `aws:region` and `aws:defaultTags` (`{ tags: { project, stack, owner, costCentre } }`).
 * The `stack` tag must name the stack it is deployed as, so cost reports never mix stacks.
 */
export function parseAwsProviderSettings(read: RawConfigReader, stack: string): AwsProviderSettings {
  const problems: string[] = [];
  const region = read("region")?.trim() ?? "";
  if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(region)) problems.push(`aws:region = ${JSON.stringify(region || undefined)}: must be an AWS region such as us-east-1`);
  let tags: Record<string, string> = {};
  const raw = read("defaultTags");
  try {
    const parsed = raw ? (JSON.parse(raw) as { tags?: unknown }) : undefined;
    if (parsed && typeof parsed.tags === "object" && parsed.tags !== null && !Array.isArray(parsed.tags)) {
      tags = Object.fromEntries(Object.entries(parsed.tags as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    }
  } catch {
    // reported below as missing tags
  }
  const missing = REQUIRED_TAGS.filter((t) => !tags[t]);
  if (missing.length > 0) {
    problems.push(`aws:defaultTags = ${raw ?? "undefined"}: must be { tags: { ${REQUIRED_TAGS.join(", ")} } }; missing ${missing.join(", ")}`);
  } else if (tags.stack !== stack) {
    problems.push(`aws:defaultTags = ${raw}: tags.stack must be "${stack}" (the stack being deployed), not "${tags.stack}"`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const profile = read("profile");
  return { region, defaultTags: tags, ...(profile ? { profile } : {}) };
}

/** The explicit AWS provider's settings for the current stack. */
export function loadAwsProviderSettings(): AwsProviderSettings {
  const aws = new pulumi.Config("aws");
  return parseAwsProviderSettings((key) => aws.get(key), pulumi.getStack());
}
