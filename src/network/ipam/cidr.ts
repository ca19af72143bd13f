/**
 * IPv4 and IPv6 addresses and prefixes as bigints, so that both families share one set of
 * arithmetic (contains, overlaps, the n-th host) and IPv6 /64s need no special casing.
 * Parsing is strict: a prefix with host bits set ("10.0.0.1/24") is refused, as docker does,
 * because it is almost always a typo for the network or for --gateway.
 */
import { isIP } from 'node:net';
import { BerthError } from '../../core/errors';

export type Family = 4 | 6;

export interface Cidr {
  readonly family: Family;
  /** The network address (host bits zero). */
  readonly network: bigint;
  readonly prefix: number;
}

export function bitsOf(family: Family): number {
  return family === 4 ? 32 : 128;
}

/** Parses an address, or returns undefined when `text` is not one (no brackets, no zone). */
export function parseAddress(text: string): { family: Family; value: bigint } | undefined {
  const kind = isIP(text);
  if (kind === 4) {
    const parts = text.split('.').map(Number);
    // isIP accepts only dotted quads; leading zeros ("010") are refused by it too.
    return { family: 4, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
  }
  if (kind === 6) {
    if (text.includes('%')) return undefined;
    let head = text;
    let tailV4: bigint | undefined;
    const lastColon = text.lastIndexOf(':');
    if (text.slice(lastColon + 1).includes('.')) {
      const v4 = parseAddress(text.slice(lastColon + 1));
      if (!v4) return undefined;
      tailV4 = v4.value;
      head = `${text.slice(0, lastColon + 1)}0:0`;
    }
    const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
    const l = left ? left.split(':') : [];
    const r = right !== undefined && right !== '' ? right.split(':') : [];
    const groups = right === undefined ? l : [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
    let value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
    if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
    return { family: 6, value };
  }
  return undefined;
}

export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: the longest run (at least two) of zero groups becomes "::", the first such run on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function maskOf(family: Family, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** Parses "a.b.c.d/n" or "x::/n"; `what` names the flag or field in the error. */
export function parseCidr(text: string, what = 'subnet'): Cidr {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? undefined : parseAddress(text.slice(0, slash));
  const prefixText = slash < 0 ? '' : text.slice(slash + 1);
  if (!addr || !/^\d{1,3}$/.test(prefixText)) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid ${what} "${text}": not an address/prefix in CIDR notation`, {
      hint: `write it as e.g. 172.20.0.0/16 or fd00:1::/64`,
    });
  }
  const prefix = Number(prefixText);
  if (prefix > bitsOf(addr.family)) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid ${what} "${text}": prefix /${prefix} is longer than ${bitsOf(addr.family)} bits`, {
      hint: addr.family === 4 ? 'an IPv4 prefix is /0 to /32' : 'an IPv6 prefix is /0 to /128',
    });
  }
  const network = addr.value & maskOf(addr.family, prefix);
  if (network !== addr.value) {
    const fixed = `${formatAddress(addr.family, network)}/${prefix}`;
    throw new BerthError('EINVALID_ARGUMENT', `invalid ${what} "${text}": it has host bits set (the network is ${fixed})`, {
      hint: `use ${fixed}, and --gateway for the gateway address`,
    });
  }
  return { family: addr.family, network, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatAddress(c.family, c.network)}/${c.prefix}`;
}

/** Number of addresses in the prefix. */
export function sizeOf(c: Cidr): bigint {
  return 1n << BigInt(bitsOf(c.family) - c.prefix);
}

/** The last address of the prefix (the IPv4 broadcast address). */
export function lastOf(c: Cidr): bigint {
  return c.network + sizeOf(c) - 1n;
}

export function contains(c: Cidr, family: Family, value: bigint): boolean {
  return family === c.family && value >= c.network && value <= lastOf(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.network <= lastOf(b) && b.network <= lastOf(a);
}

/** Whether `inner` lies wholly inside `outer`. */
export function within(inner: Cidr, outer: Cidr): boolean {
  return inner.family === outer.family && inner.prefix >= outer.prefix && contains(outer, inner.family, inner.network);
}
