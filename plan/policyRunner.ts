/**
 * Runs the policy pack's policies against the resources the mock engine recorded, the way the Pulumi
 * analyzer would: every resource through each `validateResource` (with its inputs), the whole stack
 * through each `validateStack` (with its state), config defaults from each policy's schema.
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
  status: "pass" | "fail" | "not-applicable";
  violations: Violation[];
  /** Why the policy does not apply (status not-applicable). */
  reason?: string;
}

/** Per-policy config, as in a policy pack's config file (`{ "<policy>": { ... } }`). */
export type PolicyConfig = Record<string, Record<string, unknown>>;

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

/** PolicyResources for the stack: state as props, parents and property dependencies linked by URN. */
export function toPolicyResources(resources: MockResource[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const out = resources.map((r) => {
    const pr: PolicyResource = {
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: r.state,
      opts: { ...NO_OPTIONS, parent: r.parent },
      dependencies: [],
      propertyDependencies: {},
      isType: (cls) => typeOf(cls) === r.type,
      // The policy SDK types this as the class's resolved outputs; the props are exactly that data.
      asType: (cls) => (typeOf(cls) === r.type ? (r.state as never) : undefined),
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

function configFor(policy: ArchitecturePolicy, config: PolicyConfig): () => object {
  const defaults: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
    if (schema.default !== undefined) defaults[key] = schema.default;
  }
  return () => ({ ...defaults, ...(config[policy.name] ?? {}) });
}

/** Runs each policy against the recorded resources; a policy that throws is a failure, not a crash. */
export async function runPolicies(resources: MockResource[], policies: ArchitecturePolicy[], config: PolicyConfig = {}): Promise<PolicyVerdict[]> {
  const stack = toPolicyResources(resources);
  const verdicts: PolicyVerdict[] = [];
  for (const policy of policies) {
    const violations: Violation[] = [];
    const getConfig = configFor(policy, config);
    const notApplicable = (reason?: string): never => { throw new NotApplicable(reason ?? "not applicable"); };
    let reason: string | undefined;
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
        for (const r of resources) {
          const args: ResourceValidationArgs = {
            type: r.type,
            name: r.name,
            urn: r.urn,
            props: r.inputs,
            opts: { ...NO_OPTIONS, parent: r.parent },
            stackTags: new Map(),
            isType: (cls) => typeOf(cls) === r.type,
            asType: (cls) => (typeOf(cls) === r.type ? (r.inputs as never) : undefined),
            getConfig: <T extends object>() => getConfig() as T,
            notApplicable,
          };
          for (const validate of validators) {
            try {
              await validate(args, (message) => violations.push({ message, urn: r.urn }));
            } catch (err) {
              if (!(err instanceof NotApplicable)) throw err;
            }
          }
        }
      }
    } catch (err) {
      if (err instanceof NotApplicable) reason = err.reason;
      else violations.push({ message: `policy threw: ${(err as Error).message}` });
    }
    verdicts.push({
      policy: policy.name,
      description: policy.description,
      enforcementLevel: policy.enforcementLevel ?? "advisory",
      status: reason !== undefined && violations.length === 0 ? "not-applicable" : violations.length > 0 ? "fail" : "pass",
      violations,
      reason,
    });
  }
  return verdicts;
}

/** Whether any mandatory policy failed (what makes `pulumi preview --policy-pack` fail). */
export function mandatoryFailures(verdicts: PolicyVerdict[]): PolicyVerdict[] {
  return verdicts.filter((v) => v.status === "fail" && v.enforcementLevel === "mandatory");
}
