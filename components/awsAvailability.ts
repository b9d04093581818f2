/**
 * Which Availability Zones (by zone ID) the services of this stack can use, and the pure choice of
 * the network's AZs. No Pulumi imports: tested exhaustively, and shared by the components, the
 * config validation, the policy pack and `npm run doctor`.
 *
 * AZ *names* (us-east-1a) map to different physical zones in each account; zone IDs (use1-az1) do
 * not. Every rule here is therefore stated in zone IDs. Sources and dates: docs/aws-constraints.md.
 */

/** Date the tables below were copied from the AWS documentation. */
export const AVAILABILITY_TABLES_CHECKED = "2026-11-29";

/**
 * API Gateway VPC links V2 exist only in these zone IDs ("Set up VPC links V2 in API Gateway",
 * Availability by Region). A Region missing here has no VPC link V2 at all.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-vpc-links-v2.html
 */
export const VPC_LINK_V2_ZONE_IDS: Readonly<Record<string, readonly string[]>> = {
  "us-east-2": ["use2-az1", "use2-az2", "use2-az3"],
  "us-east-1": ["use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6"],
  "us-west-1": ["usw1-az1", "usw1-az3"],
  "us-west-2": ["usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4"],
  "ap-east-1": ["ape1-az2", "ape1-az3"],
  "ap-south-1": ["aps1-az1", "aps1-az2", "aps1-az3"],
  "ap-northeast-2": ["apne2-az1", "apne2-az2", "apne2-az3"],
  "ap-southeast-1": ["apse1-az1", "apse1-az2", "apse1-az3"],
  "ap-southeast-2": ["apse2-az1", "apse2-az2", "apse2-az3"],
  "ap-northeast-1": ["apne1-az1", "apne1-az2", "apne1-az4"],
  "ca-central-1": ["cac1-az1", "cac1-az2"],
  "eu-central-1": ["euc1-az1", "euc1-az2", "euc1-az3"],
  "eu-west-1": ["euw1-az1", "euw1-az2", "euw1-az3"],
  "eu-west-2": ["euw2-az1", "euw2-az2", "euw2-az3"],
  "eu-west-3": ["euw3-az1", "euw3-az3"],
  "eu-south-2": ["eus2-az1", "eus2-az2", "eus2-az3"],
  "eu-north-1": ["eun1-az1", "eun1-az2", "eun1-az3"],
  "me-south-1": ["mes1-az1", "mes1-az2", "mes1-az3"],
  "sa-east-1": ["sae1-az1", "sae1-az2", "sae1-az3"],
  "us-gov-west-1": ["usgw1-az1", "usgw1-az2", "usgw1-az3"],
};

/**
 * Zone IDs where CreateFunction / UpdateFunctionConfiguration refuses VPC subnets ("The provided
 * subnets contain availability zone Lambda doesn't support"). AWS names no list; use1-az3 is the one
 * reported, and the one VPC links V2 also leave out. Fargate on ARM64 is reported missing there too.
 */
export const LAMBDA_VPC_UNSUPPORTED_ZONE_IDS: readonly string[] = ["use1-az3"];

/**
 * Fargate (Linux) is limited to these zone IDs in some Regions ("AWS Fargate Regions"); Regions not
 * listed have no restriction. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AWS_Fargate-Regions.html
 */
export const FARGATE_ZONE_IDS: Readonly<Record<string, readonly string[]>> = {
  "us-west-1": ["usw1-az1", "usw1-az3"],
  "ap-northeast-1": ["apne1-az1", "apne1-az2", "apne1-az4"],
};

/** A service whose zone support decides which AZs the network may use. */
export type ZoneRequirement = "lambda-vpc" | "vpc-link-v2" | "fargate";
export const ZONE_REQUIREMENTS: readonly ZoneRequirement[] = ["lambda-vpc", "vpc-link-v2", "fargate"];

/** One zone as DescribeAvailabilityZones (getAvailabilityZones) reports it. */
export interface ZoneInfo {
  name: string;
  zoneId: string;
  /** "availability-zone" | "local-zone" | "wavelength-zone"; absent = treat as availability-zone. */
  zoneType?: string;
  /** "opt-in-not-required" for the Region's own AZs; "opted-in" / "not-opted-in" for Local and Wavelength Zones. */
  optInStatus?: string;
}

const ZONE_ID = /^([a-z]+[0-9]+)-az([0-9]+)$/;

/** Whether `zoneId` has the form of an AZ ID ("use1-az1"), not a Local Zone ID ("use1-bos1-az1"). */
export function isAzId(zoneId: string): boolean {
  return ZONE_ID.test(zoneId);
}

/** Zone-ID prefix of a Region when the tables know it ("use1" for us-east-1). */
export function zoneIdPrefix(region: string): string | undefined {
  const known = VPC_LINK_V2_ZONE_IDS[region]?.[0] ?? FARGATE_ZONE_IDS[region]?.[0];
  return known ? ZONE_ID.exec(known)?.[1] : undefined;
}

