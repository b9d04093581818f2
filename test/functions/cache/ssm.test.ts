// Reading the entry keys from SSM Parameter Store without the SDK: the SigV4 signer against the AWS
// SDK's own (@smithy/signature-v4), the GetParameter call against a loopback SSM that re-checks every
// signature, retries, credentials from Lambda's environment and from an ECS credentials endpoint, and
// the environment variables the runtimes read.
import * as assert from "node:assert/strict";
import * as http from "node:http";
import type * as net from "node:net";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import {
  createTwoTierCache, credentialsFromEnv, getSsmParameter, isSafeAwsEndpoint, securityFromEnv, signV4, ssmEndpoint, ssmParameterLoader,
  type SsmError,
} from "../../../functions/cache";
import { startMemcached, type MemcachedServer } from "../../support/memcached";
import { memcachedText, newMacKey, recorder, ssmEnv, startFakeSsm, TEST_CREDENTIALS, type FakeSsm } from "./helpers";

describe("cache/ssm: entry keys from Parameter Store without the SDK", function () {
  this.timeout(20_000);
  let ssm: FakeSsm;
  const KEY = newMacKey();
  const NAME = "/serverless-cache/test/cache-entry-keys";

  before(async () => {
    ssm = await startFakeSsm({ [NAME]: KEY }, TEST_CREDENTIALS);
  });
  after(async () => {
    await ssm?.close();
  });
  beforeEach(() => {
    ssm.calls.length = 0;
    ssm.throttleNext = 0;
    ssm.delayMs = 0;
  });

  it("signs exactly like the AWS SDK's SigV4 signer (with and without a session token)", async () => {
    for (const sessionToken of [undefined, "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ=="]) {
      const body = JSON.stringify({ Name: NAME, WithDecryption: true });
      const headers = { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.GetParameter" };
      const now = Date.UTC(2026, 10, 30, 23, 59, 58);
      const credentials = { ...TEST_CREDENTIALS, ...(sessionToken ? { sessionToken } : {}) };
      const ours = signV4({ method: "POST", host: "ssm.eu-central-1.amazonaws.com", path: "/", headers, body, region: "eu-central-1", service: "ssm", credentials, now });
      const sdk = await new SignatureV4({ credentials, region: "eu-central-1", service: "ssm", sha256: Sha256, applyChecksum: false })
        .sign(new HttpRequest({ method: "POST", protocol: "https:", hostname: "ssm.eu-central-1.amazonaws.com", path: "/", headers: { ...headers, host: "ssm.eu-central-1.amazonaws.com" }, body }), { signingDate: new Date(now) });
      assert.equal(ours.authorization, sdk.headers.authorization);
      assert.equal(ours["x-amz-date"], "20261130T235958Z");
      assert.equal(ours["x-amz-security-token"], sessionToken);
    }
  });

  it("reads a SecureString with a signed GetParameter (WithDecryption), the token sent along", async () => {
    const value = await getSsmParameter({ name: NAME, region: "us-east-1", endpoint: ssm.url, credentials: async () => ({ ...TEST_CREDENTIALS, sessionToken: "tok" }) });
    assert.equal(value, KEY);
    assert.equal(ssm.calls.length, 1);
    assert.deepEqual({ ...ssm.calls[0] }, { target: "AmazonSSM.GetParameter", name: NAME, accessKeyId: TEST_CREDENTIALS.accessKeyId, sessionToken: "tok", signatureValid: true, status: 200 });
  });

  it("retries throttling with jitter inside its budget; gives up on access errors at once, naming the AWS error", async () => {
    ssm.throttleNext = 2;
    assert.equal(await getSsmParameter({ name: NAME, region: "us-east-1", endpoint: ssm.url, credentials: async () => TEST_CREDENTIALS }), KEY);
    assert.deepEqual(ssm.calls.map((c) => c.status), [400, 400, 200]);

    ssm.calls.length = 0;
    ssm.throttleNext = 10;
    await assert.rejects(getSsmParameter({ name: NAME, region: "us-east-1", endpoint: ssm.url, credentials: async () => TEST_CREDENTIALS, attempts: 3 }),
      (e: SsmError) => e.awsType === "ThrottlingException" && e.retryable);
    assert.equal(ssm.calls.length, 3);

    ssm.throttleNext = 0;
    ssm.calls.length = 0;
    await assert.rejects(getSsmParameter({ name: NAME, region: "us-east-1", endpoint: ssm.url, credentials: async () => ({ accessKeyId: "AKIAWRONGWRONGWRONG1", secretAccessKey: "x" }) }),
      (e: SsmError) => e.awsType === "UnrecognizedClientException" && !e.retryable);
    assert.equal(ssm.calls.length, 1, "not retried");
    await assert.rejects(getSsmParameter({ name: "/nope", region: "us-east-1", endpoint: ssm.url, credentials: async () => TEST_CREDENTIALS }), /ParameterNotFound/);
  });

  it("never sends a signed request in clear to a remote host; a slow SSM ends within the budget", async () => {
    assert.ok(isSafeAwsEndpoint(new URL("https://ssm.us-east-1.amazonaws.com")));
    assert.ok(isSafeAwsEndpoint(new URL("http://127.0.0.1:4566")));
    assert.ok(!isSafeAwsEndpoint(new URL("http://ssm.example.com")));
    assert.throws(() => ssmEndpoint("us-east-1", "http://10.0.0.5:80"), /must be https/);
    assert.equal(ssmEndpoint("us-east-1").href, "https://ssm.us-east-1.amazonaws.com/");
    assert.equal(ssmEndpoint("cn-north-1").href, "https://ssm.cn-north-1.amazonaws.com.cn/");
    ssm.delayMs = 2000;
    const started = Date.now();
    await assert.rejects(getSsmParameter({ name: NAME, region: "us-east-1", endpoint: ssm.url, credentials: async () => TEST_CREDENTIALS, timeoutMs: 300 }));
    assert.ok(Date.now() - started < 800, `took ${Date.now() - started} ms`);
  });

  it("credentials: Lambda's environment first, else the ECS container endpoint (with its token), cached until near expiry", async () => {
    const fromLambda = await credentialsFromEnv({ AWS_ACCESS_KEY_ID: "AKIA1", AWS_SECRET_ACCESS_KEY: "s", AWS_SESSION_TOKEN: "t" })();
    assert.deepEqual(fromLambda, { accessKeyId: "AKIA1", secretAccessKey: "s", sessionToken: "t" });
    let served = 0;
    const auths: string[] = [];
    const endpoint = http.createServer((req, res) => {
      served++;
      auths.push(String(req.headers.authorization ?? ""));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ AccessKeyId: TEST_CREDENTIALS.accessKeyId, SecretAccessKey: TEST_CREDENTIALS.secretAccessKey, Token: "task-token", Expiration: new Date(Date.now() + 3600_000).toISOString() }));
    });
    await new Promise<void>((r) => endpoint.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (endpoint.address() as net.AddressInfo).port;
      const env = { AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/v2/credentials`, AWS_CONTAINER_AUTHORIZATION_TOKEN: "secret-token", AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_SSM: ssm.url };
      const load = ssmParameterLoader(NAME, env);
      assert.equal(await load(), KEY);
      assert.equal(await load(), KEY);
      assert.equal(served, 1, "container credentials are cached");
      assert.deepEqual(auths, ["secret-token"]);
      assert.equal(ssm.calls.at(-1)?.sessionToken, "task-token");
      await assert.rejects(credentialsFromEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.1.1/creds" })(), /not an allowed host/);
      await assert.rejects(credentialsFromEnv({})(), /no AWS credentials/);
    } finally {
      await new Promise<void>((r) => endpoint.close(() => r()));
    }
  });

  it("environment: CACHE_MAC_KEYS wins over CACHE_MAC_KEY_PARAMETER; bad values fail the cold start without echoing a key", () => {
    const direct = securityFromEnv({ CACHE_MAC_KEYS: KEY, CACHE_MAC_KEY_PARAMETER: NAME });
    assert.equal(direct.entryKeySource, "value");
    assert.equal(direct.entryAuth?.keys, KEY);
    const fromParameter = securityFromEnv({ CACHE_MAC_KEY_PARAMETER: NAME, CACHE_MAC_KEY_REFRESH_SECONDS: "60" });
    assert.equal(fromParameter.entryKeySource, "parameter");
    assert.equal(typeof fromParameter.entryAuth?.keys, "function");
    assert.equal(fromParameter.entryAuth?.refreshMs, 60_000);
    const none = securityFromEnv({});
    assert.equal(none.entryKeySource, "none");
    assert.equal(none.entryAuth, undefined);
    assert.deepEqual(none.allowedContentTypes, ["application/json", "text/plain", "application/octet-stream"]);
    assert.equal(none.maxBodyBytes, 5 * 1024 * 1024);
    assert.equal(none.memcachedTls, false);
    const short = Buffer.alloc(16, 7).toString("base64");
    assert.throws(() => securityFromEnv({ CACHE_MAC_KEYS: short }), (e: Error) => /CACHE_MAC_KEYS: cache entry key #1 has 16 bytes/.test(e.message) && !e.message.includes(short));
    assert.throws(() => securityFromEnv({ CACHE_MAC_KEY_PARAMETER: "a b" }), /not an SSM parameter name/);
    assert.throws(() => securityFromEnv({ UPSTREAM_CONTENT_TYPES: "text/*" }), /UPSTREAM_CONTENT_TYPES/);
    assert.throws(() => securityFromEnv({ UPSTREAM_MAX_BODY_BYTES: "10" }), /UPSTREAM_MAX_BODY_BYTES/);
    assert.deepEqual(securityFromEnv({ UPSTREAM_CONTENT_TYPES: "Application/JSON, application/problem+json" }).allowedContentTypes, ["application/json", "application/problem+json"]);
  });

  describe("a cache whose keys come from the parameter (real memcached)", () => {
    let mc: MemcachedServer;
    before(async () => { mc = await startMemcached(); });
    after(async () => { await mc?.stop(); });

    it("loads the keys once at creation, seals what it writes; without them it does not touch memcached, and retries later", async () => {
      const env = ssmEnv(ssm, NAME);
      const rec = recorder();
      const a = createTwoTierCache({ namespace: "ssm-a", memcached: { servers: [mc.address] }, l1: { maxEntries: 0 }, entryAuth: securityFromEnv(env).entryAuth, ...rec });
      try {
        assert.equal((await a.getOrLoad("k", async () => "v")).source, "MISS");
        assert.equal(ssm.calls.length, 1, "one GetParameter per environment");
        assert.ok(ssm.calls[0].signatureValid);
        const raw = await memcachedText(mc.address, `get ${a.storageKey("k")}\r\n`, /END\r\n$/);
        assert.match(raw, /\r\n~m1:[A-Za-z0-9_-]{8}:[A-Za-z0-9_-]{43}:\{/, "sealed in memcached");
        assert.equal((await a.getOrLoad("k", async () => "other")).source, "HIT-L2");
        assert.equal(ssm.calls.length, 1);
        assert.ok(rec.logs.some((l) => l.level === "info" && l.message === "cache: entry keys loaded"));
        assert.ok(!JSON.stringify(rec.logs).includes(KEY), "the key is never logged");
      } finally {
        await a.close();
      }

      // The parameter cannot be read: no memcached at all (nothing unauthenticated), a retry after retryAfterMs.
      const rec2 = recorder();
      const env2 = { ...env, CACHE_MAC_KEY_PARAMETER: "/does/not/exist" };
      const b = createTwoTierCache({ namespace: "ssm-b", memcached: { servers: [mc.address] }, l1: { maxEntries: 0 }, entryAuth: { ...securityFromEnv(env2).entryAuth!, retryAfterMs: 300 }, ...rec2 });
      try {
        let loads = 0;
        assert.equal((await b.getOrLoad("k", async () => { loads++; return "v"; })).source, "MISS");
        assert.equal((await b.getOrLoad("k", async () => { loads++; return "v"; })).source, "MISS");
        assert.equal(loads, 2, "memcached unused: every request loads");
        assert.equal(b.entryAuth().ready, false);
        assert.equal(rec2.count("CacheKeysUnavailable"), 1);
        assert.ok(rec2.logs.some((l) => l.level === "error" && /entry keys unavailable/.test(l.message)));
        assert.equal(await memcachedText(mc.address, `get ${b.storageKey("k")}\r\n`, /END\r\n$/), "END\r\n", "nothing written");
        ssm.parameters.set("/does/not/exist", KEY);
        await new Promise((r) => setTimeout(r, 350));
        assert.equal((await b.getOrLoad("k", async () => "v")).source, "MISS");
        assert.equal(b.entryAuth().ready, true);
        assert.equal((await b.getOrLoad("k", async () => "w")).source, "HIT-L2");
      } finally {
        await b.close();
      }
    });
  });
});
