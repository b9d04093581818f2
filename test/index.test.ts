import * as assert from "node:assert/strict";
import { cidrsOverlap, parseCidr } from "../components/cidr";
import { runProgram, type ProgramRun, stackConfig } from "./support/program";
import { T } from "./support/types";


interface Expectation {
  azCount: number;
  natMode: "perAz" | "single";
  nodeCount: number;
  nodeType: string;
  memoryMb: number;
  retention: number;
}

const EXPECTED: Record<string, Expectation> = {
  dev: { azCount: 2, natMode: "single", nodeCount: 2, nodeType: "cache.t4g.micro", memoryMb: 256, retention: 7 },
  prod: { azCount: 3, natMode: "perAz", nodeCount: 3, nodeType: "cache.m7g.large", memoryMb: 1024, retention: 30 },
};

for (const stack of ["dev", "prod"] as const) {
  describe(`stack ${stack}: resource graph`, function () {
    const want = EXPECTED[stack];
    let run: ProgramRun;

    before(async function () {
      this.timeout(60_000);
      run = await runProgram(stack);
    });

    it("reads the stack file it is meant to test", () => {
      const cfg = stackConfig(stack);
      assert.equal(cfg["serverless-cache:networkNatMode"], want.natMode);
      assert.equal(Number(cfg["serverless-cache:networkAzCount"]), want.azCount);
    });

    it("has one VPC with DNS support and hostnames on", () => {
      const [vpc] = run.ofType(T.vpc);
      assert.equal(run.ofType(T.vpc).length, 1);
      assert.equal(vpc.inputs.enableDnsSupport, true);
      assert.equal(vpc.inputs.enableDnsHostnames, true);
    });

    it("has one public and one private subnet per AZ, each AZ distinct", () => {
      const subnets = run.ofType(T.subnet);
      assert.equal(subnets.length, 2 * want.azCount);
      for (const tier of ["public", "private"]) {
        const azs = subnets.filter((s) => s.inputs.tags["serverless-cache:tier"] === tier).map((s) => s.inputs.availabilityZoneId);
        assert.equal(azs.length, want.azCount, `${tier} subnets`);
        assert.equal(new Set(azs).size, want.azCount, `${tier} subnets spread over distinct AZs`);
      }
      // The pinned zone IDs, and this (mock) account's names for them: us-east-1a is use1-az3 here.
      assert.deepEqual(run.outputs.availabilityZoneIds, ["use1-az1", "use1-az2", "use1-az4"].slice(0, want.azCount));
      assert.deepEqual(run.outputs.availabilityZones, ["us-east-1c", "us-east-1e", "us-east-1d"].slice(0, want.azCount));
    });

    it("carves non-overlapping subnet CIDRs inside the VPC CIDR", () => {
      const vpc = parseCidr(run.ofType(T.vpc)[0].inputs.cidrBlock);
      assert.ok(vpc);
      const cidrs = run.ofType(T.subnet).map((s) => s.inputs.cidrBlock as string);
      const parsed = cidrs.map((c) => parseCidr(c));
      parsed.forEach((c, i) => {
        assert.ok(c, `subnet CIDR ${cidrs[i]} parses`);
        assert.ok(c.base >= vpc.base && c.base + 2 ** (32 - c.prefix) <= vpc.base + 2 ** (32 - vpc.prefix), `${cidrs[i]} inside VPC`);
      });
      for (let i = 0; i < parsed.length; i++) {
        for (let j = i + 1; j < parsed.length; j++) {
          assert.ok(!cidrsOverlap(parsed[i]!, parsed[j]!), `${cidrs[i]} overlaps ${cidrs[j]}`);
        }
      }
    });

    it("has exactly one Internet Gateway, the public default route's target", () => {
      const igws = run.ofType(T.igw);
      assert.equal(igws.length, 1);
      const publicDefault = run.ofType(T.route).filter((r) => r.inputs.gatewayId === igws[0].id);
      assert.equal(publicDefault.length, 1);
      assert.equal(publicDefault[0].inputs.destinationCidrBlock, "0.0.0.0/0");
      // Only public subnets are associated with the IGW route table.
      const publicRt = publicDefault[0].inputs.routeTableId;
      const associated = run.ofType(T.rta).filter((a) => a.inputs.routeTableId === publicRt).map((a) => run.byId(a.inputs.subnetId)!);
      assert.equal(associated.length, want.azCount);
      assert.ok(associated.every((s) => s.inputs.tags["serverless-cache:tier"] === "public"));
    });

    it(`has ${want.natMode === "perAz" ? "one NAT gateway per AZ" : "a single NAT gateway"}, each with an Elastic IP in a public subnet`, () => {
      const nats = run.ofType(T.nat);
      assert.equal(nats.length, want.natMode === "perAz" ? want.azCount : 1);
      const eipIds = new Set(run.ofType(T.eip).map((e) => e.id));
      for (const nat of nats) {
        assert.ok(eipIds.has(nat.inputs.allocationId), "NAT uses one of our EIPs");
        assert.equal(run.byId(nat.inputs.subnetId)?.inputs.tags["serverless-cache:tier"], "public");
      }
    });

    it("routes each private subnet's 0.0.0.0/0 to the NAT of its own AZ (perAz) or the single NAT", () => {
      const privateSubnets = run.ofType(T.subnet).filter((s) => s.inputs.tags["serverless-cache:tier"] === "private");
      const nats = run.ofType(T.nat);
      const routeTables = new Set<string>();
      for (const subnet of privateSubnets) {
        const assoc = run.ofType(T.rta).filter((a) => a.inputs.subnetId === subnet.id);
        assert.equal(assoc.length, 1, `${subnet.name} has one route table`);
        const rtId = assoc[0].inputs.routeTableId;
        routeTables.add(rtId);
        const defaults = run.ofType(T.route).filter((r) => r.inputs.routeTableId === rtId && r.inputs.destinationCidrBlock === "0.0.0.0/0");
        assert.equal(defaults.length, 1);
        assert.equal(defaults[0].inputs.gatewayId, undefined, "private subnet must not route to the IGW");
        const nat = nats.find((n) => n.id === defaults[0].inputs.natGatewayId);
        assert.ok(nat, `${subnet.name} default route goes to a NAT gateway`);
        const natAz = run.byId(nat.inputs.subnetId)?.inputs.availabilityZone;
        if (want.natMode === "perAz") assert.equal(natAz, subnet.inputs.availabilityZone, "NAT in the subnet's own AZ");
        else assert.equal(nat.id, nats[0].id);
      }
      assert.equal(routeTables.size, want.azCount, "one private route table per AZ");
    });

    it("puts an S3 gateway endpoint on every private route table", () => {
      const endpoint = run.ofType(T.endpoint).find((e) => e.inputs.vpcEndpointType === "Gateway")!;
      assert.equal(endpoint.inputs.vpcEndpointType, "Gateway");
      assert.equal(endpoint.inputs.serviceName, "com.amazonaws.us-east-1.s3");
      const privateRts = run.ofType(T.routeTable).filter((rt) => rt.name.includes("private")).map((rt) => rt.id).sort();
      assert.deepEqual([...endpoint.inputs.routeTableIds].sort(), privateRts);
    });

    it("admits memcached traffic only from the security groups of the functions and tasks that use it", () => {
      const cluster = run.one(T.cluster);
      const [cacheSgId] = cluster.inputs.securityGroupIds;
      const cacheSg = run.byId(cacheSgId)!;
      assert.equal(cacheSg.inputs.ingress, undefined, "no inline ingress rules");
      const ingress = run.ofType(T.ingress).filter((r) => r.inputs.securityGroupId === cacheSgId);
      const cacheHandlerSg = run.one(T.fn, "cache-handler").inputs.vpcConfig.securityGroupIds[0];
      const apiLambdaSg = run.one(T.fn, "-api").inputs.vpcConfig.securityGroupIds[0];
      const taskSg = run.one("aws:ecs/service:Service").inputs.networkConfiguration.securityGroups[0];
      assert.deepEqual(ingress.map((r) => r.inputs.referencedSecurityGroupId).sort(), [cacheHandlerSg, apiLambdaSg, taskSg].sort());
      for (const rule of ingress) {
        assert.equal(rule.inputs.cidrIpv4, undefined);
        assert.equal(rule.inputs.cidrIpv6, undefined);
        assert.equal(rule.inputs.fromPort, 11211);
        assert.equal(rule.inputs.toPort, 11211);
        assert.equal(rule.inputs.ipProtocol, "tcp");
      }
    });

    it(`runs ${want.nodeCount} ${want.nodeType} memcached nodes cross-AZ in the private subnets`, () => {
      const cluster = run.one(T.cluster);
      assert.equal(cluster.inputs.engine, "memcached");
      assert.equal(cluster.inputs.numCacheNodes, want.nodeCount);
      assert.equal(cluster.inputs.nodeType, want.nodeType);
      assert.equal(cluster.inputs.azMode, "cross-az");
      assert.equal(cluster.inputs.port, 11211);
      const azs: string[] = cluster.inputs.preferredAvailabilityZones;
      assert.equal(azs.length, want.nodeCount);
      assert.equal(new Set(azs).size, Math.min(want.nodeCount, want.azCount), "nodes spread over the AZs");
      const subnetGroup = run.ofType(T.subnetGroup).find((g) => g.state.name === cluster.inputs.subnetGroupName);
      assert.ok(subnetGroup);
      const privateIds = run.ofType(T.subnet).filter((s) => s.inputs.tags["serverless-cache:tier"] === "private").map((s) => s.id).sort();
      assert.deepEqual([...subnetGroup.inputs.subnetIds].sort(), privateIds);
    });

    it("runs the cache Lambda on nodejs22.x in the private subnets with a sane timeout", () => {
      const fn = run.one(T.fn, "cache-handler");
      assert.equal(fn.inputs.runtime, "nodejs22.x");
      assert.ok(fn.inputs.timeout > 0 && fn.inputs.timeout < 900, `timeout ${fn.inputs.timeout}`);
      assert.equal(fn.inputs.timeout, 10);
      assert.equal(fn.inputs.memorySize, want.memoryMb);
      const privateIds = run.ofType(T.subnet).filter((s) => s.inputs.tags["serverless-cache:tier"] === "private").map((s) => s.id).sort();
      assert.deepEqual([...fn.inputs.vpcConfig.subnetIds].sort(), privateIds);
      const env = fn.inputs.environment.variables;
      assert.equal(env.MEMCACHED_SERVERS.split(",").length, want.nodeCount, "every memcached node is passed to the function");
      assert.match(env.MEMCACHED_CONFIG_ENDPOINT, /:11211$/);
      assert.ok(Number(env.UPSTREAM_TIMEOUT_MS) < fn.inputs.timeout * 1000, "upstream timeout below the Lambda timeout");
    });

    it("gives the Lambda least privilege, tight egress and a log group with retention", () => {
      const fn = run.one(T.fn, "cache-handler");
      const attachments = run.ofType(T.attachment).filter((a) => a.name.startsWith(`cache-handler-${stack}`));
      assert.deepEqual(attachments.map((a) => a.inputs.policyArn), ["arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]);
      const [lambdaSgId] = fn.inputs.vpcConfig.securityGroupIds;
      const egress = run.ofType(T.egress).filter((r) => r.inputs.securityGroupId === lambdaSgId);
      assert.deepEqual(egress.map((e) => `${e.inputs.fromPort}-${e.inputs.toPort}`).sort(), ["11211-11211", "443-443"]);
      const logGroup = run.one(T.logGroup, "cache-handler");
      assert.equal(logGroup.inputs.retentionInDays, want.retention);
      assert.equal(fn.inputs.loggingConfig.logGroup, logGroup.state.name);
    });

    it("exports the outputs the next components need", () => {
      for (const key of ["vpcId", "privateSubnetIds", "publicSubnetIds", "cacheConfigurationEndpoint", "cacheNodeEndpoints", "cacheHandlerFunctionName", "cacheHandlerFunctionArn"]) {
        assert.ok(run.outputs[key], `export ${key}`);
      }
    });
  });
}

describe("tags and provider", function () {
  this.timeout(60_000);
  for (const stack of ["dev", "prod"]) {
    it(`${stack}: every AWS resource goes through the one provider that carries the stack's default tags`, async () => {
      const run = await runProgram(stack);
      const providers = run.ofType("pulumi:providers:aws");
      assert.equal(providers.length, 1);
      const tags = JSON.parse(providers[0].inputs.defaultTags).tags;
      assert.deepEqual(Object.keys(tags).sort(), ["costCentre", "owner", "project", "stack"]);
      assert.equal(tags.stack, stack);
      assert.equal(tags.project, "serverless-cache");
      assert.equal(providers[0].inputs.region, "us-east-1");
      const custom = run.resources.filter((r) => r.type.startsWith("aws:"));
      assert.ok(custom.length > 50);
      const untagged = custom.filter((r) => !r.provider?.includes("pulumi:providers:aws"));
      assert.deepEqual(untagged.map((r) => `${r.type} ${r.name}`), []);
    });
  }

  it("rejects default tags that are missing a key or name another stack", async () => {
    await assert.rejects(runProgram("dev", { "aws:defaultTags": JSON.stringify({ tags: { project: "p", stack: "dev" } }) }), /missing owner, costCentre/);
    await assert.rejects(
      runProgram("dev", { "aws:defaultTags": JSON.stringify({ tags: { project: "p", stack: "prod", owner: "o", costCentre: "c" } }) }),
      /tags\.stack must be "dev"/,
    );
  });
});
