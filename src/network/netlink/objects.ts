/**
 * What the kernel reports about links, addresses, routes and neighbours, decoded from
 * RTM_NEW* messages into plain objects (for the engine's leak checks, inspect and tests).
 */
import { readStr, readU32, readU8, parseAttrs } from './attrs';
import { formatIp, formatMac } from './addr';
import * as C from './constants';
import { decodeIfAddr, decodeIfInfo, decodeNd, decodeRt } from './message';

export interface Link {
  index: number;
  name: string;
  /** net_device_flags (IFF_UP, IFF_LOWER_UP, ...). */
  flags: number;
  up: boolean;
  mtu: number;
  /** Lower-case colon form; undefined for links without one (lo has 00:00:...). */
  mac?: string;
  /** ifindex of the bridge this link is attached to. */
  master?: number;
  /** "bridge", "veth", ... (undefined for physical and loopback links). */
  kind?: string;
  /** RFC 2863 operstate (IF_OPER_UP = 6, IF_OPER_DOWN = 2, ...). */
  operstate?: number;
  /** For a veth: the peer's ifindex, in the namespace `linkNetnsId` names when that is set. */
  peerIndex?: number;
  linkNetnsId?: number;
}

export interface Address {
  index: number;
  family: number;
  /** "10.88.0.2" / "fd00::2" */
  address: string;
  prefixLen: number;
  scope: number;
  flags: number;
  label?: string;
}

export interface Route {
  family: number;
  /** undefined for a default route. */
  dst?: string;
  dstLen: number;
  gateway?: string;
  oif?: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  priority?: number;
  prefsrc?: string;
}

export interface Neighbour {
  index: number;
  family: number;
  address: string;
  mac?: string;
  state: number;
}

export function toLink(payload: Buffer): Link {
  const { msg, attrs } = decodeIfInfo(payload);
  const link: Link = {
    index: msg.index,
    name: readStr(attrs, C.IFLA_IFNAME) ?? '',
    flags: msg.flags,
    up: (msg.flags & C.IFF_UP) !== 0,
    mtu: readU32(attrs, C.IFLA_MTU) ?? 0,
  };
  const mac = attrs.get(C.IFLA_ADDRESS);
  if (mac && mac.length === 6) link.mac = formatMac(mac);
  const master = readU32(attrs, C.IFLA_MASTER);
  if (master) link.master = master;
  const operstate = readU8(attrs, C.IFLA_OPERSTATE);
  if (operstate !== undefined) link.operstate = operstate;
  const peer = readU32(attrs, C.IFLA_LINK);
  if (peer && peer !== msg.index) link.peerIndex = peer;
  const nsid = readU32(attrs, C.IFLA_LINK_NETNSID);
  if (nsid !== undefined) link.linkNetnsId = nsid | 0;
  const info = attrs.get(C.IFLA_LINKINFO);
  if (info) {
    const kind = readStr(parseAttrs(info), C.IFLA_INFO_KIND);
    if (kind) link.kind = kind;
  }
  return link;
}

export function toAddress(payload: Buffer): Address {
  const { msg, attrs } = decodeIfAddr(payload);
  // IPv4 puts the interface's own address in IFA_LOCAL (IFA_ADDRESS is the peer on p2p links).
  const raw = attrs.get(C.IFA_LOCAL) ?? attrs.get(C.IFA_ADDRESS);
  const a: Address = {
    index: msg.index,
    family: msg.family,
    address: raw ? formatIp(raw) : '',
    prefixLen: msg.prefixLen,
    scope: msg.scope,
    flags: readU32(attrs, C.IFA_FLAGS) ?? msg.flags,
  };
  const label = readStr(attrs, C.IFA_LABEL);
  if (label) a.label = label;
  return a;
}

export function toRoute(payload: Buffer): Route {
  const { msg, attrs } = decodeRt(payload);
  const r: Route = {
    family: msg.family,
    dstLen: msg.dstLen,
    table: readU32(attrs, C.RTA_TABLE) ?? msg.table,
    protocol: msg.protocol,
    scope: msg.scope,
    type: msg.type,
  };
  const dst = attrs.get(C.RTA_DST);
  if (dst) r.dst = formatIp(dst);
  const gw = attrs.get(C.RTA_GATEWAY);
  if (gw) r.gateway = formatIp(gw);
  const oif = readU32(attrs, C.RTA_OIF);
  if (oif !== undefined) r.oif = oif;
  const prio = readU32(attrs, C.RTA_PRIORITY);
  if (prio !== undefined) r.priority = prio;
  const src = attrs.get(C.RTA_PREFSRC);
  if (src) r.prefsrc = formatIp(src);
  return r;
}

export function toNeighbour(payload: Buffer): Neighbour {
  const { msg, attrs } = decodeNd(payload);
  const dst = attrs.get(C.NDA_DST);
  const ll = attrs.get(C.NDA_LLADDR);
  const n: Neighbour = { index: msg.index, family: msg.family, address: dst ? formatIp(dst) : '', state: msg.state };
  if (ll && ll.length === 6) n.mac = formatMac(ll);
  return n;
}
