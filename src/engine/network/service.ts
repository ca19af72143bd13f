/**
 * `network` commands over the engine: user-defined networks (create, ls, inspect, rm, prune)
 * from the NetworkStore, and connecting or disconnecting a container, which the container
 * side does (it holds the container's lock and sets up or takes down the live endpoint).
 *
 * The default `bridge` network is made on first use (every listing or lookup ensures it),
 * and `host` and `none` are listed and inspected as docker shows them but never stored.
 */
import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BerthError, errnoCode, isBerthError } from '../../core/errors';
import type { EndpointRequest } from '../docker-types';
import { EventLog } from '../events';
import type { NetworkStore } from '../../network/store';
import { BRIDGE_NAME_OPTION } from '../../network/store-create';
import type { NetworkCreateRequest, NetworkRecord } from '../../network/store-types';
import type { FilterArgs } from '../query/filters';
import { isPredefinedNetwork, networkFilter, networkInspectDocument, pseudoNetworkDocuments, sortNetworks, type NetworkInspect } from '../query/networks';

export interface NetworkServiceDeps {
  store: NetworkStore;
  /** After a network is removed: its bridge goes too, if something left it up (docker's rm does). */
  removed?(net: NetworkRecord): Promise<void>;
  /** Connects a container (running or not) to a network; live when it runs. */
  connect(network: string, container: string, req: EndpointRequest): Promise<void>;
  /** Disconnects it; `force` also when the container is gone or the endpoint half-made. */
  disconnect(network: string, container: string, force: boolean): Promise<void>;
  /**
   * Where `network create`/`destroy` events go (the engine's log). Without it the service
   * appends to the event log of the store's own state root, which is the same file.
   */
  events?: Pick<EventLog, 'emit'>;
}

/** What `network create` takes beyond the store's request: docker's options Berth accepts only in one form. */
export interface NetworkCreateOptions extends NetworkCreateRequest {
  /** docker's IPAM driver; only "default" exists here. */
  ipamDriver?: string;
  /** Swarm's manual attachment: accepted and meaningless for a local network, as docker does. */
  attachable?: boolean;
}

/**
 * `network prune`'s filters (docker's until=, label=, label!=), the shape system/prune.ts's
 * parsePruneFilters returns. Not imported from there: the container side holds this service,
 * and system/prune.ts imports the container side.
 */
export interface NetworkPruneFilter {
  /** Only networks created before this instant (ms since the epoch). */
  until?: number;
  labels?: Array<{ key: string; value?: string; negate: boolean }>;
}

function matchesNetworkPruneFilter(rec: NetworkRecord, f: NetworkPruneFilter): boolean {
  if (f.until !== undefined && !(Date.parse(rec.created) < f.until)) return false;
  return (f.labels ?? []).every((l) => (l.key in rec.labels && (l.value === undefined || rec.labels[l.key] === l.value)) !== l.negate);
}

/** Drivers docker has that a local daemonless engine cannot offer, with why. */
const UNAVAILABLE_DRIVERS: Record<string, string> = {
  overlay: 'overlay networks span a swarm cluster, which Berth does not run',
  macvlan: 'Berth connects containers through a bridge; macvlan is not implemented',
  ipvlan: 'Berth connects containers through a bridge; ipvlan is not implemented',
  host: 'host is a network mode: run the container with --network host',
  null: 'none is a network mode: run the container with --network none',
};

/** Whether the host (this network namespace) has a link of that name. */
async function hostLinkExists(name: string): Promise<boolean> {
  // An interface name never contains "/" (the store validates it too); refuse to look elsewhere.
  if (name.includes('/') || name === '.' || name === '..') return false;
  return access(join('/sys/class/net', name)).then(
    () => true,
    () => false,
  );
}

export class NetworkService {
  readonly store: NetworkStore;
  private readonly events: Pick<EventLog, 'emit'>;

  constructor(private readonly deps: NetworkServiceDeps) {
    this.store = deps.store;
    // The store lives in <stateRoot>/networks: the event log of that root is <stateRoot>/events.log.
    this.events = deps.events ?? new EventLog(this.stateRoot);
  }

  /** The state root the store lives under (the pseudo networks' ids derive from it). */
  get stateRoot(): string {
    return dirname(this.store.dir);
  }

  /** Creates a user-defined bridge network; refuses anything else before writing. */
  async create(opts: NetworkCreateOptions): Promise<NetworkRecord> {
    const { ipamDriver, attachable, ...req } = opts;
    void attachable;
    const driver = req.driver ?? 'bridge';
    if (driver !== 'bridge') {
      const why = UNAVAILABLE_DRIVERS[driver];
      throw new BerthError('EUNSUPPORTED', `network driver "${driver}" is not supported${why ? `: ${why}` : ''}`, {
        hint: 'Berth has the bridge driver: omit the driver or use "bridge"',
      });
    }
    if (ipamDriver !== undefined && ipamDriver !== 'default') {
      throw new BerthError('EUNSUPPORTED', `IPAM driver "${ipamDriver}" is not supported`, { hint: 'Berth has the "default" IPAM driver: omit it' });
    }
    if (isPredefinedNetwork(req.name)) {
      throw new BerthError('EINVALID_ARGUMENT', `operation is not permitted on predefined ${req.name} network: the name "${req.name}" is reserved`, {
        hint: 'choose another name',
      });
    }
    const bridge = req.options?.[BRIDGE_NAME_OPTION];
    if (bridge !== undefined && (await hostLinkExists(bridge))) {
      // docker would adopt an existing bridge; Berth changes only links it made itself.
      throw new BerthError('EEXISTS', `${BRIDGE_NAME_OPTION}=${bridge}: a network interface ${bridge} already exists on this host`, {
        hint: `choose a bridge name no interface has (ip link show ${bridge}), or omit the option for br-<id>`,
      });
    }
    const rec = await this.store.create(req);
    await this.events.emit('network', 'create', rec.id, { name: rec.name, type: rec.driver });
    return rec;
  }

