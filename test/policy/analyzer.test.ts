import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { policies } from "../../policy/policies";
import { REPO_ROOT, runProgram, type MockResource, type ProgramRun } from "../support/program";
import { clone, firstPreview } from "../support/resources";

/**
 * The policy pack as `pulumi preview --policy-pack policy` runs it: policy/index.ts started by
 * @pulumi/pulumi's own policy-pack runner (ts-node with type checking, in policy/), serving the
 * analyzer gRPC API; this test plays the engine and sends it the resources the program registers.
 * Only the Pulumi CLI itself is missing.
 */

// The generated gRPC stubs of @pulumi/pulumi (CommonJS, no typings for these members).
/* eslint-disable @typescript-eslint/no-explicit-any -- protobuf builders are untyped */
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb") as any;
const analyzerGrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb") as any;
const emptyPb = require("google-protobuf/google/protobuf/empty_pb") as any;

interface Diagnostic {
  policy: string;
  message: string;
  /** 0 advisory, 1 mandatory (EnforcementLevel enum). */
  level: number;
  urn: string;
}

/** Plain JSON of a resource's props: what the engine would marshal (archives and promises dropped). */
function plain(props: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(props, (_key, v: unknown) => (v instanceof Promise || typeof v === "function" ? undefined : v))) as Record<string, unknown>;
}

/** A resource as this test sends it; `declaredDeleteBeforeReplace` overrides what the program set (false: set to false explicitly). */
type Sent = MockResource & { declaredDeleteBeforeReplace?: boolean };

/**
 * The resource options the engine sends: like the CLI, deleteBeforeReplace only when the program set it
 * (AnalyzerResourceOptions.deleteBeforeReplaceDefined).
 */
function options(r: Sent): unknown {
  const o = new analyzerPb.AnalyzerResourceOptions();
  o.setProtect(false);
  if (r.parent) o.setParent(r.parent);
  const deleteBeforeReplace = r.declaredDeleteBeforeReplace ?? (r.options?.deleteBeforeReplace ? true : undefined);
  if (deleteBeforeReplace !== undefined) {
    o.setDeletebeforereplace(deleteBeforeReplace);
    o.setDeletebeforereplacedefined(true);
  }
  return o;
}

function analyzerResource(r: MockResource, props: Record<string, unknown>): unknown {
  const a = new analyzerPb.AnalyzerResource();
  a.setType(r.type);
  a.setName(r.name);
  a.setUrn(r.urn);
  a.setProperties(Struct.fromJavaScript(plain(props) as never));
  a.setOptions(options(r));
  if (r.parent) a.setParent(r.parent);
  a.setDependenciesList(r.dependencies);
  const map = a.getPropertydependenciesMap();
  for (const [key, urns] of Object.entries(r.propertyDependencies)) {
    const deps = new analyzerPb.AnalyzerPropertyDependencies();
    deps.setUrnsList(urns);
    map.set(key, deps);
  }
  return a;
}

function diagnostics(response: any): Diagnostic[] {
  return response.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), message: d.getMessage(), level: d.getEnforcementlevel(), urn: d.getUrn() }));
}

class Engine {
  private constructor(private readonly child: ChildProcess, private readonly client: any) {}

