/**
 * Invalidate a path (or everything) through every cache layer of the stack, with one command:
 *
 *   npm run invalidate -- --stack dev --path /items/42            one entry
 *   npm run invalidate -- --stack dev --path '/items/42?lang=de'
 *   npm run invalidate -- --stack dev --flush                     everything
 *
 * Path mode:
 *   1. invokes the API function directly (lambda:InvokeFunction) with a control event: that one
 *      execution environment deletes the key from every memcached node; every other environment
 *      stops serving its L1 copy within the bound the function reports (its L1 max age);
 *   2. waits the function's loader timeout and deletes again (a load that started before step 1 may
 *      have stored the old value meanwhile);
 *   3. waits the L1 bound, so that no environment can hand the old value back to the stage cache;
 *   4. sends the API Gateway invalidation (a signed GET with Cache-Control: max-age=0) as before.
 * Flush mode: bumps the namespace generation on every memcached node (same control event, action
 * "flush"), waits the L1 bound, then FlushStageCache.
 *
 * Stack outputs come from `pulumi stack output --json --stack <s>`, or from `--outputs-file <json>` (the same JSON).
 * Credentials come from the AWS SDK default chain (env, SSO/shared config, container or instance role).
 * The API is private: run this from inside the VPC (or over VPN / Direct Connect to it).
 * Exit codes: 0 done, 2 anything that needs the caller's attention (arguments, outputs, credentials, HTTP status,
 * a memcached node that did not answer). Credentials are never printed.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { STACK_OUTPUT_KEYS } from "../components/apiRoutes";
import { CONTROL_EVENT_FIELD, type ControlResponse } from "../functions/cache/invalidation";
import { parseFlags, usageMessage } from "./cli";

/** Stack output naming the API function (index.ts exports HybridLambdaFargateService.apiFunctionName under it). */
export const API_FUNCTION_OUTPUT = "apiFunctionName";

export const USAGE = `usage: npm run invalidate -- --stack <stack> --path </path[?query]> [--header 'Name: value']... [options]
       npm run invalidate -- --stack <stack> --flush [options]

  --stack <name>          Pulumi stack whose API to invalidate (required)
  --path </p?q>           Path below the stage, as clients send it (URL-encoded), e.g. /items/42?lang=de
  --header 'Name: value'  A request header that is part of the route's cache key (repeatable)
  --flush                 Flush the whole stage cache (FlushStageCache) instead of one path
  --outputs-file <file>   Read the stack outputs from this JSON file instead of the Pulumi CLI
  --endpoint-url <url>    Send the request to this address instead (path mode: the Host header and signature
                          still name the API; flush mode: the API Gateway control-plane endpoint).
                          https, or http to a loopback address only (127.0.0.0/8, [::1], localhost)
  --lambda-endpoint-url <url>
                          Lambda control-plane endpoint for the invocation of the API function (same rule).
                          AWS_ENDPOINT_URL* variables and endpoint_url in ~/.aws/config are ignored: use these
  --no-wait               Do not wait between the layers (faster, but the stage cache may fetch the old value
                          again from an environment that still holds it in memory)
  --timeout-ms <n>        Request timeout (default 10000)
  -h, --help              This text

Needs lambda:InvokeFunction on the API function (stack output apiFunctionName) and, for the stage
cache, the stack's invalidation policy (path) or flush policy (--flush).`;

/** Every failure the caller must act on: printed as one message, exit code 2. */
export class CliError extends Error {
  readonly exitCode = 2;
  /** Print the usage text after the message (argument errors). */
  readonly showUsage: boolean;
  constructor(message: string, showUsage = false) {
    super(message);
    this.showUsage = showUsage;
  }
}

const usageError = (message: string): CliError => new CliError(message, true);

export interface CliOptions {
  stack: string;
  mode: "path" | "flush";
  /** Path (and query) below the stage, for mode "path". */
  path?: string;
  headers: [string, string][];
  outputsFile?: string;
  endpointUrl?: URL;
  lambdaEndpointUrl?: URL;
  /** Skip the waits between the layers. */
  noWait: boolean;
  timeoutMs: number;
  help: boolean;
}

