import * as assert from "node:assert/strict";
import {
  chooseZones,
  isAzId,
  regionProblems,
  VPC_LINK_V2_ZONE_IDS,
  zoneIdPrefix,
  zoneProblems,
  type ZoneInfo,
  type ZoneRequirement,
} from "../../components/awsAvailability";
import { DEFAULT_ZONES } from "../../plan/mockAccount";

const ALL: ZoneRequirement[] = ["vpc-link-v2", "lambda-vpc", "fargate"];
/** us-east-1 as the mock account lists it: shuffled names, Local and Wavelength Zones. */
const US_EAST_1: ZoneInfo[] = DEFAULT_ZONES.map((z) => ({ name: z.name, zoneId: z.zoneId, zoneType: z.zoneType, optInStatus: z.optInStatus }));

describe("AZ choice by zone ID (components/awsAvailability.ts)", () => {
  it("tells AZ IDs from Local Zone IDs", () => {
    assert.ok(isAzId("use1-az1"));
    assert.ok(isAzId("usgw1-az3"));
    assert.ok(!isAzId("use1-bos1-az1"));
    assert.ok(!isAzId("us-east-1a"));
    assert.ok(!isAzId("use1-wl1-bos-wlz1"));
  });

  it("knows each Region's zone-ID prefix from the tables", () => {
    assert.equal(zoneIdPrefix("us-east-1"), "use1");
    assert.equal(zoneIdPrefix("eu-west-3"), "euw3");
    assert.equal(zoneIdPrefix("af-south-1"), undefined);
  });

  it("without a pin takes the lowest supported zone IDs, never a Local Zone, use1-az3 or the order of names", () => {
    const c = chooseZones({ region: "us-east-1", zones: US_EAST_1, count: 3, requirements: ALL });
    assert.deepEqual(c.zoneIds, ["use1-az1", "use1-az2", "use1-az4"]);
    assert.deepEqual(c.names, ["us-east-1c", "us-east-1e", "us-east-1d"], "this account's names for them");
  });

  it("the choice is the same in every account, whatever the name mapping", () => {
    const names = "abcdef".split("").map((l) => `us-east-1${l}`);
    const ids = ["use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6"];
    for (let shift = 0; shift < 6; shift++) {
      const zones = names.map((name, i) => ({ name, zoneId: ids[(i + shift) % 6] }));
      assert.deepEqual(chooseZones({ region: "us-east-1", zones, count: 2, requirements: ALL }).zoneIds, ["use1-az1", "use1-az2"]);
    }
  });

  it("a pin is used as given, in its order", () => {
    const c = chooseZones({ region: "us-east-1", zones: US_EAST_1, count: 2, pinned: ["use1-az6", "use1-az1"], requirements: ALL });
    assert.deepEqual(c.zoneIds, ["use1-az6", "use1-az1"]);
    assert.deepEqual(c.names, ["us-east-1b", "us-east-1c"]);
  });

  const refusals: Array<[string, string[], number, RegExp]> = [
    ["an unsupported zone", ["use1-az1", "use1-az3"], 2, /VPC links V2 are not offered in use1-az3.*Lambda does not accept VPC subnets in use1-az3/],
    ["a Local Zone", ["use1-az1", "use1-bos1-az1"], 2, /use1-bos1-az1 is not an available Availability Zone/],
    ["a zone of another Region", ["use1-az1", "use2-az1"], 2, /use2-az1 is not an available Availability Zone/],
    ["too few IDs", ["use1-az1"], 2, /1 zone IDs pinned but 2 AZs wanted/],
    ["a duplicate", ["use1-az1", "use1-az1"], 2, /pinned twice/],
  ];
  for (const [what, pinned, count, says] of refusals) {
    it(`refuses a pin with ${what}, naming the usable IDs`, () => {
      assert.throws(() => chooseZones({ region: "us-east-1", zones: US_EAST_1, count, pinned, requirements: ALL }), (e: Error) => {
        assert.match(e.message, says);
        assert.match(e.message, /zone IDs usable here: use1-az1, use1-az2, use1-az4, use1-az5, use1-az6/);
        return true;
      });
    });
  }

  it("fails when the Region has fewer usable AZs than wanted", () => {
    assert.throws(() => chooseZones({ region: "us-east-1", zones: US_EAST_1, count: 6, requirements: ALL }), /6 AZs wanted but only 5 in us-east-1/);
    const westOne = [{ name: "us-west-1a", zoneId: "usw1-az1" }, { name: "us-west-1b", zoneId: "usw1-az3" }, { name: "us-west-1c", zoneId: "usw1-az2" }];
    assert.deepEqual(chooseZones({ region: "us-west-1", zones: westOne, count: 2, requirements: ALL }).zoneIds, ["usw1-az1", "usw1-az3"]);
    assert.throws(() => chooseZones({ region: "us-west-1", zones: westOne, count: 3, requirements: ALL }), /only 2/);
  });

  it("a Region without VPC links V2 is refused when the stack needs them, accepted otherwise", () => {
    const zones = [{ name: "af-south-1a", zoneId: "afs1-az1" }, { name: "af-south-1b", zoneId: "afs1-az2" }];
    assert.throws(() => chooseZones({ region: "af-south-1", zones, count: 2, requirements: ALL }), /not offered in af-south-1/);
    assert.deepEqual(chooseZones({ region: "af-south-1", zones, count: 2, requirements: ["lambda-vpc"] }).zoneIds, ["afs1-az1", "afs1-az2"]);
    assert.equal(regionProblems("af-south-1", ["lambda-vpc"]).length, 0);
  });

  it("every table entry is an AZ ID of its own Region's prefix", () => {
    for (const [region, ids] of Object.entries(VPC_LINK_V2_ZONE_IDS)) {
      const prefix = zoneIdPrefix(region);
      for (const id of ids) {
        assert.ok(isAzId(id), `${region}: ${id}`);
        assert.ok(id.startsWith(`${prefix}-`), `${region}: ${id}`);
        assert.deepEqual(zoneProblems(region, id, ["vpc-link-v2"]), []);
      }
    }
  });

  it("Fargate's restricted Regions are honoured", () => {
    assert.deepEqual(zoneProblems("ap-northeast-1", "apne1-az3", ["fargate"]).length, 1);
    assert.deepEqual(zoneProblems("ap-northeast-1", "apne1-az4", ["fargate"]), []);
    assert.deepEqual(zoneProblems("us-east-1", "use1-az6", ["fargate"]), []);
  });
});
