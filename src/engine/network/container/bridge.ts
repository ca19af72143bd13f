/**
 * A network's host bridge, podman's way: made (with the gateway addresses) by the first
 * running container of the network and removed with the last, so that an idle network
 * leaves nothing in the host's namespace. Making the bridge and plugging a veth into it happen
 * under the bridge lock, and so does removing it after the last endpoint went, so a start and
 * a stop racing on one network never plug into a bridge that is being deleted.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BerthError, errnoCode } from '../../../core/errors';
import { acquireLock } from '../../../core/lock';
import { overlaps, parseCidr } from '../../../network/ipam/cidr';
import { sysctlPath } from '../../../network/netns';
import type { Rtnetlink } from '../../../network/netlink';
import type { NetworkRecord } from '../../../network/store-types';
import { bridgeLockPath } from './paths';

export async function withBridgeLock<T>(runRoot: string, net: NetworkRecord, fn: () => Promise<T>): Promise<T> {
  const path = bridgeLockPath(runRoot, net.id);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const lock = await acquireLock(path);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** The gateway addresses of a network as "ip/len", IPv4 first. */
export function gatewayCidrs(net: NetworkRecord): string[] {
  return net.subnets
    .filter((s) => net.enableIPv6 || !s.subnet.includes(':'))
    .map((s) => `${s.gateway}/${parseCidr(s.subnet).prefix}`)
    .sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
}

/** Makes the bridge if it is missing, with its gateway addresses and up; returns its index. Under the lock. */
export async function ensureBridge(nl: Rtnetlink, net: NetworkRecord): Promise<number> {
  let link = await nl.getLink(net.bridge);
  if (!link) {
    await refuseRoutedElsewhere(nl, net);
    try {
      link = await nl.createBridge(net.bridge);
    } catch (e) {
      throw new BerthError('ESYSCALL', `cannot create bridge ${net.bridge} for network ${net.name}`, { cause: e, hint: 'check that the bridge module is available (modprobe bridge)' });
    }
  } else if (link.kind !== undefined && link.kind !== 'bridge') {
    throw new BerthError('EEXISTS', `interface ${net.bridge} exists and is not a bridge: network ${net.name} cannot use it`, {
      hint: `remove the interface, or create the network with another -o com.docker.network.bridge.name`,
    });
  }
  // Before the addresses: with IPv6 an address on a bridge whose IPv6 is disabled fails.
  await setHostSysctls(net);
  const present = new Set((await nl.listAddresses({ index: link.index })).map((a) => `${a.address}/${a.prefixLen}`));
  for (const cidr of gatewayCidrs(net)) {
    if (present.has(cidr)) continue;
    // IPv6: no duplicate address detection, the gateway must answer at once (as netavark).
    await nl.addAddress(link.index, cidr, cidr.includes(':') ? { nodad: true } : { broadcast: true });
  }
  if (!link.up) await nl.setLink(link.index, { up: true });
  return link.index;
}

/** Deletes the bridge when no endpoint is left on its network (the caller checked, under the lock). */
export async function removeBridge(nl: Rtnetlink, net: NetworkRecord): Promise<void> {
  await nl.deleteLinkIfExists(net.bridge);
}

/**
 * Host settings a bridge network needs, each written only when it differs:
 * - route_localnet on the bridge: a published port reached on 127.0.0.1 is DNATed to the
 *   container, and the kernel drops packets with a loopback source routed off loopback unless
 *   the outgoing interface allows it (only Berth's own bridge gets it);
 * - IPv4 forwarding (docker turns it on too) for a network with a way out;
 * - IPv6 on the bridge, for --ipv6 networks.
 */
async function setHostSysctls(net: NetworkRecord): Promise<void> {
  await writeSysctl(`net/ipv4/conf/${net.bridge}/route_localnet`, '1');
  if (!net.internal) await writeSysctl('net/ipv4/ip_forward', '1');
  if (net.enableIPv6) await writeSysctl(`net/ipv6/conf/${net.bridge}/disable_ipv6`, '0');
}

/** A host sysctl (a key as netns.ts sysctlPath takes it), written only when it differs. */
async function writeSysctl(key: string, value: string): Promise<void> {
  const path = sysctlPath(key);
  try {
    if ((await readFile(path, 'utf8')).trim() === value) return;
    await writeFile(path, value);
  } catch (e) {
    // IPv6 disabled on the kernel command line: the file is missing; the address step says so.
    if (errnoCode(e) === 'ENOENT' && key.includes('/ipv6/')) return;
    throw new BerthError('ESYSCALL', `cannot set ${key.replace(/\//g, '.')} to ${value}`, { cause: e });
  }
}

/**
 * A subnet is chosen free when its network is created, but a bridge exists only while a
 * container runs: meanwhile another engine (or another Berth root) may have taken the range.
 * Bringing ours up then would break both; refuse, naming the interface that has it.
 */
export async function refuseRoutedElsewhere(nl: Rtnetlink, net: NetworkRecord): Promise<void> {
  const mine = net.subnets.map((s) => parseCidr(s.subnet));
  const links = new Map((await nl.listLinks()).map((l) => [l.index, l.name]));
  for (const r of await nl.listRoutes()) {
    if (r.dst === undefined || r.table !== 254 || r.oif === undefined || r.dstLen === 0) continue;
    const routed = parseCidr(`${r.dst}/${r.dstLen}`);
    const hit = mine.find((c) => overlaps(c, routed));
    if (!hit) continue;
    const dev = links.get(r.oif) ?? `interface #${r.oif}`;
    throw new BerthError('EIN_USE', `the subnet ${net.subnets.find((s) => overlaps(parseCidr(s.subnet), routed))!.subnet} of network ${net.name} is already routed through ${dev} (${r.dst}/${r.dstLen})`, {
      hint: net.isDefault ? 'stop the containers on the default network: it then moves to a free subnet at the next start' : `remove that network, or recreate ${net.name} with another --subnet`,
    });
  }
}