const RESERVED_HEADERS = /^(host|authorization|cache-control|content-length|connection|x-amz-.*)$/i;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Parse argv (without node and the script). Throws CliError naming the bad argument. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const flags = parseFlags(argv, {
    stack: { type: "string" },
    path: { type: "string" },
    header: { type: "string", multiple: true },
    flush: { type: "boolean" },
    "outputs-file": { type: "string" },
    "endpoint-url": { type: "string" },
    "lambda-endpoint-url": { type: "string" },
    "no-wait": { type: "boolean" },
    "timeout-ms": { type: "string" },
  }, usageError);
  const help = flags.help;
  const stack = flags.stack;
  const path = flags.path;
  const flush = flags.flush ?? false;
  const timeoutRaw = flags["timeout-ms"];
  const endpointRaw = flags["endpoint-url"];
  const outputsFile = flags["outputs-file"];
  const headers = (flags.header ?? []).map(parseHeader);
  const noWait = flags["no-wait"] ?? false;
  if (help) return { stack: stack ?? "", mode: "path", headers, timeoutMs: 10000, help, noWait };
  if (!stack) throw usageError("--stack is required");
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+){0,2}$/.test(stack)) throw usageError(`--stack ${JSON.stringify(stack)} is not a stack name`);
  if (flush && path !== undefined) throw usageError("give either --path or --flush, not both");
  if (!flush && path === undefined) throw usageError("give --path </path> (one entry) or --flush (the whole stage)");
  if (flush && headers.length > 0) throw usageError("--header applies to --path only");
  if (path !== undefined) validatePath(path);
  let timeoutMs = 10000;
  if (timeoutRaw !== undefined) {
    timeoutMs = Number(timeoutRaw);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 300000) throw usageError(`--timeout-ms ${JSON.stringify(timeoutRaw)} must be a whole number of milliseconds from 1 to 300000`);
  }
  const endpointUrl = endpointRaw === undefined ? undefined : parseEndpoint("--endpoint-url", endpointRaw);
  const lambdaRaw = flags["lambda-endpoint-url"];
  const lambdaEndpointUrl = lambdaRaw === undefined ? undefined : parseEndpoint("--lambda-endpoint-url", lambdaRaw);
  return { stack, mode: flush ? "flush" : "path", path, headers, outputsFile, endpointUrl, lambdaEndpointUrl, noWait, timeoutMs, help };
}