/** Why `zoneId` cannot serve `requirement` in `region`, or undefined when it can. */
export function zoneProblem(region: string, zoneId: string, requirement: ZoneRequirement): string | undefined {
  switch (requirement) {
    case "vpc-link-v2": {
      const allowed = VPC_LINK_V2_ZONE_IDS[region];
      if (!allowed) return `API Gateway VPC links V2 are not offered in ${region}`;
      return allowed.includes(zoneId) ? undefined : `API Gateway VPC links V2 are not offered in ${zoneId} (${region}: ${allowed.join(", ")})`;
    }
    case "lambda-vpc":
      return LAMBDA_VPC_UNSUPPORTED_ZONE_IDS.includes(zoneId) ? `Lambda does not accept VPC subnets in ${zoneId}` : undefined;
    case "fargate": {
      const allowed = FARGATE_ZONE_IDS[region];
      return !allowed || allowed.includes(zoneId) ? undefined : `Fargate is not offered in ${zoneId} (${region}: ${allowed.join(", ")})`;
    }
  }
}

/** Every reason `zoneId` cannot host this stack's subnets. */
export function zoneProblems(region: string, zoneId: string, requirements: readonly ZoneRequirement[]): string[] {
  return requirements.map((r) => zoneProblem(region, zoneId, r)).filter((p): p is string => p !== undefined);
}

/** Problems with the Region itself (a requirement no zone there can meet). */
export function regionProblems(region: string, requirements: readonly ZoneRequirement[]): string[] {
  return requirements.includes("vpc-link-v2") && !VPC_LINK_V2_ZONE_IDS[region]
    ? [`API Gateway VPC links V2 are not offered in ${region} (offered in ${Object.keys(VPC_LINK_V2_ZONE_IDS).join(", ")}; as of ${AVAILABILITY_TABLES_CHECKED})`]
    : [];
}

/** Numeric order of zone IDs: use1-az2 before use1-az10. */
function byZoneId(a: string, b: string): number {
  const ma = ZONE_ID.exec(a);
  const mb = ZONE_ID.exec(b);
  if (ma && mb && ma[1] === mb[1]) return Number(ma[2]) - Number(mb[2]);
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface ZoneChoiceRequest {
  region: string;
  /** What getAvailabilityZones returned (any order, any zone types). */
  zones: readonly ZoneInfo[];
  /** How many AZs to choose. */
  count: number;
  /** Zone IDs pinned by the stack, in subnet order. When set, exactly these are used (or the choice fails). */
  pinned?: readonly string[];
  /** Services every chosen AZ must support. */
  requirements: readonly ZoneRequirement[];
}

export interface ZoneChoice {
  /** Chosen zone IDs, in subnet order. */
  zoneIds: string[];
  /** The account's names for them, same order. */
  names: string[];
}

/**
 * Choose the network's AZs (pure). Only real Availability Zones count (no Local or Wavelength Zones),
 * and only those every requirement supports. Pinned IDs are used as given and in that order; without
 * a pin the lowest zone IDs are taken, so the choice is the same in every account and does not move
 * when AZ *names* are listed differently. Throws an Error naming what is wrong and what would work.
 */
export function chooseZones(req: ZoneChoiceRequest): ZoneChoice {
  const regionIssues = regionProblems(req.region, req.requirements);
  if (regionIssues.length > 0) throw new Error(regionIssues.join("; "));
  const azs = req.zones.filter((z) =>
    (z.zoneType ?? "availability-zone") === "availability-zone" && (z.optInStatus ?? "opt-in-not-required") === "opt-in-not-required" && isAzId(z.zoneId));
  const byId = new Map(azs.map((z) => [z.zoneId, z]));
  const usable = azs.filter((z) => zoneProblems(req.region, z.zoneId, req.requirements).length === 0).map((z) => z.zoneId).sort(byZoneId);
  const hint = `zone IDs usable here: ${usable.join(", ") || "none"}`;

  if (req.pinned && req.pinned.length > 0) {
    const problems: string[] = [];
    if (req.pinned.length !== req.count) problems.push(`${req.pinned.length} zone IDs pinned but ${req.count} AZs wanted`);
    if (new Set(req.pinned).size !== req.pinned.length) problems.push(`zone IDs pinned twice: ${req.pinned.join(", ")}`);
    for (const id of req.pinned) {
      if (!byId.has(id)) problems.push(`${id} is not an available Availability Zone of this account in ${req.region}`);
      else problems.push(...zoneProblems(req.region, id, req.requirements));
    }
    if (problems.length > 0) throw new Error(`${problems.join("; ")} (${hint})`);
    return { zoneIds: [...req.pinned], names: req.pinned.map((id) => byId.get(id)!.name) };
  }
  if (usable.length < req.count) {
    throw new Error(`${req.count} AZs wanted but only ${usable.length} in ${req.region} support ${req.requirements.join(", ") || "the stack"} (${hint})`);
  }
  const zoneIds = usable.slice(0, req.count);
  return { zoneIds, names: zoneIds.map((id) => byId.get(id)!.name) };
}
