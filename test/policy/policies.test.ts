import * as assert from "node:assert/strict";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { runProgram, type MockResource, type ProgramRun } from "../support/program";
import { clone, firstPreview } from "../support/resources";
import { mandatoryFailures, PolicyConfigError, runPolicies, type PolicyConfig, type PolicyVerdict } from "../../plan/policyRunner";
import {
  cacheInvalidationAuthorized,
  isWorldLike,
  lambdaReservedConcurrency,
  lambdaTimeout,
  logRetention,
  memcachedIngressFromSecurityGroups,
  noWorldIngress,
  policies,
  privateApiRestrictedToEndpoint,
  privatePolicyProblem,
  productionResilience,
  s3NoPublicAcl,
  s3PrivateAndEncrypted,
  stageCacheDefaultEncrypted,
  stageCacheEncrypted,
  T,
  UNRESERVED_CONCURRENCY_TAG,
  worldWebIngressOnlyOnAlb,
  type ArchitecturePolicy,
} from "../../policy/policies";

/**
 * Each policy is run the way the analyzer runs it, against the resources the real program registers
 * for a stack under mocks. Violating inputs are those same resources with one property changed (or
 * one resource added or removed), so each test shows the policy reacts to exactly that change.
 */

/** Change inputs and state of the resources matching `pick` alike (resource policies read inputs, stack policies state). */
function mutate(resources: MockResource[], pick: (r: MockResource) => boolean, change: (props: Record<string, any>) => void): MockResource[] { // eslint-disable-line @typescript-eslint/no-explicit-any -- resource props are untyped
  const out = clone(resources);
  const hits = out.filter(pick);
  assert.ok(hits.length > 0, "the mutation matched no resource: the test would prove nothing");
  for (const r of hits) { change(r.inputs); change(r.state); }
  return out;
}

async function verdict(policy: ArchitecturePolicy, resources: MockResource[], config: PolicyConfig = {}): Promise<PolicyVerdict> {
  const [v] = await runPolicies(resources, [policy], config);
  return v;
}

async function assertFails(policy: ArchitecturePolicy, resources: MockResource[], pattern: RegExp, config: PolicyConfig = {}): Promise<void> {
  const v = await verdict(policy, resources, config);
  assert.equal(v.status, "fail", `${policy.name} should fail; got ${v.status} ${v.reason ?? ""}`);
  assert.ok(v.violations.some((x) => pattern.test(x.message)), `${policy.name} violations ${JSON.stringify(v.violations.map((x) => x.message))} should match ${pattern}`);
}

async function assertPasses(policy: ArchitecturePolicy, resources: MockResource[], config: PolicyConfig = {}): Promise<void> {
  const v = await verdict(policy, resources, config);
  assert.equal(v.status, "pass", `${policy.name} should pass; violations: ${JSON.stringify(v.violations)} ${v.reason ?? ""}`);
}

