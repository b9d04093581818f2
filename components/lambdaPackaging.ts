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

/** Whether the nodejs22.x runtime ships the package (the AWS SDK v3). */
function isRuntimeProvided(name: string): boolean {
  return name.startsWith("@aws-sdk/");
}

/**
 * Packages the Lambda nodejs22.x runtime already provides (AWS SDK v3). CallbackFunction otherwise
 * copies every runtime `dependency` of package.json into each archive.
 */
export function runtimeProvidedPackages(packageJsonPath = DEFAULT_PACKAGE_JSON): string[] {
  const pkg = readPackageJson(packageJsonPath);
  return Object.keys(pkg.dependencies ?? {}).filter(isRuntimeProvided);
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
  /** Installed location; none for runtime-provided packages (not followed). */
  dir?: string;
  /** Provided by the Lambda runtime (`@aws-sdk/*`): never packaged. */
  runtimeProvided: boolean;
  /** Only type declarations and docs: never loaded. */
  typesOnly: boolean;
}

/**
 * The packages `uses` needs at run time: the packages themselves and, transitively, their
 * `dependencies` (what CallbackFunction follows too), resolved the way Node resolves them.
 * Runtime-provided packages (`@aws-sdk/*`) are listed but not followed.
 */
export function packageClosure(uses: string[], rootDir = path.dirname(DEFAULT_PACKAGE_JSON)): PackageNode[] {
  const seen = new Map<string, PackageNode>();
  const visit = (name: string, fromDir: string): void => {
    if (isRuntimeProvided(name)) {
      if (!seen.has(`runtime:${name}`)) seen.set(`runtime:${name}`, { name, runtimeProvided: true, typesOnly: false });
      return;
    }
    const dir = resolvePackageDir(name, fromDir, rootDir);
    if (!dir) throw new Error(`lambda packaging: package ${name} (needed from ${fromDir}) is not installed; run npm ci`);
    const real = fs.realpathSync(dir);
    if (seen.has(real)) return;
    seen.set(real, { name, dir, runtimeProvided: false, typesOnly: isTypesOnlyPackage(real) });
    const pkg = readPackageJson(path.join(dir, "package.json"));
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir);
  };
  for (const name of uses) visit(name, rootDir);
  return [...seen.values()];
}

export interface LambdaPackagingOptions {
  /**
   * The runtime `dependencies` (package.json) the function's code loads, directly, including those
   * the runtime provides (`@aws-sdk/*`, listed to say the code uses them; never packaged). Their own
   * dependencies follow automatically.
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
 *   - every dependency not in `uses` and not needed by a package in `uses`;
 *   - what the runtime provides (`@aws-sdk/*`);
 *   - types-only packages in the tree (e.g. type-fest, `@types/*`): nothing in them is loaded.
 * Throws when `uses` names a package that is not a runtime dependency (a typo, or a devDependency,
 * which CallbackFunction never packages).
 */
export function lambdaCodePathOptions(options: LambdaPackagingOptions): pulumi.runtime.CodePathOptions {
  const packageJsonPath = options.packageJsonPath ?? DEFAULT_PACKAGE_JSON;
  const dependencies = Object.keys(readPackageJson(packageJsonPath).dependencies ?? {});
  const unknown = options.uses.filter((u) => !dependencies.includes(u));
  if (unknown.length > 0) {
    throw new Error(`lambdaCodePathOptions: ${unknown.join(", ")} not in the dependencies of ${packageJsonPath} (devDependencies are never packaged)`);
  }
  const closure = packageClosure(options.uses, path.dirname(packageJsonPath));
  const needed = new Set(closure.filter((p) => !p.typesOnly && !p.runtimeProvided).map((p) => p.name));
  const exclude = new Set<string>();
  for (const dep of dependencies) if (isRuntimeProvided(dep) || !needed.has(dep)) exclude.add(dep);
  for (const p of closure) if ((p.typesOnly || p.runtimeProvided) && !needed.has(p.name)) exclude.add(p.name);
  return { extraExcludePackages: [...exclude].sort() };
}
