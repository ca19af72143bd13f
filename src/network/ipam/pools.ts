/**
 * Automatic subnets. Berth draws from docker's default address pools, in docker's order:
 * 172.17.0.0/16 .. 172.31.0.0/16, then 192.168.0.0/16 cut into /20s. Users and tools expect
 * container addresses there (firewall rules, VPN exclusions written for docker), and both
 * engines skip any prefix already routed on the host, so whichever creates its bridge second
 * moves on to the next pool instead of colliding. Berth also reads dockerd's and podman's
 * stored networks (see host-prefixes.ts), which avoids the networks whose bridges are down.
 * When all 31 are taken (a host with many engines, roots or VPN routes), Berth goes on with
 * /24s of 10.200.0.0/13 (2048 more) rather than fail, as podman draws /24s from 10.89.0.0/16.
 * IPv6 networks without a subnet get a random unique-local /64 (RFC 4193), as docker does.
 */
import { randomBytes } from 'node:crypto';
import { BerthError } from '../../core/errors';
import { type Cidr, formatCidr, overlaps } from './cidr';

export function defaultIpv4Pools(): Cidr[] {
  const out: Cidr[] = [];
  for (let b = 17; b <= 31; b++) out.push({ family: 4, network: (172n << 24n) | (BigInt(b) << 16n), prefix: 16 });
  for (let c = 0; c < 256; c += 16) out.push({ family: 4, network: (192n << 24n) | (168n << 16n) | (BigInt(c) << 8n), prefix: 20 });
  return out;
}

/** Berth's overflow: 10.200.0.0/24 .. 10.207.255.0/24, used only when docker's pools are all taken. */
export const OVERFLOW_POOL: Cidr = { family: 4, network: (10n << 24n) | (200n << 16n), prefix: 13 };

/** The first pool that overlaps nothing in `occupied` (then the overflow's first free /24). */
export function pickIpv4Subnet(occupied: Cidr[], pools: Cidr[] = defaultIpv4Pools(), overflow: Cidr | undefined = OVERFLOW_POOL): Cidr {
  for (const pool of pools) if (!occupied.some((o) => overlaps(pool, o))) return pool;
  if (overflow) {
    const count = 1n << BigInt(24 - overflow.prefix);
    for (let i = 0n; i < count; i++) {
      const cidr: Cidr = { family: 4, network: overflow.network + (i << 8n), prefix: 24 };
      if (!occupied.some((o) => overlaps(cidr, o))) return cidr;
    }
  }
  throw new BerthError('EEXISTS', `no free subnet left in the default pools (${pools.map(formatCidr).join(', ')}${overflow ? `, then /24s of ${formatCidr(overflow)}` : ''}): each overlaps a route or another network`, {
    hint: 'pass --subnet with a free range, or remove unused networks (berth network prune)',
  });
}

/** A random fdXX:XXXX:XXXX:YYYY::/64 that overlaps nothing in `occupied`. */
export function pickIpv6Subnet(occupied: Cidr[], random: () => Buffer = () => randomBytes(7)): Cidr {
  for (let attempt = 0; attempt < 32; attempt++) {
    const bytes = random();
    // 0xfd, 40-bit global id, 16-bit subnet id: 64 bits of prefix.
    let network = 0xfdn;
    for (let i = 0; i < 7; i++) network = (network << 8n) | BigInt(bytes[i] ?? 0);
    const cidr: Cidr = { family: 6, network: network << 64n, prefix: 64 };
    if (!occupied.some((o) => overlaps(cidr, o))) return cidr;
  }
  throw new BerthError('EEXISTS', 'could not find a free IPv6 unique-local /64 for the network', {
    hint: 'pass an IPv6 --subnet explicitly, e.g. --subnet fd00:1234::/64',
  });
}
