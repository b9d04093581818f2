/**
 * The pure half of `npm run doctor`: what a stack needs (from its config and the resources the real
 * program registers under mocks), what the AWS account answered (already read by scripts/doctor.ts),
 * and the check functions that turn both into one result line each. No I/O here: every function is
 * tested with hand-made inputs.
 */
import {
  AVAILABILITY_TABLES_CHECKED,
  chooseZones,
  isAzId,
  regionProblems,
  VPC_LINK_V2_ZONE_IDS,
  zoneProblems,
  type ZoneChoice,
  type ZoneInfo,
  type ZoneRequirement,
} from "../components/awsAvailability";
import { MEMCACHED_ENGINE_VERSIONS, PROJECT } from "../config";

export type Status = "ok" | "warn" | "FIX";

/** One output line: what was found and, unless ok, the exact thing to do. */
export interface CheckResult {
  id: string;
  status: Status;
  found: string;
  fix?: string;
}

/** One AWS read: its value, or why it could not be read (denied = AccessDenied and the like). */
export type Read<T> = { ok: true; value: T } | { ok: false; denied: boolean; action: string; message: string };

/** What running a local tool (docker, pulumi) gave: not on the PATH, or its exit code and output. */
export type ExecResult = { kind: "missing" } | { kind: "exited"; code: number; stdout: string; stderr: string };

/** Service Quotas codes of the quotas the doctor compares against. */
export const QUOTAS = {
  lambdaConcurrency: { serviceCode: "lambda", quotaCode: "L-B99A9384", name: "Lambda concurrent executions", default: 1000 },
  elasticIps: { serviceCode: "ec2", quotaCode: "L-0263D0A3", name: "EC2-VPC Elastic IPs", default: 5 },
  vpcs: { serviceCode: "vpc", quotaCode: "L-F678F1CE", name: "VPCs per Region", default: 5 },
} as const;
export type QuotaKey = keyof typeof QUOTAS;

/** Lambda refuses a reservation that leaves fewer than this many unreserved executions in the account. */
export const LAMBDA_MIN_UNRESERVED = 100;

/** How to install the QEMU binfmt handlers that let Docker build images for another CPU (arm64 on x86_64, amd64 on arm64). */
export function binfmtCommand(arch: "arm64" | "amd64"): string {
  return `docker run --privileged --rm tonistiigi/binfmt --install ${arch}`;
}

/** The arm64 one (an x86_64 machine building the default ARM64 image). */
export const BINFMT_COMMAND = binfmtCommand("arm64");

/** The stack's settings, from Pulumi.yaml defaults + Pulumi.<stack>.yaml (+ --config overrides). */
export interface StackSettings {
  stack: string;
  region: string;
  /** aws:profile, when the stack names one (the provider, and so the doctor, use it). */
  profile?: string;
  azCount: number;
  /** networkAvailabilityZoneIds ([] = not pinned). */
  pinnedZoneIds: string[];
  zoneRequirements: readonly ZoneRequirement[];
  /** Everything config.ts rejects ([] = valid). */
  configProblems: string[];
  /** alarmEmail (config.ts's StackConfig.alarmEmail); undefined or "" = the alarm topic has no subscriber. */
  alarmEmail?: string;
}

/** What the program creates that the account has to allow, counted from the registered resources. */
export interface ProgramNeeds {
  resourceCount: number;
  /** Every function with reserved concurrency. */
  reservedConcurrency: { name: string; reserved: number }[];
  elasticIps: number;
  vpcs: number;
  /** Full service names of the interface endpoints, e.g. com.amazonaws.us-east-1.execute-api. */
  interfaceEndpointServices: string[];
  /** Whether the stack sets the account-wide API Gateway CloudWatch role (aws.apigateway.Account). */
  managesApiGatewayAccount: boolean;
  /** Whether a stage writes access logs (needs that role). */
  accessLogs: boolean;
  /** Docker platforms of the images the stack builds, e.g. linux/arm64. */
  imagePlatforms: string[];
  cacheClusters: { name: string; engine: string; engineVersion?: string; nodeType?: string; nodeCount: number }[];
}

/** A resource as plan/engine.ts records it (only what is read here). */
export interface RegisteredResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Count what the stack creates (pure; `resources` from plan/engine.ts runProgram). */
export function programNeeds(resources: readonly RegisteredResource[]): ProgramNeeds {
  const ofType = (type: string): RegisteredResource[] => resources.filter((r) => r.type === type);
  const reservedConcurrency = ofType("aws:lambda/function:Function")
    .map((r) => ({ name: r.name, reserved: Number(r.inputs.reservedConcurrentExecutions ?? -1) }))
    .filter((f) => Number.isFinite(f.reserved) && f.reserved > 0);
  const interfaceEndpointServices = [...new Set(ofType("aws:ec2/vpcEndpoint:VpcEndpoint")
    .filter((r) => r.inputs.vpcEndpointType === "Interface")
    .map((r) => str(r.inputs.serviceName))
    .filter((s): s is string => s !== undefined))].sort();
  const platforms = new Set<string>();
  for (const image of resources.filter((r) => r.type === "awsx:ecr:Image")) {
    const p = str(image.inputs.platform);
    if (p) platforms.add(p);
  }
  for (const task of ofType("aws:ecs/taskDefinition:TaskDefinition")) {
    const arch = str((task.inputs.runtimePlatform as { cpuArchitecture?: unknown } | undefined)?.cpuArchitecture);
    if (arch === "ARM64") platforms.add("linux/arm64");
    else if (arch === "X86_64") platforms.add("linux/amd64");
  }
  return {
    resourceCount: resources.length,
    reservedConcurrency,
    elasticIps: ofType("aws:ec2/eip:Eip").length,
    vpcs: ofType("aws:ec2/vpc:Vpc").length,
    interfaceEndpointServices,
    managesApiGatewayAccount: ofType("aws:apigateway/account:Account").length > 0,
    accessLogs: ofType("aws:apigateway/stage:Stage").some((s) => s.inputs.accessLogSettings !== undefined && s.inputs.accessLogSettings !== null),
    imagePlatforms: [...platforms].sort(),
    cacheClusters: ofType("aws:elasticache/cluster:Cluster").map((c) => ({
      name: c.name,
      engine: str(c.inputs.engine) ?? "",
      engineVersion: str(c.inputs.engineVersion),
      nodeType: str(c.inputs.nodeType),
      nodeCount: Number(c.inputs.numCacheNodes ?? 1),
    })),
  };
}

