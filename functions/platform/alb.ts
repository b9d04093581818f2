/**
 * ALB <-> HTTP translation for a Lambda target, as pure functions (no I/O):
 * - {@link parseAlbEvent}: validate an ALB event (single- or multi-value form) into method, path,
 *   raw query, headers and body bytes, or an error decision (400/413/414/431), never a throw;
 * - {@link shapeAlbResult}: turn a response (status, header pairs, body bytes) into the JSON the ALB
 *   accepts: statusCode + statusDescription, `headers` (or `multiValueHeaders` when the event used
 *   them) never empty, base64 for binary bodies, body never null.
 */
import { DEFAULT_LIMITS, ErrorDecision, JSON_CONTENT_TYPE, RequestLimits, errorJson, fail, statusDescription } from "./http";

/** An ALB → Lambda event. Which of the single/multi fields appear depends on the target group's
 *  `lambda.multi_value_headers.enabled` attribute. */
export interface AlbEvent {
  requestContext?: { elb?: { targetGroupArn?: string } };
  httpMethod?: string;
  path?: string;
  queryStringParameters?: Record<string, string> | null;
  multiValueQueryStringParameters?: Record<string, string[]> | null;
  headers?: Record<string, string> | null;
  multiValueHeaders?: Record<string, string[]> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}

/** What a Lambda target answers the ALB. Exactly one of `headers` / `multiValueHeaders` is set. */
export interface AlbResult {
  statusCode: number;
  statusDescription: string;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  body: string;
  isBase64Encoded: boolean;
}

/** "single" = `headers`/`queryStringParameters`; "multi" = `multiValueHeaders`/`multiValueQueryStringParameters`. */
export type AlbForm = "single" | "multi";

export interface ParsedAlbRequest {
  ok: true;
  form: AlbForm;
  method: string;
  /** Path as the ALB gave it (percent-encoded as sent by the client), never with a query. */
  path: string;
  /** Raw query string without "?" (the ALB does not decode query parameters). */
  rawQuery: string;
  /** Lower-case header names with their values, in event order (repeated names kept). */
  headers: Array<[string, string]>;
  /** Decoded request body, when there is one. */
  body?: Uint8Array;
}

