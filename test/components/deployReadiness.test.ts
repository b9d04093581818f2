/**
 * What the AWS review of issue 11 found, as properties of both stacks' resource graphs (and the
 * resource options the engine was given): each test fails on the code the review looked at.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { vpcLinkSubnets } from "../../components/CachedPrivateApi";
import { REPO_ROOT, runProgram, type MockResource, type ProgramRun } from "../support/program";
import { alarmBreaches } from "../support/metricMath";
import { T } from "../support/types";


for (const stack of ["dev", "prod"]) {
  describe(`stack ${stack}: deploy readiness (AWS review, issue 11)`, function () {
    this.timeout(120_000);
    let run: ProgramRun;
    before(async () => {
      run = await runProgram(stack);
    });

    it("every alarm notifies the stack's SNS topic, on ALARM and on OK", () => {
      const topic = run.one(T.topic);
      const alarms = run.ofType(T.alarm);
      assert.ok(alarms.length >= 9, `${alarms.length} alarms`);
      for (const a of alarms) {
        assert.deepEqual(a.inputs.alarmActions, [topic.state.arn], `${a.name} alarmActions`);
        assert.deepEqual(a.inputs.okActions, [topic.state.arn], `${a.name} okActions`);
      }
    });

    it("an alarm watches what clients see (ALB 5xx), the Lambda target's errors, and the failover Lambda's own failures", () => {
      const byName = (part: string): MockResource => run.one(T.alarm, part);
      const elb = byName("elb-5xx");
      const metrics = (a: MockResource): string[] => (a.inputs.metricQueries ?? []).filter((q: { metric?: unknown }) => q.metric).map((q: { metric: { metricName: string } }) => q.metric.metricName);
      assert.deepEqual(metrics(elb).sort(), ["HTTPCode_ELB_5XX_Count", "RequestCount"]);
      assert.deepEqual(metrics(byName("lambda-target-errors")).sort(), ["LambdaInternalError", "LambdaUserError"]);
      assert.deepEqual(metrics(byName("failover-starved")).sort(), ["AsyncEventsDropped", "Throttles"]);
      // Each count is reported only when non-zero: the alarm must see a fault that shows in one count alone.
      assert.equal(alarmBreaches(elb.inputs, { errors: 30, requests: undefined }), true, "only 503s (no target chosen, so no RequestCount)");
      assert.equal(alarmBreaches(elb.inputs, { errors: undefined, requests: 1000 }), false);
      assert.equal(alarmBreaches(byName("lambda-target-errors").inputs, { user: 5, internal: undefined }), true, "LambdaUserError alone");
      assert.equal(alarmBreaches(byName("lambda-target-errors").inputs, { user: undefined, internal: undefined }), false);
      assert.equal(alarmBreaches(byName("failover-starved").inputs, { throttles: undefined, dropped: 1 }), true, "dropped events alone");
      assert.equal(alarmBreaches(byName("failover-starved").inputs, { throttles: 2, dropped: undefined }), true, "throttles alone");
      const failover = byName("failover-errors");
      assert.equal(failover.inputs.metricName, "Errors");
      assert.equal(failover.inputs.dimensions.FunctionName, run.one(T.fn, "-failover").state.name);
    });

    it("the failover Lambda's async events are not retried and expire after a minute", () => {
      const config = run.one(T.invokeConfig);
      assert.equal(config.inputs.functionName, run.one(T.fn, "-failover").state.name);
      assert.equal(config.inputs.maximumRetryAttempts, 0);
      assert.equal(config.inputs.maximumEventAgeInSeconds, 60);
    });

    it("the failback has a hysteresis band: it needs demand below the concurrency alarm that starts a failover", () => {
      const failover = run.one(T.fn, "-failover");
      const env = failover.inputs.environment.variables;
      const reserved = Number(env.FAILOVER_LAMBDA_RESERVED_CONCURRENCY);
      assert.equal(reserved, run.one(T.fn, "-api").inputs.reservedConcurrentExecutions);
      const concurrency = run.ofType(T.alarm).find((a) => a.inputs.metricName === "ConcurrentExecutions")!;
      const failbackBelow = Number(env.FAILOVER_FAILBACK_DEMAND_FRACTION) * reserved;
      assert.ok(failbackBelow <= 0.6 * concurrency.inputs.threshold, `failback below ${failbackBelow}, failover from ${concurrency.inputs.threshold}`);
      // A window of whole minutes, longer than the metric lag, and a cooldown the failback cannot skip.
      const windowSeconds = Number(env.FAILOVER_FAILBACK_WINDOW_SECONDS);
      assert.ok(windowSeconds % 60 === 0 && windowSeconds >= 300, `window ${windowSeconds}`);
      assert.ok(Number(env.FAILOVER_DEMAND_LAG_SECONDS) >= 120, "CloudWatch reports ALB minutes 1–3 minutes late");
    });

    it("the failover role reads metrics and alarms but cannot change CloudWatch", () => {
      const policy = JSON.parse(run.ofType("aws:iam/rolePolicy:RolePolicy").find((p) => /-failover$/.test(p.name))!.inputs.policy) as { Statement: Array<{ Action: string[]; Resource: unknown; Condition?: unknown }> };
      const cloudwatch = policy.Statement.flatMap((st) => st.Action).filter((a) => a.startsWith("cloudwatch:")).sort();
      assert.deepEqual(cloudwatch, ["cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData"]);
      const metrics = policy.Statement.find((st) => st.Action.includes("cloudwatch:GetMetricData"))!;
      assert.deepEqual(metrics.Condition, { StringEquals: { "aws:RequestedRegion": "us-east-1" } }, "the one action on * is limited to the stack's region");
    });

    it("the listener ignores only the forward weights (a replaced target group still reaches it)", () => {
      const listener = run.one(T.listener);
      assert.deepEqual(listener.options?.ignoreChanges, ["defaultActions[0].forward.targetGroups[*].weight"]);
    });

    it("memcached: modifications wait for the maintenance window, and an azMode change is a visible replace", () => {
      const cluster = run.one(T.cluster);
      assert.equal(cluster.inputs.applyImmediately, false);
      assert.match(cluster.inputs.maintenanceWindow, /^[a-z]{3}:\d\d:\d\d-[a-z]{3}:\d\d:\d\d$/);
      assert.deepEqual(cluster.options?.replaceOnChanges, ["azMode"]);
    });

    it("interface endpoints with private DNS are replaced delete-first (a deleting endpoint still holds the name)", () => {
      const endpoints = run.ofType(T.endpoint).filter((e) => e.inputs.vpcEndpointType === "Interface");
      assert.ok(endpoints.length >= 1);
      for (const e of endpoints) assert.equal(e.options?.deleteBeforeReplace, e.inputs.privateDnsEnabled === true, e.name);
    });

    it("every VPC Lambda depends on its VPC-access policy attachment (create and destroy order)", () => {
      const vpcFunctions = run.ofType(T.fn).filter((f) => f.inputs.vpcConfig);
      assert.equal(vpcFunctions.length, 2);
      for (const f of vpcFunctions) {
        const attachment = run.ofType(T.attachment).find((a) => /AWSLambdaVPCAccessExecutionRole/.test(String(a.inputs.policyArn)) && f.dependencies.includes(a.urn));
        assert.ok(attachment, `${f.name} depends on a VPC access attachment`);
      }
    });

    it("every Lambda logs JSON with explicit levels (no perpetual diff) and no source-map flag", () => {
      for (const f of run.ofType(T.fn)) {
        assert.equal(f.inputs.loggingConfig.logFormat, "JSON", f.name);
        // console.log is INFO: the API and failover functions log warnings with it; the cache Lambda's
        // Powertools Logger takes WARN from Lambda (its EMF metrics are not filtered).
        assert.equal(f.inputs.loggingConfig.applicationLogLevel, f.name.startsWith("cache-handler") ? "WARN" : "INFO", f.name);
        assert.equal(f.inputs.environment?.variables?.POWERTOOLS_LOG_LEVEL, undefined, `${f.name}: AWS_LAMBDA_LOG_LEVEL would override it`);
        assert.equal(f.inputs.loggingConfig.systemLogLevel, "INFO", f.name);
        assert.equal(f.inputs.environment?.variables?.NODE_OPTIONS, undefined, `${f.name}: --enable-source-maps without source maps costs every Error.stack`);
      }
    });

    it("the private API allows signed invalidation by this account's principals, through its own endpoint only", () => {
      const policy = JSON.parse(run.one(T.restApiPolicy).inputs.policy) as { Statement: Array<Record<string, any>> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- policy JSON
      const allow = policy.Statement.find((st) => st.Action === "execute-api:InvalidateCache" && st.Effect === "Allow");
      assert.ok(allow, "an Allow for execute-api:InvalidateCache");
      assert.deepEqual(allow.Principal, { AWS: "arn:aws:iam::123456789012:root" });
      assert.equal(allow.Condition.StringEquals["aws:SourceVpce"], run.one(T.endpoint, "execute-api").id);
      const deny = policy.Statement.find((st) => st.Effect === "Deny");
      assert.deepEqual(deny?.Action, ["execute-api:Invoke", "execute-api:InvalidateCache"]);
    });

    it("the VPC link and the execute-api endpoint use only subnets in zones that offer them", () => {
      const zoneOf = new Map(run.ofType(T.subnet).map((s) => [s.id, String(s.state.availabilityZoneId)]));
      for (const id of run.one(T.vpcLink).inputs.subnetIds as string[]) assert.notEqual(zoneOf.get(id), "use1-az3");
      assert.ok((run.one(T.endpoint, "execute-api").inputs.subnetIds as string[]).length >= 2);
    });

    it("the /_large/{key+} route reads the service's bucket with a read-only role; S3's 4xx become the route's 404", () => {
      const integration = run.ofType(T.integration).find((i) => i.inputs.type === "AWS")!;
      const bucket = run.one("aws:s3/bucket:Bucket");
      assert.equal(integration.inputs.uri, `arn:aws:apigateway:us-east-1:s3:path/${bucket.state.bucket}/large-responses/{key}`);
      assert.deepEqual(integration.inputs.requestParameters, { "integration.request.path.key": "method.request.path.key" });
      const responses = run.ofType("aws:apigateway/integrationResponse:IntegrationResponse");
      const missing = responses.find((r) => r.inputs.statusCode === "404")!;
      const pattern = new RegExp(`^(?:${missing.inputs.selectionPattern})$`);
      for (const status of ["403", "404"]) assert.ok(pattern.test(status), `${status} maps to 404`);
      for (const status of ["200", "500", "503"]) assert.ok(!pattern.test(status), `${status} does not`);
      assert.equal(responses.find((r) => r.inputs.statusCode === "200")!.inputs.selectionPattern, undefined, "200 is the default response");
      const role = run.ofType("aws:iam/role:Role").find((r) => r.name.endsWith("-large-read"))!;
      // No conditions: API Gateway does not send aws:SourceAccount when it assumes integration credentials.
      assert.deepEqual(JSON.parse(role.inputs.assumeRolePolicy).Statement, [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" }]);
      const failed = responses.find((r) => r.inputs.statusCode === "502")!;
      assert.ok(new RegExp(`^(?:${failed.inputs.selectionPattern})$`).test("503"), "S3's 503 SlowDown is a 502, not a 200 with S3's error body");
      const policy = JSON.parse(run.ofType("aws:iam/rolePolicy:RolePolicy").find((r) => r.name.endsWith("-large-read"))!.inputs.policy);
      assert.deepEqual(policy.Statement, [{ Sid: "ReadLargeResponses", Effect: "Allow", Action: ["s3:GetObject"], Resource: `${bucket.state.arn}/large-responses/*` }]);
    });

    it("the account-wide CloudWatch role has the trust AWS documents, no conditions (kept on destroy)", () => {
      const role = run.ofType("aws:iam/role:Role").find((r) => r.name.endsWith("-apigw-logs"))!;
      assert.deepEqual(JSON.parse(role.inputs.assumeRolePolicy).Statement, [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" }]);
      assert.equal(role.options?.retainOnDelete, true);
    });

    it("the S3 gateway endpoint reaches only this account's buckets (and ECR's layer bucket)", () => {
      const s3 = run.ofType(T.endpoint).find((e) => e.inputs.vpcEndpointType === "Gateway")!;
      const policy = JSON.parse(s3.inputs.policy) as { Statement: Array<Record<string, any>> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- policy JSON
      assert.deepEqual(policy.Statement.map((st) => st.Sid), ["ThisAccountsBuckets", "EcrImageLayers"]);
      assert.deepEqual(policy.Statement[0].Condition, { StringEquals: { "aws:ResourceAccount": "123456789012" } });
      assert.equal(policy.Statement[1].Resource, "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*");
      assert.equal(policy.Statement[1].Action, "s3:GetObject");
    });

    it("VPC flow logs go to a log group with retention, delivered by a role only this account's flow logs can assume", () => {
      const flowLog = run.one("aws:ec2/flowLog:FlowLog");
      assert.equal(flowLog.inputs.trafficType, stack === "prod" ? "ALL" : "REJECT");
      assert.equal(flowLog.inputs.vpcId, run.one("aws:ec2/vpc:Vpc").id);
      const group = run.one("aws:cloudwatch/logGroup:LogGroup", "flow-logs");
      assert.equal(flowLog.inputs.logDestination, group.state.arn);
      assert.ok(group.inputs.retentionInDays > 0);
      const role = run.ofType("aws:iam/role:Role").find((r) => r.name.endsWith("-flow-logs"))!;
      const trust = JSON.parse(role.inputs.assumeRolePolicy).Statement[0];
      assert.equal(trust.Principal.Service, "vpc-flow-logs.amazonaws.com");
      assert.equal(trust.Condition.StringEquals["aws:SourceAccount"], "123456789012");
      assert.match(trust.Condition.ArnLike["aws:SourceArn"], /^arn:aws:ec2:us-east-1:123456789012:vpc-flow-log\/\*$/);
    });

    it("exports a policy that may only invoke the API function (npm run invalidate's first step)", () => {
      const fn = run.one(T.fn, "-api");
      const doc = JSON.parse(run.ofType("aws:iam/policy:Policy").find((p) => p.name.endsWith("-cache-control"))!.inputs.policy);
      assert.deepEqual(doc.Statement, [{ Sid: "InvalidateAppCache", Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: [fn.state.arn, `${fn.state.arn}:*`] }]);
      assert.equal(typeof run.outputs.cacheControlPolicyArn, "string");
    });

    it("the Fargate task and its image build share one architecture", () => {
      const td = run.one(T.taskDefinition);
      assert.equal(td.inputs.runtimePlatform.cpuArchitecture, "ARM64");
    });

    it("memcached entries are authenticated: one SecureString key per namespace, created once, read by exactly its runtimes, never in an environment (issue 15, item 4)", () => {
      const params = run.ofType("aws:ssm/parameter:Parameter").filter((p) => p.name.endsWith("-entry-keys"));
      assert.deepEqual(params.map((p) => p.inputs.name).sort(), [`/serverless-cache/cache-handler-${stack}/cache-entry-keys`, `/serverless-cache/svc-${stack}/cache-entry-keys`]);
      const PULUMI_SECRET_SIG = "4dabf18193072939515e22adb298388d";
      const secretValue = (p: MockResource): string => {
        const v = p.inputs.value as Record<string, string>;
        assert.equal(v?.[PULUMI_SECRET_SIG], "1b47061264138c4ac30d75fd1eb44270", `${p.name}: the value is a Pulumi secret (encrypted in the state)`);
        return v.value;
      };
      for (const p of params) {
        assert.equal(p.inputs.type, "SecureString", p.name);
        assert.equal(p.inputs.tier, "Standard", `${p.name}: free tier`);
        assert.ok(Buffer.from(secretValue(p), "base64url").length >= 32, `${p.name}: 32 random bytes`);
        assert.deepEqual(p.options?.ignoreChanges, ["value"], `${p.name}: generated once, never replaced by a later run (rotation is out of band)`);
      }
      const [cacheKey, apiKey] = [params.find((p) => p.name.startsWith("cache-handler"))!, params.find((p) => p.name.startsWith("svc"))!];
      assert.notEqual(secretValue(cacheKey), secretValue(apiKey), "each namespace has its own key");

      // Who gets which parameter: the name in the environment, never the key.
      const cacheFn = run.one(T.fn, "cache-handler");
      const apiFn = run.one(T.fn, "-api");
      const [container] = JSON.parse(run.one(T.taskDefinition).inputs.containerDefinitions) as Array<{ environment: Array<{ name: string; value: string }>; secrets?: unknown }>;
      assert.equal(cacheFn.inputs.environment.variables.CACHE_MAC_KEY_PARAMETER, cacheKey.inputs.name);
      assert.equal(apiFn.inputs.environment.variables.CACHE_MAC_KEY_PARAMETER, apiKey.inputs.name);
      assert.equal(container.environment.find((e) => e.name === "CACHE_MAC_KEY_PARAMETER")?.value, apiKey.inputs.name);
      const everything = JSON.stringify([run.ofType(T.fn).map((f) => f.inputs.environment), container]);
      for (const p of params) assert.ok(!everything.includes(secretValue(p)), `${p.name}: its value is in no environment or container definition`);
      for (const f of run.ofType(T.fn).filter((x) => x.inputs.environment?.variables?.MEMCACHED_SERVERS)) {
        assert.ok(f.inputs.environment.variables.CACHE_MAC_KEY_PARAMETER, `${f.name}: every function that reaches memcached authenticates its entries`);
      }

      // IAM: ssm:GetParameter on exactly that parameter, for exactly the roles of its runtimes.
      const reads = run.ofType("aws:iam/rolePolicy:RolePolicy").filter((r) => String(r.inputs.policy).includes("ssm:"));
      const grants = reads.map((r) => {
        const doc = JSON.parse(r.inputs.policy) as { Statement: Array<{ Effect: string; Action: string[]; Resource: unknown }> };
        assert.equal(doc.Statement.length, 1, r.name);
        assert.deepEqual(doc.Statement[0].Action, ["ssm:GetParameter"], r.name);
        assert.equal(doc.Statement[0].Effect, "Allow");
        return `${r.inputs.role} -> ${doc.Statement[0].Resource}`;
      }).sort();
      assert.deepEqual(grants, [
        `cache-handler-${stack}-role-id -> ${cacheKey.state.arn}`,
        `svc-${stack}-api-role-id -> ${apiKey.state.arn}`,
        `svc-${stack}-task-role-id -> ${apiKey.state.arn}`,
      ]);
      // The functions are created after their read permission (the first cold start reads the key).
      for (const [fn, part] of [[cacheFn, "cache-handler"], [apiFn, "-api-entry-keys"]] as const) {
        const policy = reads.find((r) => r.name.includes(part))!;
        assert.ok(fn.dependencies.includes(policy.urn), `${fn.name} depends on ${policy.name}`);
      }
    });
  });
}

describe("VPC link subnets (pure)", () => {
  it("keeps only subnets in supported zones, and needs two", () => {
    assert.deepEqual(vpcLinkSubnets("api", "us-east-1", ["a", "b", "c"], ["use1-az1", "use1-az3", "use1-az2"]), ["a", "c"]);
    assert.throws(() => vpcLinkSubnets("api", "us-east-1", ["a", "b"], ["use1-az3", "use1-az1"]), /at least two zones .* offers them in use1-az1, use1-az2, use1-az4, use1-az5, use1-az6/);
    assert.throws(() => vpcLinkSubnets("api", "af-south-1", ["a", "b"], ["afs1-az1", "afs1-az2"]), /offers them in no zone/);
    assert.throws(() => vpcLinkSubnets("api", "us-east-1", ["a"], ["use1-az1", "use1-az2"]), /2 entries for 1 subnets/);
  });
});

describe("apiGatewayAuthorization AWS_IAM (SigV4 callers only)", function () {
  this.timeout(120_000);
  it("every method requires IAM, the resource policy admits this account's principals, and an invoke policy is exported", async () => {
    const run = await runProgram("dev", { apiGatewayAuthorization: "AWS_IAM" });
    const methods = run.ofType("aws:apigateway/method:Method");
    assert.ok(methods.length >= 4);
    for (const m of methods) assert.equal(m.inputs.authorization, "AWS_IAM", m.name);
    const policy = JSON.parse(run.one(T.restApiPolicy).inputs.policy) as { Statement: Array<Record<string, any>> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- policy JSON
    assert.deepEqual(policy.Statement.find((st) => st.Action === "execute-api:Invoke")!.Principal, { AWS: "arn:aws:iam::123456789012:root" });
    const invoke = JSON.parse(run.ofType("aws:iam/policy:Policy").find((p) => p.name.endsWith("-invoke"))!.inputs.policy);
    assert.deepEqual(invoke.Statement[0].Action, ["execute-api:Invoke"]);
    assert.match(invoke.Statement[0].Resource[0], /^arn:aws:execute-api:us-east-1:123456789012:api-dev-id\/dev\/\*$/);
    const none = await runProgram("dev");
    for (const m of none.ofType("aws:apigateway/method:Method")) assert.equal(m.inputs.authorization, "NONE");
    assert.notEqual(run.one("aws:apigateway/deployment:Deployment").inputs.triggers.redeployment, none.one("aws:apigateway/deployment:Deployment").inputs.triggers.redeployment, "a change of authorization redeploys the stage");
  });
});

describe("the internal ALB behind the private API", function () {
  this.timeout(120_000);
  it("admits only the VPC link's security group (no VPC-wide ingress), and its bucket refuses plain HTTP", async () => {
    const run = await runProgram("dev");
    const alb = run.one("aws:lb/loadBalancer:LoadBalancer");
    const rules = run.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.securityGroupId === alb.inputs.securityGroups[0]);
    assert.equal(rules.length, 1, JSON.stringify(rules.map((r) => r.name)));
    assert.equal(rules[0].inputs.referencedSecurityGroupId, run.one(T.vpcLink).inputs.securityGroupIds[0]);
    assert.equal(rules[0].inputs.cidrIpv4, undefined);
    const bucketPolicy = JSON.parse(run.one("aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
    assert.deepEqual(bucketPolicy.Statement[0].Condition, { Bool: { "aws:SecureTransport": "false" } });
    assert.equal(bucketPolicy.Statement[0].Effect, "Deny");
  });
});

describe("Dockerfile", () => {
  const dockerfile = fs.readFileSync(path.join(REPO_ROOT, "Dockerfile"), "utf8");
  it("has no HEALTHCHECK (a Node process per probe on 0.25 vCPU; the target group checks /health)", () => {
    assert.ok(!/^\s*HEALTHCHECK\b/m.test(dockerfile));
  });
  it("is generic: one stage, nothing built or installed (no RUN), so nothing is emulated for arm64 on an x86 builder", () => {
    const instructions = dockerfile.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
    assert.deepEqual(instructions.filter((l) => /^FROM\b/.test(l)), ["FROM node:22-slim@sha256:83f487e0a63425e5b4d146fb5e5be574bcbe1b7b843d3ebafdd95eaf7767a7e5"]);
    assert.deepEqual(instructions.filter((l) => /^RUN\b/.test(l)), []);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^CMD \["node", "__index.js"\]$/m);
  });
});

describe("fargateArchitecture", function () {
  this.timeout(120_000);
  it("X86_64 builds linux/amd64 (no emulation on x86 CI) and runs X86_64 tasks", async () => {
    const run = await runProgram("dev", { fargateArchitecture: "X86_64" });
    assert.equal(run.one(T.taskDefinition).inputs.runtimePlatform.cpuArchitecture, "X86_64");
    // awsx.ecr.Image is a remote component: its inputs are what the mock sees.
    assert.equal(run.one("awsx:ecr:Image").inputs.platform, "linux/amd64");
  });
});

describe("an internet-facing ALB behind the private API", function () {
  this.timeout(120_000);
  it("the integration names the certificate's host, not the ALB's *.elb.amazonaws.com name", async () => {
    const run = await runProgram("dev", {
      albInternetFacing: "true",
      albCertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc",
      albDomainName: "api.example.com",
    });
    const proxied = run.ofType(T.integration).filter((i) => i.inputs.type === "HTTP_PROXY");
    assert.ok(proxied.length >= 3);
    for (const i of proxied) assert.match(i.inputs.uri, /^https:\/\/api\.example\.com:443\//);
  });
});
