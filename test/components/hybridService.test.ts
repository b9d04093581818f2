import * as assert from "node:assert/strict";
import { runProgram, type ProgramRun } from "../support/program";

const EXPECTED = {
  dev: { reserved: 10, baseline: 0, failover: 2, cpu: "256", memory: "512", provisioned: 0 },
  prod: { reserved: 200, baseline: 1, failover: 6, cpu: "512", memory: "1024", provisioned: 2 },
} as const;

for (const stack of ["dev", "prod"] as const) {
  describe(`stack ${stack}: HybridLambdaFargateService wiring`, function () {
    this.timeout(60_000);
    const want = EXPECTED[stack];
    let run: ProgramRun;
    before(async () => {
      run = await runProgram(stack);
    });

    const apiFn = () => run.one("aws:lambda/function:Function", `svc-${stack}-api`);
    const failoverFn = () => run.one("aws:lambda/function:Function", `svc-${stack}-failover`);
    const lambdaTg = () => run.ofType("aws:lb/targetGroup:TargetGroup").find((t) => t.inputs.targetType === "lambda")!;
    const ipTg = () => run.ofType("aws:lb/targetGroup:TargetGroup").find((t) => t.inputs.targetType === "ip")!;

    it("caps the API Lambda with reserved concurrency and keeps it in the private subnets", () => {
      const fn = apiFn();
      assert.equal(fn.inputs.reservedConcurrentExecutions, want.reserved);
      assert.equal(fn.inputs.runtime, "nodejs22.x");
      assert.ok(fn.inputs.timeout <= 30);
      const privateIds = run.ofType("aws:ec2/subnet:Subnet").filter((s) => s.inputs.tags["serverless-cache:tier"] === "private").map((s) => s.id).sort();
      assert.deepEqual([...fn.inputs.vpcConfig.subnetIds].sort(), privateIds);
    });

    it("registers the Lambda in a lambda target group with multi-value headers, invokable only by that target group", () => {
      const tg = lambdaTg();
      assert.equal(tg.inputs.lambdaMultiValueHeadersEnabled, true);
      assert.equal(tg.inputs.healthCheck.enabled, false, "Lambda health checks are billed invocations");
      const perm = run.ofType("aws:lambda/permission:Permission").find((p) => p.inputs.principal === "elasticloadbalancing.amazonaws.com")!;
      assert.equal(perm.inputs.function, apiFn().state.name);
      assert.equal(perm.inputs.sourceArn, tg.state.arn);
      const attach = run.one("aws:lb/targetGroupAttachment:TargetGroupAttachment");
      assert.equal(attach.inputs.targetGroupArn, tg.state.arn);
      if (want.provisioned > 0) {
        // prod: the ALB targets the published `live` alias that carries provisioned concurrency.
        const alias = run.one("aws:lambda/alias:Alias");
        assert.equal(apiFn().inputs.publish, true);
        assert.equal(alias.inputs.functionVersion, apiFn().state.version);
        assert.equal(attach.inputs.targetId, alias.state.arn);
        assert.equal(perm.inputs.qualifier, alias.inputs.name);
        const pc = run.one("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig");
        assert.equal(pc.inputs.qualifier, alias.inputs.name);
        assert.equal(pc.inputs.provisionedConcurrentExecutions, want.provisioned);
      } else {
        assert.equal(run.ofType("aws:lambda/alias:Alias").length, 0);
        assert.equal(attach.inputs.targetId, apiFn().state.arn);
      }
    });

    it("runs Fargate tasks in the private subnets without public IPs, health-checked on /health", () => {
      const service = run.one("aws:ecs/service:Service");
      assert.equal(service.inputs.launchType, "FARGATE");
      assert.equal(service.inputs.desiredCount, want.baseline);
      assert.equal(service.inputs.networkConfiguration.assignPublicIp, false);
      assert.equal(service.inputs.loadBalancers[0].targetGroupArn, ipTg().state.arn);
      assert.equal(service.inputs.loadBalancers[0].containerPort, 8080);
      assert.equal(ipTg().inputs.healthCheck.path, "/health");
      assert.equal(ipTg().inputs.port, 8080);
      const td = run.one("aws:ecs/taskDefinition:TaskDefinition");
      assert.equal(td.inputs.cpu, want.cpu);
      assert.equal(td.inputs.memory, want.memory);
      const [container] = JSON.parse(td.inputs.containerDefinitions);
      assert.equal(container.logConfiguration.logDriver, "awslogs");
      // No container health check (a second Node process per probe on 0.25 vCPU): the target group's is the one.
      assert.equal(container.healthCheck, undefined);
      assert.equal(ipTg().inputs.healthCheck.enabled, true);
      const taskLogs = run.one("aws:cloudwatch/logGroup:LogGroup", "task-logs");
      assert.equal(container.logConfiguration.options["awslogs-group"], taskLogs.state.name);
      assert.ok(taskLogs.inputs.retentionInDays > 0);
    });

    it("forwards with weights Lambda 1, Fargate 0 from an internal ALB", () => {
      const alb = run.one("aws:lb/loadBalancer:LoadBalancer");
      assert.equal(alb.inputs.internal, true);
      const listener = run.one("aws:lb/listener:Listener");
      const [action] = listener.inputs.defaultActions;
      assert.equal(action.type, "forward");
      const weights = Object.fromEntries(action.forward.targetGroups.map((t: { arn: string; weight: number }) => [t.arn, t.weight]));
      assert.deepEqual(weights, { [lambdaTg().state.arn]: 1, [ipTg().state.arn]: 0 });
    });

    it("lets only the ALB reach tasks on 8080, and admits the ALB only from the private API's VPC link", () => {
      const service = run.one("aws:ecs/service:Service");
      const taskSg = service.inputs.networkConfiguration.securityGroups[0];
      const albSg = run.one("aws:lb/loadBalancer:LoadBalancer").inputs.securityGroups[0];
      const taskIngress = run.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.securityGroupId === taskSg);
      assert.deepEqual(taskIngress.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort, r.inputs.toPort]), [[albSg, 8080, 8080]]);
      const albIngress = run.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.securityGroupId === albSg);
      const linkSg = run.one("aws:apigatewayv2/vpcLink:VpcLink").inputs.securityGroupIds[0];
      assert.deepEqual(albIngress.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.cidrIpv4, r.inputs.fromPort]), [[linkSg, undefined, 80]],
        "no VPC-wide ingress: other VPC workloads cannot bypass the API");
    });

    it("admits both runtimes into memcached with rules of its own (plain-data MemcachedAccess, no allowFrom)", () => {
      const cluster = run.one("aws:elasticache/cluster:Cluster");
      const mcSg = cluster.inputs.securityGroupIds[0];
      const service = run.one("aws:ecs/service:Service");
      const taskSg = service.inputs.networkConfiguration.securityGroups[0];
      const lambdaSg = apiFn().inputs.vpcConfig.securityGroupIds[0];
      const svcName = `svc-${stack}`;
      const rules = run.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.name.startsWith(`${svcName}-memcached-from-`));
      assert.deepEqual(
        rules.map((r) => [r.name, r.inputs.securityGroupId, r.inputs.referencedSecurityGroupId, r.inputs.fromPort, r.inputs.toPort, r.inputs.description]).sort(),
        [
          [`${svcName}-memcached-from-lambda`, mcSg, lambdaSg, 11211, 11211, `memcached from ${svcName}-lambda`],
          [`${svcName}-memcached-from-tasks`, mcSg, taskSg, 11211, 11211, `memcached from ${svcName}-tasks`],
        ],
      );
      const svc = run.ofType("serverless-cache:service:HybridLambdaFargateService")[0];
      for (const r of rules) assert.equal(r.parent, svc.urn, "a child of the service, not of the cluster");
    });

    it("passes the app's own variables (appEnvironment) to both runtimes, next to the platform's", () => {
      const fnEnv = apiFn().inputs.environment.variables as Record<string, string>;
      const [container] = JSON.parse(run.one("aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions) as Array<{ environment: Array<{ name: string; value: string }> }>;
      const taskEnv = Object.fromEntries(container.environment.map((e) => [e.name, e.value]));
      for (const [k, v] of Object.entries({ UPSTREAM_ITEM_PATH: "/todos/{id}", API_DEBUG_ROUTES: stack === "prod" ? "off" : "on", API_BASE_PATH: `/${stack}` })) {
        assert.equal(fnEnv[k], v, `Lambda ${k}`);
        assert.equal(taskEnv[k], v, `task ${k}`);
      }
      assert.equal(taskEnv.SERVERLESS_CACHE_RUNTIME, "container");
    });

    it("wires throttling alarms -> an EventBridge rule for these alarms only -> the failover Lambda", () => {
      const alarms = run.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => ["Throttles", "ConcurrentExecutions"].includes(a.inputs.metricName));
      assert.deepEqual(alarms.map((a) => a.inputs.metricName).sort(), ["ConcurrentExecutions", "Throttles"]);
      for (const a of alarms) assert.equal(a.inputs.dimensions.FunctionName, apiFn().state.name);
      const concurrency = alarms.find((a) => a.inputs.metricName === "ConcurrentExecutions")!;
      assert.ok(concurrency.inputs.threshold < want.reserved && concurrency.inputs.threshold >= want.reserved * 0.8);
      const rule = run.ofType("aws:cloudwatch/eventRule:EventRule").find((r) => r.inputs.eventPattern)!;
      const pattern = JSON.parse(rule.inputs.eventPattern);
      assert.deepEqual(pattern["detail-type"], ["CloudWatch Alarm State Change"]);
      assert.deepEqual([...pattern.resources].sort(), alarms.map((a) => a.state.arn).sort(), "rule filtered to our alarm ARNs");
      const schedule = run.ofType("aws:cloudwatch/eventRule:EventRule").find((r) => r.inputs.scheduleExpression)!;
      assert.equal(schedule.inputs.scheduleExpression, "rate(1 minute)");
      for (const r of [rule, schedule]) {
        const target = run.ofType("aws:cloudwatch/eventTarget:EventTarget").find((t) => t.inputs.rule === r.state.name || t.inputs.rule === r.inputs.name || t.name.endsWith(r.name.endsWith("alarms") ? "alarms" : "tick"))!;
        assert.equal(target.inputs.arn, failoverFn().state.arn);
        const perm = run.ofType("aws:lambda/permission:Permission").find((p) => p.inputs.sourceArn === r.state.arn)!;
        assert.equal(perm.inputs.principal, "events.amazonaws.com");
        assert.equal(perm.inputs.function, failoverFn().state.name);
      }
    });

    it("gives the failover Lambda a short timeout, concurrency 1, and only the IAM actions it calls, scoped", () => {
      const fn = failoverFn();
      assert.equal(fn.inputs.timeout, 30);
      assert.equal(fn.inputs.reservedConcurrentExecutions, 1);
      const env = fn.inputs.environment.variables;
      assert.equal(env.FAILOVER_BASELINE_COUNT, String(want.baseline));
      assert.equal(env.FAILOVER_DESIRED_COUNT, String(want.failover));
      const policy = run.ofType("aws:iam/rolePolicy:RolePolicy").find((p) => p.name === `svc-${stack}-failover`)!;
      const doc = JSON.parse(policy.inputs.policy);
      const byAction = new Map<string, unknown>();
      for (const st of doc.Statement) for (const a of st.Action) byAction.set(a, st.Resource);
      const listener = run.one("aws:lb/listener:Listener");
      const service = run.one("aws:ecs/service:Service");
      assert.equal(byAction.get("elasticloadbalancing:ModifyListener"), listener.state.arn);
      assert.equal(byAction.get("ecs:UpdateService"), service.id);
      assert.equal(byAction.get("ecs:DescribeServices"), service.id);
      assert.deepEqual(
        [...byAction.keys()].sort(),
        ["cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData", "ecs:DescribeServices", "ecs:UpdateService", "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:ModifyListener"],
      );
      // The failback's demand read: AWS has no resource type for GetMetricData, so "*" in its own
      // statement, limited to the stack's region.
      const metrics = doc.Statement.find((st: { Action: string[] }) => st.Action.includes("cloudwatch:GetMetricData"));
      assert.deepEqual(metrics.Action, ["cloudwatch:GetMetricData"]);
      assert.equal(metrics.Resource, "*");
      assert.deepEqual(metrics.Condition, { StringEquals: { "aws:RequestedRegion": "us-east-1" } });
      assert.ok(!doc.Statement.some((s: { Action: string[] }) => s.Action.some((a) => a.endsWith("*"))), "no wildcard actions");
    });

    it("gives the failover Lambda what the demand-based failback needs: the Lambda's cap, the thresholds, the ALB and Fargate target group dimensions", () => {
      const fn = failoverFn();
      const env = fn.inputs.environment.variables;
      assert.equal(env.FAILOVER_LAMBDA_RESERVED_CONCURRENCY, String(apiFn().inputs.reservedConcurrentExecutions));
      assert.equal(env.FAILOVER_LAMBDA_RESERVED_CONCURRENCY, String(want.reserved));
      assert.equal(env.FAILOVER_FAILBACK_DEMAND_FRACTION, "0.5");
      assert.equal(env.FAILOVER_FAILBACK_WINDOW_SECONDS, "600");
      assert.equal(env.FAILOVER_DEMAND_LAG_SECONDS, "180");
      assert.equal(env.FAILOVER_MIN_RESPONSE_TIME_SECONDS, "0.01");
      // The ARN suffixes are provider outputs the mock engine leaves undefined: check where they come from.
      const alb = run.one("aws:lb/loadBalancer:LoadBalancer");
      const envSources = fn.propertyDependencies.environment ?? [];
      assert.ok(envSources.includes(alb.urn), "FAILOVER_ALB_ARN_SUFFIX comes from the ALB");
      assert.ok(envSources.includes(ipTg().urn), "FAILOVER_FARGATE_TG_ARN_SUFFIX comes from the Fargate target group");
      // The alarms that start a failover say how it ends.
      const throttles = run.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").find((a) => a.inputs.metricName === "Throttles" && a.inputs.dimensions?.FunctionName === apiFn().state.name)!;
      assert.match(throttles.inputs.alarmDescription, /below 50% of the reserved concurrency for 10 minutes/);
    });

    it("keeps large responses in a private, encrypted bucket that expires them", () => {
      const bucket = run.one("aws:s3/bucket:Bucket");
      const pab = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
      assert.equal(pab.inputs.bucket, bucket.id);
      for (const k of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) assert.equal(pab.inputs[k], true, k);
      const sse = run.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
      assert.equal(sse.inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
      const lifecycle = run.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration");
      assert.equal(lifecycle.inputs.rules[0].expiration.days, 1);
      assert.ok(bucket.state.bucket);
      assert.equal(apiFn().inputs.environment.variables.LARGE_RESPONSE_BUCKET, bucket.state.bucket);
    });
  });
}