/** A response reduced to what the ALB JSON needs. */
export interface ResponseParts {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

const METHOD = /^[A-Z]{1,16}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_HEADER_VALUE = /[\u0000\r\n]/;
const NON_LATIN1 = /[^\u0000-\u00ff]/;
/** Response headers that describe the connection, not the message: the ALB sets its own. */
const HOP_BY_HOP: Record<string, true> = {
  connection: true, "keep-alive": true, "transfer-encoding": true, upgrade: true, "content-length": true, "proxy-connection": true,
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The response form an event asks for: multi-value when it carries `multiValueHeaders`. Never throws. */
export function albFormOf(event: unknown): AlbForm {
  return isRecord(event) && (isRecord(event.multiValueHeaders) || isRecord(event.multiValueQueryStringParameters)) ? "multi" : "single";
}

/**
 * Header values as Node's HTTP server would present them: bytes read as latin1. The ALB hands UTF-8
 * text through as JS strings; re-reading their UTF-8 bytes as latin1 gives the container's view.
 */
function nodeHeaderValue(value: string): string {
  return NON_LATIN1.test(value) ? Buffer.from(value, "utf8").toString("latin1") : value;
}

function collectHeaders(event: Record<string, unknown>, form: AlbForm): Array<[string, string]> | ErrorDecision {
  const out: Array<[string, string]> = [];
  const add = (name: string, value: unknown): ErrorDecision | undefined => {
    if (typeof value !== "string") return fail(400, "malformed_event", `header ${JSON.stringify(name.slice(0, 64))} is not a string`);
    if (!HEADER_NAME.test(name)) return fail(400, "bad_header", `header name ${JSON.stringify(name.slice(0, 64))} is not a valid token`);
    if (BAD_HEADER_VALUE.test(value)) return fail(400, "bad_header", `header ${name} has a control character in its value`);
    out.push([name.toLowerCase(), nodeHeaderValue(value)]);
    return undefined;
  };
  if (form === "multi") {
    const mv = event.multiValueHeaders;
    if (mv !== undefined && mv !== null) {
      if (!isRecord(mv)) return fail(400, "malformed_event", "multiValueHeaders must be an object of string arrays");
      for (const [name, values] of Object.entries(mv)) {
        if (!Array.isArray(values)) return fail(400, "malformed_event", "multiValueHeaders must be an object of string arrays");
        for (const v of values) {
          const err = add(name, v);
          if (err) return err;
        }
      }
    }
  } else {
    const h = event.headers;
    if (h !== undefined && h !== null) {
      if (!isRecord(h)) return fail(400, "malformed_event", "headers must be an object of strings");
      for (const [name, v] of Object.entries(h)) {
        const err = add(name, v);
        if (err) return err;
      }
    }
  }
  return out;
}

/** Rebuild the raw query string. The ALB passes keys and values as sent (still percent-encoded). */
function collectQuery(event: Record<string, unknown>, form: AlbForm): string | ErrorDecision {
  const parts: string[] = [];
  // "#" would start a fragment and cut the query; it cannot come from a real client unencoded.
  const raw = (s: string): string => s.replace(/#/g, "%23");
  if (form === "multi") {
    const q = event.multiValueQueryStringParameters;
    if (q !== undefined && q !== null) {
      if (!isRecord(q)) return fail(400, "malformed_event", "multiValueQueryStringParameters must be an object of string arrays");
      for (const [k, values] of Object.entries(q)) {
        if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) {
          return fail(400, "malformed_event", "multiValueQueryStringParameters must be an object of string arrays");
        }
        for (const v of values as string[]) parts.push(`${raw(k)}=${raw(v)}`);
      }
    }
  } else {
    const q = event.queryStringParameters;
    if (q !== undefined && q !== null) {
      if (!isRecord(q)) return fail(400, "malformed_event", "queryStringParameters must be an object of strings");
      for (const [k, v] of Object.entries(q)) {
        if (typeof v !== "string") return fail(400, "malformed_event", "queryStringParameters must be an object of strings");
        parts.push(`${raw(k)}=${raw(v)}`);
      }
    }
  }
  return parts.join("&");
}

/**
 * Validate an ALB event and extract the request. Errors (never throws):
 * 400 malformed_event / bad_header / bad_path, 413 body_too_large, 414 uri_too_long, 431 headers_too_large.
 */
export function parseAlbEvent(event: unknown, limits: RequestLimits = DEFAULT_LIMITS): ParsedAlbRequest | ErrorDecision {
  if (!isRecord(event)) return fail(400, "malformed_event", "the Lambda event is not an ALB request object");
  const form = albFormOf(event);
  const method = event.httpMethod;
  if (typeof method !== "string" || !METHOD.test(method)) {
    return fail(400, "malformed_event", "httpMethod is missing or not an upper-case HTTP method");
  }
  const path = event.path;
  if (typeof path !== "string" || !path.startsWith("/")) return fail(400, "malformed_event", "path is missing or does not start with /");
  if (path.length > limits.maxPathLength) return fail(414, "uri_too_long", `request path is longer than ${limits.maxPathLength} characters`);
  if (/[\u0000-\u0020\u007f]/.test(path)) return fail(400, "bad_path", "request path contains whitespace or control characters");

  const headers = collectHeaders(event, form);
  if (!Array.isArray(headers)) return headers;
  let headerBytes = 0;
  for (const [name, value] of headers) headerBytes += name.length + value.length + 4;
  if (headerBytes > limits.maxHeaderBytes) {
    return fail(431, "headers_too_large", `request headers exceed ${limits.maxHeaderBytes} bytes`);
  }

  const rawQuery = collectQuery(event, form);
  if (typeof rawQuery !== "string") return rawQuery;
  if (rawQuery.length > limits.maxQueryLength) return fail(414, "uri_too_long", `query string is longer than ${limits.maxQueryLength} characters`);

  const body = event.body;
  if (body !== undefined && body !== null && typeof body !== "string") return fail(400, "malformed_event", "body must be a string");
  if (event.isBase64Encoded !== undefined && typeof event.isBase64Encoded !== "boolean") {
    return fail(400, "malformed_event", "isBase64Encoded must be a boolean");
  }
  let bytes: Uint8Array | undefined;
  if (typeof body === "string" && body.length > 0) {
    // Cheap upper bound first: do not decode a body that is certainly too large.
    const estimate = event.isBase64Encoded ? Math.floor((body.length * 3) / 4) - 2 : body.length;
    if (estimate > limits.maxBodyBytes) return bodyTooLarge(limits);
    bytes = event.isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body, "utf8");
    if (bytes.length > limits.maxBodyBytes) return bodyTooLarge(limits);
  }
  // Same rule as the container: a declared length above the limit is refused before reading.
  const declared = headers.find(([n]) => n === "content-length");
  if (declared && /^[0-9]+$/.test(declared[1]) && Number(declared[1]) > limits.maxBodyBytes) return bodyTooLarge(limits);
  return bytes ? { ok: true, form, method, path, rawQuery, headers, body: bytes } : { ok: true, form, method, path, rawQuery, headers };
}

/** 413 decision with the message both runtimes use. */
export function bodyTooLarge(limits: RequestLimits = DEFAULT_LIMITS): ErrorDecision {
  return fail(413, "body_too_large", `request body is larger than ${limits.maxBodyBytes} bytes (1 MB); send less`);
}

const TEXTUAL = /^(?:text\/|application\/(?:json|xml|javascript|ecmascript|x-www-form-urlencoded|problem\+json|problem\+xml)\b|[a-z]+\/[a-z0-9.+-]*\+(?:json|xml)\b)/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/**
 * Whether a body must travel base64-encoded: anything not declared as UTF-8 text, anything with a
 * content-encoding (gzip...), and any "text" whose bytes are not valid UTF-8.
 */
export function needsBase64(contentType: string | undefined, contentEncoding: string | undefined, body: Uint8Array): boolean {
  if (contentEncoding && !/^\s*identity\s*$/i.test(contentEncoding)) return true;
  if (body.length === 0) return false;
  if (!contentType || !TEXTUAL.test(contentType.trim())) return true;
  const charset = CHARSET.exec(contentType)?.[1]?.toLowerCase();
  if (charset && charset !== "utf-8" && charset !== "utf8" && charset !== "us-ascii") return true;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(body);
    return false;
  } catch {
    return true;
  }
}