describe("policy pack", function () {
  this.timeout(60_000);
  let dev: ProgramRun;
  let prod: ProgramRun;
  before(async () => {
    dev = await runProgram("dev");
    prod = await runProgram("prod");
  });

  describe("both stacks as configured", () => {
    for (const stack of ["dev", "prod"] as const) {
      it(`${stack}: every policy passes (production-multi-az applies to prod only)`, async () => {
        const run = stack === "dev" ? dev : prod;
        const verdicts = await runPolicies(run.resources, policies);
        assert.equal(verdicts.length, policies.length);
        assert.deepEqual(mandatoryFailures(verdicts), []);
        for (const v of verdicts) {
          const expected = v.policy === productionResilience.name && stack === "dev" ? "not-applicable" : "pass";
          assert.equal(v.status, expected, `${v.policy}: ${JSON.stringify(v.violations)}`);
        }
      });
    }

    it("every policy is mandatory, named uniquely and described", () => {
      const names = policies.map((p) => p.name);
      assert.equal(new Set(names).size, names.length);
      for (const p of policies) {
        assert.equal(p.enforcementLevel, "mandatory", p.name);
        assert.ok(p.description.length > 20, p.name);
      }
    });

    it("the policies see the resources they guard (not vacuous passes)", () => {
      // Each stack policy links resources through property dependencies; these are the links it needs.
      const rule = dev.resources.find((r) => r.type === T.ingressRule && r.name.startsWith("cache-dev-from-"));
      assert.ok(rule?.propertyDependencies.securityGroupId?.length, "ingress rule -> security group link");
      const cluster = dev.one(T.memcached);
      assert.ok(cluster.propertyDependencies.securityGroupIds?.length, "cluster -> security groups link");
      const apiPolicy = dev.one(T.restApiPolicy);
      assert.ok(apiPolicy.propertyDependencies.restApiId?.length, "resource policy -> REST API link");
      const pab = dev.one(T.publicAccessBlock);
      assert.ok(pab.propertyDependencies.bucket?.length, "public access block -> bucket link");
      for (const nat of prod.ofType(T.natGateway)) assert.ok(nat.propertyDependencies.subnetId?.length, "NAT -> subnet link");
    });
  });

  describe("no-world-ingress", () => {
    it("fails a memcached rule opened to 0.0.0.0/0", async () => {
      const bad = mutate(dev.resources, (r) => r.type === T.ingressRule && r.name === "cache-dev-from-cache-handler", (p) => {
        delete p.referencedSecurityGroupId; p.cidrIpv4 = "0.0.0.0/0";
      });
      await assertFails(noWorldIngress, bad, /opens port 11211 \(protocol tcp\) to 0\.0\.0\.0\/0/);
    });

    it("fails ::/0 in an inline ingress block, and all protocols from half the internet (0.0.0.0/1)", async () => {
      const inline = mutate(dev.resources, (r) => r.type === T.securityGroup && r.name === "svc-dev-task-sg", (p) => {
        p.ingress = [{ protocol: "tcp", fromPort: 8080, toPort: 8080, ipv6CidrBlocks: ["::/0"] }];
      });
      await assertFails(noWorldIngress, inline, /opens port 8080 \(protocol tcp\) to ::\/0/);
      const half = mutate(dev.resources, (r) => r.type === T.ingressRule && r.name === "svc-dev-tasks-from-alb", (p) => {
        delete p.referencedSecurityGroupId; p.cidrIpv4 = "0.0.0.0/1"; p.ipProtocol = "-1";
      });
      await assertFails(noWorldIngress, half, /opens all ports \(protocol -1\) to 0\.0\.0\.0\/1/);
    });

    it("checks the VPC's default security group too", async () => {
      const bad = mutate(dev.resources, (r) => r.type === "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", (p) => {
        p.ingress = [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }];
      });
      await assertFails(noWorldIngress, bad, /opens all ports \(protocol -1\) to 0\.0\.0\.0\/0/);
    });

    it("leaves tcp 80/443 from the world to world-web-ingress-only-on-internet-facing-alb", async () => {
      const web = mutate(dev.resources, (r) => r.type === T.ingressRule && r.name.startsWith("svc-dev-alb-in-"), (p) => { p.cidrIpv4 = "0.0.0.0/0"; });
      await assertPasses(noWorldIngress, web);
    });

    it("tells world-like ranges from private ones", () => {
      for (const c of ["0.0.0.0/0", "::/0", "0.0.0.0/1", "128.0.0.0/1", "52.0.0.0/6", "2000::/3", "10.0.0.0/1", "127.0.0.1/2", "fd00::/1"]) assert.ok(isWorldLike(c), c);
      for (const c of ["10.0.0.0/8", "10.20.0.0/16", "52.1.2.3/32", "fc00::/7", "192.168.0.0/16"]) assert.ok(!isWorldLike(c), c);
    });
  });

  describe("world-web-ingress-only-on-internet-facing-alb", () => {
    it("fails 80/443 opened to the world while the ALB is internal", async () => {
      const bad = mutate(dev.resources, (r) => r.type === T.ingressRule && r.name.startsWith("svc-dev-alb-in-"), (p) => { p.cidrIpv4 = "0.0.0.0/0"; });
      await assertFails(worldWebIngressOnlyOnAlb, bad, /svc-dev-alb-in-80 opens port 80 of security group svc-dev-alb-sg to 0\.0\.0\.0\/0, and the group is also attached to svc-dev$/);
    });

    it("passes an internet-facing ALB on 80/443, and fails when the ALB's group is also on the tasks", async () => {
      const facing = await runProgram("dev", { albInternetFacing: "true", albCertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc" });
      const worldRules = facing.resources.filter((r) => r.type === T.ingressRule && r.inputs.cidrIpv4 === "0.0.0.0/0");
      assert.ok(worldRules.length >= 2, "an internet-facing ALB opens 80 and 443 to the world");
      await assertPasses(worldWebIngressOnlyOnAlb, facing.resources);
      await assertPasses(noWorldIngress, facing.resources);
      const shared = clone(facing.resources);
      const albSg = shared.find((r) => r.type === T.securityGroup && r.name === "svc-dev-alb-sg")!;
      shared.find((r) => r.type === "aws:ecs/service:Service")!.propertyDependencies.networkConfiguration.push(albSg.urn);
      await assertFails(worldWebIngressOnlyOnAlb, shared, /the group is also attached to svc-dev/);
      // Any resource that takes the group counts, e.g. an ENI attachment.
      const eni = clone(facing.resources);
      eni.push({ ...eni[0], type: "aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment", name: "eni-attach",
        urn: "urn:pulumi:dev::serverless-cache::aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment::eni-attach",
        inputs: {}, state: {}, custom: true, parent: undefined, dependencies: [], propertyDependencies: { securityGroupId: [albSg.urn] } });
      await assertFails(worldWebIngressOnlyOnAlb, eni, /also attached to eni-attach/);
    });
  });

  describe("memcached-ingress-from-security-groups-only", () => {
    it("fails a CIDR source on the memcached security group", async () => {
      const bad = mutate(prod.resources, (r) => r.type === T.ingressRule && r.name === "cache-prod-from-cache-handler", (p) => {
        delete p.referencedSecurityGroupId; p.cidrIpv4 = "10.20.0.0/16";
      });
      delete bad.find((r) => r.name === "cache-prod-from-cache-handler")!.propertyDependencies.referencedSecurityGroupId;
      await assertFails(memcachedIngressFromSecurityGroups, bad, /admits 10\.20\.0\.0\/16 into memcached cluster cache-prod/);
    });

    it("fails a cluster that has no security group of its own", async () => {
      const bad = clone(dev.resources);
      bad.find((r) => r.type === T.memcached)!.propertyDependencies = {};
      await assertFails(memcachedIngressFromSecurityGroups, bad, /no security group of its own/);
    });

    it("passes when every source is a security group", async () => {
      await assertPasses(memcachedIngressFromSecurityGroups, prod.resources);
    });
  });

  describe("lambda-timeout-within-project-maximum", () => {
    const isApi = (r: MockResource): boolean => r.type === T.lambda && r.name.startsWith("svc-dev") && !r.name.includes("failover");
    it("fails 900 s (Lambda's maximum) and 61 s (over the project maximum)", async () => {
      await assertFails(lambdaTimeout, mutate(dev.resources, isApi, (p) => { p.timeout = 900; }), /timeout = 900 s; allowed: 1\.\.60 s/);
      await assertFails(lambdaTimeout, mutate(dev.resources, isApi, (p) => { p.timeout = 61; }), /timeout = 61 s/);
    });
    it("passes 60 s and an unset timeout (Lambda's default 3 s)", async () => {
      await assertPasses(lambdaTimeout, mutate(dev.resources, isApi, (p) => { p.timeout = 60; }));
      await assertPasses(lambdaTimeout, mutate(dev.resources, isApi, (p) => { delete p.timeout; }));
    });
    it("honours a lower maximum from the policy config", async () => {
      await assertFails(lambdaTimeout, dev.resources, /timeout = 30 s; allowed: 1\.\.20 s/, { [lambdaTimeout.name]: { maxTimeoutSeconds: 20 } });
    });
  });

  describe("lambda-reserved-concurrency", () => {
    const isCache = (r: MockResource): boolean => r.type === T.lambda && r.name.startsWith("cache-handler");
    it("fails a function without reserved concurrency, or with -1", async () => {
      await assertFails(lambdaReservedConcurrency, mutate(dev.resources, isCache, (p) => { delete p.reservedConcurrentExecutions; }), /reservedConcurrentExecutions = unset/);
      await assertFails(lambdaReservedConcurrency, mutate(dev.resources, isCache, (p) => { p.reservedConcurrentExecutions = -1; }), /= -1/);
    });
    it("passes an explicit opt-out tag with a reason", async () => {
      const optOut = mutate(dev.resources, isCache, (p) => {
        delete p.reservedConcurrentExecutions; p.tags = { ...p.tags, [UNRESERVED_CONCURRENCY_TAG]: "bursty batch job, capped upstream" };
      });
      await assertPasses(lambdaReservedConcurrency, optOut);
      await assertFails(lambdaReservedConcurrency, mutate(optOut, isCache, (p) => { p.tags[UNRESERVED_CONCURRENCY_TAG] = " "; }), /unset/);
    });
  });

  describe("log-retention-set", () => {
    it("fails a log group kept forever", async () => {
      const bad = mutate(dev.resources, (r) => r.type === T.logGroup && r.name.startsWith("cache-handler"), (p) => { delete p.retentionInDays; });
      await assertFails(logRetention, bad, /keeps logs forever \(retentionInDays = unset\)/);
    });
    it("fails a function that logs to an auto-created log group", async () => {
      const bad = clone(dev.resources);
      const fn = bad.find((r) => r.type === T.lambda && r.name.startsWith("cache-handler"))!;
      delete fn.propertyDependencies.loggingConfig;
      await assertFails(logRetention, bad, /logs to a log group Lambda creates on first use/);
    });
    it("passes retention on every group", async () => {
      await assertPasses(logRetention, prod.resources);
    });
  });

  describe("private-api-restricted-to-vpc-endpoint", () => {
    const isPolicy = (r: MockResource): boolean => r.type === T.restApiPolicy;
    const doc = (run: ProgramRun): { Statement: Array<Record<string, unknown>> } => JSON.parse(run.one(T.restApiPolicy).state.policy as string);

    it("passes the component's policy (allow through own endpoint, deny the rest)", async () => {
      await assertPasses(privateApiRestrictedToEndpoint, dev.resources);
      assert.equal(privatePolicyProblem(JSON.stringify(doc(dev))), undefined);
    });
    it("fails without the Deny statement", async () => {
      const allowOnly = { ...doc(dev), Statement: doc(dev).Statement.filter((s) => s.Effect === "Allow") };
      await assertFails(privateApiRestrictedToEndpoint, mutate(dev.resources, isPolicy, (p) => { p.policy = JSON.stringify(allowOnly); }), /does not deny execute-api:Invoke on the whole API/);
    });
    it("fails an Allow without the aws:SourceVpce condition", async () => {
      const open = { ...doc(dev), Statement: doc(dev).Statement.map((s) => (s.Effect === "Allow" ? { ...s, Condition: undefined } : s)) };
      await assertFails(privateApiRestrictedToEndpoint, mutate(dev.resources, isPolicy, (p) => { p.policy = JSON.stringify(open); }), /without a StringEquals aws:SourceVpce/);
    });
    it("fails a private API with no resource policy at all", async () => {
      const bad = clone(dev.resources).filter((r) => r.type !== T.restApiPolicy);
      await assertFails(privateApiRestrictedToEndpoint, bad, /has no resource policy/);
    });
    it("fails a policy naming another VPC endpoint, or not built from this stack's endpoint", async () => {
      const foreign = JSON.stringify(doc(dev)).split("api-dev-execute-api-id").join("vpce-0123456789abcdef0");
      await assertFails(privateApiRestrictedToEndpoint, mutate(dev.resources, isPolicy, (p) => { p.policy = foreign; }), /VPC endpoint\(s\) vpce-0123456789abcdef0 that are not this stack's/);
      const literal = clone(dev.resources);
      literal.find(isPolicy)!.propertyDependencies.policy = [];
      await assertFails(privateApiRestrictedToEndpoint, literal, /not built from this stack's execute-api VPC endpoint/);
    });
    it("trusts the attached RestApiPolicy over the API's own policy output (\"\" until the policy exists)", async () => {
      await assertPasses(privateApiRestrictedToEndpoint, mutate(dev.resources, (r) => r.type === T.restApi, (p) => { p.policy = ""; }));
    });
    it("judges policy documents", () => {
      assert.match(privatePolicyProblem("{not json") ?? "", /not valid JSON/);
      assert.match(privatePolicyProblem(JSON.stringify({ Statement: [{ Effect: "Deny", Action: "*" }] })) ?? "", /allows no execute-api:Invoke/);
      const wildcard = { Statement: [{ Effect: "Allow", Action: "execute-api:*", Condition: { StringEquals: { "aws:SourceVpce": "vpce-1" } } },
        { Effect: "Deny", Action: ["execute-api:Invoke"], Resource: "execute-api:/*", Condition: { StringNotEquals: { "aws:sourceVpce": "vpce-1" } } }] };
      assert.equal(privatePolicyProblem(JSON.stringify(wildcard)), undefined);
      const notAction = { Statement: [{ Effect: "Allow", NotAction: "execute-api:ManageConnections" }, wildcard.Statement[1]] };
      assert.match(privatePolicyProblem(JSON.stringify(notAction)) ?? "", /without a StringEquals aws:SourceVpce/);
      const lowercase = { Statement: [{ Effect: "Allow", Action: "execute-api:invoke" }, wildcard.Statement[1]] };
      assert.match(privatePolicyProblem(JSON.stringify(lowercase)) ?? "", /without a StringEquals aws:SourceVpce/, "action names are case-insensitive");
      const partialDeny = { Statement: [wildcard.Statement[0], { ...wildcard.Statement[1], Resource: "execute-api:/*/POST/*" }] };
      assert.match(privatePolicyProblem(JSON.stringify(partialDeny)) ?? "", /does not deny execute-api:Invoke on the whole API/);
    });
  });

  describe("api-stage-cache-encrypted and api-cache-invalidation-authorized", () => {
    const cachedSettings = (r: MockResource): boolean => r.type === T.methodSettings && r.inputs.settings?.cachingEnabled === true;
    it("fail a cached method without encryption / with a permissive Cache-Control strategy", async () => {
      await assertFails(stageCacheEncrypted, mutate(prod.resources, cachedSettings, (p) => { p.settings.cacheDataEncrypted = false; }), /caches responses with cacheDataEncrypted = false/);
      await assertFails(cacheInvalidationAuthorized,
        mutate(prod.resources, cachedSettings, (p) => { p.settings.unauthorizedCacheControlHeaderStrategy = "SUCCEED_WITHOUT_RESPONSE_HEADER"; }), /required: true and FAIL_WITH_403/);
      await assertFails(cacheInvalidationAuthorized, mutate(prod.resources, cachedSettings, (p) => { p.settings.requireAuthorizationForCacheControl = false; }), /requireAuthorizationForCacheControl = false/);
    });
    it("pass the component's settings, and ignore uncached methods", async () => {
      await assertPasses(stageCacheEncrypted, prod.resources);
      await assertPasses(cacheInvalidationAuthorized, prod.resources);
      const uncached = mutate(prod.resources, (r) => r.type === T.methodSettings && r.inputs.settings?.cachingEnabled === false, (p) => {
        p.settings.cacheDataEncrypted = false; p.settings.requireAuthorizationForCacheControl = false;
      });
      await assertPasses(stageCacheEncrypted, uncached);
      await assertPasses(cacheInvalidationAuthorized, uncached);
    });
  });

  describe("api-stage-cache-default-encrypted", () => {
    it("fails a cached stage whose */* settings do not encrypt", async () => {
      const bad = mutate(prod.resources, (r) => r.type === T.methodSettings && r.inputs.methodPath === "*/*", (p) => { p.settings.cacheDataEncrypted = false; });
      await assertFails(stageCacheDefaultEncrypted, bad, /stage api-prod-stage has a cache cluster but no \*\/\* method settings/);
    });
    it("passes the component's stage", async () => {
      await assertPasses(stageCacheDefaultEncrypted, prod.resources);
    });
  });

  describe("s3-private-and-encrypted", () => {
    it("fails a bucket without its public access block, with one setting off, without encryption, or with a public ACL", async () => {
      await assertFails(s3PrivateAndEncrypted, clone(dev.resources).filter((r) => r.type !== T.publicAccessBlock), /no BucketPublicAccessBlock/);
      await assertFails(s3PrivateAndEncrypted, mutate(dev.resources, (r) => r.type === T.publicAccessBlock, (p) => { p.blockPublicPolicy = false; }), /no BucketPublicAccessBlock/);
      await assertFails(s3PrivateAndEncrypted, clone(dev.resources).filter((r) => r.type !== T.bucketEncryption), /no BucketServerSideEncryptionConfiguration of its own/);
      await assertFails(s3NoPublicAcl, mutate(dev.resources, (r) => r.type === T.bucket, (p) => { p.acl = "public-read"; }), /acl = public-read/);
    });
    it("does not take S3's computed default encryption (always present in state) for a declared one", async () => {
      const computed = mutate(dev.resources, (r) => r.type === T.bucket, (p) => {
        p.serverSideEncryptionConfiguration = { rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } } };
      }).filter((r) => r.type !== T.bucketEncryption);
      await assertFails(s3PrivateAndEncrypted, computed, /no BucketServerSideEncryptionConfiguration of its own/);
    });
    it("passes the component's bucket", async () => {
      await assertPasses(s3PrivateAndEncrypted, dev.resources);
      await assertPasses(s3NoPublicAcl, dev.resources);
    });
  });

  describe("production-multi-az", () => {
    it("fails prod with a single NAT gateway, naming the AZs left without one", async () => {
      const single = await runProgram("prod", { natMode: "single" });
      await assertFails(productionResilience, single.resources, /1 NAT gateway\(s\) for 3 AZs; no NAT gateway in us-east-1b, us-east-1c/);
    });
    it("fails prod with a single-AZ memcached cluster", async () => {
      const singleAz = await runProgram("prod", { cacheAzMode: "single-az" });
      await assertFails(productionResilience, singleAz.resources, /memcached cluster cache-prod: azMode = single-az/);
    });
    it("fails a private subnet whose default route uses another AZ's NAT gateway", async () => {
      const crossed = clone(prod.resources);
      const nat0 = crossed.find((r) => r.type === T.natGateway && r.name === "net-prod-nat-0")!;
      crossed.find((r) => r.type === T.route && r.name === "net-prod-private-default-1")!.propertyDependencies.natGatewayId = [nat0.urn];
      await assertFails(productionResilience, crossed, /subnet net-prod-private-1 \(us-east-1b\) reaches the internet through NAT gateway net-prod-nat-0 in us-east-1a/);
    });
    it("does not apply to dev, unless the config names dev a production stack", async () => {
      const v = await verdict(productionResilience, dev.resources);
      assert.equal(v.status, "not-applicable");
      await assertFails(productionResilience, dev.resources, /1 NAT gateway\(s\) for 2 AZs/, { [productionResilience.name]: { productionStacks: ["dev", "prod"] } });
    });
    it("passes prod as configured (one NAT per AZ, cross-AZ nodes)", async () => {
      await assertPasses(productionResilience, prod.resources);
    });
  });

  describe("in a preview before anything exists (values unknown)", () => {
    for (const stack of ["dev", "prod"] as const) {
      it(`${stack}: every policy still runs and passes (none is skipped as "can't run during preview")`, async () => {
        const verdicts = await runPolicies(firstPreview(stack === "dev" ? dev.resources : prod.resources), policies);
        for (const v of verdicts) assert.ok(v.status === "pass" || v.status === "not-applicable", `${v.policy}: ${v.status} ${v.reason ?? ""} ${JSON.stringify(v.violations)}`);
      });
    }
    it("still catches a CIDR into memcached and a world rule when the group ids are unknown", async () => {
      const bad = firstPreview(mutate(prod.resources, (r) => r.type === T.ingressRule && r.name === "cache-prod-from-cache-handler", (p) => {
        delete p.referencedSecurityGroupId; p.cidrIpv4 = "0.0.0.0/0";
      }));
      delete bad.find((r) => r.name === "cache-prod-from-cache-handler")!.propertyDependencies.referencedSecurityGroupId;
      await assertFails(memcachedIngressFromSecurityGroups, bad, /admits 0\.0\.0\.0\/0 into memcached cluster cache-prod/);
      await assertFails(noWorldIngress, bad, /opens port 11211/);
    });
    it("reports a policy that needs an unknown value as cannot-check, like the analyzer", async () => {
      const peeks: StackValidationPolicy = {
        name: "peeks", description: "reads a raw unknown", enforcementLevel: "mandatory",
        validateStack: (args) => { for (const r of args.resources) if (r.type === T.bucket) void String(r.props.arn); },
      };
      const v = await verdict(peeks, firstPreview(dev.resources));
      assert.equal(v.status, "cannot-check");
      assert.match(v.reason ?? "", /can't be known during preview/);
    });
  });

  describe("policy config (as pulumi --policy-pack-config)", () => {
    const single = (): Promise<ProgramRun> => runProgram("prod", { natMode: "single" });
    it("applies a per-policy enforcement level: advisory failures do not block, disabled policies do not run", async () => {
      const run = await single();
      const advisory = await runPolicies(run.resources, policies, { [productionResilience.name]: "advisory" });
      assert.equal(advisory.find((v) => v.policy === productionResilience.name)?.status, "fail");
      assert.deepEqual(mandatoryFailures(advisory), []);
      const disabled = await runPolicies(run.resources, policies, { [productionResilience.name]: { enforcementLevel: "disabled" } });
      assert.equal(disabled.find((v) => v.policy === productionResilience.name)?.status, "disabled");
      const all = await runPolicies(run.resources, policies, { all: "advisory" });
      assert.deepEqual(mandatoryFailures(all), []);
    });
    it("treats remediate as blocking (these policies cannot remediate), and ignores an all entry without a level", async () => {
      const run = await single();
      assert.equal(mandatoryFailures(await runPolicies(run.resources, policies, { all: "remediate" })).length, 1);
      assert.equal(mandatoryFailures(await runPolicies(run.resources, policies, { all: "advisory", [productionResilience.name]: "remediate" })).length, 1);
      assert.equal(mandatoryFailures(await runPolicies(dev.resources, policies, { all: {} })).length, 0);
    });
    it("rejects unknown policies, bad levels and settings that do not match the schema, naming each", async () => {
      await assert.rejects(runPolicies(dev.resources, policies, { [lambdaTimeout.name]: 5 as never }), /lambda-timeout-within-project-maximum: 5 must be a string \(an enforcement level\) or an object/);
      await assert.rejects(runPolicies(dev.resources, policies, { [lambdaTimeout.name]: null as never }), /null must be a string/);
      await assert.rejects(runPolicies(dev.resources, policies, { "no-such-policy": "mandatory" }), (e: Error) => e instanceof PolicyConfigError && /no-such-policy: no such policy; allowed: all, no-world-ingress/.test(e.message));
      await assert.rejects(runPolicies(dev.resources, policies, { [lambdaTimeout.name]: { maxTimeoutSeconds: "abc" } }), /lambda-timeout-within-project-maximum\.maxTimeoutSeconds = "abc": must be integer from 1 to 899/);
      await assert.rejects(runPolicies(dev.resources, policies, { [lambdaTimeout.name]: "strict" as never }), /enforcement level "strict"; allowed: advisory, mandatory, remediate, disabled/);
      await assert.rejects(runPolicies(dev.resources, policies, { [lambdaTimeout.name]: { maxTimeout: 5 } }), /maxTimeout: unknown setting; allowed: maxTimeoutSeconds/);
    });
  });

  describe("the runner", () => {
    it("reports a policy that throws as a failure, not a crash", async () => {
      const broken: StackValidationPolicy = { name: "broken", description: "throws", enforcementLevel: "mandatory", validateStack: () => { throw new Error("boom"); } };
      const v = await verdict(broken, dev.resources);
      assert.equal(v.status, "fail");
      assert.match(v.violations[0].message, /policy threw: boom/);
    });
    it("keeps advisory failures out of the mandatory failures", async () => {
      const advisory: ResourceValidationPolicy = {
        name: "advisory", description: "always complains", enforcementLevel: "advisory",
        validateResource: (args, report) => { if (args.type === "aws:ec2/vpc:Vpc") report("x"); },
      };
      const verdicts = await runPolicies(dev.resources, [advisory]);
      assert.equal(verdicts[0].status, "fail");
      assert.deepEqual(mandatoryFailures(verdicts), []);
    });
  });
});
