/**
 * Runs the policy pack's policies against the resources the mock engine recorded, close to the way
 * the Pulumi analyzer does: every resource through each `validateResource` (with its inputs), the
 * whole stack through each `validateStack` (with its state), props behind the SDK's unknown-checking
 * proxy, policy config checked against each policy's schema and merged over its defaults, and a
 * per-policy enforcement level from the config.
 *
 * Differences from a real preview: the mock engine's state is the inputs plus a few computed outputs
 * (no provider defaults), and nothing is unknown unless a test says so (see `UNKNOWN_STRING`).
 */
import type {
  EnforcementLevel,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  StackValidationArgs,
} from "@pulumi/policy";
import type { ArchitecturePolicy } from "../policy/policies";
import type { MockResource } from "./engine";

export interface Violation {
  message: string;
  /** The resource in violation, when the policy names one. */
  urn?: string;
}

export interface PolicyVerdict {
  policy: string;
  description: string;
  enforcementLevel: EnforcementLevel;
  /** cannot-check: the policy read a value unknown at preview (the analyzer then reports it as advisory). */
  status: "pass" | "fail" | "not-applicable" | "cannot-check" | "disabled";
  violations: Violation[];
  /** Why the policy does not apply (status not-applicable). */
  reason?: string;
}

/**
 * Per-policy config, as in the file `pulumi preview --policy-pack-config` reads: per policy either an
 * enforcement level or an object with an optional `enforcementLevel` and the policy's own settings.
 */
export type PolicyConfig = Record<string, EnforcementLevel | Record<string, unknown>>;

export class PolicyConfigError extends Error {
  constructor(problems: string[]) {
    super(`invalid policy config:\n  - ${problems.join("\n  - ")}`);
    this.name = "PolicyConfigError";
  }
}

const ENFORCEMENT_LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