/** A zone as DescribeAvailabilityZones returns it. */
export interface AccountZone extends ZoneInfo {
  /** available | information | impaired | unavailable */
  state?: string;
}

/** Resources of one kind in the account, and how many of them already carry this stack's tags. */
export interface Inventory {
  total: number;
  thisStack: number;
}

/** A quota's value and where it came from. */
export interface QuotaValue {
  value: number;
  /** applied = GetServiceQuota; aws-default = GetAWSDefaultServiceQuota after GetServiceQuota failed (not denied). */
  source: "applied" | "aws-default";
  /** With aws-default: why GetServiceQuota gave no value (its error, one line). */
  appliedError?: string;
  /** With aws-default: GetServiceQuota's error was NoSuchResourceException (no applied value: the default is the quota). */
  noAppliedValue?: boolean;
}

/** One of this stack's deployed functions (tagged project/stack by aws:defaultTags) and its current reservation (0 = none). */
export interface DeployedFunction {
  name: string;
  reserved: number;
}

/** Everything the doctor read from the account and the machine (scripts/doctor.ts fills it). */
export interface AccountFacts {
  identity: { account: string; arn: string };
  /** The region the SDK/CLI would use by default (AWS_REGION, the profile's region), if any. */
  defaultRegion?: string;
  lambda: Read<{ concurrentExecutions: number; unreservedConcurrentExecutions: number }>;
  /**
   * This stack's functions already in the account. Their reservations are already taken out of
   * UnreservedConcurrentExecutions, so the concurrency check adds them back.
   */
  lambdaReservations: Read<DeployedFunction[]>;
  quotas: Record<"elasticIps" | "vpcs", Read<QuotaValue>>;
  addresses: Read<Inventory>;
  vpcs: Read<Inventory>;
  zones: Read<AccountZone[]>;
  /** By full service name: the AZ names the service is offered in, or null when the Region has no such service. */
  endpointServices: Record<string, Read<string[] | null>>;
  engineVersions: Read<string[]>;
  apiGatewayAccount: Read<{ cloudwatchRoleArn?: string }>;
  /** Tags of the role the account's API Gateway setting names (null = that role does not exist); absent when none is set. */
  cloudwatchRoleTags?: Read<Record<string, string> | null>;
  docker: ExecResult;
  pulumiStacks: ExecResult;
}

/** The IAM action a read needs, for the "allow ..." advice. */
export const IAM_ACTIONS = {
  getCallerIdentity: "sts:GetCallerIdentity",
  lambdaAccount: "lambda:GetAccountSettings",
  listFunctions: "lambda:ListFunctions",
  functionTags: "lambda:ListTags",
  functionConcurrency: "lambda:GetFunctionConcurrency",
  serviceQuota: "servicequotas:GetServiceQuota",
  defaultServiceQuota: "servicequotas:GetAWSDefaultServiceQuota",
  addresses: "ec2:DescribeAddresses",
  vpcs: "ec2:DescribeVpcs",
  zones: "ec2:DescribeAvailabilityZones",
  endpointServices: "ec2:DescribeVpcEndpointServices",
  engineVersions: "elasticache:DescribeCacheEngineVersions",
  apiGatewayAccount: "apigateway:GET",
  roleTags: "iam:ListRoleTags",
} as const;

/** The read-only IAM policy the doctor needs (docs/doctor.md prints the same). */
export function doctorPolicy(): { Version: string; Statement: Record<string, unknown>[] } {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DoctorReadOnly",
        Effect: "Allow",
        Action: [
          IAM_ACTIONS.getCallerIdentity, IAM_ACTIONS.lambdaAccount, IAM_ACTIONS.listFunctions, IAM_ACTIONS.functionTags,
          IAM_ACTIONS.functionConcurrency, IAM_ACTIONS.serviceQuota, IAM_ACTIONS.defaultServiceQuota, IAM_ACTIONS.addresses, IAM_ACTIONS.vpcs,
          IAM_ACTIONS.zones, IAM_ACTIONS.endpointServices, IAM_ACTIONS.engineVersions, IAM_ACTIONS.roleTags,
        ],
        Resource: "*",
      },
      { Sid: "DoctorApiGatewayAccount", Effect: "Allow", Action: [IAM_ACTIONS.apiGatewayAccount], Resource: "arn:aws:apigateway:*::/account" },
    ],
  };
}

/** A warn line for a read that failed: denied names the action to allow; anything else says what happened. */
function unreadable(id: string, read: { denied: boolean; action: string; message: string }, what: string): CheckResult {
  return read.denied
    ? { id, status: "warn", found: `not checked: ${what} was denied (${read.action})`, fix: `allow ${read.action} to the identity running the doctor (docs/doctor.md has the whole read-only policy)` }
    : { id, status: "warn", found: `not checked: ${what} failed: ${read.message}`, fix: "run the doctor again; if it keeps failing, check the network path to the AWS APIs" };
}

