import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { settleProgram } from "../../plan/engine";
import { MockAccount } from "../../plan/mockAccount";
import { runProgram, type ProgramRun } from "../support/program";
import { T } from "../support/types";

/**
 * Issue 14, items 4 and 6: escape hatches (children exposed as fields, `transforms` on any child),
 * moved security-group rules keeping their state by alias, `protect` on the cache cluster,
 * `retainOnDelete` on the account-wide API Gateway CloudWatch role, and component args that are plain data.
 *
 * The mock engine hands `newResource` only type, name and inputs; protect, aliases and transforms are
 * in the RegisterResource request, read here by wrapping the mock monitor's registerResource.
 */

const PROJECT = "serverless-cache";

/** What the engine was told about one registration besides its inputs. */
interface Registration {
  type: string;
  name: string;
  parent?: string;
  protect: boolean;
  retainOnDelete: boolean;
  /** Alias specs as the SDK sends them (name, type, parentUrn or noParent...). */
  aliases: Array<Record<string, unknown>>;
  /** How many transforms the request carried (callback tokens). */
  transforms: number;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProtect(): boolean;
  getRetainondelete(): boolean | undefined;
  getAliasesList(): Array<{ toObject(): Record<string, unknown> }>;
  getTransformsList(): unknown[];
}
type MockMonitorClass = { prototype: { registerResource(req: RegisterRequest, cb: unknown): Promise<void> } };

/** Records every registration request (all mock monitors created while active). */
function recordRegistrations(): { byName: Map<string, Registration>; stop(): void } {
  const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as { MockMonitor: MockMonitorClass };
  const original = MockMonitor.prototype.registerResource;
  const byName = new Map<string, Registration>();
  MockMonitor.prototype.registerResource = function (req: RegisterRequest, cb: unknown) {
    byName.set(`${req.getType()}::${req.getName()}`, {
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent() || undefined,
      protect: req.getProtect() === true,
      retainOnDelete: req.getRetainondelete() === true,
      aliases: req.getAliasesList().map((a) => (a.toObject().spec ?? a.toObject()) as Record<string, unknown>),
      transforms: req.getTransformsList().length,
    });
    return original.call(this, req, cb);
  };
  return { byName, stop: () => { MockMonitor.prototype.registerResource = original; } };
}

const settle = <V>(o: pulumi.Output<V>): Promise<V> => new Promise((resolve) => o.apply((v) => { resolve(v); return v; }));

