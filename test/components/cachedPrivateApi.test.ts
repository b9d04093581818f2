import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import {
  buildResourceTree,
  cacheKeyParameters,
  CACHE_SIZES_GB,
  invalidateCacheResourceArns,
  methodSettingsPath,
  normalizeRoutes,
  type NormalizedRoute,
  parsePath,
  privateApiResourcePolicy,
  type RouteSpec,
  validateCacheSize,
  validateCacheTtl,
  validateThrottle,
} from "../../components/apiRoutes";
import { canonicalJson, deploymentHash, type DeploymentInputs } from "../../components/api/deploymentHash";
import type { CachedPrivateApiArgs } from "../../components/CachedPrivateApi";
import { alarmBreaches } from "../support/metricMath";
import { T } from "../support/types";

const PROJECT = "serverless-cache";
const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const ALB_ARN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/svc-internal/0123456789abcdef`;
const ALB_DNS = "internal-svc-internal-123456.us-east-1.elb.amazonaws.com";
const LISTENER_ARN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/svc-internal/0123456789abcdef/fedcba9876543210`;
const ALB_SG = "sg-0a1b0a1b0a1b0a1b0";
const BFF_SG = "sg-0bff0bff0bff0bff0";


interface Res {
  type: string;
  name: string;
  id: string;
  inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- mocked resource inputs are untyped JSON
  parent?: string;
}

