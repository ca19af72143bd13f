/**
 * The rtnetlink requests Berth sends, built as pure data (no I/O) so the unit tests can
 * compare their bytes with the kernel headers' layouts and with what iproute2 sends.
 * Each builder returns the message type, the flags beyond REQUEST/ACK, the body parts and
 * the Operation that names it in errors.
 */
import { attr, bytes, nested, str, u32, u8 } from './attrs';
import { parseIp, parseMac, parsePrefix } from './addr';
import * as C from './constants';
import type { Operation } from './errors';
import { encodeIfAddr, encodeIfInfo, encodeNd, encodeRt } from './message';
import { BerthError } from '../../core/errors';

export interface Request {
  type: number;
  flags: number;
  parts: Buffer[];
  what: Operation;
}

/** Linux's IFNAMSIZ is 16 including the NUL: names are 1 to 15 bytes, no "/", ":" or spaces. */
export function checkIfName(name: string): void {
  if (!/^[^/:\s]{1,15}$/.test(name) || name === '.' || name === '..' || Buffer.byteLength(name) > 15) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid interface name "${name}"`, {
      hint: 'an interface name is 1 to 15 bytes without "/", ":" or whitespace',
    });
  }
}

function checkMtu(mtu: number, name: string): void {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid MTU ${mtu} for ${name}`, { hint: 'an MTU is a whole number from 68 to 65535' });
  }
}

/** Who a link request is about, by index (preferred: unambiguous) or by name. */
export type LinkRef = number | string;

function refParts(ref: LinkRef): { index: number; attrs: Buffer[]; label: string } {
  if (typeof ref === 'number') return { index: ref, attrs: [], label: `#${ref}` };
  checkIfName(ref);
  return { index: 0, attrs: [str(C.IFLA_IFNAME, ref)], label: ref };
}

export interface LinkOptions {
  mtu?: number;
  mac?: string;
  /** Creates the link in the netns this fd refers to (an open netns file). */
  netnsFd?: number;
}

function linkAttrs(name: string, o: LinkOptions): Buffer[] {
  const out: Buffer[] = [];
  if (o.mtu !== undefined) {
    checkMtu(o.mtu, name);
    out.push(u32(C.IFLA_MTU, o.mtu));
  }
  if (o.mac !== undefined) out.push(attr(C.IFLA_ADDRESS, parseMac(o.mac)));
  if (o.netnsFd !== undefined) out.push(u32(C.IFLA_NET_NS_FD, o.netnsFd));
  return out;
}

/** `ip link add NAME type bridge [mtu N] [address MAC]` (STP and multicast snooping off, as docker). */
export function createBridge(name: string, o: Omit<LinkOptions, 'netnsFd'> = {}): Request {
  checkIfName(name);
  const info = nested(C.IFLA_LINKINFO, [
    bytes(C.IFLA_INFO_KIND, 'bridge'),
    nested(C.IFLA_INFO_DATA, [u32(C.IFLA_BR_STP_STATE, 0), u8(C.IFLA_BR_MCAST_SNOOPING, 0)]),
  ]);
  return {
    type: C.RTM_NEWLINK,
    flags: C.NLM_F_CREATE | C.NLM_F_EXCL,
    parts: [encodeIfInfo({}), ...linkAttrs(name, o), str(C.IFLA_IFNAME, name), info],
    what: { op: 'create bridge', subject: name },
  };
}

export interface VethOptions extends Omit<LinkOptions, 'netnsFd'> {
  /** The peer's name (in its netns: e.g. "eth0"). */
  peerName: string;
  peerMtu?: number;
  peerMac?: string;
  /** Creates the peer directly in this netns (an open netns file's fd): no move, no rename. */
  peerNetnsFd?: number;
}

/**
 * `ip link add NAME [mtu N] type veth peer name PEER [mtu N] [address MAC] netns NS`: one
 * request makes both ends, the peer already in the container's namespace under its final name
 * (so no interface named eth0 ever appears in the host namespace, and no rename is needed).
 */
export function createVeth(name: string, o: VethOptions): Request {
  checkIfName(name);
  checkIfName(o.peerName);
  const peer = Buffer.concat([
    encodeIfInfo({}),
    ...linkAttrs(o.peerName, {
      ...(o.peerMtu !== undefined || o.mtu !== undefined ? { mtu: o.peerMtu ?? o.mtu! } : {}),
      ...(o.peerMac !== undefined ? { mac: o.peerMac } : {}),
      ...(o.peerNetnsFd !== undefined ? { netnsFd: o.peerNetnsFd } : {}),
    }),
    str(C.IFLA_IFNAME, o.peerName),
  ]);
  const info = nested(C.IFLA_LINKINFO, [bytes(C.IFLA_INFO_KIND, 'veth'), nested(C.IFLA_INFO_DATA, [attr(C.VETH_INFO_PEER, peer)])]);
  return {
    type: C.RTM_NEWLINK,
    flags: C.NLM_F_CREATE | C.NLM_F_EXCL,
    parts: [encodeIfInfo({}), ...linkAttrs(name, { ...(o.mtu !== undefined ? { mtu: o.mtu } : {}), ...(o.mac !== undefined ? { mac: o.mac } : {}) }), str(C.IFLA_IFNAME, name), info],
    what: { op: 'create veth', subject: `${name} (peer ${o.peerName})` },
  };
}

