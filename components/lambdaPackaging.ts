import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

/**
 * The package.json CallbackFunction packages the `dependencies` of: the nearest one above the working
 * directory (Pulumi's computeCodePaths searches up from "."), i.e. the program's, never this
 * component's own when it is consumed as a library. Throws when there is none.
 */
export function programPackageJson(fromDir: string = process.cwd()): string {
  let dir = path.resolve(fromDir);
  for (;;) {
    const candidate = path.join(dir, "package.json");
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`lambda packaging: no package.json above ${fromDir} (run the program from its directory)`);
    dir = parent;
  }
}

interface PackageJson {
  dependencies?: Record<string, string>;
}

function readPackageJson(file: string): PackageJson {
  return JSON.parse(fs.readFileSync(file, "utf8")) as PackageJson;
}

/*
 * Nothing is "provided by the runtime". The nodejs22.x runtime does put an AWS SDK v3 on NODE_PATH
 * (/var/runtime/node_modules), but it is an older, partial set that AWS updates on its own schedule
 * (which packages it holds is not documented; whether it has @aws-sdk/s3-request-presigner at all is
 * unconfirmed), and AWS advises production functions to ship every `@aws-sdk/*` and `@smithy/*`
 * package they use (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-package.html). So
 * `@aws-sdk/*` is packaged like any other dependency, with its whole run-time tree (@smithy/*,
 * @aws-crypto/*, tslib, ...): a function runs the SDK version it was built and tested against, and
 * Node finds it in the archive's node_modules before it ever looks at NODE_PATH.
 *
 * There is deliberately no opt-in "runtime provided" list: no function here is near a size limit
 * (see docs/cold-start.md for the archive sizes), and excluding a package the code imports would
 * bring back exactly the failure this avoids (a version nobody tested, or a missing module at the
 * first large response).
 */

/**
 * The name of the npm package `dir` belongs to when it is installed under a node_modules folder (this
 * component used as a library by another program), else undefined. Pulumi's closure serializer
 * `require`s modules from node_modules by name instead of serializing them by value, so such a
 * package must itself be in the archive: add it to `uses`.
 */
export function installedPackageOf(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const file = path.join(d, "package.json");
    if (fs.existsSync(file)) {
      const name = (JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string }).name;
      return name && path.resolve(d).split(path.sep).includes("node_modules") ? name : undefined;
    }
    if (path.dirname(d) === d) return undefined;
  }
}

/** Where Node would find `name` required from `fromDir`: the nearest node_modules/<name> upwards. */
function resolvePackageDir(name: string, fromDir: string, rootDir: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = path.join(dir, "node_modules", name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.resolve(dir) === path.resolve(rootDir)) return undefined;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Files that are never loaded at run time. */
const NOT_RUNTIME = /(\.d\.[cm]?ts|\.map|\.md|\.markdown|\.txt)$|^(readme|license|licence|changelog|notice|authors)([.-][^/]*)?$|^package\.json$/i;

/**
 * A package with nothing Node could load: only type declarations and docs (e.g. `@types/*`, or
 * type-fest, which got lists as a dependency for its typings). Such packages are safe to drop from
 * every archive.
 */
export function isTypesOnlyPackage(dir: string): boolean {
  if (/[\\/]node_modules[\\/]@types[\\/][^\\/]+$/.test(dir)) return true;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (e.name !== "node_modules") stack.push(path.join(d, e.name));
      } else if (!NOT_RUNTIME.test(e.name)) {
        return false;
      }
    }
  }
  return true;
}

/** One package reached from a function's direct packages. */
export interface PackageNode {
  name: string;
  /** Installed location (as Node resolves it; may be a nested node_modules). */
  dir: string;
  /** Only type declarations and docs: never loaded. */
  typesOnly: boolean;
}

/**
 * The packages `uses` needs at run time: the packages themselves and, transitively, their
 * `dependencies` (what CallbackFunction follows too), resolved the way Node resolves them.
 */