function parseEndpoint(flag: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`${flag} ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw usageError(`${flag} must be http(s), got ${url.protocol}`);
  if (url.username || url.password) throw usageError(`${flag} must not contain credentials`);
  // The requests are SigV4-signed (and the answers name what was invalidated): never in clear over a network.
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    throw usageError(`${flag} ${JSON.stringify(raw)}: http is allowed only to a loopback address (127.0.0.0/8, [::1], localhost); use https`);
  }
  return url;
}

/** True for a URL hostname (as the URL API normalises it) that names this machine: 127.0.0.0/8, [::1], localhost. */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === "localhost" || hostname === "[::1]") return true;
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  return octets !== null && octets[1] === "127" && octets.slice(2).every((o) => Number(o) <= 255);
}

function parseHeader(raw: string): [string, string] {
  const colon = raw.indexOf(":");
  const name = colon > 0 ? raw.slice(0, colon).trim() : "";
  const value = colon > 0 ? raw.slice(colon + 1).trim() : "";
  if (!HEADER_NAME.test(name) || /[\r\n\0]/.test(value)) throw usageError(`--header ${JSON.stringify(raw)} must look like 'Name: value'`);
  if (RESERVED_HEADERS.test(name)) throw usageError(`--header ${name} is set by the tool and cannot be given`);
  return [name, value];
}

/** A path as sent on the wire: starts with "/", URL-encoded, no fragment, no "." or ".." segments. */
export function validatePath(path: string): void {
  const [pathPart, query] = splitOnce(path, "?");
  if (!pathPart.startsWith("/")) throw new CliError(`--path ${JSON.stringify(path)} must start with "/"`);
  if (path.includes("#")) throw new CliError(`--path ${JSON.stringify(path)} must not contain a fragment (#)`);
  if (!/^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/.test(pathPart)) {
    throw new CliError(`--path ${JSON.stringify(path)} must be URL-encoded (e.g. a space as %20)`);
  }
  if (pathPart.split("/").some((s) => s === "." || s === "..")) throw new CliError(`--path ${JSON.stringify(path)} must not contain "." or ".." segments`);
  if (query !== undefined && !/^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/.test(query)) {
    throw new CliError(`--path ${JSON.stringify(path)}: the query string must be URL-encoded`);
  }
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

export interface ApiOutputs {
  apiId: string;
  stageName: string;
  invokeUrl: URL;
  region: string;
  /** The API function (HybridLambdaFargateService), whose control event clears memcached. */
  functionName?: string;
}

/** Pick the API's outputs from `pulumi stack output --json`. Throws CliError naming what is missing. */
export function extractApiOutputs(raw: unknown, stack: string): ApiOutputs {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new CliError(`stack ${stack}: the outputs are not a JSON object`);
  const o = raw as Record<string, unknown>;
  const missing = Object.values(STACK_OUTPUT_KEYS).filter((k) => k !== STACK_OUTPUT_KEYS.region && (typeof o[k] !== "string" || o[k] === ""));
  if (missing.length > 0) {
    throw new CliError(`stack ${stack} has no CachedPrivateApi outputs (missing ${missing.join(", ")}): is the API deployed in this stack, and does index.ts export them?`);
  }
  let invokeUrl: URL;
  try {
    invokeUrl = new URL(o[STACK_OUTPUT_KEYS.invokeUrl] as string);
  } catch {
    throw new CliError(`stack ${stack}: output ${STACK_OUTPUT_KEYS.invokeUrl} is not a URL`);
  }
  // Without --endpoint-url the signed invalidation goes to this URL: the same rule as for the flags
  // (https, or http to this machine only), or a hand-edited outputs file would send it in clear.
  if (invokeUrl.protocol !== "https:" && !(invokeUrl.protocol === "http:" && isLoopbackHost(invokeUrl.hostname))) {
    throw new CliError(`stack ${stack}: output ${STACK_OUTPUT_KEYS.invokeUrl} ${JSON.stringify(invokeUrl.href)} must be https (http only to a loopback address): the invalidation request is SigV4-signed`);
  }
  if (invokeUrl.username || invokeUrl.password) throw new CliError(`stack ${stack}: output ${STACK_OUTPUT_KEYS.invokeUrl} must not contain credentials`);
  const fromHost = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(invokeUrl.hostname)?.[1];
  const region = typeof o[STACK_OUTPUT_KEYS.region] === "string" && o[STACK_OUTPUT_KEYS.region] !== "" ? (o[STACK_OUTPUT_KEYS.region] as string) : fromHost;
  if (!region) throw new CliError(`stack ${stack}: no ${STACK_OUTPUT_KEYS.region} output and no region in ${invokeUrl.hostname}`);
  const fn = o[API_FUNCTION_OUTPUT];
  return {
    apiId: o[STACK_OUTPUT_KEYS.apiId] as string,
    stageName: o[STACK_OUTPUT_KEYS.stageName] as string,
    invokeUrl,
    region,
    ...(typeof fn === "string" && fn !== "" ? { functionName: fn } : {}),
  };
}

/** RFC 3986 unreserved-only escaping (what SigV4 uses for query strings). */
function escapeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The unsigned invalidation request: GET <stage path><path>, Host = the invoke URL's host, Cache-Control: max-age=0. */
export function buildInvalidationRequest(outputs: ApiOutputs, path: string, headers: readonly [string, string][] = []): HttpRequest {
  validatePath(path);
  const [pathPart, queryString] = splitOnce(path, "?");
  const base = outputs.invokeUrl.pathname.replace(/\/+$/, "");
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(queryString ?? "")) {
    const existing = query[k];
    query[k] = existing === undefined ? v : Array.isArray(existing) ? [...existing, v] : [existing, v];
  }
  const extra = Object.fromEntries(headers.map(([k, v]) => [k.toLowerCase(), v]));
  return new HttpRequest({
    method: "GET",
    protocol: outputs.invokeUrl.protocol,
    hostname: outputs.invokeUrl.hostname,
    port: outputs.invokeUrl.port ? Number(outputs.invokeUrl.port) : undefined,
    path: `${base}${pathPart}`,
    query,
    headers: { ...extra, host: outputs.invokeUrl.host, "cache-control": "max-age=0" },
  });
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * SigV4 (service execute-api) with @smithy/signature-v4: adds x-amz-date, authorization (and the session token).
 * The signer leaves cache-control unsigned by default; it is signed here so the invalidation intent is covered.
 */
export async function signRequest(request: HttpRequest, credentials: Credentials, region: string, signingDate?: Date): Promise<HttpRequest> {
  const signer = new SignatureV4({ service: "execute-api", region, credentials, sha256: Sha256 });
  return (await signer.sign(request, { signableHeaders: new Set(["cache-control"]), ...(signingDate ? { signingDate } : {}) })) as HttpRequest;
}

/** The query string as sent, in the same order SigV4 canonicalises it. */
export function serializeQuery(query: HttpRequest["query"]): string {
  const parts: string[] = [];
  for (const key of Object.keys(query ?? {}).sort()) {
    const value = query[key];
    for (const v of (Array.isArray(value) ? [...value].sort() : [value ?? ""])) parts.push(`${escapeRfc3986(key)}=${escapeRfc3986(v)}`);
  }
  return parts.join("&");
}

/** Replace every secret (and the access key id) in text before it is printed. */
export function redact(text: string, credentials?: Credentials): string {
  let out = text;
  for (const secret of [credentials?.secretAccessKey, credentials?.sessionToken, credentials?.accessKeyId]) {
    if (secret && secret.length >= 4) out = out.split(secret).join("***");
  }
  return out.replace(/\b(AKIA|ASIA)[A-Z0-9]{12,}\b/g, "***");
}

interface SentResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Send a signed request; `target` overrides where the TCP connection goes (Host header unchanged). */
export function send(request: HttpRequest, timeoutMs: number, target?: URL): Promise<SentResponse> {
  const protocol = target?.protocol ?? request.protocol;
  const client = protocol === "http:" ? http : https;
  const query = serializeQuery(request.query);
  return new Promise((resolve, reject) => {
    const req = client.request({
      method: request.method,
      host: target?.hostname ?? request.hostname,
      port: target?.port || (target ? undefined : request.port),
      path: `${request.path}${query ? `?${query}` : ""}`,
      headers: request.headers,
      servername: request.hostname,
      timeout: timeoutMs,
      agent: false, // one connection, closed after the answer: nothing keeps the CLI alive
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => { if (size < 65536) { chunks.push(c); size += c.length; } });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** Turn an HTTP answer to an invalidation into success or a CliError with what to do. */
export function interpretResponse(
  res: { status: number; body: string; requestId?: string; headers?: http.IncomingHttpHeaders },
  ctx: { apiId: string; stageName: string; region: string; path: string },
  credentials?: Credentials,
): string {
  const id = res.requestId ? ` (request id ${res.requestId})` : "";
  // SUCCEED_WITH_RESPONSE_HEADER: API Gateway serves the cached entry and says so in a response header
  // (a standard `Warning` is what we look for; AWS does not document the header's name).
  const warning = [res.headers?.warning].flat().filter((w): w is string => typeof w === "string" && w !== "");
  if (res.status >= 200 && res.status < 300 && warning.length > 0) {
    throw new CliError(`HTTP ${res.status}${id} with Warning: ${redact(warning.join("; "), credentials)}: API Gateway served the cached entry and ignored the invalidation. `
      + "This identity lacks execute-api:InvalidateCache: attach the stack's invalidation policy (output apiInvalidationPolicyArn).");
  }
  if (res.status >= 200 && res.status < 300) {
    // With apiGatewayUnauthorizedCacheControl SUCCEED_WITH(OUT)_RESPONSE_HEADER (the default keeps ordinary clients
    // that send max-age=0 from failing), API Gateway also answers 2xx to a caller it did not let invalidate.
    return `Invalidated GET /${ctx.stageName}${ctx.path}: HTTP ${res.status}${id}. API Gateway refreshed the entry from the backend if this identity `
      + "holds execute-api:InvalidateCache (the stack's invalidation policy, output apiInvalidationPolicyArn); without it the stack serves the cached "
      + "entry and still answers 2xx (apiGatewayUnauthorizedCacheControl), so check the policy if the content did not change.";
  }
  const body = redact(res.body.replace(/\s+/g, " ").trim().slice(0, 300), credentials);
  const route = ctx.path.split("?")[0].replace(/^\//, "");
  if (res.status === 403) {
    throw new CliError(`HTTP 403${id}: the caller lacks execute-api:InvalidateCache on arn:aws:execute-api:${ctx.region}:<account>:${ctx.apiId}/${ctx.stageName}/GET/${route}. `
      + `Attach the stack's invalidation policy (output apiInvalidationPolicyArn) to this identity `
      + `(with apiGatewayAuthorization AWS_IAM it also grants the execute-api:Invoke the signed GET needs; redeploy if the policy predates that). `
      + `(A 403 also comes back when the request does not arrive through the API's VPC endpoint.)${body ? ` Response: ${body}` : ""}`);
  }
  throw new CliError(`HTTP ${res.status}${id}: the invalidation request failed.${body ? ` Response: ${body}` : ""}`);
}

async function defaultReadStackOutputs(stack: string): Promise<unknown> {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile("pulumi", ["stack", "output", "--json", "--stack", stack], { maxBuffer: 16 * 1024 * 1024, timeout: 120000 }, (err, out, errOut) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        reject(new CliError(code === "ENOENT"
          ? "the pulumi CLI is not on the PATH: install it, or pass --outputs-file <json> (the output of `pulumi stack output --json`)"
          : `pulumi stack output --json --stack ${stack} failed: ${String(errOut).trim().split("\n").slice(-3).join(" ") || err.message}`));
      } else resolve(out);
    });
  });
  try {
    return JSON.parse(stdout);
  } catch {
    throw new CliError(`pulumi stack output --json --stack ${stack} did not print JSON`);
  }
}

async function readOutputsFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new CliError(`--outputs-file ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`--outputs-file ${file} is not JSON`);
  }
}

async function defaultCredentials(): Promise<Credentials> {
  const { fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
  return fromNodeProviderChain()();
}

async function resolveCredentials(deps: Deps): Promise<Credentials> {
  try {
    const c = await (deps.credentials ?? defaultCredentials)();
    if (!c?.accessKeyId || !c?.secretAccessKey) throw new Error("empty credentials");
    return c;
  } catch (e) {
    const reason = (e as Error).message?.split("\n")[0] ?? "";
    throw new CliError(`no AWS credentials found (${redact(reason)}): set AWS_PROFILE (then \`aws sso login\` if needed) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with a role`);
  }
}

/**
 * Configuration of the AWS SDK clients (Lambda, API Gateway). The endpoint is the checked flag or the
 * SDK's regional https default: `ignoreConfiguredEndpointUrls` stops the SDK from taking one from
 * AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE> or `endpoint_url` in ~/.aws/config, which would bypass the
 * https-or-loopback rule of the flags (an `http://` value there sends the signed call in clear).
 */
export function sdkClientConfig(region: string, credentials: Credentials, endpoint: URL | undefined, timeoutMs: number) {
  return {
    region,
    credentials,
    endpoint: endpoint?.toString(),
    ignoreConfiguredEndpointUrls: true,
    // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes, and waits on.
    requestHandler: { requestTimeout: timeoutMs, throwOnRequestTimeout: true },
  };
}

async function flush(outputs: ApiOutputs, options: CliOptions, credentials: Credentials): Promise<string> {
  const { APIGatewayClient, FlushStageCacheCommand } = await import("@aws-sdk/client-api-gateway");
  const client = new APIGatewayClient(sdkClientConfig(outputs.region, credentials, options.endpointUrl, options.timeoutMs));
  try {
    const res = await client.send(new FlushStageCacheCommand({ restApiId: outputs.apiId, stageName: outputs.stageName }));
    return `Flushed the whole cache of stage ${outputs.stageName} (API ${outputs.apiId}): HTTP ${res.$metadata.httpStatusCode}${res.$metadata.requestId ? ` (request id ${res.$metadata.requestId})` : ""}. API Gateway empties the cache asynchronously (typically within a few minutes); it refills on the next requests.`;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number; requestId?: string } };
    const status = err.$metadata?.httpStatusCode;
    const id = err.$metadata?.requestId ? ` (request id ${err.$metadata.requestId})` : "";
    if (status === 403) {
      throw new CliError(`HTTP 403${id}: the caller lacks apigateway:DELETE on arn:aws:apigateway:${outputs.region}::/restapis/${outputs.apiId}/stages/${outputs.stageName}/cache/data. `
        + "Attach the stack's flush policy (output apiFlushPolicyArn) to this identity.");
    }
    if (status === 404) throw new CliError(`HTTP 404${id}: API ${outputs.apiId} has no stage ${outputs.stageName} (or no cache) in ${outputs.region}`);
    throw new CliError(`FlushStageCache failed${status ? ` with HTTP ${status}` : ""}${id}: ${redact(err.message ?? String(e), credentials)}`);
  } finally {
    client.destroy();
  }
}

