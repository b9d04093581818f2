import { UNKNOWN_STRING } from "../../plan/policyRunner";
import type { MockResource } from "./program";

/** Deep copy of plain data; anything else (assets, archives holding promises) is shared. */
export function copy<V>(v: V): V {
  if (Array.isArray(v)) return v.map(copy) as V;
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)])) as V;
  }
  return v;
}

/** Recorded resources, copied deep enough to change one without touching the original run. */
export function clone(resources: MockResource[]): MockResource[] {
  return resources.map((r) => ({ ...r, inputs: copy(r.inputs), state: copy(r.state), propertyDependencies: copy(r.propertyDependencies) }));
}

/**
 * What a first `pulumi preview` knows: every id, every output the provider computes (not among the
 * inputs) and every input computed from another resource is unknown, in inputs and state alike.
 */
export function firstPreview(resources: MockResource[]): MockResource[] {
  const out = clone(resources);
  for (const r of out) {
    if (!r.custom) continue;
    r.id = UNKNOWN_STRING;
    for (const k of Object.keys(r.state)) {
      if (!(k in r.inputs) || (r.propertyDependencies[k]?.length ?? 0) > 0) r.state[k] = UNKNOWN_STRING;
    }
    for (const k of Object.keys(r.inputs)) if ((r.propertyDependencies[k]?.length ?? 0) > 0) r.inputs[k] = UNKNOWN_STRING;
  }
  return out;
}
