/**
 * Pure IAM documents of CachedPrivateApi (split from apiRoutes.ts, which re-exports them): `execute-api`
 * ARNs of routes, the invalidation, invoke and flush policies, and the private API's resource policy.
 */
import type { ApiAuthorization, NormalizedRoute } from "../apiRoutes";

/** `execute-api` ARN resource part for a route: params and greedy params become "*". */
export function executeApiRoutePath(route: NormalizedRoute): string {
  return route.segments.map((s) => (s.kind === "literal" ? s.value : "*")).join("/");
}

export interface ApiArnContext {
  partition: string;
  region: string;
  accountId: string;
  apiId: string;
  stageName: string;
}

/**
 * Resources for `execute-api:InvalidateCache`: one per cached route, all under
 * `arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/GET/`. With no cached route,
 * the whole stage's GET methods (the policy must name a resource).
 */
export function invalidateCacheResourceArns(ctx: ApiArnContext, routes: readonly NormalizedRoute[]): string[] {
  const prefix = `arn:${ctx.partition}:execute-api:${ctx.region}:${ctx.accountId}:${ctx.apiId}/${ctx.stageName}/GET/`;
  const cached = routes.filter((r) => r.cached && r.method === "GET");
  if (cached.length === 0) return [`${prefix}*`];
  return [...new Set(cached.map((r) => `${prefix}${executeApiRoutePath(r)}`))].sort();
}

/**
 * Managed policy document for the content-writing service: invalidate cached entries, nothing else.
 * With `AWS_IAM` methods the invalidation is itself a signed GET that API Gateway first authorises as
 * `execute-api:Invoke` (same account: the resource policy names the account, which delegates to the
 * caller's IAM policies), so the document also grants Invoke on exactly the same GET resources; without
 * it a writer holding only this policy gets 403 before the cache is looked at.
 */
export function invalidationPolicyDocument(ctx: ApiArnContext, routes: readonly NormalizedRoute[], authorization: ApiAuthorization = "NONE"): Record<string, unknown> {
  const resources = invalidateCacheResourceArns(ctx, routes);
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "InvalidateCachedRoutes",
        Effect: "Allow",
        Action: ["execute-api:InvalidateCache"],
        Resource: resources,
      },
      ...(authorization === "AWS_IAM" ? [{
        Sid: "InvokeCachedRoutesToInvalidate",
        Effect: "Allow",
        Action: ["execute-api:Invoke"],
        Resource: resources,
      }] : []),
    ],
  };
}

/** Managed policy document for callers of an AWS_IAM API: invoke every method of this stage, nothing else. */
export function invokePolicyDocument(ctx: ApiArnContext): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [{
      Sid: "InvokeThisStage",
      Effect: "Allow",
      Action: ["execute-api:Invoke"],
      Resource: [`arn:${ctx.partition}:execute-api:${ctx.region}:${ctx.accountId}:${ctx.apiId}/${ctx.stageName}/*`],
    }],
  };
}

/** Managed policy document for operators: FlushStageCache on this stage only (IAM action apigateway:DELETE). */
export function flushPolicyDocument(ctx: Omit<ApiArnContext, "accountId">): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [{
      Sid: "FlushStageCache",
      Effect: "Allow",
      Action: ["apigateway:DELETE"],
      Resource: [`arn:${ctx.partition}:apigateway:${ctx.region}::/restapis/${ctx.apiId}/stages/${ctx.stageName}/cache/data`],
    }],
  };
}

/**
 * Resource policy of the private API: invoke (and invalidate) only through `vpcEndpointId`;
 * an explicit Deny for every other source, so no later Allow (another statement, another
 * account's policy) can open it.
 *
 * Invalidation (`Cache-Control: max-age=0`, action `execute-api:InvalidateCache`) is allowed to IAM
 * principals of this account, through the endpoint, so that the caller's own IAM policy (the
 * invalidation policy the component exports) decides. UNVERIFIED: AWS does not document how
 * InvalidateCache is authorised on an `authorization: NONE` method; if API Gateway treats that caller as
 * anonymous, this statement never matches and invalidation needs `AWS_IAM` methods (or FlushStageCache,
 * a control-plane call IAM alone decides). Check it on the first deploy (docs/caching.md).
 * @param apiArnPrefix the API's execution ARN, `arn:aws:execute-api:<region>:<account>:<apiId>`
 * @param accountRoot `arn:<partition>:iam::<account>:root`; omitted = no invalidation statement
 */
export function privateApiResourcePolicy(
  apiArnPrefix: string,
  vpcEndpointId: string,
  accountRoot?: string,
  authorization: ApiAuthorization = "NONE",
): Record<string, unknown> {
  const resource = `${apiArnPrefix}/*`;
  // With AWS_IAM methods the caller is a signed IAM principal: the resource policy names this account,
  // and the caller's own IAM policy (the exported invoke policy) decides. With NONE the caller is anonymous.
  const invokePrincipal = authorization === "AWS_IAM" && accountRoot !== undefined ? { AWS: accountRoot } : "*";
  const invalidate = accountRoot === undefined ? [] : [{
    Sid: "AllowInvalidationByThisAccountThroughOwnVpcEndpoint",
    Effect: "Allow",
    Principal: { AWS: accountRoot },
    Action: "execute-api:InvalidateCache",
    Resource: `${apiArnPrefix}/*/GET/*`,
    Condition: { StringEquals: { "aws:SourceVpce": vpcEndpointId } },
  }];
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AllowInvokeThroughOwnVpcEndpoint",
        Effect: "Allow",
        Principal: invokePrincipal,
        Action: "execute-api:Invoke",
        Resource: resource,
        Condition: { StringEquals: { "aws:SourceVpce": vpcEndpointId } },
      },
      ...invalidate,
      {
        Sid: "DenyEverythingNotFromOwnVpcEndpoint",
        Effect: "Deny",
        Principal: "*",
        Action: ["execute-api:Invoke", "execute-api:InvalidateCache"],
        Resource: resource,
        Condition: { StringNotEquals: { "aws:SourceVpce": vpcEndpointId } },
      },
    ],
  };
}
