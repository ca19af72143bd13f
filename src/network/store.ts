/**
 * Network definitions and their endpoints (the containers attached, with their addresses),
 * kept under `<stateRoot>/networks/`:
 *
 *   networks/lock                      taken to create, remove or reconcile networks
 *   networks/<id>/network.json         the definition (written once, never changed)
 *   networks/<id>/endpoints.json       the endpoints: the IPAM allocations are their addresses
 *   networks/<id>/lock                 taken to change endpoints.json
 *
 * A network appears by renaming a complete `.new-<id>` directory and disappears by renaming
 * it to `.gone-<id>` before deleting it, so a crash at any point leaves either the whole
 * network or a dot-directory that reconcile() deletes. Every file is written temp + fsync +
 * rename. Locks are flock()s: a killed process releases them, and concurrent CLIs (or an API
 * server and a CLI) allocate without ever handing out an address twice.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, errnoCode, wrap } from '../core/errors';
import { fsyncDir, writeFileAtomic } from '../core/fs-atomic';
import { type FileLock, acquireLock } from '../core/lock';
import { type Cidr, formatAddress, parseAddress, parseCidr } from './ipam/cidr';
import { type AddressPool, allocateNext, checkStatic } from './ipam/allocate';
import { occupiedPrefixes } from './ipam/host-prefixes';
import { DEFAULT_BRIDGE_DEVICE, DEFAULT_NETWORK_NAME, buildNetworkRecord } from './store-create';
import { HOST_CLAIMS_DIR, SubnetClaims } from './claims';
import { createHash } from 'node:crypto';
import type { ConnectRequest, EndpointRecord, EndpointsFile, NetworkCreateRequest, NetworkRecord, PortMapping } from './store-types';

export interface NetworkStoreOptions {
  /** Prefixes in use on the host; the default reads routes and other engines' configs. */
  occupied?: () => Promise<Cidr[]>;
  /**
   * The host-wide claims of every root's networks (claims.ts); default HOST_CLAIMS_DIR, or
   * none when `occupied` is given (tests that choose what is occupied).
   */
  claimsDir?: string | null;
  /** The default network's bridge device; default berth0 for /var/lib/berth, berth-<hash> for other roots. */
  defaultBridge?: string;
  signal?: AbortSignal;
}

const MAC_RE = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

export class NetworkStore {
  readonly dir: string;
  private readonly occupied: () => Promise<Cidr[]>;
  private readonly signal: AbortSignal | undefined;
  private readonly claims: SubnetClaims | undefined;
  readonly defaultBridge: string;

  constructor(stateRoot: string, opts: NetworkStoreOptions = {}) {
    this.dir = join(stateRoot, 'networks');
    this.occupied = opts.occupied ?? (() => occupiedPrefixes());
    this.signal = opts.signal;
    const claimsDir = opts.claimsDir === undefined ? (opts.occupied ? null : HOST_CLAIMS_DIR) : opts.claimsDir;
    this.claims = claimsDir ? new SubnetClaims(claimsDir) : undefined;
    this.defaultBridge = opts.defaultBridge ?? defaultBridgeFor(stateRoot);
  }

  /** Creates a user-defined network; refuses bad or clashing input before anything is written. */
  async create(req: NetworkCreateRequest): Promise<NetworkRecord> {
    return this.withStoreLock(async () => this.createLocked(req, false));
  }

  /** The default "bridge" network, created on first use with a subnet that collides with nothing. */
  async ensureDefault(): Promise<NetworkRecord> {
    const found = (await this.list()).find((n) => n.isDefault);
    if (found) return found;
    return this.withStoreLock(async () => {
      const again = (await this.list()).find((n) => n.isDefault);
      return again ?? this.createLocked({ name: DEFAULT_NETWORK_NAME }, true);
    });
  }

