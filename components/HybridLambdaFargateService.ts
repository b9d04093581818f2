import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { createApiLambdaHandler } from "../functions/api/lambdaEntry";
import { createFailoverHandlerFromEnv } from "../functions/failover/shell";
import { failoverIamStatements } from "../functions/failover/iam";
import { p99DurationAlarm } from "./lambdaAlarms";
import { lambdaCodePathOptions } from "./lambdaPackaging";
import { MEMCACHED_PORT } from "./MemcachedCluster";

/** Port the container server listens on (the Fargate target group's port). */
export const CONTAINER_PORT = 8080;
/** The cheap route both target groups' health checks and the container HEALTHCHECK use. */
export const HEALTH_PATH = "/health";

/** What the service needs from a MemcachedCluster (structural, so tests can pass a stand-in). */
export interface MemcachedAccess {
  configurationEndpoint: pulumi.Input<string>;
  nodeEndpoints: pulumi.Input<string[]>;
  securityGroupId: pulumi.Input<string>;
  /** Admit TCP 11211 from a client security group. */
  allowFrom(clientName: string, securityGroupId: pulumi.Input<string>): unknown;
}

export interface HybridLambdaFargateServiceArgs {
  vpcId: pulumi.Input<string>;
  /** The VPC's CIDR: an internal ALB admits HTTP only from inside it. */
  vpcCidrBlock: pulumi.Input<string>;
  /** Private subnets: Lambda ENIs, Fargate tasks (no public IPs) and an internal ALB go here. */
  privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Public subnets: used only for an internet-facing ALB. */
  publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** The memcached cluster both runtimes read through; they are admitted into its security group. */
  memcached: MemcachedAccess;
  /** Upstream API base URL; its port decides the egress rule of both runtimes. */
  upstreamUrl: string;
  /**
   * Freshness of cached items, seconds.
   * @default 300
   */
  cacheTtlSeconds?: number;
  /**
   * Upstream request timeout, ms (the cache library also bounds it by the remaining Lambda time).
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
  };
  failover?: {
    /**
     * Every alarm must be OK this long before Fargate is scaled back to its baseline.
     * @default 300
     */
    cooldownSeconds?: number;
    /**
     * Every alarm must be OK this long before weight moves back to Lambda (hysteresis: with all
     * traffic on Fargate, Lambda's alarms clear quickly, and shifting back at once would flap).
     * Must not exceed `cooldownSeconds`.
     * @default half of cooldownSeconds
     */
    shiftBackDelaySeconds?: number;
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
  };
  /**
   * CloudWatch Logs retention for every log group of the service.
   * @default 14
   */
  logRetentionDays?: number;
  /**
   * Docker build context containing the Dockerfile of the container runtime.
   * @default the repository root
   */
  dockerContext?: string;
}

