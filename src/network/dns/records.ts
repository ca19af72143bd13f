/**
 * The resolver's state file and the name table built from it. One file per network
 * (`resolver.json` in the network's resolver directory) holds both the network's resolver
 * settings, fixed for the network's life, and the endpoints (one per container) that come
 * and go; the engine rewrites it atomically under the network's lock and the resolver
 * re-reads it when it changes. Pure code: no I/O, so the parsing and the table are unit-tested.
 */
import { isIP } from 'node:net';
import { BerthError } from '../../core/errors';

/** What one container (or a static name such as host.docker.internal) answers to on a network. */
export interface DnsEndpoint {
  /** The container's name first (PTR answers use it), then its aliases, short id, hostname. */
  names: string[];
  ipv4: string[];
  ipv6: string[];
  /**
   * The container's own `--dns` servers: queries coming from its addresses are forwarded to
   * these instead of the host's (docker and aardvark-dns do the same).
   */
  upstreams?: string[];
  /**
   * The other user-defined networks the container is on (their keys): it resolves their
   * names too, through whichever of its resolvers it asks (aardvark-dns's rule), since a stub
   * resolver takes the first NXDOMAIN it gets as final.
   */
  networks?: string[];
}

export interface ResolverConfig {
  /** The network's name, for messages and logs. */
  network: string;
  /** Addresses the resolver binds: the network's gateway addresses on its bridge. */
  listen: string[];
  /** 53 in production; tests may pick another. */
  port: number;
  /** Names under this domain are answered authoritatively (NXDOMAIN when unknown). */
  domain: string;
  /** False on --internal networks: no way out, so no forwarding either. */
  forward: boolean;
  /**
   * Upstream name servers ("ip", "ip:port", "[ip6]:port"). Empty: the host's resolv.conf
   * (`hostResolvConf`) is read at every reload, so a DHCP change on the host is seen.
   */
  upstreams: string[];
  hostResolvConf: string;
  /** Names that are not containers: host.docker.internal and friends (the gateway). */
  staticNames: DnsEndpoint[];
}

export interface ResolverState {
  version: 1;
  config: ResolverConfig;
  /** Container id -> endpoint. */
  endpoints: Record<string, DnsEndpoint>;
}

export const STATE_VERSION = 1;

/** Parses and checks a state file; any defect is one error naming the file and the field. */
export function parseResolverState(text: string, path: string): ResolverState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BerthError('ESTATE', `resolver state ${path} is not valid JSON`, { cause: e, hint: 'run `berth system check --repair`' });
  }
  const bad = (what: string) =>
    new BerthError('ESTATE', `resolver state ${path}: ${what}`, { hint: 'run `berth system check --repair`' });
  if (!isObject(raw) || raw.version !== STATE_VERSION) throw bad(`unknown version (expected ${STATE_VERSION})`);
  if (!isObject(raw.config)) throw bad('missing config');
  if (!isObject(raw.endpoints)) throw bad('missing endpoints');
  const config = raw.config as unknown as ResolverConfig;
  checkConfig(config, bad);
  for (const [id, ep] of Object.entries(raw.endpoints)) checkEndpoint(ep, `endpoints.${id}`, bad);
  return raw as unknown as ResolverState;
}

/** Checks settings before they are written, so a mistake is reported to the caller, not in a log. */
export function validateConfig(config: ResolverConfig): void {
  checkConfig(config, (what) => new BerthError('EINVALID_ARGUMENT', `resolver of network ${config.network}: ${what}`));
}

export function validateEndpoint(ep: DnsEndpoint, where: string): void {
  checkEndpoint(ep, where, (what) => new BerthError('EINVALID_ARGUMENT', what));
}

function checkConfig(c: ResolverConfig, bad: (what: string) => Error): void {
  if (typeof c.network !== 'string' || !c.network) throw bad('config.network must be the network name');
  if (!Array.isArray(c.listen) || !c.listen.length || !c.listen.every((a) => isIP(a) !== 0)) {
    throw bad(`config.listen must list the gateway addresses to bind (got ${JSON.stringify(c.listen)})`);
  }
  if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535) throw bad(`config.port ${String(c.port)} is not a port number`);
  if (typeof c.domain !== 'string' || !isDomainName(c.domain)) throw bad(`config.domain ${JSON.stringify(c.domain)} is not a domain name`);
  if (typeof c.forward !== 'boolean') throw bad('config.forward must be true or false');
  if (!Array.isArray(c.upstreams)) throw bad('config.upstreams must be a list');
  for (const u of c.upstreams) if (!parseServer(u)) throw bad(`config.upstreams: ${JSON.stringify(u)} is not "ip" or "ip:port"`);
  if (typeof c.hostResolvConf !== 'string') throw bad('config.hostResolvConf must be a path');
  if (!Array.isArray(c.staticNames)) throw bad('config.staticNames must be a list');
  c.staticNames.forEach((ep, i) => checkEndpoint(ep, `config.staticNames[${i}]`, bad));
}

