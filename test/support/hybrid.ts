/**
 * Helpers to run HybridLambdaFargateService's two deployed artifacts side by side: the Lambda archive
 * (test/support/lambdaArchive.ts) and the generated container context, laid out outside the
 * repository and started as Fargate would (`node __index.js`, SERVERLESS_CACHE_RUNTIME=container),
 * and to send both the same ALB events.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import type { AlbResult } from "../../functions/platform/alb";

/** A copy of a generated context in a temp dir (no node_modules of this repository above it). */
export function layoutContext(contextDir: string): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "container-context-"));
  fs.cpSync(contextDir, dir, { recursive: true, dereference: true });
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** The top-level packages of a node_modules directory (scoped ones as "@scope/name"). */
export function topLevelPackages(nodeModules: string): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(nodeModules)) {
    if (name.startsWith(".")) continue;
    if (name.startsWith("@")) for (const sub of fs.readdirSync(path.join(nodeModules, name))) out.push(`${name}/${sub}`);
    else out.push(name);
  }
  return out.sort();
}

export interface StartedContainer {
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** `node __index.js` in `dir`, as the generic Dockerfile runs it, with only `env` (plus PATH). */
export function startContextServer(dir: string, env: Record<string, string>): Promise<StartedContainer> {
  const child = spawn(process.execPath, ["__index.js"], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_ENV: "production", SERVERLESS_CACHE_RUNTIME: "container", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => { out += d.toString(); });
  child.stderr?.on("data", (d: Buffer) => { out += d.toString(); });
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /"message":"listening".*?"url":"([^"]+)"/.exec(out);
      if (!m) return;
      clearInterval(timer);
      resolve({
        url: m[1],
        child,
        output: () => out,
        stop: () => new Promise((done) => {
          if (child.exitCode !== null) return done(child.exitCode);
          child.once("exit", (code) => done(code));
          child.kill("SIGTERM");
        }),
      });
    }, 20);
    child.once("exit", (code) => {
      clearInterval(timer);
      reject(new Error(`node __index.js exited ${code}: ${out}`));
    });
  });
}

/** An answer reduced to what both runtimes must agree on. Header names lower-case, values in order. */
export interface Answer {
  status: number;
  headers: Record<string, string[]>;
  body: Buffer;
}

export function fromAlb(r: AlbResult): Answer {
  const headers: Record<string, string[]> = {};
  if (r.multiValueHeaders) for (const [k, v] of Object.entries(r.multiValueHeaders)) headers[k.toLowerCase()] = [...v];
  if (r.headers) for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = [v];
  return { status: r.statusCode, headers, body: r.isBase64Encoded ? Buffer.from(r.body, "base64") : Buffer.from(r.body, "utf8") };
}

/** The HTTP request an ALB event stands for (query and path raw, as the ALB passes them). */
export function httpRequestOf(event: Record<string, unknown>): { method: string; target: string; headers: Array<[string, string]>; body?: Buffer } {
  const multi = event.multiValueHeaders !== undefined || event.multiValueQueryStringParameters !== undefined;
  const parts: string[] = [];
  const headers: Array<[string, string]> = [];
  if (multi) {
    for (const [k, vs] of Object.entries((event.multiValueQueryStringParameters ?? {}) as Record<string, string[]>)) for (const v of vs) parts.push(`${k}=${v}`);
    for (const [k, vs] of Object.entries((event.multiValueHeaders ?? {}) as Record<string, string[]>)) for (const v of vs) headers.push([k, v]);
  } else {
    for (const [k, v] of Object.entries((event.queryStringParameters ?? {}) as Record<string, string>)) parts.push(`${k}=${v}`);
    for (const [k, v] of Object.entries((event.headers ?? {}) as Record<string, string>)) headers.push([k, v]);
  }
  const raw = typeof event.body === "string" && event.body.length > 0 ? event.body : undefined;
  const body = raw === undefined ? undefined : event.isBase64Encoded ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
  return { method: String(event.httpMethod), target: `${String(event.path)}${parts.length ? `?${parts.join("&")}` : ""}`, headers, body };
}

/** Send a request exactly as given (raw target, repeated headers kept) and collect the answer. */
export function httpExchange(base: string, req: { method: string; target: string; headers: Array<[string, string]>; body?: Buffer }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const headers: Array<[string, string]> = req.headers.filter(([k]) => !["content-length", "connection"].includes(k.toLowerCase()));
    if (!headers.some(([k]) => k.toLowerCase() === "host")) headers.push(["host", u.host]);
    if (req.body !== undefined) headers.push(["content-length", String(req.body.length)]);
    const r = http.request({ host: u.hostname, port: u.port, method: req.method, path: req.target, agent: false, headers: headers.flat() as unknown as http.OutgoingHttpHeaders }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const h: Record<string, string[]> = {};
        for (let i = 0; i < res.rawHeaders.length; i += 2) (h[res.rawHeaders[i].toLowerCase()] ??= []).push(res.rawHeaders[i + 1]);
        resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks) });
      });
    });
    r.on("error", reject);
    r.end(req.body);
  });
}

export { startFakeS3, type FakeS3 } from "./fakeS3";