export interface LinkChanges {
  up?: boolean;
  mtu?: number;
  mac?: string;
  /** New name (the link must be down for the kernel to allow it). */
  name?: string;
  /** Attach to this bridge (ifindex); 0 detaches. */
  master?: number;
  /** Move into the netns of this fd. */
  netnsFd?: number;
}

/** `ip link set REF [up|down] [mtu N] [address MAC] [name NEW] [master BR|nomaster] [netns NS]` */
export function setLink(ref: LinkRef, c: LinkChanges): Request {
  const r = refParts(ref);
  const parts = [...r.attrs];
  if (c.name !== undefined) {
    checkIfName(c.name);
    // With the link named by IFLA_IFNAME, a rename can only go by index: the caller resolves it.
    if (r.index === 0) throw new BerthError('EINVALID_ARGUMENT', `rename ${r.label}: give the link by its index to rename it`);
    parts.push(str(C.IFLA_IFNAME, c.name));
  }
  parts.push(...linkAttrs(r.label, { ...(c.mtu !== undefined ? { mtu: c.mtu } : {}), ...(c.mac !== undefined ? { mac: c.mac } : {}), ...(c.netnsFd !== undefined ? { netnsFd: c.netnsFd } : {}) }));
  if (c.master !== undefined) parts.push(u32(C.IFLA_MASTER, c.master));
  const updown = c.up === undefined ? {} : { flags: c.up ? C.IFF_UP : 0, change: C.IFF_UP };
  const verbs = [c.up === true ? 'up' : c.up === false ? 'down' : '', c.mtu !== undefined ? `mtu ${c.mtu}` : '', c.mac ? `address ${c.mac}` : '', c.name ? `name ${c.name}` : '', c.master !== undefined ? (c.master ? `master #${c.master}` : 'nomaster') : '', c.netnsFd !== undefined ? 'netns' : ''];
  return {
    type: C.RTM_NEWLINK,
    flags: 0,
    parts: [encodeIfInfo({ index: r.index, ...updown }), ...parts],
    what: { op: `set link ${verbs.filter(Boolean).join(' ')}`.trimEnd(), subject: r.label },
  };
}

export function deleteLink(ref: LinkRef): Request {
  const r = refParts(ref);
  return { type: C.RTM_DELLINK, flags: 0, parts: [encodeIfInfo({ index: r.index }), ...r.attrs], what: { op: 'delete link', subject: r.label } };
}

export function getLink(ref: LinkRef): Request {
  const r = refParts(ref);
  return { type: C.RTM_GETLINK, flags: 0, parts: [encodeIfInfo({ index: r.index }), ...r.attrs], what: { op: 'get link', subject: r.label } };
}

export function listLinks(): Request {
  return { type: C.RTM_GETLINK, flags: C.NLM_F_DUMP, parts: [encodeIfInfo({})], what: { op: 'list', subject: 'links' } };
}

export interface AddressOptions {
  /** IPv6: skip duplicate address detection (the address is usable at once, as netavark does). */
  nodad?: boolean;
  /** IPv4: set the broadcast address (the last of the subnet), as `ip addr add ... brd +`. */
  broadcast?: boolean;
}

function addressRequest(type: number, flags: number, index: number, cidr: string, o: AddressOptions, op: string, label: string): Request {
  const p = parsePrefix(cidr);
  const ifaFlags = o.nodad && p.family === C.AF_INET6 ? C.IFA_F_NODAD : 0;
  const parts = [encodeIfAddr({ family: p.family, prefixLen: p.prefixLen, flags: ifaFlags, scope: C.RT_SCOPE_UNIVERSE, index }), attr(C.IFA_LOCAL, p.bytes), attr(C.IFA_ADDRESS, p.bytes)];
  if (o.broadcast && p.family === C.AF_INET && p.prefixLen < 31) {
    const host = (2 ** (32 - p.prefixLen) - 1) >>> 0;
    const brd = Buffer.alloc(4);
    brd.writeUInt32BE((p.bytes.readUInt32BE(0) | host) >>> 0, 0);
    parts.push(attr(C.IFA_BROADCAST, brd));
  }
  return { type, flags, parts, what: { op, subject: `${cidr} ${op.startsWith('add') ? 'to' : 'from'} ${label}` } };
}

/** `ip addr add CIDR dev INDEX` (EEXIST if the interface has it already). */
export function addAddress(index: number, cidr: string, o: AddressOptions = {}, label = `#${index}`): Request {
  return addressRequest(C.RTM_NEWADDR, C.NLM_F_CREATE | C.NLM_F_EXCL, index, cidr, o, 'add address', label);
}