/** The SDK's unknown-checking proxy and unknown sentinel (internal to @pulumi/policy, stable since 1.0). */
interface PolicyProxyModule {
  unknownCheckingProxy<T extends object>(o: T): T;
  unknownStringValue: string;
  UnknownValueError: new (...args: never[]) => Error;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- internal module without typings
const proxyModule = require("@pulumi/policy/proxy") as PolicyProxyModule;
/** Put this in a resource's inputs or state to make the value unknown, as in a preview before creation. */
export const UNKNOWN_STRING = proxyModule.unknownStringValue;
const wrap = <T extends object>(o: T): T => proxyModule.unknownCheckingProxy(o);

interface ResolvedConfig {
  enforcementLevel: EnforcementLevel;
  settings: Record<string, unknown>;
}

function typeMatches(schema: { type?: unknown; items?: { type?: unknown } }, v: unknown): boolean {
  switch (schema.type) {
    case "integer": return Number.isInteger(v);
    case "number": return typeof v === "number" && Number.isFinite(v);
    case "string": return typeof v === "string";
    case "boolean": return typeof v === "boolean";
    case "array": return Array.isArray(v) && (!schema.items || v.every((x) => typeMatches(schema.items as { type?: unknown }, x)));
    case "object": return v !== null && typeof v === "object" && !Array.isArray(v);
    default: return true;
  }
}

/** Checks the config against the policies (names, enforcement levels, each setting's schema). */
export function resolvePolicyConfig(policies: ArchitecturePolicy[], config: PolicyConfig): Map<string, ResolvedConfig> {
  const problems: string[] = [];
  const byName = new Map(policies.map((p) => [p.name, p]));
  for (const name of Object.keys(config)) {
    if (name !== "all" && !byName.has(name)) problems.push(`${name}: no such policy; allowed: all, ${[...byName.keys()].join(", ")}`);
  }
  const level = (where: string, v: unknown, fallback: EnforcementLevel): EnforcementLevel => {
    if (v === undefined) return fallback;
    if (typeof v === "string" && (ENFORCEMENT_LEVELS as readonly string[]).includes(v)) return v as EnforcementLevel;
    problems.push(`${where}: enforcement level ${JSON.stringify(v)}; allowed: ${ENFORCEMENT_LEVELS.join(", ")}`);
    return fallback;
  };
  // Like Pulumi: "all" sets every policy's level only when it carries a valid level.
  const allRaw: unknown = config.all;
  const allCandidate = typeof allRaw === "string" ? allRaw : allRaw !== null && typeof allRaw === "object" ? (allRaw as Record<string, unknown>).enforcementLevel : undefined;
  const allLevel = allCandidate === undefined ? undefined : level("all", allCandidate, "mandatory");
  const out = new Map<string, ResolvedConfig>();
  for (const policy of policies) {
    const raw: unknown = config[policy.name];
    if (raw !== undefined && typeof raw !== "string" && (raw === null || typeof raw !== "object" || Array.isArray(raw))) {
      problems.push(`${policy.name}: ${JSON.stringify(raw)} must be a string (an enforcement level) or an object`);
      continue;
    }
    const entry: Record<string, unknown> = typeof raw === "string" ? { enforcementLevel: raw } : { ...((raw as Record<string, unknown> | undefined) ?? {}) };
    const enforcementLevel = level(policy.name, entry.enforcementLevel, allLevel ?? policy.enforcementLevel ?? "advisory");
    delete entry.enforcementLevel;
    const properties = policy.configSchema?.properties ?? {};
    const settings: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(properties)) if (schema.default !== undefined) settings[key] = schema.default;
    for (const [key, v] of Object.entries(entry)) {
      const schema = properties[key] as { type?: unknown; minimum?: number; maximum?: number; items?: { type?: unknown } } | undefined;
      if (!schema) {
        problems.push(`${policy.name}.${key}: unknown setting; allowed: ${Object.keys(properties).join(", ") || "none"}`);
        continue;
      }
      const inRange = typeof v !== "number" || ((schema.minimum === undefined || v >= schema.minimum) && (schema.maximum === undefined || v <= schema.maximum));
      if (!typeMatches(schema, v) || !inRange) {
        const range = schema.minimum !== undefined || schema.maximum !== undefined ? ` from ${schema.minimum ?? "-inf"} to ${schema.maximum ?? "inf"}` : "";
        problems.push(`${policy.name}.${key} = ${JSON.stringify(v)}: must be ${String(schema.type)}${range}`);
        continue;
      }
      settings[key] = v;
    }
    out.set(policy.name, { enforcementLevel, settings });
  }
  if (problems.length > 0) throw new PolicyConfigError(problems);
  return out;
}

class NotApplicable extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const NO_OPTIONS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

/** A class whose instances are resources of one type token (`aws.ec2.SecurityGroup`, ...). */
interface ResourceClass {
  __pulumiType?: string;
  isInstance?: unknown;
}
function typeOf(resourceClass: unknown): string | undefined {
  return (resourceClass as ResourceClass).__pulumiType;
}

