import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as pulumiSettings from "@pulumi/pulumi/runtime/settings";
import * as yaml from "js-yaml";
import { MockAccount, type MockAccountOptions } from "./mockAccount";

/**
 * Runs a Pulumi program under Pulumi's mock engine, with a stack's real config and no credentials,
 * against a mock AWS account (plan/mockAccount.ts), and records every resource it registers: type,
 * name, inputs, state, parent, provider, dependencies and resource options.
 *
 * - `runProgram("dev", overrides)`: this repository's program (index.ts) for one of its stacks. Used by
 *   the unit tests and by the offline plan (`npm run plan`).
 * - `runProgram({ program, project, stack, config, ... })`: any program (a module path or a function),
 *   e.g. a consumer's program that uses our components. Published as `serverless-cache/testing`
 *   (testing/index.ts; docs/testing.md).
 */

export const REPO_ROOT = path.resolve(__dirname, "..");
export const PROJECT = "serverless-cache";

/** One resource the program registered with the mock engine. */
export interface MockResource {
  type: string;
  name: string;
  id: string;
  inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- resource inputs are untyped JSON by nature
  state: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- ditto
  /** The parent's URN (components' children), if any. */
  parent?: string;
  /** Whether a provider manages it (false for ComponentResources). */
  custom: boolean;
  /** URNs of the resources it depends on (explicit dependsOn and through its inputs). */
  dependencies: string[];
  /** For each input property, the URNs of the resources its value came from. */
  propertyDependencies: Record<string, string[]>;
  /** Provider reference ("<provider urn>::<provider id>") for custom resources with an explicit provider. */
  provider?: string;
  urn: string;
  /** Resource options the engine was given (the mock engine's `newResource` does not see them). */
  options?: ResourceOptionsSeen;
}

/** The resource options that change how the engine updates, replaces or deletes a resource. */
export interface ResourceOptionsSeen {
  ignoreChanges: string[];
  replaceOnChanges: string[];
  deleteBeforeReplace: boolean;
  retainOnDelete: boolean;
}

export interface ProgramRun {
  stack: string;
  /** The Pulumi project name the program ran as (URNs and config keys carry it). */
  project: string;
  resources: MockResource[];
  /** The program's stack exports, resolved. */
  outputs: Record<string, unknown>;
  ofType(type: string): MockResource[];
  byUrn(urn: string): MockResource | undefined;
  one(type: string, namePart?: string): MockResource;
  byId(id: string): MockResource | undefined;
  /** The resources whose parent is `parent` (a resource or its URN): a component's direct children. */
  childrenOf(parent: MockResource | string): MockResource[];
  /** Every resource below `ancestor` (children, their children, ...). */
  descendantsOf(ancestor: MockResource | string): MockResource[];
}

/** The outermost component (ComponentResource ancestor) that contains `r`, if any. */
export function topComponent(r: MockResource, byUrn: ReadonlyMap<string, MockResource>): MockResource | undefined {
  let top: MockResource | undefined;
  for (let cur = r.parent ? byUrn.get(r.parent) : undefined; cur; cur = cur.parent ? byUrn.get(cur.parent) : undefined) {
    if (!cur.custom) top = cur;
  }
  return top;
}

/** A component as the plan names it: "net-dev (MultiAzNetwork)". */
export function componentLabel(component: MockResource): string {
  return `${component.name} (${component.type.split(":").pop()})`;
}

/** A config key as the CLI passes it: `networkNatMode` is `serverless-cache:networkNatMode`; `aws:region` stays. */
export function qualifiedKey(key: string, project = PROJECT): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

/** Pulumi.yaml's `config:` declarations, by qualified key. */
function projectConfigDeclarations(projectDir = REPO_ROOT, project = PROJECT): Map<string, unknown> {
  const file = path.join(projectDir, "Pulumi.yaml");
  if (!fs.existsSync(file)) return new Map();
  const doc = (yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  return new Map(Object.entries(doc.config ?? {}).map(([key, decl]) => [qualifiedKey(key, project), decl]));
}

/** Config keys Pulumi.yaml declares, fully qualified (`serverless-cache:networkNatMode`, `aws:region`, ...). */
export function declaredConfigKeys(): string[] {
  return [...projectConfigDeclarations().keys()];
}

/**
 * `--config <key>=<value>` arguments (npm run plan, npm run doctor) as config overrides: each key must
 * be one Pulumi.yaml declares (or an `aws:` key). Errors come out of `error`, naming the argument.
 */
export function parseConfigOverrides(args: readonly string[], error: (message: string) => Error): Record<string, string> {
  const overrides: Record<string, string> = {};
  const declared = args.length > 0 ? declaredConfigKeys() : [];
  for (const kv of args) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw error(`--config ${JSON.stringify(kv)}: expected <key>=<value>`);
    const key = kv.slice(0, eq);
    const full = qualifiedKey(key);
    if (!declared.includes(full) && !full.startsWith("aws:")) {
      throw error(`--config ${key}: not a config key of this project; allowed: ${declared.map((k) => k.replace(`${PROJECT}:`, "")).join(", ")}`);
    }
    overrides[key] = kv.slice(eq + 1);
  }
  return overrides;
}

