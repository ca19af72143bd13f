/**
 * Address allocation inside one subnet, as pure functions over the set of addresses taken:
 * the store (../store.ts) calls them under the network's lock with the addresses its
 * endpoints hold, so the allocations and the endpoints can never disagree.
 * Docker's rules: the network address, the IPv4 broadcast address and the gateway are never
 * handed out; dynamic addresses come from the ip-range when there is one (lowest free first,
 * which gives the familiar .2, .3, ...); a static address may be anywhere in the subnet.
 */
import { BerthError } from '../../core/errors';
import { type Cidr, type Family, contains, formatAddress, formatCidr, lastOf, parseAddress } from './cidr';

export interface AddressPool {
  subnet: Cidr;
  gateway: bigint;
  /** Dynamic allocations come from here (--ip-range); the whole subnet when absent. */
  range?: Cidr;
}

/** Addresses of the subnet no container may have. */
export function reservedIn(pool: AddressPool): Set<bigint> {
  const out = new Set<bigint>([pool.subnet.network, pool.gateway]);
  // IPv4 /31 and /32 have no broadcast (RFC 3021); IPv6 has none at all.
  if (pool.subnet.family === 4 && pool.subnet.prefix < 31) out.add(lastOf(pool.subnet));
  return out;
}

/** The lowest free address of the range (or subnet), or a clear "network is full" error. */
export function allocateNext(pool: AddressPool, taken: ReadonlySet<bigint>, networkName: string): bigint {
  const span = pool.range ?? pool.subnet;
  const reserved = reservedIn(pool);
  const end = lastOf(span);
  for (let a = span.network; a <= end; a++) {
    if (!taken.has(a) && !reserved.has(a)) return a;
  }
  throw new BerthError('EEXISTS', `network ${networkName} has no free IPv${pool.subnet.family} address left in ${formatCidr(span)}`, {
    hint: 'remove containers from it, or create a network with a larger --subnet or --ip-range',
  });
}

/** Checks a requested --ip/--ip6 and returns its value; every refusal names the address and the fix. */
export function checkStatic(pool: AddressPool, text: string, taken: ReadonlyMap<bigint, string>, networkName: string): bigint {
  const flag = pool.subnet.family === 4 ? '--ip' : '--ip6';
  const addr = parseAddress(text);
  if (!addr) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid ${flag} "${text}": not an IPv${pool.subnet.family} address`, {
      hint: `give an address inside ${formatCidr(pool.subnet)}`,
    });
  }
  if (!contains(pool.subnet, addr.family, addr.value)) {
    throw new BerthError('EINVALID_ARGUMENT', `${flag} ${text} is outside network ${networkName}'s subnet ${formatCidr(pool.subnet)}`, {
      hint: `choose an address inside ${formatCidr(pool.subnet)}, or connect to another network`,
    });
  }
  const fam: Family = addr.family;
  if (addr.value === pool.gateway) {
    throw new BerthError('EINVALID_ARGUMENT', `${flag} ${text} is network ${networkName}'s gateway`, { hint: 'choose another address; the gateway belongs to the host' });
  }
  if (reservedIn(pool).has(addr.value)) {
    const which = addr.value === pool.subnet.network ? 'network' : 'broadcast';
    throw new BerthError('EINVALID_ARGUMENT', `${flag} ${text} is the ${which} address of ${formatCidr(pool.subnet)}`, { hint: 'choose a host address inside the subnet' });
  }
  const holder = taken.get(addr.value);
  if (holder !== undefined) {
    throw new BerthError('EEXISTS', `${flag} ${formatAddress(fam, addr.value)} is already used on network ${networkName} by container ${holder}`, {
      hint: `choose another address, or omit ${flag} to get a free one`,
    });
  }
  return addr.value;
}
