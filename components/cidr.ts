/** IPv4 CIDR arithmetic for carving subnets out of a VPC range. Pure functions, no I/O. */

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

const CIDR_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Parse "a.b.c.d/p"; returns undefined when malformed or when host bits are set. */
export function parseCidr(text: string): Ipv4Cidr | undefined {
  const m = CIDR_PATTERN.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const base = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
  if (base % blockSize(prefix) !== 0) return undefined;
  return { base, prefix };
}

export function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

export function formatCidr(c: Ipv4Cidr): string {
  const b = c.base;
  return `${(b >>> 24) & 255}.${(b >>> 16) & 255}.${(b >>> 8) & 255}.${b & 255}/${c.prefix}`;
}

/** How many subnets of `subnetPrefix` fit in `vpc`. */
export function subnetCapacity(vpc: Ipv4Cidr, subnetPrefix: number): number {
  return subnetPrefix < vpc.prefix ? 0 : 2 ** (subnetPrefix - vpc.prefix);
}

/** The `index`-th subnet of size `subnetPrefix` inside `vpc` (0-based); throws when it does not fit. */
export function nthSubnet(vpc: Ipv4Cidr, subnetPrefix: number, index: number): string {
  if (index < 0 || index >= subnetCapacity(vpc, subnetPrefix)) {
    throw new Error(`subnet #${index} of /${subnetPrefix} does not fit in ${formatCidr(vpc)}`);
  }
  return formatCidr({ base: vpc.base + index * blockSize(subnetPrefix), prefix: subnetPrefix });
}

/** True when two CIDRs share any address. */
export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  const aEnd = a.base + blockSize(a.prefix);
  const bEnd = b.base + blockSize(b.prefix);
  return a.base < bEnd && b.base < aEnd;
}

/** True when `inner` lies entirely within `outer`. */
export function cidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  return inner.prefix >= outer.prefix && inner.base >= outer.base &&
    inner.base + blockSize(inner.prefix) <= outer.base + blockSize(outer.prefix);
}
