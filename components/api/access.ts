import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { flushPolicyDocument, invalidationPolicyDocument, invokePolicyDocument } from "./iamDocuments";
import type { ApiContext } from "./settings";

export interface ApiAccessPolicies {
  /** `execute-api:InvalidateCache` on the stage's cached routes (the content writer). */
  invalidation: aws.iam.Policy;
  /** `execute-api:Invoke` on the stage (callers, when authorization is AWS_IAM). */
  invoke: aws.iam.Policy;
  /** FlushStageCache (operators). */
  flush: aws.iam.Policy;
}

/** Invalidation rights, exported for the content writer (and invoke and flush rights). */
export function createAccessPolicies(
  { name, settings: { routes, stageName, authorization }, apiName, tags, child, partition, region, accountId }: ApiContext,
  api: aws.apigateway.RestApi,
  stage: aws.apigateway.Stage,
): ApiAccessPolicies {
  const arnContext = pulumi.all([partition.partition, region, accountId, api.id, stage.stageName])
    .apply(([p, r, a, id, s]) => ({ partition: p, region: r, accountId: a, apiId: id, stageName: s }));
  const invalidation = new aws.iam.Policy(`${name}-invalidate`, {
    description: `Invalidate cached entries of ${apiName} stage ${stageName} (Cache-Control: max-age=0)`,
    policy: arnContext.apply((ctx) => JSON.stringify(invalidationPolicyDocument(ctx, routes, authorization))),
    tags,
  }, child);
  const invoke = new aws.iam.Policy(`${name}-invoke`, {
    description: `Invoke every method of ${apiName} stage ${stageName} (SigV4; needed when authorization is AWS_IAM)`,
    policy: arnContext.apply((ctx) => JSON.stringify(invokePolicyDocument(ctx))),
    tags,
  }, child);
  const flush = new aws.iam.Policy(`${name}-flush`, {
    description: `Flush the whole cache of ${apiName} stage ${stageName}`,
    policy: arnContext.apply((ctx) => JSON.stringify(flushPolicyDocument(ctx))),
    tags,
  }, child);
  return { invalidation, invoke, flush };
}
