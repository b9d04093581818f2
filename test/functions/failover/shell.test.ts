import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { mockClient, type AwsClientStub } from "aws-sdk-client-mock";
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand, type GetMetricDataCommandInput } from "@aws-sdk/client-cloudwatch";
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import {
  DescribeListenersCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  type Action as ElbAction,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  alarmHintFromEvent,
  functionArnParts,
  apply,
  createFailoverClients,
  createFailoverHandler,
  createFailoverHandlerFromEnv,
  listenerActionsWithWeights,
  observe,
  observeDemand,
  weightsFromListenerActions,
  type FailoverClients,
  type FailoverIds,
  type FailoverSummary,
} from "../../../functions/failover/shell";
import { FAILOVER_IAM_ACTIONS, failoverIamStatements } from "../../../functions/failover/iam";
import { demandQueryRange, type FailoverConfig } from "../../../functions/failover/decide";

// The stubs replace the clients' `send` process-wide: install them for this file only and restore
// them afterwards, so other test files using real SDK clients are unaffected.
let cwMock: AwsClientStub<CloudWatchClient>;
let ecsMock: AwsClientStub<ECSClient>;
let elbMock: AwsClientStub<ElasticLoadBalancingV2Client>;

const LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/api/50dc6c495c0c9188/f2f7dc8efc522ab2";
const LAMBDA_TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-lambda/aaaaaaaaaaaaaaaa";
const FARGATE_TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-fargate/bbbbbbbbbbbbbbbb";
const IDS: FailoverIds = {
  listenerArn: LISTENER,
  lambdaTargetGroupArn: LAMBDA_TG,
  fargateTargetGroupArn: FARGATE_TG,
  cluster: "api-cluster",
  service: "api-fargate",
  alarmNames: ["api-throttles", "api-concurrency"],
  albArnSuffix: "app/api/50dc6c495c0c9188",
  fargateTargetGroupArnSuffix: "targetgroup/api-fargate/bbbbbbbbbbbbbbbb",
};
/** Reserved concurrency 10, failback below 5 for 10 minutes (3 minutes of lag), cooldown 10 minutes. */
const CONFIG: Partial<FailoverConfig> = {
  failoverDesiredCount: 3,
  baselineDesiredCount: 0,
  cooldownSeconds: 600,
  failedOverWeights: { lambda: 0, fargate: 1 },
  lambdaReservedConcurrency: 10,
  failbackDemandFraction: 0.5,
  failbackWindowSeconds: 600,
  demandLagSeconds: 180,
};
const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);

function clients(): FailoverClients {
  return {
    cloudwatch: new CloudWatchClient({ region: "us-east-1" }),
    ecs: new ECSClient({ region: "us-east-1" }),
    elbv2: new ElasticLoadBalancingV2Client({ region: "us-east-1" }),
  };
}

/** Listener default actions as DescribeListeners returns them: an OIDC step, then a weighted forward. */
function listenerActions(lambda: number, fargate: number): ElbAction[] {
  return [
    {
      Type: "authenticate-oidc",
      Order: 1,
      AuthenticateOidcConfig: {
        Issuer: "https://idp.example.com",
        AuthorizationEndpoint: "https://idp.example.com/auth",
        TokenEndpoint: "https://idp.example.com/token",
        UserInfoEndpoint: "https://idp.example.com/userinfo",
        ClientId: "client",
      },
    },
    {
      Type: "forward",
      Order: 2,
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: LAMBDA_TG, Weight: lambda },
          { TargetGroupArn: FARGATE_TG, Weight: fargate },
        ],
        TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
      },
    },
  ];
}

interface World {
  alarms: Array<{ name: string; state: "OK" | "ALARM" | "INSUFFICIENT_DATA"; at: number }>;
  actions: ElbAction[];
  desired: number;
  running: number;
  health: string[];
  /** The Fargate target group's minutes as CloudWatch returns them (already reported). */
  demand?: Array<{ startMs: number; requests: number; latency: number }>;
}

/** Minutes [fromMs, toMs) with `requests` per minute at 0.2 s (1 concurrency = 300 requests/min). */
function minutes(fromMs: number, toMs: number, requests: number): NonNullable<World["demand"]> {
  const out: NonNullable<World["demand"]> = [];
  for (let t = fromMs; t < toMs; t += 60_000) out.push({ startMs: t, requests, latency: 0.2 });
  return out;
}

