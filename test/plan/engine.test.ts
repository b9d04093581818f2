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

  it("offers all six us-east-1 AZs, so every valid azCount can be planned", async () => {
    const run = await runProgram("prod", { azCount: "6" });
    assert.equal(run.ofType("aws:ec2/natGateway:NatGateway").length, 6);
    assert.equal(new Set(run.ofType("aws:ec2/subnet:Subnet").map((s) => s.inputs.availabilityZone)).size, 6);
  });

  it("records parents and property dependencies", async () => {
    const run = await runProgram("dev");
    const nat = run.one("aws:ec2/natGateway:NatGateway");
    assert.match(nat.parent ?? "", /serverless-cache:network:MultiAzNetwork::net-dev$/);
    assert.ok(run.byUrn(nat.propertyDependencies.subnetId[0])?.type === "aws:ec2/subnet:Subnet");
  });
});