export function packageClosure(uses: string[], rootDir = path.dirname(programPackageJson())): PackageNode[] {
  const seen = new Map<string, PackageNode>();
  const visit = (name: string, fromDir: string): void => {
    const dir = resolvePackageDir(name, fromDir, rootDir);
    if (!dir) throw new Error(`lambda packaging: package ${name} (needed from ${fromDir}) is not installed; run npm ci`);
    const real = fs.realpathSync(dir);
    if (seen.has(real)) return;
    seen.set(real, { name, dir, typesOnly: isTypesOnlyPackage(real) });
    const pkg = readPackageJson(path.join(dir, "package.json"));
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir);
  };
  for (const name of uses) visit(name, rootDir);
  return [...seen.values()];
}

export interface LambdaPackagingOptions {
  /**
   * The runtime `dependencies` (package.json) the function's code loads directly, `@aws-sdk/*`
   * clients included (they are packaged like everything else). Their own dependencies follow
   * automatically.
   */
  uses: string[];
  /**
   * package.json whose `dependencies` CallbackFunction packages. Default: the program's (the nearest
   * above the working directory, as CallbackFunction finds it: {@link programPackageJson}).
   */
  packageJsonPath?: string;
}

/**
 * `codePathOptions` for a CallbackFunction that ships only what the function uses.
 *
 * CallbackFunction copies every runtime `dependency` of package.json, with its whole dependency
 * tree, into every archive. This excludes (`extraExcludePackages`, which also stops the walk into an
 * excluded package's dependencies):
 *   - every dependency not in `uses` and not needed by a package in `uses` (e.g. the S3 client from
 *     the failover function, the ECS client from the API function);
 *   - types-only packages in the tree (e.g. type-fest, `@types/*`): nothing in them is loaded.
 * Everything else in the closure of `uses` is packaged, the AWS SDK included (see the note above
 * on the runtime's SDK). Throws when `uses` names a package that is not a runtime dependency (a
 * typo, or a devDependency, which CallbackFunction never packages).
 */
export function lambdaCodePathOptions(options: LambdaPackagingOptions): pulumi.runtime.CodePathOptions {
  const packageJsonPath = options.packageJsonPath ?? programPackageJson();
  const rootDir = path.dirname(packageJsonPath);
  const dependencies = Object.keys(readPackageJson(packageJsonPath).dependencies ?? {});
  // A package the program does not list itself may still be a run-time dependency of one it lists: the
  // platform's own packages (memjs, ...) when this component is installed as a package by another program.
  const indirect = options.uses.filter((u) => !dependencies.includes(u));
  if (indirect.length > 0) {
    const reachable = new Set(packageClosure(dependencies, rootDir).map((p) => p.name));
    const unknown = indirect.filter((u) => !reachable.has(u));
    if (unknown.length > 0) {
      throw new Error(`lambdaCodePathOptions: ${unknown.join(", ")} not in the dependencies of ${packageJsonPath}, nor run-time dependencies of them (devDependencies are never packaged)`);
    }
  }
  const closure = packageClosure(options.uses, rootDir);
  const needed = new Set(closure.filter((p) => !p.typesOnly).map((p) => p.name));
  const exclude = new Set<string>();
  for (const dep of dependencies) if (!needed.has(dep)) exclude.add(dep);
  for (const p of closure) if (p.typesOnly && !needed.has(p.name)) exclude.add(p.name);
  // Reached only through a package that is itself excluded (the walk stops there): named explicitly.
  return indirect.length > 0
    ? { extraExcludePackages: [...exclude].sort(), extraIncludePackages: [...indirect].sort() }
    : { extraExcludePackages: [...exclude].sort() };
}

/** The options CallbackFunction serializes its callback (or factory) with (@pulumi/aws lambda/lambdaMixins.js). */
export const CALLBACK_SERIALIZE_OPTIONS = { serialize: () => true, exportName: "handler", isFactoryFunction: true, allowSecrets: true } as const;

export interface ContainerContextOptions {
  /** The factory the Lambda gets as `callbackFactory`: serialized the same way into `__index.js`. */
  factory: () => unknown;
  /** The Lambda's `codePathOptions` (the same package set goes into the context's node_modules). */
  codePathOptions: pulumi.runtime.CodePathOptions;
  /** Directory of the build context (replaced). */
  dir: string;
  /** The generic Dockerfile copied into the context. */
  dockerfile: string;
}