async function quiet(count: () => number): Promise<void> {
  let last = -1;
  while (last !== count()) {
    last = count();
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("escape hatches and packaged-component args (issue 14)", function () {
  this.timeout(120_000);

  describe("components on their own", () => {
    let mc: typeof import("../../components/MemcachedCluster");
    let cf: typeof import("../../components/CacheFunction");
    let net: typeof import("../../components/MultiAzNetwork");
    let apiMod: typeof import("../../components/CachedPrivateApi");
    const created: Array<{ type: string; name: string; inputs: Record<string, any> }> = []; // eslint-disable-line @typescript-eslint/no-explicit-any -- mocked inputs
    let recorder: ReturnType<typeof recordRegistrations>;
    /** Transforms registered by components, by component name: the mock monitor hands them over but does not run them. */
    const componentTransforms = new Map<string, pulumi.ResourceTransform[]>();

    const inputsOf = (type: string, name: string) => {
      const found = created.filter((r) => r.type === type && r.name === name);
      assert.equal(found.length, 1, `${type} ${name}: ${found.length} registrations`);
      return found[0].inputs;
    };
    const reg = (type: string, name: string): Registration => {
      const r = recorder.byName.get(`${type}::${name}`);
      assert.ok(r, `no registration of ${type} ${name}`);
      return r;
    };

    before(async () => {
      recorder = recordRegistrations();
      const account = new MockAccount();
      await pulumi.runtime.setMocks({
        async newResource(args) {
          let props = args.inputs as Record<string, unknown>;
          if (args.transforms && args.transforms.length > 0) componentTransforms.set(args.name, args.transforms);
          // What the Pulumi engine does with a component's `transforms` (and the mock engine does not):
          // run them on every descendant's registration. Ancestors come from the recorded requests.
          let parent = recorder.byName.get(`${args.type}::${args.name}`)?.parent;
          while (parent) {
            const parts = parent.split("::");
            const [parentType, parentName] = [parts[2].split("$").pop()!, parts[3]];
            for (const transform of componentTransforms.get(parentName) ?? []) {
              const result = await transform({ type: args.type, name: args.name, custom: args.custom ?? true, props, opts: {} });
              if (result) props = result.props as Record<string, unknown>;
            }
            parent = recorder.byName.get(`${parentType}::${parentName}`)?.parent;
          }
          created.push({ type: args.type, name: args.name, inputs: props });
          const computed: Record<string, unknown> = { arn: `arn:aws:mock:us-east-1:123456789012:${args.name}` };
          if (args.type === T.cluster) computed.cacheNodes = [{ address: `${args.name}.0001.cache.amazonaws.com`, port: 11211 }];
          if (args.type === "aws:ec2/vpc:Vpc") computed.cidrBlock = props.cidrBlock;
          return { id: `${args.name}-id`, state: { ...props, ...computed } };
        },
        call(args) {
          return account.call(args.token, args.inputs) ?? args.inputs;
        },
      }, PROJECT, "hatch", false);
      // After setMocks: nothing may be created before it.
      mc = require("../../components/MemcachedCluster") as typeof import("../../components/MemcachedCluster");
      cf = require("../../components/CacheFunction") as typeof import("../../components/CacheFunction");
      net = require("../../components/MultiAzNetwork") as typeof import("../../components/MultiAzNetwork");
      apiMod = require("../../components/CachedPrivateApi") as typeof import("../../components/CachedPrivateApi");
    });
    after(() => recorder.stop());

    const clusterArgs = () => ({ vpcId: "vpc-1", subnetIds: ["subnet-a", "subnet-b"], availabilityZones: ["us-east-1a", "us-east-1b"] });
    const setWindow = (window: string): pulumi.ResourceTransform => (a) =>
      a.type === T.cluster ? { props: { ...a.props, maintenanceWindow: window }, opts: a.opts } : undefined;

    it("legacy `transformations` in the component's options change a child (they run in the SDK, so also under mocks)", async () => {
      const cache = new mc.MemcachedCluster("mc-legacy", clusterArgs(), {
        transformations: [(a) => (a.type === T.cluster ? { props: { ...a.props, maintenanceWindow: "tue:03:00-tue:04:00" }, opts: a.opts } : undefined)],
      });
      await settle(cache.cluster.id);
      assert.equal(inputsOf(T.cluster, "mc-legacy").maintenanceWindow, "tue:03:00-tue:04:00");
      assert.equal(inputsOf(T.sg, "mc-legacy-sg").description, "memcached mc-legacy: TCP 11211 from client security groups only", "other children untouched");
    });

    it("`transforms` in the component's options reach the engine with the component, and change the child they target when run as the engine runs them", async () => {
      const cache = new mc.MemcachedCluster("mc-transforms", clusterArgs(), { transforms: [setWindow("wed:03:00-wed:04:00")] });
      await settle(cache.cluster.id);
      // The SDK sends a component's transforms with the component only (the engine applies them to every
      // descendant); the 3.270 mock monitor passes them to newResource and runs none (runtime/mocks.d.ts).
      assert.equal(reg(T.memcached, "mc-transforms").transforms, 1);
      assert.equal(reg(T.cluster, "mc-transforms").transforms, 0);
      assert.equal(componentTransforms.get("mc-transforms")?.length, 1);
      // Run by this test's newResource on the descendants, as the engine does: only the cluster changes.
      assert.equal(inputsOf(T.cluster, "mc-transforms").maintenanceWindow, "wed:03:00-wed:04:00");
      assert.equal(inputsOf(T.sg, "mc-transforms-sg").description, "memcached mc-transforms: TCP 11211 from client security groups only");
    });

    it("MemcachedCluster exposes its children, takes nodeCount/azMode as Inputs and protects only the cluster when asked", async () => {
      const cache = new mc.MemcachedCluster("mc-fields", { ...clusterArgs(), nodeCount: pulumi.output(3), azMode: pulumi.output("cross-az" as const), protect: true, allowedSecurityGroupIds: ["sg-client"] });
      assert.ok(cache.cluster instanceof pulumi.CustomResource && cache.securityGroup && cache.subnetGroup && cache.parameterGroup === undefined);
      assert.equal(cache.ingressRules.length, 1);
      assert.match(await settle(cache.cluster.urn), /::serverless-cache:cache:MemcachedCluster\$aws:elasticache\/cluster:Cluster::mc-fields$/);
      await quiet(() => created.length);
      const cluster = inputsOf(T.cluster, "mc-fields");
      assert.equal(cluster.numCacheNodes, 3);
      assert.deepEqual(cluster.preferredAvailabilityZones, ["us-east-1a", "us-east-1b", "us-east-1a"]);
      assert.equal(reg(T.cluster, "mc-fields").protect, true);
      assert.equal(reg(T.sg, "mc-fields-sg").protect, false, "protect is for the cluster (the data), not its security group");
      assert.equal(reg(T.ingress, "mc-fields-from-client-0").protect, false);
      assert.equal(inputsOf(T.ingress, "mc-fields-from-client-0").referencedSecurityGroupId, "sg-client");
      assert.equal("allowFrom" in cache, false, "no methods: clients add their own rule");
    });

    it("MemcachedCluster: protect unset inherits the component's own `protect` option", async () => {
      const cache = new mc.MemcachedCluster("mc-inherit", clusterArgs(), { protect: true });
      await settle(cache.cluster.id);
      assert.equal(reg(T.cluster, "mc-inherit").protect, true);
    });

    it("MemcachedCluster validates plain values at construction and Inputs when they resolve, naming the arg and the allowed values", async () => {
      assert.throws(() => new mc.MemcachedCluster("mc-bad", { ...clusterArgs(), nodeCount: 0 }), /MemcachedCluster mc-bad: nodeCount 0 must be a whole number from 1 to 40/);
      assert.throws(() => new mc.MemcachedCluster("mc-bad2", { ...clusterArgs(), azMode: "multi" as never }), /azMode "multi" must be one of cross-az, single-az/);
      await assert.rejects(settleProgram("hatch", () => {
        const late = new mc.MemcachedCluster("mc-late", { ...clusterArgs(), nodeCount: pulumi.output(1) });
        return { nodes: late.nodeEndpoints };
      }, () => created.length), /MemcachedCluster mc-late: azMode "cross-az" needs nodeCount >= 2 \(got 1\)/);
    });

    it("CacheFunction adds the memcached ingress rule itself, aliased to its former parent when migrating, and exposes its children", async () => {
      const cache = new mc.MemcachedCluster("mc-fn", clusterArgs());
      const fn = new cf.CacheFunction("fn-t", {
        vpcId: "vpc-1",
        subnetIds: ["subnet-a", "subnet-b"],
        memcached: cache,
        memcachedIngressRule: { name: mc.legacyClientRuleName("mc-fn", "cache-handler"), previousParent: cache.urn },
        upstreamUrl: "https://upstream.example.com",
        memorySize: pulumi.output(256),
        ttlSeconds: pulumi.output(60),
      });
      for (const r of [fn.function, fn.role, fn.securityGroup, fn.logGroup, fn.memcachedIngress, fn.entryKeys, fn.durationAlarm]) assert.ok(r instanceof pulumi.CustomResource);
      const [cacheUrn, sgId, fnSgId] = await Promise.all([settle(cache.urn), settle(cache.securityGroupId), settle(fn.securityGroupId), settle(fn.functionArn)]);
      await quiet(() => created.length);
      const rule = inputsOf(T.ingress, "mc-fn-from-cache-handler");
      assert.deepEqual([rule.securityGroupId, rule.referencedSecurityGroupId, rule.ipProtocol, rule.fromPort, rule.toPort], [sgId, fnSgId, "tcp", 11211, 11211]);
      const r = reg(T.ingress, "mc-fn-from-cache-handler");
      assert.match(r.parent ?? "", /serverless-cache:functions:CacheFunction::fn-t$/);
      assert.deepEqual(r.aliases.map((a) => [a.name, a.parenturn]), [["mc-fn-from-cache-handler", cacheUrn]]);
      const env = inputsOf(T.fn, "fn-t").environment.variables;
      assert.deepEqual([inputsOf(T.fn, "fn-t").memorySize, env.CACHE_TTL_SECONDS, env.UPSTREAM_TIMEOUT_MS], [256, "60", "3000"]);
    });

    it("CacheFunction without migration names the rule after itself and sets no alias; bad args fail naming the arg", async () => {
      const fn = new cf.CacheFunction("fn-new", {
        vpcId: "vpc-1", subnetIds: ["subnet-a"], upstreamUrl: "https://upstream.example.com",
        memcached: { nodeEndpoints: ["n:11311"], configurationEndpoint: "c:11311", securityGroupId: "sg-memcached", port: 11311, transitEncryption: true },
      });
      await settle(fn.memcachedIngress.id);
      await settle(fn.functionArn);
      await quiet(() => created.length);
      assert.deepEqual(reg(T.ingress, "fn-new-memcached-ingress").aliases, []);
      const rule = inputsOf(T.ingress, "fn-new-memcached-ingress");
      const egress = inputsOf(T.egress, "fn-new-to-memcached");
      assert.deepEqual([rule.securityGroupId, rule.fromPort, rule.toPort, egress.referencedSecurityGroupId, egress.fromPort, egress.toPort], ["sg-memcached", 11311, 11311, "sg-memcached", 11311, 11311], "the cluster's port, not 11211");
      const env = inputsOf(T.fn, "fn-new").environment.variables;
      assert.deepEqual([env.MEMCACHED_SERVERS, env.MEMCACHED_CONFIG_ENDPOINT, env.MEMCACHED_TLS], ["n:11311", "c:11311", "on"]);
      const base = { vpcId: "v", subnetIds: ["s"], memcached: { nodeEndpoints: ["n:11211"], configurationEndpoint: "c:11211", securityGroupId: "sg" } };
      assert.throws(() => new cf.CacheFunction("fn-ftp", { ...base, upstreamUrl: "ftp://example.com" }), /CacheFunction fn-ftp: upstreamUrl "ftp:\/\/example.com" must be an http:\/\/ or https:\/\/ URL/);
      assert.throws(() => new cf.CacheFunction("fn-mem", { ...base, upstreamUrl: "https://x.example", memorySize: 64 }), /CacheFunction fn-mem: memorySize 64 must be a whole number from 128 to 10240/);
      assert.throws(() => new cf.CacheFunction("fn-to", { ...base, upstreamUrl: "https://x.example", timeoutSeconds: 3, upstreamTimeoutMs: 2500 }), /upstreamTimeoutMs 2500 must be a whole number from 1 to 2000/);
    });

    it("CacheFunction still takes the deprecated flat memcached args for one release, with a warning naming the new arg", async () => {
      const warnings: string[] = [];
      const log = pulumi.log as { warn: (msg: string, resource?: pulumi.Resource) => Promise<void> };
      const warn = log.warn;
      log.warn = async (msg) => { warnings.push(msg); };
      try {
        const fn = new cf.CacheFunction("fn-old", {
          vpcId: "vpc-1", subnetIds: ["subnet-a"], upstreamUrl: "https://upstream.example.com",
          memcachedNodes: ["n:11211"], memcachedConfigurationEndpoint: "c:11211", memcachedSecurityGroupId: "sg-old", memcachedTls: true,
        });
        await settle(fn.functionArn);
        await quiet(() => created.length);
      } finally {
        log.warn = warn;
      }
      assert.deepEqual(warnings, ["CacheFunction fn-old: memcachedNodes, memcachedConfigurationEndpoint, memcachedSecurityGroupId, memcachedTls are deprecated: give memcached: { nodeEndpoints: ..., configurationEndpoint: ..., securityGroupId: ..., transitEncryption: ... } (or the MemcachedCluster itself); the old args go in the next release"]);
      const env = inputsOf(T.fn, "fn-old").environment.variables;
      assert.deepEqual([env.MEMCACHED_SERVERS, env.MEMCACHED_CONFIG_ENDPOINT, env.MEMCACHED_TLS], ["n:11211", "c:11211", "on"]);
      assert.deepEqual([inputsOf(T.ingress, "fn-old-memcached-ingress").securityGroupId, inputsOf(T.ingress, "fn-old-memcached-ingress").fromPort], ["sg-old", 11211]);
      const common = { vpcId: "v", subnetIds: ["s"], upstreamUrl: "https://x.example" };
      const memcached = { nodeEndpoints: ["n:11211"], configurationEndpoint: "c:11211", securityGroupId: "sg" };
      assert.throws(() => new cf.CacheFunction("fn-both", { ...common, memcached, memcachedNodes: ["n:1"] }), /CacheFunction fn-both: give memcached or the deprecated memcachedNodes, not both/);
      assert.throws(() => new cf.CacheFunction("fn-none", common), /CacheFunction fn-none: memcached is required \(a MemcachedCluster, or \{ configurationEndpoint, nodeEndpoints, securityGroupId \}\)/);
      assert.throws(() => new cf.CacheFunction("fn-half", { ...common, memcachedNodes: ["n:1"] }), /CacheFunction fn-half: memcachedConfigurationEndpoint, memcachedSecurityGroupId missing; better, give memcached/);
      assert.throws(() => new cf.CacheFunction("fn-port", { ...common, memcached: { ...memcached, port: 70000 } }), /CacheFunction fn-port: memcached.port 70000 must be a whole number from 1 to 65535/);
      assert.throws(() => new cf.CacheFunction("fn-mismatch", { ...common, memcached: { ...memcached, port: 11212 } }),
        /CacheFunction fn-mismatch: memcached endpoint c:11211 names port 11211, but memcached.port is 11212: the security rules would open the wrong port/);
    });

    it("MultiAzNetwork exposes its children and checks its plain mode args at construction", async () => {
      const network = new net.MultiAzNetwork("net-h", { cidrBlock: "10.50.0.0/16", natMode: "single", flowLogs: "off", interfaceEndpoints: ["logs"] });
      assert.equal(network.publicSubnets.length, 2);
      assert.equal(network.privateSubnets.length, 2);
      assert.equal(network.privateRouteTables.length, 2);
      assert.equal(network.natGateways.length, 1);
      assert.equal(network.natEips.length, 1);
      assert.deepEqual(Object.keys(network.interfaceEndpoints), ["logs"]);
      assert.ok(network.vpc && network.s3Endpoint && network.internetGateway && network.publicRouteTable && network.defaultSecurityGroup && network.interfaceEndpointSecurityGroup);
      assert.equal(network.flowLog, undefined);
      assert.equal(await settle(network.vpcId), await settle(network.vpc.id));
      assert.throws(() => new net.MultiAzNetwork("net-bad", { cidrBlock: "10.0.0.0/16", natMode: "triple" as never }), /MultiAzNetwork net-bad: natMode "triple" must be one of perAz, single/);
      assert.throws(() => new net.MultiAzNetwork("net-bad2", { cidrBlock: "10.0.0.0/16", zoneRequirements: ["gpu" as never] }), /zoneRequirements \["gpu"\]: each must be one of lambda-vpc, vpc-link-v2, fargate/);
      assert.throws(() => new net.MultiAzNetwork("net-bad3", { cidrBlock: "10.0.0.0/24", subnetPrefixLength: 25 }), /subnetPrefixLength 25: 4 subnets .* do not fit in cidrBlock 10\.0\.0\.0\/24/);
      await quiet(() => created.length);
    });

    it("CachedPrivateApi exposes its children, takes clients as an Input list (no allowFrom) and keeps the account-wide role on delete", async () => {
      const api = new apiMod.CachedPrivateApi("api-h", {
        vpcId: "vpc-1",
        vpcCidrBlock: "10.50.0.0/16",
        privateSubnetIds: ["subnet-a", "subnet-b"],
        backend: { loadBalancerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1", loadBalancerDnsName: "x.elb.amazonaws.com", listenerArn: "arn:l", listenerPort: 80, securityGroupId: "sg-alb" },
        routes: [{ path: "/items/{id}", method: "GET" }],
        stageName: "hatch",
        clientSecurityGroupIds: [pulumi.output("sg-bff")],
        manageAccountCloudWatchRole: true,
        tags: { team: pulumi.output("platform") },
      });
      assert.equal("allowFrom" in api, false);
      for (const r of [api.restApi, api.stage, api.deployment, api.vpcEndpoint, api.endpointSecurityGroup, api.vpcLink, api.vpcLinkSecurityGroup, api.dashboard, api.hitRatioAlarm, api.errorRateAlarm]) {
        assert.ok(r instanceof pulumi.CustomResource);
      }
      assert.ok(api.accessLogGroup && api.accountCloudWatch);
      assert.deepEqual(api.endpointIngressRules.length, 1);
      await settle(api.invokeUrl);
      await quiet(() => created.length);
      const rule = inputsOf(T.ingress, "api-h-endpoint-from-client-0");
      assert.deepEqual([rule.referencedSecurityGroupId, rule.fromPort], ["sg-bff", 443]);
      assert.equal(inputsOf(T.sg, "api-h-endpoint-sg").tags.team, "platform");
      for (const [type, name] of [[T.role, "api-h-apigw-logs"], [T.attachment, "api-h-apigw-logs"], [T.account, "api-h-account"]]) {
        assert.equal(reg(type, name).retainOnDelete, true, `${type} ${name}`);
      }
      assert.equal(reg("aws:apigateway/stage:Stage", "api-h-stage").retainOnDelete, false);
    });
  });

  describe("the program (mock account)", () => {
    let dev: ProgramRun;
    let prod: ProgramRun;
    let devRegs: Map<string, Registration>;
    let prodRegs: Map<string, Registration>;
    before(async () => {
      // Fresh runs: the registrations are recorded while they run.
      for (const stack of ["dev", "prod"] as const) {
        const recorder = recordRegistrations();
        try {
          const run = await runProgram(stack, {}, { fresh: true });
          if (stack === "dev") [dev, devRegs] = [run, recorder.byName];
          else [prod, prodRegs] = [run, recorder.byName];
        } finally {
          recorder.stop();
        }
      }
    });

    it("the cache Lambda's memcached rule moved into CacheFunction under its old name, aliased to the old URN (no replacement)", () => {
      for (const [run, regs] of [[dev, devRegs], [prod, prodRegs]] as const) {
        const name = `cache-${run.stack}-from-cache-handler`;
        const rule = run.one(T.ingress, name);
        const cluster = run.resources.find((r) => r.type === T.memcached)!;
        const fn = run.resources.find((r) => r.type === T.cacheFunction)!;
        assert.equal(rule.parent, fn.urn);
        assert.equal(rule.inputs.securityGroupId, run.one(T.sg, `cache-${run.stack}-sg`).id);
        assert.equal(rule.inputs.referencedSecurityGroupId, run.one(T.sg, `cache-handler-${run.stack}-sg`).id);
        const aliases = regs.get(`${T.ingress}::${name}`)!.aliases;
        assert.deepEqual(aliases.map((a) => [a.name, a.parenturn]), [[name, cluster.urn]]);
        // The URN the engine resolves that alias to is exactly the one MemcachedCluster.allowFrom created.
        const oldUrn = `urn:pulumi:${run.stack}::${PROJECT}::${T.memcached}$${T.ingress}::${name}`;
        assert.equal(`urn:pulumi:${run.stack}::${PROJECT}::${cluster.urn.split("::")[2]}$${T.ingress}::${aliases[0].name}`, oldUrn);
      }
    });

    it("protect: the prod cache cluster is protected (config memcachedProtect), dev's is not; nothing else of the cache is", () => {
      assert.equal(prodRegs.get(`${T.cluster}::cache-prod`)?.protect, true);
      assert.equal(devRegs.get(`${T.cluster}::cache-dev`)?.protect, false);
      const protectedCache = [...prodRegs.values()].filter((r) => r.protect && r.name.startsWith("cache-")).map((r) => r.name);
      assert.deepEqual(protectedCache, ["cache-prod"], "the cluster only: its security group, subnet group and the cache Lambda are not");
    });

    it("retainOnDelete: the account-wide API Gateway CloudWatch role, its attachment and aws.apigateway.Account (prod manages them)", () => {
      for (const type of [T.role, T.attachment]) assert.equal(prod.one(type, "apigw-logs").options?.retainOnDelete, true, type);
      assert.equal(prod.one(T.account).options?.retainOnDelete, true);
      assert.equal(prod.one(T.cluster).options?.retainOnDelete, false, "only account-wide resources are kept");
    });
  });
});
