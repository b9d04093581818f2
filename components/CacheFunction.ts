import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { createCacheHandler, powertoolsTelemetry, settingsFromEnv } from "../functions/cacheHandler";
import { p99DurationAlarm } from "./lambdaAlarms";
import { lambdaLogLevels } from "./lambdaDefaults";
import { lambdaCodePathOptions } from "./lambdaPackaging";
import { MEMCACHED_PORT } from "./MemcachedCluster";

export interface CacheFunctionArgs {
  /** VPC of the function's security group. */
  vpcId: pulumi.Input<string>;
  /** Private subnets the function's ENIs go into (egress through NAT). */
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** memcached nodes, "host:port" each (from MemcachedCluster.nodeEndpoints). */
  memcachedNodes: pulumi.Input<string[]>;
  /** memcached configuration endpoint "host:port" (auto discovery). */
  memcachedConfigurationEndpoint: pulumi.Input<string>;
  /** memcached security group: the function may open 11211 to it and nowhere else in the VPC. */
  memcachedSecurityGroupId: pulumi.Input<string>;
  /** Upstream base URL (http/https). Its port decides the function's only internet egress rule. */
  upstreamUrl: string;
  /**
   * Upstream request timeout in ms; must be at least 1 s below `timeoutSeconds`.
   * @default 3000
   */
  upstreamTimeoutMs?: number;
  /**
   * Freshness of a cached answer in memcached.
   * @default 300
   */
  ttlSeconds?: number;
  /**
   * Lambda timeout, 1 to 900 s. Small on purpose: a hung function is billed for all of it.
   * @default 10
   */
  timeoutSeconds?: number;
  /**
   * Memory (and so CPU) in MB, 128 to 10240.
   * @default 512
   */
  memorySize?: number;
  /**
   * Reserved concurrency: a hard cap on parallel executions (and so on cost and on connections to
   * memcached), and a guarantee that other functions cannot starve this one.
   * @default 20
   */
  reservedConcurrency?: number;
  /**
   * CloudWatch Logs retention of the function's log group.
   * @default 14
   */
  logRetentionDays?: number;
  /**
   * SNS topic ARNs notified when the function's p99 duration nears its timeout (and when it recovers).
   * @default []
   */
  alarmActions?: pulumi.Input<string>[];
}

/**
 * The cache Lambda: an inline callback serialized by Pulumi (aws.lambda.CallbackFunction) in the
 * private subnets, answering from memcached or the upstream (lazy loading). Creates its own
 * security group, least-privilege role and log group with retention.
 */
export class CacheFunction extends pulumi.ComponentResource {
  readonly functionName: pulumi.Output<string>;
  readonly functionArn: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;
  readonly roleArn: pulumi.Output<string>;
  readonly logGroupName: pulumi.Output<string>;

  constructor(name: string, args: CacheFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("serverless-cache:functions:CacheFunction", name, {}, opts);
    const timeoutSeconds = args.timeoutSeconds ?? 10;
    const upstreamTimeoutMs = args.upstreamTimeoutMs ?? 3000;
    if (timeoutSeconds < 1 || timeoutSeconds > 900) {
      throw new Error(`CacheFunction ${name}: timeoutSeconds ${timeoutSeconds} must be from 1 to 900`);
    }
    if (upstreamTimeoutMs > timeoutSeconds * 1000 - 1000) {
      throw new Error(`CacheFunction ${name}: upstreamTimeoutMs ${upstreamTimeoutMs} must be at least 1000 ms below the ${timeoutSeconds} s timeout`);
    }
    const upstream = new URL(args.upstreamUrl);
    const upstreamPort = Number(upstream.port || (upstream.protocol === "https:" ? 443 : 80));
    const child = { parent: this };

    // Egress only where the function must go: memcached (by security group) and the upstream's port.
    const securityGroup = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: `Lambda ${name}: memcached and upstream egress only`,
      tags: { Name: `${name}-lambda` },
    }, child);
    new aws.vpc.SecurityGroupEgressRule(`${name}-to-memcached`, {
      securityGroupId: securityGroup.id,
      referencedSecurityGroupId: args.memcachedSecurityGroupId,
      ipProtocol: "tcp",
      fromPort: MEMCACHED_PORT,
      toPort: MEMCACHED_PORT,
      description: "memcached",
    }, child);
    new aws.vpc.SecurityGroupEgressRule(`${name}-to-upstream`, {
      securityGroupId: securityGroup.id,
      cidrIpv4: "0.0.0.0/0",
      ipProtocol: "tcp",
      fromPort: upstreamPort,
      toPort: upstreamPort,
      description: `upstream ${upstream.host} through NAT`,
    }, child);

    const role = new aws.iam.Role(`${name}-role`, {
      assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" }),
      description: `Execution role of the ${name} cache Lambda`,
    }, child);
    // ENI management for VPC functions + writing its logs; nothing else.
    const vpcAccess = new aws.iam.RolePolicyAttachment(`${name}-vpc-access`, {
      role: role.name,
      policyArn: aws.iam.ManagedPolicy.AWSLambdaVPCAccessExecutionRole,
    }, child);

    const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
      retentionInDays: args.logRetentionDays ?? 14,
    }, child);

    const fn = new aws.lambda.CallbackFunction(`${name}`, {
      description: "Two-tier cached proxy for the upstream API (serialized by Pulumi)",
      role,
      runtime: aws.lambda.Runtime.NodeJS22dX,
      architectures: ["arm64"],
      timeout: timeoutSeconds,
      memorySize: args.memorySize ?? 512,
      reservedConcurrentExecutions: args.reservedConcurrency ?? 20,
      vpcConfig: { subnetIds: args.subnetIds, securityGroupIds: [securityGroup.id] },
      // Powertools Logger: warnings and errors only (the level Lambda passes it); EMF metrics are not filtered.
      loggingConfig: { logFormat: "JSON", logGroup: logGroup.name, ...lambdaLogLevels("WARN") },
      environment: {
        variables: {
          MEMCACHED_SERVERS: pulumi.output(args.memcachedNodes).apply((nodes) => nodes.join(",")),
          MEMCACHED_CONFIG_ENDPOINT: args.memcachedConfigurationEndpoint,
          UPSTREAM_URL: args.upstreamUrl,
          UPSTREAM_TIMEOUT_MS: String(upstreamTimeoutMs),
          CACHE_TTL_SECONDS: String(args.ttlSeconds ?? 300),
        },
      },
      // Runs once per execution environment (cold start): the memcached client lives as long as it.
      callbackFactory: () => createCacheHandler(settingsFromEnv(process.env), powertoolsTelemetry()),
      codePathOptions: lambdaCodePathOptions({ uses: ["memjs", "lru-cache", "got", "@aws-lambda-powertools/logger", "@aws-lambda-powertools/metrics"] }),
    // ENI permissions before the function is created, and until after it is gone (its ENIs go with it).
    }, { parent: this, dependsOn: [logGroup, vpcAccess] });

    p99DurationAlarm(name, fn.name, timeoutSeconds, child, args.alarmActions ?? []);

    this.functionName = fn.name;
    this.functionArn = fn.arn;
    this.securityGroupId = securityGroup.id;
    this.roleArn = role.arn;
    this.logGroupName = logGroup.name;
    this.registerOutputs({
      functionName: this.functionName,
      functionArn: this.functionArn,
      securityGroupId: this.securityGroupId,
      roleArn: this.roleArn,
      logGroupName: this.logGroupName,
    });
  }
}