/** The control event the API function executes (see functions/cache/invalidation.ts). */
export function controlEvent(options: Pick<CliOptions, "mode" | "path">): Record<string, unknown> {
  return { [CONTROL_EVENT_FIELD]: options.mode === "flush" ? { action: "flush" } : { action: "invalidate", path: options.path } };
}

/** Read the function's answer to a control event; throws CliError unless it succeeded. Pure. */
export function interpretControlResponse(payload: string, functionError: string | undefined, functionName: string): ControlResponse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    throw new CliError(`the API function ${functionName} answered something that is not JSON: ${payload.slice(0, 200)}`);
  }
  if (functionError) {
    const message = typeof parsed === "object" && parsed !== null && typeof (parsed as { errorMessage?: unknown }).errorMessage === "string" ? (parsed as { errorMessage: string }).errorMessage : payload.slice(0, 300);
    throw new CliError(`the API function ${functionName} failed (${functionError}): ${message}`);
  }
  const r = parsed as Partial<ControlResponse>;
  if (typeof r !== "object" || r === null || typeof r.ok !== "boolean" || !Array.isArray(r.nodes)) {
    throw new CliError(`the API function ${functionName} did not answer the control event (is it deployed with this version? answer: ${payload.slice(0, 200)})`);
  }
  if (!r.ok) throw new CliError(`the API function ${functionName} could not invalidate: ${r.error ?? "unknown error"}`);
  return {
    ok: true, action: r.action ?? "unknown", nodes: r.nodes, boundMs: Number(r.boundMs) || 0, settleMs: Number(r.settleMs) || 0,
    ...(r.path ? { path: r.path } : {}), ...(r.generation !== undefined ? { generation: r.generation } : {}), ...(r.note ? { note: r.note } : {}),
  };
}

