import type * as pulumi from "@pulumi/pulumi";
import { ZONE_REQUIREMENTS, type ZoneRequirement } from "../awsAvailability";
import { nthSubnet, parseCidr } from "../cidr";
import type { MultiAzNetworkArgs } from "../MultiAzNetwork";

export type NatMode = "perAz" | "single";
export type FlowLogMode = "off" | "reject" | "all";
export const FLOW_LOG_MODES: readonly FlowLogMode[] = ["off", "reject", "all"];
export const NAT_MODES: readonly NatMode[] = ["perAz", "single"];
/** How many Availability Zones the network may span. */
export const AZ_COUNT_LIMITS = { min: 2, max: 6 } as const;
/** Subnet sizes AWS accepts (a /16 to a /28). */
export const SUBNET_PREFIX_LENGTH_LIMITS = { min: 16, max: 28 } as const;

/** The network's args with every default applied, validated, and the subnet ranges carved. */
export interface NetworkSettings {
  azCount: number;
  natMode: NatMode;
  flowLogs: FlowLogMode;
  publicCidrs: string[];
  privateCidrs: string[];
}

/** What every step of the network's construction shares. */
export interface NetworkContext {
  name: string;
  args: MultiAzNetworkArgs;
  settings: NetworkSettings;
  /** The component: parent of every resource. */
  parent: pulumi.Resource;
  /** `{ parent }`: the options of most resources. */
  child: { parent: pulumi.Resource };
  region: pulumi.Output<string>;
}

/** Applies the defaults and checks every plain arg; throws on the first violation. */
export function resolveNetworkSettings(name: string, args: MultiAzNetworkArgs): NetworkSettings {
  const azCount = args.azCount ?? 2;
  const prefix = args.subnetPrefixLength ?? 20;
  const natMode: NatMode = args.natMode ?? "perAz";
  if (typeof args.cidrBlock !== "string") {
    throw new Error(`MultiAzNetwork ${name}: cidrBlock must be a plain string such as "10.0.0.0/16" (the subnets are carved from it when the component is built), not an Output`);
  }
  const vpcRange = parseCidr(args.cidrBlock);
  if (!vpcRange) throw new Error(`MultiAzNetwork ${name}: cidrBlock ${JSON.stringify(args.cidrBlock)} is not an IPv4 CIDR`);
  if (!Number.isInteger(azCount) || azCount < AZ_COUNT_LIMITS.min || azCount > AZ_COUNT_LIMITS.max) {
    throw new Error(`MultiAzNetwork ${name}: azCount ${azCount} must be a whole number from ${AZ_COUNT_LIMITS.min} to ${AZ_COUNT_LIMITS.max}`);
  }
  if (!NAT_MODES.includes(natMode)) throw new Error(`MultiAzNetwork ${name}: natMode ${JSON.stringify(natMode)} must be one of ${NAT_MODES.join(", ")}`);
  const { min, max } = SUBNET_PREFIX_LENGTH_LIMITS;
  if (!Number.isInteger(prefix) || prefix < min || prefix > max) {
    throw new Error(`MultiAzNetwork ${name}: subnetPrefixLength ${prefix} must be a whole number from ${min} to ${max} (AWS subnets are /${min} to /${max})`);
  }
  const carve = (i: number): string => {
    try {
      return nthSubnet(vpcRange, prefix, i);
    } catch (e) {
      throw new Error(`MultiAzNetwork ${name}: subnetPrefixLength ${prefix}: ${2 * azCount} subnets (public + private in ${azCount} AZs) do not fit in cidrBlock ${args.cidrBlock} (${(e as Error).message})`, { cause: e });
    }
  };
  const publicCidrs = Array.from({ length: azCount }, (_, i) => carve(i));
  const privateCidrs = Array.from({ length: azCount }, (_, i) => carve(azCount + i));
  const requirements = args.zoneRequirements ?? ["lambda-vpc"];
  if (Array.isArray(requirements)) checkZoneRequirements(name, requirements);
  const flowLogs = args.flowLogs ?? "reject";
  if (!FLOW_LOG_MODES.includes(flowLogs)) throw new Error(`MultiAzNetwork ${name}: flowLogs ${JSON.stringify(flowLogs)} must be one of ${FLOW_LOG_MODES.join(", ")}`);
  return { azCount, natMode, flowLogs, publicCidrs, privateCidrs };
}

/** Throws unless every requirement is one of ZONE_REQUIREMENTS (checked again when an Output resolves). */
export function checkZoneRequirements(name: string, reqs: readonly string[]): void {
  const unknown = reqs.filter((r) => !ZONE_REQUIREMENTS.includes(r as ZoneRequirement));
  if (unknown.length > 0) {
    throw new Error(`MultiAzNetwork ${name}: zoneRequirements ${JSON.stringify(unknown)}: each must be one of ${ZONE_REQUIREMENTS.join(", ")}`);
  }
}

/** The account and partition, for the endpoint and flow-log policies. */
export interface AccountInfo {
  accountId: pulumi.Output<string>;
  partition: pulumi.Output<string>;
}
