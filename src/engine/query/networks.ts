/**
 * Networks as docker shows them: the inspect document (the Engine API's NetworkInspect),
 * the two pseudo networks `host` and `none` that every docker host lists, the filters of
 * `network ls` / `GET /networks`, and the row `network ls --format` templates see.
 * Pure functions over the store's records, so the CLI and the API server share them.
 */
import { createHash } from 'node:crypto';
import { BerthError } from '../../core/errors';
import { DEFAULT_NETWORK_NAME } from '../../network/store-create';
import type { EndpointRecord, NetworkRecord } from '../../network/store-types';
import { filterPairs, splitLabel, type FilterArgs } from './filters';

/** Networks docker's daemon defines itself: they can be neither created nor removed. */
export const PREDEFINED_NETWORKS = [DEFAULT_NETWORK_NAME, 'host', 'none'] as const;

export function isPredefinedNetwork(name: string): boolean {
  return (PREDEFINED_NETWORKS as readonly string[]).includes(name);
}

export interface NetworkIpamConfig {
  Subnet: string;
  Gateway: string;
  IPRange?: string;
}

/** One attached container, as docker lists it in a network's Containers. */
export interface NetworkContainer {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  /** "a.b.c.d/len", or "" without an address. */
  IPv4Address: string;
  IPv6Address: string;
}