export interface ContainerContext {
  dir: string;
  /** `<dir>/Dockerfile` */
  dockerfile: string;
  /** SHA-256 of the serialized `__index.js`. */
  indexSha256: string;
  /** The top-level packages under node_modules (the Lambda archive's set). */
  packages: string[];
  /** Whether this call wrote the context (false: it was already there, identical). */
  written: boolean;
}

/** Files that only a native (compiled) package has: the context must be pure JS to serve arm64 and x86_64 alike. */
const NATIVE_FILE = /\.node$|^binding\.gyp$/;

function nativeFiles(dir: string): string[] {
  const found: string[] = [];
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) stack.push(path.join(d, e.name));
      else if (NATIVE_FILE.test(e.name)) found.push(path.join(d, e.name));
    }
  }
  return found;
}

/**
 * Write the Docker build context of the container runtime: `__index.js` serialized from `factory`
 * exactly as aws.lambda.CallbackFunction serializes its `callbackFactory` (same function, same
 * options: the file is byte-identical to the Lambda's), the same node_modules as the Lambda archive
 * (`pulumi.runtime.computeCodePaths` with the same options, "aws-sdk" excluded as CallbackFunction
 * does), and the generic Dockerfile. Deterministic: the same inputs give the same files, and an
 * identical context already on disk is left alone (`manifest.json`). Written next to `dir` and renamed
 * into place, so a reader never sees half a context. Refuses native packages (`*.node`,
 * `binding.gyp`): the context is built for arm64 and x86_64 without an install step.
 */
export async function writeContainerContext(options: ContainerContextOptions): Promise<ContainerContext> {
  const closure = await pulumi.runtime.serializeFunction(options.factory, { ...CALLBACK_SERIALIZE_OPTIONS });
  const modulePaths = await pulumi.runtime.computeCodePaths({
    ...options.codePathOptions,
    extraExcludePackages: [...(options.codePathOptions.extraExcludePackages ?? []), "aws-sdk"],
  });
  const sources: Array<[string, string]> = [];
  for (const [rel, asset] of modulePaths) {
    const from = await (asset as unknown as { path?: Promise<string> }).path;
    if (typeof from !== "string") throw new Error(`container context: ${rel} is not a file or directory asset`);
    sources.push([rel, from]);
  }
  sources.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const dockerfileText = fs.readFileSync(options.dockerfile, "utf8");
  const indexSha256 = createHash("sha256").update(closure.text).digest("hex");
  const packages = sources.map(([rel]) => rel.replace(/^node_modules\//, ""));
  const versionOf = (dir: string): string => {
    try {
      return (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version?: string }).version ?? "";
    } catch {
      return "";
    }
  };
  const manifest = JSON.stringify({
    indexSha256,
    dockerfileSha256: createHash("sha256").update(dockerfileText).digest("hex"),
    packages: sources.map(([rel, from]) => [rel, versionOf(from), fs.realpathSync(from)]),
  }, null, 2);
  const dir = path.resolve(options.dir);
  const result = { dir, dockerfile: path.join(dir, "Dockerfile"), indexSha256, packages };
  const manifestFile = path.join(dir, "manifest.json");
  if (fs.existsSync(manifestFile) && fs.readFileSync(manifestFile, "utf8") === manifest && fs.existsSync(path.join(dir, "__index.js"))) {
    return { ...result, written: false };
  }
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const staging = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    for (const [rel, from] of sources) {
      fs.cpSync(from, path.join(staging, rel), { recursive: true, dereference: true });
    }
    const native = nativeFiles(path.join(staging, "node_modules")).map((f) => path.relative(staging, f));
    if (native.length > 0) {
      throw new Error(`container context: native modules cannot go into the multi-architecture context: ${native.slice(0, 5).join(", ")}`);
    }
    fs.writeFileSync(path.join(staging, "__index.js"), closure.text);
    fs.writeFileSync(path.join(staging, "Dockerfile"), dockerfileText);
    fs.writeFileSync(path.join(staging, ".dockerignore"), "manifest.json\n");
    fs.writeFileSync(path.join(staging, "manifest.json"), manifest);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(staging, dir);
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  return { ...result, written: true };
}