interface Run {
  stack: string;
  resources: Res[];
  outputs: Record<string, unknown>;
  /** URNs of the component's direct children (Pulumi's own parent links). */
  childUrns: string[];
  ofType(type: string): Res[];
  one(type: string, namePart?: string): Res;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mocked resource inputs are untyped JSON
function computed(type: string, name: string, inputs: Record<string, any>, id: string): Record<string, unknown> {
  switch (type) {
    case T.restApi:
      return { rootResourceId: `${id}-root`, executionArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${id}`, arn: `arn:aws:apigateway:${REGION}::/restapis/${id}` };
    case T.stage:
      return { invokeUrl: `https://${inputs.restApi}.execute-api.${REGION}.amazonaws.com/${inputs.stageName}` };
    case T.policy:
      return { arn: `arn:aws:iam::${ACCOUNT}:policy/${name}` };
    case T.logGroup:
      return { arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${inputs.name}` };
    case T.alarm:
    case T.dashboard:
      return { arn: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:${name}` };
    default:
      return { arn: `arn:aws:mock:${REGION}:${ACCOUNT}:${name}` };
  }
}

function mockId(type: string, name: string, stack: string): string {
  if (type === T.restApi) return `${stack}api0001`;
  if (type === T.endpoint) return `vpce-0${stack}00000000000`;
  if (type === T.vpcLink) return `vl${stack}01`;
  return `${name}-id`;
}

let CachedPrivateApi: typeof import("../../components/CachedPrivateApi").CachedPrivateApi;

/**
 * Construct the component under fresh mocks for `stack` and collect what it registers.
 * Each run gets its own setMocks (a fresh engine), so repeated runs never collide on URNs.
 */
async function runApi(stack: string, args: CachedPrivateApiArgs): Promise<Run> {
  const resources: Res[] = [];
  await pulumi.runtime.setMocks({
    newResource(a) {
      const id = mockId(a.type, a.name, stack);
      const state = { ...a.inputs, ...computed(a.type, a.name, a.inputs, id) };
      resources.push({ type: a.type, name: a.name, id, inputs: a.inputs });
      return { id, state };
    },
    call(a) {
      switch (a.token) {
        case "aws:index/getRegion:getRegion":
          return { name: REGION, region: REGION, id: REGION };
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/test`, userId: "test" };
        case "aws:index/getPartition:getPartition":
          return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
        default:
          throw new Error(`unexpected call ${a.token}`);
      }
    },
  }, PROJECT, stack, false);
  const api = new CachedPrivateApi(`api-${stack}`, args);
  const wanted: Record<string, pulumi.Output<unknown>> = {
    apiId: api.apiId,
    stageName: api.stageName,
    invokeUrl: api.invokeUrl,
    privateDnsInvokeUrl: api.privateDnsInvokeUrl,
    vpcEndpointId: api.vpcEndpointId,
    invalidationPolicyArn: api.invalidationPolicyArn,
    flushPolicyArn: api.flushPolicyArn,
    deploymentHash: api.deploymentHash,
    alarmNames: api.alarmNames,
    region: api.region,
  };
  const outputs = await new Promise<Record<string, unknown>>((resolve) => pulumi.all(wanted).apply((v) => { resolve(v as Record<string, unknown>); return v; }));
  // Let registrations no output depends on (method settings, alarms) finish.
  let last = -1;
  while (last !== resources.length) {
    last = resources.length;
    await new Promise((r) => setTimeout(r, 50));
  }
  // The SDK links children to their parent in __childResources; the mock engine builds URNs from the parent.
  const children = [...((api as unknown as { __childResources?: Set<pulumi.Resource> }).__childResources ?? [])];
  const childUrns = await Promise.all(children.map((c) => new Promise<string>((resolve) => c.urn.apply((u) => { resolve(u); return u; }))));
  return {
    stack,
    resources,
    childUrns,
    outputs: { ...outputs, apiName: api.apiName },
    ofType: (type) => resources.filter((r) => r.type === type),
    one(type, namePart) {
      const found = resources.filter((r) => r.type === type && (!namePart || r.name.includes(namePart)));
      if (found.length !== 1) throw new Error(`expected one ${type}${namePart ? ` named *${namePart}*` : ""}, found ${found.length}: ${found.map((f) => f.name).join(", ")}`);
      return found[0];
    },
  };
}

const ROUTES: RouteSpec[] = [
  { path: "/items", method: "GET", queryStrings: ["page", "lang"] },
  { path: "/items/{id}", method: "GET", ttlSeconds: 600, queryStrings: ["lang"], headers: ["Accept-Language"] },
  { path: "/items/{id}/reviews", method: "GET", ttlSeconds: 60 },
  { path: "/items", method: "POST" },
  { path: "/search", method: "GET", cached: false, queryStrings: ["q"] },
];

function baseArgs(overrides: Partial<CachedPrivateApiArgs> = {}): CachedPrivateApiArgs {
  return {
    vpcId: "vpc-0123456789abcdef0",
    vpcCidrBlock: "10.10.0.0/16",
    privateSubnetIds: ["subnet-0aaa", "subnet-0bbb"],
    backend: {
      loadBalancerArn: ALB_ARN,
      loadBalancerDnsName: ALB_DNS,
      listenerArn: LISTENER_ARN,
      listenerPort: 80,
      securityGroupId: ALB_SG,
    },
    routes: ROUTES,
    clientSecurityGroupIds: [BFF_SG],
    cacheSizeGb: 1.6,
    ...overrides,
  };
}

/** Full path of an API Gateway Resource, rebuilt from parentId/pathPart links the way AWS does. */
function resourcePaths(run: Run): Map<string, string> {
  const api = run.one(T.restApi);
  const byId = new Map(run.ofType(T.resource).map((r) => [r.id, r]));
  const paths = new Map<string, string>([[`${api.id}-root`, "/"]]);
  const pathOf = (id: string): string => {
    const known = paths.get(id);
    if (known) return known;
    const r = byId.get(id);
    if (!r) throw new Error(`resource id ${id} has no Resource`);
    const parent = pathOf(r.inputs.parentId);
    const p = `${parent === "/" ? "" : parent}/${r.inputs.pathPart}`;
    paths.set(id, p);
    return p;
  };
  for (const id of byId.keys()) pathOf(id);
  return paths;
}

interface PolicyStatement {
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** A small IAM evaluator for the operators the resource policy uses (explicit deny > allow > implicit deny). */
function evaluate(policy: { Statement: PolicyStatement[] }, request: { action: string; resource: string; sourceVpce?: string }): "allow" | "deny" | "implicit-deny" {
  const glob = (pattern: string, value: string): boolean =>
    new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(value);
  const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);
  const conditionHolds = (cond: PolicyStatement["Condition"]): boolean => Object.entries(cond ?? {}).every(([op, keys]) =>
    Object.entries(keys).every(([key, expected]) => {
      assert.equal(key, "aws:SourceVpce", `evaluator only knows aws:SourceVpce, got ${key}`);
      const actual = request.sourceVpce;
      const matches = actual !== undefined && list(expected).includes(actual);
      if (op === "StringEquals") return matches;
      if (op === "StringNotEquals") return !matches; // absent key: negated operators hold
      throw new Error(`evaluator does not know ${op}`);
    }));
  const applicable = policy.Statement.filter((s) => list(s.Action).some((a) => glob(a, request.action))
    && list(s.Resource).some((r) => glob(r, request.resource)) && conditionHolds(s.Condition));
  if (applicable.some((s) => s.Effect === "Deny")) return "deny";
  return applicable.some((s) => s.Effect === "Allow") ? "allow" : "implicit-deny";
}

describe("CachedPrivateApi: pure route helpers", () => {
  const norm = (routes: RouteSpec[], defaultTtlSeconds = 300, proxyFallback = true): NormalizedRoute[] =>
    normalizeRoutes(routes, { defaultTtlSeconds, proxyFallback });

  it("parses literal, parameter and greedy segments", () => {
    assert.deepEqual(parsePath("/"), []);
    assert.deepEqual(parsePath("/items/{id}/v1.0_x-y"), [
      { kind: "literal", value: "items" }, { kind: "param", name: "id" }, { kind: "literal", value: "v1.0_x-y" },
    ]);
    assert.deepEqual(parsePath("/files/{path+}"), [{ kind: "literal", value: "files" }, { kind: "greedy", name: "path" }]);
  });

  for (const [path, reason] of [
    ["items", /must start with "\/"/],
    ["", /must start with "\/"/],
    ["/items/", /must not end with "\/"/],
    ["/items//x", /empty segment/],
    ["/items/{id", /whole parameter/],
    ["/items/x{id}", /whole parameter/],
    ["/items/{1d}", /whole parameter/],
    ["/items/{a-b}", /whole parameter/],
    ["/{proxy+}/x", /greedy parameter \{proxy\+\} must be the last segment/],
    ["/a/{id}/b/{id}", /parameter \{id\} appears twice/],
    ["/items/a b", /may contain only/],
    ["/items/caf%C3%A9", /may contain only/],
    ["/items/~x", /may contain only/],
  ] as const) {
    it(`rejects path ${JSON.stringify(path)}`, () => {
      assert.throws(() => parsePath(path), reason);
      assert.throws(() => norm([{ path, method: "GET" }]), reason);
    });
  }

  it("resolves defaults: GET cached with the stage TTL, other methods uncached, TTL 0 disables", () => {
    const routes = norm([
      { path: "/a", method: "GET" },
      { path: "/b", method: "get", ttlSeconds: 60 },
      { path: "/c", method: "GET", ttlSeconds: 0 },
      { path: "/d", method: "GET", cached: false },
      { path: "/a", method: "POST" },
      { path: "/a", method: "ANY" },
    ], 120, false);
    const by = (k: string) => routes.find((r) => r.key === k)!;
    assert.deepEqual([by("GET /a").cached, by("GET /a").ttlSeconds], [true, 120]);
    assert.deepEqual([by("GET /b").cached, by("GET /b").ttlSeconds], [true, 60]);
    assert.deepEqual([by("GET /c").cached, by("GET /c").ttlSeconds], [false, 0]);
    assert.deepEqual([by("GET /d").cached, by("GET /d").ttlSeconds], [false, 0]);
    assert.deepEqual([by("POST /a").cached, by("ANY /a").cached], [false, false]);
    const offByDefault = norm([{ path: "/a", method: "GET" }, { path: "/b", method: "GET", ttlSeconds: 30 }], 0, false);
    assert.deepEqual(offByDefault.map((r) => [r.key, r.cached, r.ttlSeconds]), [["GET /a", false, 0], ["GET /b", true, 30]]);
  });

  it("rejects duplicates, conflicting variables, caching non-GET, TTLs out of bounds, bad names", () => {
    const cases: [RouteSpec[], RegExp][] = [
      [[{ path: "/a", method: "GET" }, { path: "/a", method: "get" }], /duplicate route GET \/a \(also routes\[0\]\)/],
      [[{ path: "/items/{id}", method: "GET" }, { path: "/items/{itemId}", method: "PUT" }], /\/items has two different variable children \{id\} and \{itemId\}/],
      [[{ path: "/items/{id}", method: "GET" }, { path: "/items/{rest+}", method: "GET" }], /two different variable children/],
      [[{ path: "/a", method: "POST", cached: true }], /only GET routes can be cached/],
      [[{ path: "/a", method: "POST", ttlSeconds: 60 }], /ttlSeconds is set but the route is not cached/],
      [[{ path: "/a", method: "GET", cached: false, ttlSeconds: 60 }], /ttlSeconds is set but the route is not cached/],
      [[{ path: "/a", method: "GET", cached: true, ttlSeconds: 0 }], /TTL is 0/],
      [[{ path: "/a", method: "GET", ttlSeconds: 3601 }], /ttlSeconds = 3601: must be a whole number of seconds from 0 \(caching off\) to 3600/],
      [[{ path: "/a", method: "GET", ttlSeconds: -1 }], /ttlSeconds = -1/],
      [[{ path: "/a", method: "GET", ttlSeconds: 1.5 }], /ttlSeconds = 1.5/],
      [[{ path: "/a", method: "FETCH" }], /method "FETCH" must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, ANY/],
      [[{ path: "/a", method: "GET", queryStrings: ["lang", "lang"] }], /query string "lang" is declared twice/],
      [[{ path: "/a", method: "GET", queryStrings: ["a b"] }], /query string name "a b" is not valid/],
      [[{ path: "/a", method: "GET", headers: ["X-A", "x-a"] }], /header "x-a" is declared twice/],
      [[{ path: "/a", method: "GET", headers: ["X A"] }], /header name "X A" is not valid/],
      [[{ path: "/{id}", method: "GET" }], /leaves no room for the ANY \/\{proxy\+\} fallback/],
    ];
    for (const [routes, reason] of cases) assert.throws(() => norm(routes), reason, JSON.stringify(routes));
    assert.throws(() => norm([], 300, false), /routes is empty/);
  });

  it("adds the uncached ANY /{proxy+} fallback once, reusing a declared root greedy name", () => {
    const plain = norm([{ path: "/a", method: "GET" }]);
    assert.deepEqual(plain.filter((r) => r.fallback).map((r) => [r.key, r.cached, r.pathParams]), [["ANY /{proxy+}", false, ["proxy"]]]);
    const declared = norm([{ path: "/{rest+}", method: "GET" }]);
    assert.deepEqual(declared.map((r) => [r.key, r.cached]), [["ANY /{rest+}", false], ["GET /{rest+}", true]]);
    const own = norm([{ path: "/{proxy+}", method: "ANY" }]);
    assert.equal(own.length, 1);
    assert.equal(own[0].fallback, false);
    assert.deepEqual(norm([{ path: "/a", method: "GET" }], 300, false).map((r) => r.key), ["GET /a"]);
  });

  it("builds each shared prefix once, parents first", () => {
    const tree = buildResourceTree(norm(ROUTES));
    assert.deepEqual(tree.map((n) => [n.path, n.pathPart, n.parentPath]), [
      ["/items", "items", "/"],
      ["/search", "search", "/"],
      ["/{proxy+}", "{proxy+}", "/"],
      ["/items/{id}", "{id}", "/items"],
      ["/items/{id}/reviews", "reviews", "/items/{id}"],
    ]);
  });

  it("puts path parameters, declared query strings and headers into the cache key of cached routes only", () => {
    const routes = norm(ROUTES);
    const by = (k: string) => routes.find((r) => r.key === k)!;
    assert.deepEqual(cacheKeyParameters(by("GET /items/{id}")), [
      "method.request.path.id", "method.request.querystring.lang", "method.request.header.Accept-Language",
    ]);
    assert.deepEqual(cacheKeyParameters(by("GET /items")), ["method.request.querystring.lang", "method.request.querystring.page"]);
    assert.deepEqual(cacheKeyParameters(by("GET /items/{id}/reviews")), ["method.request.path.id"]);
    assert.deepEqual(cacheKeyParameters(by("GET /search")), []);
    assert.deepEqual(cacheKeyParameters(by("ANY /{proxy+}")), []);
  });

  it("escapes method settings paths as JSON pointers (~1), root included", () => {
    assert.equal(methodSettingsPath({ path: "/items/{id}", method: "GET" }), "~1items~1{id}/GET");
    assert.equal(methodSettingsPath({ path: "/items", method: "GET" }), "~1items/GET");
    assert.equal(methodSettingsPath({ path: "/", method: "GET" }), "~1/GET");
    assert.equal(methodSettingsPath({ path: "/{proxy+}", method: "GET" }), "~1{proxy+}/GET");
  });

  it("scopes InvalidateCache ARNs to the API, stage, GET and the cached routes", () => {
    const ctx = { partition: "aws", region: REGION, accountId: ACCOUNT, apiId: "abc123", stageName: "dev" };
    const p = `arn:aws:execute-api:${REGION}:${ACCOUNT}:abc123/dev/GET/`;
    assert.deepEqual(invalidateCacheResourceArns(ctx, norm([...ROUTES, { path: "/", method: "GET" }, { path: "/files/{f+}", method: "GET" }])), [
      p, `${p}files/*`, `${p}items`, `${p}items/*`, `${p}items/*/reviews`,
    ]);
    assert.deepEqual(invalidateCacheResourceArns(ctx, norm([{ path: "/a", method: "POST" }])), [`${p}*`]);
  });

  it("validates cache sizes and TTLs naming the field and the allowed values", () => {
    for (const s of CACHE_SIZES_GB) {
      assert.equal(validateCacheSize(s), s);
      assert.equal(validateCacheSize(Number(s)), s);
    }
    assert.equal(validateCacheSize("118.0"), "118");
    for (const bad of [0, 1, 2, "1.5", "", " ", "abc", null, undefined, NaN, "0.5GB", true]) {
      assert.throws(() => validateCacheSize(bad, "serverless-cache:apiGatewayCacheSizeGb"),
        /^Error: serverless-cache:apiGatewayCacheSizeGb = .*: must be one of 0\.5, 1\.6, 6\.1, 13\.5, 28\.4, 58\.2, 118, 237 \(GB\)$/, String(bad));
    }
    for (const ok of [0, 1, 300, 3600, "300"]) assert.equal(validateCacheTtl(ok), Number(ok));
    for (const bad of [-1, 3601, 1.5, "", "5m", null, undefined, NaN, Infinity]) {
      assert.throws(() => validateCacheTtl(bad, "apiGatewayCacheTtlSeconds"), /^Error: apiGatewayCacheTtlSeconds = .*: must be a whole number of seconds from 0 \(caching off\) to 3600$/, String(bad));
    }
    assert.deepEqual(validateThrottle("100.5", "200"), { rateLimit: 100.5, burstLimit: 200 });
    assert.throws(() => validateThrottle(0, 10), /throttleRateLimit = 0/);
    assert.throws(() => validateThrottle(10, 1.5), /throttleBurstLimit = 1.5/);
  });

  it("resource policy: invoke only through the given endpoint, explicit deny otherwise", () => {
    const policy = privateApiResourcePolicy(`arn:aws:execute-api:${REGION}:${ACCOUNT}:abc123`, "vpce-1") as { Statement: PolicyStatement[] };
    const res = `arn:aws:execute-api:${REGION}:${ACCOUNT}:abc123/dev/GET/items`;
    assert.equal(evaluate(policy, { action: "execute-api:Invoke", resource: res, sourceVpce: "vpce-1" }), "allow");
    assert.equal(evaluate(policy, { action: "execute-api:Invoke", resource: res, sourceVpce: "vpce-2" }), "deny");
    assert.equal(evaluate(policy, { action: "execute-api:Invoke", resource: res }), "deny");
    assert.equal(evaluate(policy, { action: "execute-api:InvalidateCache", resource: res, sourceVpce: "vpce-2" }), "deny");
  });

  describe("deployment hash", () => {
    const inputs = (routes: RouteSpec[] = ROUTES, patch: (i: DeploymentInputs) => void = () => undefined): DeploymentInputs => {
      const i: DeploymentInputs = {
        routes: norm(routes),
        backend: { protocol: "http", host: ALB_DNS, port: 80, loadBalancerArn: ALB_ARN, listenerArn: LISTENER_ARN, vpcLinkId: "vl1", timeoutMilliseconds: 29000 },
        cache: { clusterEnabled: true, sizeGb: "0.5", defaultTtlSeconds: 300, dataEncrypted: true, requireAuthorizationForCacheControl: true, unauthorizedCacheControlHeaderStrategy: "FAIL_WITH_403" },
        throttle: { rateLimit: 1000, burstLimit: 2000 },
        policy: JSON.stringify(privateApiResourcePolicy("arn:aws:execute-api:us-east-1:1:abc", "vpce-1")),
      };
      patch(i);
      return i;
    };
    const base = deploymentHash(inputs());

    it("is a sha256 hex digest of canonical JSON, stable when nothing changes (order and casing included)", () => {
      assert.match(base, /^[0-9a-f]{64}$/);
      assert.equal(deploymentHash(inputs()), base);
      assert.equal(deploymentHash(inputs(structuredClone(ROUTES))), base);
      assert.equal(deploymentHash(inputs([...ROUTES].reverse())), base, "declaration order does not redeploy");
      const reordered = ROUTES.map((r) => ({ ...r, method: r.method.toLowerCase(), queryStrings: r.queryStrings && [...r.queryStrings].reverse() }));
      assert.equal(deploymentHash(inputs(reordered)), base, "method casing and query string order do not redeploy");
      assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }));
    });

    const routeChanges: [string, (r: RouteSpec[]) => void][] = [
      ["a path", (r) => { r[2].path = "/items/{id}/comments"; }],
      ["a method", (r) => { r[3].method = "PUT"; }],
      ["caching turned off", (r) => { r[0].cached = false; }],
      ["caching turned on", (r) => { delete r[4].cached; }],
      ["a route TTL", (r) => { r[1].ttlSeconds = 601; }],
      ["a query string added", (r) => { r[1].queryStrings = ["lang", "v"]; }],
      ["a query string renamed", (r) => { r[0].queryStrings = ["page", "locale"]; }],
      ["a header added", (r) => { r[2].headers = ["X-Tenant"]; }],
      ["a header removed", (r) => { r[1].headers = []; }],
      ["a route added", (r) => { r.push({ path: "/health", method: "GET", cached: false }); }],
      ["a route removed", (r) => { r.pop(); }],
      ["a parameter renamed", (r) => { r[1].path = "/items/{itemId}"; r[2].path = "/items/{itemId}/reviews"; }],
    ];
    for (const [what, change] of routeChanges) {
      it(`changes on a route change: ${what}`, () => {
        const routes = structuredClone(ROUTES);
        change(routes);
        assert.notEqual(deploymentHash(inputs(routes)), base);
      });
    }
    const otherChanges: [string, (i: DeploymentInputs) => void][] = [
      ["the ALB ARN", (i) => { i.backend.loadBalancerArn += "x"; }],
      ["the ALB DNS name", (i) => { i.backend.host = "other.elb.amazonaws.com"; }],
      ["the listener port", (i) => { i.backend.port = 8080; }],
      ["the listener ARN", (i) => { i.backend.listenerArn += "x"; }],
      ["the VPC link", (i) => { i.backend.vpcLinkId = "vl2"; }],
      ["the integration timeout", (i) => { i.backend.timeoutMilliseconds = 10000; }],
      ["the cache size", (i) => { i.cache.sizeGb = "1.6"; }],
      ["the default TTL", (i) => { i.cache.defaultTtlSeconds = 301; }],
      ["the cache encryption", (i) => { i.cache.dataEncrypted = false; }],
      ["the throttle", (i) => { i.throttle.burstLimit = 2001; }],
      ["the policy", (i) => { i.policy = JSON.stringify(privateApiResourcePolicy("arn:aws:execute-api:us-east-1:1:abc", "vpce-2")); }],
    ];
    for (const [what, change] of otherChanges) {
      it(`changes when ${what} changes`, () => assert.notEqual(deploymentHash(inputs(ROUTES, change)), base));
    }
  });
});

describe("CachedPrivateApi under Pulumi mocks", function () {
  this.timeout(30_000);
  const runs: Record<string, Run> = {};

  before(async () => {
    // Mocks first, then the module: no resource may exist before setMocks.
    await pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs }, PROJECT, "dev", false);
    CachedPrivateApi = (require("../../components/CachedPrivateApi") as typeof import("../../components/CachedPrivateApi")).CachedPrivateApi;
    runs.dev = await runApi("dev", baseArgs());
    runs.prod = await runApi("prod", baseArgs({ cacheSizeGb: "6.1", cacheTtlSeconds: 900, manageAccountCloudWatchRole: true }));
  });

  for (const stack of ["dev", "prod"]) {
    describe(`stack ${stack}`, () => {
      let run: Run;
      before(() => { run = runs[stack]; });

      it("is a PRIVATE API associated with its own execute-api endpoint", () => {
        const api = run.one(T.restApi);
        const endpoint = run.one(T.endpoint);
        assert.deepEqual(api.inputs.endpointConfiguration, { types: "PRIVATE", vpcEndpointIds: [endpoint.id] });
        assert.equal(endpoint.inputs.serviceName, `com.amazonaws.${REGION}.execute-api`);
        assert.equal(endpoint.inputs.vpcEndpointType, "Interface");
        assert.equal(endpoint.inputs.privateDnsEnabled, true);
        assert.deepEqual(endpoint.inputs.subnetIds, ["subnet-0aaa", "subnet-0bbb"]);
        const sg = run.one(T.sg, "endpoint-sg");
        assert.deepEqual(endpoint.inputs.securityGroupIds, [sg.id]);
        const rules = run.ofType(T.ingress).filter((r) => r.inputs.securityGroupId === sg.id);
        assert.deepEqual(rules.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.cidrIpv4, r.inputs.fromPort, r.inputs.toPort]), [[BFF_SG, undefined, 443, 443]],
          "only the BFF security group on 443 (no CIDR when client SGs are given)");
        const endpointPolicy = JSON.parse(endpoint.inputs.policy);
        assert.deepEqual(endpointPolicy.Statement.map((s: PolicyStatement) => s.Resource), [`arn:aws:execute-api:${REGION}:${ACCOUNT}:*`]);
      });

      it("has a resource policy that allows only requests through that endpoint and denies the rest", () => {
        const api = run.one(T.restApi);
        const vpce = run.one(T.endpoint).id;
        const policyRes = run.one(T.restApiPolicy);
        assert.equal(policyRes.inputs.restApiId, api.id);
        const policy = JSON.parse(policyRes.inputs.policy) as { Statement: PolicyStatement[] };
        const resource = `arn:aws:execute-api:${REGION}:${ACCOUNT}:${api.id}/${stack}/GET/items`;
        assert.equal(evaluate(policy, { action: "execute-api:Invoke", resource, sourceVpce: vpce }), "allow");
        assert.equal(evaluate(policy, { action: "execute-api:Invoke", resource, sourceVpce: "vpce-0someoneelse000000" }), "deny");
        assert.equal(evaluate(policy, { action: "execute-api:Invoke", resource }), "deny", "no endpoint at all (public internet, other VPCs)");
        assert.ok(policy.Statement.some((s) => s.Effect === "Deny" && s.Condition?.StringNotEquals?.["aws:SourceVpce"] === vpce), "the deny is explicit");
      });

      it("builds one resource per distinct path, shared prefixes once", () => {
        const paths = [...resourcePaths(run).values()].sort();
        assert.deepEqual(paths, ["/", "/items", "/items/{id}", "/items/{id}/reviews", "/search", "/{proxy+}"]);
        assert.equal(run.ofType(T.resource).length, 5);
      });

      it("gives each declared route its method, VPC link V2 integration to the ALB and cache key", () => {
        const paths = resourcePaths(run);
        const routes = normalizeRoutes(ROUTES, { defaultTtlSeconds: stack === "prod" ? 900 : 300, proxyFallback: true });
        const vpcLink = run.one(T.vpcLink);
        assert.equal(run.ofType(T.method).length, routes.length);
        assert.equal(run.ofType(T.integration).length, routes.length);
        for (const route of routes) {
          const onRoute = (r: Res) => paths.get(r.inputs.resourceId) === route.path && r.inputs.httpMethod === route.method;
          const methods = run.ofType(T.method).filter(onRoute);
          const integrations = run.ofType(T.integration).filter(onRoute);
          assert.equal(methods.length, 1, `method for ${route.key}`);
          assert.equal(integrations.length, 1, `integration for ${route.key}`);
          const [m, i] = [methods[0], integrations[0]];
          assert.equal(m.inputs.authorization, "NONE");
          const expectedParams = Object.fromEntries([
            ...route.pathParams.map((p) => [`method.request.path.${p}`, true]),
            ...route.queryStrings.map((q) => [`method.request.querystring.${q}`, false]),
            ...route.headers.map((h) => [`method.request.header.${h}`, false]),
          ]);
          assert.deepEqual(m.inputs.requestParameters ?? {}, expectedParams, route.key);
          assert.equal(i.inputs.type, "HTTP_PROXY");
          assert.equal(i.inputs.connectionType, "VPC_LINK");
          assert.equal(i.inputs.connectionId, vpcLink.id);
          assert.equal(i.inputs.integrationTarget, ALB_ARN);
          assert.equal(i.inputs.integrationHttpMethod, route.method);
          const backendPath = route.path.replace(/\{(\w+)\+\}/, "{$1}");
          assert.equal(i.inputs.uri, `http://${ALB_DNS}:80${backendPath}`);
          for (const [k, v] of Object.entries(expectedParams)) {
            assert.equal(i.inputs.requestParameters[k.replace("method.", "integration.")], k, `${route.key} maps ${k}`);
            void v;
          }
          const key = [...(i.inputs.cacheKeyParameters ?? [])].sort();
          const expectedKey = route.cached ? Object.keys(expectedParams).sort() : [];
          assert.deepEqual(key, expectedKey, `cache key of ${route.key}`);
        }
        const byKey = (p: string) => run.ofType(T.integration).find((r) => paths.get(r.inputs.resourceId) === p && r.inputs.httpMethod === "GET")!;
        assert.ok(byKey("/items/{id}").inputs.cacheKeyParameters.includes("method.request.path.id"), "/items/1 and /items/2 never share an entry");
      });

      it("connects the VPC link through its own security group admitted into the ALB's on the listener port", () => {
        const vpcLink = run.one(T.vpcLink);
        const linkSg = run.one(T.sg, "vpclink-sg");
        assert.deepEqual(vpcLink.inputs.securityGroupIds, [linkSg.id]);
        assert.deepEqual(vpcLink.inputs.subnetIds, ["subnet-0aaa", "subnet-0bbb"]);
        const albIn = run.ofType(T.ingress).filter((r) => r.inputs.securityGroupId === ALB_SG);
        assert.deepEqual(albIn.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.ipProtocol, r.inputs.fromPort, r.inputs.toPort]), [[linkSg.id, "tcp", 80, 80]]);
        const out = run.ofType(T.egress).filter((r) => r.inputs.securityGroupId === linkSg.id);
        assert.deepEqual(out.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort]), [[ALB_SG, 80]]);
      });

      it("carries TTL, encryption and authorised invalidation in the method settings of every cached route", () => {
        const ttl = stack === "prod" ? 900 : 300;
        const settings = run.ofType(T.methodSettings);
        const stage = run.one(T.stage);
        const byPath = new Map(settings.map((s) => [s.inputs.methodPath, s]));
        const expected: Record<string, number> = { "*/*": ttl, "~1items/GET": ttl, "~1items~1{id}/GET": 600, "~1items~1{id}~1reviews/GET": 60 };
        assert.deepEqual([...byPath.keys()].sort(), Object.keys(expected).sort());
        for (const [path, s] of byPath) {
          assert.equal(s.inputs.stageName, stage.inputs.stageName);
          assert.equal(s.inputs.settings.cachingEnabled, path !== "*/*", `${path} caching`);
          assert.equal(s.inputs.settings.cacheTtlInSeconds, expected[path], `${path} TTL`);
          assert.equal(s.inputs.settings.cacheDataEncrypted, true);
          assert.equal(s.inputs.settings.requireAuthorizationForCacheControl, true);
          // A browser reload forwarded with max-age=0 is served from the cache, not refused (and not a flush).
          assert.equal(s.inputs.settings.unauthorizedCacheControlHeaderStrategy, "SUCCEED_WITH_RESPONSE_HEADER");
          assert.equal(s.inputs.settings.metricsEnabled, true);
          assert.equal(s.inputs.settings.throttlingRateLimit, 1000);
          assert.equal(s.inputs.settings.throttlingBurstLimit, 2000);
        }
      });

      it("enables the stage cache at the configured size, with JSON access logs, named after the stack", () => {
        const stage = run.one(T.stage);
        assert.equal(stage.inputs.stageName, stack);
        assert.equal(stage.inputs.cacheClusterEnabled, true);
        assert.equal(stage.inputs.cacheClusterSize, stack === "prod" ? "6.1" : "1.6");
        assert.equal(stage.inputs.deployment, run.one(T.deployment).id);
        const logs = run.one(T.logGroup);
        assert.equal(stage.inputs.accessLogSettings.destinationArn, `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${logs.inputs.name}`);
        assert.equal(logs.inputs.retentionInDays, 14);
        const format = JSON.parse(stage.inputs.accessLogSettings.format);
        assert.equal(format.requestId, "$context.requestId");
        assert.equal(format.status, "$context.status");
        assert.equal(run.ofType(T.account).length, stack === "prod" ? 1 : 0, "the account-wide log role only where asked");
      });

      it("scopes the invalidation policy to this API, this stage and GET", () => {
        const api = run.one(T.restApi);
        const policy = JSON.parse(run.one(T.policy, "invalidate").inputs.policy) as { Statement: PolicyStatement[] };
        assert.equal(policy.Statement.length, 1);
        const [s] = policy.Statement;
        assert.equal(s.Effect, "Allow");
        assert.deepEqual(s.Action, ["execute-api:InvalidateCache"]);
        const prefix = `arn:aws:execute-api:${REGION}:${ACCOUNT}:${api.id}/${stack}/GET/`;
        assert.deepEqual(s.Resource, [`${prefix}items`, `${prefix}items/*`, `${prefix}items/*/reviews`]);
        assert.equal(run.outputs.invalidationPolicyArn, `arn:aws:iam::${ACCOUNT}:policy/api-${stack}-invalidate`);
        const flush = JSON.parse(run.one(T.policy, "flush").inputs.policy) as { Statement: PolicyStatement[] };
        assert.deepEqual(flush.Statement[0].Resource, [`arn:aws:apigateway:${REGION}::/restapis/${api.id}/stages/${stack}/cache/data`]);
      });

      it("outputs the endpoint-specific invoke URL, ids and the alarms", () => {
        const api = run.one(T.restApi);
        const vpce = run.one(T.endpoint).id;
        assert.equal(run.outputs.invokeUrl, `https://${api.id}-${vpce}.execute-api.${REGION}.amazonaws.com/${stack}`);
        assert.equal(run.outputs.privateDnsInvokeUrl, `https://${api.id}.execute-api.${REGION}.amazonaws.com/${stack}`);
        assert.equal(run.outputs.apiId, api.id);
        assert.equal(run.outputs.vpcEndpointId, vpce);
        assert.equal(run.outputs.stageName, stack);
        assert.equal(run.outputs.region, REGION);
        assert.equal(run.one(T.deployment).inputs.triggers.redeployment, run.outputs.deploymentHash);
        assert.deepEqual(run.outputs.alarmNames, [`api-${stack}-${stack}-cache-hit-ratio-low`, `api-${stack}-${stack}-5xx-rate-high`]);
      });

      it("watches cache hits, misses, latency and errors of this API and stage", () => {
        const apiName = run.outputs.apiName as string;
        const body = JSON.parse(run.one(T.dashboard).inputs.dashboardBody);
        const metrics = body.widgets.flatMap((w: { properties: { metrics: unknown[][] } }) => w.properties.metrics)
          .filter((m: unknown[]) => m[0] === "AWS/ApiGateway");
        const names = new Set(metrics.map((m: unknown[]) => m[1]));
        for (const n of ["CacheHitCount", "CacheMissCount", "Latency", "IntegrationLatency", "4XXError", "5XXError"]) assert.ok(names.has(n), n);
        for (const m of metrics) assert.deepEqual(m.slice(2, 6), ["ApiName", apiName, "Stage", stack]);
        const hit = run.one(T.alarm, "cache-hit-ratio").inputs;
        assert.equal(hit.comparisonOperator, "LessThanThreshold");
        assert.equal(hit.threshold, 50);
        const expr = hit.metricQueries.find((q: { returnData: boolean }) => q.returnData).expression as string;
        assert.ok(expr, "the alarm returns an expression");
        // A cold cache: misses only, and CloudWatch reports no CacheHitCount at all (no non-zero value).
        assert.equal(alarmBreaches(hit, { hits: undefined, misses: 150 }), true, "a cold cache alarms");
        assert.equal(alarmBreaches(hit, { hits: 40, misses: 60 }), true, "40% < 50%");
        assert.equal(alarmBreaches(hit, { hits: 60, misses: 40 }), false);
        assert.equal(alarmBreaches(hit, { hits: undefined, misses: 99 }), false, "fewer than 100 cacheable requests: no alarm");
        assert.equal(alarmBreaches(hit, { hits: undefined, misses: undefined }), false, "no traffic: no alarm");
        type Query = { id: string; metric?: { metricName: string; dimensions: object } };
        const metricOf = (alarm: Res["inputs"], id: string) => (alarm.metricQueries as Query[]).find((q) => q.id === id)!.metric!;
        assert.equal(metricOf(hit, "hits").metricName, "CacheHitCount");
        assert.equal(metricOf(hit, "misses").metricName, "CacheMissCount");
        assert.deepEqual(metricOf(hit, "hits").dimensions, { ApiName: apiName, Stage: stack });
        const err = run.one(T.alarm, "5xx-rate").inputs;
        assert.equal(err.comparisonOperator, "GreaterThanThreshold");
        assert.equal(err.threshold, 5);
        assert.equal(metricOf(err, "errors").metricName, "5XXError");
        assert.equal(metricOf(err, "requests").metricName, "Count");
        assert.equal(alarmBreaches(err, { errors: 10, requests: 100 }), true, "10% > 5%");
        assert.equal(alarmBreaches(err, { errors: undefined, requests: 1000 }), false, "no 5XXError reported: 0%");
        assert.equal(alarmBreaches(err, { errors: 5, requests: 10 }), false, "too few requests to judge");
      });

      it("parents every child to the component", () => {
        const custom = run.resources.filter((r) => r.type !== T.cachedPrivateApi);
        assert.equal(run.childUrns.length, custom.length, "every registered resource is a direct child of the component");
        for (const urn of run.childUrns) assert.match(urn, new RegExp(`^urn:pulumi:${stack}::${PROJECT}::serverless-cache:api:CachedPrivateApi\\$[^$]+::api-${stack}`), urn);
      });
    });
  }

  it("keeps stacks apart: own API name, endpoint, stage, policies", () => {
    const [dev, prod] = [runs.dev, runs.prod];
    assert.equal(dev.one(T.restApi).inputs.name, "api-dev");
    assert.equal(prod.one(T.restApi).inputs.name, "api-prod");
    assert.notEqual(dev.outputs.stageName, prod.outputs.stageName);
    assert.notEqual(dev.outputs.vpcEndpointId, prod.outputs.vpcEndpointId);
    assert.notEqual(dev.outputs.invokeUrl, prod.outputs.invokeUrl);
    assert.notEqual(dev.outputs.deploymentHash, prod.outputs.deploymentHash);
  });

  it("the deployment trigger is the same on an identical run and changes when any route changes", async () => {
    const again = await runApi("dev", baseArgs());
    assert.equal(again.one(T.deployment).inputs.triggers.redeployment, runs.dev.one(T.deployment).inputs.triggers.redeployment);
    const changed = structuredClone(ROUTES);
    changed[1].queryStrings = ["lang", "currency"];
    const other = await runApi("dev", baseArgs({ routes: changed }));
    assert.notEqual(other.one(T.deployment).inputs.triggers.redeployment, runs.dev.one(T.deployment).inputs.triggers.redeployment);
  });

  it("AWS_IAM: signed callers only; the invalidation policy alone lets the writer send its signed GET (Invoke + InvalidateCache)", async () => {
    const run = await runApi("dev", baseArgs({ authorization: "AWS_IAM" }));
    const api = run.one(T.restApi);
    for (const m of run.ofType(T.method)) assert.equal(m.inputs.authorization, "AWS_IAM", m.name);
    const resourcePolicy = JSON.parse(run.one(T.restApiPolicy).inputs.policy) as { Statement: (PolicyStatement & { Sid: string; Principal: unknown })[] };
    const allowInvoke = resourcePolicy.Statement.find((st) => st.Sid === "AllowInvokeThroughOwnVpcEndpoint")!;
    assert.deepEqual(allowInvoke.Principal, { AWS: `arn:aws:iam::${ACCOUNT}:root` }, "the account, which delegates to the callers' IAM policies");
    const policy = JSON.parse(run.one(T.policy, "invalidate").inputs.policy) as { Statement: PolicyStatement[] };
    const prefix = `arn:aws:execute-api:${REGION}:${ACCOUNT}:${api.id}/dev/GET/`;
    const routes = [`${prefix}items`, `${prefix}items/*`, `${prefix}items/*/reviews`];
    assert.deepEqual(policy.Statement.map((st) => [st.Effect, st.Action, st.Resource]), [
      ["Allow", ["execute-api:InvalidateCache"], routes],
      ["Allow", ["execute-api:Invoke"], routes],
    ], "an AWS_IAM method authorises the invalidating GET as an Invoke first");
    // NONE keeps the policy to InvalidateCache only (nothing to invoke with).
    const none = JSON.parse(runs.dev.one(T.policy, "invalidate").inputs.policy) as { Statement: PolicyStatement[] };
    assert.deepEqual(none.Statement.map((st) => st.Action), [["execute-api:InvalidateCache"]]);
  });

  it("the account CloudWatch role: the trust AWS documents (no aws:SourceAccount/SourceArn: not documented for this role), the managed policy", () => {
    const run = runs.prod;
    const role = run.one("aws:iam/role:Role", "apigw-logs");
    assert.deepEqual(JSON.parse(role.inputs.assumeRolePolicy), {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    const attachment = run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "apigw-logs");
    assert.equal(attachment.inputs.policyArn, "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs");
    assert.equal(run.one(T.account).inputs.cloudwatchRoleArn, `arn:aws:mock:${REGION}:${ACCOUNT}:api-prod-apigw-logs`);
  });

  it("creates no cache cluster when nothing is cached, and names the VPC CIDR when no client SG is given", async () => {
    const run = await runApi("dev", baseArgs({ routes: [{ path: "/items", method: "POST" }], cacheTtlSeconds: 0, clientSecurityGroupIds: undefined }));
    const stage = run.one(T.stage);
    assert.equal(stage.inputs.cacheClusterEnabled, false);
    assert.equal(stage.inputs.cacheClusterSize, undefined);
    assert.deepEqual(run.ofType(T.methodSettings).map((s) => s.inputs.methodPath), ["*/*"]);
    const sg = run.one(T.sg, "endpoint-sg");
    const rules = run.ofType(T.ingress).filter((r) => r.inputs.securityGroupId === sg.id);
    assert.deepEqual(rules.map((r) => [r.inputs.cidrIpv4, r.inputs.fromPort]), [["10.10.0.0/16", 443]]);
  });

  for (const [field, value, message] of [
    ["cacheSizeGb", "2", /CachedPrivateApi api-bad: cacheSizeGb = "2": must be one of 0\.5, 1\.6, 6\.1, 13\.5, 28\.4, 58\.2, 118, 237 \(GB\)/],
    ["cacheSizeGb", 0.25, /cacheSizeGb = 0\.25: must be one of 0\.5, 1\.6/],
    ["cacheTtlSeconds", 3601, /CachedPrivateApi api-bad: cacheTtlSeconds = 3601: must be a whole number of seconds from 0 \(caching off\) to 3600/],
    ["cacheTtlSeconds", -5, /cacheTtlSeconds = -5/],
    ["stageName", "dev/blue", /stageName = "dev\/blue"/],
    ["throttleBurstLimit", 0, /throttleBurstLimit = 0/],
  ] as const) {
    it(`throws at construction on ${field} = ${JSON.stringify(value)}, naming the field and allowed values`, () => {
      assert.throws(() => new CachedPrivateApi("api-bad", baseArgs({ [field]: value })), message);
    });
  }

  it("throws at construction on an invalid route TTL and on a bad listener port", () => {
    assert.throws(() => new CachedPrivateApi("api-bad", baseArgs({ routes: [{ path: "/a", method: "GET", ttlSeconds: 7200 }] })),
      /CachedPrivateApi api-bad: route GET \/a: ttlSeconds = 7200/);
    assert.throws(() => new CachedPrivateApi("api-bad", baseArgs({ backend: { ...baseArgs().backend, listenerPort: 0 } })), /backend.listenerPort = 0/);
  });
});