/**
 * The ALB JSON for a response. `headers` (single form) or `multiValueHeaders` (multi form) is never
 * empty: a response without content-type gets one. In the single form repeated headers are joined
 * with ", " (set-cookie cannot be joined: the last one wins, as the ALB itself would keep).
 */
export function shapeAlbResult(parts: ResponseParts, form: AlbForm, options: { head?: boolean } = {}): AlbResult {
  const headers: Array<[string, string]> = [];
  let contentType: string | undefined;
  let contentEncoding: string | undefined;
  for (const [rawName, value] of parts.headers) {
    const name = rawName.toLowerCase();
    if (HOP_BY_HOP[name] === true) continue;
    if (name === "content-type") contentType = value;
    if (name === "content-encoding") contentEncoding = value;
    headers.push([name, value]);
  }
  const body = options.head ? new Uint8Array(0) : parts.body;
  if (contentType === undefined) {
    contentType = parts.body.length > 0 ? "application/octet-stream" : "text/plain; charset=utf-8";
    headers.push(["content-type", contentType]);
  }
  const base64 = needsBase64(contentType, contentEncoding, body);
  const text = base64 ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("base64") : new TextDecoder().decode(body);
  const result: AlbResult = {
    statusCode: parts.status,
    statusDescription: statusDescription(parts.status),
    body: text,
    isBase64Encoded: base64,
  };
  if (form === "multi") {
    const mv: Record<string, string[]> = {};
    for (const [name, value] of headers) {
      if (Object.prototype.hasOwnProperty.call(mv, name)) mv[name].push(value);
      else Object.defineProperty(mv, name, { value: [value], enumerable: true, writable: true, configurable: true });
    }
    result.multiValueHeaders = mv;
  } else {
    const single: Record<string, string> = {};
    for (const [name, value] of headers) {
      const seen = Object.prototype.hasOwnProperty.call(single, name);
      Object.defineProperty(single, name, {
        value: name === "set-cookie" || !seen ? value : `${single[name]}, ${value}`,
        enumerable: true, writable: true, configurable: true,
      });
    }
    result.headers = single;
  }
  return result;
}

/** An error answer in ALB form, with the JSON error body. */
export function albError(decision: Pick<ErrorDecision, "status" | "code" | "message" | "headers">, form: AlbForm): AlbResult {
  const headers: Array<[string, string]> = [["content-type", JSON_CONTENT_TYPE], ["cache-control", "no-store"]];
  for (const [k, v] of Object.entries(decision.headers ?? {})) headers.push([k, v]);
  return shapeAlbResult({ status: decision.status, headers, body: Buffer.from(errorJson(decision.code, decision.message)) }, form);
}

/** Size in bytes of the JSON the ALB would receive: what its 1 MB response limit applies to. */
export function albResultBytes(result: AlbResult): number {
  return Buffer.byteLength(JSON.stringify(result), "utf8");
}