export function deleteAddress(index: number, cidr: string, label = `#${index}`): Request {
  return addressRequest(C.RTM_DELADDR, 0, index, cidr, {}, 'delete address', label);
}

export function listAddresses(family: number = C.AF_UNSPEC): Request {
  return { type: C.RTM_GETADDR, flags: C.NLM_F_DUMP, parts: [encodeIfAddr({ family, prefixLen: 0, flags: 0, scope: 0, index: 0 })], what: { op: 'list', subject: 'addresses' } };
}

export interface RouteSpec {
  /** Destination prefix; omitted: the default route of the gateway's family. */
  dst?: string;
  gateway?: string;
  /** Output interface (ifindex). */
  oif?: number;
  metric?: number;
  table?: number;
}

function routeRequest(type: number, flags: number, r: RouteSpec, op: string): Request {
  const dst = r.dst !== undefined ? parsePrefix(r.dst) : undefined;
  const gw = r.gateway !== undefined ? parseIp(r.gateway) : undefined;
  const family = dst?.family ?? gw?.family;
  if (family === undefined) throw new BerthError('EINVALID_ARGUMENT', `${op}: give a destination or a gateway`);
  if (gw && gw.family !== family) throw new BerthError('EINVALID_ARGUMENT', `${op} ${r.dst}: gateway ${r.gateway} is not of the destination's address family`);
  const table = r.table ?? C.RT_TABLE_MAIN;
  const parts = [
    encodeRt({
      family,
      dstLen: dst?.prefixLen ?? 0,
      srcLen: 0,
      tos: 0,
      table: table < 256 ? table : 0,
      protocol: type === C.RTM_DELROUTE ? 0 : C.RTPROT_BOOT,
      // A route through a gateway is universe scope; one straight onto a link is link scope.
      scope: type === C.RTM_DELROUTE ? 0 : gw ? C.RT_SCOPE_UNIVERSE : C.RT_SCOPE_LINK,
      type: C.RTN_UNICAST,
      flags: 0,
    }),
  ];
  if (table >= 256) parts.push(u32(C.RTA_TABLE, table));
  if (dst) parts.push(attr(C.RTA_DST, dst.bytes));
  if (gw) parts.push(attr(C.RTA_GATEWAY, gw.bytes));
  if (r.oif !== undefined) parts.push(u32(C.RTA_OIF, r.oif));
  if (r.metric !== undefined) parts.push(u32(C.RTA_PRIORITY, r.metric));
  const subject = `${r.dst ?? 'default'}${r.gateway ? ` via ${r.gateway}` : ''}${r.oif !== undefined ? ` dev #${r.oif}` : ''}`;
  return { type, flags, parts, what: { op, subject } };
}

/** `ip route add [DST|default] [via GW] [dev OIF] [metric N]` */
export function addRoute(r: RouteSpec): Request {
  return routeRequest(C.RTM_NEWROUTE, C.NLM_F_CREATE | C.NLM_F_EXCL, r, 'add route');
}

export function deleteRoute(r: RouteSpec): Request {
  return routeRequest(C.RTM_DELROUTE, 0, r, 'delete route');
}

export function listRoutes(family: number = C.AF_UNSPEC): Request {
  return { type: C.RTM_GETROUTE, flags: C.NLM_F_DUMP, parts: [encodeRt({ family, dstLen: 0, srcLen: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 })], what: { op: 'list', subject: 'routes' } };
}

/** `ip neigh replace IP lladdr MAC dev INDEX nud permanent` */
export function setNeighbour(index: number, ip: string, mac: string, label = `#${index}`): Request {
  const a = parseIp(ip);
  return {
    type: C.RTM_NEWNEIGH,
    flags: C.NLM_F_CREATE | C.NLM_F_REPLACE,
    parts: [encodeNd({ family: a.family, index, state: C.NUD_PERMANENT, flags: 0, type: 0 }), attr(C.NDA_DST, a.bytes), attr(C.NDA_LLADDR, parseMac(mac))],
    what: { op: 'set neighbour', subject: `${ip} lladdr ${mac} on ${label}` },
  };
}

export function deleteNeighbour(index: number, ip: string, label = `#${index}`): Request {
  const a = parseIp(ip);
  return {
    type: C.RTM_DELNEIGH,
    flags: 0,
    parts: [encodeNd({ family: a.family, index, state: 0, flags: 0, type: 0 }), attr(C.NDA_DST, a.bytes)],
    what: { op: 'delete neighbour', subject: `${ip} on ${label}` },
  };
}

export function listNeighbours(family: number = C.AF_UNSPEC): Request {
  return { type: C.RTM_GETNEIGH, flags: C.NLM_F_DUMP, parts: [encodeNd({ family, index: 0, state: 0, flags: 0, type: 0 })], what: { op: 'list', subject: 'neighbours' } };
}