/** The Service Quotas request for `quota` at `desired`. */
export function quotaRequest(quota: QuotaKey, desired: number, region: string): string {
  const q = QUOTAS[quota];
  return `aws service-quotas request-service-quota-increase --service-code ${q.serviceCode} --quota-code ${q.quotaCode} --desired-value ${desired} --region ${region}`;
}

/** `pulumi config set` for a project key (or aws:<key>) on this stack. */
export function configSet(stack: string, key: string, value: string | number | boolean): string {
  return `pulumi config set ${key} ${value} --stack ${stack}`;
}

/** The commands that pin `zoneIds` (replacing any list the stack has). */
export function pinCommand(stack: string, zoneIds: readonly string[], replaceExisting: boolean): string {
  const sets = zoneIds.map((id, i) => `pulumi config set --path 'networkAvailabilityZoneIds[${i}]' ${id} --stack ${stack}`);
  return [...(replaceExisting ? [`pulumi config rm networkAvailabilityZoneIds --stack ${stack}`] : []), ...sets].join(" && ");
}

// ---------------------------------------------------------------- 1. credentials

export function checkCredentials(identity: { account: string; arn: string }): CheckResult {
  return { id: "credentials", status: "ok", found: `account ${identity.account} as ${identity.arn}` };
}

/** The line printed when the default credential chain finds nothing (the doctor then exits 2). */
export function noCredentials(settings: Pick<StackSettings, "stack" | "region" | "profile">, reason: string): CheckResult {
  const profile = settings.profile
    ? `the stack uses aws:profile ${settings.profile}: configure it (aws configure sso --profile ${settings.profile}, or aws sso login --profile ${settings.profile} if it exists)`
    : "export AWS_PROFILE=<profile> (then aws sso login if it uses SSO)";
  return {
    id: "credentials",
    status: "FIX",
    found: `no AWS credentials found (${reason}); the other checks need them`,
    fix: `${profile}, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary keys), or run where a role is available; the region comes from the stack (aws:region ${settings.region})`,
  };
}

// ---------------------------------------------------------------- 2. region

export function checkRegion(settings: StackSettings, defaultRegion: string | undefined): CheckResult {
  const { region, stack } = settings;
  const problems = regionProblems(region, settings.zoneRequirements);
  if (problems.length > 0) {
    return {
      id: "region",
      status: "FIX",
      found: `stack ${stack} deploys to ${region}: ${problems.join("; ")}`,
      fix: `${configSet(stack, "aws:region", "us-east-1")} (or any Region in the table: ${Object.keys(VPC_LINK_V2_ZONE_IDS).join(", ")}), and pin its zone IDs`,
    };
  }
  const zones = VPC_LINK_V2_ZONE_IDS[region];
  const support = zones ? `; VPC links V2 offered in ${zones.join(", ")} (table of ${AVAILABILITY_TABLES_CHECKED})` : "";
  if (defaultRegion && defaultRegion !== region) {
    return {
      id: "region",
      status: "warn",
      found: `the stack deploys to ${region} (aws:region) but these credentials default to ${defaultRegion}${support}; pulumi uses aws:region, your own aws commands would not`,
      fix: `export AWS_REGION=${region} (or add --region ${region} to aws commands for this stack)`,
    };
  }
  return {
    id: "region",
    status: "ok",
    found: `${region}${defaultRegion ? " (same as the credentials' default region)" : " (no default region set; aws:region is used)"}${support}`,
  };
}

// ---------------------------------------------------------------- 3. Lambda concurrency

/**
 * Whether the stack's reservations leave the 100 unreserved executions Lambda insists on.
 * UnreservedConcurrentExecutions already excludes every reservation in the account, this stack's
 * deployed functions included: those are added back (`deployed`), since `pulumi up` replaces them
 * with the configured ones rather than adding to them. When they cannot be read, they are not added
 * back (conservative: an already-deployed stack is then counted twice) and the line says why.
 */
export function checkLambdaConcurrency(settings: StackSettings, needs: ProgramNeeds, read: AccountFacts["lambda"], deployed: AccountFacts["lambdaReservations"]): CheckResult {
  const id = "lambda-concurrency";
  if (!read.ok) return unreadable(id, read, "Lambda GetAccountSettings");
  const { concurrentExecutions: quota, unreservedConcurrentExecutions: unreserved } = read.value;
  const reserved = needs.reservedConcurrency.reduce((sum, f) => sum + f.reserved, 0);
  const detail = needs.reservedConcurrency.map((f) => `${f.name} ${f.reserved}`).join(", ");
  const own = deployed.ok ? deployed.value.filter((f) => f.reserved > 0) : [];
  const addedBack = own.reduce((sum, f) => sum + f.reserved, 0);
  const ownNote = addedBack > 0
    ? `; this stack's deployed functions already reserve ${addedBack} (${own.map((f) => `${f.name} ${f.reserved}`).join(", ")}), added back`
    : "";
  // Not read: say so, and keep today's conservative count.
  const unknown = deployed.ok
    ? undefined
    : deployed.denied
      ? { note: ` (this stack's current reservations were not added back: ${deployed.action} was denied; if the stack is already deployed, they are counted twice)`, fix: `allow ${deployed.action} to the identity running the doctor (docs/doctor.md has the whole read-only policy)` }
      : { note: ` (this stack's current reservations were not added back: ${deployed.action} failed: ${deployed.message}; if the stack is already deployed, they are counted twice)`, fix: "run the doctor again; if it keeps failing, check the network path to the AWS APIs" };
  const available = unreserved + addedBack;
  const left = available - reserved;
  const head = `account quota ${quota}, unreserved ${unreserved}${ownNote}; this stack reserves ${reserved}${detail ? ` (${detail})` : ""}`;
  if (left >= LAMBDA_MIN_UNRESERVED) {
    const found = `${head}, leaving ${left} unreserved (AWS requires >= ${LAMBDA_MIN_UNRESERVED})`;
    return unknown ? { id, status: "warn", found: `${found}${unknown.note}`, fix: unknown.fix } : { id, status: "ok", found };
  }
  const needed = quota + (LAMBDA_MIN_UNRESERVED - left);
  const lower = available - LAMBDA_MIN_UNRESERVED >= needs.reservedConcurrency.length && needs.reservedConcurrency.length > 0
    ? ` (or reserve at most ${available - LAMBDA_MIN_UNRESERVED} in total: ${configSet(settings.stack, "cacheFunctionReservedConcurrency", "<n>")} and ${configSet(settings.stack, "apiFunctionReservedConcurrency", "<n>")})`
    : "";
  return {
    id,
    status: "FIX",
    found: `${head}, which would leave ${left} unreserved, but AWS refuses any reservation that leaves fewer than ${LAMBDA_MIN_UNRESERVED}: the quota must be at least ${needed}${unknown?.note ?? ""}`,
    fix: `${quotaRequest("lambdaConcurrency", needed, settings.region)}${lower}${unknown ? `; to count this stack once: ${unknown.fix}` : ""}`,
  };
}

