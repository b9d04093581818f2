/**
 * The mock account behaves like a real one where it matters for a first `pulumi up` (see
 * plan/mockAccount.ts), and the program survives it: what used to pass under mocks that held our own
 * beliefs (first AZ names, Local Zones, full quotas, an account role that exists) now fails here as
 * it would in AWS.
 */
import * as assert from "node:assert/strict";
import { MEMCACHED_ENGINE_VERSIONS, MEMCACHED_NODE_TYPES } from "../../config";
import { DEFAULT_ZONES, ELASTICACHE_MEMCACHED_NODE_TYPES, ELASTICACHE_MEMCACHED_VERSIONS, MockAccount, MockAwsError, type MockZone } from "../../plan/mockAccount";
import { runProgram, type ProgramRun } from "../support/program";

const SUBNET = "aws:ec2/subnet:Subnet";
const FUNCTION = "aws:lambda/function:Function";

describe("mock account: AWS behaviour our mocks used to leave out", function () {
  this.timeout(120_000);

  // Self-checks of the mock account (they run no program): it must refuse what AWS refuses.
  it("offers the memcached versions and node types config.ts allows (the same AWS facts, kept twice)", () => {
    assert.deepEqual([...ELASTICACHE_MEMCACHED_VERSIONS], [...MEMCACHED_ENGINE_VERSIONS]);
    assert.deepEqual([...ELASTICACHE_MEMCACHED_NODE_TYPES].sort(), [...MEMCACHED_NODE_TYPES].sort());
  });

  it("lists enabled Local and Wavelength Zones, sorted first by name, unless filtered out", () => {
    const account = new MockAccount();
    const all = account.describeZones({ state: "available" });
    assert.deepEqual(all.names.slice(0, 3), ["us-east-1-atl-1a", "us-east-1-bos-1a", "us-east-1-wl1-bos-wlz-1"]);
    assert.ok(!all.names.includes("us-east-1-mia-1a"), "a zone the account has not opted into is not listed");
    assert.ok(account.describeZones({ allAvailabilityZones: true }).names.includes("us-east-1-mia-1a"));
    const azs = account.describeZones({ filters: [{ name: "zone-type", values: ["availability-zone"] }] });
    assert.deepEqual(azs.names, ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]);
    assert.equal(azs.zoneIds[0], "use1-az3", "in this account the first AZ name is the zone VPC links V2 and Lambda leave out");
  });

  it("the old choice (first two names with state=available) would have failed: Lambda refuses the subnets", () => {
    const account = new MockAccount();
    const [a, b] = account.describeZones({ state: "available" }).names;
    account.create(SUBNET, "s1", { availabilityZone: a });
    account.create(SUBNET, "s2", { availabilityZone: b });
    assert.throws(() => account.create(FUNCTION, "f", { vpcConfig: { subnetIds: ["s1", "s2"] } }), /Lambda doesn't support/);
  });

  it("and the first two AZ names (Local Zones filtered) land on use1-az3: the VPC link is refused", () => {
    const account = new MockAccount();
    const names = account.describeZones({ filters: [{ name: "zone-type", values: ["availability-zone"] }] }).names;
    account.create(SUBNET, "s1", { availabilityZone: names[0] });
    account.create(SUBNET, "s2", { availabilityZone: names[1] });
    assert.throws(() => account.create("aws:apigatewayv2/vpcLink:VpcLink", "l", { subnetIds: ["s1", "s2"] }), /VPC link V2 is not supported in use1-az3/);
  });

  it("refuses subnets in unknown or not-opted-in zones, or with both a zone name and ID, and unknown endpoint services", () => {
    const account = new MockAccount();
    assert.throws(() => account.create(SUBNET, "s", { availabilityZoneId: "use1-az9" }), MockAwsError);
    assert.throws(() => account.create(SUBNET, "s", { availabilityZone: "us-east-1-mia-1a" }), MockAwsError);
    assert.throws(() => account.create(SUBNET, "s", { availabilityZone: "us-east-1c", availabilityZoneId: "use1-az1" }), /conflicts with availability_zone_id/);
    assert.throws(() => account.call("aws:ec2/getVpcEndpointService:getVpcEndpointService", { service: "execute-apis" }), /no matching VPC Endpoint Service/);
    assert.equal(account.call("aws:ec2/getVpcEndpointService:getVpcEndpointService", { service: "ecr.api" })?.service, "ecr.api");
  });

  describe("the program under real-account behaviour", () => {
    let dev: ProgramRun;
    let prod: ProgramRun;
    before(async () => {
      dev = await runProgram("dev");
      prod = await runProgram("prod");
    });

    it("puts every subnet in the pinned zone IDs, whatever this account calls them", () => {
      for (const [run, ids] of [[dev, ["use1-az1", "use1-az2"]], [prod, ["use1-az1", "use1-az2", "use1-az4"]]] as const) {
        const zones = new Set(run.ofType(SUBNET).map((s) => s.state.availabilityZoneId));
        assert.deepEqual([...zones].sort(), [...ids].sort());
        for (const s of run.ofType(SUBNET)) assert.equal(s.inputs.availabilityZone, undefined, `${s.name} is placed by zone ID, not name`);
      }
      assert.deepEqual(dev.outputs.availabilityZones, ["us-east-1c", "us-east-1e"], "names follow this account's mapping");
    });

    it("with another account's name mapping the same zone IDs get other names and the same subnets", async () => {
      const shifted: MockZone[] = DEFAULT_ZONES.map((z, i, all) => (z.zoneType === "availability-zone" ? { ...z, zoneId: all[(i + 1) % 6].zoneId } : z));
      const other = await runProgram("dev", {}, { account: { zones: shifted } });
      assert.deepEqual(other.outputs.availabilityZoneIds, ["use1-az1", "use1-az2"]);
      assert.notDeepEqual(other.outputs.availabilityZones, dev.outputs.availabilityZones);
      assert.deepEqual(other.ofType(SUBNET).map((s) => s.inputs.availabilityZoneId), dev.ofType(SUBNET).map((s) => s.inputs.availabilityZoneId));
    });

    it("without a pin, the network picks the lowest supported zone IDs (never the first names)", async () => {
      const run = await runProgram("prod", { networkAvailabilityZoneIds: "[]" });
      assert.deepEqual(run.outputs.availabilityZoneIds, ["use1-az1", "use1-az2", "use1-az4"]);
    });

    it("an endpoint service missing from one chosen AZ: every interface endpoint skips that AZ's subnet", async () => {
      // us-east-1c is use1-az1 in this account: a zone both stacks pin.
      const run = await runProgram("prod", {}, { account: { endpointServiceMissingAzNames: ["us-east-1c"] } });
      const az1Subnets = new Set(run.ofType(SUBNET).filter((sn) => sn.state.availabilityZoneId === "use1-az1").map((sn) => sn.id));
      const endpoints = run.ofType("aws:ec2/vpcEndpoint:VpcEndpoint").filter((e) => e.inputs.vpcEndpointType === "Interface");
      assert.equal(endpoints.length, 4, "execute-api, ecr.api, ecr.dkr, logs");
      for (const e of endpoints) {
        assert.equal(e.inputs.subnetIds.length, 2, `${e.name}: azCount - 1 subnets`);
        assert.ok(!e.inputs.subnetIds.some((id: string) => az1Subnets.has(id)), `${e.name} avoids us-east-1c`);
      }
    });

    it("an endpoint service offered in none of the AZs fails the program, naming them", async () => {
      const all = DEFAULT_ZONES.filter((z) => z.zoneType === "availability-zone").map((z) => z.name);
      await assert.rejects(runProgram("dev", {}, { account: { endpointServiceMissingAzNames: all } }), /execute-api endpoint service is offered in no AZ, none of this network's AZs \(us-east-1c, us-east-1e\)/);
    });

    it("an account whose Lambda concurrency quota is 50 refuses dev's reserved concurrency", async () => {
      await assert.rejects(runProgram("dev", {}, { account: { lambdaConcurrencyQuota: 50 } }), /UnreservedConcurrentExecution below its minimum value of \[100\]/);
    });

    it("prod's NAT gateways need 3 Elastic IPs: an account already using 3 of 5 fails", async () => {
      await assert.rejects(runProgram("prod", {}, { account: { elasticIpsInUse: 3 } }), /AddressLimitExceeded/);
    });

    it("a fresh account has no API Gateway CloudWatch role: access logs need the stack to manage it (or none)", async () => {
      await assert.rejects(runProgram("dev", { apiGatewayManageAccountLogRole: "false" }), /CloudWatch Logs role ARN must be set in account settings/);
      await runProgram("dev", { apiGatewayManageAccountLogRole: "false", apiGatewayAccessLogs: "false" });
      await runProgram("dev", { apiGatewayManageAccountLogRole: "false" }, { account: { apiGatewayCloudWatchRoleArn: "arn:aws:iam::123456789012:role/existing" } });
    });

    it("keeps the account-wide log role and setting when the stack is destroyed", () => {
      for (const type of ["aws:iam/role:Role", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:apigateway/account:Account"]) {
        const r = dev.resources.find((x) => x.type === type && /apigw-logs|account/.test(x.name));
        assert.ok(r, type);
        assert.equal(r.options?.retainOnDelete, true, `${r.name} is retained on delete`);
      }
    });
  });
});
