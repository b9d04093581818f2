import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { hybridEntry } from "../functions/platform/entry";
import type { AppFactory } from "../functions/platform/types";
import { cacheEntryKeyParameter } from "./CacheFunction";
import { createClientAlarms, createFailoverTriggers } from "./hybrid/alarms";
import { createContainerRuntime, createFargateService } from "./hybrid/containerRuntime";
import { createFailover } from "./hybrid/failover";
import { createLargeResponseStore } from "./hybrid/largeResponses";
import { createLambdaRuntime } from "./hybrid/lambdaRuntime";
import { createLoadBalancer } from "./hybrid/loadBalancer";
import { appPackaging, runtimeEnvironment } from "./hybrid/platform";
import { createSecurityGroups } from "./hybrid/securityGroups";
import type { MemcachedAccess } from "./memcachedAccess";
import { resolveHybridSettings, type HybridContext } from "./hybrid/settings";

export { CONTAINER_PORT, GENERIC_DOCKERFILE, HEALTH_PATH, PLATFORM_ENVIRONMENT, PLATFORM_PACKAGES } from "./hybrid/platform";
export { FAILOVER_TUNING_LIMITS, FARGATE_ARCHITECTURES, type FargateArchitecture } from "./hybrid/settings";

export type { MemcachedAccess };

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
     * Timeout in seconds, 1 to LAMBDA_MAX_TIMEOUT_SECONDS (900, Lambda's limit; config.ts applies the project policy of at most 60).
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
    const settings = resolveHybridSettings(name, args);
    const ctx: HybridContext = { name, args, settings, parent: this, child: { parent: this } };
    const region = aws.getRegionOutput({}, ctx.child).region;

    // Shared by both runtimes: network access, the large-response bucket, the cache entry keys (read by
    // the API Lambda's and the task's roles only, see components/CacheFunction.ts), the environment, and
    // one artifact: the platform entry around the app, serialized once by the Lambda (CallbackFunction)
    // and once, identically, into the container's build context.
    const securityGroups = createSecurityGroups(ctx);
    const largeResponses = createLargeResponseStore(ctx);
    const entryKeys = cacheEntryKeyParameter(name, `the API of ${name} (Lambda and Fargate)`, this);
    const environment = runtimeEnvironment(args, entryKeys, largeResponses.bucket);
    const entry = hybridEntry(args.app);
    const packaging = appPackaging(args.appPackages);
    const artifact = { largeResponses, entryKeys, environment, entry, packaging };

    // Two runtimes of the app behind one ALB, then what moves traffic between them.
    const lambda = createLambdaRuntime(ctx, { securityGroup: securityGroups.lambda, ...artifact });
    const container = createContainerRuntime(ctx, { ...artifact, region });
    const { alb, listener } = createLoadBalancer(ctx, securityGroups.alb, lambda.targetGroup, container.targetGroup);
    const service = createFargateService(ctx, container, securityGroups.tasks, listener);
    const triggers = createFailoverTriggers(ctx, lambda.apiFunction.name);
    const clientAlarms = createClientAlarms(ctx, alb, lambda.targetGroup);
    const failover = createFailover(ctx, {
      alb, listener, lambdaTargetGroup: lambda.targetGroup, fargateTargetGroup: container.targetGroup,
      cluster: container.cluster, service, triggers, region, packaging,
    });

    this.albDnsName = alb.dnsName;
    this.albArn = alb.arn;
    this.albSecurityGroupId = securityGroups.alb.id;
    this.listenerArn = listener.arn;
    this.lambdaTargetGroupArn = lambda.targetGroup.arn;
    this.fargateTargetGroupArn = container.targetGroup.arn;
    this.clusterName = container.cluster.name;
    this.serviceName = service.name;
    this.apiFunctionName = lambda.apiFunction.name;
    this.cacheControlPolicyArn = this.createCacheControlPolicy(name, lambda.apiFunction).arn;
    this.failoverFunctionName = failover.failoverFunction.name;
    this.largeResponseBucketName = largeResponses.bucket.bucket;
    this.largeResponseBucketArn = largeResponses.bucket.arn;
    this.alarmNames = pulumi.all([
      ...triggers, ...clientAlarms, failover.errorsAlarm, failover.starvedAlarm, lambda.durationAlarm, failover.durationAlarm,
    ].map((a) => a.name));
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

  /** Managed policy for operators: invoke the API function (cache control events), nothing else. */
  private createCacheControlPolicy(name: string, apiFunction: aws.lambda.Function): aws.iam.Policy {
    return new aws.iam.Policy(`${name}-cache-control`, {
      description: `Send cache control events (invalidate, flush) to the API function of ${name}`,
      policy: apiFunction.arn.apply((arn) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Sid: "InvalidateAppCache", Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: [arn, `${arn}:*`] }],
      })),
    }, { parent: this });
  }
}
