import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { hybridEntry } from "../functions/platform/entry";
import { RUNTIME_ENV } from "../functions/platform/env";
import { HEALTH_PATH } from "../functions/platform/http";
import type { AppFactory } from "../functions/platform/types";
import { createFailoverHandlerFromEnv } from "../functions/failover/shell";
import { failoverIamStatements } from "../functions/failover/iam";
import { cacheEntryKeyParameter, readParameterPolicy } from "./CacheFunction";
import { p99DurationAlarm } from "./lambdaAlarms";
import { LAMBDA_LOG_LEVELS } from "./lambdaDefaults";
import { installedPackageOf, lambdaCodePathOptions, writeContainerContext } from "./lambdaPackaging";
import { MEMCACHED_PORT, legacyClientRuleName } from "./MemcachedCluster";

/** Port the container server listens on (the Fargate target group's port). */
export const CONTAINER_PORT = 8080;
/** One summed metric of a metric-math alarm (an input to its expression, not returned). */
function sumOf(id: string, namespace: string, metricName: string, dimensions: Record<string, pulumi.Input<string>>, period: number): aws.types.input.cloudwatch.MetricAlarmMetricQuery {
  return { id, returnData: false, metric: { namespace, metricName, dimensions, period, stat: "Sum" } };
}

/** The route the Fargate target group's health check uses: answered by the platform before any app. */
export { HEALTH_PATH };

/**
 * The npm packages the platform's runtime code loads (functions/platform + functions/cache): the
 * cache (memjs, lru-cache), the large-response path (the S3 client and presigner, loaded lazily),
 * the container server's Node adapter (@hono/node-server, loaded only in the container) and hono,
 * which that adapter requires as a peer dependency (peers are not followed by the packaging, which
 * walks `dependencies`). `appPackages` are added.
 */
export const PLATFORM_PACKAGES = ["memjs", "lru-cache", "@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner", "@hono/node-server", "hono"];

/**
 * Variables the component sets for both runtimes: `appEnvironment` may not set them (the platform
 * reads them; a clash would silently change the platform's behaviour).
 */
export const PLATFORM_ENVIRONMENT = [
  "CACHE_MAC_KEY_PARAMETER", "MEMCACHED_CONFIG_ENDPOINT", "MEMCACHED_SERVERS", "MEMCACHED_TLS", "UPSTREAM_URL",
  "UPSTREAM_TIMEOUT_MS", "CACHE_TTL_SECONDS", "LARGE_RESPONSE_BUCKET", "LARGE_RESPONSE_LOCATION_PREFIX", "API_BASE_PATH",
  "PORT", RUNTIME_ENV,
];

/** The generic Dockerfile copied into every generated build context. */
export const GENERIC_DOCKERFILE = path.join(__dirname, "..", "Dockerfile");

/**
 * What the service needs from a memcached cluster: plain data (a MemcachedCluster fits, and so does a
 * literal for a cluster managed elsewhere). The service admits its two security groups on the
 * cluster's security group itself.
 */
export interface MemcachedAccess {
  /** `host:port` of the configuration endpoint (auto discovery). */
  configurationEndpoint: pulumi.Input<string>;
  /** `host:port` of every node (static fallback of discovery). */
  nodeEndpoints: pulumi.Input<string[]>;
  /** The cluster's security group: the service adds an ingress rule on it for each of its runtimes. */
  securityGroupId: pulumi.Input<string>;
  /**
   * The cluster speaks only TLS (MemcachedCluster `transitEncryption`): both runtimes then set
   * MEMCACHED_TLS=on. Take it from the cluster object, so the clients cannot drift from the cluster.
   * @default false
   */
  transitEncryption?: boolean;
  /** TCP port of the nodes. @default 11211 */
  port?: number;
  /**
   * The cluster component's URN and name, for stacks deployed before the service created its own
   * ingress rules: the rules were then the cluster's children named `<cluster>-from-<service>-lambda`
   * and `-tasks`. Given both, the new rules alias those, so `pulumi up` moves them in the state
   * instead of replacing them (a replacement would drop memcached traffic for a moment). Optional:
   * without them new stacks are the same.
   */
  urn?: pulumi.Input<string>;
  /** See `urn`. */
  name?: string;
}