/** One line about what memcached said. Pure. */
export function describeControl(r: ControlResponse): string {
  const counts = new Map<string, number>();
  for (const n of r.nodes) counts.set(n.result, (counts.get(n.result) ?? 0) + 1);
  if (r.note) return `memcached: ${r.note}.`;
  const summary = [...counts.entries()].map(([k, v]) => `${v} ${k}`).join(", ") || "no memcached node";
  return r.action === "flush"
    ? `memcached: namespace generation ${r.generation} stored on every node (${summary}); every environment stops serving older entries within ${r.boundMs} ms.`
    : `memcached: ${r.path} deleted from every node (${summary}); every environment stops serving it within ${r.boundMs} ms.`;
}

async function invokeControl(outputs: ApiOutputs, options: CliOptions, credentials: Credentials): Promise<ControlResponse> {
  const functionName = outputs.functionName;
  if (!functionName) {
    throw new CliError(`the stack has no ${API_FUNCTION_OUTPUT} output: the memcached layer cannot be invalidated (is HybridLambdaFargateService deployed, and does index.ts export it?)`);
  }
  const { LambdaClient, InvokeCommand } = await import("@aws-sdk/client-lambda");
  const client = new LambdaClient({
    ...sdkClientConfig(outputs.region, credentials, options.lambdaEndpointUrl, options.timeoutMs),
    maxAttempts: 1, // an invalidation is repeated by the operator, not by the SDK behind their back
  });
  try {
    const res = await client.send(new InvokeCommand({
      FunctionName: functionName,
      InvocationType: "RequestResponse",
      Payload: new TextEncoder().encode(JSON.stringify(controlEvent(options))),
    }));
    return interpretControlResponse(new TextDecoder().decode(res.Payload ?? new Uint8Array()), res.FunctionError, functionName);
  } catch (e) {
    if (e instanceof CliError) throw e;
    const err = e as Error & { name?: string; $metadata?: { httpStatusCode?: number; requestId?: string } };
    const status = err.$metadata?.httpStatusCode;
    const id = err.$metadata?.requestId ? ` (request id ${err.$metadata.requestId})` : "";
    if (status === 403 || err.name === "AccessDeniedException") {
      throw new CliError(`HTTP 403${id}: the caller lacks lambda:InvokeFunction on arn:aws:lambda:${outputs.region}:<account>:function:${functionName}. `
        + "Grant it to the operators who invalidate (it is the only way to reach the memcached layer; the function accepts the control event from direct invocations only).");
    }
    if (status === 404 || err.name === "ResourceNotFoundException") throw new CliError(`HTTP 404${id}: no function ${functionName} in ${outputs.region}`);
    throw new CliError(`invoking ${functionName} failed${status ? ` with HTTP ${status}` : ""}${id}: ${redact(err.message ?? String(e), credentials)}`);
  } finally {
    client.destroy();
  }
}

