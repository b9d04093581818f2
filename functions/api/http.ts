/**
 * HTTP vocabulary shared by the app and both adapters: status texts, the JSON error body, limits.
 * Pure: no I/O, no Node-only APIs, no classes (serialized by value into the Lambda by Pulumi).
 */

/** `{ "error": { "code", "message" } }`: the only error shape the API answers with. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** A decision to answer with an error, before any I/O. */
export interface ErrorDecision {
  ok: false;
  status: number;
  code: string;
  message: string;
  /** Extra response headers (e.g. `allow` on 405). */
  headers?: Record<string, string>;
}

/** Limits both runtimes enforce the same way (so the container and the Lambda answer alike). */
export interface RequestLimits {
  /** Largest request body accepted, bytes. The ALB refuses more than 1 MB for a Lambda target anyway. */
  maxBodyBytes: number;
  /** Largest header block accepted (names + values), bytes. */
  maxHeaderBytes: number;
  /** Longest request path (before the query string), characters. */
  maxPathLength: number;
  /** Longest query string, characters. */
  maxQueryLength: number;
}

export const DEFAULT_LIMITS: RequestLimits = {
  maxBodyBytes: 1024 * 1024,
  maxHeaderBytes: 32 * 1024,
  maxPathLength: 2048,
  maxQueryLength: 4096,
};

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Reason phrase of a status code ("" when unknown). */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? "";
}

/** ALB `statusDescription`: "200 OK"; a status without a known phrase still gets a generic one. */
export function statusDescription(status: number): string {
  const text = STATUS_TEXT[status];
  if (text) return `${status} ${text}`;
  const generic = status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : status >= 300 ? "Redirection" : status >= 200 ? "Success" : "Informational";
  return `${status} ${generic}`;
}

/** The JSON text of an error body. */
export function errorJson(code: string, message: string): string {
  const body: ApiErrorBody = { error: { code, message } };
  return JSON.stringify(body);
}

/** Build an {@link ErrorDecision}. */
export function fail(status: number, code: string, message: string, headers?: Record<string, string>): ErrorDecision {
  return headers ? { ok: false, status, code, message, headers } : { ok: false, status, code, message };
}

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