describe("Lambda guardrails (every function, both stacks)", function () {
  this.timeout(60_000);
  for (const stack of ["dev", "prod"]) {
    it(`${stack}: reserved concurrency, timeout within the project maximum, p99-duration alarm and log retention on every function`, async () => {
      const run = await runProgram(stack);
      const functions = run.ofType("aws:lambda/function:Function");
      assert.equal(functions.length, 3);
      const durationAlarms = run.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => a.inputs.metricName === "Duration");
      for (const fn of functions) {
        assert.ok(fn.inputs.reservedConcurrentExecutions >= 1, `${fn.name} reserved concurrency`);
        assert.ok(fn.inputs.timeout >= 1 && fn.inputs.timeout <= 60, `${fn.name} timeout ${fn.inputs.timeout}`);
        const alarm = durationAlarms.find((a) => a.inputs.dimensions.FunctionName === fn.state.name);
        assert.ok(alarm, `${fn.name} has a duration alarm`);
        assert.equal(alarm.inputs.extendedStatistic, "p99");
        assert.equal(alarm.inputs.threshold, fn.inputs.timeout * 800);
        const logGroup = run.ofType("aws:cloudwatch/logGroup:LogGroup").find((g) => g.state.name === fn.inputs.loggingConfig.logGroup);
        assert.ok(logGroup && logGroup.inputs.retentionInDays > 0, `${fn.name} logs to a group with retention`);
      }
      for (const g of run.ofType("aws:cloudwatch/logGroup:LogGroup")) assert.ok(g.inputs.retentionInDays > 0, `${g.name} retention`);
    });
  }

  it("prod reaches ECR and CloudWatch Logs through interface endpoints in every private subnet", async () => {
    const run = await runProgram("prod");
    const endpoints = run.ofType("aws:ec2/vpcEndpoint:VpcEndpoint").filter((e) => e.inputs.vpcEndpointType === "Interface" && e.name.startsWith("net-"));
    assert.deepEqual(endpoints.map((e) => e.inputs.serviceName).sort(), ["com.amazonaws.us-east-1.ecr.api", "com.amazonaws.us-east-1.ecr.dkr", "com.amazonaws.us-east-1.logs"]);
    for (const e of endpoints) {
      assert.equal(e.inputs.privateDnsEnabled, true);
      assert.equal(e.inputs.subnetIds.length, 3);
    }
    const dev = await runProgram("dev");
    assert.equal(dev.ofType("aws:ec2/vpcEndpoint:VpcEndpoint").filter((e) => e.inputs.vpcEndpointType === "Interface" && e.name.startsWith("net-")).length, 0);
  });
});