/** The stacks this project defines: one Pulumi.<stack>.yaml each. */
export function availableStacks(): string[] {
  return fs.readdirSync(REPO_ROOT)
    .map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

export class UnknownStackError extends Error {
  constructor(readonly stack: string, readonly available: string[]) {
    super(`unknown stack ${JSON.stringify(stack)}: no Pulumi.${stack}.yaml in ${REPO_ROOT}; allowed: ${available.join(", ")}`);
    this.name = "UnknownStackError";
  }
}

/** What the CLI would pass: Pulumi.yaml defaults overlaid with Pulumi.<stack>.yaml values, as strings. */
export function stackConfig(stack: string, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
  if (!/^[A-Za-z0-9_.-]+$/.test(stack) || !fs.existsSync(file)) throw new UnknownStackError(stack, availableStacks());
  return resolveConfig({ projectDir: REPO_ROOT, project: PROJECT, stackFile: file, overrides }).config;
}

/** A config value as the CLI hands it to the program: strings as they are, anything else as JSON. */
function configString(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** A stack file's secret (`{ secure: ... }`): the mock engine cannot decrypt it. */
function isSecureValue(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v;
}

/** A config value the mock engine cannot know (a secret of the stack file with no plaintext given). */
export class SecretConfigError extends Error {
  constructor(readonly key: string, readonly file: string) {
    super(`config ${key} is a secret in ${file} (encrypted by the Pulumi service or a secrets provider, which the mock engine cannot reach): pass its plaintext in \`overrides\` (or \`config\`)`);
    this.name = "SecretConfigError";
  }
}

/** Where a run's config comes from. */
export interface ConfigSources {
  /** Directory of Pulumi.yaml (its `config:` defaults and values apply first). */
  projectDir: string;
  project: string;
  /** A Pulumi.<stack>.yaml to read (`config:` values overlay the project's). */
  stackFile?: string;
  /** Config values overlaying the file (bare keys belong to the project; objects become JSON). */
  config?: Record<string, unknown>;
  /** Applied last; `undefined` removes a key. */
  overrides?: Record<string, unknown>;
}

/**
 * The config the CLI would pass for these sources: Pulumi.yaml's `config:` (a `default` or `value`, or a
 * plain value), overlaid by the stack file's `config:`, then `config`, then `overrides`; keys fully
 * qualified, values strings. Secrets in the stack file must be given in plain text by `config` or
 * `overrides` (returned in `secretKeys`).
 */
export function resolveConfig(sources: ConfigSources): { config: Record<string, string>; secretKeys: string[] } {
  const { projectDir, project } = sources;
  const out: Record<string, string> = {};
  const secure = new Map<string, string>();
  for (const [key, decl] of projectConfigDeclarations(projectDir, project)) {
    if (decl && typeof decl === "object" && !Array.isArray(decl)) {
      if ("value" in decl) out[key] = configString((decl as { value: unknown }).value);
      else if ("default" in decl) out[key] = configString((decl as { default: unknown }).default);
    } else if (decl !== null && decl !== undefined) {
      out[key] = configString(decl);
    }
  }
  if (sources.stackFile) {
    const doc = (yaml.load(fs.readFileSync(sources.stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    for (const [key, value] of Object.entries(doc.config ?? {})) {
      const full = qualifiedKey(key, project);
      if (isSecureValue(value)) {
        secure.set(full, sources.stackFile);
        delete out[full];
      } else {
        out[full] = configString(value);
      }
    }
  }
  const given = new Set<string>();
  for (const layer of [sources.config ?? {}, sources.overrides ?? {}]) {
    for (const [key, value] of Object.entries(layer)) {
      const full = qualifiedKey(key, project);
      given.add(full);
      if (value === undefined) delete out[full]; else out[full] = configString(value);
    }
  }
  for (const [key, file] of secure) if (!given.has(key)) throw new SecretConfigError(key, file);
  return { config: out, secretKeys: [...secure.keys()].filter((k) => k in out) };
}

/** Outputs the real provider would compute, for the types our components read back. */
function computedState(type: string, name: string, inputs: Record<string, any>, account: { region: string; accountId: string } = { region: "us-east-1", accountId: "123456789012" }): Record<string, unknown> { // eslint-disable-line @typescript-eslint/no-explicit-any -- resource inputs are untyped JSON by nature
  const { region, accountId } = account;
  const arn = `arn:aws:mock:${region}:${accountId}:${type.split(":").pop()}/${name}`;
  switch (type) {
    case "aws:elasticache/cluster:Cluster": {
      const host = `${name}.abc123.cfg.use1.cache.amazonaws.com`;
      const azs: string[] = inputs.preferredAvailabilityZones ?? [];
      return {
        clusterId: name,
        clusterAddress: host,
        configurationEndpoint: `${host}:${inputs.port ?? 11211}`,
        cacheNodes: Array.from({ length: inputs.numCacheNodes ?? 1 }, (_, i) => ({
          id: String(i + 1).padStart(4, "0"),
          address: `${name}.abc123.000${i + 1}.use1.cache.amazonaws.com`,
          port: inputs.port ?? 11211,
          availabilityZone: azs[i] ?? "us-east-1a",
        })),
        arn,
      };
    }
    case "aws:lambda/function:Function":
      return { name: inputs.name ?? name, arn, invokeArn: `${arn}/invocations`, qualifiedArn: `${arn}:$LATEST`, version: "$LATEST" };
    case "aws:iam/role:Role":
    case "aws:cloudwatch/logGroup:LogGroup":
    case "aws:cloudwatch/eventRule:EventRule":
      return { name: inputs.name ?? name, arn };
    case "aws:s3/bucket:Bucket":
      return { bucket: inputs.bucket ?? `${name}-bucket`, arn: `arn:aws:s3:::${inputs.bucket ?? `${name}-bucket`}` };
    case "aws:apigateway/restApi:RestApi":
      return { arn, executionArn: `arn:aws:execute-api:${region}:${accountId}:${name}-id`, rootResourceId: `${name}-root` };
    case "aws:lb/loadBalancer:LoadBalancer": {
      const suffix = `app/${name}/50dc6c495c0c9188`;
      return { arn: `arn:aws:elasticloadbalancing:${region}:${accountId}:loadbalancer/${suffix}`, arnSuffix: suffix, dnsName: `internal-${name}-123.${region}.elb.amazonaws.com` };
    }
    case "aws:lb/targetGroup:TargetGroup": {
      const suffix = `targetgroup/${name}/73e2d6bc24d8a067`;
      return { arn: `arn:aws:elasticloadbalancing:${region}:${accountId}:${suffix}`, arnSuffix: suffix };
    }
    case "aws:elasticache/subnetGroup:SubnetGroup":
    case "aws:elasticache/parameterGroup:ParameterGroup":
      return { name: inputs.name ?? name, arn };
    default:
      // An input named `arn` (an EventTarget's target) is the user's, not the resource's own ARN.
      return inputs.arn !== undefined ? {} : { arn };
  }
}

/** This repository's program modules (the legacy runs): everything outside node_modules, test/ and plan/. */
function clearProgramModules(): void {
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(REPO_ROOT) && !key.includes(`${path.sep}node_modules${path.sep}`) && !key.includes(`${path.sep}test${path.sep}`) && !key.includes(`${path.sep}plan${path.sep}`)) {
      delete require.cache[key];
    }
  }
}

/** Files of the engine itself (and of the testing entry that re-exports it): never unloaded. */
const ENGINE_DIRS = [__dirname, path.join(__dirname, "..", "testing")].map((d) => `${d}${path.sep}`);

/**
 * A program given as a module path runs again on every run: its modules (everything under its
 * project directory outside node_modules, e.g. index.ts and the app it imports) are unloaded first,
 * so they read the new run's config and register their resources with the new mock engine.
 * Packages in node_modules (our components included) stay loaded.
 */
function clearModulesUnder(dir: string): void {
  const prefix = `${path.resolve(dir)}${path.sep}`;
  for (const key of Object.keys(require.cache)) {
    if (!key.startsWith(prefix) || key.includes(`${path.sep}node_modules${path.sep}`)) continue;
    if (ENGINE_DIRS.some((d) => key.startsWith(d))) continue;
    delete require.cache[key];
  }
}

async function settle(out: pulumi.Output<unknown>): Promise<unknown> {
  return new Promise((resolve) => out.apply((v) => { resolve(v); return v; }));
}

/** The program failed under the mock engine (an error inside an apply, a component that throws late). */
export class ProgramError extends Error {
  constructor(readonly stack: string, readonly cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`the program failed for stack ${stack}: ${message.split("\n")[0]}`);
    this.name = "ProgramError";
  }
}

/** What the engine is told about a resource besides its inputs. */
interface Registration {
  urn: string;
  parent?: string;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  options: ResourceOptionsSeen;
}

/** The parts of the engine's RegisterResourceRequest (protobuf) read here. */
interface RegisterResourceRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (deps: { getUrnsList(): string[] }, key: string) => void): void };
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getDeletebeforereplace(): boolean;
  getRetainondelete(): boolean | undefined;
}
interface MockMonitorInternals {
  newUrn(parent: string, type: string, name: string): string;
  registerResource(req: RegisterResourceRequest, callback: (...args: unknown[]) => void): Promise<void>;
}

