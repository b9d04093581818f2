import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { MockAccount, type MockAccountOptions } from "./mockAccount";

/**
 * Runs the real program (index.ts) for a stack under Pulumi's mock engine, with the stack's real
 * config and no credentials, and records every resource it registers: type, name, inputs, parent,
 * provider and dependencies. Used by the unit tests and by the offline plan (`npm run plan`).
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
  resources: MockResource[];
  /** The program's stack exports, resolved. */
  outputs: Record<string, unknown>;
  ofType(type: string): MockResource[];
  byUrn(urn: string): MockResource | undefined;
  one(type: string, namePart?: string): MockResource;
  byId(id: string): MockResource | undefined;
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

/** A config key as the CLI passes it: `natMode` is `serverless-cache:natMode`; `aws:region` stays. */
export function qualifiedKey(key: string): string {
  return key.includes(":") ? key : `${PROJECT}:${key}`;
}

/** Pulumi.yaml's `config:` declarations, by qualified key. */
function projectConfigDeclarations(): Map<string, unknown> {
  const project = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as { config?: Record<string, unknown> };
  return new Map(Object.entries(project.config ?? {}).map(([key, decl]) => [qualifiedKey(key), decl]));
}

/** Config keys Pulumi.yaml declares, fully qualified (`serverless-cache:natMode`, `aws:region`, ...). */
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
  const declarations = projectConfigDeclarations();
  const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
  if (!/^[A-Za-z0-9_.-]+$/.test(stack) || !fs.existsSync(file)) throw new UnknownStackError(stack, availableStacks());
  const stackFile = (yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const out: Record<string, string> = {};
  const str = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));
  for (const [key, decl] of declarations) {
    if (decl && typeof decl === "object" && "default" in decl) out[key] = str((decl as { default: unknown }).default);
  }
  for (const [key, value] of Object.entries(stackFile.config ?? {})) out[key] = str(value);
  for (const [key, value] of Object.entries(overrides)) {
    const full = qualifiedKey(key);
    if (value === undefined) delete out[full]; else out[full] = value;
  }
  return out;
}

/** Outputs the real provider would compute, for the types our components read back. */
function computedState(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const arn = `arn:aws:mock:us-east-1:123456789012:${type.split(":").pop()}/${name}`;
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
      return { arn, executionArn: `arn:aws:execute-api:us-east-1:123456789012:${name}-id`, rootResourceId: `${name}-root` };
    case "aws:lb/loadBalancer:LoadBalancer": {
      const suffix = `app/${name}/50dc6c495c0c9188`;
      return { arn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/${suffix}`, arnSuffix: suffix, dnsName: `internal-${name}-123.us-east-1.elb.amazonaws.com` };
    }
    case "aws:lb/targetGroup:TargetGroup": {
      const suffix = `targetgroup/${name}/73e2d6bc24d8a067`;
      return { arn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:${suffix}`, arnSuffix: suffix };
    }
    case "aws:elasticache/subnetGroup:SubnetGroup":
    case "aws:elasticache/parameterGroup:ParameterGroup":
      return { name: inputs.name ?? name, arn };
    default:
      // An input named `arn` (an EventTarget's target) is the user's, not the resource's own ARN.
      return inputs.arn !== undefined ? {} : { arn };
  }
}

function clearProgramModules(): void {
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(REPO_ROOT) && !key.includes(`${path.sep}node_modules${path.sep}`) && !key.includes(`${path.sep}test${path.sep}`) && !key.includes(`${path.sep}plan${path.sep}`)) {
      delete require.cache[key];
    }
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
export async function settleProgram(stack: string, load: () => Record<string, unknown>, registered: () => number): Promise<Record<string, unknown>> {
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
    const program = load();
    const settleAll = async (): Promise<void> => {
      for (const [key, value] of Object.entries(program)) {
        outputs[key] = pulumi.Output.isInstance(value) ? await settle(value) : value;
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
    // the rest of the program goes on registering: let both end (300 ms without either, 10 s at most)
    // while they still count as this program's, not the caller's or the next run's.
    if (programFailed) {
      const giveUpAt = Date.now() + 10_000;
      let count = registered();
      let quietSince = Date.now();
      while (Date.now() < giveUpAt && Date.now() - Math.max(quietSince, lastRejectionAt) < 300) {
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

/**
 * Run index.ts for `stack` under Pulumi mocks with the stack's real config (plus overrides) and
 * collect every registered resource. Config errors reject with the program's own error.
 */
export async function runProgram(
  stack: string,
  overrides: Record<string, string | undefined> = {},
  options: { account?: MockAccountOptions } = {},
): Promise<ProgramRun> {
  const config = stackConfig(stack, overrides);
  const account = new MockAccount(options.account);
  const resources: MockResource[] = [];
  const registrations = new Map<string, Registration>();
  await pulumi.runtime.setMocks({
    newResource(args) {
      const id = `${args.name}-id`;
      // What AWS would refuse fails here, as `pulumi up` would (the program then fails with a ProgramError).
      const accountState = account.create(args.type, id, args.inputs);
      const state = { ...args.inputs, ...computedState(args.type, args.name, args.inputs), ...accountState };
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
        urn: reg?.urn ?? `urn:pulumi:${stack}::${PROJECT}::${args.type}::${args.name}`,
        options: reg?.options ?? { ignoreChanges: [], replaceOnChanges: [], deleteBeforeReplace: false, retainOnDelete: false },
      });
      return { id, state };
    },
    call(args) {
      return account.call(args.token, args.inputs) ?? args.inputs;
    },
  }, PROJECT, stack, false);
  captureRegistrations(registrations);
  pulumi.runtime.setAllConfig(config);
  clearProgramModules();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const outputs = await settleProgram(stack, () => require(path.join(REPO_ROOT, "index.ts")) as Record<string, unknown>, () => resources.length);
  const run: ProgramRun = {
    stack,
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
  };
  return run;
}
