/** What a published port's host IP covers: "" both families, 0.0.0.0 or :: one, else one address. */
import { type Family, parseAddress } from '../ipam/cidr';

/** The families and address a published host IP covers ("" both families, 0.0.0.0 / :: one). */
export function coverage(hostIp: string): { families: Family[]; address?: bigint } {
  if (hostIp === '') return { families: [4, 6] };
  if (hostIp === '0.0.0.0') return { families: [4] };
  if (hostIp === '::') return { families: [6] };
  const a = parseAddress(hostIp);
  if (!a) return { families: [4, 6] };
  // An IPv4-mapped address is an IPv4 one.
  if (a.family === 6 && a.value >> 32n === 0xffffn) return { families: [4], address: a.value & 0xffffffffn };
  return { families: [a.family], address: a.value };
}

/** Whether two published host IPs can receive the same packet. */
export function ipsOverlap(a: string, b: string): boolean {
  const ca = coverage(a);
  const cb = coverage(b);
  if (!ca.families.some((f) => cb.families.includes(f))) return false;
  return ca.address === undefined || cb.address === undefined || ca.address === cb.address;
}