/**
 * The mock engine hands `newResource` only type, name and inputs. Parent and dependencies are in the
 * registration request, so wrap the mock monitor's registerResource to note them first.
 */
function captureRegistrations(into: Map<string, Registration>): void {
  // The mock monitor is internal to @pulumi/pulumi; getMonitor() types it as the gRPC client.
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitorInternals;
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps, key) => { propertyDependencies[key] = deps.getUrnsList(); });
    const parent = req.getParent() || undefined;
    into.set(`${req.getType()}::${req.getName()}`, {
      urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
      parent,
      dependencies: req.getDependenciesList(),
      propertyDependencies,
      options: {
        ignoreChanges: req.getIgnorechangesList(),
        replaceOnChanges: req.getReplaceonchangesList(),
        deleteBeforeReplace: req.getDeletebeforereplace(),
        retainOnDelete: req.getRetainondelete() === true,
      },
    });
    return original(req, callback);
  };
}

/**
 * Loads a program and waits until its exports are resolved and no more resources are registered.
 * An error thrown inside an apply() surfaces only as an unhandled rejection (the output never
 * settles): the first one fails the run with a ProgramError instead of hanging or crashing.
 */
export async function settleProgram(
  stack: string,
  load: () => Record<string, unknown> | Promise<Record<string, unknown>>,
  registered: () => number,
  /** Resolve Outputs and promises nested in the exports too (Pulumi's own stack outputs do); default: top level only. */
  deep = false,
): Promise<Record<string, unknown>> {
  // While the program runs, its unhandled rejections are its errors: other handlers (a test
  // runner's) are set aside and put back afterwards.
  const others = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  let onRejection: ((reason: unknown) => void) | undefined;
  let lastRejectionAt = 0;
  const failed = new Promise<never>((_, reject) => {
    onRejection = (reason: unknown) => {
      lastRejectionAt = Date.now();
      reject(new ProgramError(stack, reason));
    };
    process.on("unhandledRejection", onRejection);
  });
  failed.catch(() => undefined); // observed below; never an unhandled rejection itself
  const outputs: Record<string, unknown> = {};
  let programFailed = false;
  try {
    const settleAll = async (): Promise<void> => {
      const program = (await load()) ?? {};
      for (const [key, value] of Object.entries(program)) {
        if (pulumi.Output.isInstance(value)) outputs[key] = await settle(value);
        else if (deep && value !== null && (typeof value === "object" || value instanceof Promise)) outputs[key] = await settle(pulumi.output(value));
        else outputs[key] = value;
      }
      let last = -1;
      while (last !== registered()) {
        last = registered();
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await Promise.race([settleAll(), failed.catch((e: unknown) => {
      programFailed = true;
      throw e;
    })]);
  } finally {
    // A resource AWS refuses fails every resource that depends on it, each as one more rejection, and
    // the rest of the program goes on registering: let both end (1 s without either, 10 s at most; a
    // loaded machine makes gaps of a few hundred ms) while they still count as this program's, not the
    // caller's or the next run's.
    if (programFailed) {
      // First let the failed program's outstanding registrations and invokes drain (Pulumi's own RPC
      // queue: the settings module's waitForRPCs, what `disconnect` awaits), at most 20 s: on a machine
      // slowed tenfold their rejections otherwise land in the next run. Then the quiet window below.
      // waitForRPCs is exported but marked @internal (not in the typings): used only when present.
      const waitForRPCs = (pulumiSettings as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
      if (waitForRPCs) await Promise.race([waitForRPCs().catch(() => undefined), new Promise((r) => setTimeout(r, 20_000))]);
      const giveUpAt = Date.now() + 10_000;
      let count = registered();
      let quietSince = Date.now();
      while (Date.now() < giveUpAt && Date.now() - Math.max(quietSince, lastRejectionAt) < 1000) {
        await new Promise((r) => setTimeout(r, 50));
        if (registered() !== count) {
          count = registered();
          quietSince = Date.now();
        }
      }
    }
    if (onRejection) process.off("unhandledRejection", onRejection);
    for (const listener of others) process.on("unhandledRejection", listener);
  }
  return outputs;
}

/** How to run any Pulumi program under the mock engine (`serverless-cache/testing`). */
export interface RunProgramOptions {
  /**
   * The program: a module path (absolute, or relative to the working directory) whose exports are the
   * stack outputs (`export =` of a function, async or not, is called, as Pulumi does), or a function
   * that declares the resources and returns the outputs.
   */
  program: string | (() => unknown);
  /** Directory of Pulumi.yaml. Default: the nearest one above the program module (or the working directory). */
  projectDir?: string;
  /** Pulumi project name. Default: `name` in Pulumi.yaml. */
  project?: string;
  /** Stack name. Default: "dev". */
  stack?: string;
  /**
   * The stack's config: a path to a Pulumi.<stack>.yaml, or the values themselves (bare keys belong to
   * the project; `aws:region` etc. as they are; objects and numbers become JSON, as the CLI passes
   * them). Default: Pulumi.<stack>.yaml of the project directory if there is one. Pulumi.yaml's
   * `config:` defaults apply under either.
   */
  config?: string | Record<string, unknown>;
  /** Overlaid on `config` last; `undefined` removes a key. Give plaintext for the stack file's secrets here. */
  overrides?: Record<string, unknown>;
  /** Config keys to mark secret (besides the stack file's `secure:` keys). */
  secretKeys?: string[];
  /** The mock AWS account: Region, account id, zones (AZ name -> zone ID), quotas. */
  account?: MockAccountOptions;
  /**
   * State the provider would add to a resource on create (ids, ARNs, endpoints ...) for types the mock
   * engine does not model, or to replace what it returns. Return undefined to keep the default.
   */
  state?: (type: string, name: string, inputs: Record<string, any>) => Record<string, unknown> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any -- resource inputs are untyped JSON by nature
  /** Answers to data sources (invokes) the mock account does not model. Return undefined to keep the default. */
  call?: (token: string, args: Record<string, any>) => Record<string, unknown> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any -- invoke arguments are untyped JSON by nature
}

/** The directory of the nearest Pulumi.yaml at or above `from`, if any. */
function findProjectDir(from: string): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The mocks, run and bookkeeping of one mock-engine run. */
interface EngineRun {
  project: string;
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
  account?: MockAccountOptions;
  state?: RunProgramOptions["state"];
  call?: RunProgramOptions["call"];
  load: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  deep: boolean;
}

/** ts-node's compiler service (the `register` instance), as far as the engine uses it. */
interface TsNodeService { compile(code: string, fileName: string, lineOffset?: number): string }
const TS_NODE_INSTANCE = Symbol.for("ts-node.register.instance");
const compiledOnce = new WeakSet<TsNodeService>();
/** How often program modules were transpiled and how often a known output was reused (for tests). */
export const transpileCounts = { compiled: 0, reused: 0 };

/**
 * Every run loads the program's modules afresh (new config, new mock engine), and under ts-node each
 * load transpiled every file again: seconds per run. The same source text gives the same JavaScript,
 * so the engine keeps each file's output by its text; modules are still evaluated afresh. Without
 * ts-node (compiled JavaScript) there is nothing to do.
 */
function reuseTranspiledModules(): void {
  const service = (process as unknown as Record<symbol, TsNodeService | undefined>)[TS_NODE_INSTANCE];
  if (!service || typeof service.compile !== "function" || compiledOnce.has(service)) return;
  compiledOnce.add(service);
  const compile = service.compile.bind(service);
  const outputs = new Map<string, { code: string; output: string }>();
  service.compile = (code, fileName, lineOffset) => {
    const key = `${fileName}\0${lineOffset ?? 0}`;
    const known = outputs.get(key);
    if (known?.code === code) {
      transpileCounts.reused += 1;
      return known.output;
    }
    transpileCounts.compiled += 1;
    const output = compile(code, fileName, lineOffset);
    outputs.set(key, { code, output });
    return output;
  };
}

type DebuggablePromise = (p: Promise<unknown>, ctx: unknown) => Promise<unknown>;
let stacksDeferred = false;

/**
 * Pulumi keeps the stack of every promise it creates (`debuggablePromise`, a dozen per resource) for a
 * leak report at exit, as a string: under ts-node each one is run through source-map-support at
 * once, about a third of a run's time. The engine keeps the same stack but formats it only if the
 * report reads it (V8's `captureStackTrace` is lazy). Internal to @pulumi/pulumi: used only if the
 * module still looks as expected.
 */
function deferPromiseStacks(): void {
  if (stacksDeferred) return;
  stacksDeferred = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an internal module of @pulumi/pulumi, not in its typings
  const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise?: DebuggablePromise };
  const original = debuggable.debuggablePromise;
  if (typeof original !== "function") return;
  const deferred: DebuggablePromise = function (p, ctx) {
    const holder: { stack?: string } = {};
    Error.captureStackTrace(holder, deferred);
    // Configurable, so Pulumi's own defineProperty may replace it; then it is put back, lazy.
    Object.defineProperty(p, "_debugStackTrace", { configurable: true, writable: true, value: undefined });
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    let tracked: Promise<unknown>;
    try {
      tracked = original(p, ctx);
    } finally {
      Error.stackTraceLimit = limit;
    }
    Object.defineProperty(p, "_debugStackTrace", { configurable: true, enumerable: false, get: () => holder.stack });
    return tracked;
  };
  debuggable.debuggablePromise = deferred;
}

async function runUnderMocks(spec: EngineRun): Promise<ProgramRun> {
  reuseTranspiledModules();
  deferPromiseStacks();
  const { project, stack } = spec;
  const account = new MockAccount(spec.account);
  const resources: MockResource[] = [];
  const registrations = new Map<string, Registration>();
  await pulumi.runtime.setMocks({
    newResource(args) {
      const id = `${args.name}-id`;
      // What AWS would refuse fails here, as `pulumi up` would (the program then fails with a ProgramError).
      const accountState = account.create(args.type, id, args.inputs);
      const extra = spec.state?.(args.type, args.name, args.inputs);
      const state = { ...args.inputs, ...computedState(args.type, args.name, args.inputs, account), ...accountState, ...extra };
      const reg = registrations.get(`${args.type}::${args.name}`);
      resources.push({
        type: args.type,
        name: args.name,
        id,
        inputs: args.inputs,
        state,
        provider: args.provider,
        custom: args.custom ?? true,
        parent: reg?.parent,
        dependencies: reg?.dependencies ?? [],
        propertyDependencies: reg?.propertyDependencies ?? {},
        urn: reg?.urn ?? `urn:pulumi:${stack}::${project}::${args.type}::${args.name}`,
        options: reg?.options ?? { ignoreChanges: [], replaceOnChanges: [], deleteBeforeReplace: false, retainOnDelete: false },
      });
      return { id, state };
    },
    call(args) {
      return spec.call?.(args.token, args.inputs) ?? account.call(args.token, args.inputs) ?? args.inputs;
    },
  }, project, stack, false);
  captureRegistrations(registrations);
  pulumi.runtime.setAllConfig(spec.config, spec.secretKeys);
  const outputs = await settleProgram(stack, spec.load, () => resources.length, spec.deep);
  const urnOf = (r: MockResource | string): string => (typeof r === "string" ? r : r.urn);
  const run: ProgramRun = {
    stack,
    project,
    resources,
    outputs,
    ofType: (type) => resources.filter((r) => r.type === type),
    byUrn: (urn) => resources.find((r) => r.urn === urn),
    one(type, namePart) {
      const found = resources.filter((r) => r.type === type && (!namePart || r.name.includes(namePart)));
      if (found.length !== 1) throw new Error(`expected one ${type}${namePart ? ` named *${namePart}*` : ""}, found ${found.length}`);
      return found[0];
    },
    byId: (id) => resources.find((r) => r.id === id),
    childrenOf: (parent) => resources.filter((r) => r.parent === urnOf(parent)),
    descendantsOf(ancestor) {
      const below = new Set([urnOf(ancestor)]);
      const out: MockResource[] = [];
      // Parents register before their children: one pass in registration order finds every descendant.
      for (const r of resources) {
        if (r.parent && below.has(r.parent)) {
          below.add(r.urn);
          out.push(r);
        }
      }
      return out;
    },
  };
  return run;
}

/** A program module's exports as Pulumi reads them: `export =` of a function is called (and awaited). */
async function programExports(file: string): Promise<Record<string, unknown>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a Pulumi program is loaded as Pulumi loads it: synchronously, CommonJS
  const mod = require(file) as unknown;
  const value = typeof mod === "function" ? await (mod as () => unknown)() : mod;
  return (value ?? {}) as Record<string, unknown>;
}

/**
 * Run a program under Pulumi mocks against a mock AWS account and collect every registered resource.
 *
 * - `runProgram(stack, overrides?, options?)`: this repository's index.ts with Pulumi.yaml defaults
 *   overlaid by Pulumi.<stack>.yaml (and the overrides); an unknown stack throws UnknownStackError.
 * - `runProgram({ program, ... })`: any program ({@link RunProgramOptions}).
 *
 * Config errors reject with the program's own error; an error inside an apply, or a resource the mock
 * account refuses as AWS would, rejects with a {@link ProgramError}.
 */
export async function runProgram(options: RunProgramOptions): Promise<ProgramRun>;
export async function runProgram(stack: string, overrides?: Record<string, string | undefined>, options?: { account?: MockAccountOptions }): Promise<ProgramRun>;
export async function runProgram(
  stackOrOptions: string | RunProgramOptions,
  overrides: Record<string, string | undefined> = {},
  options: { account?: MockAccountOptions } = {},
): Promise<ProgramRun> {
  if (typeof stackOrOptions === "string") {
    const stack = stackOrOptions;
    const config = stackConfig(stack, overrides);
    return runUnderMocks({
      project: PROJECT,
      stack,
      config,
      secretKeys: [],
      account: options.account,
      deep: false,
      load: () => {
        clearProgramModules();
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- re-loaded afresh per run after clearing require.cache
        return require(path.join(REPO_ROOT, "index.ts")) as Record<string, unknown>;
      },
    });
  }
  const spec = stackOrOptions;
  const programFile = typeof spec.program === "string" ? require.resolve(path.resolve(spec.program)) : undefined;
  const projectDir = path.resolve(spec.projectDir ?? findProjectDir(programFile ? path.dirname(programFile) : process.cwd()) ?? process.cwd());
  const projectYaml = path.join(projectDir, "Pulumi.yaml");
  const project = spec.project
    ?? (fs.existsSync(projectYaml) ? ((yaml.load(fs.readFileSync(projectYaml, "utf8")) ?? {}) as { name?: string }).name : undefined);
  if (!project) throw new Error(`runProgram: no project name: pass \`project\`, or a \`projectDir\` with a Pulumi.yaml that has a name (looked in ${projectDir})`);
  const stack = spec.stack ?? "dev";
  let stackFile: string | undefined;
  if (typeof spec.config === "string") {
    stackFile = path.resolve(spec.config);
    if (!fs.existsSync(stackFile)) throw new Error(`runProgram: config file ${stackFile} does not exist`);
  } else if (spec.config === undefined && fs.existsSync(path.join(projectDir, `Pulumi.${stack}.yaml`))) {
    stackFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
  }
  const resolved = resolveConfig({
    projectDir,
    project,
    stackFile,
    config: typeof spec.config === "object" ? spec.config : undefined,
    overrides: spec.overrides,
  });
  const program = spec.program;
  return runUnderMocks({
    project,
    stack,
    config: resolved.config,
    secretKeys: [...new Set([...resolved.secretKeys, ...(spec.secretKeys ?? []).map((k) => qualifiedKey(k, project))])],
    account: spec.account,
    state: spec.state,
    call: spec.call,
    deep: true,
    load: async () => {
      if (typeof program === "function") return ((await program()) ?? {}) as Record<string, unknown>;
      clearModulesUnder(projectDir);
      delete require.cache[programFile as string];
      return programExports(programFile as string);
    },
  });
}