/** Point the three mocks at a small mutable world; writes update it (so re-observing sees them). */
function mockWorld(world: World): void {
  cwMock.on(DescribeAlarmsCommand).callsFake(async (input: { AlarmNames?: string[] }) => ({
    MetricAlarms: world.alarms
      .filter((a) => (input.AlarmNames ?? []).includes(a.name))
      .map((a) => ({
        AlarmName: a.name,
        StateValue: a.state,
        StateUpdatedTimestamp: new Date(a.at),
        StateTransitionedTimestamp: new Date(a.at),
      })),
  }));
  elbMock.on(DescribeListenersCommand).callsFake(async () => ({
    Listeners: [{ ListenerArn: LISTENER, Port: 443, Protocol: "HTTPS", DefaultActions: world.actions }],
  }));
  elbMock.on(DescribeTargetHealthCommand).callsFake(async () => ({
    TargetHealthDescriptions: world.health.map((state, i) => ({
      Target: { Id: `10.0.1.${i + 10}`, Port: 8080 },
      TargetHealth: { State: state as "healthy" },
    })),
  }));
  elbMock.on(ModifyListenerCommand).callsFake(async (input: { DefaultActions?: ElbAction[] }) => {
    world.actions = input.DefaultActions ?? [];
    return { Listeners: [] };
  });
  ecsMock.on(DescribeServicesCommand).callsFake(async () => ({
    services: [{ serviceName: "api-fargate", status: "ACTIVE", desiredCount: world.desired, runningCount: world.running }],
    failures: [],
  }));
  ecsMock.on(UpdateServiceCommand).callsFake(async (input: { desiredCount?: number }) => {
    world.desired = input.desiredCount ?? world.desired;
    return { service: { desiredCount: world.desired } };
  });
  cwMock.on(GetMetricDataCommand).callsFake(async (input: GetMetricDataCommandInput) => {
    const from = (input.StartTime as Date).getTime();
    const to = (input.EndTime as Date).getTime();
    const points = (world.demand ?? []).filter((p) => p.startMs >= from && p.startMs < to);
    return {
      MetricDataResults: (input.MetricDataQueries ?? []).map((q) => ({
        Id: q.Id,
        StatusCode: "Complete",
        Timestamps: points.map((p) => new Date(p.startMs)),
        Values: points.map((p) => (q.MetricStat?.Metric?.MetricName === "RequestCount" ? p.requests : p.latency)),
      })),
    };
  });
}

function writes(): { modify: ElbAction[][]; update: number[] } {
  return {
    modify: elbMock.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input.DefaultActions ?? []),
    update: ecsMock.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input.desiredCount ?? -1),
  };
}

const silent = (): void => undefined;

