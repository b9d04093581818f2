/**
 * npm run doctor -- --stack <name> [options]
 *
 * A read-only preflight against the AWS account (and this machine) before the first `pulumi up`:
 * credentials, Region, Lambda concurrency, Elastic IP and VPC quotas, the Availability Zones this
 * account can give the stack, interface endpoint services per AZ, the memcached engine version,
 * the account-wide API Gateway CloudWatch role, Docker's builder for the image's platform, the
 * Pulumi stack and whether anyone receives the alarms (alarmEmail).
 * What the stack needs is counted from the real program run under mocks (plan/engine.ts), with
 * the stack's config (Pulumi.yaml defaults overlaid with Pulumi.<stack>.yaml).
 *
 * Only Describe/Get/List calls are made (docs/doctor.md lists the IAM actions). The checks
 * themselves are pure (scripts/doctorChecks.ts); this file reads and prints.
 *
 * Exit codes: 0 every check ok or warn, 1 at least one FIX, 2 bad arguments, unknown stack, no
 * aws:region, or no usable AWS credentials (then nothing else is checked), 3 an unexpected error.
 */
import { execFile } from "node:child_process";
import { APIGatewayClient, GetAccountCommand } from "@aws-sdk/client-api-gateway";
import {
  DescribeAddressesCommand,
  DescribeAvailabilityZonesCommand,
  DescribeVpcEndpointServicesCommand,
  DescribeVpcsCommand,
  EC2Client,
  type Tag,
} from "@aws-sdk/client-ec2";
import { DescribeCacheEngineVersionsCommand, ElastiCacheClient } from "@aws-sdk/client-elasticache";
import { IAMClient, ListRoleTagsCommand } from "@aws-sdk/client-iam";
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient, ListFunctionsCommand, ListTagsCommand } from "@aws-sdk/client-lambda";
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand, ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { FARGATE_ZONE_IDS, VPC_LINK_V2_ZONE_IDS, zoneIdPrefix } from "../components/awsAvailability";
import { ConfigError, parseAwsProviderSettings, parseStackConfig, PROJECT, STACK_ZONE_REQUIREMENTS } from "../config";
import { availableStacks, parseConfigOverrides, qualifiedKey, REPO_ROOT, runProgram, stackConfig, UnknownStackError } from "../plan/engine";
import type { MockAccountOptions, MockZone } from "../plan/mockAccount";
import { parseFlags, UsageError, usageMessage } from "./cli";
import {
  BUILDX_INSPECT,
  endpointServiceNames,
  exitCode,
  IAM_ACTIONS,
  noCredentials,
  programNeeds,
  QUOTAS,
  renderLine,
  roleNameFromArn,
  runChecks,
  summary,
  type AccountFacts,
  type AccountZone,
  type CheckResult,
  type DeployedFunction,
  type ExecResult,
  type Inventory,
  type NeedsOutcome,
  type ProgramNeeds,
  type QuotaValue,
  type Read,
  type StackSettings,
} from "./doctorChecks";

export const USAGE = `usage: npm run doctor -- --stack <name> [options]

Read-only preflight of the AWS account (and this machine) before the first pulumi up.

  --stack <name>            stack to check (one of the Pulumi.<name>.yaml files)
  --config <key>=<value>    override one config key for this check (repeatable), e.g. networkAzCount=3
  --json                    also print the results as JSON on stdout (the check lines then go to stderr)
  --timeout-ms <n>          timeout of each AWS call (default 8000)
  -h, --help                this text

Credentials: the AWS SDK default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, a role),
or the stack's aws:profile. Region: the stack's aws:region. IAM actions needed: docs/doctor.md.

exit codes: 0 every check ok or warn, 1 a check says FIX, 2 bad input or no AWS credentials, 3 unexpected error`;

export { UsageError };

export interface DoctorOptions {
  stack: string;
  overrides: Record<string, string>;
  json: boolean;
  timeoutMs: number;
}

