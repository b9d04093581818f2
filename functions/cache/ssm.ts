/**
 * Reading one SecureString from SSM Parameter Store without the AWS SDK: a SigV4-signed
 * `AmazonSSM.GetParameter` call (JSON 1.1 protocol) over HTTPS with Node's own fetch and crypto.
 *
 * Why not @aws-sdk/client-ssm: the cache Lambda ships no AWS SDK at all (its cold start loads memjs
 * and lru-cache only), and one signed POST is all that is needed, once per execution environment
 * (plus a refresh every 15 minutes). The signer is checked byte for byte against @smithy/signature-v4
 * (test/functions/cache/ssm.test.ts).
 *
 * Credentials, as the SDK's default chain finds them in these two runtimes:
 * - Lambda: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN of the execution role;
 * - ECS / Fargate: the task role's credentials from the container credentials endpoint
 *   (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or AWS_CONTAINER_CREDENTIALS_FULL_URI with its token),
 *   kept until five minutes before they expire.
 *
 * Endpoint: https://ssm.<region>.amazonaws.com, or AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL (https, or
 * http to a loopback address only: signed requests never travel in clear).
 */
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Epoch ms after which they are no longer valid (container credentials). */
  expiresAt?: number;
}

/** What {@link getSsmParameter} needs. */
export interface SsmParameterRequest {
  /** Parameter name ("/a/b") or ARN. */
  name: string;
  region: string;
  credentials: () => Promise<AwsCredentials>;
  /** Base URL of the SSM API. Default https://ssm.<region>.amazonaws.com (.com.cn in China). */
  endpoint?: string;
  /** Budget of the whole call, retries included (ms). Default 3000. */
  timeoutMs?: number;
  /** Attempts (throttling, 5xx and network errors are retried with jitter). Default 3. */
  attempts?: number;
  /** Clock (epoch ms), for tests of the signature. Default Date.now. */
  clock?: () => number;
}

const sha256Hex = (data: string): string => createHash("sha256").update(data, "utf8").digest("hex");
const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data, "utf8").digest();

/** `20261201T000000Z` and `20261201` for an epoch-ms time. */
export function amzDate(now: number): { stamp: string; day: string } {
  const iso = new Date(now).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  return { stamp: iso, day: iso.slice(0, 8) };
}

/** What a SigV4 signature covers. Header names lower case; values trimmed. */
export interface SigV4Input {
  method: string;
  host: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  region: string;
  service: string;
  credentials: AwsCredentials;
  now: number;
}

/**
 * The headers of a SigV4-signed request without a query string (x-amz-date, the security token when
 * there is one, and authorization, added to `headers`; `host` signed and returned). Pure.
 */
export function signV4(input: SigV4Input): Record<string, string> {
  const { stamp, day } = amzDate(input.now);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers)) headers[k.toLowerCase()] = String(v).trim().replace(/\s+/g, " ");
  headers.host = input.host;
  headers["x-amz-date"] = stamp;
  if (input.credentials.sessionToken) headers["x-amz-security-token"] = input.credentials.sessionToken;
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${headers[n]}\n`).join("");
  const signedHeaders = names.join(";");
  const canonicalRequest = [input.method, input.path, "", canonicalHeaders, signedHeaders, sha256Hex(input.body)].join("\n");
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, sha256Hex(canonicalRequest)].join("\n");
  const kDate = hmac(`AWS4${input.credentials.secretAccessKey}`, day);
  const kSigning = hmac(hmac(hmac(kDate, input.region), input.service), "aws4_request");
  const signature = createHmac("sha256", kSigning).update(stringToSign, "utf8").digest("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}

/** True for a URL that may carry signed requests or credentials: https, or http to loopback. */
export function isSafeAwsEndpoint(url: URL): boolean {
  if (url.protocol === "https:") return true;
  if (url.protocol !== "http:") return false;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The SSM endpoint of a region (or the override, validated). Throws on an unsafe override. */
export function ssmEndpoint(region: string, override?: string): URL {
  if (override) {
    const url = new URL(override);
    if (!isSafeAwsEndpoint(url)) throw new Error(`SSM endpoint ${url.origin} must be https (or http to a loopback address)`);
    return url;
  }
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new Error(`AWS region ${JSON.stringify(region)} is not a region name`);
  return new URL(`https://ssm.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`);
}

/** An error of the SSM call; `retryable` for throttling, 5xx and network trouble. */
export interface SsmError extends Error {
  name: "SsmError";
  retryable: boolean;
  /** AWS error type (ThrottlingException, AccessDeniedException, ParameterNotFound, ...), when AWS answered. */
  awsType?: string;
}

function ssmError(message: string, retryable: boolean, awsType?: string): SsmError {
  const e = new Error(message) as SsmError;
  e.name = "SsmError";
  e.retryable = retryable;
  if (awsType) e.awsType = awsType;
  return e;
}

