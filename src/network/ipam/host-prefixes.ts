/**
 * The prefixes already in use on this host, which a new network's automatic subnet must not
 * overlap: the host's routes (IPv4 and IPv6, every table the kernel shows in /proc) and the
 * subnets other engines have configured even when their bridges are down or absent (podman's
 * CNI and netavark files, dockerd's network store). Reading only: nothing here changes the host.
 */
import { readFile, readdir } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { type Cidr, maskOf, parseCidr } from './cidr';

/** Where the other engines keep their networks; a test passes its own directories. */
export interface HostPrefixSources {
  procNet: string;
  /** Files or directories whose text holds "subnet"/"Pool" strings (JSON, or dockerd's bolt db). */
  engineConfigs: string[];
}

export const HOST_PREFIX_SOURCES: HostPrefixSources = {
  procNet: '/proc/net',
  engineConfigs: [
    '/etc/cni/net.d', // podman with CNI (and other CNI users)
    '/etc/containers/networks', // podman with netavark
    '/var/lib/containers/storage/networks', // netavark's rootful default location
    '/var/lib/docker/network/files/local-kv.db', // dockerd's networks (bolt db; its values are JSON)
  ],
};

/** Routes from /proc/net/route: hex in host byte order, so bytes are reversed on little-endian. */
export function parseIpv4Routes(text: string): Cidr[] {
  const out: Cidr[] = [];
  const little = endianness() === 'LE';
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dest = hexToV4(f[1]!, little);
    const mask = hexToV4(f[7]!, little);
    if (dest === undefined || mask === undefined) continue;
    const prefix = popcount(mask);
    // The default route, and the /1 halves VPN clients install in its place ("def1"), overlap
    // every pool: they say where traffic leaves, not that a network lives there.
    if (prefix < 8) continue;
    out.push({ family: 4, network: dest & maskOf(4, prefix), prefix });
  }
  return out;
}

/** Routes from /proc/net/ipv6_route: 32 hex digits in network order, then the prefix length in hex. */
export function parseIpv6Routes(text: string): Cidr[] {
  const out: Cidr[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^[0-9a-f]{32}$/i.test(f[0]!)) continue;
    const prefix = parseInt(f[1]!, 16);
    const network = BigInt(`0x${f[0]}`);
    // Skip default-like routes (::/0, VPNs' ::/1 halves), host routes (/128: local and
    // neighbour entries) and multicast/link-local.
    if (prefix < 8 || prefix === 128) continue;
    if (network >> 120n === 0xffn || network >> 118n === 0x3fan) continue;
    out.push({ family: 6, network: network & maskOf(6, prefix), prefix });
  }
  return out;
}

/** Subnet strings in another engine's configuration text (JSON keys subnet/Subnet/Pool/SubPool). */
export function findSubnetStrings(text: string): Cidr[] {
  const out: Cidr[] = [];
  for (const m of text.matchAll(/"(?:subnet|Subnet|Pool|SubPool)"\s*:\s*"([0-9a-fA-F.:]+\/\d{1,3})"/g)) {
    try {
      out.push(parseCidr(m[1]!));
    } catch {
      // A config holding an address with host bits set: keep its network anyway.
      const [addr, len] = m[1]!.split('/');
      try {
        const c = parseCidr(`${addr}/${bitsFor(addr!)}`);
        const prefix = Number(len);
        out.push({ family: c.family, network: c.network & maskOf(c.family, prefix), prefix });
      } catch {
        /* not an address at all */
      }
    }
  }
  return out;
}

/** Every prefix in use: host routes plus the other engines' subnets. Missing sources are skipped. */
export async function occupiedPrefixes(src: HostPrefixSources = HOST_PREFIX_SOURCES): Promise<Cidr[]> {
  const out: Cidr[] = [];
  const v4 = await readText(join(src.procNet, 'route'));
  if (v4) out.push(...parseIpv4Routes(v4));
  const v6 = await readText(join(src.procNet, 'ipv6_route'));
  if (v6) out.push(...parseIpv6Routes(v6));
  for (const path of src.engineConfigs) {
    for (const file of await filesAt(path)) {
      const text = await readText(file, 'latin1');
      if (text) out.push(...findSubnetStrings(text));
    }
  }
  return out;
}

async function filesAt(path: string): Promise<string[]> {
  try {
    const names = await readdir(path);
    return names.filter((n) => !n.startsWith('.')).map((n) => join(path, n));
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOTDIR' ? [path] : [];
  }
}

const MAX_CONFIG_BYTES = 64 << 20;

async function readText(path: string, encoding: BufferEncoding = 'utf8'): Promise<string | undefined> {
  try {
    const buf = await readFile(path);
    return buf.length > MAX_CONFIG_BYTES ? undefined : buf.toString(encoding);
  } catch {
    return undefined;
  }
}

function hexToV4(hex: string, little: boolean): bigint | undefined {
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) return undefined;
  const bytes = hex.match(/../g)!.map((b) => parseInt(b, 16));
  if (little) bytes.reverse();
  return bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

function popcount(v: bigint): number {
  let n = 0;
  for (let x = v; x > 0n; x >>= 1n) n += Number(x & 1n);
  return n;
}

function bitsFor(addr: string): number {
  return addr.includes(':') ? 128 : 32;
}
