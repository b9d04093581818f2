import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { estimateMonthlyCost, loadPriceTable, type TrafficAssumptions } from "../../plan/cost";
import { runPolicies } from "../../plan/policyRunner";
import { MockAccount } from "../../plan/mockAccount";
import { DEFAULT_IAM_WILDCARD_EXCEPTIONS, iamNoWildcards } from "../../policy/policies";
import { REPO_ROOT, runProgram, type ProgramRun } from "../support/program";
import { T } from "../support/types";

/**
 * MultiAzNetwork on its own (issue 15, item 6): the S3 gateway endpoint's prefix list for egress rules,
 * the flow-log delivery role, and the cost of keeping flow-log records.
 */


const ASSUMPTIONS: TrafficAssumptions = {
  apiRequestsPerMonth: 0, apiCacheHitRatio: 0, avgResponseKb: 0, avgRequestKb: 0, lambdaShareOfBackend: 1, apiLambdaAvgDurationMs: 0,
  cacheHandlerInvocationsPerMonth: 0, cacheHandlerAvgDurationMs: 0, failoverAvgDurationMs: 0, natGbPerMonth: 0,
  interfaceEndpointGbPerMonth: 0, logsGbPerMonth: 0, flowLogGbPerMonth: 3, customMetrics: 0, containerInsightsMetricsPerService: 0, ecrImageGb: 0, s3GbStored: 0,
};

describe("MultiAzNetwork (network only)", function () {
  this.timeout(60_000);

  describe("the component alone", () => {
    let s3PrefixListId: string | undefined;
    let endpointPrefixListId: string | undefined;
    before(async () => {
      const account = new MockAccount();
      await pulumi.runtime.setMocks({
        newResource(args) {
          const id = `${args.name}-id`;
          const computed: Record<string, unknown> = { arn: `arn:aws:mock:us-east-1:123456789012:${args.name}` };
          if (args.type === T.endpoint && args.inputs.vpcEndpointType === "Gateway") computed.prefixListId = "pl-63a5400a";
          if (args.type === "aws:ec2/vpc:Vpc") computed.cidrBlock = args.inputs.cidrBlock;
          return { id, state: { ...args.inputs, ...computed } };
        },
        call(args) {
          return account.call(args.token, args.inputs) ?? args.inputs;
        },
      }, "serverless-cache", "network-test", false);
      // Required here, after setMocks: nothing may be created before it.
      const { MultiAzNetwork } = require("../../components/MultiAzNetwork") as typeof import("../../components/MultiAzNetwork");
      const net = new MultiAzNetwork("net-t", { cidrBlock: "10.40.0.0/16", azCount: 2, natMode: "single", flowLogs: "reject" });
      const get = <V>(o: pulumi.Output<V>): Promise<V> => new Promise((resolve) => o.apply((v) => { resolve(v); return v; }));
      s3PrefixListId = await get(net.s3PrefixListId);
      endpointPrefixListId = "pl-63a5400a";
    });

    it("exposes the S3 gateway endpoint's prefix list id, for egress rules to S3 that do not open 443 to 0.0.0.0/0", () => {
      assert.equal(s3PrefixListId, endpointPrefixListId);
    });
  });

  describe("both stacks", () => {
    let dev: ProgramRun;
    let prod: ProgramRun;
    before(async () => {
      dev = await runProgram("dev");
      prod = await runProgram("prod");
    });

    it("the flow-log delivery role has the VPC guide's minimum, scoped to its log group (DescribeLogGroups on *, no CreateLogGroup)", () => {
      for (const run of [dev, prod]) {
        const group = run.one(T.logGroup, "flow-logs");
        const policy = JSON.parse(run.ofType(T.rolePolicy).find((p) => p.name.endsWith("-flow-logs"))!.inputs.policy as string) as { Statement: Array<Record<string, unknown>> };
        const arn = group.state.arn as string;
        assert.deepEqual(policy.Statement, [
          { Sid: "WriteFlowLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], Resource: [arn, `${arn}:*`] },
          { Sid: "FindLogGroup", Effect: "Allow", Action: ["logs:DescribeLogGroups"], Resource: "*" },
        ], run.stack);
        const actions = policy.Statement.flatMap((s) => s.Action as string[]);
        assert.ok(!actions.includes("logs:CreateLogGroup"), "the group is managed (with retention); the service must not re-create it without one");
      }
    });

    it("the flow log is created after its role has its permissions (CreateFlowLogs checks the role)", () => {
      for (const run of [dev, prod]) {
        const flowLog = run.one(T.flowLog);
        const delivery = run.ofType(T.rolePolicy).find((p) => p.name.endsWith("-flow-logs"))!;
        assert.ok(flowLog.dependencies.includes(delivery.urn), `${run.stack}: FlowLog dependsOn the delivery RolePolicy; dependencies ${JSON.stringify(flowLog.dependencies)}`);
        const role = run.ofType(T.role).find((r) => r.name.endsWith("-flow-logs"))!;
        assert.ok(flowLog.propertyDependencies.iamRoleArn?.includes(role.urn));
        assert.equal(flowLog.inputs.maxAggregationInterval, 600, "60 or 600 s are the only values; 600 is AWS's default and the cheaper one");
      }
    });

    it("iam-no-wildcards passes the delivery role only because of its documented DescribeLogGroups exception", async () => {
      assert.ok(DEFAULT_IAM_WILDCARD_EXCEPTIONS.some((e) => e.action === "logs:DescribeLogGroups" && e.resource === "*"));
      const [ok] = await runPolicies(dev.resources, [iamNoWildcards]);
      assert.equal(ok.status, "pass", JSON.stringify(ok.violations));
      const without = DEFAULT_IAM_WILDCARD_EXCEPTIONS.filter((e) => e.action !== "logs:DescribeLogGroups").map((e) => ({ ...e }));
      const [strict] = await runPolicies(dev.resources, [iamNoWildcards], { [iamNoWildcards.name]: { allowedWildcards: without } });
      assert.equal(strict.status, "fail");
      assert.ok(strict.violations.some((v) => /^role policy net-dev-flow-logs: statement FindLogGroup: Resource "\*" \(every resource\) with read action\(s\) logs:DescribeLogGroups/.test(v.message)),
        JSON.stringify(strict.violations));
    });

    it("the plan prices flow-log storage for the group's retention, not only ingestion (vended logs: ingestion and archival)", () => {
      const prices = loadPriceTable(path.join(REPO_ROOT, "pricing", "us-east-1.json"));
      for (const run of [dev, prod]) {
        const est = estimateMonthlyCost(run.resources, prices, ASSUMPTIONS);
        const retention = run.one(T.logGroup, "flow-logs").inputs.retentionInDays as number;
        assert.ok(retention > 0);
        const storage = est.lines.find((l) => l.driver === "VPC flow logs storage");
        assert.ok(storage, `${run.stack}: a storage line; lines ${JSON.stringify(est.lines.map((l) => l.driver))}`);
        assert.equal(storage.quantity, 3 * (retention / 30));
        assert.equal(storage.unitUsd, prices.prices.cloudwatchLogsStorageGbMonth.usd);
        assert.equal(storage.component, `net-${run.stack} (MultiAzNetwork)`);
        assert.ok(est.lines.some((l) => l.driver === "VPC flow logs (vended logs ingestion)"));
      }
    });
  });
});