// ---------------------------------------------------------------- 4. Elastic IPs, VPCs

function checkCountQuota(
  id: string,
  quota: "elasticIps" | "vpcs",
  what: { describe: string; release: string },
  settings: StackSettings,
  adds: number,
  quotaRead: Read<QuotaValue>,
  inventory: Read<Inventory>,
): CheckResult {
  if (!inventory.ok) return unreadable(id, inventory, what.describe);
  const q = QUOTAS[quota];
  const limit = quotaRead.ok ? quotaRead.value.value : q.default;
  // ok only for a value that is the account's: applied, or the AWS default where nothing is applied.
  const known = quotaRead.ok && (quotaRead.value.source === "applied" || quotaRead.value.noAppliedValue === true);
  const assumed = quotaRead.ok
    ? quotaRead.value.source === "applied"
      ? ""
      : quotaRead.value.noAppliedValue
        ? ` (the AWS default: this account has no applied value (${quotaRead.value.appliedError?.split(":")[0]}))`
        : ` (the applied quota could not be read (${quotaRead.value.appliedError}), so the AWS default ${limit} is assumed)`
    : quotaRead.denied
      ? ` (the real quota is unknown: ${quotaRead.action} was denied, so the default ${q.default} is assumed; allow ${quotaRead.action} to read it)`
      : ` (the real quota is unknown: ${quotaRead.message}; the default ${q.default} is assumed)`;
  const unknownFix = !quotaRead.ok && quotaRead.denied
    ? `allow ${quotaRead.action}, or check the quota in the Service Quotas console (${q.serviceCode} ${q.quotaCode})`
    : `run the doctor again, or check the quota in the Service Quotas console (${q.serviceCode} ${q.quotaCode})`;
  const { total, thisStack } = inventory.value;
  const more = Math.max(0, adds - thisStack);
  const after = total + more;
  const ownNote = thisStack > 0 ? ` (${thisStack} already tagged for this stack)` : "";
  const found = `${q.name} quota ${limit}${assumed}; ${total} in use${ownNote}; this stack adds ${more} -> ${after}`;
  if (after <= limit) return { id, status: known ? "ok" : "warn", found, ...(known ? {} : { fix: unknownFix }) };
  return {
    id,
    status: "FIX",
    found: `${found}, over the quota: pulumi up would fail`,
    fix: `${quotaRequest(quota, after, settings.region)} (or ${what.release})`,
  };
}

export function checkElasticIps(settings: StackSettings, needs: ProgramNeeds, facts: Pick<AccountFacts, "quotas" | "addresses">): CheckResult {
  return checkCountQuota("elastic-ips", "elasticIps", {
    describe: "EC2 DescribeAddresses",
    release: `release unused addresses: aws ec2 describe-addresses --region ${settings.region}, then aws ec2 release-address --allocation-id <id>; or ${configSet(settings.stack, "networkNatMode", "single")}`,
  }, settings, needs.elasticIps, facts.quotas.elasticIps, facts.addresses);
}

export function checkVpcs(settings: StackSettings, needs: ProgramNeeds, facts: Pick<AccountFacts, "quotas" | "vpcs">): CheckResult {
  return checkCountQuota("vpcs", "vpcs", {
    describe: "EC2 DescribeVpcs",
    release: `delete an unused VPC: aws ec2 describe-vpcs --region ${settings.region}`,
  }, settings, needs.vpcs, facts.quotas.vpcs, facts.vpcs);
}

// ---------------------------------------------------------------- 5. Availability Zones