export interface Deps {
  stdout(line: string): void;
  stderr(line: string): void;
  /** Stack outputs source (default: `pulumi stack output --json`). */
  readStackOutputs?(stack: string): Promise<unknown>;
  /** Credentials (default: the AWS SDK default chain). */
  credentials?(): Promise<Credentials>;
  /** Wait (default: a timer). */
  sleep?(ms: number): Promise<void>;
}

/** The whole CLI; returns the exit code. Never prints credentials. */
export async function main(argv: readonly string[], deps: Deps): Promise<number> {
  let credentials: Credentials | undefined;
  try {
    const options = parseArgs(argv);
    if (options.help) {
      deps.stdout(USAGE);
      return 0;
    }
    const raw = options.outputsFile ? await readOutputsFile(options.outputsFile) : await (deps.readStackOutputs ?? defaultReadStackOutputs)(options.stack);
    const outputs = extractApiOutputs(raw, options.stack);
    credentials = await resolveCredentials(deps);
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const wait = async (ms: number, why: string): Promise<void> => {
      if (options.noWait || ms <= 0) return;
      deps.stdout(`waiting ${ms} ms ${why}`);
      await sleep(ms);
    };
    // Layer 1: memcached (and, within the bound, every environment's memory).
    const first = await invokeControl(outputs, options, credentials);
    deps.stdout(describeControl(first));
    if (options.mode === "path") {
      // A load that started before the deletion can store the old value until its timeout: delete once more after it.
      await wait(first.settleMs + 100, "for loads that started before the deletion, then deleting again");
      if (!options.noWait) deps.stdout(describeControl(await invokeControl(outputs, options, credentials)));
    }
    await wait(first.boundMs + 100, "until no environment can serve the old value from memory");
    // Layer 2: the API Gateway stage cache.
    if (options.mode === "flush") {
      deps.stdout(await flush(outputs, options, credentials));
      return 0;
    }
    const path = options.path!;
    const signed = await signRequest(buildInvalidationRequest(outputs, path, options.headers), credentials, outputs.region);
    let res: SentResponse;
    try {
      res = await send(signed, options.timeoutMs, options.endpointUrl);
    } catch (e) {
      throw new CliError(`could not reach ${options.endpointUrl?.host ?? outputs.invokeUrl.host}: ${(e as Error).message}. The API is private: run this from inside its VPC (or over VPN/Direct Connect).`);
    }
    const requestId = [res.headers["x-amzn-requestid"]].flat()[0];
    deps.stdout(interpretResponse({ status: res.status, body: res.body, requestId, headers: res.headers }, { apiId: outputs.apiId, stageName: outputs.stageName, region: outputs.region, path }, credentials));
    return 0;
  } catch (e) {
    if (e instanceof CliError) {
      const message = redact(e.message, credentials);
      deps.stderr(e.showUsage ? usageMessage("invalidate", message, USAGE) : `invalidate: ${message}`);
      return e.exitCode;
    }
    deps.stderr(`invalidate: unexpected error: ${redact((e as Error)?.message ?? String(e), credentials)}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
  }).then((code) => { process.exitCode = code; }, (e) => { process.stderr.write(`invalidate: ${String(e)}\n`); process.exitCode = 1; });
}
