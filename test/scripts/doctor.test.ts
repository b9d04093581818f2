import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { APIGatewayClient, GetAccountCommand } from "@aws-sdk/client-api-gateway";
import {
  DescribeAddressesCommand,
  DescribeAvailabilityZonesCommand,
  DescribeVpcEndpointServicesCommand,
  DescribeVpcsCommand,
  EC2Client,
  type AvailabilityZone,
} from "@aws-sdk/client-ec2";
import { DescribeCacheEngineVersionsCommand, ElastiCacheClient } from "@aws-sdk/client-elasticache";
import { IAMClient, ListRoleTagsCommand } from "@aws-sdk/client-iam";
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient, ListFunctionsCommand, ListTagsCommand } from "@aws-sdk/client-lambda";
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand, ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { main, parseArgs, stackProgramNeeds, UsageError, type DoctorDeps, type Exec } from "../../scripts/doctor";
import {
  buildxPlatforms,
  buildxSupports,
  checkAlarmEmail,
  checkDocker,
  checkRegion,
  doctorPolicy,
  programNeeds,
  roleNameFromArn,
  type CheckResult,
  type ExecResult,
  type ProgramNeeds,
  type StackSettings,
} from "../../scripts/doctorChecks";
import { STACK_ZONE_REQUIREMENTS } from "../../config";
import { REPO_ROOT, stackConfig } from "../support/program";

// Every AWS call goes to these stubs (never to AWS): mockClient replaces `send` on every instance of
// the class, in the whole process. So they are installed only while this file's tests run (before)
// and removed after: other test files use the same clients against real loopback servers.
function stubs() {
  return {
    sts: mockClient(STSClient),
    lambda: mockClient(LambdaClient),
    ec2: mockClient(EC2Client),
    quotas: mockClient(ServiceQuotasClient),
    elasticache: mockClient(ElastiCacheClient),
    apigateway: mockClient(APIGatewayClient),
    iam: mockClient(IAMClient),
  };
}
let { sts, lambda, ec2, quotas, elasticache, apigateway, iam } = stubs();
let ALL_STUBS = [sts, lambda, ec2, quotas, elasticache, apigateway, iam];
for (const stub of ALL_STUBS) stub.restore(); // installed by the describe's before(), not at load time

const ACCOUNT = "123456789012";
const CREDS = { accessKeyId: "AKIDEXAMPLEDOCTOR", secretAccessKey: "doctor-secret-never-printed" };

type Zone = AvailabilityZone & { ZoneName: string; ZoneId: string };
const az = (name: string, id: string): Zone => ({ ZoneName: name, ZoneId: id, ZoneType: "availability-zone", OptInStatus: "opt-in-not-required", State: "available" });
/** A plain account: us-east-1a is use1-az1, and so on. */
const PLAIN_ZONES = ["a", "b", "c", "d", "e", "f"].map((l, i) => az(`us-east-1${l}`, `use1-az${i + 1}`));
/** An account whose us-east-1a is use1-az3 (no VPC link V2, no VPC Lambda), with an opted-in Local Zone that sorts first. */
const SHUFFLED_ZONES: Zone[] = [
  { ZoneName: "us-east-1-bos-1a", ZoneId: "use1-bos1-az1", ZoneType: "local-zone", OptInStatus: "opted-in", State: "available" },
  az("us-east-1a", "use1-az3"), az("us-east-1b", "use1-az6"), az("us-east-1c", "use1-az1"),
  az("us-east-1d", "use1-az4"), az("us-east-1e", "use1-az2"), az("us-east-1f", "use1-az5"),
];
const MEMCACHED_VERSIONS = ["1.4.34", "1.5.16", "1.6.6", "1.6.12", "1.6.17", "1.6.22"];
/** `docker buildx inspect --bootstrap` of the current builder (buildx >= 0.13 field names), x86_64 with QEMU for arm64. */
const BUILDX_ARM = [
  "Name:          default",
  "Driver:        docker",
  "Last Activity: 2026-11-30 09:12:44 +0000 UTC",
  "",
  "Nodes:",
  "Name:             default",
  "Endpoint:         default",
  "Status:           running",
  "BuildKit version: v0.17.3",
  "Platforms:        linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/arm64, linux/386",
  "Labels:",
  " org.mobyproject.buildkit.worker.moby.host-gateway-ip: 172.17.0.1",
].join("\n");
/** The same builder without binfmt handlers: amd64 only. */
const BUILDX_AMD_ONLY = BUILDX_ARM.replace(", linux/arm64", "");
/** An arm64 machine (Apple silicon, a Graviton runner) without QEMU: no linux/amd64. */
const BUILDX_ARM_ONLY = BUILDX_ARM.replace("linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/arm64, linux/386", "linux/arm64, linux/arm/v7, linux/arm/v6");
const DEV_TAGS = { project: "serverless-cache", stack: "dev" };