  static async start(): Promise<Engine> {
    const runner = path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
    const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: path.join(REPO_ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => { stderr += d.toString(); });
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on("exit", (code) => reject(new Error(`policy pack exited with ${code} before serving: ${stderr}`)));
    });
    const client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    return new Engine(child, client);
  }

  private call<T>(method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) => this.client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
  }

  /** Policy config, as `--policy-pack-config` has the CLI send it (replaces any earlier config). */
  async configure(config: Record<string, { level: number; properties?: Record<string, unknown> }>): Promise<void> {
    const req = new analyzerPb.ConfigureAnalyzerRequest();
    const map = req.getPolicyconfigMap();
    for (const [name, { level, properties }] of Object.entries(config)) {
      const c = new analyzerPb.PolicyConfig();
      c.setEnforcementlevel(level);
      c.setProperties(Struct.fromJavaScript((properties ?? {}) as never));
      map.set(name, c);
    }
    await this.call("configure", req);
  }

  async info(): Promise<{ name: string; policies: string[] }> {
    const res: any = await this.call("getAnalyzerInfo", new emptyPb.Empty());
    return { name: res.getName(), policies: res.getPoliciesList().map((p: any) => p.getName()) };
  }

  /** Analyze (every resource, inputs) + AnalyzeStack (all resources, state): what a preview does. */
  async preview(resources: MockResource[]): Promise<Diagnostic[]> {
    const out: Diagnostic[] = [];
    for (const r of resources) {
      const req = new analyzerPb.AnalyzeRequest();
      req.setType(r.type);
      req.setName(r.name);
      req.setUrn(r.urn);
      req.setProperties(Struct.fromJavaScript(plain(r.inputs) as never));
      req.setOptions(options(r));
      // A resource diagnostic carries no URN: the engine attributes it to the resource it asked about.
      out.push(...diagnostics(await this.call("analyze", req)).map((d) => ({ ...d, urn: d.urn || r.urn })));
    }
    const stackReq = new analyzerPb.AnalyzeStackRequest();
    // Like the engine, whose state outputs of a provider's resource carry its `id` (what a rule naming a group by id matches).
    stackReq.setResourcesList(resources.map((r) => analyzerResource(r, r.custom ? { id: r.id, ...r.state } : r.state)));
    out.push(...diagnostics(await this.call("analyzeStack", stackReq)));
    return out;
  }

  stop(): void {
    this.client.close();
    this.child.kill("SIGKILL");
  }
}

/** The violation itself: the SDK sends the policy's description, a newline, then the reported message. */
function violation(d: Diagnostic): string {
  return d.message.slice(d.message.lastIndexOf("\n") + 1);
}

const ADVISORY = 0;
const MANDATORY = 1;

/** Change inputs and state of the resources matching `pick` alike. */
function mutate(resources: MockResource[], pick: (r: MockResource) => boolean, change: (props: Record<string, any>) => void): MockResource[] {
  const out = clone(resources);
  const hits = out.filter(pick);
  assert.ok(hits.length > 0, "the mutation matched no resource");
  for (const r of hits) { change(r.inputs); change(r.state); }
  return out;
}

