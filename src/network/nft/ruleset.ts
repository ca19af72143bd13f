/**
 * The text of Berth's nftables transactions, for `nft -f -`. Everything lives in one table of
 * our own, `table inet berth` (IPv4 and IPv6 in one), and never touches another table.
 *
 * The chains hold a fixed set of rules that only look things up in sets and maps; what a
 * network or a container adds is set and map ELEMENTS. That makes every transaction
 *   - idempotent: it re-declares the table, sets, maps and chains ("add" of an existing object
 *     is a no-op), flushes only our base chains and re-adds their fixed rules, so a half-applied
 *     or hand-damaged table heals on the next start;
 *   - exact on removal: a container's teardown deletes exactly its elements, no rule handles to
 *     remember, nothing reordered; "add element X; delete element X" deletes X whether or not it
 *     was there (a crash between apply and the state write cannot make a teardown fail);
 *   - atomic: nft applies the whole text in one netlink batch, or nothing of it.
 *
 * What the fixed rules do (docker's semantics, with userland-proxy=false):
 *   prerouting/output: a packet to a local address (fib daddr type local: host addresses, the
 *     gateways, 127.0.0.0/8) whose protocol and port are published is DNATed to the container
 *     (specific host IP first, then "any address"). Output covers connections from the host itself.
 *   postrouting: masquerade a non-internal network's subnet leaving through a non-Berth
 *     interface (outbound NAT); masquerade 127.0.0.0/8 sources going into a bridge (host to
 *     127.0.0.1:PORT; the bridge needs route_localnet=1); masquerade DNATed traffic going back
 *     into the bridge it came from (hairpin: a container reaching a published port through a
 *     host address, itself included; the bridge port needs hairpin mode).
 *   forward: internal networks forward nothing off their bridge; different Berth networks cannot reach each
 *     other; replies and DNATed connections may enter a bridge, anything from a bridge may
 *     leave, and nothing else may enter (unpublished ports stay closed to other hosts).
 * A drop in ANY base chain on a hook is final, so accepts here cannot override a host firewall
 * (dockerd's iptables FORWARD policy DROP): see docker-user.ts for that coexistence.
 */
import { type Cidr, parseAddress, parseCidr } from '../ipam/cidr';
import type { PortMapping } from '../store-types';

export const TABLE_FAMILY = 'inet';
export const TABLE_NAME = 'berth';
const T = `${TABLE_FAMILY} ${TABLE_NAME}`;

/**
 * The table of a state root: `inet berth` for the default root (/var/lib/berth), `inet
 * berth-<hash>` for another, so that two roots (whose firewall states are separate) never
 * add to or drop each other's table.
 */
export function tableFor(name: string = TABLE_NAME): string {
  return `${TABLE_FAMILY} ${name}`;
}

/** A network as the firewall needs it. */
export interface FirewallNetwork {
  id: string;
  bridge: string;
  internal: boolean;
  /** CIDRs, IPv4 and/or IPv6. */
  subnets: string[];
}

/** One container's published ports through one of its addresses. */
export interface FirewallPorts {
  ipv4?: string;
  ipv6?: string;
  ports: PortMapping[];
}

const SETS: Array<[name: string, decl: string]> = [
  ['bridges', 'type ifname;'],
  ['internal', 'type ifname;'],
  ['pairs', 'type ifname . ifname;'],
  ['nat4', 'type ipv4_addr; flags interval;'],
  ['nat6', 'type ipv6_addr; flags interval;'],
  ['hairpin4', 'type ipv4_addr . ifname; flags interval;'],
  ['hairpin6', 'type ipv6_addr . ifname; flags interval;'],
];

const MAPS: Array<[name: string, decl: string]> = [
  ['dnat4', 'type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;'],
  ['dnat4any', 'type inet_proto . inet_service : ipv4_addr . inet_service;'],
  ['dnat6', 'type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service;'],
  ['dnat6any', 'type inet_proto . inet_service : ipv6_addr . inet_service;'],
];

const BASE_CHAINS: Array<[name: string, decl: string]> = [
  // "dstnat" is only a valid name on prerouting; -100 is the same priority on output.
  ['prerouting', 'type nat hook prerouting priority dstnat; policy accept;'],
  ['output', 'type nat hook output priority -100; policy accept;'],
  ['postrouting', 'type nat hook postrouting priority srcnat; policy accept;'],
  ['forward', 'type filter hook forward priority filter; policy accept;'],
];