  /**
   * The default network again, on a subnet free now: when another engine took its range while
   * no container used it (its bridge, and so its route, exist only while one does). Refused
   * (returns the old one) while any container is on it.
   */
  async renewDefault(old: NetworkRecord): Promise<NetworkRecord> {
    return this.withStoreLock(async () => {
      const current = (await this.list()).find((n) => n.isDefault);
      if (!current || current.id !== old.id) return current ?? this.createLocked({ name: DEFAULT_NETWORK_NAME }, true);
      if (Object.keys((await this.readEndpoints(current)).endpoints).length) return current;
      const gone = join(this.dir, `.gone-${current.id}`);
      await rename(join(this.dir, current.id), gone);
      await fsyncDir(this.dir);
      await this.claims?.release(current.id);
      await rm(gone, { recursive: true, force: true });
      return this.createLocked({ name: DEFAULT_NETWORK_NAME }, true);
    });
  }

  async list(): Promise<NetworkRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw wrap('ESTATE', `reading ${this.dir}`, e);
    }
    const out: NetworkRecord[] = [];
    for (const name of names) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const rec = await this.readRecord(name);
      if (rec) out.push(rec);
    }
    return out.sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
  }

  /** By exact id, exact name, then unique id prefix (docker's order). */
  async get(nameOrId: string): Promise<NetworkRecord> {
    const all = await this.list();
    const hit =
      all.find((n) => n.id === nameOrId) ??
      all.find((n) => n.name === nameOrId) ??
      (() => {
        const byPrefix = /^[0-9a-f]+$/.test(nameOrId) ? all.filter((n) => n.id.startsWith(nameOrId)) : [];
        if (byPrefix.length > 1) {
          throw new BerthError('EINVALID_ARGUMENT', `network id prefix ${nameOrId} is ambiguous: it matches ${byPrefix.map((n) => n.name).join(', ')}`, {
            hint: 'give more of the id, or the name',
          });
        }
        return byPrefix[0];
      })();
    if (!hit) throw notFound(nameOrId);
    return hit;
  }

  /** Removes a network no container uses; returns what it removed. */
  async remove(nameOrId: string): Promise<NetworkRecord> {
    return this.withStoreLock(async () => {
      const net = await this.get(nameOrId);
      return this.withNetworkLock(net, async () => {
        const users = Object.values((await this.readEndpoints(net)).endpoints);
        if (users.length > 0) {
          throw new BerthError('EIN_USE', `network ${net.name} is used by container${users.length > 1 ? 's' : ''} ${users.map((u) => u.containerName || u.containerId.slice(0, 12)).join(', ')}`, {
            hint: `disconnect or remove ${users.length > 1 ? 'them' : 'it'} first (berth network disconnect ${net.name} CONTAINER)`,
          });
        }
        const gone = join(this.dir, `.gone-${net.id}`);
        await rename(join(this.dir, net.id), gone);
        await fsyncDir(this.dir);
        await this.claims?.release(net.id);
        await rm(gone, { recursive: true, force: true });
        return net;
      });
    });
  }

  async endpoints(nameOrId: string): Promise<EndpointRecord[]> {
    const net = await this.get(nameOrId);
    return Object.values((await this.readEndpoints(net)).endpoints);
  }

  /**
   * Attaches a container: allocates its addresses (static ones checked) and records the
   * endpoint. Connecting a container that is already attached returns its endpoint unchanged,
   * so a retried start after a crash keeps the address it had.
   */
  async connect(nameOrId: string, req: ConnectRequest): Promise<{ network: NetworkRecord; endpoint: EndpointRecord; created: boolean }> {
    const net = await this.get(nameOrId);
    if (req.mac !== undefined && !MAC_RE.test(req.mac)) {
      throw new BerthError('EINVALID_ARGUMENT', `invalid --mac-address "${req.mac}"`, { hint: 'write six hex bytes separated by colons, e.g. 02:42:ac:11:00:02' });
    }
    return this.withNetworkLock(net, async () => {
      const file = await this.readEndpoints(net);
      const existing = file.endpoints[req.containerId];
      if (existing) return { network: net, endpoint: existing, created: false };
      const endpoint: EndpointRecord = {
        containerId: req.containerId,
        containerName: req.containerName,
        endpointId: randomBytes(32).toString('hex'),
        aliases: [...(req.aliases ?? [])],
        created: new Date().toISOString(),
      };
      for (const cfg of net.subnets) {
        const pool = poolOf(cfg);
        const family = pool.subnet.family;
        if (family === 6 && !net.enableIPv6) continue;
        const taken = takenIn(file, family);
        const asked = family === 4 ? req.ipv4 : req.ipv6;
        const value = asked !== undefined ? checkStatic(pool, asked, taken, net.name) : allocateNext(pool, new Set(taken.keys()), net.name);
        if (family === 4) {
          endpoint.ipv4 = formatAddress(4, value);
          if (asked !== undefined) endpoint.staticIPv4 = true;
        } else {
          endpoint.ipv6 = formatAddress(6, value);
          if (asked !== undefined) endpoint.staticIPv6 = true;
        }
      }
      if (req.ipv6 !== undefined && endpoint.ipv6 === undefined) {
        throw new BerthError('EINVALID_ARGUMENT', `--ip6 ${req.ipv6} given but network ${net.name} has no IPv6 subnet`, { hint: 'create the network with --ipv6 (and an IPv6 --subnet)' });
      }
      endpoint.mac = (req.mac ?? macFor(endpoint)).toLowerCase();
      if (req.ports && req.ports.length > 0) endpoint.ports = req.ports.map((p) => ({ ...p }));
      file.endpoints[req.containerId] = endpoint;
      await this.writeEndpoints(net, file);
      return { network: net, endpoint, created: true };
    });
  }

  /** Detaches a container and releases its addresses; returns the endpoint it had, if any. */
  async disconnect(nameOrId: string, containerId: string): Promise<EndpointRecord | undefined> {
    const net = await this.get(nameOrId);
    return this.withNetworkLock(net, async () => {
      const file = await this.readEndpoints(net);
      const endpoint = file.endpoints[containerId];
      if (!endpoint) return undefined;
      delete file.endpoints[containerId];
      await this.writeEndpoints(net, file);
      return endpoint;
    });
  }

  /** Every published port of every endpoint, with who publishes it (to refuse duplicates). */
  async publishedPorts(): Promise<Array<{ network: string; containerId: string; containerName: string; port: PortMapping }>> {
    const out: Array<{ network: string; containerId: string; containerName: string; port: PortMapping }> = [];
    for (const net of await this.list()) {
      for (const ep of Object.values((await this.readEndpoints(net)).endpoints)) {
        for (const port of ep.ports ?? []) out.push({ network: net.name, containerId: ep.containerId, containerName: ep.containerName, port });
      }
    }
    return out;
  }

  /** What a crash in the middle of create or remove left (dot-directories), for system check. */
  async unfinished(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => n.startsWith('.new-') || n.startsWith('.gone-'));
  }

  /** Deletes what a crash in the middle of create or remove left (dot-directories). */
  async reconcile(): Promise<string[]> {
    return this.withStoreLock(async () => {
      const removed: string[] = [];
      for (const name of await readdir(this.dir)) {
        if (name.startsWith('.new-') || name.startsWith('.gone-')) {
          await rm(join(this.dir, name), { recursive: true, force: true });
          removed.push(name);
        }
      }
      return removed;
    });
  }

  private async createLocked(req: NetworkCreateRequest, allowDefault: boolean): Promise<NetworkRecord> {
    // Host-wide: another root choosing at the same moment must see this choice.
    const hostLock = await this.claims?.lock();
    try {
      return await this.createClaimed(req, allowDefault);
    } finally {
      hostLock?.release();
    }
  }

  private async createClaimed(req: NetworkCreateRequest, allowDefault: boolean): Promise<NetworkRecord> {
    const existing = await this.list();
    const others = (await this.claims?.live()) ?? [];
    const mine = new Set(existing.map((n) => n.id));
    const foreign = others.filter((c) => !mine.has(c.id));
    const occupied = [...(await this.occupied()), ...foreign.flatMap((c) => c.subnets)];
    const rec = buildNetworkRecord(req, { existing, occupied, allowDefault, defaultBridge: this.defaultBridge, foreignBridges: foreign.map((c) => c.bridge) });
    const staging = join(this.dir, `.new-${rec.id}`);
    await mkdir(staging, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(staging, 'network.json'), `${JSON.stringify(rec, null, 2)}\n`);
    await writeFileAtomic(join(staging, 'endpoints.json'), `${JSON.stringify({ version: 1, endpoints: {} } satisfies EndpointsFile, null, 2)}\n`);
    await rename(staging, join(this.dir, rec.id));
    await fsyncDir(this.dir);
    await this.claims?.claim(rec, join(this.dir, rec.id));
    return rec;
  }

  private async readRecord(id: string): Promise<NetworkRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, id, 'network.json'), 'utf8')) as NetworkRecord;
    } catch (e) {
      // Removed meanwhile (renamed to .gone-*): not a network any more.
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw wrap('ESTATE', `reading network ${id}`, e, `inspect or delete ${join(this.dir, id)}`);
    }
  }

  private async readEndpoints(net: NetworkRecord): Promise<EndpointsFile> {
    const path = join(this.dir, net.id, 'endpoints.json');
    try {
      return JSON.parse(await readFile(path, 'utf8')) as EndpointsFile;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw notFound(net.name);
      throw wrap('ESTATE', `reading ${path}`, e);
    }
  }

  private async writeEndpoints(net: NetworkRecord, file: EndpointsFile): Promise<void> {
    await writeFileAtomic(join(this.dir, net.id, 'endpoints.json'), `${JSON.stringify(file, null, 2)}\n`);
  }

  private async withStoreLock<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const lock = await acquireLock(join(this.dir, 'lock'), this.signal ? { signal: this.signal } : {});
    try {
      return await fn();
    } finally {
      lock.release();
    }
  }

  private async withNetworkLock<T>(net: NetworkRecord, fn: () => Promise<T>): Promise<T> {
    let lock: FileLock;
    try {
      lock = await acquireLock(join(this.dir, net.id, 'lock'), this.signal ? { signal: this.signal } : {});
    } catch (e) {
      // The directory went away while we waited: the network was removed.
      if (errnoCode(e) === 'ENOENT') throw notFound(net.name);
      throw e;
    }
    try {
      return await fn();
    } finally {
      lock.release();
    }
  }
}

