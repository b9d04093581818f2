/**
 * What API Gateway does with a client request to the private REST API, computed from the resources
 * the program registered (RestApi, Resource, Method, Integration, Stage) under the mock engine. It
 * encodes the documented behaviour our mocks used to ignore:
 * - resource matching: a literal path part beats a `{param}` sibling, `{name+}` takes the rest;
 *   a method beats ANY on the same resource;
 * - HTTP_PROXY private integrations (VPC link V2): the backend gets the integration URI's path with
 *   `{param}`s filled from `integration.request.path.*` mappings, *with the stage name in front*
 *   ("API Gateway includes the stage portion of the API endpoint in the request to your backend",
 *   developer guide, "Private integrations for REST APIs"), and every query string (proxy);
 * - AWS integrations to S3 (`arn:...:s3:path/<bucket>/<key>`): the object key that would be read.
 * Nothing here calls AWS; tests feed its answer to the real handlers.
 */
import type { MockResource, ProgramRun } from "../../plan/engine";

export type ApiRoute =
  | { kind: "http-proxy"; resourcePath: string; method: string; host: string; port: number; protocol: string; backendPath: string; rawQuery: string }
  | { kind: "s3"; resourcePath: string; method: string; bucket: string; key: string }
  | { kind: "missing-auth-token" };

export interface SimulatedPrivateApi {
  stageName: string;
  /** Resource paths of the API ("/", "/items", "/items/{id}", ...). */
  resourcePaths: string[];
  /**
   * Resolve a request to the stage's invoke URL path ("/dev/items/42", with the stage, as clients
   * send it) and raw query ("lang=de") to what the integration does.
   */
  route(method: string, invokePath: string, rawQuery?: string): ApiRoute;
}

interface Node {
  id: string;
  path: string;
  pathPart: string;
  children: Node[];
}

function one(resources: MockResource[], type: string): MockResource {
  const found = resources.filter((r) => r.type === type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}

export function simulatePrivateApi(run: ProgramRun): SimulatedPrivateApi {
  const api = one(run.resources, "aws:apigateway/restApi:RestApi");
  const stage = one(run.resources, "aws:apigateway/stage:Stage");
  const stageName = String(stage.inputs.stageName);
  const rootId = String(api.state.rootResourceId);
  const root: Node = { id: rootId, path: "/", pathPart: "", children: [] };
  const byId = new Map<string, Node>([[rootId, root]]);
  const pending = run.ofType("aws:apigateway/resource:Resource").map((r) => ({ id: r.id, parentId: String(r.inputs.parentId), pathPart: String(r.inputs.pathPart) }));
  // Parents first, whatever the registration order.
  for (let progress = true; progress && pending.length > 0;) {
    progress = false;
    for (let i = pending.length - 1; i >= 0; i--) {
      const parent = byId.get(pending[i].parentId);
      if (!parent) continue;
      const p = pending.splice(i, 1)[0];
      const node: Node = { id: p.id, pathPart: p.pathPart, path: parent.path === "/" ? `/${p.pathPart}` : `${parent.path}/${p.pathPart}`, children: [] };
      parent.children.push(node);
      byId.set(node.id, node);
      progress = true;
    }
  }
  if (pending.length > 0) throw new Error(`resources without a parent in the API: ${pending.map((p) => p.pathPart).join(", ")}`);
  const integrations = run.ofType("aws:apigateway/integration:Integration");

  /** Match path segments against the tree: [node, params] or undefined. */
  const match = (node: Node, segments: string[], params: Record<string, string>): [Node, Record<string, string>] | undefined => {
    if (segments.length === 0) return [node, params];
    const [head, ...rest] = segments;
    const literal = node.children.find((c) => c.pathPart === head);
    if (literal) {
      const found = match(literal, rest, params);
      if (found) return found;
    }
    for (const c of node.children) {
      const m = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(c.pathPart);
      if (!m) continue;
      if (m[2] === "+") return [c, { ...params, [m[1]]: segments.join("/") }];
      const found = match(c, rest, { ...params, [m[1]]: head });
      if (found) return found;
    }
    return undefined;
  };

  return {
    stageName,
    resourcePaths: [...byId.values()].map((n) => n.path).sort(),
    route(method, invokePath, rawQuery = "") {
      const prefix = `/${stageName}`;
      if (invokePath !== prefix && !invokePath.startsWith(`${prefix}/`)) return { kind: "missing-auth-token" };
      const segments = invokePath.slice(prefix.length).split("/").filter((s) => s !== "");
      const found = match(root, segments, {});
      if (!found) return { kind: "missing-auth-token" };
      const [node, params] = found;
      const integration = integrations.find((i) => i.inputs.resourceId === node.id && i.inputs.httpMethod === method)
        ?? integrations.find((i) => i.inputs.resourceId === node.id && i.inputs.httpMethod === "ANY");
      if (!integration) return { kind: "missing-auth-token" };
      const mapped = (template: string): string => template.replace(/\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
        const source = (integration.inputs.requestParameters ?? {})[`integration.request.path.${name}`] as string | undefined;
        const from = source?.replace(/^method\.request\.path\./, "");
        if (from === undefined || params[from] === undefined) throw new Error(`integration of ${node.path} maps no value to {${name}}`);
        return params[from];
      });
      const uri = String(integration.inputs.uri);
      if (integration.inputs.type === "HTTP_PROXY") {
        const u = /^(https?):\/\/([^/:]+):(\d+)(\/.*)$/.exec(uri);
        if (!u) throw new Error(`unexpected integration URI ${uri}`);
        return {
          kind: "http-proxy",
          resourcePath: node.path,
          method,
          protocol: u[1],
          host: u[2],
          port: Number(u[3]),
          // Over a private integration the stage travels in front of the path.
          backendPath: `${prefix}${mapped(u[4])}`,
          rawQuery,
        };
      }
      const s3 = /^arn:aws[a-z-]*:apigateway:[a-z0-9-]+:s3:path\/([^/]+)\/(.*)$/.exec(uri);
      if (integration.inputs.type === "AWS" && s3) {
        return { kind: "s3", resourcePath: node.path, method, bucket: s3[1], key: mapped(s3[2]) };
      }
      throw new Error(`integration type ${integration.inputs.type} (${uri}) is not simulated`);
    },
  };
}