function checkEndpoint(ep: unknown, where: string, bad: (what: string) => Error): void {
  if (!isObject(ep)) throw bad(`${where} is not an object`);
  const { names, ipv4, ipv6, upstreams } = ep as Partial<DnsEndpoint>;
  if (!Array.isArray(names) || !names.length) throw bad(`${where}.names must list at least one name`);
  for (const n of names) {
    if (typeof n !== 'string' || !isDomainName(n)) {
      throw bad(`${where}.names: ${JSON.stringify(n)} is not a valid DNS name (letters, digits, '-', '_' and '.' only, labels of 1-63 characters)`);
    }
  }
  if (!Array.isArray(ipv4) || !ipv4.every((a) => isIP(a) === 4)) throw bad(`${where}.ipv4 must list IPv4 addresses`);
  if (!Array.isArray(ipv6) || !ipv6.every((a) => isIP(a) === 6)) throw bad(`${where}.ipv6 must list IPv6 addresses`);
  if (upstreams !== undefined && (!Array.isArray(upstreams) || !upstreams.every((u) => parseServer(u)))) {
    throw bad(`${where}.upstreams must list "ip" or "ip:port" name servers`);
  }
  const { networks } = ep as Partial<DnsEndpoint>;
  if (networks !== undefined && (!Array.isArray(networks) || !networks.every((k) => typeof k === 'string' && /^[0-9a-f]{1,64}$/.test(k)))) {
    throw bad(`${where}.networks must list network ids`);
  }
}

// Container names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; '_' is not a hostname character but docker
// resolves such names anyway, so it is accepted here too.
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i;

export function isDomainName(name: string): boolean {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  return n.length > 0 && n.length <= 253 && n.split('.').every((l) => LABEL.test(l));
}

export interface ServerAddress {
  address: string;
  port: number;
  family: 4 | 6;
}

/** "1.2.3.4", "1.2.3.4:5353", "fd00::1", "[fd00::1]:5353" -> address and port (53 by default). */
export function parseServer(spec: string): ServerAddress | undefined {
  if (typeof spec !== 'string') return undefined;
  let address = spec;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec);
  if (bracket) {
    address = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else if (isIP(spec) === 0) {
    const m = /^([^:]+):(\d+)$/.exec(spec);
    if (!m) return undefined;
    address = m[1]!;
    port = Number(m[2]);
  }
  // A zone index (fe80::1%eth0) names an interface of the host's namespace: usable as is.
  const family = isIP(address.split('%')[0]!);
  if (family === 0 || port < 1 || port > 65535) return undefined;
  return { address, port, family: family as 4 | 6 };
}

/** The lookups the resolver answers from, rebuilt on every reload (cheap: one pass). */
export interface NameTable {
  domain: string;
  /** Lower-case name without trailing dot -> addresses. */
  forward: Map<string, { ipv4: string[]; ipv6: string[] }>;
  /** Reverse name (x.x.x.x.in-addr.arpa, nibbles.ip6.arpa) -> PTR targets. */
  reverse: Map<string, string[]>;
  /** Source address of a container -> its own --dns servers. */
  upstreamsBySource: Map<string, string[]>;
  /** Source address of a container -> the other networks whose names it also resolves. */
  networksBySource: Map<string, string[]>;
}

/** `table` with the names of `others` added (its own win): a container on several networks. */
export function mergeNameTables(table: NameTable, others: NameTable[]): NameTable {
  const forward = new Map<string, { ipv4: string[]; ipv6: string[] }>();
  const reverse = new Map<string, string[]>();
  for (const t of [...others].reverse()) {
    for (const [k, v] of t.forward) forward.set(k, v);
    for (const [k, v] of t.reverse) reverse.set(k, v);
  }
  for (const [k, v] of table.forward) forward.set(k, v);
  for (const [k, v] of table.reverse) reverse.set(k, v);
  return { ...table, forward, reverse };
}

export function buildNameTable(state: ResolverState): NameTable {
  const domain = normalizeName(state.config.domain);
  const table: NameTable = { domain, forward: new Map(), reverse: new Map(), upstreamsBySource: new Map(), networksBySource: new Map() };
  const add = (ep: DnsEndpoint) => {
    for (const raw of ep.names) {
      const name = normalizeName(raw);
      const entry = table.forward.get(name) ?? { ipv4: [], ipv6: [] };
      // Two containers may share an alias (docker answers with both: poor man's round robin).
      entry.ipv4 = unique([...entry.ipv4, ...ep.ipv4]);
      entry.ipv6 = unique([...entry.ipv6, ...ep.ipv6.map(expandIPv6)]);
      table.forward.set(name, entry);
    }
    const primary = `${normalizeName(ep.names[0]!)}.${domain}`;
    for (const ip of [...ep.ipv4, ...ep.ipv6]) {
      const rev = reverseName(ip);
      table.reverse.set(rev, unique([...(table.reverse.get(rev) ?? []), primary]));
      if (ep.upstreams?.length) table.upstreamsBySource.set(canonicalIP(ip), ep.upstreams);
      if (ep.networks?.length) table.networksBySource.set(canonicalIP(ip), ep.networks);
    }
  };
  for (const ep of state.config.staticNames) add(ep);
  for (const ep of Object.values(state.endpoints)) add(ep);
  return table;
}

export function normalizeName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/** The PTR owner name of an address. */
export function reverseName(ip: string): string {
  if (isIP(ip) === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const nibbles = expandIPv6(ip).replace(/:/g, '').split('');
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

/** A form of an address that compares equal for equal addresses (IPv4-mapped IPv6 unwrapped). */
export function canonicalIP(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  return isIP(ip) === 6 ? expandIPv6(ip) : ip;
}

/** "fd00::1" -> "fd00:0000:0000:0000:0000:0000:0000:0001". */
export function expandIPv6(ip: string): string {
  let text = ip.toLowerCase().split('%')[0]!;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => g.padStart(4, '0')).join(':');
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