/** Parse argv (without node and the script). Throws UsageError naming the flag. */
export function parseArgs(argv: readonly string[]): DoctorOptions | "help" {
  const flags = parseFlags(argv, {
    stack: { type: "string" },
    config: { type: "string", multiple: true },
    json: { type: "boolean" },
    "timeout-ms": { type: "string" },
  });
  if (flags.help) return "help";
  const stack = flags.stack;
  if (!stack) throw new UsageError(`--stack is required; allowed: ${availableStacks().join(", ")}`);
  const overrides = parseConfigOverrides(flags.config ?? [], (message) => new UsageError(message));
  const json = flags.json ?? false;
  const timeoutRaw = flags["timeout-ms"];
  let timeoutMs = 8000;
  if (timeoutRaw !== undefined) {
    timeoutMs = Number(timeoutRaw);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 120000) throw new UsageError(`--timeout-ms ${JSON.stringify(timeoutRaw)} must be a whole number of milliseconds from 100 to 120000`);
  }
  return { stack, overrides, json, timeoutMs };
}

/** The problems of a config.ts rejection (validators may throw a plain Error named ConfigError); anything else is rethrown. */
function configErrorProblems(e: unknown): string[] {
  if (e instanceof ConfigError) return e.problems;
  if (e instanceof Error && e.name === "ConfigError") return [e.message];
  throw e;
}

/**
 * The stack's settings from its config files (no AWS). Throws UsageError for an unknown stack or a
 * missing aws:region; config.ts's complaints are collected, not thrown (they become a FIX line).
 */
export function readStackSettings(stack: string, overrides: Record<string, string> = {}): StackSettings {
  let config: Record<string, string>;
  try {
    config = stackConfig(stack, overrides);
  } catch (e) {
    if (e instanceof UnknownStackError) throw new UsageError(`--stack ${stack}: ${e.message}`);
    throw e;
  }
  const region = config["aws:region"]?.trim();
  if (!region) throw new UsageError(`--stack ${stack}: no aws:region in Pulumi.${stack}.yaml; set it with pulumi config set aws:region us-east-1 --stack ${stack}`);
  const read = (key: string): string | undefined => config[qualifiedKey(key)];
  const readAws = (key: string): string | undefined => config[`aws:${key}`];
  const configProblems: string[] = [];
  let azCount = Number(read("networkAzCount") ?? 2);
  let pinnedZoneIds: string[] = [];
  let alarmEmail: string | undefined;
  try {
    const parsed = parseStackConfig(read, { region });
    azCount = parsed.network.azCount;
    pinnedZoneIds = parsed.network.availabilityZoneIds;
    alarmEmail = parsed.alarmEmail;
  } catch (e) {
    configProblems.push(...configErrorProblems(e));
    alarmEmail = read("alarmEmail");
    // Still check the zones the stack asks for, as written.
    try {
      const raw: unknown = JSON.parse(read("networkAvailabilityZoneIds") ?? "[]");
      if (Array.isArray(raw)) pinnedZoneIds = raw.map(String);
    } catch {
      pinnedZoneIds = [];
    }
    if (!Number.isInteger(azCount) || azCount < 1) azCount = 2;
  }
  try {
    parseAwsProviderSettings(readAws, stack);
  } catch (e) {
    configProblems.push(...configErrorProblems(e));
  }
  const profile = readAws("profile")?.trim() || undefined;
  return {
    stack, region, ...(profile ? { profile } : {}), azCount, pinnedZoneIds, zoneRequirements: STACK_ZONE_REQUIREMENTS, configProblems,
    ...(alarmEmail?.trim() ? { alarmEmail: alarmEmail.trim() } : {}),
  };
}

/**
 * A mock account that refuses nothing the doctor checks against the real one (quotas, the log role,
 * endpoint AZs), in the stack's Region, so the program runs and its resources can be counted.
 */