/** Numeric order of zone IDs: use1-az2 before use1-az10. */
function byZoneId(a: string, b: string): number {
  const ma = /^(.*)-az(\d+)$/.exec(a);
  const mb = /^(.*)-az(\d+)$/.exec(b);
  if (ma && mb && ma[1] === mb[1]) return Number(ma[2]) - Number(mb[2]);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Zone IDs of the account's real AZs that every requirement supports, lowest first. */
export function usableZoneIds(region: string, zones: readonly ZoneInfo[], requirements: readonly ZoneRequirement[]): string[] {
  return zones
    .filter((z) => (z.zoneType ?? "availability-zone") === "availability-zone" && (z.optInStatus ?? "opt-in-not-required") === "opt-in-not-required" && isAzId(z.zoneId))
    .filter((z) => zoneProblems(region, z.zoneId, requirements).length === 0)
    .map((z) => z.zoneId)
    .sort(byZoneId);
}

const describeChoice = (c: ZoneChoice): string => c.zoneIds.map((id, i) => `${id} (${c.names[i]})`).join(", ");

export function checkZones(settings: StackSettings, read: AccountFacts["zones"]): { result: CheckResult; choice?: ZoneChoice } {
  const id = "zones";
  if (!read.ok) return { result: unreadable(id, read, "EC2 DescribeAvailabilityZones") };
  const { stack, region, azCount, pinnedZoneIds: pinned, zoneRequirements: requirements } = settings;
  const zones = read.value;
  const usable = usableZoneIds(region, zones, requirements);
  const others = zones.filter((z) => (z.zoneType ?? "availability-zone") !== "availability-zone" || !isAzId(z.zoneId));
  const ignored = others.length > 0 ? `; ignored ${others.map((z) => z.name).join(", ")} (not Availability Zones)` : "";
  const left = zones.filter((z) => isAzId(z.zoneId) && (z.zoneType ?? "availability-zone") === "availability-zone" && !usable.includes(z.zoneId));
  const leftOut = left.length > 0 ? `; left out ${left.map((z) => `${z.name} = ${z.zoneId}`).join(", ")} (${[...new Set(left.flatMap((z) => zoneProblems(region, z.zoneId, requirements)))].join("; ")})` : "";
  let choice: ZoneChoice;
  try {
    choice = chooseZones({ region, zones, count: azCount, pinned, requirements });
  } catch (e) {
    const message = (e as Error).message;
    const keep = [...new Set(pinned)].filter((z) => usable.includes(z));
    const suggestion = [...keep, ...usable.filter((z) => !keep.includes(z))].slice(0, azCount);
    const fix = suggestion.length === azCount
      ? pinCommand(stack, suggestion, pinned.length > 0)
      : `${configSet(stack, "networkAzCount", Math.max(2, usable.length))}${usable.length >= 2 ? ` && ${pinCommand(stack, usable, pinned.length > 0)}` : ` (fewer than 2 usable AZs in ${region}: choose another Region)`}`;
    return { result: { id, status: "FIX", found: `${pinned.length > 0 ? `pinned ${pinned.join(", ")}: ` : ""}${message}`, fix } };
  }
  const impaired = choice.zoneIds.map((zid) => zones.find((z) => z.zoneId === zid)).filter((z) => z?.state !== undefined && z.state !== "available");
  const stateNote = impaired.length > 0 ? `; ${impaired.map((z) => `${z!.zoneId} is ${z!.state} today`).join(", ")}` : "";
  if (pinned.length > 0) {
    return {
      result: impaired.length > 0
        ? { id, status: "warn", found: `pinned ${describeChoice(choice)}${stateNote}`, fix: "deploy when the AZ is available again (https://health.aws.amazon.com/health/status), or pin another zone ID before the first up" }
        : { id, status: "ok", found: `pinned ${describeChoice(choice)}${ignored}` },
      choice,
    };
  }
  return {
    result: {
      id,
      status: "warn",
      found: `not pinned: pulumi would choose ${describeChoice(choice)} (the lowest zone IDs offering ${requirements.join(", ")})${leftOut}${ignored}${stateNote}; AZ names differ per account and a changed AZ replaces every subnet`,
      fix: pinCommand(stack, choice.zoneIds, false),
    },
    choice,
  };
}

// ---------------------------------------------------------------- 6. interface endpoint services

export function checkEndpointServices(
  settings: StackSettings,
  needs: ProgramNeeds | undefined,
  choice: ZoneChoice | undefined,
  facts: Pick<AccountFacts, "endpointServices" | "zones">,
): CheckResult[] {
  const services = endpointServiceNames(settings.region, needs);
  return services.map((service) => {
    const short = service.split(".").slice(3).join(".");
    const id = `endpoint:${short}`;
    if (!choice) return { id, status: "warn", found: `not checked: no AZs chosen (see zones)`, fix: "fix the zones line first" };
    const read = facts.endpointServices[service];
    if (!read) return { id, status: "warn", found: `not checked: ${service} was not looked up` };
    if (!read.ok) return unreadable(id, read, `EC2 DescribeVpcEndpointServices for ${service}`);
    if (read.value === null) {
      return short === "execute-api"
        ? { id, status: "FIX", found: `${service} does not exist in ${settings.region}: the private API cannot be reached`, fix: `deploy to a Region that has it: ${configSet(settings.stack, "aws:region", "us-east-1")}` }
        : { id, status: "FIX", found: `${service} does not exist in ${settings.region}`, fix: `remove ${short} from networkInterfaceEndpoints in Pulumi.${settings.stack}.yaml` };
    }
    const offered = new Set(read.value);
    const missing = choice.names.map((name, i) => ({ name, zoneId: choice.zoneIds[i] })).filter((z) => !offered.has(z.name));
    if (missing.length === 0) return { id, status: "ok", found: `${service} offered in every chosen AZ (${choice.names.join(", ")})` };
    const zones = facts.zones.ok ? facts.zones.value : [];
    const coveredUsable = usableZoneIds(settings.region, zones, settings.zoneRequirements)
      .filter((zid) => offered.has(zones.find((z) => z.zoneId === zid)?.name ?? ""));
    const alternative = coveredUsable.length >= settings.azCount
      ? `; to cover every AZ, pin zone IDs the service is offered in: ${pinCommand(settings.stack, coveredUsable.slice(0, settings.azCount), settings.pinnedZoneIds.length > 0)}`
      : "";
    return {
      id,
      status: "warn",
      found: `${service} is not offered in ${missing.map((z) => `${z.name} (${z.zoneId})`).join(", ")}: the endpoint will skip ${missing.length === 1 ? "that AZ" : "those AZs"}, and clients there reach it across AZs`,
      fix: `nothing to do if cross-AZ traffic is acceptable${alternative}`,
    };
  });
}

/** The interface endpoint services to look up: execute-api always, plus every one the stack creates. */
export function endpointServiceNames(region: string, needs: ProgramNeeds | undefined): string[] {
  return [...new Set([`com.amazonaws.${region}.execute-api`, ...(needs?.interfaceEndpointServices ?? [])])];
}

// ---------------------------------------------------------------- 7. ElastiCache

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function checkCacheEngine(settings: StackSettings, needs: ProgramNeeds, read: AccountFacts["engineVersions"]): CheckResult {
  const id = "elasticache-engine";
  const clusters = needs.cacheClusters.filter((c) => c.engine === "memcached");
  if (clusters.length === 0) return { id, status: "ok", found: "no memcached cluster in this stack" };
  if (!read.ok) return unreadable(id, read, "ElastiCache DescribeCacheEngineVersions");
  const offered = new Set(read.value);
  const missing = clusters.filter((c) => c.engineVersion !== undefined && !offered.has(c.engineVersion));
  if (missing.length === 0) {
    return { id, status: "ok", found: `memcached ${[...new Set(clusters.map((c) => c.engineVersion ?? "(default)"))].join(", ")} offered in ${settings.region}` };
  }
  const candidates = MEMCACHED_ENGINE_VERSIONS.filter((v) => offered.has(v)).sort(compareVersions);
  const best = candidates[candidates.length - 1];
  return {
    id,
    status: "FIX",
    found: `memcached ${missing.map((c) => c.engineVersion).join(", ")} is not offered in ${settings.region} (offered: ${[...offered].sort(compareVersions).join(", ") || "none"})`,
    fix: best
      ? configSet(settings.stack, "memcachedEngineVersion", best)
      : `no version config.ts accepts (${MEMCACHED_ENGINE_VERSIONS.join(", ")}) is offered here: choose another Region`,
  };
}

/** Standing advisory: node-type capacity per AZ cannot be asked for in advance. */
export function checkCacheCapacity(settings: StackSettings, needs: ProgramNeeds, choice: ZoneChoice | undefined): CheckResult {
  const id = "elasticache-capacity";
  const clusters = needs.cacheClusters;
  if (clusters.length === 0) return { id, status: "ok", found: "no cache cluster in this stack" };
  const where = choice ? ` in ${choice.names.join(", ")}` : "";
  return {
    id,
    status: "warn",
    found: `${clusters.map((c) => `${c.nodeType ?? "?"} x ${c.nodeCount}`).join(", ")}${where}: no AWS API tells in advance whether an AZ has capacity for a node type (pulumi up then fails with InsufficientCacheClusterCapacity)`,
    fix: `if it happens: pin other zone IDs (pulumi config set --path 'networkAvailabilityZoneIds[<i>]' <zone-id> --stack ${settings.stack}) or choose another node type (${configSet(settings.stack, "memcachedNodeType", "<type>")}, e.g. cache.t3.micro), then pulumi up again`,
  };
}

// ---------------------------------------------------------------- 8. API Gateway CloudWatch role

export function checkApiGatewayLogRole(settings: StackSettings, needs: ProgramNeeds, facts: Pick<AccountFacts, "apiGatewayAccount" | "cloudwatchRoleTags">): CheckResult {
  const id = "apigw-log-role";
  const { stack, region } = settings;
  if (!needs.accessLogs && !needs.managesApiGatewayAccount) return { id, status: "ok", found: "not needed: no stage writes access logs and the stack does not manage the role" };
  const account = facts.apiGatewayAccount;
  if (!account.ok) return unreadable(id, { ...account, action: `${account.action} on arn:aws:apigateway:${region}::/account` }, "API Gateway GetAccount");
  const role = account.value.cloudwatchRoleArn;
  const tags = facts.cloudwatchRoleTags;
  const owner = (t: Record<string, string>): string => (t.stack ? `tag stack=${t.stack}${t.project ? `, project=${t.project}` : ""}` : "no stack tag");
  if (needs.managesApiGatewayAccount) {
    if (!role) return { id, status: "ok", found: `no CloudWatch role set in ${region}; this stack will create and set it` };
    if (!tags) return { id, status: "warn", found: `the account's role is ${role}; not checked who owns it` };
    if (!tags.ok) return unreadable(id, tags, `IAM ListRoleTags on ${role}`);
    if (tags.value === null) return { id, status: "ok", found: `the account points at ${role}, which no longer exists; this stack will set its own` };
    if (tags.value.stack === stack && (tags.value.project ?? PROJECT) === PROJECT) return { id, status: "ok", found: `already set to this stack's role ${role}` };
    return {
      id,
      status: "warn",
      found: `the account's CloudWatch role in ${region} is ${role} (${owner(tags.value)}), set by something else: this stack will take the account setting over`,
      fix: `to keep the existing role: ${configSet(stack, "apiGatewayManageAccountLogRole", false)}`,
    };
  }
  if (!role) {
    return {
      id,
      status: "FIX",
      found: `access logs are on, the stack does not manage the account's CloudWatch role, and ${region} has none: the stage would fail ("CloudWatch Logs role ARN must be set in account settings to enable logging")`,
      fix: `${configSet(stack, "apiGatewayManageAccountLogRole", true)} (or set a role once for the account: docs/doctor.md, "apigw-log-role")`,
    };
  }
  if (!tags) return { id, status: "ok", found: `uses the account's role ${role}` };
  if (!tags.ok) return unreadable(id, tags, `IAM ListRoleTags on ${role}`);
  if (tags.value === null) {
    return {
      id,
      status: "FIX",
      found: `the account's CloudWatch role ${role} no longer exists: access logging would fail`,
      fix: `${configSet(stack, "apiGatewayManageAccountLogRole", true)} (or recreate the role: docs/doctor.md, "apigw-log-role")`,
    };
  }
  return { id, status: "ok", found: `uses the account's role ${role} (${owner(tags.value)})` };
}

/** The role name in an IAM role ARN (arn:aws:iam::1:role/path/name -> name). */
export function roleNameFromArn(arn: string): string | undefined {
  const m = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:.*\/)?([^/]+)$/.exec(arn);
  return m?.[1];
}

