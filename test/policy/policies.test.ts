import * as assert from "node:assert/strict";
import type { PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { runProgram, type MockResource, type ProgramRun } from "../support/program";
import { clone, copy, firstPreview } from "../support/resources";
import { mandatoryFailures, PolicyConfigError, runPolicies, UNKNOWN_STRING, type PolicyConfig, type PolicyVerdict } from "../../plan/policyRunner";
import {
  alarmsNotifySomeone,
  albSubnetsLargeEnough,
  asyncInvocationsBounded,
  cacheInvalidationAuthorized,
  DEFAULT_IAM_WILDCARD_EXCEPTIONS,
  iamNoWildcards,
  iamWildcardProblems,
  interfaceEndpointsDeleteBeforeReplace,
  isEveryResource,
  isPublicCidr,
  isWorldLike,
  lambdaPermissionSourceArn,
  lambdaReservedConcurrency,
  lambdaSubnetsInSupportedZones,
  lambdaTimeout,
  logRetention,
  memcachedChangesInMaintenanceWindow,
  memcachedIngressFromSecurityGroups,
  noOpenEgress,
  noWorldIngress,
  policies,
  privateApiRestrictedToEndpoint,
  privatePolicyProblem,
  productionResilience,
  s3GatewayEndpointScoped,
  s3NoPublicAcl,
  s3PrivateAndEncrypted,
  stageCacheDefaultEncrypted,
  stageCacheEncrypted,
  subnetsByZoneId,
  T,
  UNRESERVED_CONCURRENCY_TAG,
  vpcLinkSubnetsInSupportedZones,
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

/** The resources plus one more, declared with `props` as inputs and state, and `propertyDependencies` (by resource name). */
function withResource(resources: MockResource[], type: string, name: string, props: Record<string, unknown>, dependsOn: Record<string, string[]> = {}): MockResource[] {
  const out = clone(resources);
  const stack = /^urn:pulumi:([^:]+)::/.exec(out[0].urn)![1];
  const urnOf = (n: string): string => {
    const r = out.find((x) => x.name === n);
    assert.ok(r, `no resource ${n}`);
    return r.urn;
  };
  const propertyDependencies = Object.fromEntries(Object.entries(dependsOn).map(([prop, names]) => [prop, names.map(urnOf)]));
  out.push({
    type, name, id: `${name}-id`, urn: `urn:pulumi:${stack}::serverless-cache::${type}::${name}`, inputs: copy(props), state: copy(props), custom: true,
    dependencies: [...new Set(Object.values(propertyDependencies).flat())], propertyDependencies,
  });
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

    it("every policy is mandatory (memcached-changes-in-maintenance-window advisory), named uniquely and described", () => {
      const names = policies.map((p) => p.name);
      assert.equal(new Set(names).size, names.length);
      for (const p of policies) {
        assert.equal(p.enforcementLevel, p === memcachedChangesInMaintenanceWindow ? "advisory" : "mandatory", p.name);
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
      for (const run of [dev, prod]) {
        assert.ok(run.one(T.vpcLink).propertyDependencies.subnetIds?.some((u) => u.includes(T.subnet)), "VPC link -> subnets link");
        assert.ok(run.one(T.loadBalancer).propertyDependencies.subnets?.some((u) => u.includes(T.subnet)), "ALB -> subnets link");
        const service = run.one(T.ecsService);
        assert.ok(service.propertyDependencies.networkConfiguration?.some((u) => u.includes(T.subnet)), "ECS service -> subnets link");
        assert.ok(service.propertyDependencies.taskDefinition?.some((u) => u.includes(T.taskDefinition)), "ECS service -> task definition link");
        assert.equal(run.one(T.taskDefinition).state.runtimePlatform?.cpuArchitecture, "ARM64");
        const inVpc = run.ofType(T.lambda).filter((f) => f.inputs.vpcConfig);
        assert.ok(inVpc.length >= 2 && inVpc.every((f) => f.propertyDependencies.vpcConfig?.some((u) => u.includes(T.subnet))), "function -> subnets link");
        for (const subnet of run.ofType(T.subnet)) assert.match(String(subnet.state.availabilityZoneId), /^use1-az\d$/, "subnets carry their zone ID");
        const targets = run.ofType(T.eventTarget);
        assert.ok(targets.length >= 2 && targets.every((t) => t.propertyDependencies.arn?.some((u) => u.includes(T.lambda))), "event target -> function link");
        assert.ok(run.one(T.eventInvokeConfig).propertyDependencies.functionName?.length, "invoke config -> function link");
        assert.ok(run.ofType(T.metricAlarm).length >= 5, "alarms");
        assert.ok(run.ofType(T.vpcEndpoint).some((e) => e.inputs.privateDnsEnabled === true), "private-DNS endpoints");
      }
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
      // The internal ALB admits only the VPC link: open that rule to the world instead.
      const web = mutate(dev.resources, (r) => r.type === T.ingressRule && r.name === "api-dev-alb-from-vpclink", (p) => { delete p.referencedSecurityGroupId; p.cidrIpv4 = "0.0.0.0/0"; });
      await assertPasses(noWorldIngress, web);
    });

    it("tells world-like ranges from private ones", () => {
      for (const c of ["0.0.0.0/0", "::/0", "0.0.0.0/1", "128.0.0.0/1", "52.0.0.0/6", "2000::/3", "10.0.0.0/1", "127.0.0.1/2", "fd00::/1"]) assert.ok(isWorldLike(c), c);
      for (const c of ["10.0.0.0/8", "10.20.0.0/16", "52.1.2.3/32", "fc00::/7", "192.168.0.0/16"]) assert.ok(!isWorldLike(c), c);
    });

    const cacheRule = (r: MockResource): boolean => r.type === T.ingressRule && r.name === "cache-dev-from-cache-handler";
    it("fails a public address of any length on the memcached port: a /32, an IPv6 /128, a port range or all protocols that include 11211", async () => {
      await assertFails(noWorldIngress, mutate(dev.resources, cacheRule, (p) => { delete p.referencedSecurityGroupId; p.cidrIpv4 = "52.1.2.3/32"; }),
        /^opens port 11211 \(protocol tcp\), which includes the memcached port 11211, to public range\(s\) 52\.1\.2\.3\/32; memcached has no authentication, so no public address of any prefix length \(not even a \/32\) may reach it/);
      await assertFails(noWorldIngress, mutate(dev.resources, cacheRule, (p) => { delete p.referencedSecurityGroupId; p.cidrIpv6 = "2600:1f18:abcd::1/128"; }),
        /opens port 11211 \(protocol tcp\), which includes the memcached port 11211, to public range\(s\) 2600:1f18:abcd::1\/128/);
      await assertFails(noWorldIngress, mutate(dev.resources, (r) => r.type === T.ingressRule && r.name === "svc-dev-tasks-from-alb", (p) => {
        delete p.referencedSecurityGroupId; p.cidrIpv4 = "198.51.100.0/24"; p.fromPort = 0; p.toPort = 65535;
      }), /opens ports 0-65535 \(protocol tcp\), which includes the memcached port 11211, to public range\(s\) 198\.51\.100\.0\/24/);
      await assertFails(noWorldIngress, mutate(dev.resources, (r) => r.type === T.securityGroup && r.name === "cache-dev-sg", (p) => {
        p.ingress = [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["203.0.113.9/32"] }];
      }), /opens all ports \(protocol -1\), which includes the memcached port 11211, to public range\(s\) 203\.0\.113\.9\/32/);
      // A private range on 11211 is memcached-ingress-from-security-groups-only's to refuse; a public /32 on another port is allowed by choice.
      for (const cidr of ["10.10.0.0/16", "100.64.0.0/10", "172.16.5.0/24", "169.254.0.0/16"]) {
        await assertPasses(noWorldIngress, mutate(dev.resources, cacheRule, (p) => { delete p.referencedSecurityGroupId; p.cidrIpv4 = cidr; }));
      }
      await assertPasses(noWorldIngress, mutate(dev.resources, (r) => r.type === T.ingressRule && r.name === "svc-dev-tasks-from-alb", (p) => { delete p.referencedSecurityGroupId; p.cidrIpv4 = "52.1.2.3/32"; }));
    });

    it("fails a managed prefix list as a source on any port but tcp 80/443 (11211 above all), also when its id is unknown at preview", async () => {
      await assertFails(noWorldIngress, mutate(dev.resources, cacheRule, (p) => { delete p.referencedSecurityGroupId; p.prefixListId = "pl-0123456789abcdef0"; }),
        /^admits prefix list pl-0123456789abcdef0 on port 11211 \(protocol tcp\); a prefix list's entries are managed outside this rule and may hold any range, 0\.0\.0\.0\/0 included, so only tcp 80\/443 may come from one/);
      await assertFails(noWorldIngress, mutate(dev.resources, cacheRule, (p) => { delete p.referencedSecurityGroupId; p.prefixListId = UNKNOWN_STRING; }),
        /admits prefix list \(unknown at preview\) on port 11211/);
      await assertFails(noWorldIngress, mutate(dev.resources, (r) => r.type === T.securityGroup && r.name === "svc-dev-task-sg", (p) => {
        p.ingress = [{ protocol: "tcp", fromPort: 8080, toPort: 8080, prefixListIds: ["pl-0aaaabbbbccccdddd"] }];
      }), /admits prefix list pl-0aaaabbbbccccdddd on port 8080/);
      const rule = withResource(dev.resources, T.securityGroupRule, "cache-dev-from-office", {
        type: "ingress", securityGroupId: "cache-dev-sg-id", protocol: "tcp", fromPort: 11211, toPort: 11211, prefixListIds: ["pl-0123456789abcdef0"],
      });
      await assertFails(noWorldIngress, rule, /admits prefix list pl-0123456789abcdef0 on port 11211/);
      // On tcp 443 (e.g. CloudFront's origin-facing list on an internet-facing ALB) a prefix list is allowed.
      await assertPasses(noWorldIngress, mutate(dev.resources, (r) => r.type === T.ingressRule && r.name === "api-dev-endpoint-from-cidr-0", (p) => {
        delete p.cidrIpv4; p.prefixListId = "pl-3b927c52";
      }));
    });

    it("tells public ranges of any length from private, CGNAT, link-local and loopback ones", () => {
      for (const c of ["52.1.2.3/32", "0.0.0.0/0", "10.0.0.0/7", "100.128.0.0/10", "172.32.0.0/16", "192.169.0.0/16", "::/0", "2600:1f18::/32", "2001:db8::1/128", "fe00::/7"]) {
        assert.ok(isPublicCidr(c), c);
      }
      for (const c of ["10.1.2.3/32", "172.16.0.0/12", "172.31.255.255/32", "192.168.1.0/24", "100.64.0.0/10", "100.127.255.255/32", "169.254.169.254/32", "127.0.0.1/32",
        "fd12:3456::/48", "fc00::/7", "fe80::1/128", "::1/128", "not-a-cidr", "1.2.3.4/33", "1.2.3/8", "1::2::3/64"]) {
        assert.ok(!isPublicCidr(c), c);
      }
    });
  });

  describe("world-web-ingress-only-on-internet-facing-alb", () => {
    it("fails 80/443 opened to the world while the ALB is internal", async () => {
      const bad = mutate(dev.resources, (r) => r.type === T.ingressRule && r.name === "api-dev-alb-from-vpclink", (p) => { delete p.referencedSecurityGroupId; p.cidrIpv4 = "0.0.0.0/0"; });
      await assertFails(worldWebIngressOnlyOnAlb, bad, /api-dev-alb-from-vpclink opens port 80 of security group svc-dev-alb-sg to 0\.0\.0\.0\/0, and the group is also attached to svc-dev$/);
    });

    it("treats a prefix list on 80/443 like the world: fails it on the internal ALB's group (no-world-ingress lets 80/443 prefix lists through to this check)", async () => {
      const bad = mutate(dev.resources, (r) => r.type === T.ingressRule && r.name === "api-dev-alb-from-vpclink", (p) => { delete p.referencedSecurityGroupId; p.prefixListId = "pl-0123456789abcdef0"; });
      assert.equal((await verdict(noWorldIngress, bad)).status, "pass", "no-world-ingress leaves 80/443 to this policy");
      await assertFails(worldWebIngressOnlyOnAlb, bad,
        /^api-dev-alb-from-vpclink opens port 80 of security group svc-dev-alb-sg to prefix list pl-0123456789abcdef0, and the group is also attached to svc-dev$/);
      const unknownList = mutate(dev.resources, (r) => r.type === T.ingressRule && r.name === "api-dev-alb-from-vpclink", (p) => { delete p.referencedSecurityGroupId; p.prefixListId = UNKNOWN_STRING; });
      await assertFails(worldWebIngressOnlyOnAlb, firstPreview(unknownList), /api-dev-alb-from-vpclink opens port 80 of security group svc-dev-alb-sg to prefix list \(unknown at preview\)/);
    });

    it("passes an internet-facing ALB on 80/443, and fails when the ALB's group is also on the tasks", async () => {
      const facing = await runProgram("dev", { albInternetFacing: "true", albCertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc", albDomainName: "api.example.com" });
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
      const bad = mutate(dev.resources, (r) => r.type === T.memcached, (p) => { delete p.securityGroupIds; });
      bad.find((r) => r.type === T.memcached)!.propertyDependencies = {};
      await assertFails(memcachedIngressFromSecurityGroups, bad, /^memcached cluster cache-dev has no security group of its own \(securityGroupIds\), so it gets the VPC default group$/);
    });

    it("fails 10.0.0.0/8 from a rule that names the memcached group by literal id (no property dependency)", async () => {
      const isRule = (r: MockResource): boolean => r.type === T.ingressRule && r.name === "cache-dev-from-cache-handler";
      const bad = mutate(dev.resources, isRule, (p) => { delete p.referencedSecurityGroupId; p.cidrIpv4 = "10.0.0.0/8"; });
      const rule = bad.find(isRule)!;
      rule.propertyDependencies = {};
      assert.equal(rule.inputs.securityGroupId, dev.one(T.securityGroup, "cache-dev-sg").id, "names the group by its id only");
      await assertFails(memcachedIngressFromSecurityGroups, bad, /^cache-dev-from-cache-handler admits 10\.0\.0\.0\/8 into memcached cluster cache-dev \(port 11211\); only security groups are allowed$/);
      assert.equal((await verdict(noWorldIngress, bad)).status, "pass", "a private range is not the internet: only this policy catches it");
      // The same as an aws.ec2.SecurityGroupRule, from a prefix list, declared outside the component.
      const added = withResource(dev.resources, T.securityGroupRule, "cache-dev-from-office", {
        type: "ingress", securityGroupId: "cache-dev-sg-id", protocol: "tcp", fromPort: 11211, toPort: 11211, prefixListIds: ["pl-0123456789abcdef0"],
      });
      await assertFails(memcachedIngressFromSecurityGroups, added, /^cache-dev-from-office admits prefix list pl-0123456789abcdef0 into memcached cluster cache-dev/);
    });

    it("links the cluster to its groups by literal id too, and fails groups this stack does not hold", async () => {
      const literal = clone(dev.resources);
      literal.find((r) => r.type === T.memcached)!.propertyDependencies = {};
      await assertPasses(memcachedIngressFromSecurityGroups, literal);
      const bad = mutate(literal, (r) => r.type === T.ingressRule && r.name === "cache-dev-from-cache-handler", (p) => { delete p.referencedSecurityGroupId; p.cidrIpv4 = "10.10.0.0/16"; });
      await assertFails(memcachedIngressFromSecurityGroups, bad, /cache-dev-from-cache-handler admits 10\.10\.0\.0\/16 into memcached cluster cache-dev/);
      const foreign = mutate(literal, (r) => r.type === T.memcached, (p) => { p.securityGroupIds = ["sg-0fedcba9876543210"]; });
      await assertFails(memcachedIngressFromSecurityGroups, foreign,
        /^memcached cluster cache-dev uses security group\(s\) sg-0fedcba9876543210 that are not security groups of this stack, so no policy can see whom they admit/);
      const foreignRule = withResource(foreign, T.ingressRule, "to-foreign", { securityGroupId: "sg-0fedcba9876543210", ipProtocol: "tcp", fromPort: 11211, toPort: 11211, cidrIpv4: "10.0.0.0/8" });
      await assertFails(memcachedIngressFromSecurityGroups, foreignRule, /^to-foreign admits 10\.0\.0\.0\/8 into memcached cluster cache-dev/);
    });

    it("passes when every source is a security group", async () => {
      await assertPasses(memcachedIngressFromSecurityGroups, prod.resources);
    });
  });

  describe("no-open-egress", () => {
    const lambdaOut = (r: MockResource): boolean => r.type === T.egressRule && r.name === "svc-dev-lambda-out-443";
    it("passes both stacks, whose only world egress is tcp 443 (upstream and AWS APIs through NAT)", async () => {
      for (const run of [dev, prod]) {
        const world = run.ofType(T.egressRule).filter((r) => r.inputs.cidrIpv4 === "0.0.0.0/0");
        assert.ok(world.length >= 3, `${run.stack}: world egress rules to check`);
        assert.deepEqual([...new Set(world.map((r) => `${r.inputs.ipProtocol} ${r.inputs.fromPort}-${r.inputs.toPort}`))], ["tcp 443-443"]);
        await assertPasses(noOpenEgress, run.resources);
      }
    });
    it("fails world egress on another port, on a range, over udp, to ::/0, and all protocols even though 443 is allowed", async () => {
      await assertFails(noOpenEgress, mutate(dev.resources, lambdaOut, (p) => { p.fromPort = 80; p.toPort = 80; }),
        /^svc-dev-lambda-out-443 \(security group svc-dev-lambda-sg\) opens port 80 \(protocol tcp\) to 0\.0\.0\.0\/0; world egress is allowed only on tcp 443 \(config allowedWorldEgressPorts\)/);
      await assertFails(noOpenEgress, mutate(dev.resources, lambdaOut, (p) => { p.ipProtocol = "-1"; p.fromPort = -1; p.toPort = -1; }),
        /^svc-dev-lambda-out-443 \(security group svc-dev-lambda-sg\) sends all protocols and ports \(protocol -1\) to 0\.0\.0\.0\/0; world egress is allowed only on tcp 443 \(config allowedWorldEgressPorts\), never all protocols$/);
      await assertFails(noOpenEgress, mutate(dev.resources, lambdaOut, (p) => { p.fromPort = 443; p.toPort = 444; }), /opens ports 443-444 \(protocol tcp\) to 0\.0\.0\.0\/0/);
      await assertFails(noOpenEgress, mutate(dev.resources, lambdaOut, (p) => { p.ipProtocol = "udp"; }), /opens port 443 \(protocol udp\) to 0\.0\.0\.0\/0/);
      await assertFails(noOpenEgress, mutate(dev.resources, lambdaOut, (p) => { delete p.cidrIpv4; p.cidrIpv6 = "::/0"; p.fromPort = 22; p.toPort = 22; }), /opens port 22 \(protocol tcp\) to ::\/0/);
      await assertFails(noOpenEgress, mutate(dev.resources, lambdaOut, (p) => { p.cidrIpv4 = "0.0.0.0/1"; p.ipProtocol = "6"; p.fromPort = 5432; p.toPort = 5432; }), /opens port 5432 \(protocol 6\) to 0\.0\.0\.0\/1/);
    });
    it("checks inline egress of a group (and of the VPC's default group) and aws.ec2.SecurityGroupRule", async () => {
      await assertFails(noOpenEgress, mutate(dev.resources, (r) => r.type === T.securityGroup && r.name === "cache-dev-sg", (p) => {
        p.egress = [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }];
      }), /^cache-dev-sg sends all protocols and ports \(protocol -1\) to 0\.0\.0\.0\/0/);
      await assertFails(noOpenEgress, mutate(dev.resources, (r) => r.type === T.defaultSecurityGroup, (p) => {
        p.egress = [{ protocol: "tcp", fromPort: 0, toPort: 65535, ipv6CidrBlocks: ["::/0"] }];
      }), /^net-dev-default-sg opens ports 0-65535 \(protocol tcp\) to ::\/0/);
      const rule = withResource(dev.resources, T.securityGroupRule, "tasks-out-smtp", {
        type: "egress", securityGroupId: "svc-dev-task-sg-id", protocol: "tcp", fromPort: 25, toPort: 25, cidrBlocks: ["0.0.0.0/0"],
      }, { securityGroupId: ["svc-dev-task-sg"] });
      await assertFails(noOpenEgress, rule, /^tasks-out-smtp \(security group svc-dev-task-sg\) opens port 25 \(protocol tcp\) to 0\.0\.0\.0\/0/);
      // Ingress is not egress; narrow public destinations are an allowlist, not the world.
      await assertPasses(noOpenEgress, mutate(dev.resources, lambdaOut, (p) => { p.cidrIpv4 = "52.1.2.3/32"; p.fromPort = 5432; p.toPort = 5432; }));
    });
    it("takes the allowed ports from the config (e.g. an http:// upstream on 80): [443, 80] passes port 80, [] fails the stacks' 443", async () => {
      const http = mutate(dev.resources, lambdaOut, (p) => { p.fromPort = 80; p.toPort = 80; });
      await assertPasses(noOpenEgress, http, { [noOpenEgress.name]: { allowedWorldEgressPorts: [443, 80] } });
      const v = await verdict(noOpenEgress, dev.resources, { [noOpenEgress.name]: { allowedWorldEgressPorts: [] } });
      assert.equal(v.status, "fail");
      assert.ok(v.violations.length >= 3 && v.violations.every((x) => /opens port 443 \(protocol tcp\) to 0\.0\.0\.0\/0; world egress is allowed only on nothing/.test(x.message)), JSON.stringify(v.violations));
      await assert.rejects(runPolicies(dev.resources, [noOpenEgress], { [noOpenEgress.name]: { allowedWorldEgressPorts: "443" } }), /no-open-egress\.allowedWorldEgressPorts = "443": must be array/);
    });
    it("allows egress to an AWS-managed service prefix list (a gateway endpoint's) on any port, not to a customer-managed one", async () => {
      const toS3 = { securityGroupId: "svc-dev-lambda-sg-id", ipProtocol: "tcp", fromPort: 80, toPort: 80, prefixListId: "pl-63a5400a" };
      await assertPasses(noOpenEgress, withResource(dev.resources, T.egressRule, "lambda-to-s3", toS3, { securityGroupId: ["svc-dev-lambda-sg"], prefixListId: ["net-dev-s3"] }));
      const byId = mutate(withResource(dev.resources, T.egressRule, "lambda-to-s3", toS3), (r) => r.name === "net-dev-s3", (p) => { p.prefixListId = "pl-63a5400a"; });
      await assertPasses(noOpenEgress, byId);
      const literal = withResource(dev.resources, T.egressRule, "lambda-to-s3", toS3, { securityGroupId: ["svc-dev-lambda-sg"] });
      await assertFails(noOpenEgress, literal,
        /^lambda-to-s3 \(security group svc-dev-lambda-sg\) opens port 80 \(protocol tcp\) to prefix list pl-63a5400a, which is not an AWS-managed service prefix list \(a gateway endpoint's prefixListId, or config awsManagedPrefixListIds\); a customer-managed list's entries change outside this rule and may hold 0\.0\.0\.0\/0/);
      await assertPasses(noOpenEgress, literal, { [noOpenEgress.name]: { awsManagedPrefixListIds: ["pl-63a5400a"] } });
      const office = withResource(dev.resources, T.managedPrefixList, "office", { name: "office", addressFamily: "IPv4", maxEntries: 5, entries: [{ cidr: "0.0.0.0/0" }] });
      const customer = withResource(office, T.egressRule, "lambda-to-office", { securityGroupId: "svc-dev-lambda-sg-id", ipProtocol: "tcp", fromPort: 5432, toPort: 5432, prefixListId: "office-id" },
        { securityGroupId: ["svc-dev-lambda-sg"], prefixListId: ["office"] });
      await assertFails(noOpenEgress, customer, /lambda-to-office \(security group svc-dev-lambda-sg\) opens port 5432 \(protocol tcp\) to prefix list office-id, which is not an AWS-managed service prefix list/);
      await assertFails(noOpenEgress, firstPreview(customer), /lambda-to-office .* to prefix list \(unknown at preview\), which is not an AWS-managed/);
      // On an allowed world port, any prefix list is narrower than the world.
      await assertPasses(noOpenEgress, mutate(customer, (r) => r.name === "lambda-to-office", (p) => { p.fromPort = 443; p.toPort = 443; }));
    });
  });

  describe("s3-gateway-endpoint-scoped", () => {
    const s3Endpoint = (r: MockResource): boolean => r.type === T.vpcEndpoint && r.inputs.vpcEndpointType === "Gateway";
    const doc = (...Statement: Array<Record<string, unknown>>): string => JSON.stringify({ Version: "2012-10-17", Statement });
    it("passes both stacks: this account's buckets and ECR's layer bucket by name", async () => {
      for (const run of [dev, prod]) {
        assert.equal(run.ofType(T.vpcEndpoint).filter(s3Endpoint).length, 1);
        await assertPasses(s3GatewayEndpointScoped, run.resources);
        await assertPasses(s3GatewayEndpointScoped, firstPreview(run.resources));
      }
    });
    it("fails no policy (AWS's full-access default), \"*\" or arn:aws:s3:::* without an account condition, and NotResource", async () => {
      await assertFails(s3GatewayEndpointScoped, mutate(dev.resources, s3Endpoint, (p) => { delete p.policy; }),
        /^endpoint net-dev-s3 \(com\.amazonaws\.us-east-1\.s3\) has no endpoint policy, so AWS applies full access/);
      await assertFails(s3GatewayEndpointScoped, mutate(dev.resources, s3Endpoint, (p) => { p.policy = doc({ Effect: "Allow", Principal: "*", Action: "s3:*", Resource: "*" }); }),
        /statement #1: Resource "\*" without a StringEquals aws:ResourceAccount \(or s3:ResourceAccount\) condition reaches buckets of every account/);
      await assertFails(s3GatewayEndpointScoped, mutate(dev.resources, s3Endpoint, (p) => {
        p.policy = doc({ Sid: "Any", Effect: "Allow", Principal: "*", Action: "s3:PutObject", Resource: "arn:aws:s3:::*/*", Condition: { StringEquals: { "aws:PrincipalAccount": "123456789012" } } });
      }), /statement Any: Resource "arn:aws:s3:::\*\/\*" without a StringEquals aws:ResourceAccount/);
      await assertFails(s3GatewayEndpointScoped, mutate(dev.resources, s3Endpoint, (p) => { p.policy = doc({ Effect: "Allow", Principal: "*", Action: "s3:*", NotResource: "arn:aws:s3:::secret/*" }); }),
        /Allow with NotResource/);
      // s3:ResourceAccount works as well as the global key; named buckets need no condition; a Deny is never a problem.
      await assertPasses(s3GatewayEndpointScoped, mutate(dev.resources, s3Endpoint, (p) => {
        p.policy = doc({ Effect: "Allow", Principal: "*", Action: "s3:*", Resource: "*", Condition: { StringEquals: { "s3:ResourceAccount": ["123456789012"] } } },
          { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::my-bucket/*" }, { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "*" });
      }));
    });
  });

  describe("iam-no-wildcards", () => {
    const rolePolicy = (name: string) => (r: MockResource): boolean => r.type === T.iamRolePolicy && r.name === name;
    const doc = (...Statement: Array<Record<string, unknown>>): string => JSON.stringify({ Version: "2012-10-17", Statement });
    it("passes both stacks: scoped statements, and on \"*\" only the failover's read-only actions without resource-level permissions", async () => {
      for (const run of [dev, prod]) {
        const failover = JSON.parse(run.one(T.iamRolePolicy, "failover").inputs.policy as string) as { Statement: Array<{ Action: string[]; Resource: unknown }> };
        const onEvery = failover.Statement.filter((s) => s.Resource === "*").flatMap((s) => s.Action);
        assert.ok(onEvery.includes("elasticloadbalancing:DescribeListeners"), JSON.stringify(onEvery));
        assert.ok(onEvery.every((a) => DEFAULT_IAM_WILDCARD_EXCEPTIONS.some((e) => e.action === a)), `every action on "*" is a documented exception: ${JSON.stringify(onEvery)}`);
        assert.ok(run.ofType(T.iamRolePolicyAttachment).length >= 4 && run.ofType(T.iamPolicy).length >= 2, "documents and attachments to check");
        await assertPasses(iamNoWildcards, run.resources);
      }
    });
    it("fails Action \"*\", a whole service (iam:*, s3:*) and a non-read wildcard in iam/sts/kms, whatever the resource", async () => {
      const large = rolePolicy("svc-dev-api-large-responses");
      await assertFails(iamNoWildcards, mutate(dev.resources, large, (p) => { p.policy = doc({ Effect: "Allow", Action: "*", Resource: "*" }); }),
        /^role policy svc-dev-api-large-responses: statement #1: Action "\*" grants every action of every service, IAM included \(administrator access\); list the actions it needs$/);
      await assertFails(iamNoWildcards, mutate(dev.resources, large, (p) => { p.policy = doc({ Sid: "Iam", Effect: "Allow", Action: ["iam:*"], Resource: "arn:aws:iam::123456789012:role/x" }); }),
        /statement Iam: Action "iam:\*" grants every iam action, including changes to permissions, credentials or keys/);
      await assertFails(iamNoWildcards, mutate(dev.resources, large, (p) => { p.policy = doc({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::svc-dev-large-bucket/*" }); }),
        /Action "s3:\*" grants every s3 action; list the actions it needs/);
      await assertFails(iamNoWildcards, mutate(dev.resources, large, (p) => { p.policy = doc({ Effect: "Allow", Action: ["iam:Put*", "sts:Assume*"], Resource: "arn:aws:iam::123456789012:role/x" }); }),
        /Action "iam:Put\*" is a wildcard over iam actions that can change permissions, credentials or keys/);
    });
    it("fails Resource \"*\" (or arn:...:*) with write actions, and reads the exceptions do not list", async () => {
      const failover = rolePolicy("svc-dev-failover");
      const widened = mutate(dev.resources, failover, (p) => { p.policy = (p.policy as string).split("\"svc-dev-id\"").join("\"*\""); });
      await assertFails(iamNoWildcards, widened,
        /^role policy svc-dev-failover: statement FailoverEcsService: Resource "\*" \(every resource\) with write action\(s\) ecs:UpdateService and read action\(s\) ecs:DescribeServices; allowed on every resource: elasticloadbalancing:DescribeListeners, elasticloadbalancing:DescribeTargetHealth, cloudwatch:DescribeAlarms, cloudwatch:GetMetricData, logs:DescribeLogGroups \(config allowedWildcards\)/);
      await assertFails(iamNoWildcards, mutate(dev.resources, rolePolicy("api-dev-large-read"), (p) => { p.policy = doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::*" }); }),
        /statement #1: Resource "arn:aws:s3:::\*" \(every resource\) with read action\(s\) s3:GetObject/);
      await assertFails(iamNoWildcards, mutate(dev.resources, (r) => r.type === T.iamPolicy && r.name === "api-dev-flush", (p) => { p.policy = doc({ Effect: "Allow", Action: "apigateway:DELETE", Resource: ["*"] }); }),
        /^IAM policy api-dev-flush: statement #1: Resource "\*" \(every resource\) with write action\(s\) apigateway:DELETE/);
    });
    it("fails Allow with NotAction or NotResource; ignores Deny statements; reads documents given as objects", async () => {
      const large = rolePolicy("svc-dev-api-large-responses");
      await assertFails(iamNoWildcards, mutate(dev.resources, large, (p) => { p.policy = doc({ Effect: "Allow", NotAction: "iam:*", Resource: "arn:aws:s3:::b/*" }); }),
        /statement #1: Allow with NotAction "iam:\*" grants every other action of every service/);
      await assertFails(iamNoWildcards, mutate(dev.resources, large, (p) => { p.policy = doc({ Effect: "Allow", Action: "s3:GetObject", NotResource: "arn:aws:s3:::secret/*" }); }),
        /Allow with NotResource "arn:aws:s3:::secret\/\*" grants its actions on every other resource/);
      await assertPasses(iamNoWildcards, mutate(dev.resources, large, (p) => { p.policy = doc({ Effect: "Deny", Action: "*", Resource: "*" }); }));
      await assertFails(iamNoWildcards, mutate(dev.resources, large, (p) => { p.policy = { Version: "2012-10-17", Statement: { Effect: "Allow", Action: "*", Resource: "*" } }; }), /Action "\*" grants every action/);
    });
    it("checks a role's inlinePolicies and managed policies; fails AWS-managed full-access and administrator policies", async () => {
      const role = (r: MockResource): boolean => r.type === T.iamRole && r.name === "svc-dev-api-role";
      await assertFails(iamNoWildcards, mutate(dev.resources, role, (p) => { p.inlinePolicies = [{ name: "admin", policy: doc({ Effect: "Allow", Action: "*", Resource: "*" }) }]; }),
        /^role svc-dev-api-role, inline policy admin: statement #1: Action "\*"/);
      await assertFails(iamNoWildcards, mutate(dev.resources, role, (p) => { p.managedPolicyArns = ["arn:aws:iam::aws:policy/AdministratorAccess"]; }),
        /^role svc-dev-api-role: attaches AWS-managed policy arn:aws:iam::aws:policy\/AdministratorAccess, which grants whole services or administrator access on every resource/);
      const attachment = (r: MockResource): boolean => r.type === T.iamRolePolicyAttachment && r.name === "svc-dev-api-vpc";
      for (const arn of ["arn:aws:iam::aws:policy/AmazonS3FullAccess", "arn:aws:iam::aws:policy/PowerUserAccess", "arn:aws:iam::aws:policy/job-function/NetworkAdministrator", "arn:aws:iam::aws:policy/IAMFullAccess"]) {
        await assertFails(iamNoWildcards, mutate(dev.resources, attachment, (p) => { p.policyArn = arn; }), new RegExp(`^attachment svc-dev-api-vpc: attaches AWS-managed policy ${arn.replace(/[/.]/g, "\\$&")}`));
      }
      const s3Full = mutate(dev.resources, attachment, (p) => { p.policyArn = "arn:aws:iam::aws:policy/AmazonS3FullAccess"; });
      await assertPasses(iamNoWildcards, s3Full, { [iamNoWildcards.name]: { allowedManagedPolicyArns: ["arn:aws:iam::aws:policy/AmazonS3FullAccess"] } });
      await assertPasses(iamNoWildcards, mutate(dev.resources, attachment, (p) => { p.policyArn = "arn:aws:iam::aws:policy/ReadOnlyAccess"; }));
    });
    it("takes the exceptions from the config: without them the failover's Describe* on \"*\" fails; a listed pair passes", async () => {
      await assertFails(iamNoWildcards, dev.resources,
        /role policy svc-dev-failover: statement FailoverDescribeLoadBalancing: Resource "\*" \(every resource\) with read action\(s\) elasticloadbalancing:DescribeListeners, elasticloadbalancing:DescribeTargetHealth; allowed on every resource: nothing/,
        { [iamNoWildcards.name]: { allowedWildcards: [] } });
      const xray = mutate(dev.resources, rolePolicy("svc-dev-api-large-responses"), (p) => { p.policy = doc({ Effect: "Allow", Action: ["xray:PutTraceSegments"], Resource: "*" }); });
      await assertFails(iamNoWildcards, xray, /write action\(s\) xray:PutTraceSegments/);
      await assertPasses(iamNoWildcards, xray, { [iamNoWildcards.name]: { allowedWildcards: [...DEFAULT_IAM_WILDCARD_EXCEPTIONS, { action: "xray:Put*", resource: "*", reason: "X-Ray supports no resource-level permissions" }] } });
    });
    it("judges policy documents (unit)", () => {
      const d = (...s: Array<Record<string, unknown>>): string => doc(...s);
      assert.deepEqual(iamWildcardProblems(d({ Effect: "Allow", Action: "cloudwatch:GetMetricData", Resource: "*" })), [], "GetMetricData needs Resource *");
      assert.deepEqual(iamWildcardProblems(d({ Effect: "Allow", Action: ["iam:Get*", "iam:List*", "kms:Decrypt"], Resource: "arn:aws:iam::1:role/r" })), [], "read-only wildcards in iam, named kms actions");
      assert.match(iamWildcardProblems(d({ Effect: "Allow", Action: "kms:GenerateDataKey*", Resource: "arn:aws:kms:us-east-1:1:key/k" }))[0] ?? "", /wildcard over kms actions/);
      assert.match(iamWildcardProblems(d({ Effect: "Allow", Action: "IAM:*", Resource: "arn:aws:iam::1:role/r" }))[0] ?? "", /every iam action/, "service names are case-insensitive");
      assert.match(iamWildcardProblems(d({ Effect: "Allow", Action: "iam:List*", Resource: "*" }))[0] ?? "", /Resource "\*" \(every resource\) with read action\(s\) iam:List\*/);
      assert.match(iamWildcardProblems(d({ Effect: "Allow", Action: "logs:PutLogEvents", Resource: "arn:aws:logs:*:*:*" }))[0] ?? "", /Resource "arn:aws:logs:\*:\*:\*" \(every resource\) with write action\(s\) logs:PutLogEvents/);
      assert.deepEqual(iamWildcardProblems(d({ Effect: "Allow", Action: "*", Resource: "*" }), [{ action: "*", resource: "*" }]), [], "an explicit exception allows even *");
      assert.deepEqual(iamWildcardProblems("{not json"), [], "AWS refuses invalid JSON itself");
      assert.deepEqual(iamWildcardProblems(undefined), []);
      for (const r of ["*", "arn:aws:s3:::*", "arn:aws:logs:*:*:*", "arn:*:*:*:*:*"]) assert.ok(isEveryResource(r), r);
      for (const r of ["arn:aws:s3:::bucket/*", "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/x:*", "arn:aws:ecs:us-east-1:1:service/c/s"]) assert.ok(!isEveryResource(r), r);
    });
  });

  describe("lambda-permission-source-arn", () => {
    const permission = (name: string) => (r: MockResource): boolean => r.type === T.lambdaPermission && r.name === name;
    it("passes both stacks: the ALB and EventBridge permissions name their target group and rules", async () => {
      for (const run of [dev, prod]) {
        const permissions = run.ofType(T.lambdaPermission);
        assert.ok(permissions.length >= 3 && permissions.every((p) => /\.amazonaws\.com$/.test(p.inputs.principal) && p.inputs.sourceArn), `${run.stack}: permissions to check`);
        await assertPasses(lambdaPermissionSourceArn, run.resources);
        await assertPasses(lambdaPermissionSourceArn, firstPreview(run.resources));
      }
    });
    it("fails a service principal without sourceArn (events, elasticloadbalancing, apigateway, sns), or with one that matches everything", async () => {
      await assertFails(lambdaPermissionSourceArn, mutate(dev.resources, permission("svc-dev-failover-tick"), (p) => { delete p.sourceArn; }),
        /^permission svc-dev-failover-tick lets events\.amazonaws\.com invoke function svc-dev-failover with sourceArn = unset, so any events resource in any AWS account can invoke it; set sourceArn to the ARN of the EventBridge rule that invokes it$/);
      await assertFails(lambdaPermissionSourceArn, mutate(dev.resources, permission("svc-dev-alb-invoke"), (p) => { p.sourceArn = ""; }),
        /^permission svc-dev-alb-invoke lets elasticloadbalancing\.amazonaws\.com invoke function svc-dev-api with sourceArn = unset, .* ARN of the target group/);
      for (const principal of ["apigateway.amazonaws.com", "sns.amazonaws.com"]) {
        await assertFails(lambdaPermissionSourceArn, mutate(dev.resources, permission("svc-dev-failover-tick"), (p) => { p.principal = principal; delete p.sourceArn; }),
          new RegExp(`lets ${principal.replace(/\./g, "\\.")} invoke function svc-dev-failover with sourceArn = unset`));
      }
      await assertFails(lambdaPermissionSourceArn, mutate(dev.resources, permission("svc-dev-failover-tick"), (p) => { p.sourceArn = "*"; }), /with sourceArn = \*, which matches every resource/);
    });
    it("requires sourceAccount too for s3.amazonaws.com", async () => {
      const s3 = (change: (p: Record<string, unknown>) => void): MockResource[] => mutate(dev.resources, permission("svc-dev-failover-tick"), (p) => { p.principal = "s3.amazonaws.com"; p.sourceArn = "arn:aws:s3:::uploads"; change(p); });
      await assertFails(lambdaPermissionSourceArn, s3(() => undefined),
        /^permission svc-dev-failover-tick lets s3\.amazonaws\.com invoke function svc-dev-failover with sourceAccount = unset; a bucket ARN names no account/);
      await assertPasses(lambdaPermissionSourceArn, s3((p) => { p.sourceAccount = "123456789012"; }));
    });
    it("fails a sourceArn whose account is a wildcard (that rule name in any account), unless sourceAccount is set; fails principal \"*\" without a condition", async () => {
      await assertFails(lambdaPermissionSourceArn, mutate(dev.resources, permission("svc-dev-failover-tick"), (p) => { p.sourceArn = "arn:aws:events:us-east-1:*:rule/svc-dev-tick"; }),
        /^permission svc-dev-failover-tick lets events\.amazonaws\.com invoke function svc-dev-failover with sourceArn = arn:aws:events:us-east-1:\*:rule\/svc-dev-tick, whose account field is a wildcard/);
      await assertFails(lambdaPermissionSourceArn, mutate(dev.resources, permission("svc-dev-alb-invoke"), (p) => { p.sourceArn = "arn:aws:elasticloadbalancing:us-east-1:??????????12:targetgroup/x/1"; }),
        /whose account field is a wildcard/);
      await assertPasses(lambdaPermissionSourceArn, mutate(dev.resources, permission("svc-dev-failover-tick"), (p) => { p.sourceArn = "arn:aws:events:us-east-1:*:rule/svc-dev-tick"; p.sourceAccount = "123456789012"; }));
      await assertPasses(lambdaPermissionSourceArn, mutate(dev.resources, permission("svc-dev-failover-tick"), (p) => { p.sourceArn = "arn:aws:events:us-east-1:123456789012:rule/*"; }));
      await assertFails(lambdaPermissionSourceArn, mutate(dev.resources, permission("svc-dev-failover-tick"), (p) => { p.principal = "*"; delete p.sourceArn; }),
        /^permission svc-dev-failover-tick lets principal "\*" invoke function svc-dev-failover with no sourceArn, sourceAccount or principalOrgId/);
      await assertPasses(lambdaPermissionSourceArn, mutate(dev.resources, permission("svc-dev-failover-tick"), (p) => { p.principal = "*"; delete p.sourceArn; p.principalOrgId = "o-abc123"; }));
    });
    it("passes account principals, and a sourceArn unknown at preview (it is set)", async () => {
      await assertPasses(lambdaPermissionSourceArn, mutate(dev.resources, permission("svc-dev-failover-tick"), (p) => { p.principal = "123456789012"; delete p.sourceArn; }));
      await assertPasses(lambdaPermissionSourceArn, mutate(dev.resources, permission("svc-dev-failover-tick"), (p) => { p.sourceArn = UNKNOWN_STRING; }));
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
    it("fail a cached method without encryption / without authorization for Cache-Control: max-age=0", async () => {
      await assertFails(stageCacheEncrypted, mutate(prod.resources, cachedSettings, (p) => { p.settings.cacheDataEncrypted = false; }), /caches responses with cacheDataEncrypted = false/);
      await assertFails(cacheInvalidationAuthorized, mutate(prod.resources, cachedSettings, (p) => { p.settings.requireAuthorizationForCacheControl = false; }), /requireAuthorizationForCacheControl = false; required: true/);
      await assertFails(cacheInvalidationAuthorized, mutate(prod.resources, cachedSettings, (p) => { delete p.settings.requireAuthorizationForCacheControl; }), /requireAuthorizationForCacheControl = unset/);
      await assertFails(cacheInvalidationAuthorized, mutate(prod.resources, cachedSettings, (p) => { p.settings.unauthorizedCacheControlHeaderStrategy = "IGNORE"; }), /unauthorizedCacheControlHeaderStrategy = IGNORE; allowed: FAIL_WITH_403/);
    });
    it("accept every strategy that keeps unauthorized callers from flushing (refused with 403, or served from the cache)", async () => {
      for (const strategy of ["FAIL_WITH_403", "SUCCEED_WITH_RESPONSE_HEADER", "SUCCEED_WITHOUT_RESPONSE_HEADER"]) {
        await assertPasses(cacheInvalidationAuthorized, mutate(prod.resources, cachedSettings, (p) => { p.settings.unauthorizedCacheControlHeaderStrategy = strategy; }));
      }
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
      const single = await runProgram("prod", { networkNatMode: "single" });
      await assertFails(productionResilience, single.resources, /1 NAT gateway\(s\) for 3 AZs; no NAT gateway in use1-az2, use1-az4/);
    });
    it("fails prod with a single-AZ memcached cluster", async () => {
      const singleAz = await runProgram("prod", { memcachedAzMode: "single-az" });
      await assertFails(productionResilience, singleAz.resources, /memcached cluster cache-prod: azMode = single-az/);
    });
    it("fails a private subnet whose default route uses another AZ's NAT gateway", async () => {
      const crossed = clone(prod.resources);
      const nat0 = crossed.find((r) => r.type === T.natGateway && r.name === "net-prod-nat-0")!;
      crossed.find((r) => r.type === T.route && r.name === "net-prod-private-default-1")!.propertyDependencies.natGatewayId = [nat0.urn];
      await assertFails(productionResilience, crossed, /subnet net-prod-private-1 \(use1-az2\) reaches the internet through NAT gateway net-prod-nat-0 in use1-az1/);
    });
    it("does not apply to dev, unless the config names dev a production stack", async () => {
      const v = await verdict(productionResilience, dev.resources);
      assert.equal(v.status, "not-applicable");
      await assertFails(productionResilience, dev.resources, /1 NAT gateway\(s\) for 2 AZs/, { [productionResilience.name]: { productionStacks: ["dev", "prod"] } });
    });
    it("passes prod as configured (one NAT per AZ, cross-AZ nodes)", async () => {
      await assertPasses(productionResilience, prod.resources);
    });
    it("compares zone IDs, known before the subnets exist: still catches a single NAT gateway in a first preview", async () => {
      const single = await runProgram("prod", { networkNatMode: "single" });
      await assertFails(productionResilience, firstPreview(single.resources), /no NAT gateway in use1-az2, use1-az4/);
      await assertPasses(productionResilience, firstPreview(prod.resources));
    });
  });

  // ---- zones, subnets, alarms, async invocations, memcached changes, endpoints --------------------------

  /** Puts a subnet in another zone (by zone ID), inputs and state alike. */
  const inZone = (resources: MockResource[], subnet: string, zoneId: string): MockResource[] =>
    mutate(resources, (r) => r.type === T.subnet && r.name === subnet, (p) => { p.availabilityZoneId = zoneId; });

  /** A subnet created by AZ name: no availabilityZoneId input; AWS reports the zone ID only once it exists. */
  function placedByName(resources: MockResource[], subnet: string, name: string, zoneId: string): MockResource[] {
    const out = clone(resources);
    const s = out.find((r) => r.type === T.subnet && r.name === subnet)!;
    delete s.inputs.availabilityZoneId;
    s.inputs.availabilityZone = name;
    s.state.availabilityZone = name;
    s.state.availabilityZoneId = zoneId;
    return out;
  }

  describe("vpc-link-subnets-in-supported-zones", () => {
    it("fails a VPC link subnet in use1-az3, naming the zone IDs VPC links V2 exist in", async () => {
      await assertFails(vpcLinkSubnetsInSupportedZones, inZone(dev.resources, "net-dev-private-1", "use1-az3"),
        /^VPC link api-dev-vpclink: subnet net-dev-private-1 is in use1-az3; VPC links V2 exist only in use1-az1, use1-az2, use1-az4, use1-az5, use1-az6 \(us-east-1\)$/);
    });
    it("checks every Region's list (zone IDs are globally unique): apne1-az3 and a Region without VPC links fail, usw2-az4 passes", async () => {
      await assertFails(vpcLinkSubnetsInSupportedZones, inZone(prod.resources, "net-prod-private-2", "apne1-az3"), /is in apne1-az3; VPC links V2 exist only in apne1-az1, apne1-az2, apne1-az4 \(ap-northeast-1\)/);
      await assertFails(vpcLinkSubnetsInSupportedZones, inZone(prod.resources, "net-prod-private-2", "euc2-az1"), /is in euc2-az1; VPC links V2 exist only in the zone IDs API Gateway lists/);
      await assertPasses(vpcLinkSubnetsInSupportedZones, inZone(prod.resources, "net-prod-private-2", "usw2-az4"));
    });
    it("fails a subnet placed by AZ name whose zone ID is unknown at preview; once created, its real zone ID is judged", async () => {
      const byName = placedByName(dev.resources, "net-dev-private-1", "us-east-1a", "use1-az3");
      await assertFails(vpcLinkSubnetsInSupportedZones, firstPreview(byName),
        /VPC link api-dev-vpclink: subnet net-dev-private-1 is placed by AZ name \(us-east-1a; availabilityZoneId unknown at preview\); choose subnets by zone ID \(availabilityZoneId\): names map to different zones per account/);
      await assertFails(vpcLinkSubnetsInSupportedZones, byName, /subnet net-dev-private-1 is in use1-az3/);
    });
    it("links subnets by id when the property dependencies are missing", async () => {
      const literal = inZone(dev.resources, "net-dev-private-1", "use1-az3");
      literal.find((r) => r.type === T.vpcLink)!.propertyDependencies.subnetIds = [];
      await assertFails(vpcLinkSubnetsInSupportedZones, literal, /subnet net-dev-private-1 is in use1-az3/);
    });
    it("passes both stacks, and does not fail a subnet whose zone is not known yet", async () => {
      await assertPasses(vpcLinkSubnetsInSupportedZones, dev.resources);
      await assertPasses(vpcLinkSubnetsInSupportedZones, prod.resources);
      await assertPasses(vpcLinkSubnetsInSupportedZones, mutate(dev.resources, (r) => r.type === T.subnet && r.name === "net-dev-private-1", (p) => {
        p.availabilityZoneId = UNKNOWN_STRING; p.availabilityZone = UNKNOWN_STRING;
      }));
    });
  });

  describe("lambda-subnets-in-supported-zones", () => {
    /** The ECS service alone on one public subnet in `zoneId`, with a task definition of `arch`. */
    function serviceIn(resources: MockResource[], zoneId: string, arch: string): MockResource[] {
      const out = inZone(resources, "net-dev-public-1", zoneId);
      const subnet = out.find((r) => r.name === "net-dev-public-1")!;
      const service = out.find((r) => r.type === T.ecsService)!;
      for (const props of [service.inputs, service.state]) props.networkConfiguration = { ...props.networkConfiguration, subnets: [subnet.id] };
      service.propertyDependencies.networkConfiguration = [...service.propertyDependencies.networkConfiguration.filter((u) => !u.includes(T.subnet)), subnet.urn];
      const task = out.find((r) => r.type === T.taskDefinition)!;
      for (const props of [task.inputs, task.state]) props.runtimePlatform = { ...props.runtimePlatform, cpuArchitecture: arch };
      return out;
    }

    it("fails functions (and the ARM64 Fargate service) on a subnet in use1-az3", async () => {
      const bad = inZone(dev.resources, "net-dev-private-1", "use1-az3");
      const v = await verdict(lambdaSubnetsInSupportedZones, bad);
      const messages = v.violations.map((x) => x.message);
      for (const fn of ["cache-handler-dev", "svc-dev-api"]) {
        assert.ok(messages.includes(`function ${fn}: subnet net-dev-private-1 is in use1-az3, where Lambda refuses VPC subnets; allowed: any zone ID except use1-az3`), JSON.stringify(messages));
      }
      assert.ok(messages.some((m) => /^ECS service svc-dev: subnet net-dev-private-1 is in use1-az3, where Fargate has no ARM64 capacity \(task definition svc-dev is ARM64\)/.test(m)), JSON.stringify(messages));
      assert.ok(v.violations.every((x) => x.urn?.includes(T.lambda) || x.urn?.includes(T.ecsService)));
    });
    it("fails an ARM64 Fargate task in use1-az3 but not an X86_64 one", async () => {
      await assertFails(lambdaSubnetsInSupportedZones, serviceIn(dev.resources, "use1-az3", "ARM64"), /ECS service svc-dev: subnet net-dev-public-1 is in use1-az3, where Fargate has no ARM64 capacity/);
      await assertPasses(lambdaSubnetsInSupportedZones, serviceIn(dev.resources, "use1-az3", "X86_64"));
    });
    it("fails Fargate in a zone its Region does not offer it in (us-west-1: usw1-az1, usw1-az3), whatever the architecture", async () => {
      await assertFails(lambdaSubnetsInSupportedZones, serviceIn(dev.resources, "usw1-az2", "X86_64"), /subnet net-dev-public-1 is in usw1-az2; Fargate is offered in us-west-1 only in usw1-az1, usw1-az3/);
      await assertPasses(lambdaSubnetsInSupportedZones, serviceIn(dev.resources, "usw1-az3", "ARM64"));
    });
    it("fails function subnets placed by AZ name in a first preview", async () => {
      await assertFails(lambdaSubnetsInSupportedZones, firstPreview(placedByName(dev.resources, "net-dev-private-0", "us-east-1c", "use1-az1")),
        /function cache-handler-dev: subnet net-dev-private-0 is placed by AZ name \(us-east-1c; availabilityZoneId unknown at preview\)/);
    });
    it("passes both stacks (pinned zone IDs)", async () => {
      await assertPasses(lambdaSubnetsInSupportedZones, dev.resources);
      await assertPasses(lambdaSubnetsInSupportedZones, prod.resources);
    });
  });

  describe("subnets-by-zone-id", () => {
    const isSubnet = (r: MockResource): boolean => r.type === T.subnet && r.name === "net-dev-private-0";
    it("fails a subnet placed by AZ name, or not placed at all", async () => {
      await assertFails(subnetsByZoneId, mutate(dev.resources, isSubnet, (p) => { delete p.availabilityZoneId; p.availabilityZone = "us-east-1c"; }),
        /^subnet net-dev-private-0: availabilityZone = us-east-1c; set availabilityZoneId instead/);
      await assertFails(subnetsByZoneId, mutate(dev.resources, isSubnet, (p) => { delete p.availabilityZoneId; }), /neither availabilityZoneId nor availabilityZone is set, so AWS picks the zone/);
    });
    it("passes subnets placed by zone ID, also when the ID is computed (unknown at preview)", async () => {
      await assertPasses(subnetsByZoneId, dev.resources);
      await assertPasses(subnetsByZoneId, prod.resources);
      await assertPasses(subnetsByZoneId, mutate(dev.resources, isSubnet, (p) => { p.availabilityZoneId = UNKNOWN_STRING; }));
    });
  });

  describe("alb-subnets-large-enough", () => {
    const isSubnet = (r: MockResource): boolean => r.type === T.subnet && r.name === "net-dev-private-0";
    it("fails an ALB subnet smaller than /27", async () => {
      await assertFails(albSubnetsLargeEnough, mutate(dev.resources, isSubnet, (p) => { p.cidrBlock = "10.10.32.0/28"; }),
        /^ALB svc-dev: subnet net-dev-private-0 is 10\.10\.32\.0\/28 \(\/28\); an Application Load Balancer needs \/27 or larger in every subnet$/);
    });
    it("passes /27, the stacks' subnets, and a network load balancer on /28", async () => {
      await assertPasses(albSubnetsLargeEnough, mutate(dev.resources, isSubnet, (p) => { p.cidrBlock = "10.10.32.0/27"; }));
      await assertPasses(albSubnetsLargeEnough, prod.resources);
      const nlb = mutate(mutate(dev.resources, isSubnet, (p) => { p.cidrBlock = "10.10.32.0/28"; }), (r) => r.type === T.loadBalancer, (p) => { p.loadBalancerType = "network"; });
      await assertPasses(albSubnetsLargeEnough, nlb);
    });
  });

  describe("alarms-notify-someone", () => {
    const isAlarm = (r: MockResource): boolean => r.type === T.metricAlarm && r.name === "svc-dev-failover-errors";
    it("fails an alarm without actions, with an empty list, or with actions disabled", async () => {
      await assertFails(alarmsNotifySomeone, mutate(dev.resources, isAlarm, (p) => { delete p.alarmActions; }), /^alarm svc-dev-failover-errors: alarmActions = unset; at least one action/);
      await assertFails(alarmsNotifySomeone, mutate(dev.resources, isAlarm, (p) => { p.alarmActions = []; }), /alarmActions = \[\]/);
      await assertFails(alarmsNotifySomeone, mutate(dev.resources, isAlarm, (p) => { p.actionsEnabled = false; }), /actionsEnabled = false, so its 1 alarm action\(s\) never run/);
    });
    it("passes every alarm of both stacks, and actions unknown at preview", async () => {
      await assertPasses(alarmsNotifySomeone, dev.resources);
      await assertPasses(alarmsNotifySomeone, prod.resources);
      await assertPasses(alarmsNotifySomeone, mutate(dev.resources, isAlarm, (p) => { p.alarmActions = UNKNOWN_STRING; }));
      await assertPasses(alarmsNotifySomeone, mutate(dev.resources, isAlarm, (p) => { p.alarmActions = [UNKNOWN_STRING]; }));
    });
  });

  describe("async-invocations-bounded", () => {
    const isConfig = (r: MockResource): boolean => r.type === T.eventInvokeConfig;
    it("fails a function invoked by event targets without a FunctionEventInvokeConfig", async () => {
      const bad = clone(dev.resources).filter((r) => !isConfig(r));
      await assertFails(asyncInvocationsBounded, bad,
        /^function svc-dev-failover is invoked asynchronously by event target\(s\) svc-dev-failover-alarms, svc-dev-failover-tick but has no FunctionEventInvokeConfig; set maximumRetryAttempts 0\.\.2 and maximumEventAgeInSeconds <= 300/);
      // The target's ARN alone links it to the function (the mock engine's state gives every resource an
      // `arn` of its own; the provider's EventTarget state keeps the input).
      for (const t of bad.filter((r) => r.type === T.eventTarget)) { t.propertyDependencies.arn = []; t.state.arn = t.inputs.arn; }
      await assertFails(asyncInvocationsBounded, bad, /function svc-dev-failover is invoked asynchronously/);
    });
    it("fails retries or event age unset or out of range", async () => {
      await assertFails(asyncInvocationsBounded, mutate(dev.resources, isConfig, (p) => { delete p.maximumRetryAttempts; }), /maximumRetryAttempts = unset \(Lambda's default 2\); allowed: 0\.\.2/);
      await assertFails(asyncInvocationsBounded, mutate(dev.resources, isConfig, (p) => { p.maximumRetryAttempts = 3; }), /maximumRetryAttempts = 3; allowed: 0\.\.2/);
      await assertFails(asyncInvocationsBounded, mutate(dev.resources, isConfig, (p) => { p.maximumEventAgeInSeconds = 21600; }), /FunctionEventInvokeConfig svc-dev-failover of function svc-dev-failover: maximumEventAgeInSeconds = 21600; allowed: 60\.\.300/);
      await assertFails(asyncInvocationsBounded, mutate(dev.resources, isConfig, (p) => { delete p.maximumEventAgeInSeconds; }), /maximumEventAgeInSeconds = unset \(Lambda's default 21600 = 6 hours\)/);
    });
    it("does not count a config for another qualifier; counts one for the alias a target invokes", async () => {
      await assertFails(asyncInvocationsBounded, mutate(dev.resources, isConfig, (p) => { p.qualifier = "live"; }), /function svc-dev-failover is invoked asynchronously .* but has no FunctionEventInvokeConfig/);
      const aliased = clone(dev.resources);
      const fn = aliased.find((r) => r.type === T.lambda && r.name === "svc-dev-failover")!;
      const alias: MockResource = { ...fn, type: T.lambdaAlias, name: "failover-live", id: "failover-live-id", urn: fn.urn.replace(T.lambda, T.lambdaAlias).replace(/svc-dev-failover$/, "failover-live"),
        inputs: { name: "live", functionName: "svc-dev-failover" }, state: { name: "live", functionName: "svc-dev-failover", arn: `${fn.state.arn}:live` },
        dependencies: [fn.urn], propertyDependencies: { functionName: [fn.urn] } };
      aliased.push(alias);
      for (const t of aliased.filter((r) => r.type === T.eventTarget)) {
        t.inputs.arn = alias.state.arn; t.state.arn = alias.state.arn; t.propertyDependencies.arn = [alias.urn];
      }
      await assertFails(asyncInvocationsBounded, aliased, /function svc-dev-failover:live is invoked asynchronously/);
      await assertPasses(asyncInvocationsBounded, mutate(aliased, isConfig, (p) => { p.qualifier = "live"; }));
    });
    it("passes both stacks (retries 0, 60 s), also when the config names the function only by name", async () => {
      await assertPasses(asyncInvocationsBounded, dev.resources);
      await assertPasses(asyncInvocationsBounded, prod.resources);
      const byName = clone(dev.resources);
      byName.find(isConfig)!.propertyDependencies.functionName = [];
      await assertPasses(asyncInvocationsBounded, byName);
    });
  });

  describe("memcached-changes-in-maintenance-window (advisory)", () => {
    const isCluster = (r: MockResource): boolean => r.type === T.memcached;
    it("reports applyImmediately: true, without blocking unless configured mandatory", async () => {
      const bad = mutate(prod.resources, isCluster, (p) => { p.applyImmediately = true; });
      const v = await verdict(memcachedChangesInMaintenanceWindow, bad);
      assert.equal(v.status, "fail");
      assert.equal(v.enforcementLevel, "advisory");
      assert.match(v.violations[0].message, /^memcached cluster cache-prod: applyImmediately = true; every change applies at deploy time \(engine 1\.6\.\d+: an upgrade flushes every node\), not in the maintenance window \(\w{3}:\d\d:\d\d-\w{3}:\d\d:\d\d\); set applyImmediately: false$/);
      assert.deepEqual(mandatoryFailures([v]), []);
      assert.equal(mandatoryFailures(await runPolicies(bad, [memcachedChangesInMaintenanceWindow], { [memcachedChangesInMaintenanceWindow.name]: "mandatory" })).length, 1);
    });
    it("passes the stacks' clusters (applyImmediately: false), an unset flag, and other engines", async () => {
      await assertPasses(memcachedChangesInMaintenanceWindow, dev.resources);
      await assertPasses(memcachedChangesInMaintenanceWindow, prod.resources);
      await assertPasses(memcachedChangesInMaintenanceWindow, mutate(dev.resources, isCluster, (p) => { delete p.applyImmediately; }));
      await assertPasses(memcachedChangesInMaintenanceWindow, mutate(dev.resources, isCluster, (p) => { p.engine = "redis"; p.applyImmediately = true; }));
    });
  });

  describe("interface-endpoints-delete-before-replace (reads resource options: hand-built args)", () => {
    class NotApplicable extends Error {}
    /** Runs the policy on one resource the way the analyzer does, with the resource options a real engine sends. */
    async function check(props: Record<string, unknown>, opts: Partial<PolicyResourceOptions>, config: Record<string, unknown> = {}): Promise<{ violations: string[]; notApplicable?: string }> {
      const violations: string[] = [];
      const args = {
        type: T.vpcEndpoint, name: "ep", urn: `urn:pulumi:dev::serverless-cache::${T.vpcEndpoint}::ep`, props,
        opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [], ...opts },
        stackTags: new Map(), isType: () => false, asType: () => undefined, getConfig: () => config,
        notApplicable: (reason?: string): never => { throw new NotApplicable(reason); },
      } as unknown as ResourceValidationArgs;
      const validate = interfaceEndpointsDeleteBeforeReplace.validateResource as (a: ResourceValidationArgs, r: (m: string) => void) => void;
      try {
        await validate(args, (m) => violations.push(m));
      } catch (err) {
        if (err instanceof NotApplicable) return { violations, notApplicable: err.message };
        throw err;
      }
      return { violations };
    }
    const privateDns = { vpcEndpointType: "Interface", serviceName: "com.amazonaws.us-east-1.execute-api", privateDnsEnabled: true };

    it("fails a private-DNS endpoint with deleteBeforeReplace false, or not set when failWhenUndeclared is on", async () => {
      assert.deepEqual((await check(privateDns, { deleteBeforeReplace: false })).violations,
        ["endpoint ep (com.amazonaws.us-east-1.execute-api, privateDnsEnabled = true): deleteBeforeReplace = false; required: true, or a replacement fails while the old endpoint still owns the private DNS name"]);
      assert.match((await check(privateDns, {}, { failWhenUndeclared: true })).violations[0] ?? "", /deleteBeforeReplace = not set; required: true/);
    });
    it("passes deleteBeforeReplace true, and endpoints without private DNS", async () => {
      assert.deepEqual(await check(privateDns, { deleteBeforeReplace: true }, { failWhenUndeclared: true }), { violations: [] });
      assert.deepEqual(await check({ ...privateDns, privateDnsEnabled: false }, {}, { failWhenUndeclared: true }), { violations: [] });
      assert.deepEqual(await check({ vpcEndpointType: "Gateway", serviceName: "com.amazonaws.us-east-1.s3" }, {}, { failWhenUndeclared: true }), { violations: [] });
    });
    it("by default fails an endpoint whose options say nothing (the engine reports the option only when set); failWhenUndeclared false relaxes it", async () => {
      const r = await check(privateDns, {});
      assert.deepEqual(r.violations, ["endpoint ep (com.amazonaws.us-east-1.execute-api, privateDnsEnabled = true): deleteBeforeReplace = not set; required: true, or a replacement fails while the old endpoint still owns the private DNS name"]);
      const relaxed = await check(privateDns, {}, { failWhenUndeclared: false });
      assert.deepEqual(relaxed.violations, []);
      assert.match(relaxed.notApplicable ?? "", /endpoint ep: the engine did not report deleteBeforeReplace/);
      assert.equal((await verdict(interfaceEndpointsDeleteBeforeReplace, prod.resources)).status, "pass", "the plan passes the options the program set");
    });
    it("every private-DNS endpoint of both stacks is created with deleteBeforeReplace and passes in strict mode", async () => {
      for (const run of [dev, prod]) {
        const endpoints = run.ofType(T.vpcEndpoint).filter((e) => e.inputs.privateDnsEnabled === true);
        assert.ok(endpoints.length >= (run === prod ? 4 : 1), `${run.stack}: ${endpoints.length} private-DNS endpoints`);
        for (const e of endpoints) {
          const r = await check(e.inputs, { deleteBeforeReplace: e.options?.deleteBeforeReplace ? true : undefined }, { failWhenUndeclared: true });
          assert.deepEqual(r, { violations: [] }, `${run.stack} ${e.name}`);
        }
      }
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
    const single = (): Promise<ProgramRun> => runProgram("prod", { networkNatMode: "single" });
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