describe("CachedPrivateApi composed in front of the hybrid service (index.ts)", function () {
  this.timeout(60_000);
  for (const stack of ["dev", "prod"]) {
    it(`${stack}: integrations go through a VPC link straight to the service's ALB, which admits the link`, async () => {
      const run = await runProgram(stack);
      const alb = run.one("aws:lb/loadBalancer:LoadBalancer");
      const all = run.ofType("aws:apigateway/integration:Integration");
      // Every route goes to the ALB; only /_large/{key+} (large responses) is read from S3 by API Gateway.
      const integrations = all.filter((i) => i.inputs.type === "HTTP_PROXY");
      assert.deepEqual(all.filter((i) => i.inputs.type !== "HTTP_PROXY").map((i) => `${i.inputs.type} ${i.name}`), [`AWS api-${stack}-GET~_large~{key+}`]);
      assert.ok(integrations.length >= 3);
      const link = run.one("aws:apigatewayv2/vpcLink:VpcLink");
      for (const i of integrations) {
        assert.equal(i.inputs.connectionType, "VPC_LINK");
        assert.equal(i.inputs.connectionId, link.id);
        assert.equal(i.inputs.integrationTarget, alb.state.arn);
        assert.match(i.inputs.uri, new RegExp(`^http://${alb.state.dnsName.replace(/\./g, "\\.")}:80/`));
      }
      const albSg = alb.inputs.securityGroups[0];
      const linkSg = link.inputs.securityGroupIds[0];
      const rule = run.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").find((r) => r.inputs.securityGroupId === albSg && r.inputs.referencedSecurityGroupId === linkSg);
      assert.ok(rule, "ALB admits the VPC link's security group");
      assert.equal(rule.inputs.fromPort, 80);
      const api = run.one("aws:apigateway/restApi:RestApi");
      assert.equal(api.inputs.endpointConfiguration.types, "PRIVATE");
      const stage = run.one("aws:apigateway/stage:Stage");
      assert.equal(stage.inputs.stageName, stack);
      assert.equal(stage.inputs.cacheClusterSize, stack === "prod" ? "1.6" : "0.5");
    });
  }
});