/** The healthy account: big quotas, nothing in use but the default VPC, every service in every AZ. */
function healthyAccount(zones: Zone[] = PLAIN_ZONES): void {
  for (const stub of ALL_STUBS) stub.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/alice`, UserId: "AIDAEXAMPLE" });
  lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
  lambda.on(ListFunctionsCommand).resolves({ Functions: [] });
  quotas.on(GetServiceQuotaCommand, { QuotaCode: "L-0263D0A3" }).resolves({ Quota: { QuotaCode: "L-0263D0A3", Value: 5 } });
  quotas.on(GetServiceQuotaCommand, { QuotaCode: "L-F678F1CE" }).resolves({ Quota: { QuotaCode: "L-F678F1CE", Value: 5 } });
  ec2.on(DescribeAddressesCommand).resolves({ Addresses: [] });
  ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: "vpc-default", IsDefault: true }] });
  ec2.on(DescribeAvailabilityZonesCommand).resolves({ AvailabilityZones: zones });
  endpointServicesOffered(zones.filter((z) => z.ZoneType === "availability-zone").map((z) => z.ZoneName));
  elasticache.on(DescribeCacheEngineVersionsCommand).resolves({ CacheEngineVersions: MEMCACHED_VERSIONS.map((v) => ({ Engine: "memcached", EngineVersion: v })) });
  apigateway.on(GetAccountCommand).resolves({});
}

/** Every endpoint service is offered in `names`, except what `missing` takes away per short service name. */
function endpointServicesOffered(names: string[], missing: Record<string, string[]> = {}): void {
  ec2.on(DescribeVpcEndpointServicesCommand).callsFake((input: { ServiceNames: string[] }) => {
    const service = input.ServiceNames[0];
    const short = service.split(".").slice(3).join(".");
    return { ServiceDetails: [{ ServiceName: service, ServiceType: [{ ServiceType: "Interface" }], AvailabilityZones: names.filter((n) => !(missing[short] ?? []).includes(n)) }] };
  });
}

function fakeExec(answers: { docker?: ExecResult; pulumi?: ExecResult } = {}): Exec & { calls: string[] } {
  const calls: string[] = [];
  const exec: Exec = async (file, args) => {
    calls.push([file, ...args].join(" "));
    if (file === "docker") {
      // Only the current builder, booted, is asked; `docker buildx ls` abbreviates platforms and lists stopped builders.
      if (args.join(" ") !== "buildx inspect --bootstrap") return { kind: "exited", code: 1, stdout: "", stderr: `fake exec: unexpected docker ${args.join(" ")}` };
      return answers.docker ?? { kind: "exited", code: 0, stdout: BUILDX_ARM, stderr: "" };
    }
    if (file === "pulumi") return answers.pulumi ?? { kind: "exited", code: 0, stdout: JSON.stringify([{ name: "dev", current: true }, { name: "prod", current: false }]), stderr: "" };
    throw new Error(`unexpected exec ${file}`);
  };
  return Object.assign(exec, { calls });
}

let DEV: ProgramNeeds;
let programRuns = 0;
/** dev pinned to use1-az1, use1-az2 whatever Pulumi.dev.yaml says, for assertions on zone names. */
const PIN_AZ1_AZ2 = ["--config", "networkAvailabilityZoneIds=[\"use1-az1\",\"use1-az2\"]", "--config", "networkAzCount=2"];

interface Child { code: number; stdout: string; stderr: string }

/** The real CLI (`npm run doctor` runs the same file) with every credential source empty. */
function runChildWithoutCredentials(dir: string): Promise<Child> {
  const empty = path.join(dir, "empty");
  fs.writeFileSync(empty, "");
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("AWS_") && !k.startsWith("PULUMI_")) env[k] = v;
  Object.assign(env, { HOME: dir, AWS_CONFIG_FILE: empty, AWS_SHARED_CREDENTIALS_FILE: empty, AWS_EC2_METADATA_DISABLED: "true" });
  return new Promise((resolve) => {
    execFile(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/doctor.ts", "--stack", "dev"], { cwd: REPO_ROOT, env, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }));
  });
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  results: CheckResult[];
  line(id: string): CheckResult;
}

/** main() in-process with --json, stubs for AWS, a fake exec and dev's real program needs (computed once). */
async function doctor(argv: string[], deps: Partial<DoctorDeps> & { needs?: ProgramNeeds } = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const { needs, ...rest } = deps;
  const code = await main([...argv, "--json"], {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    credentials: async () => CREDS,
    defaultRegion: async () => "us-east-1",
    exec: fakeExec(),
    programNeeds: async () => { programRuns += 1; return needs ?? DEV; },
    ...rest,
  });
  const stdout = out.join("\n");
  const stderr = err.join("\n");
  for (const text of [stdout, stderr]) assert.ok(!text.includes(CREDS.secretAccessKey) && !text.includes(CREDS.accessKeyId), "credentials never printed");
  const results = stdout ? (JSON.parse(stdout) as { results: CheckResult[] }).results : [];
  return {
    code, stdout, stderr, results,
    line(id: string): CheckResult {
      const found = results.find((r) => r.id === id);
      assert.ok(found, `no ${id} line in:\n${stderr}`);
      return found;
    },
  };
}

/** A config with alarmEmail set, so the alarm-email line is ok whatever Pulumi.dev.yaml says. */
const WITH_EMAIL = ["--config", "alarmEmail=ops@example.com"];

/** A deployed function of some stack, as ListFunctions lists it. */
const fn = (name: string): { FunctionName: string; FunctionArn: string } => ({ FunctionName: name, FunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}` });

/** The account's functions: name -> tags and reserved concurrency (undefined = none), listed `pageSize` per ListFunctions page. */
function deployedFunctions(functions: Record<string, { tags: Record<string, string>; reserved?: number }>, pageSize = 50): void {
  const names = Object.keys(functions);
  lambda.on(ListFunctionsCommand).callsFake((input: { Marker?: string }) => {
    const start = Number(input.Marker ?? 0);
    const next = start + pageSize;
    return { Functions: names.slice(start, next).map(fn), ...(next < names.length ? { NextMarker: String(next) } : {}) };
  });
  lambda.on(ListTagsCommand).callsFake((input: { Resource: string }) => ({ Tags: functions[input.Resource.split(":").pop()!].tags }));
  lambda.on(GetFunctionConcurrencyCommand).callsFake((input: { FunctionName: string }) => {
    const reserved = functions[input.FunctionName.split(":").pop()!].reserved;
    return reserved === undefined ? {} : { ReservedConcurrentExecutions: reserved };
  });
}

const devReserved = (): number => DEV.reservedConcurrency.reduce((s, f) => s + f.reserved, 0);

