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
    // eslint-disable-next-line @typescript-eslint/no-require-imports
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