describe("HybridLambdaFargateService arguments", () => {
  it("refuses an appEnvironment that would set a platform variable", async () => {
    const { runProgram: runAnyProgram } = require("../../plan/engine") as typeof import("../../plan/engine");
    await assert.rejects(runAnyProgram({
      project: "serverless-cache",
      stack: "clash",
      config: { "aws:region": "us-east-1" },
      program: () => {
        const { HybridLambdaFargateService } = require("../../components/HybridLambdaFargateService") as typeof import("../../components/HybridLambdaFargateService");
        new HybridLambdaFargateService("svc-clash", {
          vpcId: "vpc-1", vpcCidrBlock: "10.0.0.0/16", privateSubnetIds: [], publicSubnetIds: [],
          memcached: { configurationEndpoint: "m:11211", nodeEndpoints: [], securityGroupId: "sg-1" },
          upstreamUrl: "https://u.example", app: () => ({ fetch: () => new Response("x") }),
          appEnvironment: { MEMCACHED_SERVERS: "evil:11211", AWS_REGION: "x", OWN: "fine" },
        });
        return {};
      },
    }), /appEnvironment may not set MEMCACHED_SERVERS, AWS_REGION/);
  });

  it("refuses a memcached port out of range, or other than the one its endpoints name", () => {
    const { HybridLambdaFargateService } = require("../../components/HybridLambdaFargateService") as typeof import("../../components/HybridLambdaFargateService");
    const service = (name: string, port: number) => new HybridLambdaFargateService(name, {
      vpcId: "vpc-1", vpcCidrBlock: "10.0.0.0/16", privateSubnetIds: [], publicSubnetIds: [],
      memcached: { configurationEndpoint: "m:11211", nodeEndpoints: ["n1:11211"], securityGroupId: "sg-1", port },
      upstreamUrl: "https://u.example", app: () => ({ fetch: () => new Response("x") }),
    });
    assert.throws(() => service("svc-port-0", 0), /HybridLambdaFargateService svc-port-0: memcached.port 0 must be a whole number from 1 to 65535/);
    assert.throws(() => service("svc-port-other", 11212), /HybridLambdaFargateService svc-port-other: memcached endpoint m:11211 names port 11211, but memcached.port is 11212/);
  });
});

