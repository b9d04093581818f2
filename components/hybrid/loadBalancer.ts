import * as aws from "@pulumi/aws";
import type { HybridContext } from "./settings";

export interface LoadBalancer {
  alb: aws.lb.LoadBalancer;
  /** The listener that forwards with weights (HTTPS when internet-facing, else HTTP). */
  listener: aws.lb.Listener;
}

/** The ALB: one listener forwarding with weights to both target groups (start: Lambda 1, Fargate 0). */
export function createLoadBalancer(
  { name, args, settings: { internetFacing }, parent, child }: HybridContext,
  securityGroup: aws.ec2.SecurityGroup,
  lambdaTargetGroup: aws.lb.TargetGroup,
  fargateTargetGroup: aws.lb.TargetGroup,
): LoadBalancer {
  const alb = new aws.lb.LoadBalancer(`${name}`, {
    loadBalancerType: "application",
    internal: !internetFacing,
    subnets: internetFacing ? args.publicSubnetIds : args.privateSubnetIds,
    securityGroups: [securityGroup.id],
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
  const ignoreWeights = { parent, ignoreChanges: ["defaultActions[0].forward.targetGroups[*].weight"] };
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
  return { alb, listener };
}