describe("policy pack under the real analyzer server (policy/index.ts in its own process)", function () {
  this.timeout(120_000);
  let engine: Engine;
  let dev: ProgramRun;
  let prod: ProgramRun;
  before(async () => {
    const starting = Engine.start(); // its type check takes a while: run the programs meanwhile (one at a time: the mock engine is global)
    dev = await runProgram("dev");
    prod = await runProgram("prod");
    engine = await starting;
  });
  after(() => engine?.stop());

  it("loads as a policy pack (type-checked by Pulumi's runner) and offers every policy", async () => {
    const info = await engine.info();
    assert.equal(info.name, "serverless-cache");
    assert.deepEqual(info.policies.sort(), policies.map((p) => p.name).sort());
  });

  for (const stack of ["dev", "prod"] as const) {
    it(`${stack}: a preview gets no diagnostics`, async () => {
      const diags = await engine.preview((stack === "dev" ? dev : prod).resources);
      assert.deepEqual(diags, []);
    });
  }

  it("a first preview (ids, computed outputs and dependent inputs unknown) gets no diagnostics either: no policy is skipped", async () => {
    for (const run of [dev, prod]) {
      const unknown = firstPreview(run.resources);
      const diags = await engine.preview(unknown);
      // A policy the SDK could not run would show up here as an advisory "can't run ... during preview".
      assert.deepEqual(diags, [], `${run.stack}: ${JSON.stringify(diags)}`);
    }
  });

  it("reports mandatory violations with the resource's URN", async () => {
    const rule = dev.resources.find((r) => r.name === "cache-dev-from-cache-handler")!;
    const bad = dev.resources.map((r) => (r === rule
      ? { ...r, inputs: { ...r.inputs, referencedSecurityGroupId: undefined, cidrIpv4: "0.0.0.0/0" }, state: { ...r.state, referencedSecurityGroupId: undefined, cidrIpv4: "0.0.0.0/0" }, propertyDependencies: { ...r.propertyDependencies, referencedSecurityGroupId: [] } }
      : r));
    const diags = await engine.preview(bad);
    const byPolicy = new Map(diags.map((d) => [d.policy, d]));
    assert.equal(byPolicy.get("no-world-ingress")?.level, MANDATORY);
    assert.equal(byPolicy.get("no-world-ingress")?.urn, rule.urn);
    assert.match(byPolicy.get("memcached-ingress-from-security-groups-only")?.message ?? "", /admits 0\.0\.0\.0\/0 into memcached cluster cache-dev/);
    assert.deepEqual([...byPolicy.keys()].sort(), ["memcached-ingress-from-security-groups-only", "no-world-ingress"]);
  });

  it("reports 10.0.0.0/8 into memcached from a rule naming the group by literal id, and a public /32 and a prefix list on 11211", async () => {
    const isRule = (name: string) => (r: MockResource): boolean => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.name === name;
    let bad = mutate(dev.resources, isRule("cache-dev-from-cache-handler"), (p) => { delete p.referencedSecurityGroupId; p.cidrIpv4 = "10.0.0.0/8"; });
    const byId = bad.find(isRule("cache-dev-from-cache-handler"))!;
    byId.propertyDependencies = {}; // securityGroupId: "cache-dev-sg-id", a literal: no property dependency links it to the group
    byId.dependencies = [];
    bad = mutate(bad, isRule("svc-dev-memcached-from-lambda"), (p) => { delete p.referencedSecurityGroupId; p.cidrIpv4 = "52.1.2.3/32"; });
    bad = mutate(bad, isRule("svc-dev-memcached-from-tasks"), (p) => { delete p.referencedSecurityGroupId; p.prefixListId = "pl-0123456789abcdef0"; });
    const diags = await engine.preview(bad);
    const urn = (name: string): string => dev.resources.find(isRule(name))!.urn;
    assert.deepEqual(diags.map((d) => [d.policy, d.level, d.urn]).sort(), [
      ["memcached-ingress-from-security-groups-only", MANDATORY, urn("cache-dev-from-cache-handler")],
      ["memcached-ingress-from-security-groups-only", MANDATORY, urn("svc-dev-memcached-from-lambda")],
      ["memcached-ingress-from-security-groups-only", MANDATORY, urn("svc-dev-memcached-from-tasks")],
      ["no-world-ingress", MANDATORY, urn("svc-dev-memcached-from-lambda")],
      ["no-world-ingress", MANDATORY, urn("svc-dev-memcached-from-tasks")],
    ].sort(), JSON.stringify(diags));
    const message = (policy: string, name: string): string => violation(diags.find((d) => d.policy === policy && d.urn === urn(name))!);
    assert.match(message("memcached-ingress-from-security-groups-only", "cache-dev-from-cache-handler"), /^cache-dev-from-cache-handler admits 10\.0\.0\.0\/8 into memcached cluster cache-dev \(port 11211\); only security groups are allowed$/);
    assert.match(message("no-world-ingress", "svc-dev-memcached-from-lambda"), /^opens port 11211 \(protocol tcp\), which includes the memcached port 11211, to public range\(s\) 52\.1\.2\.3\/32; memcached has no authentication/);
    assert.match(message("no-world-ingress", "svc-dev-memcached-from-tasks"), /^admits prefix list pl-0123456789abcdef0 on port 11211 \(protocol tcp\)/);
  });

  it("reports open egress (all protocols to the world; a world port outside allowedWorldEgressPorts), and takes allowed ports from the config", async () => {
    const isRule = (name: string) => (r: MockResource): boolean => r.type === "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule" && r.name === name;
    let bad = mutate(dev.resources, isRule("svc-dev-lambda-out-443"), (p) => { p.ipProtocol = "-1"; p.fromPort = -1; p.toPort = -1; });
    bad = mutate(bad, isRule("svc-dev-tasks-out-443"), (p) => { p.fromPort = 8080; p.toPort = 8080; });
    const urn = (name: string): string => dev.resources.find(isRule(name))!.urn;
    const diags = await engine.preview(bad);
    assert.deepEqual(diags.map((d) => [d.policy, d.level, d.urn]).sort(), [
      ["no-open-egress", MANDATORY, urn("svc-dev-lambda-out-443")],
      ["no-open-egress", MANDATORY, urn("svc-dev-tasks-out-443")],
    ].sort(), JSON.stringify(diags));
    assert.match(violation(diags.find((d) => d.urn === urn("svc-dev-lambda-out-443"))!), /^svc-dev-lambda-out-443 \(security group svc-dev-lambda-sg\) sends all protocols and ports \(protocol -1\) to 0\.0\.0\.0\/0/);
    assert.match(violation(diags.find((d) => d.urn === urn("svc-dev-tasks-out-443"))!), /^svc-dev-tasks-out-443 \(security group svc-dev-task-sg\) opens port 8080 \(protocol tcp\) to 0\.0\.0\.0\/0; world egress is allowed only on tcp 443/);
    try {
      await engine.configure({ "no-open-egress": { level: MANDATORY, properties: { allowedWorldEgressPorts: [443, 8080] } } });
      assert.deepEqual((await engine.preview(bad)).map((d) => d.urn), [urn("svc-dev-lambda-out-443")], "8080 allowed by config; all protocols never");
    } finally {
      await engine.configure({});
    }
  });

  it("reports IAM wildcards (Action \"*\", a write action on \"*\", an administrator policy) and a Lambda permission without sourceArn", async () => {
    const named = (type: string, name: string) => (r: MockResource): boolean => r.type === type && r.name === name;
    const rolePolicy = "aws:iam/rolePolicy:RolePolicy";
    const attachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
    const permission = "aws:lambda/permission:Permission";
    let bad = mutate(dev.resources, named(rolePolicy, "svc-dev-api-large-responses"), (p) => {
      p.policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });
    });
    bad = mutate(bad, named(rolePolicy, "svc-dev-failover"), (p) => { p.policy = (p.policy as string).split("\"svc-dev-id\"").join("\"*\""); });
    bad = mutate(bad, named(attachment, "svc-dev-api-vpc"), (p) => { p.policyArn = "arn:aws:iam::aws:policy/AdministratorAccess"; });
    bad = mutate(bad, named(permission, "svc-dev-failover-tick"), (p) => { delete p.sourceArn; });
    const urn = (type: string, name: string): string => dev.resources.find(named(type, name))!.urn;
    const diags = await engine.preview(bad);
    assert.deepEqual(diags.map((d) => [d.policy, d.level, d.urn]).sort(), [
      ["iam-no-wildcards", MANDATORY, urn(rolePolicy, "svc-dev-api-large-responses")],
      ["iam-no-wildcards", MANDATORY, urn(rolePolicy, "svc-dev-failover")],
      ["iam-no-wildcards", MANDATORY, urn(attachment, "svc-dev-api-vpc")],
      ["lambda-permission-source-arn", MANDATORY, urn(permission, "svc-dev-failover-tick")],
    ].sort(), JSON.stringify(diags));
    const message = (u: string): string => violation(diags.find((d) => d.urn === u)!);
    assert.match(message(urn(rolePolicy, "svc-dev-api-large-responses")), /^role policy svc-dev-api-large-responses: statement #1: Action "\*" grants every action of every service/);
    assert.match(message(urn(rolePolicy, "svc-dev-failover")), /^role policy svc-dev-failover: statement FailoverEcsService: Resource "\*" \(every resource\) with write action\(s\) ecs:UpdateService/);
    assert.match(message(urn(attachment, "svc-dev-api-vpc")), /^attachment svc-dev-api-vpc: attaches AWS-managed policy arn:aws:iam::aws:policy\/AdministratorAccess/);
    assert.match(message(urn(permission, "svc-dev-failover-tick")), /^permission svc-dev-failover-tick lets events\.amazonaws\.com invoke function svc-dev-failover with sourceArn = unset, so any events resource in any AWS account can invoke it/);
    // The defaults of allowedWildcards are what let the failover's read-only Describe*/GetMetricData on "*" pass,
    // and the flow-log delivery role's logs:DescribeLogGroups (no resource-level permissions).
    try {
      await engine.configure({ "iam-no-wildcards": { level: MANDATORY, properties: { allowedWildcards: [] } } });
      const strict = await engine.preview(dev.resources);
      const exempted = [urn(rolePolicy, "svc-dev-failover"), urn(rolePolicy, "net-dev-flow-logs")];
      assert.ok(strict.length > 0 && strict.every((d) => d.policy === "iam-no-wildcards" && exempted.includes(d.urn)), JSON.stringify(strict));
      assert.deepEqual([...new Set(strict.map((d) => d.urn))].sort(), [...exempted].sort());
      assert.match(violation(strict.find((d) => d.urn === exempted[0])!), /^role policy svc-dev-failover: statement FailoverDescribeLoadBalancing: Resource "\*" \(every resource\) with read action\(s\) elasticloadbalancing:DescribeListeners/);
      assert.match(violation(strict.find((d) => d.urn === exempted[1])!), /^role policy net-dev-flow-logs: statement FindLogGroup: Resource "\*" \(every resource\) with read action\(s\) logs:DescribeLogGroups/);
    } finally {
      await engine.configure({});
    }
  });

  it("reports subnets outside the zones VPC links V2, Lambda and ARM64 Fargate offer, and a subnet placed by AZ name", async () => {
    // net-dev-private-1 created by name in an account where us-east-1a is use1-az3 (as the mock account maps it).
    const bad = clone(dev.resources);
    const subnet = bad.find((r) => r.type === "aws:ec2/subnet:Subnet" && r.name === "net-dev-private-1")!;
    delete subnet.inputs.availabilityZoneId;
    subnet.inputs.availabilityZone = "us-east-1a";
    Object.assign(subnet.state, { availabilityZone: "us-east-1a", availabilityZoneId: "use1-az3" });
    const diags = await engine.preview(bad);
    assert.deepEqual([...new Set(diags.map((d) => d.policy))].sort(), ["lambda-subnets-in-supported-zones", "subnets-by-zone-id", "vpc-link-subnets-in-supported-zones"]);
    assert.ok(diags.every((d) => d.level === MANDATORY));
    const byPolicy = (name: string): Diagnostic[] => diags.filter((d) => d.policy === name);
    assert.equal(byPolicy("subnets-by-zone-id")[0].urn, subnet.urn);
    assert.match(byPolicy("subnets-by-zone-id")[0].message, /subnet net-dev-private-1: availabilityZone = us-east-1a; set availabilityZoneId instead/);
    const link = byPolicy("vpc-link-subnets-in-supported-zones");
    assert.equal(link.length, 1);
    assert.equal(link[0].urn, dev.one("aws:apigatewayv2/vpcLink:VpcLink").urn);
    assert.match(link[0].message, /VPC link api-dev-vpclink: subnet net-dev-private-1 is in use1-az3; VPC links V2 exist only in use1-az1, use1-az2, use1-az4, use1-az5, use1-az6 \(us-east-1\)/);
    const compute = byPolicy("lambda-subnets-in-supported-zones").map((d) => d.message);
    assert.ok(compute.some((m) => /function cache-handler-dev: subnet net-dev-private-1 is in use1-az3, where Lambda refuses VPC subnets/.test(m)), JSON.stringify(compute));
    assert.ok(compute.some((m) => /ECS service svc-dev: subnet net-dev-private-1 is in use1-az3, where Fargate has no ARM64 capacity/.test(m)), JSON.stringify(compute));

    // Before the subnet exists its zone ID is unknown: placed by name is itself the violation.
    const early = await engine.preview(firstPreview(bad));
    assert.ok(early.some((d) => d.policy === "vpc-link-subnets-in-supported-zones"
      && /subnet net-dev-private-1 is placed by AZ name \(us-east-1a; availabilityZoneId unknown at preview\); choose subnets by zone ID/.test(d.message)), JSON.stringify(early));
    assert.ok(early.every((d) => d.level === MANDATORY && !/can't run/.test(d.message)), JSON.stringify(early));
  });

  it("reports a silent alarm, an unbounded async target, a /28 ALB subnet, applyImmediately (advisory) and an endpoint replaced create-before-delete", async () => {
    let bad = mutate(dev.resources, (r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && r.name === "svc-dev-failover-errors", (p) => { delete p.alarmActions; });
    bad = mutate(bad, (r) => r.type === "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", (p) => { p.maximumEventAgeInSeconds = 21600; });
    bad = mutate(bad, (r) => r.type === "aws:ec2/subnet:Subnet" && r.name === "net-dev-private-0", (p) => { p.cidrBlock = "10.10.32.0/28"; });
    bad = mutate(bad, (r) => r.type === "aws:elasticache/cluster:Cluster", (p) => { p.applyImmediately = true; });
    const endpoint = bad.find((r) => r.type === "aws:ec2/vpcEndpoint:VpcEndpoint" && r.name === "api-dev-execute-api") as Sent;
    endpoint.declaredDeleteBeforeReplace = false;
    const diags = await engine.preview(bad);
    const byPolicy = new Map(diags.map((d) => [d.policy, d]));
    assert.deepEqual([...byPolicy.keys()].sort(), ["alarms-notify-someone", "alb-subnets-large-enough", "async-invocations-bounded",
      "interface-endpoints-delete-before-replace", "memcached-changes-in-maintenance-window"]);
    assert.equal(diags.length, 5, JSON.stringify(diags));
    const expect = (policy: string, level: number, urn: string, message: RegExp): void => {
      const d = byPolicy.get(policy)!;
      assert.equal(d.level, level, policy);
      assert.equal(d.urn, urn, policy);
      assert.match(d.message, message);
    };
    const urnOf = (type: string, name?: string): string => dev.resources.find((r) => r.type === type && (!name || r.name === name))!.urn;
    expect("alarms-notify-someone", MANDATORY, urnOf("aws:cloudwatch/metricAlarm:MetricAlarm", "svc-dev-failover-errors"), /alarm svc-dev-failover-errors: alarmActions = unset/);
    expect("async-invocations-bounded", MANDATORY, urnOf("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"), /maximumEventAgeInSeconds = 21600; allowed: 60\.\.300/);
    expect("alb-subnets-large-enough", MANDATORY, urnOf("aws:lb/loadBalancer:LoadBalancer"), /ALB svc-dev: subnet net-dev-private-0 is 10\.10\.32\.0\/28 \(\/28\)/);
    expect("memcached-changes-in-maintenance-window", ADVISORY, urnOf("aws:elasticache/cluster:Cluster"), /memcached cluster cache-dev: applyImmediately = true/);
    expect("interface-endpoints-delete-before-replace", MANDATORY, endpoint.urn, /endpoint api-dev-execute-api \(com\.amazonaws\.us-east-1\.execute-api, privateDnsEnabled = true\): deleteBeforeReplace = false/);
  });

  it("fails a private-DNS endpoint whose program did not set deleteBeforeReplace (not reported = create-before-delete); config can relax it", async () => {
    const bad = clone(prod.resources);
    const endpoint = bad.find((r) => r.type === "aws:ec2/vpcEndpoint:VpcEndpoint" && r.name === "net-prod-logs") as Sent;
    assert.equal(endpoint.options?.deleteBeforeReplace, true, "the program sets it");
    endpoint.options = { ...endpoint.options!, deleteBeforeReplace: false }; // as if the program did not set it: not sent at all
    const diags = await engine.preview(bad);
    assert.deepEqual(diags.map((d) => [d.policy, d.level, d.urn]), [["interface-endpoints-delete-before-replace", MANDATORY, endpoint.urn]]);
    assert.match(diags[0].message, /endpoint net-prod-logs \(com\.amazonaws\.us-east-1\.logs, privateDnsEnabled = true\): deleteBeforeReplace = not set; required: true/);
    assert.deepEqual(await engine.preview(prod.resources), [], "the program's endpoints pass");
    try {
      await engine.configure({ "interface-endpoints-delete-before-replace": { level: MANDATORY, properties: { failWhenUndeclared: false } } });
      assert.deepEqual(await engine.preview(bad), [], "with failWhenUndeclared false, an option the engine does not report is not applicable");
    } finally {
      await engine.configure({});
    }
  });

  it("reports the production policy for prod with a single NAT gateway", async () => {
    const single = await runProgram("prod", { networkNatMode: "single" });
    const diags = await engine.preview(single.resources);
    assert.deepEqual([...new Set(diags.map((d) => d.policy))], ["production-multi-az"]);
    assert.ok(diags.every((d) => d.level === MANDATORY));
  });
});