const FIXED_RULES: Array<[chain: string, rule: string]> = [
  ['prerouting', 'fib daddr type local jump published'],
  ['output', 'fib daddr type local jump published'],
  ['published', 'meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @dnat4'],
  ['published', 'meta nfproto ipv4 dnat ip to meta l4proto . th dport map @dnat4any'],
  ['published', 'meta nfproto ipv6 dnat ip6 to ip6 daddr . meta l4proto . th dport map @dnat6'],
  ['published', 'meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @dnat6any'],
  ['postrouting', 'ip saddr @nat4 oifname != @bridges masquerade'],
  ['postrouting', 'ip6 saddr @nat6 oifname != @bridges masquerade'],
  ['postrouting', 'oifname @bridges ip saddr 127.0.0.0/8 masquerade'],
  ['postrouting', 'ct status dnat ip saddr . oifname @hairpin4 masquerade'],
  ['postrouting', 'ct status dnat ip6 saddr . oifname @hairpin6 masquerade'],
  // Within one bridge first: containers of an --internal network still reach each other.
  ['forward', 'iifname . oifname @pairs accept'],
  ['forward', 'iifname @internal drop'],
  ['forward', 'oifname @internal drop'],
  ['forward', 'iifname @bridges oifname @bridges drop'],
  ['forward', 'oifname @bridges ct state established,related accept'],
  ['forward', 'oifname @bridges ct status dnat accept'],
  ['forward', 'iifname @bridges accept'],
  ['forward', 'oifname @bridges drop'],
];

/** Declares the table and its objects, and (re)writes the fixed rules of our own chains. */
export function skeleton(t: string = T): string[] {
  const out = [`add table ${t}`];
  for (const [name, decl] of SETS) out.push(`add set ${t} ${name} { ${decl} }`);
  for (const [name, decl] of MAPS) out.push(`add map ${t} ${name} { ${decl} }`);
  out.push(`add chain ${t} published`);
  for (const [name, decl] of BASE_CHAINS) out.push(`add chain ${t} ${name} { ${decl} }`);
  for (const name of ['published', ...BASE_CHAINS.map(([n]) => n)]) out.push(`flush chain ${t} ${name}`);
  for (const [chain, rule] of FIXED_RULES) out.push(`add rule ${t} ${chain} ${rule}`);
  return out;
}

export interface Element {
  set: string;
  /** The element text inside braces, e.g. `"br-x"` or `tcp . 8080 : 10.0.0.2 . 80`. */
  text: string;
}

/** The elements a network contributes while it has at least one running container. */
export function networkElements(net: FirewallNetwork): Element[] {
  const br = quoteIfname(net.bridge);
  const out: Element[] = [
    { set: 'bridges', text: br },
    { set: 'pairs', text: `${br} . ${br}` },
  ];
  if (net.internal) out.push({ set: 'internal', text: br });
  for (const text of net.subnets) {
    const c: Cidr = parseCidr(text);
    const fam = c.family === 4 ? '4' : '6';
    if (!net.internal) out.push({ set: `nat${fam}`, text });
    out.push({ set: `hairpin${fam}`, text: `${text} . ${br}` });
  }
  return out;
}

/** The DNAT map elements of one container's published ports. */
export function portElements(p: FirewallPorts): Element[] {
  const out: Element[] = [];
  for (const port of p.ports) {
    const hostIp = port.hostIp;
    const any = hostIp === '' || hostIp === '0.0.0.0' || hostIp === '::';
    const hostFamily = any ? undefined : parseAddress(hostIp)?.family;
    if (!any && hostFamily === undefined) throw new Error(`not an address: ${hostIp}`);
    // docker's rule: no host IP publishes on both families, 0.0.0.0 on IPv4 only, :: on IPv6 only.
    const families: Array<4 | 6> = hostIp === '' ? [4, 6] : hostIp === '0.0.0.0' ? [4] : hostIp === '::' ? [6] : [hostFamily!];
    for (const fam of families) {
      const target = fam === 4 ? p.ipv4 : p.ipv6;
      if (!target) continue;
      const key = `${port.protocol} . ${port.hostPort}`;
      const value = `${target} . ${port.containerPort}`;
      out.push(any ? { set: `dnat${fam}any`, text: `${key} : ${value}` } : { set: `dnat${fam}`, text: `${hostIp} . ${key} : ${value}` });
    }
  }
  return out;
}

export function addElements(elements: Element[], t: string = T): string[] {
  return elements.map((e) => `add element ${t} ${e.set} { ${e.text} }`);
}

/** Deletes elements whether or not they are present (add then delete, in one transaction). */
export function deleteElements(elements: Element[], t: string = T): string[] {
  return elements.flatMap((e) => [`add element ${t} ${e.set} { ${e.text} }`, `delete element ${t} ${e.set} { ${e.text} }`]);
}

/** Removes the whole table, present or not. */
export function dropTable(t: string = T): string[] {
  return [`add table ${t}`, `delete table ${t}`];
}

export function script(lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function quoteIfname(name: string): string {
  // Interface names are validated on network create ([A-Za-z0-9_.-]); quoting keeps nft from
  // reading a name such as "br-1" as an expression.
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`bad interface name ${JSON.stringify(name)}`);
  return `"${name}"`;
}