function notFound(nameOrId: string): BerthError {
  return new BerthError('ENOT_FOUND', `network ${nameOrId} not found`, { hint: 'berth network ls lists the networks; create it with berth network create' });
}

function poolOf(cfg: { subnet: string; gateway: string; ipRange?: string }): AddressPool {
  const subnet = parseCidr(cfg.subnet);
  const gateway = parseAddress(cfg.gateway)!.value;
  return cfg.ipRange ? { subnet, gateway, range: parseCidr(cfg.ipRange) } : { subnet, gateway };
}

/** Addresses held by endpoints of one family, mapped to the holder's name. */
function takenIn(file: EndpointsFile, family: 4 | 6): Map<bigint, string> {
  const out = new Map<bigint, string>();
  for (const ep of Object.values(file.endpoints)) {
    const text = family === 4 ? ep.ipv4 : ep.ipv6;
    const addr = text ? parseAddress(text) : undefined;
    if (addr) out.set(addr.value, ep.containerName || ep.containerId.slice(0, 12));
  }
  return out;
}

/** docker's classic MAC: 02:42 then the IPv4 address, so it is stable and unique on the bridge. */
function macFor(ep: EndpointRecord): string {
  const v4 = ep.ipv4 ? parseAddress(ep.ipv4) : undefined;
  const bytes = v4 ? [2, 0x42, ...[24n, 16n, 8n, 0n].map((s) => Number((v4.value >> s) & 0xffn))] : [2, ...randomBytes(5)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * berth0 for the default root; another root's default network gets a bridge of its own
 * (two roots on one bridge would hand out the same addresses).
 */
export function defaultBridgeFor(stateRoot: string): string {
  if (stateRoot.replace(/\/+$/, '') === '/var/lib/berth') return DEFAULT_BRIDGE_DEVICE;
  return `berth-${createHash('sha256').update(stateRoot).digest('hex').slice(0, 8)}`;
}
