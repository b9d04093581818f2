/**
 * The program's two deployed artifacts, run for real: the API Lambda's archive (what `pulumi up` would
 * upload: the serialized app with the platform around it, and its node_modules) in a fresh `node` as
 * the Lambda runtime loads it, and the generated container build context started as its Dockerfile
 * does. Both against a real memcached and a stand-in catalogue service on loopback.
 */
import * as assert from "node:assert/strict";
import {
  albAnswer,
  albEvent,
  extractLambdaArchive,
  runArchive,
  startContainer,
  type LambdaArchive,
  type MockResource,
  type ProgramRun,
  type RunningContainer,
} from "serverless-cache/testing";
import { devRun } from "./devRun";
import { startCatalogue, startMemcached, type Catalogue, type Memcached } from "./servers";

const FUNCTION = "aws:lambda/function:Function";
/** Entry keys for memcached (the deployed ones come from SSM). */
const MAC_KEY = Buffer.alloc(32, 9).toString("base64");

/** The function's deployed environment, pointed at the local servers instead of AWS. */
function localEnv(fn: MockResource, local: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries((fn.inputs.environment?.variables ?? {}) as Record<string, unknown>)) if (typeof v === "string") env[k] = v;
  return { ...env, CACHE_MAC_KEY_PARAMETER: undefined, MEMCACHED_CONFIG_ENDPOINT: undefined, CACHE_METRICS: "off", AWS_REGION: "us-east-1", ...local };
}

describe("bring-your-own-app artifacts against memcached and the catalogue service", function () {
  this.timeout(120_000);
  let run: ProgramRun;
  let mc: Memcached;
  let catalogue: Catalogue;
  let api: MockResource;
  let archive: LambdaArchive;
  let env: Record<string, string | undefined>;

  before(async () => {
    [run, mc, catalogue] = await Promise.all([devRun(), startMemcached(), startCatalogue()]);
    api = run.one(FUNCTION, "catalog-dev-api");
    archive = await extractLambdaArchive(api.inputs.code);
    env = localEnv(api, { MEMCACHED_SERVERS: mc.address, UPSTREAM_URL: catalogue.url, CACHE_MAC_KEYS: MAC_KEY });
  });

  after(async () => {
    archive?.remove();
    await mc?.stop();
    await catalogue?.close();
  });

  it("the archive holds the app, our package and what they load, and nothing of Pulumi", () => {
    const packages = archive.entries.filter((e) => e.startsWith("node_modules/")).map((e) => e.slice("node_modules/".length));
    for (const p of ["serverless-cache", "hono", "memjs", "lru-cache"]) assert.ok(packages.includes(p), `${p} in ${packages.join(", ")}`);
    assert.deepEqual(packages.filter((p) => p.startsWith("@pulumi/")), []);
    // Our runtime modules are required through the package's exports, by name.
    assert.match(archive.source, /require\("serverless-cache\/functions\/[a-z/]+\.js"\)/);
    // The app itself is serialized by value.
    assert.match(archive.source, /catalog app ready/);
  });

  it("the Lambda answers the app's routes through memcached: MISS, then HIT-L1 warm, HIT-L2 after a cold start", async () => {
    const first = await runArchive(archive, {
      env,
      events: [
        albEvent({ path: "/dev/products/SKU-1" }),
        albEvent({ path: "/dev/products/SKU-1" }),
        albEvent({ path: "/dev/categories/shoes/products?page=2" }),
        albEvent({ path: "/dev/rates" }),
        albEvent({ path: "/dev/products/MISSING-1" }),
        albEvent({ path: "/dev/products/bad%20sku" }),
        albEvent({ path: "/health" }),
      ],
    });
    const [p1, p2, category, rates, missing, bad, health] = first.invocations.map((i) => {
      assert.equal(i.error, undefined, `${i.error}\n${first.output}`);
      return albAnswer(i.result);
    });
    assert.equal(p1.status, 200);
    assert.deepEqual(p1.json, { sku: "SKU-1", name: "Product SKU-1", price: 12.5, currency: "EUR" });
    assert.equal(p1.headers["x-cache"], "MISS");
    assert.equal(p1.headers["x-served-by"], "lambda");
    assert.equal(p2.headers["x-cache"], "HIT-L1");
    assert.equal(category.status, 200);
    assert.deepEqual(category.json, { category: "shoes", page: 2, items: ["shoes-1", "shoes-2"] });
    assert.equal(rates.status, 200);
    assert.equal(missing.status, 404);
    assert.equal(bad.status, 400);
    assert.equal(health.status, 200);
    assert.equal(catalogue.hits.filter((h) => h.startsWith("GET /products/SKU-1")).length, 1, catalogue.hits.join("\n"));

    const cold = await runArchive(archive, { env, events: [albEvent({ path: "/dev/products/SKU-1" })] });
    const again = albAnswer(cold.invocations[0].result);
    assert.equal(again.status, 200, cold.output);
    assert.equal(again.headers["x-cache"], "HIT-L2");
    assert.equal(catalogue.hits.filter((h) => h.startsWith("GET /products/SKU-1")).length, 1);
  });

  it("the prices CacheFunction (the library's own handler) reads through the same memcached", async () => {
    const fn = run.one(FUNCTION, "catalog-prices-dev");
    const prices = await extractLambdaArchive(fn.inputs.code);
    try {
      const event = { httpMethod: "GET", path: "/rates", queryStringParameters: { base: "USD" } };
      const out = await runArchive(prices, {
        env: localEnv(fn, { MEMCACHED_SERVERS: mc.address, UPSTREAM_URL: catalogue.url, CACHE_MAC_KEYS: MAC_KEY, POWERTOOLS_METRICS_DISABLED: "true" }),
        events: [event, event],
      });
      const [miss, hit] = out.invocations.map((i) => i.result as { statusCode: number; headers: Record<string, string>; body: string });
      assert.equal(miss.statusCode, 200, out.output);
      assert.deepEqual(JSON.parse(miss.body), { base: "USD", rates: { USD: 1.08, GBP: 0.86 } });
      assert.equal(miss.headers["x-cache"], "MISS");
      assert.equal(hit.headers["x-cache"], "HIT-L1");
    } finally {
      prices.remove();
    }
  });

  describe("the container artifact", () => {
    let container: RunningContainer;

    before(async () => {
      const image = run.one("awsx:ecr:Image");
      container = await startContainer(image.inputs.context as string, { ...env, PORT: "0" });
    });

    after(async () => {
      await container?.stop();
    });

    it("serves the same app over HTTP, from the same cache", async () => {
      const health = await fetch(`${container.url}/health`);
      assert.equal(health.status, 200);
      const res = await fetch(`${container.url}/dev/products/SKU-1`);
      assert.equal(res.status, 200, container.output());
      assert.equal(res.headers.get("x-served-by"), "container");
      assert.equal(res.headers.get("x-cache"), "HIT-L2");
      assert.deepEqual(await res.json(), { sku: "SKU-1", name: "Product SKU-1", price: 12.5, currency: "EUR" });
      const stats = await (await fetch(`${container.url}/dev/stats`)).json() as { runtime: string };
      assert.equal(stats.runtime, "container");
    });

    it("drains and exits 0 on SIGTERM", async () => {
      assert.equal(await container.stop(), 0, container.output());
    });
  });
});
