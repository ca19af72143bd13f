/**
 * Turns a `network create` request into a NetworkRecord: validates the name, driver, subnets,
 * gateways, ip-ranges and bridge name, and picks free subnets where none were given. Pure
 * apart from randomness (ids, IPv6 ULA); the store runs it under its lock with the networks
 * that exist and the prefixes the host uses.
 */
import { randomBytes } from 'node:crypto';
import { BerthError } from '../core/errors';
import { type Cidr, contains, formatAddress, formatCidr, lastOf, overlaps, parseAddress, parseCidr, within } from './ipam/cidr';
import { pickIpv4Subnet, pickIpv6Subnet } from './ipam/pools';
import type { NetworkCreateRequest, NetworkRecord, SubnetConfig } from './store-types';

export const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';
export const DEFAULT_NETWORK_NAME = 'bridge';
export const DEFAULT_BRIDGE_DEVICE = 'berth0';
/** Names that are modes, not networks (docker refuses to create them). */
const PSEUDO_NETWORKS = new Set(['bridge', 'host', 'none', 'default']);
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const IFNAME_RE = /^[a-zA-Z0-9_.-]{1,15}$/;

export interface CreateContext {
  existing: NetworkRecord[];
  /** Prefixes routed on the host or held by other engines (automatic subnets avoid them). */
  occupied: Cidr[];
  now?: Date;
  /** The default "bridge" network may only be made by the store itself. */
  allowDefault?: boolean;
  /** Its bridge device (default berth0). */
  defaultBridge?: string;
  /** Bridges of other roots' networks (claims.ts): refused as names of this root's bridges. */
  foreignBridges?: string[];
}

export function buildNetworkRecord(req: NetworkCreateRequest, ctx: CreateContext): NetworkRecord {
  const name = req.name;
  if (!NAME_RE.test(name)) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid network name "${name}": only letters, digits and _ . - are allowed, starting with a letter or digit`, {
      hint: 'e.g. berth network create my-net',
    });
  }
  if (PSEUDO_NETWORKS.has(name) && !(ctx.allowDefault && name === DEFAULT_NETWORK_NAME)) {
    throw new BerthError('EINVALID_ARGUMENT', `network name "${name}" is reserved for the ${name === 'default' ? 'default network' : `${name} network mode`}`, {
      hint: 'choose another name',
    });
  }
  const taken = ctx.existing.find((n) => n.name === name);
  if (taken) {
    throw new BerthError('EEXISTS', `network with name ${name} already exists (${taken.id.slice(0, 12)})`, {
      hint: `choose another name, or remove it first with berth network rm ${name}`,
    });
  }
  const driver = req.driver ?? 'bridge';
  if (driver !== 'bridge') {
    throw new BerthError('EUNSUPPORTED', `network driver "${driver}" is not supported`, { hint: 'Berth has the bridge driver: omit --driver or pass --driver bridge' });
  }
  const options = { ...(req.options ?? {}) };
  const id = randomBytes(32).toString('hex');
  const bridge = bridgeName(options, id, ctx);

  const usedByBerth = ctx.existing.flatMap((n) => n.subnets.map((s) => ({ net: n, cidr: parseCidr(s.subnet) })));
  const entries = req.ipam ?? [];
  let v4: SubnetConfig | undefined;
  let v6: SubnetConfig | undefined;
  const chosen: Cidr[] = [];
  for (const entry of entries) {
    const config = resolveSubnet(entry, usedByBerth, ctx, chosen);
    const family = parseCidr(config.subnet).family;
    if ((family === 4 && v4) || (family === 6 && v6)) {
      throw new BerthError('EINVALID_ARGUMENT', `more than one IPv${family} --subnet given`, { hint: 'give at most one IPv4 and one IPv6 subnet per network' });
    }
    if (family === 4) v4 = config;
    else v6 = config;
    chosen.push(parseCidr(config.subnet));
  }
  const enableIPv6 = Boolean(req.enableIPv6) || v6 !== undefined;
  if (!v4) v4 = resolveSubnet({}, usedByBerth, ctx, chosen, 4);
  if (enableIPv6 && !v6) v6 = resolveSubnet({}, usedByBerth, ctx, chosen, 6);

  return {
    version: 1,
    id,
    name,
    driver: 'bridge',
    created: (ctx.now ?? new Date()).toISOString(),
    bridge,
    internal: Boolean(req.internal),
    enableIPv6,
    subnets: v6 ? [v4, v6] : [v4],
    labels: { ...(req.labels ?? {}) },
    options,
    isDefault: Boolean(ctx.allowDefault && name === DEFAULT_NETWORK_NAME),
  };
}

function bridgeName(options: Record<string, string>, id: string, ctx: CreateContext): string {
  const asked = options[BRIDGE_NAME_OPTION];
  const name = asked ?? (ctx.allowDefault ? (ctx.defaultBridge ?? DEFAULT_BRIDGE_DEVICE) : `br-${id.slice(0, 12)}`);
  if (!IFNAME_RE.test(name)) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid ${BRIDGE_NAME_OPTION} "${name}": an interface name is 1 to 15 letters, digits or _ . -`, {
      hint: `e.g. --opt ${BRIDGE_NAME_OPTION}=br-web`,
    });
  }
  const holder = ctx.existing.find((n) => n.bridge === name);
  if (holder) {
    throw new BerthError('EEXISTS', `bridge ${name} is already used by network ${holder.name}`, { hint: `choose another ${BRIDGE_NAME_OPTION}` });
  }
  if (ctx.foreignBridges?.includes(name)) {
    throw new BerthError('EEXISTS', `bridge ${name} is already used by a network of another Berth state root on this host`, { hint: `choose another ${BRIDGE_NAME_OPTION}` });
  }
  return name;
}

