import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { VPC_LINK_V2_ZONE_IDS, zoneProblem } from "../awsAvailability";
import type { ApiContext } from "./settings";

/**
 * The subnets a VPC link V2 may use (pure): those in zone IDs where VPC links V2 are offered in
 * `region`. Throws naming the supported IDs when fewer than two remain (one AZ is not highly available).
 */
export function vpcLinkSubnets(name: string, region: string, subnetIds: string[], zoneIds: string[]): string[] {
  if (zoneIds.length !== subnetIds.length) {
    throw new Error(`CachedPrivateApi ${name}: privateSubnetZoneIds has ${zoneIds.length} entries for ${subnetIds.length} subnets`);
  }
  const usable = subnetIds.filter((_, i) => zoneProblem(region, zoneIds[i], "vpc-link-v2") === undefined);
  if (usable.length < 2) {
    throw new Error(`CachedPrivateApi ${name}: the VPC link needs subnets in at least two zones where VPC links V2 are offered; ` +
      `the subnets are in ${zoneIds.join(", ")} and ${region} offers them in ${(VPC_LINK_V2_ZONE_IDS[region] ?? []).join(", ") || "no zone"}`);
  }
  return usable;
}

export interface BackendLink {
  securityGroup: aws.ec2.SecurityGroup;
  /** The rule admitting the link on the ALB's security group (the deployment waits for it). */
  albIngress: aws.vpc.SecurityGroupIngressRule;
  vpcLink: aws.apigatewayv2.VpcLink;
}

/** Backend path: VPC link V2 straight to the ALB (no NLB), in subnets of zones that offer it. */
export function createBackendLink({ name, args, apiName, tags, child, region }: ApiContext): BackendLink {
  const port = args.backend.listenerPort;
  const vpcLinkSg = new aws.ec2.SecurityGroup(`${name}-vpclink-sg`, {
    vpcId: args.vpcId,
    description: `VPC link of ${apiName}: to the ALB listener only`,
    tags: { ...tags, Name: `${apiName}-vpclink` },
  }, child);
  new aws.vpc.SecurityGroupEgressRule(`${name}-vpclink-to-alb`, {
    securityGroupId: vpcLinkSg.id,
    referencedSecurityGroupId: args.backend.securityGroupId,
    ipProtocol: "tcp",
    fromPort: port,
    toPort: port,
    description: `VPC link to the ALB listener ${port}`,
  }, child);
  const albIngress = new aws.vpc.SecurityGroupIngressRule(`${name}-alb-from-vpclink`, {
    securityGroupId: args.backend.securityGroupId,
    referencedSecurityGroupId: vpcLinkSg.id,
    ipProtocol: "tcp",
    fromPort: port,
    toPort: port,
    description: `ALB listener ${port} from the VPC link of ${apiName}`,
  }, child);
  const vpcLinkSubnetIds = args.privateSubnetZoneIds === undefined
    ? pulumi.output(args.privateSubnetIds)
    : pulumi.all([region, pulumi.output(args.privateSubnetIds), pulumi.output(args.privateSubnetZoneIds)])
      .apply(([r, ids, zoneIds]) => vpcLinkSubnets(name, r, ids, zoneIds));
  const vpcLink = new aws.apigatewayv2.VpcLink(`${name}-vpclink`, {
    name: `${apiName}-alb`,
    subnetIds: vpcLinkSubnetIds,
    securityGroupIds: [vpcLinkSg.id],
    tags,
  }, child);
  return { securityGroup: vpcLinkSg, albIngress, vpcLink };
}
