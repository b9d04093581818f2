/**
 * IAM permissions of the failover Lambda: exactly the API calls made by ./shell.ts.
 *
 * Plain data, no imports (no Pulumi, no SDK), so the component can call it inside an `apply` to
 * write the role policy:
 *
 * ```ts
 * policy: pulumi.all([listener.arn, service.arn]).apply(([listenerArn, serviceArn]) =>
 *   JSON.stringify({ Version: "2012-10-17", Statement: failoverIamStatements({ listenerArn, serviceArn }) }))
 * ```
 *
 * Resource scoping (AWS Service Authorization Reference; links in docs/failover.md):
 * - `elasticloadbalancing:DescribeListeners`, `elasticloadbalancing:DescribeTargetHealth`: the ELBv2
 *   Describe* actions have no resource type → `"*"` is required.
 * - `elasticloadbalancing:ModifyListener`: resource type `listener/app` → the listener ARN.
 * - `ecs:DescribeServices`, `ecs:UpdateService`: resource type `service` → the service ARN
 *   (`arn:aws:ecs:<region>:<account>:service/<cluster>/<service>`).
 * - `cloudwatch:DescribeAlarms`: can be narrowed to alarm ARNs for metric alarms (the API reference
 *   says a narrower scope only loses composite alarms, which we do not read). Because a wrong
 *   narrowing would make every invocation fail with AccessDenied, it defaults to `"*"` (read-only)
 *   and is narrowed only when `alarmArns` is given.
 * - `cloudwatch:GetMetricData` (the failback's demand, read only): no resource type and no
 *   service-specific condition key (`cloudwatch:namespace` applies to PutMetricData only), so the
 *   Resource must be `"*"` and a policy cannot limit it to a namespace, metric or dimension. The
 *   only narrowing left is a global condition key: with `region` given, the statement allows it
 *   only in the stack's region (`aws:RequestedRegion`).
 * - Not needed: `iam:PassRole` (UpdateService only changes desiredCount), `ecs:ListTasks`,
 *   `elasticloadbalancing:DescribeRules` (the default action is read from the listener).
 * - CloudWatch Logs permissions for the function's own logs come from the usual basic execution
 *   policy and are not listed here.
 */

/** One IAM policy statement. */
export interface IamPolicyStatement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** ARNs that scope the failover role's permissions. */
export interface FailoverIamArns {
  /** ARN of the ALB listener whose default action the failover rewrites. */
  listenerArn: string;
  /** ARN of the ECS service (long ARN format, includes the cluster name). */
  serviceArn: string;
  /**
   * Optional ARNs of the watched alarms (`arn:aws:cloudwatch:<region>:<account>:alarm:<name>`).
   * When absent or empty, `cloudwatch:DescribeAlarms` is granted on `"*"`.
   */
  alarmArns?: string[];
  /**
   * Optional region of the stack (e.g. `us-east-1`): limits `cloudwatch:GetMetricData`, which
   * cannot be scoped to a resource, to requests in that region (`aws:RequestedRegion`).
   */
  region?: string;
}

/** One API permission of the failover function, with its scoping. */
export interface FailoverIamAction {
  /** IAM action name. */
  action: string;
  /** Which shell function calls it. */
  calledBy: "observe" | "apply";
  /** What the Resource element can be narrowed to. */
  resource: "*" | "listener ARN" | "service ARN" | "alarm ARNs (optional)";
  /** A condition that narrows an action AWS cannot scope by resource. */
  condition?: "aws:RequestedRegion (optional)";
  /** Whether AWS supports resource-level permissions for it. */
  resourceLevel: boolean;
}

/** The exact list of IAM actions the failover shell calls. */
export const FAILOVER_IAM_ACTIONS: FailoverIamAction[] = [
  { action: "cloudwatch:DescribeAlarms", calledBy: "observe", resource: "alarm ARNs (optional)", resourceLevel: true },
  { action: "cloudwatch:GetMetricData", calledBy: "observe", resource: "*", resourceLevel: false, condition: "aws:RequestedRegion (optional)" },
  { action: "elasticloadbalancing:DescribeListeners", calledBy: "observe", resource: "*", resourceLevel: false },
  { action: "elasticloadbalancing:DescribeTargetHealth", calledBy: "observe", resource: "*", resourceLevel: false },
  { action: "ecs:DescribeServices", calledBy: "observe", resource: "service ARN", resourceLevel: true },
  { action: "elasticloadbalancing:ModifyListener", calledBy: "apply", resource: "listener ARN", resourceLevel: true },
  { action: "ecs:UpdateService", calledBy: "apply", resource: "service ARN", resourceLevel: true },
];

/**
 * IAM statements for the failover role, least privilege within what AWS can scope.
 * Throws when a required ARN is missing (an empty Resource would silently grant nothing).
 */
export function failoverIamStatements(arns: FailoverIamArns): IamPolicyStatement[] {
  if (!arns || typeof arns.listenerArn !== "string" || arns.listenerArn === "") {
    throw new Error("failoverIamStatements: listenerArn is required");
  }
  if (typeof arns.serviceArn !== "string" || arns.serviceArn === "") {
    throw new Error("failoverIamStatements: serviceArn is required");
  }
  const alarmArns = Array.isArray(arns.alarmArns) ? arns.alarmArns.filter((a) => typeof a === "string" && a !== "") : [];
  const region = typeof arns.region === "string" && arns.region !== "" ? arns.region : undefined;
  return [
    {
      Sid: "FailoverDescribeLoadBalancing",
      Effect: "Allow",
      Action: ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetHealth"],
      Resource: "*",
    },
    {
      Sid: "FailoverModifyListener",
      Effect: "Allow",
      Action: ["elasticloadbalancing:ModifyListener"],
      Resource: arns.listenerArn,
    },
    {
      Sid: "FailoverEcsService",
      Effect: "Allow",
      Action: ["ecs:DescribeServices", "ecs:UpdateService"],
      Resource: arns.serviceArn,
    },
    {
      Sid: "FailoverDescribeAlarms",
      Effect: "Allow",
      Action: ["cloudwatch:DescribeAlarms"],
      Resource: alarmArns.length > 0 ? alarmArns : "*",
    },
    {
      // The failback's demand (ALB RequestCount / TargetResponseTime). Read only; AWS offers no
      // resource-level scoping for it.
      Sid: "FailoverReadDemandMetrics",
      Effect: "Allow",
      Action: ["cloudwatch:GetMetricData"],
      Resource: "*",
      ...(region ? { Condition: { StringEquals: { "aws:RequestedRegion": region } } } : {}),
    },
  ];
}