  /** Every network (bridge, host, none and the user's) matching docker's filters, sorted by name. */
  async list(filters?: FilterArgs): Promise<NetworkInspect[]> {
    const keep = networkFilter(filters);
    const docs = await this.allDocuments();
    return sortNetworks(docs.filter(keep));
  }

  /** One network's document by name, id or unique id prefix (docker's order), pseudo ones included. */
  async inspect(nameOrId: string): Promise<NetworkInspect> {
    const defaultNet = await this.store.ensureDefault();
    const pseudo = pseudoNetworkDocuments(this.stateRoot, defaultNet.created);
    const exact = pseudo.find((d) => d.Id === nameOrId || d.Name === nameOrId);
    if (exact) return exact;
    try {
      const rec = await this.store.get(nameOrId);
      return networkInspectDocument(rec, await this.store.endpoints(rec.id));
    } catch (e) {
      // A prefix of a pseudo network's id, when no stored network has it.
      const byPrefix = /^[0-9a-f]+$/.test(nameOrId) ? pseudo.filter((d) => d.Id.startsWith(nameOrId)) : [];
      if (isBerthError(e) && e.code === 'ENOT_FOUND' && byPrefix.length === 1) return byPrefix[0]!;
      throw e;
    }
  }

  /**
   * Removes a user-defined network no running container is on; the default bridge, host and
   * none are refused (docker's). Returns the record removed.
   */
  async remove(nameOrId: string): Promise<NetworkRecord> {
    const doc = await this.inspect(nameOrId);
    if (isPredefinedNetwork(doc.Name)) {
      throw new BerthError('EINVALID_ARGUMENT', `${doc.Name} is a pre-defined network and cannot be removed`, {
        hint: 'only networks made with berth network create can be removed',
      });
    }
    const rec = await this.store.remove(doc.Id);
    await this.deps.removed?.(rec);
    await this.events.emit('network', 'destroy', rec.id, { name: rec.name, type: rec.driver });
    return rec;
  }

  /**
   * Removes the user-defined networks that no container is on and that match `filter`
   * (until=, label=, label!=); returns their names. A network a container joins meanwhile
   * is skipped, not an error (the store refuses it under its lock).
   */
  /** Names of the networks prune would remove (system prune --dry-run). */
  async unused(filter: NetworkPruneFilter = {}): Promise<string[]> {
    const out: string[] = [];
    for (const rec of await this.store.list()) {
      if (rec.isDefault || !matchesNetworkPruneFilter(rec, filter)) continue;
      if ((await this.store.endpoints(rec.id).catch(() => [])).length === 0) out.push(rec.name);
    }
    return out;
  }

  async prune(filter: NetworkPruneFilter = {}): Promise<string[]> {
    const removed: string[] = [];
    for (const rec of await this.store.list()) {
      if (rec.isDefault || !matchesNetworkPruneFilter(rec, filter)) continue;
      if ((await this.store.endpoints(rec.id).catch(() => [])).length > 0) continue;
      try {
        await this.store.remove(rec.id);
        await this.deps.removed?.(rec);
      } catch (e) {
        if (isBerthError(e) && (e.code === 'EIN_USE' || e.code === 'ENOT_FOUND')) continue;
        throw e;
      }
      await this.events.emit('network', 'destroy', rec.id, { name: rec.name, type: rec.driver });
      removed.push(rec.name);
    }
    return removed;
  }

  async connect(network: string, container: string, req: EndpointRequest = {}): Promise<void> {
    await this.deps.connect(network, container, req);
  }

  async disconnect(network: string, container: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.deps.disconnect(network, container, opts.force === true);
  }

  private async allDocuments(): Promise<NetworkInspect[]> {
    const defaultNet = await this.store.ensureDefault();
    const docs = pseudoNetworkDocuments(this.stateRoot, defaultNet.created);
    for (const rec of await this.store.list()) {
      const endpoints = await this.store.endpoints(rec.id).catch((e: unknown) => {
        // Removed between the listing and this read: leave it out.
        if ((isBerthError(e) && e.code === 'ENOT_FOUND') || errnoCode(e) === 'ENOENT') return undefined;
        throw e;
      });
      if (endpoints) docs.push(networkInspectDocument(rec, endpoints));
    }
    return docs;
  }
}
