import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AccountInfo, NetworkContext } from "./settings";

/**
 * Permissions of the flow-log delivery role (pure): the VPC guide's minimum ("IAM role for publishing flow
 * logs to CloudWatch Logs": CreateLogGroup, CreateLogStream, PutLogEvents, DescribeLogGroups,
 * DescribeLogStreams) scoped to the one log group, except DescribeLogGroups, which supports no
 * resource-level permissions (Service Authorization Reference, CloudWatch Logs) and so needs "*" (an
 * exception the policy pack lists). CreateLogGroup is left out on purpose: the group is managed here with a
 * retention, and a group the service re-created after a deletion would keep records forever.
 */
export function flowLogDeliveryPolicy(logGroupArn: string): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "WriteFlowLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        Resource: [logGroupArn, `${logGroupArn}:*`],
      },
      {
        Sid: "FindLogGroup",
        Effect: "Allow",
        Action: ["logs:DescribeLogGroups"],
        Resource: "*",
      },
    ],
  };
}

/** VPC flow logs (REJECT or ALL) to a CloudWatch log group, through a delivery role of this account's flow logs only. */
export function createFlowLog(
  { name, args, settings, parent, child, region }: NetworkContext,
  vpc: aws.ec2.Vpc,
  { partition, accountId }: AccountInfo,
): { flowLog: aws.ec2.FlowLog; logGroup: aws.cloudwatch.LogGroup } {
  const logGroup = new aws.cloudwatch.LogGroup(`${name}-flow-logs`, { retentionInDays: args.flowLogRetentionDays ?? 14 }, child);
  // Delivery role for the flow-logs service, limited to this account's flow logs (confused deputy).
  const role = new aws.iam.Role(`${name}-flow-logs`, {
    description: `VPC flow logs of ${name} to CloudWatch Logs`,
    assumeRolePolicy: pulumi.all([partition, region, accountId]).apply(([p, r, a]) => JSON.stringify({
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { Service: "vpc-flow-logs.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": a },
          ArnLike: { "aws:SourceArn": `arn:${p}:ec2:${r}:${a}:vpc-flow-log/*` },
        },
      }],
    })),
  }, child);
  const delivery = new aws.iam.RolePolicy(`${name}-flow-logs`, {
    role: role.id,
    policy: logGroup.arn.apply((arn) => JSON.stringify(flowLogDeliveryPolicy(arn))),
  }, child);
  // CreateFlowLogs checks that the role may deliver to the group ("Access Denied for LogDestination"),
  // so the role's permissions must exist first; the flow log's inputs alone (role.arn) do not order it.
  const flowLog = new aws.ec2.FlowLog(`${name}-flow-logs`, {
    vpcId: vpc.id,
    trafficType: settings.flowLogs === "all" ? "ALL" : "REJECT",
    logDestinationType: "cloud-watch-logs",
    logDestination: logGroup.arn,
    iamRoleArn: role.arn,
    maxAggregationInterval: 600,
    tags: { Name: `${name}-flow-logs` },
  }, { parent, dependsOn: [delivery] });
  return { flowLog, logGroup };
}