// ---------------------------------------------------------------- 9. Docker

/**
 * The platforms in `docker buildx inspect --bootstrap` output: the union of its `Platforms:` lines
 * (one per node of the current builder), without the "*" that marks platforms set by hand. Nothing
 * else is read: `docker buildx ls` abbreviates its lists since buildx 0.13 ("linux/amd64 (+2), ...
 * (2 more)") and lists every builder, stopped ones included, so it is not parsed at all.
 */
export function buildxPlatforms(inspectOutput: string): string[] {
  const platforms: string[] = [];
  for (const line of inspectOutput.split(/\r?\n/)) {
    const m = /^\s*Platforms:\s*(.*)$/.exec(line);
    if (!m) continue;
    for (const p of m[1].split(",")) {
      const platform = p.trim().replace(/\*$/, "");
      if (platform && !platforms.includes(platform)) platforms.push(platform);
    }
  }
  return platforms;
}

/** Whether the current builder can build `platform` (linux/arm64 also matches linux/arm64/v8). */
export function buildxSupports(inspectOutput: string, platform: string): boolean {
  return buildxPlatforms(inspectOutput).some((p) => p === platform || p.startsWith(`${platform}/`));
}

/** The command the doctor runs to read the current builder's platforms (booting it first if it is stopped). */
export const BUILDX_INSPECT = ["buildx", "inspect", "--bootstrap"] as const;

