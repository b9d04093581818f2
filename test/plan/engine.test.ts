import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ProgramError, settleProgram } from "../../plan/engine";
import { runProgram } from "../support/program";

describe("mock engine (plan/engine.ts)", function () {
  this.timeout(60_000);

  it("fails the run with a ProgramError when an apply() throws, instead of hanging", async () => {
    await assert.rejects(
      settleProgram("t", () => ({ broken: pulumi.output(1).apply(() => { throw new Error("boom inside apply"); }) }), () => 0),
      (e: Error) => e instanceof ProgramError && /the program failed for stack t: boom inside apply/.test(e.message),
    );
  });

  it("resolves the exports of a healthy program", async () => {
    const outputs = await settleProgram("t", () => ({ a: pulumi.output(2).apply((x) => x * 21), b: "plain" }), () => 0);
    assert.deepEqual(outputs, { a: 42, b: "plain" });
  });

  it("plans every azCount the Region can serve: 5 in us-east-1 (use1-az3 has no VPC link V2), 6 is refused by name", async () => {
    const run = await runProgram("prod", { azCount: "5", availabilityZoneIds: "[]" });
    assert.equal(run.ofType("aws:ec2/natGateway:NatGateway").length, 5);
    assert.deepEqual(run.outputs.availabilityZoneIds, ["use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6"]);
    await assert.rejects(runProgram("prod", { azCount: "6", availabilityZoneIds: "[]" }),
      /serverless-cache:azCount = 6: must be at most 5 in us-east-1: the private API's VPC link is offered only in use1-az1, use1-az2, use1-az4, use1-az5, use1-az6/);
  });

  it("records parents and property dependencies", async () => {
    const run = await runProgram("dev");
    const nat = run.one("aws:ec2/natGateway:NatGateway");
    assert.match(nat.parent ?? "", /serverless-cache:network:MultiAzNetwork::net-dev$/);
    assert.ok(run.byUrn(nat.propertyDependencies.subnetId[0])?.type === "aws:ec2/subnet:Subnet");
  });
});