describe("npm run doctor", function () {
  this.timeout(60_000);

  let tmp: string;
  let child: Promise<Child>;
  before(async () => {
    ({ sts, lambda, ec2, quotas, elasticache, apigateway, iam } = stubs());
    ALL_STUBS = [sts, lambda, ec2, quotas, elasticache, apigateway, iam];
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "doctor-"));
    // The child process starts now and runs while dev's program runs here (keeps the file fast).
    child = runChildWithoutCredentials(tmp);
    // The real program for dev under mocks, once (~3-5 s): what the stack really creates.
    DEV = await stackProgramNeeds("dev", "us-east-1", {}, ["use1-az1", "use1-az2"]);
  });
  after(async () => {
    for (const stub of ALL_STUBS) stub.restore();
    await child;
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    healthyAccount();
    programRuns = 0;
  });

  describe("arguments", () => {
    it("--help prints the usage and exits 0; bad arguments name the flag and exit 2 without calling AWS", async () => {
      const help = await main(["--help"], { stdout: (l) => assert.match(l, /usage: npm run doctor -- --stack <name>/), stderr: () => assert.fail("no stderr") });
      assert.equal(help, 0);
      assert.throws(() => parseArgs([]), (e: Error) => e instanceof UsageError && /--stack is required; allowed: dev, prod/.test(e.message));
      assert.throws(() => parseArgs(["--stack", "dev", "--config", "nope=1"]), /--config nope: not a config key of this project/);
      assert.throws(() => parseArgs(["--stack", "dev", "--timeout-ms", "fast"]), /--timeout-ms "fast" must be a whole number/);
      assert.throws(() => parseArgs(["--stack", "dev", "--json=yes"]), /--json takes no value/);
      assert.throws(() => parseArgs(["--stack"]), /--stack needs a value/);
      assert.deepEqual(parseArgs(["--stack=prod", "--config", "networkAzCount=3", "--json"]), { stack: "prod", overrides: { networkAzCount: "3" }, json: true, timeoutMs: 8000 });
      const unknown = await doctor(["--stack", "staging"]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /doctor: --stack staging: unknown stack "staging".*allowed: dev, prod/);
      assert.equal(sts.calls().length, 0);
    });
  });

  describe("what the stack needs (the real program under mocks)", () => {
    it("counts dev's reservations, EIPs, VPCs, endpoints, log role, image platform and cache cluster", () => {
      const config = stackConfig("dev");
      const expectedReserved = Number(config["serverless-cache:cacheFunctionReservedConcurrency"]) + Number(config["serverless-cache:apiFunctionReservedConcurrency"]) + 1;
      assert.equal(devReserved(), expectedReserved, JSON.stringify(DEV.reservedConcurrency));
      assert.equal(DEV.elasticIps, config["serverless-cache:networkNatMode"] === "perAz" ? Number(config["serverless-cache:networkAzCount"]) : 1);
      assert.equal(DEV.vpcs, 1);
      assert.ok(DEV.interfaceEndpointServices.includes("com.amazonaws.us-east-1.execute-api"), DEV.interfaceEndpointServices.join());
      assert.equal(DEV.accessLogs, true);
      assert.equal(DEV.managesApiGatewayAccount, config["serverless-cache:apiGatewayManageAccountLogRole"] === "true");
      assert.deepEqual(DEV.imagePlatforms, ["linux/arm64"]);
      assert.deepEqual(DEV.cacheClusters.map((c) => [c.engine, c.engineVersion, c.nodeType]),
        [["memcached", config["serverless-cache:memcachedEngineVersion"], config["serverless-cache:memcachedNodeType"]]]);
    });

    it("programNeeds reads hand-made resources the same way (pure)", () => {
      const needs = programNeeds([
        { type: "aws:lambda/function:Function", name: "a", inputs: { reservedConcurrentExecutions: 5 } },
        { type: "aws:lambda/function:Function", name: "b", inputs: {} },
        { type: "aws:ec2/eip:Eip", name: "e1", inputs: {} },
        { type: "aws:ec2/vpcEndpoint:VpcEndpoint", name: "s3", inputs: { vpcEndpointType: "Gateway", serviceName: "com.amazonaws.eu-west-1.s3" } },
        { type: "aws:ec2/vpcEndpoint:VpcEndpoint", name: "logs", inputs: { vpcEndpointType: "Interface", serviceName: "com.amazonaws.eu-west-1.logs" } },
        { type: "aws:ecs/taskDefinition:TaskDefinition", name: "t", inputs: { runtimePlatform: { cpuArchitecture: "X86_64" } } },
        { type: "aws:apigateway/stage:Stage", name: "s", inputs: {} },
      ]);
      assert.deepEqual(needs.reservedConcurrency, [{ name: "a", reserved: 5 }]);
      assert.equal(needs.elasticIps, 1);
      assert.deepEqual(needs.interfaceEndpointServices, ["com.amazonaws.eu-west-1.logs"]);
      assert.deepEqual(needs.imagePlatforms, ["linux/amd64"]);
      assert.equal(needs.accessLogs, false);
      assert.equal(needs.managesApiGatewayAccount, false);
    });
  });

  describe("against a mocked account", () => {
    it("healthy account: every check ok (the standing cache-capacity advisory is warn), exit 0", async () => {
      const r = await doctor(["--stack", "dev", ...WITH_EMAIL]);
      assert.equal(r.code, 0, r.stderr);
      const notOk = r.results.filter((x) => x.status !== "ok").map((x) => x.id);
      assert.deepEqual(notOk, ["elasticache-capacity"], r.stderr);
      assert.equal(r.line("elasticache-capacity").status, "warn");
      assert.match(r.line("elasticache-capacity").fix!, /InsufficientCacheClusterCapacity|networkAvailabilityZoneIds/);
      assert.match(r.line("credentials").found, /account 123456789012 as arn:aws:iam::123456789012:user\/alice/);
      assert.match(r.line("zones").found, /^pinned use1-az\d \(us-east-1[a-f]\), use1-az\d \(us-east-1[a-f]\)/);
      const endpoints = [...new Set(["execute-api", ...DEV.interfaceEndpointServices.map((n) => n.split(".").slice(3).join("."))])].map((n) => `endpoint:${n}`);
      assert.deepEqual(r.results.map((x) => x.id), [
        "credentials", "region", "lambda-concurrency", "elastic-ips", "vpcs", "zones", ...endpoints,
        "elasticache-engine", "elasticache-capacity", "apigw-log-role", "docker", "pulumi-stack", "alarm-email",
      ]);
      // The zones are read with the filters that keep Local and Wavelength Zones out.
      const [azCall] = ec2.commandCalls(DescribeAvailabilityZonesCommand);
      assert.deepEqual(azCall.args[0].input.Filters, [
        { Name: "zone-type", Values: ["availability-zone"] },
        { Name: "opt-in-status", Values: ["opt-in-not-required"] },
      ]);
      assert.equal(quotas.commandCalls(GetServiceQuotaCommand, { ServiceCode: "ec2", QuotaCode: "L-0263D0A3" }).length, 1);
      assert.equal(quotas.commandCalls(GetServiceQuotaCommand, { ServiceCode: "vpc", QuotaCode: "L-F678F1CE" }).length, 1);
      assert.equal(programRuns, 1);
      // The human lines go to stderr with --json; without it, to stdout, one line per check.
      assert.match(r.stderr, /^ok {3}lambda-concurrency +account quota 1000, unreserved 1000; this stack reserves/m);
      const lines: string[] = [];
      const code = await main(["--stack", "dev", ...WITH_EMAIL], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(`ERR ${l}`), credentials: async () => CREDS, defaultRegion: async () => undefined, exec: fakeExec(), programNeeds: async () => DEV });
      assert.equal(code, 0);
      assert.equal(lines.filter((l) => /^(ok|warn|FIX) /.test(l)).length, 12 + endpoints.length);
      assert.match(lines.join("\n"), /^ok {3}region +us-east-1 \(no default region set; aws:region is used\)/m);
      assert.equal(lines[lines.length - 1], `${11 + endpoints.length} ok, 1 warn, 0 FIX; exit 0`);
      // A first run of a stack finds none of its functions deployed: nothing is added back.
      assert.equal(lambda.commandCalls(ListFunctionsCommand).length, 2);
      assert.equal(lambda.commandCalls(ListTagsCommand).length + lambda.commandCalls(GetFunctionConcurrencyCommand).length, 0);
      assert.equal(quotas.commandCalls(GetAWSDefaultServiceQuotaCommand).length, 0, "the AWS default is only asked for when the applied quota cannot be read");
    });

    it("new account with a concurrency quota of 50: FIX with the exact quota request and the number needed", async () => {
      lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 50, UnreservedConcurrentExecutions: 50 } });
      const r = await doctor(["--stack", "dev"]);
      assert.equal(r.code, 1);
      const line = r.line("lambda-concurrency");
      const needed = 50 + 100 - (50 - devReserved()); // quota + (100 - what would be left)
      assert.equal(line.status, "FIX");
      assert.match(line.found, new RegExp(`quota 50, unreserved 50; this stack reserves ${devReserved()} .*leave ${50 - devReserved()} unreserved.*at least ${needed}`));
      assert.equal(line.fix, `aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value ${needed} --region us-east-1`);
    });

    it("an already-deployed stack: its current reservations are added back, not counted twice", async () => {
      // dev is deployed (its reservations already taken from the unreserved pool), next to a prod function and an untagged one.
      const deployed: Record<string, { tags: Record<string, string>; reserved?: number }> = {};
      DEV.reservedConcurrency.forEach((f, i) => { deployed[`${f.name}-${i}a1b2c3`] = { tags: DEV_TAGS, reserved: f.reserved }; });
      deployed["dev-log-shipper-77aa"] = { tags: DEV_TAGS }; // one of this stack's functions without a reservation
      deployed["svc-prod-api-9f9f"] = { tags: { project: "serverless-cache", stack: "prod" }, reserved: 5 };
      deployed["someone-else"] = { tags: {}, reserved: 3 };
      const quota = devReserved() + 5 + 3 + 110; // 110 unreserved today
      lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: quota, UnreservedConcurrentExecutions: 110 } });
      deployedFunctions(deployed, 2);
      const r = await doctor(["--stack", "dev"]);
      const line = r.line("lambda-concurrency");
      assert.equal(line.status, "ok", `${line.found} -> ${line.fix}`);
      assert.match(line.found, new RegExp(`unreserved 110; this stack's deployed functions already reserve ${devReserved()} .*, added back; this stack reserves ${devReserved()} .*leaving 110 unreserved`));
      // Every page of ListFunctions is read, every function's tags, and the concurrency of this stack's functions only.
      assert.equal(lambda.commandCalls(ListFunctionsCommand).length, Math.ceil(Object.keys(deployed).length / 2));
      assert.equal(lambda.commandCalls(ListTagsCommand).length, Object.keys(deployed).length);
      assert.deepEqual(lambda.commandCalls(GetFunctionConcurrencyCommand).map((c) => c.args[0].input.FunctionName).sort(),
        Object.keys(deployed).filter((n) => deployed[n].tags.stack === "dev").map((n) => fn(n).FunctionArn).sort());
      // A config that raises the reservations by 20 needs 20 more than the deployed ones leave.
      const raised = { ...DEV, reservedConcurrency: DEV.reservedConcurrency.map((f, i) => (i === 0 ? { ...f, reserved: f.reserved + 20 } : f)) };
      const more = await doctor(["--stack", "dev"], { needs: raised });
      assert.equal(more.line("lambda-concurrency").status, "FIX");
      assert.match(more.line("lambda-concurrency").found, /would leave 90 unreserved/);
      assert.equal(more.line("lambda-concurrency").fix!.split(" (or ")[0], `aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value ${quota + 10} --region us-east-1`);
    });

    it("this stack's functions cannot be read: the reservations are not added back, and the line names the IAM action", async () => {
      const denied = (action: string): Error => Object.assign(new Error(`User: alice is not authorized to perform: ${action}`), { name: "AccessDeniedException", $metadata: { httpStatusCode: 403 } });
      deployedFunctions({ "svc-dev-api-1a2b": { tags: DEV_TAGS, reserved: 10 } });
      lambda.on(ListTagsCommand).rejects(denied("lambda:ListTags"));
      const r = await doctor(["--stack", "dev"]);
      assert.equal(r.code, 0, r.stderr);
      const line = r.line("lambda-concurrency");
      assert.equal(line.status, "warn");
      assert.match(line.found, /leaving \d+ unreserved.*lambda:ListTags was denied/);
      assert.match(line.fix!, /^allow lambda:ListTags /);
      // Still a FIX when the account is short even so; the line says the count may include this stack twice.
      lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 50, UnreservedConcurrentExecutions: 50 } });
      lambda.on(ListFunctionsCommand).rejects(denied("lambda:ListFunctions"));
      const short = await doctor(["--stack", "dev"]);
      assert.equal(short.line("lambda-concurrency").status, "FIX");
      assert.match(short.line("lambda-concurrency").found, /lambda:ListFunctions was denied/);
      assert.match(short.line("lambda-concurrency").fix!, /--desired-value \d+ --region us-east-1.*allow lambda:ListFunctions/);
      lambda.on(ListFunctionsCommand).resolves({ Functions: [fn("svc-dev-api-1a2b")] });
      lambda.on(ListTagsCommand).resolves({ Tags: DEV_TAGS });
      lambda.on(GetFunctionConcurrencyCommand).rejects(denied("lambda:GetFunctionConcurrency"));
      const noConcurrency = await doctor(["--stack", "dev"]);
      assert.match(noConcurrency.line("lambda-concurrency").found, /lambda:GetFunctionConcurrency was denied/);
    });

    it("Elastic IP quota exhausted: FIX with the quota request; this stack's own addresses are not counted twice", async () => {
      ec2.on(DescribeAddressesCommand).resolves({ Addresses: Array.from({ length: 5 }, (_, i) => ({ AllocationId: `eipalloc-${i}` })) });
      const r = await doctor(["--stack", "dev"]);
      assert.equal(r.code, 1);
      const line = r.line("elastic-ips");
      assert.equal(line.status, "FIX");
      assert.match(line.found, new RegExp(`EC2-VPC Elastic IPs quota 5; 5 in use; this stack adds ${DEV.elasticIps} -> ${5 + DEV.elasticIps}`));
      assert.match(line.fix!, new RegExp(`^aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-0263D0A3 --desired-value ${5 + DEV.elasticIps} --region us-east-1 \\(or release unused addresses`));
      // The same account after this stack's own address exists (tagged by aws:defaultTags): nothing more is added.
      ec2.on(DescribeAddressesCommand).resolves({ Addresses: [
        ...Array.from({ length: 5 - DEV.elasticIps }, (_, i) => ({ AllocationId: `eipalloc-${i}` })),
        ...Array.from({ length: DEV.elasticIps }, (_, i) => ({ AllocationId: `eipalloc-own-${i}`, Tags: [{ Key: "project", Value: "serverless-cache" }, { Key: "stack", Value: "dev" }] })),
      ] });
      const again = await doctor(["--stack", "dev"]);
      assert.equal(again.line("elastic-ips").status, "ok", again.line("elastic-ips").found);
    });

    it("VPC quota: the default VPC plus 4 others leave no room for this stack's VPC", async () => {
      ec2.on(DescribeVpcsCommand).resolves({ Vpcs: Array.from({ length: 5 }, (_, i) => ({ VpcId: `vpc-${i}` })) });
      const r = await doctor(["--stack", "dev"]);
      assert.equal(r.line("vpcs").status, "FIX");
      assert.match(r.line("vpcs").fix!, /--service-code vpc --quota-code L-F678F1CE --desired-value 6 --region us-east-1/);
    });

    it("AccessDenied on Service Quotas: warn naming servicequotas:GetServiceQuota, the default 5 is used", async () => {
      quotas.on(GetServiceQuotaCommand).rejects(Object.assign(new Error("User: arn:aws:iam::123456789012:user/alice is not authorized to perform: servicequotas:GetServiceQuota"), { name: "AccessDeniedException", $metadata: { httpStatusCode: 400 } }));
      const r = await doctor(["--stack", "dev"]);
      assert.equal(r.code, 0, r.stderr);
      for (const id of ["elastic-ips", "vpcs"]) {
        const line = r.line(id);
        assert.equal(line.status, "warn");
        assert.match(line.found, /quota 5 \(the real quota is unknown: servicequotas:GetServiceQuota was denied, so the default 5 is assumed/);
      }
      // Still a FIX when even the default is exceeded.
      ec2.on(DescribeAddressesCommand).resolves({ Addresses: Array.from({ length: 5 }, (_, i) => ({ AllocationId: `eipalloc-${i}` })) });
      const full = await doctor(["--stack", "dev"]);
      assert.equal(full.line("elastic-ips").status, "FIX");
      assert.match(full.line("elastic-ips").found, /the default 5 is assumed/);
    });

    it("GetServiceQuota fails otherwise (NoSuchResourceException): the AWS default quota is read, then the built-in default", async () => {
      const noSuch = Object.assign(new Error("The request failed because the specified quota does not exist."), { name: "NoSuchResourceException", $metadata: { httpStatusCode: 400 } });
      quotas.on(GetServiceQuotaCommand, { QuotaCode: "L-0263D0A3" }).rejects(noSuch);
      quotas.on(GetAWSDefaultServiceQuotaCommand, { ServiceCode: "ec2", QuotaCode: "L-0263D0A3" }).resolves({ Quota: { QuotaCode: "L-0263D0A3", Value: 7 } });
      const r = await doctor(["--stack", "dev"]);
      assert.equal(r.code, 0, r.stderr);
      const line = r.line("elastic-ips");
      assert.equal(line.status, "ok", `${line.found} -> ${line.fix}`);
      assert.match(line.found, /^EC2-VPC Elastic IPs quota 7 \(the AWS default: this account has no applied value \(NoSuchResourceException\)\); 0 in use/);
      assert.equal(quotas.commandCalls(GetAWSDefaultServiceQuotaCommand, { ServiceCode: "ec2", QuotaCode: "L-0263D0A3" }).length, 1);
      assert.equal(quotas.commandCalls(GetAWSDefaultServiceQuotaCommand, { QuotaCode: "L-F678F1CE" }).length, 0);
      // A service error, with the AWS default readable: that default, but warn (the applied value may differ).
      quotas.on(GetServiceQuotaCommand, { QuotaCode: "L-0263D0A3" }).rejects(Object.assign(new Error("internal"), { name: "ServiceException", $metadata: { httpStatusCode: 500 } }));
      const flaky = await doctor(["--stack", "dev"]);
      assert.equal(flaky.line("elastic-ips").status, "warn");
      assert.match(flaky.line("elastic-ips").found, /quota 7 \(the applied quota could not be read \(ServiceException: internal\), so the AWS default 7 is assumed\)/);
      // Both fail: the built-in default, as before.
      quotas.on(GetAWSDefaultServiceQuotaCommand).rejects(Object.assign(new Error("User: alice is not authorized to perform: servicequotas:GetAWSDefaultServiceQuota"), { name: "AccessDeniedException" }));
      const none = await doctor(["--stack", "dev"]);
      assert.equal(none.line("elastic-ips").status, "warn");
      assert.match(none.line("elastic-ips").found, /quota 5 \(the real quota is unknown: servicequotas:GetAWSDefaultServiceQuota was denied, so the default 5 is assumed/);
      assert.match(none.line("elastic-ips").fix!, /^allow servicequotas:GetAWSDefaultServiceQuota/);
    });

    it("every other read denied: a warn naming the IAM action for each, never a crash", async () => {
      const denied = (action: string): Error => Object.assign(new Error(`not authorized to perform: ${action}`), { name: "AccessDeniedException", $metadata: { httpStatusCode: 403 } });
      lambda.on(GetAccountSettingsCommand).rejects(denied("lambda:GetAccountSettings"));
      ec2.on(DescribeAddressesCommand).rejects(Object.assign(new Error("You are not authorized to perform this operation."), { name: "UnauthorizedOperation" }));
      ec2.on(DescribeVpcsCommand).rejects(Object.assign(new Error("You are not authorized to perform this operation."), { name: "UnauthorizedOperation" }));
      ec2.on(DescribeVpcEndpointServicesCommand).rejects(Object.assign(new Error("You are not authorized to perform this operation."), { name: "UnauthorizedOperation" }));
      elasticache.on(DescribeCacheEngineVersionsCommand).rejects(Object.assign(new Error("not authorized"), { name: "AccessDenied" }));
      apigateway.on(GetAccountCommand).rejects(denied("apigateway:GET"));
      const r = await doctor(["--stack", "dev"]);
      assert.equal(r.code, 0, r.stderr);
      const expected: Record<string, string> = {
        "lambda-concurrency": "lambda:GetAccountSettings",
        "elastic-ips": "ec2:DescribeAddresses",
        vpcs: "ec2:DescribeVpcs",
        "endpoint:execute-api": "ec2:DescribeVpcEndpointServices",
        "elasticache-engine": "elasticache:DescribeCacheEngineVersions",
        "apigw-log-role": "apigateway:GET on arn:aws:apigateway:us-east-1::/account",
      };
      for (const [id, action] of Object.entries(expected)) {
        const line = r.line(id);
        assert.equal(line.status, "warn", id);
        assert.ok(line.found.includes(`(${action})`), `${id}: ${line.found}`);
        assert.match(line.fix!, new RegExp(`^allow ${action.split(" ")[0]}`));
      }
      ec2.on(DescribeAvailabilityZonesCommand).rejects(Object.assign(new Error("You are not authorized to perform this operation."), { name: "UnauthorizedOperation" }));
      const noZones = await doctor(["--stack", "dev"]);
      assert.equal(noZones.line("zones").status, "warn");
      assert.match(noZones.line("zones").found, /\(ec2:DescribeAvailabilityZones\)/);
    });

    it("us-east-1a is use1-az3 and a Local Zone is opted in: unpinned, the doctor picks supported zone IDs and prints the pin command", async () => {
      healthyAccount(SHUFFLED_ZONES);
      const r = await doctor(["--stack", "dev", "--config", "networkAvailabilityZoneIds=[]", "--config", "networkAzCount=2"]);
      assert.equal(r.code, 0, r.stderr);
      const line = r.line("zones");
      assert.equal(line.status, "warn");
      assert.match(line.found, /^not pinned: pulumi would choose use1-az1 \(us-east-1c\), use1-az2 \(us-east-1e\)/);
      assert.match(line.found, /left out us-east-1a = use1-az3/);
      assert.match(line.found, /ignored us-east-1-bos-1a \(not Availability Zones\)/);
      assert.equal(line.fix, "pulumi config set --path 'networkAvailabilityZoneIds[0]' use1-az1 --stack dev && pulumi config set --path 'networkAvailabilityZoneIds[1]' use1-az2 --stack dev");
      assert.equal(r.line("endpoint:execute-api").status, "ok");
      assert.match(r.line("elasticache-capacity").found, /in us-east-1c, us-east-1e/);
    });

    it("a pinned unsupported zone ID: FIX for the zones (with the replacement pin command) and for the config", async () => {
      healthyAccount(SHUFFLED_ZONES);
      const r = await doctor(["--stack", "dev", "--config", "networkAvailabilityZoneIds=[\"use1-az1\",\"use1-az3\"]", "--config", "networkAzCount=2"]);
      assert.equal(r.code, 1);
      const zones = r.line("zones");
      assert.equal(zones.status, "FIX");
      assert.match(zones.found, /pinned use1-az1, use1-az3: .*use1-az3/);
      assert.equal(zones.fix, "pulumi config rm networkAvailabilityZoneIds --stack dev && pulumi config set --path 'networkAvailabilityZoneIds[0]' use1-az1 --stack dev && pulumi config set --path 'networkAvailabilityZoneIds[1]' use1-az2 --stack dev");
      assert.equal(r.line("config").status, "FIX");
      assert.match(r.line("config").found, /serverless-cache:networkAvailabilityZoneIds = "use1-az3": cannot be used/);
      assert.equal(programRuns, 0, "the program is not run with an invalid config");
      assert.equal(r.line("lambda-concurrency").status, "warn");
    });

    it("a pinned zone ID this account does not have: FIX naming it", async () => {
      healthyAccount(PLAIN_ZONES.filter((z) => z.ZoneId !== "use1-az2"));
      const r = await doctor(["--stack", "dev", ...PIN_AZ1_AZ2]);
      assert.equal(r.code, 1);
      assert.equal(r.line("zones").status, "FIX");
      assert.match(r.line("zones").found, /use1-az2 is not an available Availability Zone of this account in us-east-1/);
      assert.match(r.line("zones").fix!, /'networkAvailabilityZoneIds\[1\]' use1-az4 --stack dev$/);
    });

    it("execute-api missing in one chosen AZ: warn naming the AZ the endpoint will skip", async () => {
      endpointServicesOffered(PLAIN_ZONES.map((z) => z.ZoneName), { "execute-api": ["us-east-1b"] });
      const r = await doctor(["--stack", "dev", ...PIN_AZ1_AZ2]);
      assert.equal(r.code, 0, r.stderr);
      const line = r.line("endpoint:execute-api");
      assert.equal(line.status, "warn");
      assert.match(line.found, /com\.amazonaws\.us-east-1\.execute-api is not offered in us-east-1b \(use1-az2\): the endpoint will skip that AZ/);
      assert.equal(ec2.commandCalls(DescribeVpcEndpointServicesCommand, { ServiceNames: ["com.amazonaws.us-east-1.execute-api"] }).length, 1);
    });

    it("an interface endpoint service the Region does not have: FIX", async () => {
      ec2.on(DescribeVpcEndpointServicesCommand).rejects(Object.assign(new Error("The Vpc Endpoint Service 'com.amazonaws.us-east-1.execute-api' does not exist"), { name: "InvalidServiceName" }));
      const r = await doctor(["--stack", "dev"]);
      assert.equal(r.line("endpoint:execute-api").status, "FIX");
    });

    it("the configured memcached version is not offered: FIX with the config command", async () => {
      elasticache.on(DescribeCacheEngineVersionsCommand).resolves({ CacheEngineVersions: ["1.6.6", "1.6.12", "1.6.17"].map((v) => ({ Engine: "memcached", EngineVersion: v })) });
      const r = await doctor(["--stack", "dev"]);
      assert.equal(r.code, 1);
      const line = r.line("elasticache-engine");
      assert.equal(line.status, "FIX");
      assert.match(line.found, /memcached 1\.6\.22 is not offered in us-east-1 \(offered: 1\.6\.6, 1\.6\.12, 1\.6\.17\)/);
      assert.equal(line.fix, "pulumi config set memcachedEngineVersion 1.6.17 --stack dev");
    });

    it("no API Gateway CloudWatch role, access logs on, role not managed: FIX", async () => {
      const r = await doctor(["--stack", "dev", "--config", "apiGatewayManageAccountLogRole=false"], { needs: { ...DEV, managesApiGatewayAccount: false, accessLogs: true } });
      assert.equal(r.code, 1);
      const line = r.line("apigw-log-role");
      assert.equal(line.status, "FIX");
      assert.match(line.found, /CloudWatch Logs role ARN must be set in account settings/);
      assert.match(line.fix!, /^pulumi config set apiGatewayManageAccountLogRole true --stack dev/);
      assert.equal(iam.calls().length, 0);
      // An existing role that was deleted is a FIX too; an existing live role is fine.
      apigateway.on(GetAccountCommand).resolves({ cloudwatchRoleArn: `arn:aws:iam::${ACCOUNT}:role/gone` });
      iam.on(ListRoleTagsCommand).rejects(Object.assign(new Error("The role with name gone cannot be found."), { name: "NoSuchEntityException" }));
      const gone = await doctor(["--stack", "dev"], { needs: { ...DEV, managesApiGatewayAccount: false } });
      assert.equal(gone.line("apigw-log-role").status, "FIX");
      iam.on(ListRoleTagsCommand).resolves({ Tags: [] });
      const live = await doctor(["--stack", "dev"], { needs: { ...DEV, managesApiGatewayAccount: false } });
      assert.equal(live.line("apigw-log-role").status, "ok");
    });

    it("the account's role belongs to another stack (or to nobody): warn that this stack takes it over", async () => {
      const roleArn = `arn:aws:iam::${ACCOUNT}:role/api-prod-apigw-logs-7f3a`;
      apigateway.on(GetAccountCommand).resolves({ cloudwatchRoleArn: roleArn });
      iam.on(ListRoleTagsCommand).resolves({ Tags: [{ Key: "project", Value: "serverless-cache" }, { Key: "stack", Value: "prod" }], IsTruncated: false });
      const r = await doctor(["--stack", "dev"], { needs: { ...DEV, managesApiGatewayAccount: true } });
      assert.equal(r.code, 0, r.stderr);
      const line = r.line("apigw-log-role");
      assert.equal(line.status, "warn");
      assert.match(line.found, /api-prod-apigw-logs-7f3a \(tag stack=prod, project=serverless-cache\), set by something else: this stack will take the account setting over/);
      assert.equal(line.fix, "to keep the existing role: pulumi config set apiGatewayManageAccountLogRole false --stack dev");
      assert.equal(iam.commandCalls(ListRoleTagsCommand, { RoleName: "api-prod-apigw-logs-7f3a" }).length, 1);
      iam.on(ListRoleTagsCommand).resolves({ Tags: [] });
      const untagged = await doctor(["--stack", "dev"], { needs: { ...DEV, managesApiGatewayAccount: true } });
      assert.equal(untagged.line("apigw-log-role").status, "warn");
      assert.match(untagged.line("apigw-log-role").found, /no stack tag/);
      iam.on(ListRoleTagsCommand).resolves({ Tags: [{ Key: "project", Value: "serverless-cache" }, { Key: "stack", Value: "dev" }] });
      const own = await doctor(["--stack", "dev"], { needs: { ...DEV, managesApiGatewayAccount: true } });
      assert.equal(own.line("apigw-log-role").status, "ok");
    });

    it("no docker, a daemon that is down, or no arm64 builder: FIX with how to get one", async () => {
      const missing = await doctor(["--stack", "dev"], { exec: fakeExec({ docker: { kind: "missing" } }) });
      assert.equal(missing.code, 1);
      assert.equal(missing.line("docker").status, "FIX");
      assert.match(missing.line("docker").found, /docker is not on the PATH; pulumi up builds a linux\/arm64 image/);
      const down = await doctor(["--stack", "dev"], { exec: fakeExec({ docker: { kind: "exited", code: 1, stdout: "", stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" } }) });
      assert.equal(down.line("docker").status, "FIX");
      assert.match(down.line("docker").found, /Cannot connect to the Docker daemon/);
      const exec = fakeExec({ docker: { kind: "exited", code: 0, stdout: BUILDX_AMD_ONLY, stderr: "" } });
      const noArm = await doctor(["--stack", "dev"], { exec });
      assert.equal(noArm.line("docker").status, "FIX");
      assert.match(noArm.line("docker").found, /^the current buildx builder cannot build linux\/arm64 \(it offers linux\/amd64, linux\/amd64\/v2, linux\/amd64\/v3, linux\/386\)/);
      assert.match(noArm.line("docker").fix!, /^docker run --privileged --rm tonistiigi\/binfmt --install arm64 .*arm64 (machine|runner)/);
      assert.deepEqual(exec.calls, ["docker buildx inspect --bootstrap", "pulumi stack ls --json"]);
      // The builder cannot boot (a docker-container builder whose container is gone): FIX with what docker said.
      const broken = await doctor(["--stack", "dev"], { exec: fakeExec({ docker: { kind: "exited", code: 1, stdout: "", stderr: "ERROR: failed to find driver \"docker-container\"" } }) });
      assert.equal(broken.line("docker").status, "FIX");
      assert.match(broken.line("docker").found, /^docker buildx inspect --bootstrap failed \(exit 1\): ERROR: failed to find driver/);
    });

    it("fargateArchitecture X86_64: the docker check asks for linux/amd64 and says how to get it", async () => {
      const x86 = await stackProgramNeeds("dev", "us-east-1", { fargateArchitecture: "X86_64" }, ["use1-az1", "use1-az2"]);
      assert.deepEqual(x86.imagePlatforms, ["linux/amd64"]);
      assert.deepEqual(parseArgs(["--stack", "dev", "--config", "fargateArchitecture=X86_64"]), { stack: "dev", overrides: { fargateArchitecture: "X86_64" }, json: false, timeoutMs: 8000 });
      const onArm = await doctor(["--stack", "dev", "--config", "fargateArchitecture=X86_64"], { needs: x86, exec: fakeExec({ docker: { kind: "exited", code: 0, stdout: BUILDX_ARM_ONLY, stderr: "" } }) });
      const line = onArm.line("docker");
      assert.equal(line.status, "FIX");
      assert.match(line.found, /^the current buildx builder cannot build linux\/amd64 \(it offers linux\/arm64, linux\/arm\/v7, linux\/arm\/v6\)/);
      assert.match(line.fix!, /^docker run --privileged --rm tonistiigi\/binfmt --install amd64 \(QEMU for amd64 builds on arm64\), or run pulumi up on an x86_64 machine or runner/);
      assert.match(line.fix!, /or pulumi config set fargateArchitecture ARM64 --stack dev/);
      const onX86 = await doctor(["--stack", "dev"], { needs: x86, exec: fakeExec({ docker: { kind: "exited", code: 0, stdout: BUILDX_AMD_ONLY, stderr: "" } }) });
      assert.equal(onX86.line("docker").status, "ok");
      assert.equal(onX86.line("docker").found, "docker buildx can build linux/amd64");
      // ARM64 (the default) on the same x86_64 machine is the FIX, with the binfmt command for arm64.
      const arm = checkDocker(DEV, { kind: "exited", code: 0, stdout: BUILDX_AMD_ONLY, stderr: "" });
      assert.equal(arm.status, "FIX");
      assert.match(arm.fix!, /^docker run --privileged --rm tonistiigi\/binfmt --install arm64 .*or pulumi config set fargateArchitecture X86_64 --stack <stack>/);
    });

    it("alarm-email: empty means every alarm notifies a topic nobody reads (warn); set, ok", async () => {
      const none = await doctor(["--stack", "dev", "--config", "alarmEmail="]);
      assert.equal(none.code, 0, none.stderr);
      const line = none.line("alarm-email");
      assert.equal(line.status, "warn");
      assert.match(line.found, /^alarmEmail is empty: every alarm of the stack notifies an SNS topic with no subscriber/);
      assert.match(line.fix!, /^pulumi config set alarmEmail you@example\.com --stack dev; AWS then mails a confirmation link that must be accepted/);
      assert.match(line.fix!, /a subscription still pending confirmation cannot be deleted, by Pulumi or anyone/);
      const set = await doctor(["--stack", "dev", "--config", "alarmEmail=ops@example.com"]);
      assert.equal(set.line("alarm-email").status, "ok");
      assert.match(set.line("alarm-email").found, /^alarms notify ops@example\.com/);
      // The pure check reads the parsed config.
      const settings: StackSettings = { stack: "prod", region: "us-east-1", azCount: 2, pinnedZoneIds: [], zoneRequirements: STACK_ZONE_REQUIREMENTS, configProblems: [] };
      assert.equal(checkAlarmEmail(settings).status, "warn");
      assert.equal(checkAlarmEmail({ ...settings, alarmEmail: "oncall@example.com" }).status, "ok");
    });

    it("pulumi CLI missing: warn (cannot check); the stack missing from the backend: FIX pulumi stack init", async () => {
      const noCli = await doctor(["--stack", "dev"], { exec: fakeExec({ pulumi: { kind: "missing" } }) });
      assert.equal(noCli.code, 0, noCli.stderr);
      assert.equal(noCli.line("pulumi-stack").status, "warn");
      assert.match(noCli.line("pulumi-stack").found, /^cannot check: the pulumi CLI is not on the PATH/);
      const noStack = await doctor(["--stack", "dev"], { exec: fakeExec({ pulumi: { kind: "exited", code: 0, stdout: JSON.stringify([{ name: "acme/serverless-cache/prod" }]), stderr: "" } }) });
      assert.equal(noStack.code, 1);
      assert.equal(noStack.line("pulumi-stack").status, "FIX");
      assert.equal(noStack.line("pulumi-stack").fix, "pulumi stack init dev (Pulumi.dev.yaml is kept)");
      const qualified = await doctor(["--stack", "dev"], { exec: fakeExec({ pulumi: { kind: "exited", code: 0, stdout: JSON.stringify([{ name: "acme/serverless-cache/dev" }]), stderr: "" } }) });
      assert.equal(qualified.line("pulumi-stack").status, "ok");
      const notLoggedIn = await doctor(["--stack", "dev"], { exec: fakeExec({ pulumi: { kind: "exited", code: 255, stdout: "", stderr: "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions" } }) });
      assert.equal(notLoggedIn.line("pulumi-stack").status, "warn");
      assert.match(notLoggedIn.line("pulumi-stack").fix!, /pulumi login/);
    });

    it("region: the credentials' default region differs (warn); the program failing is a FIX", async () => {
      const other = await doctor(["--stack", "dev"], { defaultRegion: async () => "eu-west-1" });
      assert.equal(other.line("region").status, "warn");
      assert.match(other.line("region").found, /deploys to us-east-1 \(aws:region\) but these credentials default to eu-west-1/);
      const broken = await doctor(["--stack", "dev"], { programNeeds: async () => { throw new Error("MockAwsError: boom"); } });
      assert.equal(broken.code, 1);
      assert.equal(broken.line("program").status, "FIX");
      assert.match(broken.line("program").fix!, /npm run plan -- --stack dev/);
      assert.equal(broken.line("endpoint:execute-api").status, "ok", "execute-api is checked without the program");
    });

    it("no credentials: exit 2 with what is needed, and nothing else runs", async () => {
      const r = await doctor(["--stack", "dev"], { credentials: async () => { throw Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }); } });
      assert.equal(r.code, 2);
      assert.deepEqual(r.results.map((x) => [x.id, x.status]), [["credentials", "FIX"]]);
      assert.match(r.line("credentials").fix!, /AWS_PROFILE.*AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.*aws:region us-east-1/);
      assert.match(r.stderr, /doctor: no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY/);
      assert.equal(sts.calls().length, 0);
      assert.equal(programRuns, 0);
      // Credentials STS refuses (an expired session) stop the run the same way.
      sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error("The security token included in the request is expired"), { name: "ExpiredTokenException", $metadata: { httpStatusCode: 403 } }));
      const expired = await doctor(["--stack", "dev"]);
      assert.equal(expired.code, 2);
      assert.match(expired.line("credentials").found, /ExpiredTokenException/);
      assert.equal(programRuns, 0);
      // No answer at all (offline, a proxy in the way): said as such, still exit 2.
      sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error("connect ETIMEDOUT 52.94.0.1:443"), { name: "TimeoutError" }));
      const offline = await doctor(["--stack", "dev"]);
      assert.equal(offline.code, 2);
      assert.match(offline.line("credentials").found, /^could not reach STS in us-east-1: TimeoutError/);
      assert.match(offline.stderr, /AWS could not be reached; nothing else was checked/);
    });

    it("the real CLI in a child process with no credentials at all (env cleared, empty config files, no IMDS): exit 2 and the message", async () => {
      const res = await child;
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stdout, /^FIX {2}credentials +no AWS credentials found \(.*\); the other checks need them -> fix: export AWS_PROFILE=<profile>/m);
      assert.match(res.stdout, /^0 ok, 0 warn, 1 FIX; exit 2$/m);
      assert.match(res.stderr, /doctor: no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY \(region: the stack's aws:region us-east-1\)/);
    });
  });

  describe("pure helpers", () => {
    it("buildx platform parsing, role names, an unsupported Region", () => {
      assert.ok(buildxSupports(BUILDX_ARM, "linux/arm64"));
      assert.ok(!buildxSupports(BUILDX_AMD_ONLY, "linux/arm64"));
      assert.ok(!buildxSupports(BUILDX_ARM_ONLY, "linux/amd64"));
      assert.deepEqual(buildxPlatforms(BUILDX_ARM_ONLY), ["linux/arm64", "linux/arm/v7", "linux/arm/v6"]);
      // Only the Platforms lines count, not a name or label that happens to say linux/arm64.
      assert.ok(!buildxSupports(BUILDX_AMD_ONLY.replace("Name:             default", "Name:             linux/arm64"), "linux/arm64"));
      // Pre-0.13 field names; a "*" marks platforms set by hand; variants (/v8) count; every node of a multi-node builder counts.
      const multi = ["Name:   multi", "Driver: docker-container", "", "Nodes:", "Name:      multi0", "Status:    running", "Buildkit:  v0.12.5",
        "Platforms: linux/amd64*, linux/386", "", "Name:      multi1", "Status:    running", "Platforms: linux/arm64/v8*, linux/arm/v7"].join("\n");
      assert.deepEqual(buildxPlatforms(multi), ["linux/amd64", "linux/386", "linux/arm64/v8", "linux/arm/v7"]);
      assert.ok(buildxSupports(multi, "linux/arm64") && buildxSupports(multi, "linux/amd64"));
      assert.ok(!buildxSupports("Platforms: linux/arm64ish", "linux/arm64"));
      // `docker buildx ls` output (abbreviated since buildx 0.13) is not parsed at all.
      assert.deepEqual(buildxPlatforms("default*  docker  running  v0.17.3  linux/amd64 (+2), linux/arm64, linux/386"), []);
      assert.equal(roleNameFromArn("arn:aws:iam::123456789012:role/service-role/apigw-logs"), "apigw-logs");
      assert.equal(roleNameFromArn("not-an-arn"), undefined);
      const settings: StackSettings = { stack: "dev", region: "ap-southeast-3", azCount: 2, pinnedZoneIds: [], zoneRequirements: STACK_ZONE_REQUIREMENTS, configProblems: [] };
      const region = checkRegion(settings, undefined);
      assert.equal(region.status, "FIX");
      assert.match(region.found, /VPC links V2 are not offered in ap-southeast-3/);
      assert.match(region.fix!, /^pulumi config set aws:region us-east-1 --stack dev/);
    });

    it("docs/doctor.md carries exactly the IAM policy the doctor needs", () => {
      const doc = fs.readFileSync(path.join(REPO_ROOT, "docs", "doctor.md"), "utf8");
      const block = /```json\n([\s\S]*?)\n```/.exec(doc);
      assert.ok(block, "a ```json policy block");
      assert.deepEqual(JSON.parse(block[1]), doctorPolicy());
    });
  });
});