/** How to get a builder for `platform`, and the fargateArchitecture that builds on this machine instead. */
function howToBuild(stack: string, platform: string): string {
  if (platform === "linux/arm64") {
    return `${binfmtCommand("arm64")} (QEMU for arm64 builds on x86_64), or run pulumi up on an arm64 machine or runner (GitHub: ubuntu-24.04-arm), or ${configSet(stack, "fargateArchitecture", "X86_64")} to build for x86_64`;
  }
  if (platform === "linux/amd64") {
    return `${binfmtCommand("amd64")} (QEMU for amd64 builds on arm64), or run pulumi up on an x86_64 machine or runner (GitHub: ubuntu-24.04), or ${configSet(stack, "fargateArchitecture", "ARM64")} to build for arm64`;
  }
  return `install the QEMU binfmt handlers for ${platform} (docker run --privileged --rm tonistiigi/binfmt --install all)`;
}

/**
 * Whether the current buildx builder can build the stack's image platforms (linux/arm64 for
 * fargateArchitecture ARM64, linux/amd64 for X86_64). `stack` only shapes the advice.
 */
export function checkDocker(needs: ProgramNeeds, docker: ExecResult, stack = "<stack>"): CheckResult {
  const id = "docker";
  const platforms = needs.imagePlatforms;
  if (platforms.length === 0) return { id, status: "ok", found: "the stack builds no container image" };
  const how = (list: readonly string[]): string => list.map((p) => howToBuild(stack, p)).join("; and ");
  if (docker.kind === "missing") {
    return {
      id,
      status: "FIX",
      found: `docker is not on the PATH; pulumi up builds a ${platforms.join(", ")} image (awsx.ecr.Image) with it`,
      fix: `install Docker with the buildx plugin (https://docs.docker.com/engine/install/), then ${how(platforms)}`,
    };
  }
  const command = `docker ${BUILDX_INSPECT.join(" ")}`;
  if (docker.code !== 0) {
    const why = (docker.stderr || docker.stdout).trim().split("\n").filter(Boolean).slice(-1)[0] ?? `exit ${docker.code}`;
    return {
      id,
      status: "FIX",
      found: `${command} failed (exit ${docker.code}): ${why}`,
      fix: "start the Docker daemon and make sure buildx is installed (docker buildx version) and the current builder works (docker buildx use default), then run the doctor again",
    };
  }
  const offered = buildxPlatforms(docker.stdout);
  const missing = platforms.filter((p) => !buildxSupports(docker.stdout, p));
  if (missing.length === 0) return { id, status: "ok", found: `docker buildx can build ${platforms.join(", ")}` };
  return {
    id,
    status: "FIX",
    found: `the current buildx builder cannot build ${missing.join(", ")} (it offers ${offered.join(", ") || "no platforms"}); pulumi up would fail building the image (exec format error)`,
    fix: `${how(missing)}; then ${command} must list ${missing.join(", ")} under Platforms`,
  };
}

// ---------------------------------------------------------------- 10. Pulumi stack