/** docker's NetworkInspect (API v1.56), the fields a local bridge network has. */
export interface NetworkInspect {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: Record<string, string>; Config: NetworkIpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, NetworkContainer>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** The document of a network of the store with its endpoints (the containers on it now). */
export function networkInspectDocument(rec: NetworkRecord, endpoints: readonly EndpointRecord[]): NetworkInspect {
  const prefixOf = (family: 4 | 6) => rec.subnets.find((s) => s.subnet.includes(':') === (family === 6))?.subnet.split('/')[1];
  const withPrefix = (addr: string | undefined, family: 4 | 6) => (addr ? `${addr}/${prefixOf(family) ?? (family === 4 ? '32' : '128')}` : '');
  const containers: Record<string, NetworkContainer> = {};
  for (const ep of [...endpoints].sort((a, b) => a.containerId.localeCompare(b.containerId))) {
    containers[ep.containerId] = {
      Name: ep.containerName,
      EndpointID: ep.endpointId,
      MacAddress: ep.mac ?? '',
      IPv4Address: withPrefix(ep.ipv4, 4),
      IPv6Address: withPrefix(ep.ipv6, 6),
    };
  }
  // docker lists the default bridge's settings as options; a user network shows what was asked.
  const options = rec.isDefault
    ? { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': rec.bridge, ...rec.options }
    : { ...rec.options };
  return {
    ...base(rec.name, rec.id, rec.created, 'bridge'),
    EnableIPv6: rec.enableIPv6,
    IPAM: {
      Driver: 'default',
      Options: {},
      Config: rec.subnets.map((s) => ({ Subnet: s.subnet, Gateway: s.gateway, ...(s.ipRange ? { IPRange: s.ipRange } : {}) })),
    },
    Internal: rec.internal,
    Containers: containers,
    Options: options,
    Labels: { ...rec.labels },
  };
}

/**
 * `host` and `none`: modes rather than networks, but docker lists and inspects them like
 * networks. Their ids are derived from the state root, so they are stable for one root
 * and differ between roots; `created` is when that root's default network was made.
 */
export function pseudoNetworkDocuments(stateRoot: string, created: string): NetworkInspect[] {
  return [
    { ...base('host', pseudoNetworkId(stateRoot, 'host'), created, 'host') },
    { ...base('none', pseudoNetworkId(stateRoot, 'none'), created, 'null') },
  ];
}

export function pseudoNetworkId(stateRoot: string, name: 'host' | 'none'): string {
  return createHash('sha256').update(`berth pseudo network ${name} of ${stateRoot}`).digest('hex');
}

function base(name: string, id: string, created: string, driver: string): NetworkInspect {
  return {
    Name: name,
    Id: id,
    Created: created,
    Scope: 'local',
    Driver: driver,
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: {},
  };
}

const LS_FILTERS = 'driver=, id=, label=KEY[=VALUE], name=, scope=, type=custom|builtin, dangling=true|false';

/**
 * docker's network filters: values of one key are alternatives, keys must all hold.
 * `name` and `id` match as docker's do (the exact value, or a regular expression found in
 * it), `driver` and `scope` exactly, every `label` must be present (with its value if
 * given); `type` is builtin (bridge, host, none) or custom; `dangling=true` keeps user
 * networks no container is on. Throws on an unknown key or value before anything is listed.
 */
export function networkFilter(filters: FilterArgs | undefined): (doc: NetworkInspect) => boolean {
  const byKey = new Map<string, string[]>();
  for (const [key, value] of filterPairs(filters)) {
    if (!['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'].includes(key)) {
      throw new BerthError('EINVALID_ARGUMENT', `invalid filter "${key}"`, { hint: `network filters: ${LS_FILTERS}` });
    }
    if (key === 'type' && value !== 'custom' && value !== 'builtin') {
      throw new BerthError('EINVALID_ARGUMENT', `invalid filter "type=${value}"`, { hint: 'type is custom or builtin' });
    }
    if (key === 'dangling' && !['true', 'false', '1', '0'].includes(value)) {
      throw new BerthError('EINVALID_ARGUMENT', `invalid filter "dangling=${value}"`, { hint: 'use dangling=true or dangling=false' });
    }
    byKey.set(key, [...(byKey.get(key) ?? []), value]);
  }
  const tests: Array<(d: NetworkInspect) => boolean> = [];
  const anyOf = (key: string, test: (value: string, d: NetworkInspect) => boolean) => {
    const values = byKey.get(key);
    if (values) tests.push((d) => values.some((v) => test(v, d)));
  };
  anyOf('driver', (v, d) => d.Driver === v);
  anyOf('scope', (v, d) => d.Scope === v);
  anyOf('name', (v, d) => goMatch(v, d.Name));
  anyOf('id', (v, d) => goMatch(v, d.Id));
  anyOf('type', (v, d) => isPredefinedNetwork(d.Name) === (v === 'builtin'));
  for (const label of byKey.get('label') ?? []) {
    const [k, v] = splitLabel(label);
    tests.push((d) => k in d.Labels && (v === undefined || d.Labels[k] === v));
  }
  const dangling = byKey.get('dangling');
  if (dangling) {
    const want = dangling[dangling.length - 1] === 'true' || dangling[dangling.length - 1] === '1';
    tests.push((d) => {
      const used = isPredefinedNetwork(d.Name) || Object.keys(d.Containers).length > 0;
      return want ? !used : used;
    });
  }
  return (d) => tests.every((t) => t(d));
}

/** docker's filters.Match: the exact value, or the value as a regular expression found in the text. */
function goMatch(pattern: string, text: string): boolean {
  if (pattern === text) return true;
  try {
    return new RegExp(pattern).test(text);
  } catch {
    return false;
  }
}

/** The listing order of `docker network ls`: by name, with digit runs compared as numbers. */
export function sortNetworks(docs: NetworkInspect[]): NetworkInspect[] {
  return [...docs].sort((a, b) => naturalCompare(a.Name, b.Name));
}

function naturalCompare(a: string, b: string): number {
  const split = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const [x, y] = [split(a), split(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const [p, q] = [x[i]!, y[i]!];
    if (p === q) continue;
    if (/^\d/.test(p) && /^\d/.test(q)) return Number(p) - Number(q) || p.length - q.length;
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}

/** The row `network ls` prints and its `--format` templates see (docker's field names, JSON key order). */
export interface NetworkRow {
  CreatedAt: string;
  Driver: string;
  ID: string;
  IPv4: string;
  IPv6: string;
  Internal: string;
  Labels: string;
  Name: string;
  Scope: string;
}

export const NETWORK_HEADERS: Record<string, string> = {
  ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv4: 'IPV4', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT',
};

export function networkRow(doc: NetworkInspect, opts: { noTrunc: boolean }): NetworkRow {
  return {
    CreatedAt: goTimeString(doc.Created),
    Driver: doc.Driver,
    ID: opts.noTrunc ? doc.Id : doc.Id.slice(0, 12),
    IPv4: String(doc.EnableIPv4),
    IPv6: String(doc.EnableIPv6),
    Internal: String(doc.Internal),
    Labels: Object.entries(doc.Labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(','),
    Name: doc.Name,
    Scope: doc.Scope,
  };
}

/** Go's time.Time.String() of an RFC 3339 UTC instant: "2006-01-02 15:04:05.999999999 +0000 UTC". */
export function goTimeString(rfc3339: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(rfc3339);
  if (!m) return rfc3339;
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  return `${m[1]} ${m[2]}${fraction ? `.${fraction}` : ''} +0000 UTC`;
}
