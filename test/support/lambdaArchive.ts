import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const REPO_MODULES = path.join(__dirname, "..", "..", "node_modules");

// The archive layout is the testing kit's (serverless-cache/testing): one implementation for our tests
// and for consumers'.
import { extractLambdaArchive, type LambdaArchive as ExtractedLambda } from "../../testing/lambdaArchive";
export { extractLambdaArchive, type ExtractedLambda };

/** What the stub runtime SDK throws when anything loads one of its packages. */
export const RUNTIME_SDK_STUB_ERROR = "runtime SDK 3.x (stub): not the version this function was built against";

/**
 * A stand-in for the nodejs22.x runtime's own /var/runtime/node_modules (on NODE_PATH there): an
 * AWS SDK that is OLDER and PARTIAL. Each package in it is a stub whose main module records the load
 * and throws RUNTIME_SDK_STUB_ERROR, so a function that reaches for the runtime's SDK instead of its
 * own copy fails loudly (and a `try { require(...) }` that swallows the error still shows up in
 * `loads()`). @aws-sdk/s3-request-presigner is left out on purpose: whether the runtime has it is
 * unconfirmed, so a function must never depend on it being there.
 */
export interface StubRuntimeSdk {
  /** The directory to put on NODE_PATH (plays /var/runtime/node_modules). */
  nodePath: string;
  /** The package names it holds (stubs). */
  packages: string[];
  /** Packages loaded from this directory so far, in order (any process). */
  loads(): string[];
  remove(): void;
}

/** Packages the stub runtime never holds (partial SDK). */
export const NOT_IN_RUNTIME_SDK = ["@aws-sdk/s3-request-presigner"];

/**
 * Creates the stub runtime SDK in a temp dir: a stub for every `@aws-sdk/*`, `@smithy/*` and
 * `@aws-crypto/*` package installed in this repository (so every SDK package an archive could need
 * has a runtime look-alike to fall through to), minus NOT_IN_RUNTIME_SDK.
 */
export function createStubRuntimeSdk(): StubRuntimeSdk {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "lambda-runtime-"));
  const nodePath = path.join(root, "node_modules");
  const log = path.join(root, "loads.log");
  fs.writeFileSync(log, "");
  const packages: string[] = [];
  for (const scope of ["@aws-sdk", "@smithy", "@aws-crypto"]) {
    const scopeDir = path.join(REPO_MODULES, scope);
    if (!fs.existsSync(scopeDir)) continue;
    for (const name of fs.readdirSync(scopeDir)) {
      const pkg = `${scope}/${name}`;
      if (name.startsWith(".") || NOT_IN_RUNTIME_SDK.includes(pkg)) continue;
      const dir = path.join(nodePath, scope, name);
      // The stub's main module sits where the real package's does (e.g. dist-cjs/index.js): serialized
      // code requires that deep path when a package has no `exports` map.
      const real = JSON.parse(fs.readFileSync(path.join(scopeDir, name, "package.json"), "utf8")) as { main?: string };
      const main = path.posix.normalize(real.main ?? "index.js").replace(/^\.\//, "");
      const stub = [
        `require("node:fs").appendFileSync(${JSON.stringify(log)}, ${JSON.stringify(`${pkg}\n`)});`,
        `throw new Error(${JSON.stringify(`${RUNTIME_SDK_STUB_ERROR} (${pkg}, loaded from NODE_PATH)`)});`,
        "",
      ].join("\n");
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: pkg, version: "3.0.0-runtime-stub", main }));
      for (const file of new Set([main.endsWith(".js") ? main : `${main}.js`, "index.js"])) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), stub);
      }
      packages.push(pkg);
    }
  }
  if (!packages.includes("@aws-sdk/client-s3")) throw new Error(`no @aws-sdk packages under ${REPO_MODULES} to stub`);
  return {
    nodePath,
    packages: packages.sort(),
    loads: () => fs.readFileSync(log, "utf8").split("\n").filter(Boolean),
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * Puts `dir` on NODE_PATH for require() in THIS process, as the Lambda runtime does with
 * /var/runtime/node_modules (Node reads NODE_PATH once at start-up; Module._initPaths re-reads it).
 * Returns the function that restores the previous NODE_PATH.
 */
export function useNodePath(dir: string): () => void {
  const Module = require("node:module") as { _initPaths(): void };
  const previous = process.env.NODE_PATH;
  process.env.NODE_PATH = dir;
  Module._initPaths();
  return () => {
    if (previous === undefined) delete process.env.NODE_PATH;
    else process.env.NODE_PATH = previous;
    Module._initPaths();
  };
}

/** What a fresh `node` process saw when it loaded an archive with a given NODE_PATH. */
export interface ArchiveProbe {
  /** typeof the exported handler after `require("<dir>/__index.js")` (runs the factory). */
  handler?: string;
  /** The error message when loading __index.js threw. */
  error?: string;
  /** `require.resolve(name)` from __index.js: the file, or null when unresolvable. */
  resolved: Record<string, string | null>;
  /** `require(name)` from __index.js after the load: "ok" or the error message. */
  required: Record<string, string>;
  /** Every module file the process loaded (require.cache). */
  loadedFiles: string[];
}

const PROBE_SCRIPT = String.raw`
const path = require("node:path");
const { createRequire } = require("node:module");
const dir = process.env.PROBE_DIR;
const opts = JSON.parse(process.env.PROBE_OPTS);
const index = path.join(dir, "__index.js");
const req = createRequire(index);
const out = { resolved: {}, required: {} };
try {
  const mod = require(index);
  out.handler = typeof mod[opts.handlerName];
} catch (e) {
  out.error = String((e && e.message) || e);
}
for (const n of opts.resolve) {
  try { out.resolved[n] = req.resolve(n); } catch { out.resolved[n] = null; }
}
for (const n of opts.require) {
  try { req(n); out.required[n] = "ok"; } catch (e) { out.required[n] = String((e && e.message) || e); }
}
out.loadedFiles = Object.keys(require.cache);
process.stdout.write("\n@@PROBE@@" + JSON.stringify(out) + "\n");
process.exit(0);
`;

/**
 * Loads an archive's __index.js in a fresh `node` process started in the archive dir, with only
 * `env` (plus PATH) and NODE_PATH = `nodePath` (the runtime's modules), the way the Lambda runtime
 * does at init; then resolves and requires `resolve`/`require` from __index.js.
 */
export function probeArchive(lambda: ExtractedLambda, options: {
  nodePath: string;
  env?: Record<string, string>;
  handlerName?: string;
  resolve?: string[];
  require?: string[];
}): Promise<ArchiveProbe> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", PROBE_SCRIPT], {
      cwd: lambda.dir,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        ...options.env,
        NODE_PATH: options.nodePath,
        PROBE_DIR: lambda.dir,
        PROBE_OPTS: JSON.stringify({ handlerName: options.handlerName ?? "handler", resolve: options.resolve ?? [], require: options.require ?? [] }),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("@@PROBE@@"));
      if (!line) return reject(new Error(`archive probe exited ${code} without a result\n${out}\n${err}`));
      resolve(JSON.parse(line.slice("@@PROBE@@".length)) as ArchiveProbe);
    });
  });
}