describe("failover shell (mocked AWS clients)", () => {
  before(() => {
    cwMock = mockClient(CloudWatchClient);
    ecsMock = mockClient(ECSClient);
    elbMock = mockClient(ElasticLoadBalancingV2Client);
  });
  after(() => {
    cwMock.restore();
    ecsMock.restore();
    elbMock.restore();
  });

  describe("failover shell: observe", () => {
    beforeEach(() => {
      cwMock.reset();
      ecsMock.reset();
      elbMock.reset();
    });

    it("maps the four SDK responses to the observed state, asking only for our resources", async () => {
      mockWorld({
        alarms: [
          { name: "api-throttles", state: "ALARM", at: T0 - 30_000 },
          { name: "api-concurrency", state: "OK", at: T0 - 3_600_000 },
        ],
        actions: listenerActions(1, 0),
        desired: 2,
        running: 1,
        health: ["healthy", "unhealthy", "draining", "initial", "healthy"],
      });
      const obs = await observe(clients(), IDS);
      assert.deepEqual(obs.state, {
        alarms: [
          { name: "api-throttles", state: "ALARM", stateUpdatedAtMs: T0 - 30_000 },
          { name: "api-concurrency", state: "OK", stateUpdatedAtMs: T0 - 3_600_000 },
        ],
        weights: { lambda: 1, fargate: 0 },
        service: { desiredCount: 2, runningCount: 1 },
        fargateHealthyTargets: 2,
      });
      assert.equal(obs.serviceStatus, "ACTIVE");
      assert.deepEqual(obs.listenerDefaultActions, listenerActions(1, 0));
      assert.deepEqual(cwMock.commandCalls(DescribeAlarmsCommand)[0].args[0].input.AlarmNames, IDS.alarmNames);
      assert.deepEqual(elbMock.commandCalls(DescribeListenersCommand)[0].args[0].input, { ListenerArns: [LISTENER] });
      assert.deepEqual(elbMock.commandCalls(DescribeTargetHealthCommand)[0].args[0].input, { TargetGroupArn: FARGATE_TG });
      assert.deepEqual(ecsMock.commandCalls(DescribeServicesCommand)[0].args[0].input, { cluster: "api-cluster", services: ["api-fargate"] });
      // every call carries an abort signal (the time box)
      for (const c of [...cwMock.calls(), ...elbMock.calls(), ...ecsMock.calls()]) {
        const options = (c.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined;
        assert.ok(options?.abortSignal, "call without abortSignal");
      }
    });

    it("uses the later of StateUpdatedTimestamp and StateTransitionedTimestamp", async () => {
      mockWorld({ alarms: [], actions: listenerActions(1, 0), desired: 0, running: 0, health: [] });
      cwMock.on(DescribeAlarmsCommand).resolves({
        MetricAlarms: [
          { AlarmName: "api-throttles", StateValue: "OK", StateUpdatedTimestamp: new Date(T0), StateTransitionedTimestamp: new Date(T0 - 5000) },
          { AlarmName: "api-concurrency", StateValue: "OK", StateTransitionedTimestamp: new Date(T0 - 7000) },
        ],
      });
      const obs = await observe(clients(), IDS);
      assert.deepEqual(obs.state.alarms.map((a) => a.stateUpdatedAtMs), [T0, T0 - 7000]);
    });

    it("fails static (throws) when a watched alarm is missing, the service is not ACTIVE, or the listener is not ours", async () => {
      const world: World = { alarms: [{ name: "api-throttles", state: "OK", at: T0 }], actions: listenerActions(1, 0), desired: 0, running: 0, health: [] };
      mockWorld(world);
      await assert.rejects(observe(clients(), IDS), /api-concurrency/);
      world.alarms.push({ name: "api-concurrency", state: "OK", at: T0 });
      ecsMock.on(DescribeServicesCommand).resolves({ services: [{ status: "DRAINING", desiredCount: 0, runningCount: 0 }] });
      await assert.rejects(observe(clients(), IDS), /DRAINING/);
      ecsMock.on(DescribeServicesCommand).resolves({ services: [], failures: [{ arn: "x", reason: "MISSING" }] });
      await assert.rejects(observe(clients(), IDS), /MISSING/);
      mockWorld(world);
      world.actions = [{ Type: "forward", TargetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/other/cccc" }];
      await assert.rejects(observe(clients(), IDS), /neither configured target group/);
      world.actions = [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "503" } }];
      await assert.rejects(observe(clients(), IDS), /no forward action/);
    });

    it("reads a plain single-target forward (no ForwardConfig) as weight 1", () => {
      assert.deepEqual(weightsFromListenerActions([{ Type: "forward", TargetGroupArn: LAMBDA_TG }], IDS), { lambda: 1, fargate: 0 });
      assert.deepEqual(
        weightsFromListenerActions([{ Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: FARGATE_TG }] } }], IDS),
        { lambda: 0, fargate: 1 },
        "a listed group without Weight counts as receiving traffic",
      );
    });
  });

  describe("failover shell: apply", () => {
    beforeEach(() => {
      cwMock.reset();
      ecsMock.reset();
      elbMock.reset();
    });

    it("ModifyListener sets our weights and keeps the rest of the default actions", async () => {
      const world: World = { alarms: [], actions: listenerActions(1, 0), desired: 0, running: 0, health: [] };
      const third = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/canary/dddd";
      (world.actions[1].ForwardConfig!.TargetGroups as Array<{ TargetGroupArn: string; Weight: number }>).push({ TargetGroupArn: third, Weight: 0 });
      mockWorld(world);
      await apply(clients(), IDS, [{ type: "setWeights", lambda: 0, fargate: 1 }]);
      const call = elbMock.commandCalls(ModifyListenerCommand)[0].args[0].input;
      assert.equal(call.ListenerArn, LISTENER);
      const [auth, fwd] = call.DefaultActions ?? [];
      assert.deepEqual(auth, listenerActions(1, 0)[0], "other actions untouched");
      assert.equal(fwd.Type, "forward");
      assert.equal(fwd.Order, 2);
      assert.equal(fwd.TargetGroupArn, undefined);
      assert.deepEqual(fwd.ForwardConfig, {
        TargetGroups: [
          { TargetGroupArn: LAMBDA_TG, Weight: 0 },
          { TargetGroupArn: FARGATE_TG, Weight: 1 },
          { TargetGroupArn: third, Weight: 0 },
        ],
        TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
      });
      assert.equal(elbMock.commandCalls(DescribeListenersCommand).length, 1, "read the listener once when not given");
    });

    it("converts a plain single-target forward into a weighted ForwardConfig", () => {
      const next = listenerActionsWithWeights([{ Type: "forward", TargetGroupArn: LAMBDA_TG, Order: 1 }], IDS, { lambda: 1, fargate: 3 });
      assert.deepEqual(next, [
        {
          Type: "forward",
          Order: 1,
          ForwardConfig: { TargetGroups: [{ TargetGroupArn: LAMBDA_TG, Weight: 1 }, { TargetGroupArn: FARGATE_TG, Weight: 3 }] },
        },
      ]);
    });

    it("UpdateService sets desiredCount on our service", async () => {
      mockWorld({ alarms: [], actions: listenerActions(1, 0), desired: 0, running: 0, health: [] });
      await apply(clients(), IDS, [{ type: "scaleService", desiredCount: 3 }]);
      assert.deepEqual(ecsMock.commandCalls(UpdateServiceCommand)[0].args[0].input, {
        cluster: "api-cluster",
        service: "api-fargate",
        desiredCount: 3,
      });
    });

    it("applies in order and stops at the first failure", async () => {
      mockWorld({ alarms: [], actions: listenerActions(0, 1), desired: 3, running: 3, health: [] });
      elbMock.on(ModifyListenerCommand).rejects(new Error("Throttling"));
      const applied: unknown[] = [];
      await assert.rejects(
        apply(clients(), IDS, [{ type: "setWeights", lambda: 1, fargate: 0 }, { type: "scaleService", desiredCount: 0 }], {
          listenerDefaultActions: listenerActions(0, 1),
          onApplied: (a) => applied.push(a),
        }),
        /Throttling/,
      );
      assert.equal(ecsMock.commandCalls(UpdateServiceCommand).length, 0, "no scale-down after a failed shift back");
      assert.deepEqual(applied, []);
    });

    it("refuses both weights 0 and invalid values without calling AWS", async () => {
      mockWorld({ alarms: [], actions: listenerActions(1, 0), desired: 0, running: 0, health: [] });
      await assert.rejects(apply(clients(), IDS, [{ type: "setWeights", lambda: 0, fargate: 0 }]), /both weights to 0/);
      await assert.rejects(apply(clients(), IDS, [{ type: "setWeights", lambda: 1.5, fargate: 0 }]), /invalid weights/);
      await assert.rejects(apply(clients(), IDS, [{ type: "scaleService", desiredCount: -1 }]), /invalid desiredCount/);
      assert.equal(elbMock.commandCalls(ModifyListenerCommand).length + ecsMock.commandCalls(UpdateServiceCommand).length, 0);
    });
  });

  describe("failover shell: handler end to end on mocked clients", () => {
    beforeEach(() => {
      cwMock.reset();
      ecsMock.reset();
      elbMock.reset();
    });

    it("walks alarm → scale up → healthy → shift → OK → demand high → demand low → fail back → idle → baseline, one step per invocation", async () => {
      const world: World = {
        alarms: [
          { name: "api-throttles", state: "OK", at: T0 - 3_600_000 },
          { name: "api-concurrency", state: "OK", at: T0 - 3_600_000 },
        ],
        actions: listenerActions(1, 0),
        desired: 0,
        running: 0,
        health: [],
      };
      mockWorld(world);
      let now = T0;
      const lines: string[] = [];
      const handler = createFailoverHandler({ clients: clients(), ids: IDS, config: CONFIG, now: () => now, log: (l) => lines.push(l) });
      const tick = { "detail-type": "Scheduled Event", source: "aws.events" };

      let s = await handler(tick);
      assert.deepEqual(s.actions, [], "normal: nothing to do");
      assert.equal(s.trigger, "schedule");
      assert.equal(cwMock.commandCalls(GetMetricDataCommand).length, 0, "normal operation: no metric reads (and no cost)");

      world.alarms[0] = { name: "api-throttles", state: "ALARM", at: now };
      const alarmEvent = {
        "detail-type": "CloudWatch Alarm State Change",
        source: "aws.cloudwatch",
        detail: { alarmName: "api-throttles", state: { value: "ALARM", timestamp: new Date(now).toISOString().replace("Z", "+0000") } },
      };
      s = await handler(alarmEvent);
      assert.equal(s.trigger, "alarm-event");
      assert.deepEqual(s.actions, [{ type: "scaleService", desiredCount: 3 }]);
      assert.equal(world.desired, 3);
      s = await handler(alarmEvent); // duplicate delivery
      assert.deepEqual(s.actions, [], "duplicate event is a no-op");

      now += 60_000;
      world.running = 3;
      world.health = ["initial", "unhealthy", "initial"];
      s = await handler(tick);
      assert.deepEqual(s.actions, [], "scaled but unhealthy: no weight shift");
      assert.equal(s.phase, "waiting-for-healthy-targets");

      now += 60_000;
      world.health = ["healthy", "unhealthy", "initial"];
      s = await handler(tick);
      assert.deepEqual(s.actions, [{ type: "setWeights", lambda: 0, fargate: 1 }]);
      assert.deepEqual(weightsFromListenerActions(world.actions, IDS), { lambda: 0, fargate: 1 });
      assert.deepEqual(world.actions[1].ForwardConfig?.TargetGroupStickinessConfig, { Enabled: true, DurationSeconds: 300 });


      // Traffic has left Lambda, so its throttling alarm clears at once: that alone is no reason to go back.
      const MIN = 60_000;
      now = T0 + 3 * MIN;
      world.alarms[0] = { name: "api-throttles", state: "OK", at: now };
      s = await handler(tick);
      assert.deepEqual(s.actions, [], "alarms OK alone do not move traffic back");
      assert.equal(s.phase, "shift-back-pending");
      s = await handler(alarmEvent); // the old ALARM event arrives late
      assert.deepEqual(s.actions, [], "late ALARM event older than DescribeAlarms is ignored");

      // 17 minutes later: CloudWatch has reported the Fargate target group's minutes up to 3 minutes ago.
      now = T0 + 20 * MIN;
      world.demand = minutes(T0 + 2 * MIN, T0 + 17 * MIN, 2400); // 8 concurrent at 0.2 s: above 5 (50 % of 10)
      s = await handler(tick);
      assert.deepEqual(s.actions, [], "demand above 50 % of Lambda's cap keeps traffic on Fargate");
      assert.equal(s.phase, "demand-high");
      assert.ok(Math.abs((s.demand?.peakConcurrency ?? 0) - 8) < 1e-9, JSON.stringify(s.demand));

      // The load drops at minute 20; by minute 36 ten reported minutes after the lag are all low.
      now = T0 + 36 * MIN;
      world.demand = [...minutes(T0 + 2 * MIN, T0 + 20 * MIN, 2400), ...minutes(T0 + 20 * MIN, T0 + 33 * MIN, 300)];
      s = await handler(tick);
      assert.deepEqual(s.actions, [{ type: "setWeights", lambda: 1, fargate: 0 }], "fail back first, keep capacity");
      assert.equal(s.demand?.low, true);

      // Fargate served requests until the failback: capacity stays for the cooldown after its last request.
      now = T0 + 41 * MIN;
      world.demand = [...minutes(T0 + 2 * MIN, T0 + 20 * MIN, 2400), ...minutes(T0 + 20 * MIN, T0 + 36 * MIN, 300)];
      s = await handler(tick);
      assert.deepEqual(s.actions, [], "Fargate served requests within the cooldown");
      assert.equal(s.phase, "cooling-down");
      now = T0 + 49 * MIN;
      s = await handler(tick);
      assert.deepEqual(s.actions, [{ type: "scaleService", desiredCount: 0 }]);
      assert.equal(world.desired, 0);
      now = T0 + 50 * MIN;
      const reads = cwMock.commandCalls(GetMetricDataCommand).length;
      s = await handler(tick);
      assert.deepEqual(s.actions, []);
      assert.equal(cwMock.commandCalls(GetMetricDataCommand).length, reads, "back to normal: no more metric reads");

      assert.deepEqual(writes(), {
        modify: [listenerActionsWithWeights(listenerActions(1, 0), IDS, { lambda: 0, fargate: 1 }), listenerActionsWithWeights(listenerActions(1, 0), IDS, { lambda: 1, fargate: 0 })],
        update: [3, 0],
      });
      const scaledDown = JSON.parse(lines[lines.length - 2]) as { failover: FailoverSummary };
      assert.deepEqual(scaledDown.failover.applied, [{ type: "scaleService", desiredCount: 0 }]);
      assert.ok(scaledDown.failover.observed?.demand, "summary carries the observed state, demand included");
      assert.equal(scaledDown.failover.demand?.fargateIdle, true, "and how the demand was judged");
    });

    it("acts on an ALARM event newer than a lagging DescribeAlarms", async () => {
      mockWorld({
        alarms: [
          { name: "api-throttles", state: "OK", at: T0 - 60_000 },
          { name: "api-concurrency", state: "OK", at: T0 - 60_000 },
        ],
        actions: listenerActions(1, 0),
        desired: 0,
        running: 0,
        health: [],
      });
      const handler = createFailoverHandler({ clients: clients(), ids: IDS, config: CONFIG, now: () => T0, log: silent });
      const s = await handler({
        "detail-type": "CloudWatch Alarm State Change",
        source: "aws.cloudwatch",
        account: "123456789012",
        region: "us-east-1",
        detail: { alarmName: "api-concurrency", state: { value: "ALARM", timestamp: "2026-11-01T12:00:00.000+0000" } },
      }, { invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:svc-failover" });
      assert.deepEqual(s.hint, { name: "api-concurrency", state: "ALARM", atMs: T0 });
      assert.deepEqual(s.actions, [{ type: "scaleService", desiredCount: 3 }]);
    });

    it("trusts only CloudWatch's events from this account and Region, with a timestamp near now", () => {
      const ev = (over: Record<string, unknown> = {}, ts = "2026-11-01T12:00:00.000Z") => ({
        "detail-type": "CloudWatch Alarm State Change", source: "aws.cloudwatch", account: "123456789012", region: "us-east-1",
        detail: { alarmName: "api-throttles", state: { value: "ALARM", timestamp: ts } }, ...over,
      });
      const expected = { ...functionArnParts("arn:aws:lambda:us-east-1:123456789012:function:svc-failover"), nowMs: T0 };
      assert.deepEqual(expected, { region: "us-east-1", account: "123456789012", nowMs: T0 });
      assert.deepEqual(alarmHintFromEvent(ev(), IDS.alarmNames, expected), { name: "api-throttles", state: "ALARM", atMs: T0 });
      assert.equal(alarmHintFromEvent(ev({ source: "my.app" }), IDS.alarmNames, expected), undefined, "forged source");
      assert.equal(alarmHintFromEvent(ev({ source: undefined }), IDS.alarmNames, expected), undefined, "no source");
      assert.equal(alarmHintFromEvent(ev({ account: "999999999999" }), IDS.alarmNames, expected), undefined, "another account");
      assert.equal(alarmHintFromEvent(ev({ region: "eu-west-1" }), IDS.alarmNames, expected), undefined, "another Region");
      assert.equal(alarmHintFromEvent(ev({}, "2026-11-01T12:05:00.000Z"), IDS.alarmNames, expected), undefined, "5 minutes in the future");
      assert.equal(alarmHintFromEvent(ev({}, "2026-11-01T11:30:00.000Z"), IDS.alarmNames, expected), undefined, "30 minutes old");
      assert.equal(alarmHintFromEvent(ev({}, "2026-11-01T12:00:30.000Z"), IDS.alarmNames, expected)?.atMs, T0 + 30_000, "clock skew is tolerated");
    });

    it("parses only state-change events of watched alarms", () => {
      const ev = (name: string, value: string, ts: string) => ({ "detail-type": "CloudWatch Alarm State Change", source: "aws.cloudwatch", detail: { alarmName: name, state: { value, timestamp: ts } } });
      assert.deepEqual(alarmHintFromEvent(ev("api-throttles", "OK", "2026-11-01T12:00:00.000+0000"), IDS.alarmNames), { name: "api-throttles", state: "OK", atMs: T0 });
      assert.equal(alarmHintFromEvent(ev("someone-else", "ALARM", "2026-11-01T12:00:00.000Z"), IDS.alarmNames), undefined);
      assert.equal(alarmHintFromEvent(ev("api-throttles", "BOGUS", "2026-11-01T12:00:00.000Z"), IDS.alarmNames), undefined);
      assert.equal(alarmHintFromEvent(ev("api-throttles", "ALARM", "not a date"), IDS.alarmNames), undefined);
      assert.equal(alarmHintFromEvent({ "detail-type": "Scheduled Event" }, IDS.alarmNames), undefined);
      assert.equal(alarmHintFromEvent(null, IDS.alarmNames), undefined);
    });

    it("rejects bad ids when the handler is created (cold start), not later", () => {
      assert.throws(() => createFailoverHandler({ clients: clients(), ids: { ...IDS, alarmNames: [] }, config: CONFIG }), /alarmNames/);
      assert.throws(() => createFailoverHandler({ clients: clients(), ids: { ...IDS, listenerArn: "" }, config: CONFIG }), /listenerArn/);
      assert.throws(
        () => createFailoverHandler({ clients: clients(), ids: { ...IDS, fargateTargetGroupArn: LAMBDA_TG }, config: CONFIG }),
        /must differ/,
      );
    });
  });

  describe("failover shell: demand (GetMetricData)", () => {
    beforeEach(() => {
      cwMock.reset();
      ecsMock.reset();
      elbMock.reset();
    });

    it("asks for RequestCount (Sum) and TargetResponseTime (Average) of our ALB and Fargate target group, per minute", async () => {
      mockWorld({ alarms: [], actions: listenerActions(0, 1), desired: 3, running: 3, health: ["healthy"], demand: minutes(T0 - 5 * 60_000, T0, 300) });
      const range = demandQueryRange(CONFIG, T0 + 7_000);
      const demand = await observeDemand(clients(), IDS, range);
      const call = cwMock.commandCalls(GetMetricDataCommand)[0];
      const input = call.args[0].input;
      assert.deepEqual([input.StartTime, input.EndTime], [new Date(range.startMs), new Date(range.endMs)]);
      assert.equal(input.ScanBy, "TimestampAscending");
      assert.deepEqual(input.MetricDataQueries, ["RequestCount", "TargetResponseTime"].map((metric, i) => ({
        Id: i === 0 ? "requests" : "latency",
        ReturnData: true,
        MetricStat: {
          Metric: {
            Namespace: "AWS/ApplicationELB",
            MetricName: metric,
            Dimensions: [
              { Name: "LoadBalancer", Value: "app/api/50dc6c495c0c9188" },
              { Name: "TargetGroup", Value: "targetgroup/api-fargate/bbbbbbbbbbbbbbbb" },
            ],
          },
          Period: 60,
          Stat: i === 0 ? "Sum" : "Average",
        },
      })));
      assert.ok(((call.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined)?.abortSignal, "time-boxed");
      assert.deepEqual(demand.minutes, minutes(T0 - 5 * 60_000, T0, 300).map((m) => ({ startMs: m.startMs, requests: 300, responseTimeSeconds: 0.2 })));
    });

    it("merges the two series by minute and keeps a minute that has only one of them", async () => {
      mockWorld({ alarms: [], actions: listenerActions(0, 1), desired: 3, running: 3, health: [] });
      cwMock.on(GetMetricDataCommand).resolves({
        MetricDataResults: [
          { Id: "latency", StatusCode: "Complete", Timestamps: [new Date(T0)], Values: [0.05] },
          { Id: "requests", StatusCode: "Complete", Timestamps: [new Date(T0 + 60_000), new Date(T0)], Values: [7, 9] },
        ],
      });
      const demand = await observeDemand(clients(), IDS, { startMs: T0 - 60_000, endMs: T0 + 120_000 });
      assert.deepEqual(demand.minutes, [
        { startMs: T0, requests: 9, responseTimeSeconds: 0.05 },
        { startMs: T0 + 60_000, requests: 7 },
      ]);
    });

    it("fails static on a partial or missing series (a gap could hide a busy minute)", async () => {
      mockWorld({ alarms: [], actions: listenerActions(0, 1), desired: 3, running: 3, health: [] });
      cwMock.on(GetMetricDataCommand).resolves({
        MetricDataResults: [
          { Id: "requests", StatusCode: "PartialData", Timestamps: [], Values: [] },
          { Id: "latency", StatusCode: "Complete", Timestamps: [], Values: [] },
        ],
      });
      await assert.rejects(observeDemand(clients(), IDS, { startMs: T0 - 60_000, endMs: T0 }), /RequestCount: status PartialData/);
      cwMock.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: "requests", StatusCode: "Complete" }] });
      await assert.rejects(observeDemand(clients(), IDS, { startMs: T0 - 60_000, endMs: T0 }), /no result for TargetResponseTime/);
    });

    it("without the ARN suffixes every invocation fails before any AWS call; a malformed one fails the cold start", async () => {
      mockWorld({ alarms: [{ name: "api-throttles", state: "ALARM", at: T0 }, { name: "api-concurrency", state: "OK", at: T0 }], actions: listenerActions(1, 0), desired: 0, running: 0, health: [] });
      const { albArnSuffix: _alb, ...withoutSuffixes } = IDS;
      void _alb;
      const handler = createFailoverHandler({ clients: clients(), ids: withoutSuffixes, config: CONFIG, log: silent });
      await assert.rejects(handler({}), /FAILOVER_ALB_ARN_SUFFIX/);
      assert.equal(cwMock.calls().length + elbMock.calls().length + ecsMock.calls().length, 0);
      assert.throws(() => createFailoverHandler({ clients: clients(), ids: { ...IDS, albArnSuffix: LISTENER }, config: CONFIG }), /not an ALB ARN suffix/);
      assert.throws(() => createFailoverHandler({ clients: clients(), ids: { ...IDS, fargateTargetGroupArnSuffix: "api-fargate" }, config: CONFIG }), /not a target group ARN suffix/);
    });

    it("reads the demand settings from FAILOVER_* variables; each missing one fails the cold start with its name", () => {
      const env: Record<string, string> = {
        FAILOVER_LISTENER_ARN: LISTENER,
        FAILOVER_LAMBDA_TG_ARN: LAMBDA_TG,
        FAILOVER_FARGATE_TG_ARN: FARGATE_TG,
        FAILOVER_CLUSTER: "api-cluster",
        FAILOVER_SERVICE: "api-fargate",
        FAILOVER_ALARM_NAMES: "api-throttles,api-concurrency",
        FAILOVER_ALB_ARN_SUFFIX: "app/api/50dc6c495c0c9188",
        FAILOVER_FARGATE_TG_ARN_SUFFIX: "targetgroup/api-fargate/bbbbbbbbbbbbbbbb",
        FAILOVER_BASELINE_COUNT: "0",
        FAILOVER_DESIRED_COUNT: "2",
        FAILOVER_COOLDOWN_SECONDS: "300",
        FAILOVER_SHIFT_BACK_DELAY_SECONDS: "150",
        FAILOVER_LAMBDA_RESERVED_CONCURRENCY: "10",
        FAILOVER_FAILBACK_DEMAND_FRACTION: "0.5",
        FAILOVER_FAILBACK_WINDOW_SECONDS: "600",
        FAILOVER_DEMAND_LAG_SECONDS: "180",
        FAILOVER_MIN_RESPONSE_TIME_SECONDS: "0.01",
        AWS_REGION: "us-east-1",
      };
      assert.equal(typeof createFailoverHandlerFromEnv(env), "function");
      for (const key of ["FAILOVER_LAMBDA_RESERVED_CONCURRENCY", "FAILOVER_FAILBACK_DEMAND_FRACTION", "FAILOVER_FAILBACK_WINDOW_SECONDS", "FAILOVER_DEMAND_LAG_SECONDS", "FAILOVER_MIN_RESPONSE_TIME_SECONDS"]) {
        const { [key]: _gone, ...rest } = env;
        void _gone;
        assert.throws(() => createFailoverHandlerFromEnv(rest), new RegExp(key));
      }
      // The ARN suffixes are optional at cold start (unknown under the mock engine): creation works.
      const { FAILOVER_ALB_ARN_SUFFIX: _s, ...noSuffix } = env;
      void _s;
      assert.equal(typeof createFailoverHandlerFromEnv(noSuffix), "function");
    });
  });

  describe("failover shell: time box", () => {
    beforeEach(() => {
      cwMock.reset();
      ecsMock.reset();
      elbMock.reset();
    });

    const hangingWorld = (): World => ({
      alarms: [
        { name: "api-throttles", state: "ALARM", at: T0 },
        { name: "api-concurrency", state: "OK", at: T0 },
      ],
      actions: listenerActions(1, 0),
      desired: 0,
      running: 0,
      health: [],
    });

    it("cuts a hanging read at the per-call timeout and aborts it", async () => {
      mockWorld(hangingWorld());
      ecsMock.on(DescribeServicesCommand).callsFake((_input, getClient) => {
        void getClient;
        return new Promise(() => undefined); // never settles, ignores the signal
      });
      const lines: string[] = [];
      const handler = createFailoverHandler({ clients: clients(), ids: IDS, config: CONFIG, callTimeoutMs: 150, log: (l) => lines.push(l) });
      const started = Date.now();
      await assert.rejects(handler({}), (err: Error) => err.name === "FailoverTimeoutError" && /ecs:DescribeServices/.test(err.message));
      const took = Date.now() - started;
      assert.ok(took < 1000, `took ${took} ms`);
      const call = ecsMock.commandCalls(DescribeServicesCommand)[0];
      const signal = ((call.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined)?.abortSignal;
      assert.equal(signal?.aborted, true, "the SDK request was aborted");
      const summary = JSON.parse(lines[0]) as { failover: FailoverSummary };
      assert.match(summary.failover.error ?? "", /FailoverTimeoutError/);
      assert.equal(ecsMock.commandCalls(UpdateServiceCommand).length, 0, "nothing applied after a failed observation");
    });

    it("bounds the whole invocation by the Lambda's remaining time", async () => {
      mockWorld(hangingWorld());
      ecsMock.on(UpdateServiceCommand).callsFake(() => new Promise(() => undefined)); // the write hangs
      const handler = createFailoverHandler({ clients: clients(), ids: IDS, config: CONFIG, callTimeoutMs: 10_000, safetyMarginMs: 3000, log: silent });
      const started = Date.now();
      // 3.3 s left, 3 s margin → 300 ms budget, although one call may take 10 s.
      await assert.rejects(handler({}, { getRemainingTimeInMillis: () => 3300 }), (err: Error) => err.name === "FailoverTimeoutError");
      const took = Date.now() - started;
      assert.ok(took >= 250 && took < 1000, `took ${took} ms`);
    });

    it("does not start a call once the budget is spent", async () => {
      mockWorld(hangingWorld());
      let now = T0;
      // Each read "takes" 10 s of the injected clock.
      const slow = async <T>(v: T): Promise<T> => {
        now += 10_000;
        return v;
      };
      ecsMock.on(DescribeServicesCommand).callsFake(() => slow({ services: [{ status: "ACTIVE", desiredCount: 0, runningCount: 0 }] }));
      const handler = createFailoverHandler({ clients: clients(), ids: IDS, config: CONFIG, now: () => now, budgetMs: 5000, log: silent });
      await assert.rejects(handler({}), /budget exhausted/);
      assert.equal(ecsMock.commandCalls(UpdateServiceCommand).length, 0);
    });
  });

  describe("failover shell: IAM", () => {
    it("lists exactly the actions the shell calls", () => {
      // Every `new XxxCommand(` in shell.ts, mapped to its IAM action, must be in the list, and vice versa.
      const source = fs.readFileSync(path.join(__dirname, "../../../functions/failover/shell.ts"), "utf8");
      const prefixOf: Record<string, string> = {
        DescribeAlarms: "cloudwatch",
        GetMetricData: "cloudwatch",
        DescribeServices: "ecs",
        UpdateService: "ecs",
        DescribeListeners: "elasticloadbalancing",
        DescribeTargetHealth: "elasticloadbalancing",
        ModifyListener: "elasticloadbalancing",
      };
      const used = new Set<string>();
      for (const m of source.matchAll(/new (\w+)Command\(/g)) {
        assert.ok(prefixOf[m[1]], `unmapped command ${m[1]}`);
        used.add(`${prefixOf[m[1]]}:${m[1]}`);
      }
      assert.deepEqual([...used].sort(), FAILOVER_IAM_ACTIONS.map((a) => a.action).sort());
    });

    it("scopes what AWS can scope and uses * only where it must", () => {
      const statements = failoverIamStatements({ listenerArn: LISTENER, serviceArn: "arn:aws:ecs:us-east-1:123456789012:service/api-cluster/api-fargate" });
      const byAction = new Map<string, string | string[]>();
      for (const s of statements) for (const a of s.Action) byAction.set(a, s.Resource);
      assert.deepEqual([...byAction.keys()].sort(), FAILOVER_IAM_ACTIONS.map((a) => a.action).sort());
      assert.equal(byAction.get("elasticloadbalancing:ModifyListener"), LISTENER);
      assert.equal(byAction.get("ecs:UpdateService"), "arn:aws:ecs:us-east-1:123456789012:service/api-cluster/api-fargate");
      assert.equal(byAction.get("ecs:DescribeServices"), "arn:aws:ecs:us-east-1:123456789012:service/api-cluster/api-fargate");
      assert.equal(byAction.get("elasticloadbalancing:DescribeListeners"), "*");
      assert.equal(byAction.get("elasticloadbalancing:DescribeTargetHealth"), "*");
      assert.equal(byAction.get("cloudwatch:DescribeAlarms"), "*");
      assert.equal(byAction.get("cloudwatch:GetMetricData"), "*", "GetMetricData has no resource type");
      for (const a of FAILOVER_IAM_ACTIONS) {
        assert.equal(byAction.get(a.action) === "*", !a.resourceLevel || a.action === "cloudwatch:DescribeAlarms", a.action);
      }
      const scoped = failoverIamStatements({ listenerArn: LISTENER, serviceArn: "arn:x", alarmArns: ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-throttles"] });
      assert.deepEqual(scoped.find((s) => s.Action.includes("cloudwatch:DescribeAlarms"))?.Resource, [
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-throttles",
      ]);
      assert.throws(() => failoverIamStatements({ listenerArn: "", serviceArn: "arn:x" }), /listenerArn/);
      // GetMetricData: read only, alone in its statement, limited to the stack's region when given.
      const demand = statements.find((st) => st.Action.includes("cloudwatch:GetMetricData"))!;
      assert.deepEqual(demand.Action, ["cloudwatch:GetMetricData"]);
      assert.equal(demand.Condition, undefined);
      const regional = failoverIamStatements({ listenerArn: LISTENER, serviceArn: "arn:x", region: "us-east-1" }).find((st) => st.Action.includes("cloudwatch:GetMetricData"))!;
      assert.deepEqual(regional.Condition, { StringEquals: { "aws:RequestedRegion": "us-east-1" } });
      assert.ok(statements.every((st) => st.Condition === undefined || st.Action.every((a) => a === "cloudwatch:GetMetricData")));
    });

    it("creates time-boxed real clients without network access", async () => {
      const c = createFailoverClients({ region: "us-east-1" });
      assert.equal(typeof c.cloudwatch.send, "function");
      assert.equal(await c.ecs.config.maxAttempts(), 2);
    });
  });
});