/**
 * One app, two runtimes, one ALB: the API runs as a Lambda target and as an ECS Fargate service
 * behind the same listener, which forwards with weights (start: Lambda 1, Fargate 0). Alarms on
 * Lambda throttling feed an EventBridge rule (these alarms only) and a 1-minute schedule, both
 * invoking a failover Lambda that scales Fargate up, moves weight only to healthy targets, and
 * moves back after a cooldown. See docs/failover.md.
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
  readonly failoverFunctionName: pulumi.Output<string>;
  readonly largeResponseBucketName: pulumi.Output<string>;
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
    const upstream = new URL(args.upstreamUrl);
    const upstreamPort = Number(upstream.port || (upstream.protocol === "https:" ? 443 : 80));
    const region = aws.getRegionOutput({}, child).region;

    // ---- Security groups: ALB -> tasks:8080 only; both runtimes -> memcached:11211 + upstream + HTTPS.
    const albSg = new aws.ec2.SecurityGroup(`${name}-alb-sg`, {
      vpcId: args.vpcId,
      description: `ALB of ${name}`,
      tags: { Name: `${name}-alb` },
    }, child);
    const listenerPorts = internetFacing ? [80, 443] : [80];
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
    for (const [who, sg] of [["tasks", taskSg], ["lambda", lambdaSg]] as const) {
      new aws.vpc.SecurityGroupEgressRule(`${name}-${who}-to-memcached`, {
        securityGroupId: sg.id,
        referencedSecurityGroupId: args.memcached.securityGroupId,
        ipProtocol: "tcp",
        fromPort: MEMCACHED_PORT,
        toPort: MEMCACHED_PORT,
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
      args.memcached.allowFrom(`${name}-${who}`, sg.id);
    }

    // ---- Large responses: the ALB caps a Lambda response at 1 MB; bigger bodies go to S3 + presigned redirect.
    const bucket = new aws.s3.Bucket(`${name}-large`, { forceDestroy: true }, child);
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

    const appEnvironment: Record<string, pulumi.Input<string>> = {
      MEMCACHED_CONFIG_ENDPOINT: args.memcached.configurationEndpoint,
      MEMCACHED_SERVERS: pulumi.output(args.memcached.nodeEndpoints).apply((n) => n.join(",")),
      UPSTREAM_URL: args.upstreamUrl,
      UPSTREAM_TIMEOUT_MS: String(args.upstreamTimeoutMs ?? 3000),
      CACHE_TTL_SECONDS: String(args.cacheTtlSeconds ?? 300),
      LARGE_RESPONSE_BUCKET: bucket.bucket,
    };

    // ---- The Lambda runtime of the app.
    const apiRole = new aws.iam.Role(`${name}-api-role`, {
      assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" }),
    }, child);
    new aws.iam.RolePolicyAttachment(`${name}-api-vpc`, {
      role: apiRole.name,
      policyArn: aws.iam.ManagedPolicy.AWSLambdaVPCAccessExecutionRole,
    }, child);
    bucketObjectsPolicy(apiRole, "api");
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
      loggingConfig: { logFormat: "JSON", logGroup: apiLogs.name },
      environment: { variables: appEnvironment },
      callbackFactory: () => createApiLambdaHandler(process.env),
      codePathOptions: lambdaCodePathOptions({ uses: ["hono", "memjs", "lru-cache", "got", "@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner"] }),
    }, { parent: this, dependsOn: [apiLogs] });

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
    p99DurationAlarm(`${name}-api`, apiFunction.name, lambdaTimeout, child);

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
    const image = new awsx.ecr.Image(`${name}-image`, {
      repositoryUrl: repository.repositoryUrl,
      context: args.dockerContext ?? path.join(__dirname, ".."),
      dockerfile: path.join(args.dockerContext ?? path.join(__dirname, ".."), "Dockerfile"),
      platform: "linux/arm64",
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

    const containerName = "api";
    const taskDefinition = new aws.ecs.TaskDefinition(`${name}`, {
      family: `${name}-api`,
      cpu: String(args.fargate?.cpu ?? 256),
      memory: String(args.fargate?.memory ?? 512),
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "ARM64" },
      executionRoleArn: executionRole.arn,
      taskRoleArn: taskRole.arn,
      containerDefinitions: pulumi
        .all([image.imageUri, taskLogs.name, region, pulumi.output(appEnvironment)])
        .apply(([imageUri, logGroup, awsRegion, env]) => JSON.stringify([{
          name: containerName,
          image: imageUri,
          essential: true,
          portMappings: [{ containerPort: CONTAINER_PORT, protocol: "tcp" }],
          environment: [...Object.entries(env).map(([k, v]) => ({ name: k, value: v })), { name: "PORT", value: String(CONTAINER_PORT) }],
          healthCheck: {
            command: ["CMD", "node", "-e", `fetch('http://127.0.0.1:${CONTAINER_PORT}${HEALTH_PATH}').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`],
            interval: 10,
            timeout: 3,
            retries: 3,
            startPeriod: 10,
          },
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
    // undo them, so changes to the forward weights are ignored after creation.
    const ignoreWeights = { parent: this, ignoreChanges: ["defaultActions[0].forward.targetGroups"] };
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

    // ---- Alarms on Lambda's limits, and the failover Lambda they (and a schedule) invoke.
    const throttles = new aws.cloudwatch.MetricAlarm(`${name}-throttles`, {
      alarmDescription: `Lambda ${name}-api is throttled: shift traffic to Fargate`,
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
    }, child);
    const nearCap = Math.max(1, Math.floor(reservedConcurrency * 0.9));
    const concurrency = new aws.cloudwatch.MetricAlarm(`${name}-concurrency`, {
      alarmDescription: `Lambda ${name}-api concurrency at >= 90% of its reserved ${reservedConcurrency}`,
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
    }, child);
    const alarms = [throttles, concurrency];

    const failoverRole = new aws.iam.Role(`${name}-failover-role`, {
      assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" }),
    }, child);
    new aws.iam.RolePolicyAttachment(`${name}-failover-logs`, {
      role: failoverRole.name,
      policyArn: aws.iam.ManagedPolicy.AWSLambdaBasicExecutionRole,
    }, child);
    new aws.iam.RolePolicy(`${name}-failover`, {
      role: failoverRole.id,
      policy: pulumi
        .all([listener.arn, service.id, pulumi.all(alarms.map((a) => a.arn))])
        .apply(([listenerArn, serviceArn, alarmArns]) => JSON.stringify({
          Version: "2012-10-17",
          Statement: failoverIamStatements({ listenerArn, serviceArn, alarmArns }),
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
      description: "Shifts ALB weight between the Lambda and Fargate runtimes on throttling alarms",
      role: failoverRole,
      runtime: aws.lambda.Runtime.NodeJS22dX,
      architectures: ["arm64"],
      timeout: 30,
      memorySize: 256,
      // One at a time: two concurrent invocations could interleave observe/apply.
      reservedConcurrentExecutions: 1,
      loggingConfig: { logFormat: "JSON", logGroup: failoverLogs.name },
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
        },
      },
      callbackFactory: () => createFailoverHandlerFromEnv(process.env),
      codePathOptions: lambdaCodePathOptions({ uses: ["@aws-sdk/client-cloudwatch", "@aws-sdk/client-ecs", "@aws-sdk/client-elastic-load-balancing-v2"] }),
    }, { parent: this, dependsOn: [failoverLogs] });

    p99DurationAlarm(`${name}-failover`, failoverFunction.name, 30, child);

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
    this.failoverFunctionName = failoverFunction.name;
    this.largeResponseBucketName = bucket.bucket;
    this.alarmNames = pulumi.all(alarms.map((a) => a.name));
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
    });
  }
}
