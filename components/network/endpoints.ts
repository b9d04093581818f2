import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AccountInfo, NetworkContext } from "./settings";

/**
 * Policy of the S3 gateway endpoint (pure): any action on buckets of this account, and reads of the
 * bucket ECR stores image layers in (`prod-<region>-starport-layer-bucket`, ECR user guide: the S3
 * gateway endpoint's policy must allow it, or Fargate cannot pull images through it).
 */
export function s3EndpointPolicy(partition: string, region: string, accountId: string): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ThisAccountsBuckets",
        Effect: "Allow",
        Principal: "*",
        Action: "s3:*",
        Resource: "*",
        Condition: { StringEquals: { "aws:ResourceAccount": accountId } },
      },
      {
        Sid: "EcrImageLayers",
        Effect: "Allow",
        Principal: "*",
        Action: "s3:GetObject",
        Resource: `arn:${partition}:s3:::prod-${region}-starport-layer-bucket/*`,
      },
    ],
  };
}

/** Gateway endpoints are free; S3 traffic through them skips NAT data processing (~$0.045/GB). */
export function createS3Endpoint({ name, args, child, region }: NetworkContext, vpc: aws.ec2.Vpc, privateRouteTables: aws.ec2.RouteTable[], { partition, accountId }: AccountInfo): aws.ec2.VpcEndpoint {
  return new aws.ec2.VpcEndpoint(`${name}-s3`, {
    vpcId: vpc.id,
    serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
    vpcEndpointType: "Gateway",
    routeTableIds: privateRouteTables.map((rt) => rt.id),
    policy: (args.restrictS3EndpointToAccount ?? true)
      ? pulumi.all([partition, region, accountId]).apply(([p, r, a]) => JSON.stringify(s3EndpointPolicy(p, r, a)))
      : undefined,
    tags: { Name: `${name}-s3` },
  }, child);
}

export interface InterfaceEndpoints {
  securityGroup?: aws.ec2.SecurityGroup;
  /** By service short name ("logs", "ecr.api"). */
  endpoints: Record<string, aws.ec2.VpcEndpoint>;
}

/**
 * Interface endpoints for AWS APIs (`args.interfaceEndpoints`), HTTPS from inside the VPC, each in the
 * private subnets of the AZs where its service is offered (`subnetsOffering`).
 */
export function createInterfaceEndpoints(
  { name, args, parent, child, region }: NetworkContext,
  vpc: aws.ec2.Vpc,
  subnetsOffering: (service: string) => pulumi.Output<string[]>,
): InterfaceEndpoints {
  const endpoints: Record<string, aws.ec2.VpcEndpoint> = {};
  const services = args.interfaceEndpoints ?? [];
  if (services.length === 0) return { endpoints };
  const endpointSg = new aws.ec2.SecurityGroup(`${name}-endpoints-sg`, {
    vpcId: vpc.id,
    description: `Interface endpoints of ${name}: HTTPS from inside the VPC`,
    tags: { Name: `${name}-endpoints` },
  }, child);
  new aws.vpc.SecurityGroupIngressRule(`${name}-endpoints-https`, {
    securityGroupId: endpointSg.id,
    cidrIpv4: vpc.cidrBlock,
    ipProtocol: "tcp",
    fromPort: 443,
    toPort: 443,
    description: "HTTPS to AWS APIs from inside the VPC",
  }, child);
  for (const service of services) {
    endpoints[service] = new aws.ec2.VpcEndpoint(`${name}-${service.replace(/\./g, "-")}`, {
      vpcId: vpc.id,
      serviceName: pulumi.interpolate`com.amazonaws.${region}.${service}`,
      vpcEndpointType: "Interface",
      privateDnsEnabled: true,
      subnetIds: subnetsOffering(service),
      securityGroupIds: [endpointSg.id],
      tags: { Name: `${name}-${service}` },
    // One private-DNS endpoint per service and VPC, and a deleting one still holds the name:
    // a replacement must delete the old endpoint first.
    }, { parent, deleteBeforeReplace: true });
  }
  return { securityGroup: endpointSg, endpoints };
}