export function checkPulumiStack(stack: string, pulumiStacks: ExecResult): CheckResult {
  const id = "pulumi-stack";
  if (pulumiStacks.kind === "missing") {
    return { id, status: "warn", found: "cannot check: the pulumi CLI is not on the PATH", fix: "install it (https://www.pulumi.com/docs/install/); pulumi up needs it anyway" };
  }
  if (pulumiStacks.code !== 0) {
    const why = (pulumiStacks.stderr || pulumiStacks.stdout).trim().split("\n").filter(Boolean).slice(-1)[0] ?? `exit ${pulumiStacks.code}`;
    return { id, status: "warn", found: `cannot check: pulumi stack ls --json failed (exit ${pulumiStacks.code}): ${why}`, fix: "pulumi login (the backend the stacks live in), then run the doctor again" };
  }
  let names: string[];
  try {
    const parsed: unknown = JSON.parse(pulumiStacks.stdout);
    if (!Array.isArray(parsed)) throw new Error("not a list");
    names = parsed.map((s) => String((s as { name?: unknown }).name ?? ""));
  } catch {
    return { id, status: "warn", found: "cannot check: pulumi stack ls --json did not print a JSON list" };
  }
  const match = names.find((n) => n === stack || n.endsWith(`/${stack}`));
  if (match) return { id, status: "ok", found: `stack ${match} exists in the current backend` };
  return {
    id,
    status: "FIX",
    found: `no stack ${stack} in the current backend${names.length > 0 ? ` (it has ${names.join(", ")})` : " (it has none)"}`,
    fix: `pulumi stack init ${stack} (Pulumi.${stack}.yaml is kept)`,
  };
}

// ---------------------------------------------------------------- 11. alarm e-mail

/** Whether anyone hears the stack's alarms: every alarm notifies one SNS topic, subscribed to alarmEmail when it is set. */
export function checkAlarmEmail(settings: Pick<StackSettings, "stack" | "alarmEmail">): CheckResult {
  const id = "alarm-email";
  const email = settings.alarmEmail?.trim();
  if (email) {
    return { id, status: "ok", found: `alarms notify ${email} (the first up makes AWS mail it a confirmation link; nothing is delivered until it is accepted)` };
  }
  return {
    id,
    status: "warn",
    found: "alarmEmail is empty: every alarm of the stack notifies an SNS topic with no subscriber, so nobody hears of them",
    fix: `${configSet(settings.stack, "alarmEmail", "you@example.com")}; AWS then mails a confirmation link that must be accepted (nothing is delivered before). Use an address that will: a subscription still pending confirmation cannot be deleted, by Pulumi or anyone (AWS drops it after 48 hours)`,
  };
}

// ---------------------------------------------------------------- all checks

/** Either what the program creates, or why it could not be counted. */
export type NeedsOutcome = { ok: true; needs: ProgramNeeds } | { ok: false; reason: string; status: Status; fix?: string };

/** Every check line, in the documented order (pure). */
export function runChecks(settings: StackSettings, needsOutcome: NeedsOutcome, facts: AccountFacts): CheckResult[] {
  const results: CheckResult[] = [checkCredentials(facts.identity), checkRegion(settings, facts.defaultRegion)];
  if (settings.configProblems.length > 0) {
    results.push({
      id: "config",
      status: "FIX",
      found: `config.ts rejects the stack's config: ${settings.configProblems.join("; ")}`,
      fix: `correct Pulumi.${settings.stack}.yaml (npm run plan -- --stack ${settings.stack} shows the same errors)`,
    });
  }
  const needs = needsOutcome.ok ? needsOutcome.needs : undefined;
  if (!needsOutcome.ok) {
    results.push({ id: "program", status: needsOutcome.status, found: needsOutcome.reason, ...(needsOutcome.fix ? { fix: needsOutcome.fix } : {}) });
  }
  const notCounted = (id: string): CheckResult => ({ id, status: "warn", found: "not checked: what the stack creates could not be counted (see above)" });
  results.push(needs ? checkLambdaConcurrency(settings, needs, facts.lambda, facts.lambdaReservations) : notCounted("lambda-concurrency"));
  results.push(needs ? checkElasticIps(settings, needs, facts) : notCounted("elastic-ips"));
  results.push(needs ? checkVpcs(settings, needs, facts) : notCounted("vpcs"));
  const zones = checkZones(settings, facts.zones);
  results.push(zones.result);
  results.push(...checkEndpointServices(settings, needs, zones.choice, facts));
  if (needs) {
    results.push(checkCacheEngine(settings, needs, facts.engineVersions));
    results.push(checkCacheCapacity(settings, needs, zones.choice));
    results.push(checkApiGatewayLogRole(settings, needs, facts));
    results.push(checkDocker(needs, facts.docker, settings.stack));
  } else {
    for (const id of ["elasticache-engine", "elasticache-capacity", "apigw-log-role", "docker"]) results.push(notCounted(id));
  }
  results.push(checkPulumiStack(settings.stack, facts.pulumiStacks));
  results.push(checkAlarmEmail(settings));
  return results;
}

/** 0 when every line is ok or warn, 1 when any says FIX. */
export function exitCode(results: readonly CheckResult[]): 0 | 1 {
  return results.some((r) => r.status === "FIX") ? 1 : 0;
}

/** One line per result: status, check, what was found, and the fix. */
export function renderLine(r: CheckResult): string {
  return `${r.status.padEnd(4)} ${r.id.padEnd(22)} ${r.found}${r.fix ? ` -> fix: ${r.fix}` : ""}`;
}

export function summary(results: readonly CheckResult[]): string {
  const count = (s: Status): number => results.filter((r) => r.status === s).length;
  return `${count("ok")} ok, ${count("warn")} warn, ${count("FIX")} FIX`;
}
