/**
 * Application Load Balancer events for invoking a Lambda target in a test (the API Lambda of
 * HybridLambdaFargateService is one), and its answers read back into a plain shape.
 */

export interface AlbRequest {
  method?: string;
  /** The path, with an optional query string ("/items/1?fresh=1"). */
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /**
   * The target group's `lambdaMultiValueHeadersEnabled` (HybridLambdaFargateService turns it on):
   * headers and query parameters arrive as `multiValueHeaders` / `multiValueQueryStringParameters`.
   * @default true
   */
  multiValue?: boolean;
  targetGroupArn?: string;
}

/** The event the ALB sends for `req`. */
export function albEvent(req: AlbRequest): Record<string, unknown> {
  const multiValue = req.multiValue ?? true;
  const url = new URL(req.path, "http://alb.internal");
  const query: Record<string, string[]> = {};
  // The ALB passes query parameters still percent-encoded, as they were sent.
  for (const part of url.search.replace(/^\?/, "").split("&").filter(Boolean)) {
    const eq = part.indexOf("=");
    const [k, v] = eq < 0 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)];
    (query[k] ??= []).push(v);
  }
  const headers: Record<string, string[]> = { host: ["alb.internal"], "x-forwarded-proto": ["http"] };
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = Array.isArray(v) ? v : [v];
  const body = req.body === undefined ? "" : Buffer.isBuffer(req.body) ? req.body.toString("base64") : req.body;
  const event: Record<string, unknown> = {
    requestContext: { elb: { targetGroupArn: req.targetGroupArn ?? "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/test/0123456789abcdef" } },
    httpMethod: (req.method ?? "GET").toUpperCase(),
    path: url.pathname,
    body,
    isBase64Encoded: Buffer.isBuffer(req.body),
  };
  if (multiValue) {
    event.multiValueHeaders = headers;
    event.multiValueQueryStringParameters = query;
  } else {
    event.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v[v.length - 1]]));
    event.queryStringParameters = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v[v.length - 1]]));
  }
  return event;
}

/** An ALB Lambda answer, read back. */
export interface AlbAnswer {
  status: number;
  statusDescription: string;
  /** Header names lower-cased; the last value of each (use `multiValueHeaders` for all). */
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  /** The body decoded (base64 bodies too). */
  body: Buffer;
  text: string;
  /** `text` parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

interface AlbResult {
  statusCode: number;
  statusDescription?: string;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  body?: string;
  isBase64Encoded?: boolean;
}

/** Reads the handler's result; throws when it is not a well-formed ALB answer (the ALB would answer 502). */
export function albAnswer(result: unknown): AlbAnswer {
  const r = result as AlbResult;
  if (!r || typeof r.statusCode !== "number") throw new Error(`not an ALB answer (no numeric statusCode): ${JSON.stringify(result)?.slice(0, 200)}`);
  if (typeof r.statusDescription !== "string") throw new Error("ALB answer without statusDescription");
  if (!r.headers && !r.multiValueHeaders) throw new Error("ALB answer without headers");
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) (multiValueHeaders[k.toLowerCase()] ??= []).push(String(v));
  for (const [k, vs] of Object.entries(r.multiValueHeaders ?? {})) (multiValueHeaders[k.toLowerCase()] ??= []).push(...vs.map(String));
  const body = Buffer.from(r.body ?? "", r.isBase64Encoded ? "base64" : "utf8");
  const text = body.toString("utf8");
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return {
    status: r.statusCode,
    statusDescription: r.statusDescription,
    headers: Object.fromEntries(Object.entries(multiValueHeaders).map(([k, v]) => [k, v[v.length - 1]])),
    multiValueHeaders,
    body,
    text,
    json,
  };
}
