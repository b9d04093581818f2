import * as aws from "@pulumi/aws";
import { legacyClientRuleName } from "../MemcachedCluster";
import { CONTAINER_PORT } from "./platform";
import type { HybridContext } from "./settings";

export interface HybridSecurityGroups {
  alb: aws.ec2.SecurityGroup;
  tasks: aws.ec2.SecurityGroup;
  lambda: aws.ec2.SecurityGroup;
}

/** Security groups: ALB -> tasks:8080 only; both runtimes -> memcached:11211 + upstream + HTTPS. */
export function createSecurityGroups(ctx: HybridContext): HybridSecurityGroups {
  const alb = createAlbSecurityGroup(ctx);
  const tasks = createTaskSecurityGroup(ctx, alb);
  const lambda = new aws.ec2.SecurityGroup(`${ctx.name}-lambda-sg`, {
    vpcId: ctx.args.vpcId,
    description: `API Lambda of ${ctx.name}: egress to memcached, upstream, AWS APIs`,
    tags: { Name: `${ctx.name}-lambda` },
  }, ctx.child);
  for (const [who, sg] of [["tasks", tasks], ["lambda", lambda]] as const) {
    createRuntimeEgress(ctx, who, sg);
  }
  return { alb, tasks, lambda };
}

/** The ALB's group, with its listener ports open to the internet or the VPC (or to nobody: a front door admits itself). */
function createAlbSecurityGroup({ name, args, settings: { internetFacing }, child }: HybridContext): aws.ec2.SecurityGroup {
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
  return albSg;
}

/** The tasks' group: the container port, from the ALB only (both directions of the rule pair). */
function createTaskSecurityGroup({ name, args, child }: HybridContext, albSg: aws.ec2.SecurityGroup): aws.ec2.SecurityGroup {
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
  return taskSg;
}

/** One runtime's way out (memcached, upstream, HTTPS), and its admission on the cluster's security group. */
function createRuntimeEgress({ name, args, settings: { upstream, upstreamPort, memcachedPort: port }, parent, child }: HybridContext, who: "tasks" | "lambda", sg: aws.ec2.SecurityGroup): void {
  const egressPorts = Array.from(new Set([upstreamPort, 443]));
  new aws.vpc.SecurityGroupEgressRule(`${name}-${who}-to-memcached`, {
    securityGroupId: sg.id,
    referencedSecurityGroupId: args.memcached.securityGroupId,
    ipProtocol: "tcp",
    fromPort: port,
    toPort: port,
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
    fromPort: port,
    toPort: port,
    description: `memcached from ${client}`,
  }, { parent, aliases: legacy });
}