/** What both policy kinds see of one resource: `props` behind the unknown-checking proxy. */
function resourceView(r: MockResource, props: Record<string, unknown>) {
  return {
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: wrap(props),
    // The options the engine recorded, as a real preview reports them (deleteBeforeReplace only when set).
    opts: {
      ...NO_OPTIONS,
      parent: r.parent,
      ...(r.options ? { ignoreChanges: r.options.ignoreChanges } : {}),
      ...(r.options?.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
    },
    isType: (cls: unknown) => typeOf(cls) === r.type,
    // The SDK types this as the class's resolved outputs (stack) or its args (resource); the props are
    // exactly that data, so `never` lets one function serve both signatures.
    asType: (cls: unknown) => (typeOf(cls) === r.type ? (props as never) : undefined),
  };
}

/** PolicyResources for the stack: state as props, parents and property dependencies linked by URN. */
export function toPolicyResources(resources: MockResource[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const out = resources.map((r) => {
    const pr: PolicyResource = {
      // The id is included so checks that compare ids can run under mocks; the analyzer may omit it.
      ...resourceView(r, { id: r.id, ...r.state }),
      dependencies: [],
      propertyDependencies: {},
    };
    byUrn.set(r.urn, pr);
    return pr;
  });
  resources.forEach((r, i) => {
    const pr = out[i];
    pr.parent = r.parent ? byUrn.get(r.parent) : undefined;
    pr.dependencies = r.dependencies.map((u) => byUrn.get(u)).filter((d): d is PolicyResource => d !== undefined);
    for (const [prop, urns] of Object.entries(r.propertyDependencies)) {
      pr.propertyDependencies[prop] = urns.map((u) => byUrn.get(u)).filter((d): d is PolicyResource => d !== undefined);
    }
  });
  return out;
}

/** Runs each policy against the recorded resources; a policy that throws is a failure, not a crash. */
export async function runPolicies(resources: MockResource[], policies: ArchitecturePolicy[], config: PolicyConfig = {}): Promise<PolicyVerdict[]> {
  const resolved = resolvePolicyConfig(policies, config);
  const stack = toPolicyResources(resources);
  const inputViews = resources.map((r) => resourceView(r, r.inputs));
  const verdicts: PolicyVerdict[] = [];
  for (const policy of policies) {
    const violations: Violation[] = [];
    const { enforcementLevel, settings } = resolved.get(policy.name) as ResolvedConfig;
    const getConfig = (): object => ({ ...settings });
    const notApplicable = (reason?: string): never => { throw new NotApplicable(reason ?? "not applicable"); };
    let reason: string | undefined;
    let unknown: string | undefined;
    if (enforcementLevel === "disabled") {
      verdicts.push({ policy: policy.name, description: policy.description, enforcementLevel, status: "disabled", violations: [] });
      continue;
    }
    try {
      if ("validateStack" in policy) {
        const args: StackValidationArgs = {
          resources: stack,
          stackTags: new Map(),
          getConfig: <T extends object>() => getConfig() as T,
          notApplicable,
        };
        await policy.validateStack(args, (message, urn) => violations.push({ message, urn }));
      } else {
        const validators = policy.validateResource === undefined ? [] : Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
        for (const view of inputViews) {
          const args: ResourceValidationArgs = {
            ...view,
            stackTags: new Map(),
            getConfig: <T extends object>() => getConfig() as T,
            notApplicable,
          };
          for (const validate of validators) {
            try {
              await validate(args, (message) => violations.push({ message, urn: view.urn }));
            } catch (err) {
              if (err instanceof proxyModule.UnknownValueError) unknown ??= `${view.name}: ${err.message}`;
              else if (!(err instanceof NotApplicable)) throw err;
            }
          }
        }
      }
    } catch (err) {
      if (err instanceof NotApplicable) reason = err.reason;
      else if (err instanceof proxyModule.UnknownValueError) unknown = err.message;
      else violations.push({ message: `policy threw: ${(err as Error).message}` });
    }
    const status: PolicyVerdict["status"] = violations.length > 0 ? "fail"
      : reason !== undefined ? "not-applicable"
        : unknown !== undefined ? "cannot-check" : "pass";
    verdicts.push({ policy: policy.name, description: policy.description, enforcementLevel, status, violations, reason: reason ?? unknown });
  }
  return verdicts;
}

/**
 * The failures that make `pulumi preview --policy-pack` fail: mandatory ones, and "remediate" ones
 * (these policies have no remediation, so the SDK treats remediate as mandatory).
 */
export function mandatoryFailures(verdicts: PolicyVerdict[]): PolicyVerdict[] {
  return verdicts.filter((v) => v.status === "fail" && (v.enforcementLevel === "mandatory" || v.enforcementLevel === "remediate"));
}