// An array, not a Set: Pulumi's closure serializer turns a captured Set into a plain object.
const RETRYABLE_TYPES: readonly string[] = ["ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable", "InternalFailure"];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** One GetParameter call. */
async function getOnce(req: SsmParameterRequest, url: URL, timeoutMs: number): Promise<string> {
  const credentials = await req.credentials();
  const body = JSON.stringify({ Name: req.name, WithDecryption: true });
  const headers = signV4({
    method: "POST",
    host: url.host,
    path: "/",
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.GetParameter" },
    body,
    region: req.region,
    service: "ssm",
    credentials,
    now: (req.clock ?? Date.now)(),
  });
  delete headers.host; // fetch sets it (the same value)
  let res: Response;
  try {
    res = await fetch(new URL("/", url), { method: "POST", headers, body, signal: AbortSignal.timeout(Math.max(1, timeoutMs)), redirect: "error" });
  } catch (e) {
    throw ssmError(`SSM GetParameter ${req.name}: ${e instanceof Error ? e.message : String(e)}`, true);
  }
  const text = await res.text().catch(() => "");
  let json: { Parameter?: { Value?: unknown }; __type?: unknown; message?: unknown; Message?: unknown } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    // an HTML error page or nothing: handled by status below
  }
  if (res.ok && typeof json.Parameter?.Value === "string") return json.Parameter.Value;
  const awsType = typeof json.__type === "string" ? json.__type.split("#").pop() : undefined;
  const message = typeof json.message === "string" ? json.message : typeof json.Message === "string" ? json.Message : `HTTP ${res.status}`;
  const retryable = res.status >= 500 || res.status === 429 || (awsType !== undefined && RETRYABLE_TYPES.includes(awsType));
  throw ssmError(`SSM GetParameter ${req.name}: ${awsType ?? "error"}: ${message}`, retryable, awsType);
}

/**
 * The decrypted value of a parameter. Retries throttling, 5xx and network errors (jittered backoff)
 * within `timeoutMs`; rejects with an {@link SsmError} otherwise. Never logs the value.
 */
export async function getSsmParameter(req: SsmParameterRequest): Promise<string> {
  const url = ssmEndpoint(req.region, req.endpoint);
  const budget = req.timeoutMs ?? 3000;
  const attempts = Math.max(1, req.attempts ?? 3);
  const until = Date.now() + budget;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    const left = until - Date.now();
    if (left <= 0) break;
    try {
      return await getOnce(req, url, left);
    } catch (e) {
      last = e;
      if (!(e as Partial<SsmError>).retryable) throw e;
      // Full jitter, 50 ms base doubling: a burst of cold starts does not retry in step.
      const wait = Math.random() * 50 * 2 ** i;
      if (Date.now() + wait >= until) break;
      await sleep(wait);
    }
  }
  throw last instanceof Error ? last : ssmError(`SSM GetParameter ${req.name}: no time left`, true);
}

/** Hosts the container credentials endpoint may be on (as the SDK allows for http). */
function isContainerCredentialsHost(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return isSafeAwsEndpoint(url) || host === "169.254.170.2" || host === "169.254.170.23" || host === "fd00:ec2::23";
}

/**
 * Credentials as the SDK's default chain finds them in Lambda (environment variables) and in ECS
 * (container credentials endpoint, cached until 5 minutes before expiry). Reads `env` at each call.
 */
export function credentialsFromEnv(env: Record<string, string | undefined>): () => Promise<AwsCredentials> {
  // Mutated, never reassigned.
  const cache = { value: undefined as AwsCredentials | undefined };
  return async () => {
    if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
      return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
    }
    const cached = cache.value;
    if (cached && (cached.expiresAt === undefined || cached.expiresAt - Date.now() > 5 * 60_000)) return cached;
    const relative = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
    const full = env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
    if (!relative && !full) throw ssmError("no AWS credentials: neither AWS_ACCESS_KEY_ID nor a container credentials endpoint is set", false);
    const url = relative ? new URL(relative, "http://169.254.170.2") : new URL(full as string);
    if (!isContainerCredentialsHost(url)) throw ssmError(`container credentials endpoint ${url.origin} is not an allowed host`, false);
    const headers: Record<string, string> = {};
    if (!relative) {
      const token = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ? readFileSync(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, "utf8").trim() : env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
      if (token) headers.authorization = token;
    }
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(1000), redirect: "error" });
    } catch (e) {
      throw ssmError(`container credentials: ${e instanceof Error ? e.message : String(e)}`, true);
    }
    if (!res.ok) throw ssmError(`container credentials: HTTP ${res.status}`, res.status >= 500);
    const j = (await res.json()) as { AccessKeyId?: unknown; SecretAccessKey?: unknown; Token?: unknown; Expiration?: unknown };
    if (typeof j.AccessKeyId !== "string" || typeof j.SecretAccessKey !== "string") throw ssmError("container credentials: unexpected answer", false);
    const expiresAt = typeof j.Expiration === "string" ? Date.parse(j.Expiration) : NaN;
    const creds: AwsCredentials = {
      accessKeyId: j.AccessKeyId,
      secretAccessKey: j.SecretAccessKey,
      ...(typeof j.Token === "string" ? { sessionToken: j.Token } : {}),
      ...(Number.isFinite(expiresAt) ? { expiresAt } : {}),
    };
    cache.value = creds;
    return creds;
  };
}

/**
 * A key loader for the cache (`entryAuth.keys`): reads `parameter` with the runtime's credentials,
 * region (AWS_REGION / AWS_DEFAULT_REGION) and endpoint (AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL).
 */
export function ssmParameterLoader(parameter: string, env: Record<string, string | undefined>, timeoutMs = 3000): () => Promise<string> {
  const credentials = credentialsFromEnv(env);
  return () => {
    const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
    if (!region) return Promise.reject(ssmError(`cannot read ${parameter}: AWS_REGION is not set`, false));
    const endpoint = env.AWS_ENDPOINT_URL_SSM || env.AWS_ENDPOINT_URL;
    return getSsmParameter({ name: parameter, region, credentials, ...(endpoint ? { endpoint } : {}), timeoutMs });
  };
}
