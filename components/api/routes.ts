import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import {
  buildResourceTree,
  cacheKeyParameters,
  integrationRequestParameters,
  integrationUri,
  methodRequestParameters,
  pathSlug,
} from "../apiRoutes";
import type { ApiContext } from "./settings";

/**
 * Resource tree, methods and integrations from the one route list: every method an HTTP_PROXY
 * integration over the VPC link to the ALB. Returns the methods and integrations (the deployment waits for them).
 */
export function createRoutes(
  ctx: ApiContext,
  api: aws.apigateway.RestApi,
  vpcLink: aws.apigatewayv2.VpcLink,
  backendHost: pulumi.Output<string>,
): pulumi.Resource[] {
  const { name, args, settings, child } = ctx;
  const resourceIds = createResourceTree(ctx, api);
  const port = args.backend.listenerPort;
  const methodsAndIntegrations: pulumi.Resource[] = [];
  for (const route of settings.routes) {
    const resourceId = resourceIds.get(route.path)!;
    const slug = `${route.method}${pathSlug(route.path)}`;
    const method = new aws.apigateway.Method(`${name}-${slug}`, {
      restApi: api.id,
      resourceId,
      httpMethod: route.method,
      authorization: settings.authorization,
      requestParameters: methodRequestParameters(route),
    }, child);
    const integration = new aws.apigateway.Integration(`${name}-${slug}`, {
      restApi: api.id,
      resourceId,
      httpMethod: method.httpMethod,
      type: "HTTP_PROXY",
      integrationHttpMethod: route.method,
      connectionType: "VPC_LINK",
      connectionId: vpcLink.id,
      integrationTarget: args.backend.loadBalancerArn,
      uri: backendHost.apply((host) => integrationUri(settings.protocol, host, port, route)),
      requestParameters: integrationRequestParameters(route),
      cacheKeyParameters: cacheKeyParameters(route),
      timeoutMilliseconds: settings.timeoutMs,
    }, child);
    methodsAndIntegrations.push(method, integration);
  }
  return methodsAndIntegrations;
}

/** One API Gateway resource per path node; the ids by path ("/" is the API's root). */
function createResourceTree({ name, settings, child }: ApiContext, api: aws.apigateway.RestApi): Map<string, pulumi.Output<string>> {
  const resourceIds = new Map<string, pulumi.Output<string>>([["/", api.rootResourceId]]);
  for (const node of buildResourceTree(settings.routes)) {
    const resource = new aws.apigateway.Resource(`${name}-res${pathSlug(node.path)}`, {
      restApi: api.id,
      parentId: resourceIds.get(node.parentPath)!,
      pathPart: node.pathPart,
    }, child);
    resourceIds.set(node.path, resource.id);
  }
  return resourceIds;
}
