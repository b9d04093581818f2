import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { ConfigError, parseStackConfig, RENAMED_KEYS } from "../config";
import { parseConfigOverrides } from "../plan/engine";
import { migrateStackFileText } from "../scripts/configMigrate";
import { REPO_ROOT, runProgram, stackConfig, type ProgramRun } from "./support/program";

/** parseStackConfig over the dev stack's real config with some keys replaced. */
function parseWith(overrides: Record<string, string | undefined>) {
  const values = stackConfig("dev", overrides);
  return parseStackConfig((key) => values[`serverless-cache:${key}`]);
}

function problemsOf(overrides: Record<string, string | undefined>): string[] {
  try {
    parseWith(overrides);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail(`config ${JSON.stringify(overrides)} was accepted`);
}

describe("config validation", function () {
  this.timeout(180_000); // the program runs take seconds alone, much more on a loaded machine
  it("accepts both real stack files", () => {
    for (const stack of ["dev", "prod"]) {
      const values = stackConfig(stack);
      const cfg = parseStackConfig((key) => values[`serverless-cache:${key}`]);
      assert.ok(cfg.network.azCount >= 2);
    }
  });

  const cases: Array<{ name: string; set: Record<string, string | undefined>; key: string; says: RegExp }> = [
    { name: "unknown NAT mode", set: { networkNatMode: "triple" }, key: "networkNatMode", says: /"triple".*one of perAz, single/ },
    { name: "malformed VPC CIDR", set: { networkVpcCidr: "10.0.0/16" }, key: "networkVpcCidr", says: /CIDR form/ },
    { name: "VPC CIDR with host bits", set: { networkVpcCidr: "10.0.0.1/16" }, key: "networkVpcCidr", says: /no host bits/ },
    { name: "VPC CIDR too large", set: { networkVpcCidr: "10.0.0.0/8" }, key: "networkVpcCidr", says: /\/16 to \/24/ },
    { name: "public VPC CIDR", set: { networkVpcCidr: "8.8.0.0/16" }, key: "networkVpcCidr", says: /RFC 1918/ },
    { name: "subnets that do not fit the VPC", set: { networkVpcCidr: "10.0.0.0/22", networkSubnetPrefixLength: "23" }, key: "networkSubnetPrefixLength", says: /4 subnets .* do not fit in 10\.0\.0\.0\/22.*\/24 to \/27/ },
    { name: "subnets larger than the VPC", set: { networkVpcCidr: "10.0.0.0/24", networkSubnetPrefixLength: "20" }, key: "networkSubnetPrefixLength", says: /do not fit/ },
    { name: "one AZ", set: { networkAzCount: "1" }, key: "networkAzCount", says: /from 2 to 6/ },
    { name: "non-numeric AZ count", set: { networkAzCount: "two" }, key: "networkAzCount", says: /whole number/ },
    { name: "cross-AZ with one node", set: { memcachedNodeCount: "1", memcachedAzMode: "cross-az" }, key: "memcachedNodeCount", says: /2 or more when memcachedAzMode is cross-az/ },
    { name: "unknown cache AZ mode", set: { memcachedAzMode: "multi" }, key: "memcachedAzMode", says: /one of cross-az, single-az/ },
    { name: "bad node type", set: { memcachedNodeType: "t4g.micro" }, key: "memcachedNodeType", says: /cache\.t4g\.micro/ },
    { name: "too many nodes", set: { memcachedNodeCount: "41" }, key: "memcachedNodeCount", says: /1 to 40/ },
    { name: "old engine", set: { memcachedEngineVersion: "1.4.5" }, key: "memcachedEngineVersion", says: /1\.6\.x/ },
    { name: "Lambda timeout of 15 minutes", set: { cacheFunctionTimeoutSeconds: "900" }, key: "cacheFunctionTimeoutSeconds", says: /1 to 60/ },
    { name: "Lambda timeout above the project maximum", set: { cacheFunctionTimeoutSeconds: "61" }, key: "cacheFunctionTimeoutSeconds", says: /1 to 60/ },
    { name: "Lambda timeout zero", set: { cacheFunctionTimeoutSeconds: "0" }, key: "cacheFunctionTimeoutSeconds", says: /1 to 60/ },
    { name: "API Lambda timeout above the project maximum", set: { apiFunctionTimeoutSeconds: "120" }, key: "apiFunctionTimeoutSeconds", says: /1 to 60/ },
    { name: "negative provisioned concurrency", set: { apiFunctionProvisionedConcurrency: "-1" }, key: "apiFunctionProvisionedConcurrency", says: /0 to 1000/ },
    { name: "cache Lambda without reserved concurrency", set: { cacheFunctionReservedConcurrency: "0" }, key: "cacheFunctionReservedConcurrency", says: /1 to 1000/ },
    { name: "unknown interface endpoint", set: { networkInterfaceEndpoints: '["s4"]' }, key: "networkInterfaceEndpoints", says: /"s4".*one of logs, monitoring/ },
    { name: "interface endpoints not a list", set: { networkInterfaceEndpoints: "logs" }, key: "networkInterfaceEndpoints", says: /list of strings/ },
    { name: "unknown API cache size", set: { apiGatewayCacheSizeGb: "1" }, key: "apiGatewayCacheSizeGb", says: /one of 0\.5, 1\.6, 6\.1/ },
    { name: "API cache TTL above an hour", set: { apiGatewayCacheTtlSeconds: "3601" }, key: "apiGatewayCacheTtlSeconds", says: /0 .* to 3600/ },
    { name: "memory below 128", set: { cacheFunctionMemoryMb: "64" }, key: "cacheFunctionMemoryMb", says: /128 to 10240/ },
    { name: "memory above 10240", set: { cacheFunctionMemoryMb: "10241" }, key: "cacheFunctionMemoryMb", says: /128 to 10240/ },
    { name: "fractional memory", set: { cacheFunctionMemoryMb: "512.5" }, key: "cacheFunctionMemoryMb", says: /whole number/ },
    { name: "upstream timeout not below the Lambda timeout", set: { cacheFunctionTimeoutSeconds: "3", upstreamTimeoutMs: "2500" }, key: "upstreamTimeoutMs", says: /at most 2000/ },
    { name: "ftp upstream", set: { upstreamUrl: "ftp://example.com" }, key: "upstreamUrl", says: /http:\/\/ or https:\/\// },
    { name: "upstream with credentials", set: { upstreamUrl: "https://user:secret@example.com" }, key: "upstreamUrl", says: /without credentials/ },
    { name: "TTL above 30 days", set: { cacheFunctionTtlSeconds: "2592001" }, key: "cacheFunctionTtlSeconds", says: /1 to 2592000/ },
    { name: "unsupported log retention", set: { logRetentionDays: "10" }, key: "logRetentionDays", says: /one of 1, 3, 5, 7, 14/ },
    { name: "invalid Fargate CPU", set: { fargateCpu: "300" }, key: "fargateCpu", says: /one of 256, 512, 1024/ },
    { name: "Fargate memory not valid for the CPU", set: { fargateCpu: "256", fargateMemoryMb: "4096" }, key: "fargateMemoryMb", says: /not valid with fargateCpu 256; allowed: 512, 1024, 2048/ },
    { name: "failover count below baseline", set: { fargateBaselineCount: "3", fargateFailoverCount: "2" }, key: "fargateFailoverCount", says: /at least fargateBaselineCount \(3\)/ },
    { name: "reserved concurrency zero", set: { apiFunctionReservedConcurrency: "0" }, key: "apiFunctionReservedConcurrency", says: /1 to 1000/ },
    { name: "internet-facing ALB without certificate", set: { albInternetFacing: "true" }, key: "albCertificateArn", says: /required when albInternetFacing/ },
    { name: "non-boolean ALB flag", set: { albInternetFacing: "yes" }, key: "albInternetFacing", says: /true or false/ },
    { name: "malformed certificate ARN", set: { albCertificateArn: "cert-123" }, key: "albCertificateArn", says: /ACM certificate ARN/ },
    { name: "cooldown too short", set: { fargateFailoverCooldownSeconds: "5" }, key: "fargateFailoverCooldownSeconds", says: /60 to 86400/ },
    { name: "missing required key", set: { networkNatMode: undefined }, key: "networkNatMode", says: /is required/ },
    { name: "a /28 subnet (too small for an ALB)", set: { networkSubnetPrefixLength: "28" }, key: "networkSubnetPrefixLength", says: /16 to 27.*at least \/27 with 8 free addresses/ },
    { name: "a memcached version ElastiCache does not offer", set: { memcachedEngineVersion: "1.6.8" }, key: "memcachedEngineVersion", says: /one of 1\.6\.6, 1\.6\.12, 1\.6\.17, 1\.6\.22/ },
    { name: "a previous-generation node type", set: { memcachedNodeType: "cache.t2.micro" }, key: "memcachedNodeType", says: /current-generation memcached node type/ },
    { name: "a size the family does not have", set: { memcachedNodeType: "cache.t4g.large" }, key: "memcachedNodeType", says: /not a t4g size.*cache\.t4g\.micro, cache\.t4g\.small, cache\.t4g\.medium/ },
    { name: "zone IDs that do not match networkAzCount", set: { networkAvailabilityZoneIds: '["use1-az1"]' }, key: "networkAvailabilityZoneIds", says: /exactly networkAzCount \(2\)/ },
    { name: "AZ names instead of zone IDs", set: { networkAvailabilityZoneIds: '["use1-az1","us-east-1b"]' }, key: "networkAvailabilityZoneIds", says: /zone IDs, not names/ },
    { name: "a zone ID twice", set: { networkAvailabilityZoneIds: '["use1-az1","use1-az1"]' }, key: "networkAvailabilityZoneIds", says: /twice/ },
    { name: "an internet-facing ALB without the name its certificate covers", set: { albInternetFacing: "true", albCertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc" }, key: "albDomainName", says: /required when albInternetFacing.*never matches an ACM certificate/ },
    { name: "a domain with a scheme", set: { albDomainName: "https://api.example.com" }, key: "albDomainName", says: /DNS host name/ },
    { name: "an item path without {id}", set: { upstreamItemPath: "/items" }, key: "upstreamItemPath", says: /\{id\} exactly once/ },
    { name: "an item path with a query", set: { upstreamItemPath: "/items/{id}?x=1" }, key: "upstreamItemPath", says: /plain segments/ },
    { name: "an unknown Cache-Control strategy", set: { apiGatewayUnauthorizedCacheControl: "IGNORE" }, key: "apiGatewayUnauthorizedCacheControl", says: /one of SUCCEED_WITH_RESPONSE_HEADER, SUCCEED_WITHOUT_RESPONSE_HEADER, FAIL_WITH_403/ },
    { name: "an unknown API authorization", set: { apiGatewayAuthorization: "IAM" }, key: "apiGatewayAuthorization", says: /one of NONE, AWS_IAM/ },
    { name: "an unknown flow-log mode", set: { networkFlowLogs: "accept" }, key: "networkFlowLogs", says: /one of off, reject, all/ },
    { name: "an unknown Fargate architecture", set: { fargateArchitecture: "arm64" }, key: "fargateArchitecture", says: /one of ARM64, X86_64/ },
    { name: "an alarm e-mail that is not one", set: { alarmEmail: "ops" }, key: "alarmEmail", says: /e-mail address/ },
    { name: "a non-boolean memcached TLS flag", set: { memcachedTransitEncryption: "on" }, key: "memcachedTransitEncryption", says: /"on": must be true or false/ },
    {
      name: "memcached TLS on an engine older than 1.6.12",
      set: { memcachedTransitEncryption: "true", memcachedEngineVersion: "1.6.6" },
      key: "memcachedEngineVersion",
      says: /"1\.6\.6": must be 1\.6\.12 or later when memcachedTransitEncryption is true .*one of 1\.6\.12, 1\.6\.17, 1\.6\.22, or set memcachedTransitEncryption to false/,
    },
    {
      name: "memcached TLS on a node family AWS does not list for it",
      set: { memcachedTransitEncryption: "true", memcachedNodeType: "cache.m7g.large" },
      key: "memcachedNodeType",
      says: /"cache\.m7g\.large": is not a node family .*t3, t4g, m4, m5, m6g, r4, r5, r6g.*cache\.m6g\.large.*memcachedTransitEncryption to false/,
    },
  ];

  describe("zone IDs against aws:region (the program passes it)", () => {
    const parseIn = (region: string, overrides: Record<string, string | undefined>): string[] => {
      const values = stackConfig("dev", overrides);
      try {
        parseStackConfig((key) => values[`serverless-cache:${key}`], { region });
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.problems;
      }
      return [];
    };
    it("accepts dev's pinned us-east-1 zones", () => assert.deepEqual(parseIn("us-east-1", {}), []));
    it("refuses use1-az3, which VPC links V2 and VPC Lambdas do not support", () => {
      const problems = parseIn("us-east-1", { networkAvailabilityZoneIds: '["use1-az1","use1-az3"]' });
      assert.equal(problems.length, 2, problems.join("\n"));
      assert.match(problems[0], /networkAvailabilityZoneIds = "use1-az3": cannot be used: API Gateway VPC links V2 are not offered in use1-az3/);
      assert.match(problems[1], /Lambda does not accept VPC subnets in use1-az3/);
    });
    it("refuses a zone of another Region", () => {
      assert.match(parseIn("us-east-2", {}).join("\n"), /"use1-az1": is not a zone of us-east-2 \(its zone IDs start with use2-\)/);
    });
    it("refuses a Region without VPC links V2, naming the ones that have them", () => {
      assert.match(parseIn("af-south-1", { networkAvailabilityZoneIds: "[]" }).join("\n"), /aws:region = "af-south-1": API Gateway VPC links V2 are not offered in af-south-1 \(offered in us-east-2, us-east-1/);
    });
    it("refuses more AZs than the Region offers VPC links in", () => {
      assert.match(parseIn("us-west-1", { networkAvailabilityZoneIds: "[]", networkAzCount: "3" }).join("\n"), /networkAzCount = 3: must be at most 2 in us-west-1/);
    });
  });

  for (const c of cases) {
    it(`rejects ${c.name}, naming the key and the value`, () => {
      const problems = problemsOf(c.set);
      const mine = problems.filter((p) => p.startsWith(`serverless-cache:${c.key} = `));
      assert.equal(mine.length, 1, `one problem for ${c.key} in ${JSON.stringify(problems)}`);
      assert.match(mine[0], c.says);
    });
  }

  describe("memcachedTransitEncryption (memcached TLS)", () => {
    it("is off unless set, and accepted on a TLS-capable engine and node type", () => {
      assert.equal(parseWith({}).cache.transitEncryption, false);
      assert.equal(parseWith({ memcachedTransitEncryption: undefined }).cache.transitEncryption, false);
      assert.equal(parseWith({ memcachedTransitEncryption: "true", memcachedEngineVersion: "1.6.12" }).cache.transitEncryption, true);
    });
    it("leaves an old engine alone while off", () => {
      assert.equal(parseWith({ memcachedEngineVersion: "1.6.6" }).cache.transitEncryption, false);
    });
    it("prod keeps it off (docs/cache.md: m7g is not listed, and a toggle replaces the cluster)", () => {
      const values = stackConfig("prod");
      assert.equal(values["serverless-cache:memcachedTransitEncryption"], "false");
    });

    const CLUSTER = "aws:elasticache/cluster:Cluster";
    const FN = "aws:lambda/function:Function";
    const memcachedClients = (run: ProgramRun) => run.ofType(FN).filter((f) => f.inputs.environment?.variables?.MEMCACHED_CONFIG_ENDPOINT !== undefined);

    it("off: the cluster is created without TLS and no runtime is told to use it", async () => {
      const run = await runProgram("dev");
      assert.equal(run.one(CLUSTER).inputs.transitEncryptionEnabled, false);
      const clients = memcachedClients(run);
      assert.ok(clients.length >= 2, clients.map((f) => f.name).join(", "));
      for (const f of clients) assert.equal(f.inputs.environment.variables.MEMCACHED_TLS, undefined, f.name);
    });

    it("on: the cluster is created with transitEncryptionEnabled and the cache Lambda sets MEMCACHED_TLS=on", async () => {
      const run = await runProgram("dev", { memcachedTransitEncryption: "true" });
      assert.equal(run.one(CLUSTER).inputs.transitEncryptionEnabled, true);
      assert.equal(run.one(FN, "cache-handler").inputs.environment.variables.MEMCACHED_TLS, "on");
    });

    it("on: every other memcached client (API Lambda, Fargate task) sets MEMCACHED_TLS=on too", async () => {
      const run = await runProgram("dev", { memcachedTransitEncryption: "true" });
      for (const f of memcachedClients(run)) assert.equal(f.inputs.environment.variables.MEMCACHED_TLS, "on", f.name);
      const task = run.one("aws:ecs/taskDefinition:TaskDefinition");
      const containers = JSON.parse(task.inputs.containerDefinitions) as Array<{ environment?: Array<{ name: string; value: string }> }>;
      const env = containers.flatMap((c) => c.environment ?? []);
      assert.ok(env.some((e) => e.name === "MEMCACHED_CONFIG_ENDPOINT"));
      assert.deepEqual(env.filter((e) => e.name === "MEMCACHED_TLS").map((e) => e.value), ["on"]);
    });
  });

  describe("memcachedProtect (Pulumi protect on the memcached cluster)", () => {
    it("is off unless set, true in prod, and must be a boolean", () => {
      assert.equal(parseWith({}).cache.protect, false);
      assert.equal(parseWith({ memcachedProtect: "true" }).cache.protect, true);
      const values = stackConfig("prod");
      assert.equal(parseStackConfig((key) => values[`serverless-cache:${key}`]).cache.protect, true);
      const problems = problemsOf({ memcachedProtect: "yes" });
      assert.deepEqual(problems.filter((p) => p.startsWith("serverless-cache:memcachedProtect")), ['serverless-cache:memcachedProtect = "yes": must be true or false']);
    });
  });

  it("reports every problem at once", () => {
    const problems = problemsOf({ networkNatMode: "x", networkAzCount: "9", cacheFunctionMemoryMb: "1" });
    assert.equal(problems.length, 3);
  });

  it("does not leak the upstream URL's password into the error", () => {
    const [problem] = problemsOf({ upstreamUrl: "https://user:hunter2@example.com" });
    // The value is echoed so the user can find it; the check is that nothing else (stack traces,
    // other keys) is added. The password came from config the user wrote, not from a secret store.
    assert.ok(!problem.includes("\n"));
  });

  it("fails the program (pulumi preview) before any resource is created", async () => {
    await assert.rejects(runProgram("dev", { networkNatMode: "triple", cacheFunctionTimeoutSeconds: "1200" }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /serverless-cache:networkNatMode = "triple": must be one of perAz, single/);
      assert.match(err.message, /serverless-cache:cacheFunctionTimeoutSeconds = 1200: must be a whole number from 1 to 60/);
      return true;
    });
  });
});

describe("renamed config keys (issue 13: every key names its owner)", function () {
  this.timeout(180_000);
  const Q = "serverless-cache";
  /** parseStackConfig over the dev stack with overrides, returning the config, its problems and its warnings. */
  const parseDev = (overrides: Record<string, string | undefined>) => {
    const values = stackConfig("dev", overrides);
    const warnings: string[] = [];
    try {
      return { config: parseStackConfig((key) => values[`${Q}:${key}`], { warn: (m) => warnings.push(m) }), problems: [] as string[], warnings };
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return { config: undefined, problems: err.problems, warnings };
    }
  };
  type Decl = { type?: string; default?: unknown; description?: string };
  const declared = (yaml.load(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, Decl> }).config;
  /** A Pulumi.yaml default as the CLI passes it to the program. */
  const asPassed = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

  it("Pulumi.yaml declares every new key with the default config.ts assumes, and every old key as deprecated with no default", () => {
    for (const r of RENAMED_KEYS) {
      assert.ok(declared[r.new], `${r.new} is not declared`);
      assert.equal(asPassed(declared[r.new].default), r.default, `${r.new}: RENAMED_KEYS default`);
      if (r.list) {
        // A list stays `type: array` under its old name (an old stack file's YAML list must pass the CLI's type check), unset = [].
        assert.equal(declared[r.new].type, "array", r.new);
        assert.equal(declared[r.old]?.type, "array", `${r.old} must stay declared as an array`);
        assert.deepEqual(declared[r.old].default, [], `${r.old}: default [] (unset)`);
      } else {
        assert.notEqual(declared[r.new].type, "array", `${r.new} is a list: mark it list: true in RENAMED_KEYS`);
        assert.equal(declared[r.old]?.default, "", `${r.old} must stay declared (old stack files) with default "" (unset)`);
      }
      assert.match(declared[r.old].description ?? "", new RegExp(`^deprecated: use ${r.new}\\b`), r.old);
    }
    assert.equal(new Set(RENAMED_KEYS.map((r) => r.new)).size, RENAMED_KEYS.length);
  });

  it("the network's keys are network* (MultiAzNetwork), and the old names map to them", () => {
    const network = RENAMED_KEYS.filter((r) => r.new.startsWith("network")).map((r) => [r.old, r.new]);
    assert.deepEqual(network, [
      ["vpcCidr", "networkVpcCidr"],
      ["azCount", "networkAzCount"],
      ["availabilityZoneIds", "networkAvailabilityZoneIds"],
      ["subnetPrefixLength", "networkSubnetPrefixLength"],
      ["natMode", "networkNatMode"],
      ["interfaceEndpoints", "networkInterfaceEndpoints"],
    ]);
    // Every key the network reads is network*: nothing left under a name that does not say its owner.
    const networkKeys = Object.keys(declared).filter((k) => !RENAMED_KEYS.some((r) => r.old === k) && k.startsWith("network"));
    assert.deepEqual(networkKeys.sort(), [...network.map(([, n]) => n), "networkFlowLogs"].sort());
  });

  it("the stack files use only the new names", () => {
    for (const stack of ["dev", "prod"]) {
      const text = fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8");
      for (const r of RENAMED_KEYS) assert.ok(!text.includes(`${Q}:${r.old}:`), `Pulumi.${stack}.yaml still sets ${r.old}`);
    }
    assert.deepEqual(parseDev({}).warnings, []);
  });

  it("an old key still works, with one warning naming the new key", () => {
    for (const newKey of [undefined, "512"]) { // the new key unset, or holding its Pulumi.yaml default (what the CLI passes)
      const { config, problems, warnings } = parseDev({ lambdaMemoryMb: "2048", cacheFunctionMemoryMb: newKey });
      assert.deepEqual(problems, []);
      assert.equal(config?.cacheHandler.memoryMb, 2048);
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.match(warnings[0], /^serverless-cache:lambdaMemoryMb is deprecated: use serverless-cache:cacheFunctionMemoryMb \(pulumi config set cacheFunctionMemoryMb '2048' && pulumi config rm lambdaMemoryMb; docs\/configuration\.md/);
    }
  });

  /** Overrides that write a stack's config with every old name instead of the new one. */
  const withOldNames = (stack: string): Record<string, string | undefined> => {
    const values = stackConfig(stack);
    return Object.fromEntries(RENAMED_KEYS.flatMap((r) => [[r.old, values[`${Q}:${r.new}`]], [r.new, undefined]]));
  };

  it("every old key still works: dev written with the old names parses to the same config, one warning per key", () => {
    const overrides = withOldNames("dev");
    const { config, problems, warnings } = parseDev(overrides);
    assert.deepEqual(problems, []);
    assert.deepEqual(config, parseDev({}).config);
    // dev sets no interface endpoints: that old name holds [], which is unset (what the CLI passes by default), so no warning.
    const unset = RENAMED_KEYS.filter((r) => r.list && overrides[r.old] === "[]").map((r) => r.old);
    assert.deepEqual(unset, ["interfaceEndpoints"]);
    assert.deepEqual(warnings.map((w) => /^serverless-cache:(\w+) is deprecated: use serverless-cache:(\w+) /.exec(w)?.slice(1, 3)),
      RENAMED_KEYS.filter((r) => !unset.includes(r.old)).map((r) => [r.old, r.new]));
  });

  it("prod written with the old names parses to the same config too (every network key set, lists included)", () => {
    const overrides = withOldNames("prod");
    const parse = (o: Record<string, string | undefined>) => {
      const values = stackConfig("prod", o);
      const warnings: string[] = [];
      return { config: parseStackConfig((key) => values[`${Q}:${key}`], { region: "us-east-1", warn: (m) => warnings.push(m) }), warnings };
    };
    const { config, warnings } = parse(overrides);
    assert.deepEqual(config, parse({}).config);
    assert.deepEqual(config.network.interfaceEndpoints, ["ecr.api", "ecr.dkr", "logs"]);
    assert.deepEqual(config.network.availabilityZoneIds, ["use1-az1", "use1-az2", "use1-az4"]);
    assert.equal(warnings.length, RENAMED_KEYS.length);
  });

  describe("the network's keys (network*, MultiAzNetwork)", () => {
    it("an old scalar key works, with one warning naming the new key and the commands", () => {
      for (const newKey of [undefined, "single"]) { // unset, or its Pulumi.yaml default (what the CLI passes)
        const { config, problems, warnings } = parseDev({ natMode: "perAz", networkNatMode: newKey });
        assert.deepEqual(problems, []);
        assert.equal(config?.network.natMode, "perAz");
        assert.deepEqual(warnings.length, 1, warnings.join("\n"));
        assert.match(warnings[0], /^serverless-cache:natMode is deprecated: use serverless-cache:networkNatMode \(pulumi config set networkNatMode 'perAz' && pulumi config rm natMode; docs\/configuration\.md/);
      }
      const { config, warnings } = parseDev({ vpcCidr: "10.30.0.0/16", networkVpcCidr: undefined, azCount: "2", subnetPrefixLength: "22" });
      assert.equal(config?.network.vpcCidr, "10.30.0.0/16");
      assert.equal(config?.network.subnetPrefixLength, 22);
      assert.deepEqual(warnings.map((w) => w.split(" ")[0]), ["serverless-cache:vpcCidr", "serverless-cache:azCount", "serverless-cache:subnetPrefixLength"]);
    });

    it("an old list key works; its warning sets the new list element by element (pulumi config set takes no JSON list)", () => {
      const { config, problems, warnings } = parseDev({ availabilityZoneIds: '["use1-az1","use1-az4"]', networkAvailabilityZoneIds: "[]", interfaceEndpoints: '["logs"]' });
      assert.deepEqual(problems, []);
      assert.deepEqual(config?.network.availabilityZoneIds, ["use1-az1", "use1-az4"]);
      assert.deepEqual(config?.network.interfaceEndpoints, ["logs"]);
      assert.equal(warnings.length, 2, warnings.join("\n"));
      assert.ok(warnings[0].startsWith("serverless-cache:availabilityZoneIds is deprecated: use serverless-cache:networkAvailabilityZoneIds (" +
        "pulumi config set --path 'networkAvailabilityZoneIds[0]' 'use1-az1' && pulumi config set --path 'networkAvailabilityZoneIds[1]' 'use1-az4' && pulumi config rm availabilityZoneIds; "), warnings[0]);
      assert.ok(warnings[1].startsWith("serverless-cache:interfaceEndpoints is deprecated: use serverless-cache:networkInterfaceEndpoints (" +
        "pulumi config set --path 'networkInterfaceEndpoints[0]' 'logs' && pulumi config rm interfaceEndpoints; "), warnings[1]);
    });

    it("an old list key left at its Pulumi.yaml default [] is unset: no warning, the new key counts", () => {
      const { config, problems, warnings } = parseDev({ availabilityZoneIds: "[]", interfaceEndpoints: "[]" });
      assert.deepEqual(problems, []);
      assert.deepEqual(warnings, []);
      assert.deepEqual(config?.network.availabilityZoneIds, ["use1-az1", "use1-az2"]);
    });

    it("set both ways with different values: an error naming both keys", () => {
      const { problems } = parseDev({ vpcCidr: "10.30.0.0/16", availabilityZoneIds: '["use1-az1","use1-az4"]' }); // dev: 10.10.0.0/16, use1-az1 + use1-az2
      assert.ok(problems.includes('serverless-cache:vpcCidr = "10.30.0.0/16": conflicts with serverless-cache:networkVpcCidr = "10.10.0.0/16" ' +
        "(vpcCidr is the deprecated name of networkVpcCidr); keep only networkVpcCidr: pulumi config rm vpcCidr"), problems.join("\n"));
      assert.ok(problems.includes('serverless-cache:availabilityZoneIds = "[\\"use1-az1\\",\\"use1-az4\\"]": conflicts with serverless-cache:networkAvailabilityZoneIds = "[\\"use1-az1\\",\\"use1-az2\\"]" ' +
        "(availabilityZoneIds is the deprecated name of networkAvailabilityZoneIds); keep only networkAvailabilityZoneIds: pulumi config rm availabilityZoneIds"), problems.join("\n"));
      assert.equal(problems.length, 2, problems.join("\n"));
    });

    it("set both ways with the same value (a list too): accepted, with the warning", () => {
      const { config, problems, warnings } = parseDev({ vpcCidr: "10.10.0.0/16", availabilityZoneIds: '["use1-az1","use1-az2"]' });
      assert.deepEqual(problems, []);
      assert.equal(config?.network.vpcCidr, "10.10.0.0/16");
      assert.equal(warnings.length, 2);
    });

    it("a bad value under an old name names the new key, where it came from, and what is allowed", () => {
      const { problems } = parseDev({ natMode: "triple", azCount: "1", subnetPrefixLength: "28", interfaceEndpoints: '["s4"]', networkAzCount: undefined });
      for (const expected of [
        'serverless-cache:networkNatMode (set as deprecated natMode) = "triple": must be one of perAz, single',
        "serverless-cache:networkAzCount (set as deprecated azCount) = 1: must be a whole number from 2 to 6",
        "serverless-cache:networkSubnetPrefixLength (set as deprecated subnetPrefixLength) = 28: must be a whole number from 16 to 27 (an ALB subnet must be at least /27 with 8 free addresses)",
      ]) assert.ok(problems.includes(expected), `${expected}\nnot in\n${problems.join("\n")}`);
      assert.ok(problems.some((p) => /^serverless-cache:networkInterfaceEndpoints \(set as deprecated interfaceEndpoints\) = "s4": must be one of logs, monitoring, ecr\.api/.test(p)), problems.join("\n"));
      const zones = parseDev({ availabilityZoneIds: '["use1-az1"]', networkAvailabilityZoneIds: undefined }).problems;
      assert.deepEqual(zones, ['serverless-cache:networkAvailabilityZoneIds (set as deprecated availabilityZoneIds) = ["use1-az1"]: must list exactly networkAzCount (2) zone IDs, one per AZ, in subnet order']);
    });
  });

  it("a bad value under an old name names the new key and the old name it came from", () => {
    const { problems } = parseDev({ lambdaMemoryMb: "64", cacheFunctionMemoryMb: undefined, apiCacheSizeGb: "1" });
    assert.ok(problems.includes("serverless-cache:cacheFunctionMemoryMb (set as deprecated lambdaMemoryMb) = 64: must be a whole number from 128 to 10240"), problems.join("\n"));
    assert.ok(problems.some((p) => p.startsWith("serverless-cache:apiGatewayCacheSizeGb (set as deprecated apiCacheSizeGb) = ")), problems.join("\n"));
  });

  it("set both ways with different values: an error naming both keys (and every other problem still listed)", () => {
    const { problems } = parseDev({ lambdaMemoryMb: "2048", networkNatMode: "triple" }); // dev sets cacheFunctionMemoryMb 256
    assert.ok(problems.includes('serverless-cache:lambdaMemoryMb = "2048": conflicts with serverless-cache:cacheFunctionMemoryMb = "256" ' +
      "(lambdaMemoryMb is the deprecated name of cacheFunctionMemoryMb); keep only cacheFunctionMemoryMb: pulumi config rm lambdaMemoryMb"), problems.join("\n"));
    assert.ok(problems.some((p) => p.startsWith('serverless-cache:networkNatMode = "triple"')));
  });

  it("set both ways with the same value: accepted, with the warning", () => {
    const { config, problems, warnings } = parseDev({ lambdaMemoryMb: "256" });
    assert.deepEqual(problems, []);
    assert.equal(config?.cacheHandler.memoryMb, 256);
    assert.equal(warnings.length, 1);
  });

  /** runProgram(dev, overrides) on a fresh program, with what it told pulumi.log.warn. */
  const runDevWarned = async (overrides: Record<string, string | undefined>): Promise<{ run: ProgramRun; warned: string[] }> => {
    const log = pulumi.log as { warn: (msg: string) => Promise<void> };
    const original = log.warn;
    const warned: string[] = [];
    log.warn = (msg: string) => {
      warned.push(msg);
      return Promise.resolve();
    };
    try {
      return { run: await runProgram("dev", overrides, { fresh: true }), warned };
    } finally {
      log.warn = original;
    }
  };

  it("the program (pulumi preview) builds from an old key and warns through pulumi.log.warn", async () => {
    const { run, warned } = await runDevWarned({ lambdaMemoryMb: "2048", cacheFunctionMemoryMb: undefined });
    assert.equal(run.one("aws:lambda/function:Function", "cache-handler").inputs.memorySize, 2048);
    assert.deepEqual(warned.filter((w) => w.includes("deprecated")).length, 1, warned.join("\n"));
    assert.match(warned.find((w) => w.includes("deprecated")) ?? "", /lambdaMemoryMb is deprecated: use serverless-cache:cacheFunctionMemoryMb/);
  });

  it("the program builds the network from its old keys (natMode, azCount, availabilityZoneIds) and warns for each", async () => {
    const { run, warned } = await runDevWarned({
      natMode: "perAz", azCount: "3", availabilityZoneIds: '["use1-az1","use1-az2","use1-az4"]',
      networkNatMode: undefined, networkAzCount: undefined, networkAvailabilityZoneIds: undefined,
    });
    assert.equal(run.ofType("aws:ec2/natGateway:NatGateway").length, 3, "perAz over 3 AZs");
    assert.deepEqual(run.outputs.availabilityZoneIds, ["use1-az1", "use1-az2", "use1-az4"]);
    assert.deepEqual(warned.filter((w) => w.includes("deprecated")).map((w) => w.split(" ")[0]),
      ["serverless-cache:azCount", "serverless-cache:availabilityZoneIds", "serverless-cache:natMode"], warned.join("\n"));
  });

  it("scripts/configMigrate.ts turns a stack file written with the old names back into the real one", () => {
    for (const stack of ["dev", "prod"]) {
      const real = fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8");
      let old = real;
      for (const r of RENAMED_KEYS) old = old.split(`${Q}:${r.new}:`).join(`${Q}:${r.old}:`);
      assert.notEqual(old, real);
      const m = migrateStackFileText(old);
      assert.equal(m.text, real, stack);
      assert.deepEqual(m.conflicts, []);
      assert.deepEqual(migrateStackFileText(real).renamed, []);
    }
    const both = "config:\n  serverless-cache:lambdaMemoryMb: \"256\"\n  serverless-cache:cacheFunctionMemoryMb: \"256\"\n  serverless-cache:apiCacheSizeGb: \"1.6\"\n  serverless-cache:apiGatewayCacheSizeGb: \"0.5\"\n";
    const m = migrateStackFileText(both);
    assert.equal(m.text, "config:\n  serverless-cache:cacheFunctionMemoryMb: \"256\"\n  serverless-cache:apiCacheSizeGb: \"1.6\"\n  serverless-cache:apiGatewayCacheSizeGb: \"0.5\"\n");
    assert.equal(m.conflicts.length, 1);
    assert.match(m.conflicts[0], /serverless-cache:apiCacheSizeGb = "1\.6" and serverless-cache:apiGatewayCacheSizeGb = "0\.5"/);
  });

  it("scripts/configMigrate.ts renames the network keys, lists included, and drops an old list set the same both ways", () => {
    const old = [
      "config:",
      "  serverless-cache:vpcCidr: 10.30.0.0/16",
      "  serverless-cache:azCount: \"2\"",
      "  serverless-cache:availabilityZoneIds:",
      "    - use1-az1",
      "    - use1-az2",
      "  serverless-cache:natMode: perAz",
      "  serverless-cache:interfaceEndpoints:",
      "  - logs",
      "  serverless-cache:networkInterfaceEndpoints:",
      "  - logs",
      "  serverless-cache:subnetPrefixLength: \"22\"",
      "",
    ].join("\n");
    const m = migrateStackFileText(old);
    assert.equal(m.text, [
      "config:",
      "  serverless-cache:networkVpcCidr: 10.30.0.0/16",
      "  serverless-cache:networkAzCount: \"2\"",
      "  serverless-cache:networkAvailabilityZoneIds:",
      "    - use1-az1",
      "    - use1-az2",
      "  serverless-cache:networkNatMode: perAz",
      "  serverless-cache:networkInterfaceEndpoints:",
      "  - logs",
      "  serverless-cache:networkSubnetPrefixLength: \"22\"",
      "",
    ].join("\n"));
    assert.deepEqual(m.renamed, [["vpcCidr", "networkVpcCidr"], ["azCount", "networkAzCount"], ["availabilityZoneIds", "networkAvailabilityZoneIds"],
      ["subnetPrefixLength", "networkSubnetPrefixLength"], ["natMode", "networkNatMode"], ["interfaceEndpoints", "networkInterfaceEndpoints"]]);
    assert.deepEqual(m.conflicts, []);
    assert.deepEqual(migrateStackFileText(m.text).renamed, []);

    const same = "config:\n  serverless-cache:availabilityZoneIds:\n    - use1-az1\n    - use1-az2\n  serverless-cache:networkAvailabilityZoneIds:\n    - use1-az1\n    - use1-az2\n  # next\n  serverless-cache:networkNatMode: single\n";
    assert.equal(migrateStackFileText(same).text, "config:\n  serverless-cache:networkAvailabilityZoneIds:\n    - use1-az1\n    - use1-az2\n  # next\n  serverless-cache:networkNatMode: single\n");

    const conflict = "config:\n  serverless-cache:availabilityZoneIds:\n    - use1-az1\n    - use1-az4\n  serverless-cache:networkAvailabilityZoneIds:\n    - use1-az1\n    - use1-az2\n";
    const c = migrateStackFileText(conflict);
    assert.equal(c.text, conflict);
    assert.deepEqual(c.conflicts, ['serverless-cache:availabilityZoneIds = ["use1-az1","use1-az4"] and serverless-cache:networkAvailabilityZoneIds = ["use1-az1","use1-az2"]: ' +
      "keep one (pulumi config rm availabilityZoneIds or networkAvailabilityZoneIds)"]);
  });

  it("an unknown key is still refused where keys are checked (--config of npm run plan / doctor); old and new names are both known", () => {
    const error = (m: string) => new Error(m);
    assert.throws(() => parseConfigOverrides(["cacheFunctionMemoryMbb=256"], error), /--config cacheFunctionMemoryMbb: not a config key of this project/);
    assert.deepEqual(parseConfigOverrides(["lambdaMemoryMb=256", "cacheFunctionMemoryMb=256"], error), { lambdaMemoryMb: "256", cacheFunctionMemoryMb: "256" });
  });
});
