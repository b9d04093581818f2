import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import type { hybridEntry } from "../../functions/platform/entry";
import { RUNTIME_ENV } from "../../functions/platform/env";
import { readParameterPolicy } from "../CacheFunction";
import { writeContainerContext } from "../lambdaPackaging";
import { CONTAINER_PORT, GENERIC_DOCKERFILE, HEALTH_PATH, type AppPackaging } from "./platform";
import type { LargeResponseStore } from "./largeResponses";
import type { HybridContext } from "./settings";

/** Name of the app's container in the task definition (and in the service's load balancer entry). */
const CONTAINER_NAME = "api";

export interface ContainerRuntimeInputs {
  largeResponses: LargeResponseStore;
  entryKeys: aws.ssm.Parameter;
  environment: Record<string, pulumi.Input<string>>;
  entry: ReturnType<typeof hybridEntry>;
  packaging: AppPackaging;
  region: pulumi.Output<string>;
}

export interface ContainerRuntime {
  cluster: aws.ecs.Cluster;
  taskDefinition: aws.ecs.TaskDefinition;
  targetGroup: aws.lb.TargetGroup;
}

/**
 * The container runtime of the same app: image, cluster, task definition and the Fargate target group.
 * The service itself comes after the ALB's listener (createFargateService).
 */
export function createContainerRuntime(ctx: HybridContext, inputs: ContainerRuntimeInputs): ContainerRuntime {
  const image = createImage(ctx, inputs);
  const cluster = new aws.ecs.Cluster(`${ctx.name}`, {
    settings: [{ name: "containerInsights", value: "enabled" }],
  }, ctx.child);
  const taskDefinition = createTaskDefinition(ctx, inputs, image);
  const targetGroup = createFargateTargetGroup(ctx);
  return { cluster, taskDefinition, targetGroup };
}

/** The repository and the image, built from a generated context (the Lambda's artifact + the generic Dockerfile). */
function createImage({ name, args, settings, child }: HybridContext, inputs: ContainerRuntimeInputs): awsx.ecr.Image {
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
    factory: inputs.entry,
    codePathOptions: inputs.packaging.codePathOptions(),
    dir: path.join(contextRoot, pulumi.getStack(), name),
    dockerfile: GENERIC_DOCKERFILE,
  }));
  return new awsx.ecr.Image(`${name}-image`, {
    repositoryUrl: repository.repositoryUrl,
    context: containerContext.dir,
    dockerfile: containerContext.dockerfile,
    platform: settings.architecture === "ARM64" ? "linux/arm64" : "linux/amd64",
  }, child);
}

/** Logs, the execution and task roles, and the task definition of the app's container. */
function createTaskDefinition({ name, args, settings, parent, child }: HybridContext, inputs: ContainerRuntimeInputs, image: awsx.ecr.Image): aws.ecs.TaskDefinition {
  const taskLogs = new aws.cloudwatch.LogGroup(`${name}-task-logs`, { retentionInDays: settings.retention }, child);
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
  inputs.largeResponses.grantObjects(taskRole, "task");
  readParameterPolicy(`${name}-task-entry-keys`, taskRole, inputs.entryKeys, parent);

  return new aws.ecs.TaskDefinition(`${name}`, {
    family: `${name}-api`,
    cpu: String(args.fargate?.cpu ?? 256),
    memory: String(args.fargate?.memory ?? 512),
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: settings.architecture },
    executionRoleArn: executionRole.arn,
    taskRoleArn: taskRole.arn,
    containerDefinitions: pulumi
      .all([image.imageUri, taskLogs.name, inputs.region, pulumi.output(inputs.environment)])
      .apply(([imageUri, logGroup, awsRegion, env]) => JSON.stringify([{
        name: CONTAINER_NAME,
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
}

function createFargateTargetGroup({ name, args, child }: HybridContext): aws.lb.TargetGroup {
  return new aws.lb.TargetGroup(`${name}-ecs`, {
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
}

/** The Fargate service, registered in its target group once the listener exists; baseline tasks until a failover. */
export function createFargateService(
  { name, args, settings, parent }: HybridContext,
  runtime: ContainerRuntime,
  taskSecurityGroup: aws.ec2.SecurityGroup,
  listener: aws.lb.Listener,
): aws.ecs.Service {
  return new aws.ecs.Service(`${name}`, {
    cluster: runtime.cluster.arn,
    taskDefinition: runtime.taskDefinition.arn,
    launchType: "FARGATE",
    desiredCount: settings.baselineCount,
    networkConfiguration: { subnets: args.privateSubnetIds, securityGroups: [taskSecurityGroup.id], assignPublicIp: false },
    loadBalancers: [{ targetGroupArn: runtime.targetGroup.arn, containerName: CONTAINER_NAME, containerPort: CONTAINER_PORT }],
    healthCheckGracePeriodSeconds: 30,
    deploymentCircuitBreaker: { enable: true, rollback: true },
    propagateTags: "SERVICE",
  }, {
    parent,
    dependsOn: [listener],
    // The failover Lambda changes desiredCount at run time; a deploy must not fight it.
    ignoreChanges: ["desiredCount"],
  });
}