export function countingAccount(region: string, pinned: readonly string[]): MockAccountOptions {
  const options: MockAccountOptions = {
    region,
    lambdaConcurrencyQuota: 1_000_000,
    elasticIpQuota: 1_000_000,
    elasticIpsInUse: 0,
    apiGatewayCloudWatchRoleArn: "arn:aws:iam::000000000000:role/doctor-counting-placeholder",
    endpointServiceMissingAzNames: [],
  };
  if (region === "us-east-1") return options; // the mock account's own zones
  const prefix = zoneIdPrefix(region);
  const ids = new Set<string>([...(VPC_LINK_V2_ZONE_IDS[region] ?? []), ...(FARGATE_ZONE_IDS[region] ?? []), ...pinned]);
  if (prefix) for (let i = 1; i <= 6; i++) ids.add(`${prefix}-az${i}`);
  const zones: MockZone[] = [...ids].sort().map((zoneId, i) => ({
    name: `${region}${String.fromCharCode(97 + i)}`,
    zoneId,
    zoneType: "availability-zone",
    optInStatus: "opt-in-not-required",
    groupName: region,
    state: "available",
  }));
  return { ...options, zones };
}

/** Run the real program for the stack under mocks and count what it creates (~3-5 s). */
export async function stackProgramNeeds(stack: string, region: string, overrides: Record<string, string>, pinned: readonly string[]): Promise<ProgramNeeds> {
  const run = await runProgram(stack, overrides, { account: countingAccount(region, pinned) });
  return programNeeds(run.resources);
}

/** Runs a local tool; "missing" when it is not on the PATH. Never throws. */
export type Exec = (file: string, args: readonly string[], options: { cwd: string; timeoutMs: number }) => Promise<ExecResult>;

export const defaultExec: Exec = (file, args, options) => new Promise((resolve) => {
  execFile(file, [...args], {
    cwd: options.cwd,
    timeout: options.timeoutMs,
    maxBuffer: 8 * 1024 * 1024,
    env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
  }, (err, stdout, stderr) => {
    if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
      resolve({ kind: "missing" });
      return;
    }
    const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
    const timedOut = err && (err as { killed?: boolean }).killed ? `timed out after ${options.timeoutMs} ms` : "";
    resolve({ kind: "exited", code, stdout: String(stdout), stderr: [String(stderr), timedOut].filter(Boolean).join("\n") });
  });
});

/** Static credentials as the SDK resolves them. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

async function defaultCredentials(profile: string | undefined): Promise<Credentials> {
  const { fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
  return fromNodeProviderChain(profile ? { profile } : {})();
}

/** The region the SDK would pick on its own (AWS_REGION, AWS_DEFAULT_REGION via the CLI, the profile). */
async function defaultRegionOf(profile: string | undefined): Promise<string | undefined> {
  const client = new STSClient(profile ? { profile } : {});
  try {
    return await client.config.region();
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}

export interface DoctorDeps {
  stdout(line: string): void;
  stderr(line: string): void;
  /** Credentials (default: the AWS SDK default chain, with the stack's aws:profile). */
  credentials?(profile: string | undefined): Promise<Credentials>;
  /** The credentials' default region (default: what the SDK resolves without aws:region). */
  defaultRegion?(profile: string | undefined): Promise<string | undefined>;
  /** docker / pulumi (default: child_process.execFile). */
  exec?: Exec;
  /** What the stack creates (default: the program under mocks, {@link stackProgramNeeds}). */
  programNeeds?(stack: string, region: string, overrides: Record<string, string>, pinned: readonly string[]): Promise<ProgramNeeds>;
}

const DENIED = new Set([
  "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "AuthorizationError",
  "AuthorizationFailure", "NotAuthorized", "UnauthorizedException", "Forbidden",
]);

interface AwsError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function errorName(e: unknown): string {
  const err = e as AwsError;
  return err?.name ?? err?.Code ?? "";
}

export function isAccessDenied(e: unknown): boolean {
  const err = e as AwsError;
  return DENIED.has(errorName(e)) || DENIED.has(err?.Code ?? "") || err?.$metadata?.httpStatusCode === 403;
}

const NETWORK_ERRORS = new Set(["TimeoutError", "RequestTimeout", "ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH"]);

/** A failure to reach AWS at all (no answer), as opposed to an answer that refuses. */
export function isNetworkError(e: unknown): boolean {
  const err = e as AwsError & { code?: string };
  return NETWORK_ERRORS.has(errorName(e)) || NETWORK_ERRORS.has(err?.code ?? "");
}

function firstLine(e: unknown): string {
  const err = e as AwsError;
  const text = `${errorName(e) && errorName(e) !== "Error" ? `${errorName(e)}: ` : ""}${err?.message ?? String(e)}`;
  return text.split("\n")[0].slice(0, 300);
}

async function read<T>(action: string, fn: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, denied: isAccessDenied(e), action, message: firstLine(e) };
  }
}