export interface HybridLambdaFargateServiceArgs {
  vpcId: pulumi.Input<string>;
  /** The VPC's CIDR: an internal ALB admits HTTP only from inside it. */
  vpcCidrBlock: pulumi.Input<string>;
  /** Private subnets: Lambda ENIs, Fargate tasks (no public IPs) and an internal ALB go here. */
  privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Public subnets: used only for an internet-facing ALB. */
  publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** The memcached cluster both runtimes read through; the service admits them into its security group. */
  memcached: MemcachedAccess;
  /**
   * The app: a factory `(ctx) => ({ fetch(request, info) })` (functions/platform/types.ts), e.g. a Hono
   * app's `fetch`, or a hand-written one. It runs once per Lambda execution environment and per
   * container process; `ctx` gives the two-tier cache, the logger, the runtime and the environment.
   * Serialized once (Pulumi's closure serializer): the Lambda archive and the container image run
   * the same `__index.js`. Required.
   */
  app: AppFactory;
  /**
   * The app's own variables, set in both runtimes (Lambda environment, task definition). The
   * platform's variables (PLATFORM_ENVIRONMENT) cannot be set here.
   * @default {}
   */
  appEnvironment?: Record<string, pulumi.Input<string>>;
  /**
   * The npm packages the app's code loads at run time (by name, e.g. ["hono", "got"]), added to the
   * platform's own (PLATFORM_PACKAGES): each must be in the `dependencies` of the program's
   * package.json (the nearest above the working directory; devDependencies are never packaged). The
   * Lambda archive and the container image hold exactly these and their run-time dependencies. Pure
   * JavaScript only: one context serves arm64 and x86_64, nothing is compiled or installed in the image.
   * @default []
   */
  appPackages?: string[];
  /**
   * Upstream base URL the app calls: its port is opened in both runtimes' egress rules, and it is set
   * as UPSTREAM_URL for the app.
   */
  upstreamUrl: string;
  /**
   * A path prefix the front door puts before every route, which both runtimes strip before routing:
   * behind CachedPrivateApi this is `backendBasePath(stageName)` ("/dev"), because API Gateway sends the
   * stage in the path over a private integration. Requests without it (the ALB called directly, the
   * health checks) are served unchanged.
   * @default none
   */
  basePath?: string;
  /**
   * Where a client is sent for a response too large for the ALB (over 1 MB from the Lambda runtime):
   * a path prefix of the front door that serves the bucket (CachedPrivateApi with
   * `backend.largeResponseBucket`, e.g. "/dev/_large/"). Without it the Lambda answers with a presigned
   * S3 URL, which dies with the Lambda's credentials and needs a route to S3 from the client.
   * @default none (presigned URLs)
   */
  largeResponseLocationPrefix?: string;
  /**
   * Where every alarm of the service sends ALARM and OK notifications (SNS topic ARNs). The failover
   * alarms also drive the failover Lambda through EventBridge either way.
   * @default [] (alarms only visible in the console)
   */
  alarmActions?: pulumi.Input<string>[];
  /**
   * Default freshness of cached entries, seconds (CACHE_TTL_SECONDS, read by the platform's cache and
   * by apps that want it).
   * @default 300
   */
  cacheTtlSeconds?: number;
  /**
   * Longest upstream load, ms (UPSTREAM_TIMEOUT_MS: the cache's loader timeout, also bounded by the
   * request's deadline; apps read it too).
   * @default 3000
   */
  upstreamTimeoutMs?: number;
  lambda?: {
    /**
     * Reserved concurrency: the cap at which Lambda throttles and failover to Fargate starts.
     * Also a hard cost ceiling.
     * @default 10
     */
    reservedConcurrency?: number;
    /** @default 512 */
    memorySize?: number;
    /**
     * Timeout in seconds, 1 to 900 (config.ts caps it at the project maximum of 60).
     * @default 10
     */
    timeoutSeconds?: number;
    /**
     * Provisioned concurrency (prod option). When > 0 each deploy publishes a version, a `live`
     * alias points at it with this many pre-initialised environments, and the ALB targets the
     * alias: no cold starts up to that concurrency. Billed per hour even when idle. Must not exceed
     * `reservedConcurrency`.
     * @default 0 (off: the ALB targets $LATEST)
     */
    provisionedConcurrency?: number;
  };
  fargate?: {
    /**
     * Task CPU units (256, 512, 1024, ...). Must form a valid pair with `memory` (checked by config.ts).
     * @default 256
     */
    cpu?: number;
    /** @default 512 */
    memory?: number;
    /**
     * Tasks in normal operation. 0 = no standby cost (failover starts cold: ~1 minute to healthy);
     * 1+ = warm standby.
     * @default 0
     */
    baselineCount?: number;
    /**
     * Tasks while failed over.
     * @default 2
     */
    failoverCount?: number;
    /**
     * CPU architecture of the tasks and of the image build. ARM64 (Graviton) is ~20% cheaper; building it
     * on an x86_64 machine needs QEMU and buildx (docs/workflows.md). Fargate ARM64 is not offered in
     * every AZ (us-east-1: not use1-az3), which MultiAzNetwork's zone choice avoids.
     * @default "ARM64"
     */
    architecture?: "ARM64" | "X86_64";
  };
  failover?: {
    /**
     * Every alarm must be OK this long, and the Fargate target group must have served no request
     * for this long, before Fargate is scaled back to its baseline.
     * @default 300
     */
    cooldownSeconds?: number;
    /**
     * Every alarm must be OK at least this long before weight moves back to Lambda. Failback also
     * needs the demand rule below (`failbackDemandFraction` for `failbackWindowSeconds`): Lambda's
     * own alarms clear as soon as traffic has left it, so they never decide a failback alone.
     * Must not exceed `cooldownSeconds`.
     * @default half of cooldownSeconds
     */
    shiftBackDelaySeconds?: number;
    /**
     * Failback only while the concurrency Lambda would need for the Fargate target group's traffic
     * (RequestCount per second × TargetResponseTime, Little's law) stays below this fraction of
     * `lambda.reservedConcurrency`. From 0.05 to 0.8: well below the 90 % concurrency alarm that
     * starts a failover, so a failback does not run into the next failover.
     * @default 0.5
     */
    failbackDemandFraction?: number;
    /**
     * How long the demand must have stayed below the threshold, in seconds (whole minutes, 60 to
     * 3600). The window ends `demandLagSeconds` ago and must start after the last alarm change.
     * @default 600
     */
    failbackWindowSeconds?: number;
    /**
     * How late CloudWatch reports an ALB minute, seconds (60 to 900): newer minutes are not yet
     * taken as final (a missing one is not read as "no requests").
     * @default 180
     */
    demandLagSeconds?: number;
    /**
     * Floor of the response time in Little's law, seconds (0 to 10): a Lambda invocation costs more
     * than a 1 ms Fargate cache hit. Set it near the API Lambda's measured median Duration.
     * @default 0.01
     */
    minResponseTimeSeconds?: number;
  };
  alb?: {
    /**
     * false: internal ALB in the private subnets, HTTP 80 from the VPC CIDR only.
     * true: internet-facing in the public subnets, HTTPS 443 with `certificateArn`, HTTP 80 redirects.
     * @default false
     */
    internetFacing?: boolean;
    /** ACM certificate for the HTTPS listener (required when internetFacing). */
    certificateArn?: pulumi.Input<string>;
    /**
     * Idle timeout of the ALB, seconds.
     * @default 30
     */
    idleTimeoutSeconds?: number;
    /**
     * Internal ALB only: admit HTTP from the whole VPC CIDR. Set false when a front door (CachedPrivateApi,
     * which admits its VPC link's security group itself) is the only way in: otherwise any workload in the
     * VPC can bypass the API's throttling, cache and authorization and drive the Lambda into failover.
     * @default true
     */
    admitVpcCidr?: boolean;
  };
  /**
   * CloudWatch Logs retention for every log group of the service.
   * @default 14
   */
  logRetentionDays?: number;
  /**
   * Where the container's Docker build context is generated (serialized app, node_modules, the
   * generic Dockerfile): `<dir>/<stack>/<name>`. Keep it out of version control.
   * @default ".serverless-cache/containers" below the working directory (the program's directory)
   */
  containerContextRoot?: string;
}