function resolveSubnet(
  entry: { subnet?: string; gateway?: string; ipRange?: string },
  usedByBerth: Array<{ net: NetworkRecord; cidr: Cidr }>,
  ctx: CreateContext,
  chosen: Cidr[],
  autoFamily?: 4 | 6,
): SubnetConfig {
  let subnet: Cidr;
  if (entry.subnet !== undefined) {
    subnet = parseCidr(entry.subnet, '--subnet');
    const clash = usedByBerth.find((u) => overlaps(u.cidr, subnet));
    if (clash) {
      throw new BerthError('EEXISTS', `--subnet ${formatCidr(subnet)} overlaps network ${clash.net.name}'s subnet ${formatCidr(clash.cidr)}`, {
        hint: 'choose a subnet that does not overlap it (berth network inspect shows the subnets in use)',
      });
    }
    const minHosts = subnet.family === 4 ? 30 : 126;
    if (subnet.prefix > minHosts) {
      throw new BerthError('EINVALID_ARGUMENT', `--subnet ${formatCidr(subnet)} is too small: it leaves no address for a container beside the gateway`, {
        hint: `use a /${minHosts} or larger prefix`,
      });
    }
  } else {
    const family = autoFamily ?? (entry.gateway?.includes(':') || entry.ipRange?.includes(':') ? 6 : 4);
    if (entry.gateway !== undefined || entry.ipRange !== undefined) {
      throw new BerthError('EINVALID_ARGUMENT', '--gateway and --ip-range need a --subnet', { hint: 'pass --subnet too, e.g. --subnet 172.30.0.0/16 --gateway 172.30.0.1' });
    }
    const avoid = [...ctx.occupied, ...usedByBerth.map((u) => u.cidr), ...chosen];
    subnet = family === 4 ? pickIpv4Subnet(avoid) : pickIpv6Subnet(avoid);
  }
  let gateway = subnet.network + 1n;
  if (entry.gateway !== undefined) {
    const g = parseAddress(entry.gateway);
    if (!g || !contains(subnet, g.family, g.value)) {
      throw new BerthError('EINVALID_ARGUMENT', `--gateway ${entry.gateway} is not an address inside subnet ${formatCidr(subnet)}`, {
        hint: `give an address inside ${formatCidr(subnet)}, e.g. ${formatAddress(subnet.family, subnet.network + 1n)}`,
      });
    }
    if (g.value === subnet.network || (subnet.family === 4 && g.value === lastOf(subnet))) {
      throw new BerthError('EINVALID_ARGUMENT', `--gateway ${entry.gateway} is the ${g.value === subnet.network ? 'network' : 'broadcast'} address of ${formatCidr(subnet)}`, {
        hint: `use a host address such as ${formatAddress(subnet.family, subnet.network + 1n)}`,
      });
    }
    gateway = g.value;
  }
  const config: SubnetConfig = { subnet: formatCidr(subnet), gateway: formatAddress(subnet.family, gateway) };
  if (entry.ipRange !== undefined) {
    const range = parseCidr(entry.ipRange, '--ip-range');
    if (!within(range, subnet)) {
      throw new BerthError('EINVALID_ARGUMENT', `--ip-range ${entry.ipRange} is not inside subnet ${formatCidr(subnet)}`, {
        hint: `give a range inside ${formatCidr(subnet)}, e.g. ${formatCidr({ ...subnet, prefix: Math.min(subnet.prefix + 8, subnet.family === 4 ? 30 : 126) })}`,
      });
    }
    config.ipRange = formatCidr(range);
  }
  return config;
}
