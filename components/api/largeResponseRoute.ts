import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { pathSlug } from "../apiRoutes";
import type { ApiContext } from "./settings";

/** Path under which the API serves large responses straight from their bucket. */
export const LARGE_RESPONSE_PATH = "/_large";
/** S3 statuses (a regex on the integration's status) answered as the route's JSON 404. */
export const LARGE_RESPONSE_MISSING_PATTERN = "4\\d{2}";
/** S3 statuses answered as the route's JSON 502. */
export const LARGE_RESPONSE_FAILED_PATTERN = "5\\d{2}";
const LARGE_RESPONSE_MISSING_BODY = JSON.stringify({ error: { code: "large_response_gone", message: "the stored response has expired or never existed" } });
const LARGE_RESPONSE_FAILED_BODY = JSON.stringify({ error: { code: "large_response_unavailable", message: "the stored response could not be read; try again" } });

export interface LargeResponseRoute {
  /** Everything the deployment must wait for. */
  resources: pulumi.Resource[];
  /** Its part of the deployment spec (hashed). */
  spec: pulumi.Output<string>;
}

/**
 * `GET /_large/{key+}` served from the backend's large-response bucket by an S3 integration (no
 * backend involved): read-only role for API Gateway; S3's 4xx (a gone object) answered as a JSON 404,
 * its 5xx as a JSON 502.
 */
export function createLargeResponseRoute(
  ctx: ApiContext,
  api: aws.apigateway.RestApi,
  bucket: { name: pulumi.Input<string>; arn: pulumi.Input<string> },
): LargeResponseRoute {
  const { name, settings, parent, child, partition, region } = ctx;
  const keyPrefix = settings.largeResponseKeyPrefix ?? "";
  const { role, read } = createReader(ctx, bucket, keyPrefix);
  const folder = new aws.apigateway.Resource(`${name}-res${pathSlug(LARGE_RESPONSE_PATH)}`, {
    restApi: api.id,
    parentId: api.rootResourceId,
    pathPart: LARGE_RESPONSE_PATH.slice(1),
  }, child);
  const keyResource = new aws.apigateway.Resource(`${name}-res${pathSlug(`${LARGE_RESPONSE_PATH}/{key+}`)}`, {
    restApi: api.id,
    parentId: folder.id,
    pathPart: "{key+}",
  }, child);
  const slug = `GET${pathSlug(`${LARGE_RESPONSE_PATH}/{key+}`)}`;
  const method = new aws.apigateway.Method(`${name}-${slug}`, {
    restApi: api.id,
    resourceId: keyResource.id,
    httpMethod: "GET",
    authorization: settings.authorization,
    requestParameters: { "method.request.path.key": true },
  }, child);
  const uri = pulumi.interpolate`arn:${partition.partition}:apigateway:${region}:s3:path/${bucket.name}/${keyPrefix}{key}`;
  const integration = new aws.apigateway.Integration(`${name}-${slug}`, {
    restApi: api.id,
    resourceId: keyResource.id,
    httpMethod: method.httpMethod,
    type: "AWS",
    integrationHttpMethod: "GET",
    uri,
    credentials: role.arn,
    requestParameters: { "integration.request.path.key": "method.request.path.key" },
    passthroughBehavior: "WHEN_NO_MATCH",
    timeoutMilliseconds: settings.timeoutMs,
  }, { parent, dependsOn: [read] });
  const responses = createResponses(ctx, api, keyResource, method, integration, slug);
  const headers = RESPONSE_HEADERS;
  const spec = pulumi.all([uri, role.arn]).apply(([u, r]) => JSON.stringify({
    uri: u, role: r, keyPrefix, headers,
    responses: [
      { status: "200", pattern: null, headers },
      { status: "404", pattern: LARGE_RESPONSE_MISSING_PATTERN, body: LARGE_RESPONSE_MISSING_BODY },
      { status: "502", pattern: LARGE_RESPONSE_FAILED_PATTERN, body: LARGE_RESPONSE_FAILED_BODY },
    ],
  }));
  return { resources: [folder, keyResource, method, integration, ...responses], spec };
}

/** The object's headers the route passes on. */
const RESPONSE_HEADERS = ["Content-Type", "Content-Encoding", "Cache-Control"];

/** API Gateway's read-only role on the bucket's prefix. */
function createReader({ name, apiName, child }: ApiContext, bucket: { arn: pulumi.Input<string> }, keyPrefix: string): { role: aws.iam.Role; read: aws.iam.RolePolicy } {
  // No aws:SourceAccount condition: API Gateway does not send it when it assumes integration
  // credentials, and the role could never be assumed (reported with test-invoke-method). The role can
  // only read this bucket's prefix.
  const role = new aws.iam.Role(`${name}-large-read`, {
    description: `API Gateway reads large responses for ${apiName}`,
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" }],
    }),
  }, child);
  const read = new aws.iam.RolePolicy(`${name}-large-read`, {
    role: role.id,
    policy: pulumi.output(bucket.arn).apply((arn) => JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Sid: "ReadLargeResponses", Effect: "Allow", Action: ["s3:GetObject"], Resource: `${arn}/${keyPrefix}*` }],
    })),
  }, child);
  return { role, read };
}

/** The method's 200, 404 and 502 responses and the integration's mappings onto them (in that order). */
function createResponses(ctx: ApiContext, api: aws.apigateway.RestApi, keyResource: aws.apigateway.Resource, method: aws.apigateway.Method, integration: aws.apigateway.Integration, slug: string): pulumi.Resource[] {
  const headers = RESPONSE_HEADERS;
  const responses: { statusCode: string; method?: Partial<aws.apigateway.MethodResponseArgs>; mapping: Partial<aws.apigateway.IntegrationResponseArgs> }[] = [
    {
      statusCode: "200",
      method: { responseParameters: Object.fromEntries(headers.map((h) => [`method.response.header.${h}`, false])) },
      mapping: { responseParameters: Object.fromEntries(headers.map((h) => [`method.response.header.${h}`, `integration.response.header.${h}`])) },
    },
    // S3 answers 403 for a missing key when the reader may not list the bucket: both mean "gone".
    { statusCode: "404", mapping: { selectionPattern: LARGE_RESPONSE_MISSING_PATTERN, responseTemplates: { "application/json": LARGE_RESPONSE_MISSING_BODY } } },
    // S3's own failures (500, 503 SlowDown) must not go out as 200 with S3's XML error body.
    { statusCode: "502", mapping: { selectionPattern: LARGE_RESPONSE_FAILED_PATTERN, responseTemplates: { "application/json": LARGE_RESPONSE_FAILED_BODY } } },
  ];
  const on = { restApi: api.id, resourceId: keyResource.id, httpMethod: method.httpMethod };
  const methodResponses = responses.map((r) =>
    new aws.apigateway.MethodResponse(`${ctx.name}-${slug}-${r.statusCode}`, { ...on, statusCode: r.statusCode, ...r.method }, ctx.child));
  const mappings = responses.map((r, i) =>
    new aws.apigateway.IntegrationResponse(`${ctx.name}-${slug}-${r.statusCode}`, { ...on, statusCode: methodResponses[i].statusCode, ...r.mapping }, { parent: ctx.parent, dependsOn: [integration] }));
  return [...methodResponses, ...mappings];
}
