import * as fs from "node:fs";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";

const DEFAULT_PACKAGE_JSON = path.join(__dirname, "..", "package.json");

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
export function packageClosure(uses: string[], rootDir = path.dirname(DEFAULT_PACKAGE_JSON)): PackageNode[] {
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
  /** package.json whose `dependencies` CallbackFunction packages. Default: the project's. */
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
  const packageJsonPath = options.packageJsonPath ?? DEFAULT_PACKAGE_JSON;
  const dependencies = Object.keys(readPackageJson(packageJsonPath).dependencies ?? {});
  const unknown = options.uses.filter((u) => !dependencies.includes(u));
  if (unknown.length > 0) {
    throw new Error(`lambdaCodePathOptions: ${unknown.join(", ")} not in the dependencies of ${packageJsonPath} (devDependencies are never packaged)`);
  }
  const closure = packageClosure(options.uses, path.dirname(packageJsonPath));
  const needed = new Set(closure.filter((p) => !p.typesOnly).map((p) => p.name));
  const exclude = new Set<string>();
  for (const dep of dependencies) if (!needed.has(dep)) exclude.add(dep);
  for (const p of closure) if (p.typesOnly && !needed.has(p.name)) exclude.add(p.name);
  return { extraExcludePackages: [...exclude].sort() };
}