/** SDK clients, created once per run: the stack's Region, the resolved credentials, short timeouts. */
class Clients {
  readonly sts: STSClient;
  readonly lambda: LambdaClient;
  readonly ec2: EC2Client;
  readonly quotas: ServiceQuotasClient;
  readonly elasticache: ElastiCacheClient;
  readonly apigateway: APIGatewayClient;
  readonly iam: IAMClient;

  constructor(region: string, credentials: Credentials, timeoutMs: number) {
    const config = {
      region,
      credentials,
      maxAttempts: 2,
      // Without throwOnRequestTimeout the handler only logs a warning when requestTimeout passes.
      requestHandler: { connectionTimeout: Math.min(3000, timeoutMs), requestTimeout: timeoutMs, throwOnRequestTimeout: true },
    };
    this.sts = new STSClient(config);
    this.lambda = new LambdaClient(config);
    this.ec2 = new EC2Client(config);
    this.quotas = new ServiceQuotasClient(config);
    this.elasticache = new ElastiCacheClient(config);
    this.apigateway = new APIGatewayClient(config);
    this.iam = new IAMClient(config);
  }

  destroy(): void {
    for (const c of [this.sts, this.lambda, this.ec2, this.quotas, this.elasticache, this.apigateway, this.iam]) c.destroy();
  }
}

const ownedBy = (stack: string) => (tags: Tag[] | undefined): boolean =>
  (tags ?? []).some((t) => t.Key === "stack" && t.Value === stack) && (tags ?? []).some((t) => t.Key === "project" && t.Value === PROJECT);

/** `fn` over `items`, at most `limit` at a time, in order; the first rejection rejects (and stops starting new calls). */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Lambda's answer for a function deleted between ListFunctions and the next call. */
const isGone = (e: unknown): boolean => errorName(e) === "ResourceNotFoundException";

/**
 * This stack's functions already in the account (tagged project=serverless-cache, stack=<stack> by
 * aws:defaultTags) and their current reserved concurrency: ListFunctions (every page), ListTags per
 * function, GetFunctionConcurrency for this stack's. A failed call names its own IAM action.
 */
async function readStackReservations(clients: Clients, stack: string): Promise<Read<DeployedFunction[]>> {
  const functions = await read(IAM_ACTIONS.listFunctions, async () => {
    const all: { name: string; arn: string }[] = [];
    let marker: string | undefined;
    do {
      const res = await clients.lambda.send(new ListFunctionsCommand({ Marker: marker, MaxItems: 50 }));
      for (const f of res.Functions ?? []) if (f.FunctionName && f.FunctionArn) all.push({ name: f.FunctionName, arn: f.FunctionArn });
      marker = res.NextMarker;
    } while (marker);
    return all;
  });
  if (!functions.ok) return functions;
  // Lambda's control plane throttles: a few calls at a time.
  const owned = await read(IAM_ACTIONS.functionTags, () => mapLimit(functions.value, 4, async (f) => {
    try {
      const tags = (await clients.lambda.send(new ListTagsCommand({ Resource: f.arn }))).Tags ?? {};
      return tags.stack === stack && tags.project === PROJECT;
    } catch (e) {
      if (isGone(e)) return false;
      throw e;
    }
  }));
  if (!owned.ok) return owned;
  const mine = functions.value.filter((_, i) => owned.value[i]);
  return read(IAM_ACTIONS.functionConcurrency, () => mapLimit(mine, 4, async (f): Promise<DeployedFunction> => {
    try {
      const res = await clients.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: f.arn }));
      return { name: f.name, reserved: res.ReservedConcurrentExecutions ?? 0 };
    } catch (e) {
      if (isGone(e)) return { name: f.name, reserved: 0 };
      throw e;
    }
  }));
}

