import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { createFailoverClients, createFailoverHandler, type FailoverClients, type FailoverSummary } from "../../../functions/failover/shell";

/**
 * The failover handler is declared with `aws.lambda.CallbackFunction({ callbackFactory })`, so its
 * code is what Pulumi's closure serializer emits. Serialize factories the way CallbackFunction
 * does (`isFactoryFunction: true`) and execute the emitted `__index.js` in a temp dir whose
 * node_modules points at ours (the deployed archive ships the @aws-sdk/* packages it imports).
 */
describe("failover shell: survives Pulumi closure serialization", function () {
  this.timeout(30000);
  const REPO_NODE_MODULES = path.resolve(__dirname, "../../../node_modules");
  const dirs: string[] = [];

  async function load(factory: () => unknown): Promise<{ handler: (event: unknown, ctx?: unknown) => Promise<FailoverSummary>; text: string }> {
    const serialized = await pulumi.runtime.serializeFunction(factory, { isFactoryFunction: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "failover-task-"));
    dirs.push(dir);
    fs.symlinkSync(REPO_NODE_MODULES, path.join(dir, "node_modules"), "dir");
    fs.writeFileSync(path.join(dir, "__index.js"), serialized.text);
    const mod = require(path.join(dir, "__index.js")) as { handler: (event: unknown, ctx?: unknown) => Promise<FailoverSummary> };
    return { handler: mod.handler, text: serialized.text };
  }

  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it("runs observe → decide → apply from the serialized archive", async () => {
    const ids = {
      listenerArn: "arn:listener",
      lambdaTargetGroupArn: "arn:tg/lambda",
      fargateTargetGroupArn: "arn:tg/fargate",
      cluster: "c",
      service: "s",
      alarmNames: ["throttles"],
      albArnSuffix: "app/api/50dc6c495c0c9188",
      fargateTargetGroupArnSuffix: "targetgroup/api-fargate/bbbbbbbbbbbbbbbb",
    };
    const factory = () => {
      // Fake clients as object literals: serialized by value with the factory.
      const calls: string[] = [];
      const reply = (name: string): unknown => {
        calls.push(name);
        switch (name) {
          case "DescribeAlarmsCommand":
            return { MetricAlarms: [{ AlarmName: "throttles", StateValue: "ALARM", StateUpdatedTimestamp: new Date(Date.now() - 1000) }] };
          case "DescribeListenersCommand":
            return {
              Listeners: [{
                ListenerArn: "arn:listener",
                DefaultActions: [{ Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: "arn:tg/lambda", Weight: 1 }, { TargetGroupArn: "arn:tg/fargate", Weight: 0 }] } }],
              }],
            };
          case "DescribeServicesCommand":
            return { services: [{ status: "ACTIVE", desiredCount: 2, runningCount: 2 }] };
          case "DescribeTargetHealthCommand":
            return { TargetHealthDescriptions: [{ TargetHealth: { State: "healthy" } }] };
          default:
            return {};
        }
      };
      const send = async (cmd: { constructor: { name: string } }) => reply(cmd.constructor.name);
      const clients = { cloudwatch: { send }, ecs: { send }, elbv2: { send } } as unknown as FailoverClients;
      const handler = createFailoverHandler({ clients, ids, config: { failoverDesiredCount: 4, baselineDesiredCount: 2 }, log: () => undefined });
      return async (event: unknown) => ({ ...(await handler(event)), calls: calls.splice(0) });
    };
    const { handler, text } = await load(factory);
    assert.match(text, /require\("@aws-sdk\/client-ecs/);
    const out = (await handler({ "detail-type": "Scheduled Event" })) as FailoverSummary & { calls: string[] };
    assert.deepEqual(out.actions, [
      { type: "scaleService", desiredCount: 4 },
      { type: "setWeights", lambda: 0, fargate: 1 },
    ]);
    assert.deepEqual(out.applied, out.actions);
    assert.deepEqual(out.calls.slice(4), ["UpdateServiceCommand", "ModifyListenerCommand"]);
  });

  it("reads the demand (GetMetricData) and fails back from the serialized archive", async () => {
    const ids = {
      listenerArn: "arn:listener",
      lambdaTargetGroupArn: "arn:tg/lambda",
      fargateTargetGroupArn: "arn:tg/fargate",
      cluster: "c",
      service: "s",
      alarmNames: ["throttles"],
      albArnSuffix: "app/api/50dc6c495c0c9188",
      fargateTargetGroupArnSuffix: "targetgroup/api-fargate/bbbbbbbbbbbbbbbb",
    };
    const factory = () => {
      const now = Date.UTC(2026, 10, 1, 12, 0, 0);
      const calls: string[] = [];
      const reply = (name: string, input: { MetricDataQueries?: Array<{ Id: string }> }): unknown => {
        calls.push(name);
        switch (name) {
          case "DescribeAlarmsCommand": // quiet for an hour
            return { MetricAlarms: [{ AlarmName: "throttles", StateValue: "OK", StateUpdatedTimestamp: new Date(now - 3_600_000) }] };
          case "DescribeListenersCommand":
            return {
              Listeners: [{
                ListenerArn: "arn:listener",
                DefaultActions: [{ Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: "arn:tg/lambda", Weight: 0 }, { TargetGroupArn: "arn:tg/fargate", Weight: 1 }] } }],
              }],
            };
          case "DescribeServicesCommand":
            return { services: [{ status: "ACTIVE", desiredCount: 2, runningCount: 2 }] };
          case "DescribeTargetHealthCommand":
            return { TargetHealthDescriptions: [{ TargetHealth: { State: "healthy" } }] };
          case "GetMetricDataCommand": { // 60 requests a minute at 0.1 s for the last 20 minutes: 0.1 concurrent
            const minutes = Array.from({ length: 20 }, (_, i) => new Date(now - (i + 1) * 60_000));
            return { MetricDataResults: (input.MetricDataQueries ?? []).map((q) => ({ Id: q.Id, StatusCode: "Complete", Timestamps: minutes, Values: minutes.map(() => (q.Id === "requests" ? 60 : 0.1)) })) };
          }
          default:
            return {};
        }
      };
      const send = async (cmd: { constructor: { name: string }; input: { MetricDataQueries?: Array<{ Id: string }> } }) => reply(cmd.constructor.name, cmd.input);
      const clients = { cloudwatch: { send }, ecs: { send }, elbv2: { send } } as unknown as FailoverClients;
      const handler = createFailoverHandler({ clients, ids, config: { failoverDesiredCount: 2, lambdaReservedConcurrency: 10 }, now: () => now, log: () => undefined });
      return async (event: unknown) => ({ ...(await handler(event)), calls: calls.splice(0) });
    };
    const { handler } = await load(factory);
    const out = (await handler({ "detail-type": "Scheduled Event" })) as FailoverSummary & { calls: string[] };
    assert.deepEqual(out.calls.slice(4), ["GetMetricDataCommand", "ModifyListenerCommand"]);
    assert.deepEqual(out.actions, [{ type: "setWeights", lambda: 1, fargate: 0 }], "low demand for the window: fail back, keep capacity");
    assert.equal(out.demand?.low, true);
  });

  it("creates real SDK clients inside the factory at cold start", async () => {
    const ids = { listenerArn: "l", lambdaTargetGroupArn: "a", fargateTargetGroupArn: "b", cluster: "c", service: "s", alarmNames: ["x"] };
    const factory = () => {
      const clients = createFailoverClients({ region: "us-east-1" });
      const handler = createFailoverHandler({ clients, ids, config: {} });
      return async () => ({ ok: typeof handler === "function", maxAttempts: await clients.ecs.config.maxAttempts() });
    };
    const { handler } = await load(factory);
    assert.deepEqual(await handler({}), { ok: true, maxAttempts: 2 });
  });
});