/**
 * One app, two runtimes, one ALB: the app (`args.app`, behind the platform's adapters) runs as a Lambda target and as an ECS Fargate service
 * behind the same listener, which forwards with weights (start: Lambda 1, Fargate 0). Alarms on
 * Lambda throttling feed an EventBridge rule (these alarms only) and a 1-minute schedule, both
 * invoking a failover Lambda that scales Fargate up, moves weight only to healthy targets, and
 * moves back once the demand on Fargate (ALB metrics of its target group) has stayed below half of
 * Lambda's reserved concurrency for a window. See docs/failover.md.
 */
export class HybridLambdaFargateService extends pulumi.ComponentResource {
  readonly albDnsName: pulumi.Output<string>;
  readonly albArn: pulumi.Output<string>;
  readonly albSecurityGroupId: pulumi.Output<string>;
  readonly listenerArn: pulumi.Output<string>;
  readonly lambdaTargetGroupArn: pulumi.Output<string>;
  readonly fargateTargetGroupArn: pulumi.Output<string>;
  readonly clusterName: pulumi.Output<string>;
  readonly serviceName: pulumi.Output<string>;
  readonly apiFunctionName: pulumi.Output<string>;
  /**
   * Managed policy: `lambda:InvokeFunction` on the API function, nothing else. Attach it to operators who
   * run `npm run invalidate` (its first step sends the function a control event that empties memcached).
   */
  readonly cacheControlPolicyArn: pulumi.Output<string>;
  readonly failoverFunctionName: pulumi.Output<string>;
  readonly largeResponseBucketName: pulumi.Output<string>;
  readonly largeResponseBucketArn: pulumi.Output<string>;
  /** Names of every alarm of the service (failover triggers and notifications). */
  readonly alarmNames: pulumi.Output<string[]>;