async function readAccount(clients: Clients, settings: StackSettings, needs: ProgramNeeds | undefined): Promise<Omit<AccountFacts, "identity" | "defaultRegion" | "docker" | "pulumiStacks">> {
  const mine = ownedBy(settings.stack);
  /**
   * The applied quota; when GetServiceQuota fails other than by a denial (NoSuchResourceException for
   * a quota this account never changed, a service error), the AWS default from GetAWSDefaultServiceQuota.
   * When both fail, the check falls back to the built-in default.
   */
  const quota = async (key: "elasticIps" | "vpcs"): Promise<Read<QuotaValue>> => {
    const codes = { ServiceCode: QUOTAS[key].serviceCode, QuotaCode: QUOTAS[key].quotaCode };
    const valueOf = (res: { Quota?: { Value?: number } }): number => {
      const value = res.Quota?.Value;
      if (typeof value !== "number") throw new Error(`no value for ${codes.QuotaCode}`);
      return value;
    };
    try {
      return { ok: true, value: { value: valueOf(await clients.quotas.send(new GetServiceQuotaCommand(codes))), source: "applied" } };
    } catch (e) {
      if (isAccessDenied(e)) return { ok: false, denied: true, action: IAM_ACTIONS.serviceQuota, message: firstLine(e) };
      const appliedError = firstLine(e);
      const fallback = await read(IAM_ACTIONS.defaultServiceQuota, async () => valueOf(await clients.quotas.send(new GetAWSDefaultServiceQuotaCommand(codes))));
      if (fallback.ok) {
        return { ok: true, value: { value: fallback.value, source: "aws-default", appliedError, noAppliedValue: errorName(e) === "NoSuchResourceException" } };
      }
      return fallback.denied ? fallback : { ok: false, denied: false, action: IAM_ACTIONS.serviceQuota, message: `${appliedError}; then ${IAM_ACTIONS.defaultServiceQuota}: ${fallback.message}` };
    }
  };
  const services = endpointServiceNames(settings.region, needs);
  const [lambda, lambdaReservations, eipQuota, vpcQuota, addresses, vpcs, zones, engineVersions, apiGatewayAccount, ...endpointReads] = await Promise.all([
    read(IAM_ACTIONS.lambdaAccount, async () => {
      const res = await clients.lambda.send(new GetAccountSettingsCommand({}));
      return {
        concurrentExecutions: res.AccountLimit?.ConcurrentExecutions ?? 0,
        unreservedConcurrentExecutions: res.AccountLimit?.UnreservedConcurrentExecutions ?? 0,
      };
    }),
    // Only needed (and only read) when the program ran: the concurrency check is not made otherwise.
    needs ? readStackReservations(clients, settings.stack) : Promise.resolve<Read<DeployedFunction[]>>({ ok: true, value: [] }),
    quota("elasticIps"),
    quota("vpcs"),
    read(IAM_ACTIONS.addresses, async (): Promise<Inventory> => {
      const res = await clients.ec2.send(new DescribeAddressesCommand({}));
      const all = res.Addresses ?? [];
      return { total: all.length, thisStack: all.filter((a) => mine(a.Tags)).length };
    }),
    read(IAM_ACTIONS.vpcs, async (): Promise<Inventory> => {
      const inventory: Inventory = { total: 0, thisStack: 0 };
      let token: string | undefined;
      do {
        const res = await clients.ec2.send(new DescribeVpcsCommand({ NextToken: token, MaxResults: 1000 }));
        for (const v of res.Vpcs ?? []) {
          inventory.total += 1;
          if (mine(v.Tags)) inventory.thisStack += 1;
        }
        token = res.NextToken;
      } while (token);
      return inventory;
    }),
    read(IAM_ACTIONS.zones, async (): Promise<AccountZone[]> => {
      const res = await clients.ec2.send(new DescribeAvailabilityZonesCommand({
        Filters: [
          { Name: "zone-type", Values: ["availability-zone"] },
          { Name: "opt-in-status", Values: ["opt-in-not-required"] },
        ],
      }));
      return (res.AvailabilityZones ?? [])
        .filter((z) => z.ZoneName && z.ZoneId)
        .map((z) => ({ name: z.ZoneName!, zoneId: z.ZoneId!, zoneType: z.ZoneType, optInStatus: z.OptInStatus, state: z.State }));
    }),
    read(IAM_ACTIONS.engineVersions, async () => {
      const versions: string[] = [];
      let marker: string | undefined;
      do {
        const res = await clients.elasticache.send(new DescribeCacheEngineVersionsCommand({ Engine: "memcached", MaxRecords: 100, Marker: marker }));
        for (const v of res.CacheEngineVersions ?? []) if (v.EngineVersion) versions.push(v.EngineVersion);
        marker = res.Marker;
      } while (marker);
      return versions;
    }),
    read(IAM_ACTIONS.apiGatewayAccount, async () => {
      const res = await clients.apigateway.send(new GetAccountCommand({}));
      return { cloudwatchRoleArn: res.cloudwatchRoleArn || undefined };
    }),
    ...services.map((service) => read(IAM_ACTIONS.endpointServices, async (): Promise<string[] | null> => {
      try {
        const res = await clients.ec2.send(new DescribeVpcEndpointServicesCommand({ ServiceNames: [service] }));
        const detail = (res.ServiceDetails ?? []).find((d) => d.ServiceName === service);
        return detail ? detail.AvailabilityZones ?? [] : null;
      } catch (e) {
        if (errorName(e) === "InvalidServiceName") return null;
        throw e;
      }
    })),
  ]);
  const endpointServices: AccountFacts["endpointServices"] = {};
  services.forEach((s, i) => { endpointServices[s] = endpointReads[i] as Read<string[] | null>; });
  const roleArn = apiGatewayAccount.ok ? apiGatewayAccount.value.cloudwatchRoleArn : undefined;
  let cloudwatchRoleTags: AccountFacts["cloudwatchRoleTags"];
  const roleName = roleArn ? roleNameFromArn(roleArn) : undefined;
  if (roleArn && roleName) {
    cloudwatchRoleTags = await read(IAM_ACTIONS.roleTags, async () => {
      try {
        const tags: Record<string, string> = {};
        let marker: string | undefined;
        do {
          const res = await clients.iam.send(new ListRoleTagsCommand({ RoleName: roleName, Marker: marker }));
          for (const t of res.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? "";
          marker = res.IsTruncated ? res.Marker : undefined;
        } while (marker);
        return tags;
      } catch (e) {
        if (errorName(e) === "NoSuchEntityException" || errorName(e) === "NoSuchEntity") return null;
        throw e;
      }
    });
  }
  return {
    lambda,
    lambdaReservations,
    quotas: { elasticIps: eipQuota, vpcs: vpcQuota },
    addresses,
    vpcs,
    zones,
    endpointServices,
    engineVersions,
    apiGatewayAccount,
    ...(cloudwatchRoleTags ? { cloudwatchRoleTags } : {}),
  };
}

interface Report {
  stack: string;
  region: string;
  account?: string;
  exitCode: number;
  results: CheckResult[];
}

function print(deps: DoctorDeps, options: DoctorOptions, report: Report, header: string): void {
  const line = options.json ? deps.stderr : deps.stdout;
  line(header);
  for (const r of report.results) line(renderLine(r));
  line(`${summary(report.results)}; exit ${report.exitCode}`);
  if (options.json) deps.stdout(JSON.stringify(report, null, 2));
}

/** The whole CLI; returns the exit code. Never prints credentials. */
export async function main(argv: readonly string[], deps: DoctorDeps): Promise<number> {
  let options: DoctorOptions | "help";
  let settings: StackSettings;
  try {
    options = parseArgs(argv);
    if (options === "help") {
      deps.stdout(USAGE);
      return 0;
    }
    settings = readStackSettings(options.stack, options.overrides);
  } catch (e) {
    if (e instanceof UsageError) {
      deps.stderr(usageMessage("doctor", e.message, USAGE));
      return 2;
    }
    deps.stderr(`doctor: unexpected error: ${(e as Error)?.stack ?? String(e)}`);
    return 3;
  }
  const header = `Doctor for stack ${settings.stack} (${settings.region}${settings.profile ? `, profile ${settings.profile}` : ""}): read-only checks`;

  // 1. Credentials: nothing else runs without them.
  let credentials: Credentials;
  try {
    credentials = await (deps.credentials ?? defaultCredentials)(settings.profile);
    if (!credentials?.accessKeyId || !credentials?.secretAccessKey) throw new Error("the provider chain returned empty credentials");
  } catch (e) {
    const reason = firstLine(e).replace(/\b(AKIA|ASIA)[A-Z0-9]{12,}\b/g, "***");
    print(deps, options, { stack: settings.stack, region: settings.region, exitCode: 2, results: [noCredentials(settings, reason)] }, header);
    deps.stderr(`doctor: no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (region: the stack's aws:region ${settings.region}); nothing else was checked`);
    return 2;
  }
  const clients = new Clients(settings.region, credentials, options.timeoutMs);
  try {
    let identity: { account: string; arn: string };
    try {
      const res = await clients.sts.send(new GetCallerIdentityCommand({}));
      identity = { account: res.Account ?? "?", arn: res.Arn ?? "?" };
    } catch (e) {
      const reason = firstLine(e);
      const unreachable = isNetworkError(e);
      const result: CheckResult = unreachable ? {
        id: "credentials",
        status: "FIX",
        found: `could not reach STS in ${settings.region}: ${reason}`,
        fix: "check the network path to AWS (proxy: HTTPS_PROXY; VPN), or raise --timeout-ms, then run the doctor again",
      } : {
        id: "credentials",
        status: "FIX",
        found: `STS GetCallerIdentity in ${settings.region} refused these credentials: ${reason}`,
        fix: settings.profile || process.env.AWS_PROFILE
          ? `refresh them: aws sso login --profile ${settings.profile ?? process.env.AWS_PROFILE} (or renew the keys), then run the doctor again`
          : "renew the keys (expired session token?) or export AWS_PROFILE=<profile> and aws sso login, then run the doctor again",
      };
      print(deps, options, { stack: settings.stack, region: settings.region, exitCode: 2, results: [result] }, header);
      deps.stderr(`doctor: ${unreachable ? "AWS could not be reached" : "the credentials were refused"}; nothing else was checked`);
      return 2;
    }

    // What the stack creates (the program under mocks) and what the account/machine offer.
    let needsOutcome: NeedsOutcome;
    if (settings.configProblems.length > 0) {
      needsOutcome = { ok: false, status: "warn", reason: "not counted: the program cannot run with an invalid config (see config)" };
    } else {
      try {
        const needs = await (deps.programNeeds ?? stackProgramNeeds)(settings.stack, settings.region, options.overrides, settings.pinnedZoneIds);
        needsOutcome = { ok: true, needs };
      } catch (e) {
        needsOutcome = {
          ok: false,
          status: "FIX",
          reason: `the program fails for this stack under mocks, so pulumi up would too: ${firstLine(e)}`,
          fix: `npm run plan -- --stack ${settings.stack} shows the failure`,
        };
      }
    }
    const exec = deps.exec ?? defaultExec;
    const [account, defaultRegion, docker, pulumiStacks] = await Promise.all([
      readAccount(clients, settings, needsOutcome.ok ? needsOutcome.needs : undefined),
      (deps.defaultRegion ?? defaultRegionOf)(settings.profile).catch(() => undefined),
      // The current builder only, booted first (a stopped docker-container builder starts; its first boot may pull BuildKit).
      exec("docker", BUILDX_INSPECT, { cwd: REPO_ROOT, timeoutMs: 120000 }),
      exec("pulumi", ["stack", "ls", "--json"], { cwd: REPO_ROOT, timeoutMs: 60000 }),
    ]);
    const facts: AccountFacts = { identity, ...(defaultRegion ? { defaultRegion } : {}), ...account, docker, pulumiStacks };
    const results = runChecks(settings, needsOutcome, facts);
    const code = exitCode(results);
    print(deps, options, { stack: settings.stack, region: settings.region, account: identity.account, exitCode: code, results }, header);
    return code;
  } finally {
    clients.destroy();
  }
}

if (require.main === module) {
  main(process.argv.slice(2), {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
  }).then((code) => process.exit(code), (e) => {
    process.stderr.write(`doctor: unexpected error: ${String(e)}\n`);
    process.exit(3);
  });
}