describe("HybridLambdaFargateService memcached rules in existing stacks", function () {
  this.timeout(120_000);
  it("aliases its ingress rules to the cluster's former allowFrom rules (name and parent), so `pulumi up` moves them", async () => {
    // The mock engine hands newResource no aliases: record the registration requests themselves.
    type Req = { getType(): string; getName(): string; getAliasesList(): Array<{ toObject(): Record<string, unknown> }> };
    const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as { MockMonitor: { prototype: { registerResource(req: Req, cb: unknown): Promise<void> } } };
    const original = MockMonitor.prototype.registerResource;
    const aliases = new Map<string, Array<Record<string, unknown>>>();
    MockMonitor.prototype.registerResource = function (req: Req, cb: unknown) {
      if (req.getType() === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
        aliases.set(req.getName(), req.getAliasesList().map((a) => (a.toObject().spec ?? a.toObject()) as Record<string, unknown>));
      }
      return original.call(this, req, cb);
    };
    let run: ProgramRun;
    try {
      run = await runProgram("dev", {}, { fresh: true });
    } finally {
      MockMonitor.prototype.registerResource = original;
    }
    const clusterUrn = run.ofType("serverless-cache:cache:MemcachedCluster")[0].urn;
    for (const who of ["lambda", "tasks"]) {
      assert.deepEqual((aliases.get(`svc-dev-memcached-from-${who}`) ?? []).map((a) => [a.name, a.parenturn]), [[`cache-dev-from-svc-dev-${who}`, clusterUrn]], who);
    }
  });
});