  constructor(name: string, args: HybridLambdaFargateServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("serverless-cache:service:HybridLambdaFargateService", name, {}, opts);
    const child = { parent: this };
    const reservedConcurrency = args.lambda?.reservedConcurrency ?? 10;
    const lambdaTimeout = args.lambda?.timeoutSeconds ?? 10;
    const provisioned = args.lambda?.provisionedConcurrency ?? 0;
    if (provisioned < 0 || provisioned > reservedConcurrency) {
      throw new Error(`HybridLambdaFargateService ${name}: lambda.provisionedConcurrency ${provisioned} must be from 0 to reservedConcurrency (${reservedConcurrency})`);
    }
    const baselineCount = args.fargate?.baselineCount ?? 0;
    const failoverCount = args.fargate?.failoverCount ?? 2;
    const retention = args.logRetentionDays ?? 14;
    const cooldownSeconds = args.failover?.cooldownSeconds ?? 300;
    const shiftBackDelaySeconds = args.failover?.shiftBackDelaySeconds ?? Math.floor(cooldownSeconds / 2);
    if (shiftBackDelaySeconds > cooldownSeconds) {
      throw new Error(`HybridLambdaFargateService ${name}: failover.shiftBackDelaySeconds ${shiftBackDelaySeconds} must not exceed cooldownSeconds ${cooldownSeconds}`);
    }
    const failbackDemandFraction = args.failover?.failbackDemandFraction ?? 0.5;
    const failbackWindowSeconds = args.failover?.failbackWindowSeconds ?? 600;
    const demandLagSeconds = args.failover?.demandLagSeconds ?? 180;
    const minResponseTimeSeconds = args.failover?.minResponseTimeSeconds ?? 0.01;
    // The failover Lambda repairs out-of-range values at run time; a deploy says so instead.
    for (const [key, value, min, max, wholeMinutes] of [
      ["failbackDemandFraction", failbackDemandFraction, 0.05, 0.8, false],
      ["failbackWindowSeconds", failbackWindowSeconds, 60, 3600, true],
      ["demandLagSeconds", demandLagSeconds, 60, 900, false],
      ["minResponseTimeSeconds", minResponseTimeSeconds, 0, 10, false],
    ] as const) {
      if (!(Number.isFinite(value) && value >= min && value <= max) || (wholeMinutes && value % 60 !== 0)) {
        throw new Error(`HybridLambdaFargateService ${name}: failover.${key} ${value} must be from ${min} to ${max}${wholeMinutes ? " in whole minutes" : ""}`);
      }
    }
    const internetFacing = args.alb?.internetFacing ?? false;
    if (internetFacing && !args.alb?.certificateArn) {
      throw new Error(`HybridLambdaFargateService ${name}: alb.certificateArn is required when alb.internetFacing is true`);
    }
    if (lambdaTimeout < 1 || lambdaTimeout > 900) {
      throw new Error(`HybridLambdaFargateService ${name}: lambda.timeoutSeconds ${lambdaTimeout} must be from 1 to 900`);
    }
    if (failoverCount < Math.max(1, baselineCount)) {
      throw new Error(`HybridLambdaFargateService ${name}: fargate.failoverCount ${failoverCount} must be >= max(1, baselineCount)`);
    }
    const architecture = args.fargate?.architecture ?? "ARM64";
    if (architecture !== "ARM64" && architecture !== "X86_64") {
      throw new Error(`HybridLambdaFargateService ${name}: fargate.architecture ${JSON.stringify(architecture)} must be "ARM64" or "X86_64"`);
    }
    const alarmActions = args.alarmActions ?? [];
    const upstream = new URL(args.upstreamUrl);
    const upstreamPort = Number(upstream.port || (upstream.protocol === "https:" ? 443 : 80));
    const region = aws.getRegionOutput({}, child).region;

    // ---- Security groups: ALB -> tasks:8080 only; both runtimes -> memcached:11211 + upstream + HTTPS.
    const albSg = new aws.ec2.SecurityGroup(`${name}-alb-sg`, {
      vpcId: args.vpcId,
      description: `ALB of ${name}`,
      tags: { Name: `${name}-alb` },
    }, child);
    const listenerPorts = internetFacing ? [80, 443] : (args.alb?.admitVpcCidr ?? true) ? [80] : [];
    for (const port of listenerPorts) {
      new aws.vpc.SecurityGroupIngressRule(`${name}-alb-in-${port}`, {
        securityGroupId: albSg.id,
        ...(internetFacing ? { cidrIpv4: "0.0.0.0/0" } : { cidrIpv4: args.vpcCidrBlock }),
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        description: internetFacing ? `public ${port === 80 ? "HTTP (redirects)" : "HTTPS"}` : "HTTP from inside the VPC",
      }, child);
    }
    const taskSg = new aws.ec2.SecurityGroup(`${name}-task-sg`, {
      vpcId: args.vpcId,
      description: `Fargate tasks of ${name}: ${CONTAINER_PORT} from the ALB only`,
      tags: { Name: `${name}-tasks` },
    }, child);
    new aws.vpc.SecurityGroupEgressRule(`${name}-alb-to-tasks`, {
      securityGroupId: albSg.id,
      referencedSecurityGroupId: taskSg.id,
      ipProtocol: "tcp",
      fromPort: CONTAINER_PORT,
      toPort: CONTAINER_PORT,
      description: "ALB to Fargate tasks",
    }, child);
    new aws.vpc.SecurityGroupIngressRule(`${name}-tasks-from-alb`, {
      securityGroupId: taskSg.id,
      referencedSecurityGroupId: albSg.id,
      ipProtocol: "tcp",
      fromPort: CONTAINER_PORT,
      toPort: CONTAINER_PORT,
      description: "from the ALB only",
    }, child);
    const lambdaSg = new aws.ec2.SecurityGroup(`${name}-lambda-sg`, {
      vpcId: args.vpcId,
      description: `API Lambda of ${name}: egress to memcached, upstream, AWS APIs`,
      tags: { Name: `${name}-lambda` },
    }, child);
    const egressPorts = Array.from(new Set([upstreamPort, 443]));
    const memcachedPort = args.memcached.port ?? MEMCACHED_PORT;
    for (const [who, sg] of [["tasks", taskSg], ["lambda", lambdaSg]] as const) {
      new aws.vpc.SecurityGroupEgressRule(`${name}-${who}-to-memcached`, {
        securityGroupId: sg.id,
        referencedSecurityGroupId: args.memcached.securityGroupId,
        ipProtocol: "tcp",
        fromPort: memcachedPort,
        toPort: memcachedPort,
        description: "memcached",
      }, child);
      for (const port of egressPorts) {
        new aws.vpc.SecurityGroupEgressRule(`${name}-${who}-out-${port}`, {
          securityGroupId: sg.id,
          cidrIpv4: "0.0.0.0/0",
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          description: port === upstreamPort ? `upstream ${upstream.host} and AWS APIs` : "AWS APIs (S3, ECR, logs)",
        }, child);
      }
      // Admitted on the cluster's security group by a rule of this service (formerly the cluster's
      // allowFrom: same description, and aliased to that rule when the cluster's urn and name are given).
      const client = `${name}-${who}`;
      const legacy = args.memcached.urn !== undefined && args.memcached.name !== undefined
        ? [{ name: legacyClientRuleName(args.memcached.name, client), parent: args.memcached.urn }]
        : [];
      new aws.vpc.SecurityGroupIngressRule(`${name}-memcached-from-${who}`, {
        securityGroupId: args.memcached.securityGroupId,
        referencedSecurityGroupId: sg.id,
        ipProtocol: "tcp",
        fromPort: memcachedPort,
        toPort: memcachedPort,
        description: `memcached from ${client}`,
      }, { parent: this, aliases: legacy });
    }

    // ---- Large responses: the ALB caps a Lambda response at 1 MB; bigger bodies go to S3 + presigned redirect.
    const bucket = new aws.s3.Bucket(`${name}-large`, { forceDestroy: true }, child);
    // Presigned URLs and the SDK use HTTPS; nothing may read or write these bodies in clear.
    new aws.s3.BucketPolicy(`${name}-large`, {
      bucket: bucket.id,
      policy: bucket.arn.apply((arn) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: [arn, `${arn}/*`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }],
      })),
    }, child);
    new aws.s3.BucketPublicAccessBlock(`${name}-large`, {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    }, child);
    new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-large`, {
      bucket: bucket.id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
    }, child);
    new aws.s3.BucketOwnershipControls(`${name}-large`, {
      bucket: bucket.id,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    }, child);
    new aws.s3.BucketLifecycleConfiguration(`${name}-large`, {
      bucket: bucket.id,
      rules: [{
        id: "expire-large-responses",
        status: "Enabled",
        filter: { prefix: "" },
        expiration: { days: 1 },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
      }],
    }, child);
    const bucketObjectsPolicy = (role: aws.iam.Role, who: string): aws.iam.RolePolicy =>
      new aws.iam.RolePolicy(`${name}-${who}-large-responses`, {
        role: role.id,
        policy: bucket.arn.apply((arn) => JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Sid: "LargeResponses", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: `${arn}/*` }],
        })),
      }, child);

    // The keys authenticating the app's memcached entries (namespace "api"), shared by both runtimes:
    // read by the API Lambda's and the task's roles only (see components/CacheFunction.ts).
    const entryKeys = cacheEntryKeyParameter(name, `the API of ${name} (Lambda and Fargate)`, this);

    const clash = Object.keys(args.appEnvironment ?? {}).filter((k) => PLATFORM_ENVIRONMENT.includes(k) || k.startsWith("AWS_"));
    if (clash.length > 0) {
      throw new Error(`HybridLambdaFargateService ${name}: appEnvironment may not set ${clash.join(", ")} (set by the platform)`);
    }
    const appEnvironment: Record<string, pulumi.Input<string>> = {
      ...args.appEnvironment,
      // The name, not the keys: each runtime reads them with its own role at cold start.
      CACHE_MAC_KEY_PARAMETER: entryKeys.name,
      MEMCACHED_CONFIG_ENDPOINT: args.memcached.configurationEndpoint,
      MEMCACHED_SERVERS: pulumi.output(args.memcached.nodeEndpoints).apply((n) => n.join(",")),
      UPSTREAM_URL: args.upstreamUrl,
      UPSTREAM_TIMEOUT_MS: String(args.upstreamTimeoutMs ?? 3000),
      CACHE_TTL_SECONDS: String(args.cacheTtlSeconds ?? 300),
      LARGE_RESPONSE_BUCKET: bucket.bucket,
      ...(args.memcached.transitEncryption ? { MEMCACHED_TLS: "on" } : {}),
      ...(args.basePath ? { API_BASE_PATH: args.basePath } : {}),
      ...(args.largeResponseLocationPrefix ? { LARGE_RESPONSE_LOCATION_PREFIX: args.largeResponseLocationPrefix } : {}),
    };

    // ---- One artifact for both runtimes: the platform entry around the app, serialized once by the
    // Lambda (CallbackFunction) and once, identically, into the container's build context.
    const entry = hybridEntry(args.app);
    // Installed as a package by another program, this code is `require`d from node_modules by name: ship it.
    const self = installedPackageOf(__dirname);
    const packages = Array.from(new Set([...PLATFORM_PACKAGES, ...(args.appPackages ?? []), ...(self ? [self] : [])])).sort();
    const codePathOptions = (): pulumi.runtime.CodePathOptions => lambdaCodePathOptions({ uses: packages });

    // ---- The Lambda runtime of the app.
    const apiRole = new aws.iam.Role(`${name}-api-role`, {
      assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" }),
    }, child);
    const apiVpcAccess = new aws.iam.RolePolicyAttachment(`${name}-api-vpc`, {
      role: apiRole.name,
      policyArn: aws.iam.ManagedPolicy.AWSLambdaVPCAccessExecutionRole,
    }, child);
    bucketObjectsPolicy(apiRole, "api");
    const apiEntryKeys = readParameterPolicy(`${name}-api-entry-keys`, apiRole, entryKeys, this);
    const apiLogs = new aws.cloudwatch.LogGroup(`${name}-api-logs`, { retentionInDays: retention }, child);
    const apiFunction = new aws.lambda.CallbackFunction(`${name}-api`, {
      description: "API (Lambda runtime of the hybrid service, ALB target)",
      role: apiRole,
      runtime: aws.lambda.Runtime.NodeJS22dX,
      architectures: ["arm64"],
      timeout: lambdaTimeout,
      memorySize: args.lambda?.memorySize ?? 512,
      reservedConcurrentExecutions: reservedConcurrency,
      publish: provisioned > 0,
      vpcConfig: { subnetIds: args.privateSubnetIds, securityGroupIds: [lambdaSg.id] },
      loggingConfig: { logFormat: "JSON", logGroup: apiLogs.name, ...LAMBDA_LOG_LEVELS },
      environment: { variables: appEnvironment },
      callbackFactory: entry,
      codePathOptions: codePathOptions(),
    // The ENI permissions must exist before the function (create) and outlive it (destroy: its ENIs are
    // released only with them).
    }, { parent: this, dependsOn: [apiLogs, apiVpcAccess, apiEntryKeys] });

    // With provisioned concurrency the ALB must target the alias that carries it, not $LATEST.
    const liveAlias = provisioned > 0
      ? new aws.lambda.Alias(`${name}-api-live`, {
        name: "live",
        functionName: apiFunction.name,
        functionVersion: apiFunction.version,
        description: "Published version with provisioned concurrency; the ALB target",
      }, child)
      : undefined;
    if (liveAlias) {
      new aws.lambda.ProvisionedConcurrencyConfig(`${name}-api-live`, {
        functionName: apiFunction.name,
        qualifier: liveAlias.name,
        provisionedConcurrentExecutions: provisioned,
      }, child);
    }
    const apiDurationAlarm = p99DurationAlarm(`${name}-api`, apiFunction.name, lambdaTimeout, child, alarmActions);

    const lambdaTargetGroup = new aws.lb.TargetGroup(`${name}-fn`, {
      targetType: "lambda",
      lambdaMultiValueHeadersEnabled: true,
      // Off on purpose: each Lambda health check is a billed invocation, and Lambda is judged by its alarms.
      healthCheck: { enabled: false },
    }, child);
    const albInvoke = new aws.lambda.Permission(`${name}-alb-invoke`, {
      action: "lambda:InvokeFunction",
      function: apiFunction.name,
      principal: "elasticloadbalancing.amazonaws.com",
      sourceArn: lambdaTargetGroup.arn,
      qualifier: liveAlias?.name,
    }, child);
    new aws.lb.TargetGroupAttachment(`${name}-fn`, {
      targetGroupArn: lambdaTargetGroup.arn,
      targetId: liveAlias ? liveAlias.arn : apiFunction.arn,
    }, { parent: this, dependsOn: [albInvoke] });

    // ---- The container runtime of the same app.
    const repository = new aws.ecr.Repository(`${name}-repo`, {
      imageScanningConfiguration: { scanOnPush: true },
      imageTagMutability: "MUTABLE",
      forceDelete: true,
    }, child);
    new aws.ecr.LifecyclePolicy(`${name}-repo`, {
      repository: repository.name,
      policy: JSON.stringify({
        rules: [{ rulePriority: 1, description: "keep the last 10 images", selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 }, action: { type: "expire" } }],
      }),
    }, child);
    // The build context is generated: the Lambda's __index.js (same factory, same serializer options),
    // the Lambda's node_modules, the generic Dockerfile. Nothing is compiled or installed in the image.
    const contextRoot = path.resolve(args.containerContextRoot ?? path.join(process.cwd(), ".serverless-cache", "containers"));
    const containerContext = pulumi.output(writeContainerContext({
      factory: entry,
      codePathOptions: codePathOptions(),
      dir: path.join(contextRoot, pulumi.getStack(), name),
      dockerfile: GENERIC_DOCKERFILE,
    }));
    const image = new awsx.ecr.Image(`${name}-image`, {
      repositoryUrl: repository.repositoryUrl,
      context: containerContext.dir,
      dockerfile: containerContext.dockerfile,
      platform: architecture === "ARM64" ? "linux/arm64" : "linux/amd64",
    }, child);

    const cluster = new aws.ecs.Cluster(`${name}`, {
      settings: [{ name: "containerInsights", value: "enabled" }],
    }, child);
    const taskLogs = new aws.cloudwatch.LogGroup(`${name}-task-logs`, { retentionInDays: retention }, child);
    const executionRole = new aws.iam.Role(`${name}-exec-role`, {
      assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "ecs-tasks.amazonaws.com" }),
    }, child);
    new aws.iam.RolePolicyAttachment(`${name}-exec`, {
      role: executionRole.name,
      policyArn: aws.iam.ManagedPolicy.AmazonECSTaskExecutionRolePolicy,
    }, child);
    const taskRole = new aws.iam.Role(`${name}-task-role`, {
      assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "ecs-tasks.amazonaws.com" }),
    }, child);
    bucketObjectsPolicy(taskRole, "task");
    readParameterPolicy(`${name}-task-entry-keys`, taskRole, entryKeys, this);

    const containerName = "api";
    const taskDefinition = new aws.ecs.TaskDefinition(`${name}`, {
      family: `${name}-api`,
      cpu: String(args.fargate?.cpu ?? 256),
      memory: String(args.fargate?.memory ?? 512),
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: architecture },
      executionRoleArn: executionRole.arn,
      taskRoleArn: taskRole.arn,
      containerDefinitions: pulumi
        .all([image.imageUri, taskLogs.name, region, pulumi.output(appEnvironment)])
        .apply(([imageUri, logGroup, awsRegion, env]) => JSON.stringify([{
          name: containerName,
          image: imageUri,
          essential: true,
          portMappings: [{ containerPort: CONTAINER_PORT, protocol: "tcp" }],
          // The image's Dockerfile sets SERVERLESS_CACHE_RUNTIME too; here it is explicit for the task.
          environment: [...Object.entries(env).map(([k, v]) => ({ name: k, value: v })), { name: "PORT", value: String(CONTAINER_PORT) }, { name: RUNTIME_ENV, value: "container" }],
          // No container health check: a `node -e fetch(...)` probe starts a second Node process every
          // interval on a 0.25 vCPU task, and under the very load that caused a failover its timeouts
          // would get healthy tasks replaced. The target group's HTTP check on /health (ECS stops tasks
          // that fail it) is the one health signal.
          stopTimeout: 20,
          readonlyRootFilesystem: true,
          logConfiguration: {
            logDriver: "awslogs",
            options: { "awslogs-group": logGroup, "awslogs-region": awsRegion, "awslogs-stream-prefix": "api" },
          },
        }])),
    }, child);

    const fargateTargetGroup = new aws.lb.TargetGroup(`${name}-ecs`, {
      targetType: "ip",
      port: CONTAINER_PORT,
      protocol: "HTTP",
      vpcId: args.vpcId,
      deregistrationDelay: 30,
      healthCheck: {
        enabled: true,
        path: HEALTH_PATH,
        matcher: "200",
        interval: 10,
        timeout: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
    }, child);

    // ---- The ALB: one listener forwarding with weights to both target groups.
    const alb = new aws.lb.LoadBalancer(`${name}`, {
      loadBalancerType: "application",
      internal: !internetFacing,
      subnets: internetFacing ? args.publicSubnetIds : args.privateSubnetIds,
      securityGroups: [albSg.id],
      idleTimeout: args.alb?.idleTimeoutSeconds ?? 30,
      dropInvalidHeaderFields: true,
    }, child);
    const forward: aws.types.input.lb.ListenerDefaultAction = {
      type: "forward",
      forward: {
        targetGroups: [
          { arn: lambdaTargetGroup.arn, weight: 1 },
          { arn: fargateTargetGroup.arn, weight: 0 },
        ],
      },
    };
    // The failover Lambda owns the weights at run time: a `pulumi up` during a failover must not
    // undo them, so the weights (only) are ignored after creation. Deploy with refresh: an ignored
    // value is sent from state. The forward target groups are a set in the provider, where this does
    // not hold when the set changes (a target group added or replaced resets the weights:
    // pulumi-aws#5798, #5772); the failover Lambda then keeps any weights that still give a healthy
    // Fargate traffic until the demand allows the failback (docs/failover.md).
    const ignoreWeights = { parent: this, ignoreChanges: ["defaultActions[0].forward.targetGroups[*].weight"] };
    const listener = internetFacing
      ? new aws.lb.Listener(`${name}-https`, {
        loadBalancerArn: alb.arn,
        port: 443,
        protocol: "HTTPS",
        sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        certificateArn: args.alb?.certificateArn,
        defaultActions: [forward],
      }, ignoreWeights)
      : new aws.lb.Listener(`${name}-http`, {
        loadBalancerArn: alb.arn,
        port: 80,
        protocol: "HTTP",
        defaultActions: [forward],
      }, ignoreWeights);
    if (internetFacing) {
      new aws.lb.Listener(`${name}-redirect`, {
        loadBalancerArn: alb.arn,
        port: 80,
        protocol: "HTTP",
        defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
      }, child);
    }

    const service = new aws.ecs.Service(`${name}`, {
      cluster: cluster.arn,
      taskDefinition: taskDefinition.arn,
      launchType: "FARGATE",
      desiredCount: baselineCount,
      networkConfiguration: { subnets: args.privateSubnetIds, securityGroups: [taskSg.id], assignPublicIp: false },
      loadBalancers: [{ targetGroupArn: fargateTargetGroup.arn, containerName, containerPort: CONTAINER_PORT }],
      healthCheckGracePeriodSeconds: 30,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      propagateTags: "SERVICE",
    }, {
      parent: this,
      dependsOn: [listener],
      // The failover Lambda changes desiredCount at run time; a deploy must not fight it.
      ignoreChanges: ["desiredCount"],
    });

    // ---- Alarms on Lambda's limits, and the failover Lambda they (and a schedule) invoke. They start a
    // failover; they cannot end one (no traffic on Lambda, no throttles): the failback reads the
    // Fargate target group's demand instead (GetMetricData, see docs/failover.md).
    const throttles = new aws.cloudwatch.MetricAlarm(`${name}-throttles`, {
      alarmDescription: `Lambda ${name}-api is throttled: shift traffic to Fargate (traffic returns when the demand on Fargate stays below ${Math.round(failbackDemandFraction * 100)}% of the reserved concurrency for ${failbackWindowSeconds / 60} minutes)`,
      namespace: "AWS/Lambda",
      metricName: "Throttles",
      dimensions: { FunctionName: apiFunction.name },
      statistic: "Sum",
      period: 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      alarmActions,
      okActions: alarmActions,
    }, child);
    const nearCap = Math.max(1, Math.floor(reservedConcurrency * 0.9));
    const concurrency = new aws.cloudwatch.MetricAlarm(`${name}-concurrency`, {
      alarmDescription: `Lambda ${name}-api concurrency at >= 90% of its reserved ${reservedConcurrency}: shift traffic to Fargate`,
      namespace: "AWS/Lambda",
      metricName: "ConcurrentExecutions",
      dimensions: { FunctionName: apiFunction.name },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      threshold: nearCap,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      alarmActions,
      okActions: alarmActions,
    }, child);
    const alarms = [throttles, concurrency];

    // What clients see. The ALB does not retry a throttled Lambda on the other target group: until the
    // failover has moved the weights, throttles reach clients as ALB 502s (HTTPCode_ELB_5XX_Count).
    const elb5xx = new aws.cloudwatch.MetricAlarm(`${name}-elb-5xx`, {
      alarmDescription: `More than 5% of requests to the ALB of ${name} answered 5xx by the load balancer itself (Lambda throttled or failed, no healthy target) in 2 of 3 minutes`,
      comparisonOperator: "GreaterThanThreshold",
      threshold: 5,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: "notBreaching",
      metricQueries: [
        sumOf("errors", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", { LoadBalancer: alb.arnSuffix }, 60),
        sumOf("requests", "AWS/ApplicationELB", "RequestCount", { LoadBalancer: alb.arnSuffix }, 60),
        // RequestCount leaves out requests for which no target could be chosen, and a 5xx count is
        // reported only when non-zero: count both sides with FILL so such 503s still raise the rate.
        { id: "rate", label: "ALB 5xx (%)", returnData: true, expression: "IF(FILL(requests, 0) + FILL(errors, 0) >= 20, 100 * FILL(errors, 0) / (FILL(requests, 0) + FILL(errors, 0)), 0)" },
      ],
      alarmActions,
      okActions: alarmActions,
    }, child);
    const lambdaTargetErrors = new aws.cloudwatch.MetricAlarm(`${name}-lambda-target-errors`, {
      alarmDescription: `The ALB could not use the Lambda target of ${name} (LambdaUserError: permission, malformed or oversized response; LambdaInternalError) 5+ times in 5 minutes`,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 5,
      evaluationPeriods: 1,
      treatMissingData: "notBreaching",
      metricQueries: [
        sumOf("user", "AWS/ApplicationELB", "LambdaUserError", { LoadBalancer: alb.arnSuffix, TargetGroup: lambdaTargetGroup.arnSuffix }, 300),
        sumOf("internal", "AWS/ApplicationELB", "LambdaInternalError", { LoadBalancer: alb.arnSuffix, TargetGroup: lambdaTargetGroup.arnSuffix }, 300),
        { id: "total", label: "Lambda target errors", returnData: true, expression: "user + internal" },
      ],
      alarmActions,
      okActions: alarmActions,
    }, child);

    const failoverRole = new aws.iam.Role(`${name}-failover-role`, {
      assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" }),
    }, child);
    const failoverBasicLogs = new aws.iam.RolePolicyAttachment(`${name}-failover-logs`, {
      role: failoverRole.name,
      policyArn: aws.iam.ManagedPolicy.AWSLambdaBasicExecutionRole,
    }, child);
    new aws.iam.RolePolicy(`${name}-failover`, {
      role: failoverRole.id,
      policy: pulumi
        .all([listener.arn, service.id, pulumi.all(alarms.map((a) => a.arn)), region])
        .apply(([listenerArn, serviceArn, alarmArns, awsRegion]) => JSON.stringify({
          Version: "2012-10-17",
          Statement: failoverIamStatements({ listenerArn, serviceArn, alarmArns, region: awsRegion }),
        })),
    }, child);
    const failoverLogs = new aws.cloudwatch.LogGroup(`${name}-failover-logs`, { retentionInDays: retention }, child);
    const failoverSettings = {
      listenerArn: listener.arn,
      lambdaTargetGroupArn: lambdaTargetGroup.arn,
      fargateTargetGroupArn: fargateTargetGroup.arn,
      cluster: cluster.name,
      service: service.name,
      alarmNames: pulumi.all(alarms.map((a) => a.name)),
    };
    const failoverFunction = new aws.lambda.CallbackFunction(`${name}-failover`, {
      description: "Shifts ALB weight to Fargate on Lambda throttling alarms, and back when the demand fits Lambda",
      role: failoverRole,
      runtime: aws.lambda.Runtime.NodeJS22dX,
      architectures: ["arm64"],
      timeout: 30,
      memorySize: 256,
      // One at a time: two concurrent invocations could interleave observe/apply.
      reservedConcurrentExecutions: 1,
      loggingConfig: { logFormat: "JSON", logGroup: failoverLogs.name, ...LAMBDA_LOG_LEVELS },
      environment: {
        variables: {
          FAILOVER_LISTENER_ARN: failoverSettings.listenerArn,
          FAILOVER_LAMBDA_TG_ARN: failoverSettings.lambdaTargetGroupArn,
          FAILOVER_FARGATE_TG_ARN: failoverSettings.fargateTargetGroupArn,
          FAILOVER_CLUSTER: failoverSettings.cluster,
          FAILOVER_SERVICE: failoverSettings.service,
          FAILOVER_ALARM_NAMES: failoverSettings.alarmNames.apply((n) => n.join(",")),
          FAILOVER_BASELINE_COUNT: String(baselineCount),
          FAILOVER_DESIRED_COUNT: String(failoverCount),
          FAILOVER_COOLDOWN_SECONDS: String(cooldownSeconds),
          FAILOVER_SHIFT_BACK_DELAY_SECONDS: String(shiftBackDelaySeconds),
          // The failback's demand: the Fargate target group's RequestCount and TargetResponseTime
          // (AWS/ApplicationELB, dimensions LoadBalancer + TargetGroup), against the Lambda's cap.
          FAILOVER_ALB_ARN_SUFFIX: alb.arnSuffix,
          FAILOVER_FARGATE_TG_ARN_SUFFIX: fargateTargetGroup.arnSuffix,
          FAILOVER_LAMBDA_RESERVED_CONCURRENCY: String(reservedConcurrency),
          FAILOVER_FAILBACK_DEMAND_FRACTION: String(failbackDemandFraction),
          FAILOVER_FAILBACK_WINDOW_SECONDS: String(failbackWindowSeconds),
          FAILOVER_DEMAND_LAG_SECONDS: String(demandLagSeconds),
          FAILOVER_MIN_RESPONSE_TIME_SECONDS: String(minResponseTimeSeconds),
        },
      },
      callbackFactory: () => createFailoverHandlerFromEnv(process.env),
      codePathOptions: lambdaCodePathOptions({ uses: ["@aws-sdk/client-cloudwatch", "@aws-sdk/client-ecs", "@aws-sdk/client-elastic-load-balancing-v2", ...(self ? [self] : [])] }),
    }, { parent: this, dependsOn: [failoverLogs, failoverBasicLogs] });

    // Every invocation observes afresh, so a stale or retried event is worth nothing: no retries, and an
    // event that waited a minute (throttled behind reserved concurrency 1) is dropped, not run hours late.
    new aws.lambda.FunctionEventInvokeConfig(`${name}-failover`, {
      functionName: failoverFunction.name,
      maximumRetryAttempts: 0,
      maximumEventAgeInSeconds: 60,
    }, child);
    const failoverDurationAlarm = p99DurationAlarm(`${name}-failover`, failoverFunction.name, 30, child, alarmActions);
    // The failover is the safety net: its own failures must page someone. It runs every minute, so
    // errors in 3 of 5 minutes is a persistent problem, not one AWS hiccup.
    const failoverErrors = new aws.cloudwatch.MetricAlarm(`${name}-failover-errors`, {
      alarmDescription: `The failover Lambda of ${name} failed in 3 of the last 5 minutes: failover and failback are not happening`,
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: failoverFunction.name },
      statistic: "Sum",
      period: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      alarmActions,
      okActions: alarmActions,
    }, child);
    // Throttled and dropped events are not Errors: a failover stuck behind reserved concurrency 1, or
    // events older than the 60 s maximum age, would otherwise go unseen.
    const failoverStarved = new aws.cloudwatch.MetricAlarm(`${name}-failover-starved`, {
      alarmDescription: `Events for the failover Lambda of ${name} were throttled or dropped (older than 60 s) in 3 of the last 5 minutes`,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: "notBreaching",
      metricQueries: [
        sumOf("throttles", "AWS/Lambda", "Throttles", { FunctionName: failoverFunction.name }, 60),
        sumOf("dropped", "AWS/Lambda", "AsyncEventsDropped", { FunctionName: failoverFunction.name }, 60),
        { id: "starved", label: "failover events throttled or dropped", returnData: true, expression: "throttles + dropped" },
      ],
      alarmActions,
      okActions: alarmActions,
    }, child);

    const alarmRule = new aws.cloudwatch.EventRule(`${name}-alarms`, {
      description: `State changes of the ${name} throttling alarms (these alarms only)`,
      eventPattern: pulumi.all(alarms.map((a) => a.arn)).apply((arns) => JSON.stringify({
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        resources: arns,
      })),
    }, child);
    const scheduleRule = new aws.cloudwatch.EventRule(`${name}-tick`, {
      description: `Lets the ${name} failover finish multi-step work (scale, wait for health, shift)`,
      scheduleExpression: "rate(1 minute)",
    }, child);
    for (const [ruleName, rule] of [["alarms", alarmRule], ["tick", scheduleRule]] as const) {
      new aws.lambda.Permission(`${name}-failover-${ruleName}`, {
        action: "lambda:InvokeFunction",
        function: failoverFunction.name,
        principal: "events.amazonaws.com",
        sourceArn: rule.arn,
      }, child);
      new aws.cloudwatch.EventTarget(`${name}-failover-${ruleName}`, {
        rule: rule.name,
        arn: failoverFunction.arn,
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 120 },
      }, child);
    }

    this.albDnsName = alb.dnsName;
    this.albArn = alb.arn;
    this.albSecurityGroupId = albSg.id;
    this.listenerArn = listener.arn;
    this.lambdaTargetGroupArn = lambdaTargetGroup.arn;
    this.fargateTargetGroupArn = fargateTargetGroup.arn;
    this.clusterName = cluster.name;
    this.serviceName = service.name;
    this.apiFunctionName = apiFunction.name;
    const cacheControlPolicy = new aws.iam.Policy(`${name}-cache-control`, {
      description: `Send cache control events (invalidate, flush) to the API function of ${name}`,
      policy: apiFunction.arn.apply((arn) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Sid: "InvalidateAppCache", Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: [arn, `${arn}:*`] }],
      })),
    }, child);
    this.cacheControlPolicyArn = cacheControlPolicy.arn;
    this.failoverFunctionName = failoverFunction.name;
    this.largeResponseBucketName = bucket.bucket;
    this.largeResponseBucketArn = bucket.arn;
    this.alarmNames = pulumi.all([...alarms, elb5xx, lambdaTargetErrors, failoverErrors, failoverStarved, apiDurationAlarm, failoverDurationAlarm].map((a) => a.name));
    this.registerOutputs({
      albDnsName: this.albDnsName,
      listenerArn: this.listenerArn,
      lambdaTargetGroupArn: this.lambdaTargetGroupArn,
      fargateTargetGroupArn: this.fargateTargetGroupArn,
      clusterName: this.clusterName,
      serviceName: this.serviceName,
      apiFunctionName: this.apiFunctionName,
      failoverFunctionName: this.failoverFunctionName,
      largeResponseBucketName: this.largeResponseBucketName,
      largeResponseBucketArn: this.largeResponseBucketArn,
      alarmNames: this.alarmNames,
    });
  }
}
