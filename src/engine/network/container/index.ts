/**
 * A container's networks on the host, set up at start and taken down at stop, for every
 * runtime alike: the engine makes the network namespace (a file under the run root) before
 * the runtime runs and hands its path over in config.json, as podman does.
 *
 * setup(), per container:
 *   1. the namespace file <runRoot>/netns/<id>                           (crash point net:netns)
 *   2. per network, first the NetworkMode one: an endpoint in the network store (its IPAM
 *      addresses, under the network's lock), the bridge if it is the network's first
 *      container, a veth pair (the peer made directly in the namespace as eth0, eth1...),
 *      addresses, and the default route through the first network with a way out
 *                                                                          (net:links)
 *   3. published ports resolved (a port held on the host is refused, naming its holder), then
 *      one nft transaction for the container's networks and ports        (net:firewall)
 *   4. the resolver of each user-defined network joined                   (net:dns)
 * teardown() undoes it from whatever is there (each step idempotent, found from ids alone),
 * so a start killed at any step is finished by the next command; leftovers() and
 * teardownById() let `system check` do the same for containers no record explains.
 */
import { writeFile } from 'node:fs/promises';
import { BerthError, errnoCode } from '../../../core/errors';
import { crashPoint } from '../../../core/crash-point';
import { pathExists } from '../../../core/fs-exists';
import { type ContainerNetworkDns, DEFAULT_DNS_DOMAIN, HOST_NAMES, leave, listResolverKeys, resolverStatus, startOrJoin, updateEndpoint } from '../../../network/dns';
import { parseCidr } from '../../../network/ipam/cidr';
import { Rtnetlink } from '../../../network/netlink';
import { createNetns, listNetns, removeNetns, setNetnsSysctl, withNetns } from '../../../network/netns';
import { NftFirewall } from '../../../network/nft/firewall';
import type { FirewallNetwork } from '../../../network/nft/ruleset';
import type { NetworkStore } from '../../../network/store';
import type { EndpointRecord, NetworkRecord, PortMapping } from '../../../network/store-types';
import type { EndpointRequest } from '../../docker-types';
import type { ContainerRecord } from '../../containers/record';
import { ensureBridge, gatewayCidrs, refuseRoutedElsewhere, removeBridge, withBridgeLock } from './bridge';
import { hostVethName, netnsDir, netnsPath, networkRunDir } from './paths';
import { attachedNetworks } from './plan';
import { resolvePorts } from './ports';

/** One network of a running container. */
export interface AttachedEndpoint {
  network: NetworkRecord;
  endpoint: EndpointRecord;
  /** Its interface in the container: eth0, eth1, ... */
  ifname: string;
}

export interface NetworkAttachment {
  netnsPath: string;
  /** The NetworkMode network first. */
  endpoints: AttachedEndpoint[];
  ports: PortMapping[];
}

export interface ContainerNetworkingOptions {
  runRoot: string;
  store: NetworkStore;
  /** Default: nft in the root's own table (see tableName), state under <runRoot>/network. */
  firewall?: NftFirewall;
  /** The root's nft table: `berth` for the default root, else named like its default bridge. */
  tableName?: string;
}

export class ContainerNetworking {
  readonly runRoot: string;
  readonly store: NetworkStore;
  readonly firewall: NftFirewall;

  constructor(o: ContainerNetworkingOptions) {
    this.runRoot = o.runRoot;
    this.store = o.store;
    this.firewall = o.firewall ?? new NftFirewall({ stateDir: networkRunDir(o.runRoot), ...(o.tableName ? { tableName: o.tableName } : {}) });
  }

  netnsPath(containerId: string): string {
    return netnsPath(this.runRoot, containerId);
  }

  /** The network records a container's record names (the default network made on first use); refuses unknown ones. */
  async networksOf(rec: ContainerRecord): Promise<NetworkRecord[]> {
    const out: NetworkRecord[] = [];
    for (const name of attachedNetworks(rec)) {
      out.push(name === 'bridge' ? await this.defaultNetwork() : await this.store.get(rec.NetworkSettings.Networks[name]?.NetworkID || name).catch(() => this.store.get(name)));
    }
    return out;
  }

  /** The default network, moved to a free subnet if its range was taken while it was idle. */
  private async defaultNetwork(): Promise<NetworkRecord> {
    const net = await this.store.ensureDefault();
    const host = await Rtnetlink.open();
    try {
      if (await host.getLink(net.bridge)) return net;
      try {
        await refuseRoutedElsewhere(host, net);
        return net;
      } catch (e) {
        if (!(e instanceof BerthError) || e.code !== 'EIN_USE') throw e;
        return await this.store.renewDefault(net);
      }
    } finally {
      await host.close();
    }
  }

  /** Sets up the container's networks (see the module comment); undefined when it has none of its own. */
  async setup(rec: ContainerRecord): Promise<NetworkAttachment | undefined> {
    const networks = await this.networksOf(rec);
    if (!networks.length) return undefined;
    const nsPath = this.netnsPath(rec.Id);
    // A previous run's network that nothing took down (its teardown failed, or was killed and
    // no command since repaired it): the container is not running, so it goes first.
    if (await pathExists(nsPath)) await this.teardownById(rec.Id);
    try {
      await createNetns(nsPath);
      crashPoint('net:netns');
      const ports = await resolvePorts(this.store, rec);
      const endpoints: AttachedEndpoint[] = [];
      const host = await Rtnetlink.open();
      try {
        for (const [i, net] of networks.entries()) {
          const req = this.endpointRequest(rec, net);
          const { endpoint } = await this.store.connect(net.id, { ...req, ...(i === 0 && ports.length ? { ports } : {}) });
          const ifname = `eth${i}`;
          endpoints.push({ network: net, endpoint, ifname });
          await this.plug(host, rec.Id, { network: net, endpoint, ifname }, nsPath);
        }
      } finally {
        await host.close();
      }
      await this.routeDefault(nsPath, endpoints);
      crashPoint('net:links');
      await this.firewall.attach(this.firewallEntry(rec, endpoints, ports));
      crashPoint('net:firewall');
      for (const ep of endpoints) await this.joinResolver(rec, ep, endpoints);
      crashPoint('net:dns');
      return { netnsPath: nsPath, endpoints, ports };
    } catch (e) {
      await this.teardown(rec).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Takes down whatever of the container's networking exists (firewall, resolver entries,
   * links, IPAM endpoints, the bridge of a network it was the last on, the namespace file).
   * Idempotent; a no-op for a container that never had a network of its own.
   */
  async teardown(rec: Pick<ContainerRecord, 'Id'> & { NetworkSettings?: { SandboxKey?: string } }): Promise<void> {
    // Without the namespace file, only a record that says it had one (its run root was
    // emptied by a reboot, but its IPAM endpoints are in the state root) has anything left.
    if (!(await pathExists(this.netnsPath(rec.Id))) && !rec.NetworkSettings?.SandboxKey) return;
    await this.teardownById(rec.Id);
  }

  /** teardown() by id alone, whatever is there: resolver entries of networks too. */
  async teardownById(id: string): Promise<void> {
    const errors: unknown[] = [];
    const step = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };
    await step(() => this.firewall.detach(id));
    const host = await Rtnetlink.open();
    try {
      const bridges = new Set((await host.listLinks()).map((l) => l.name));
      for (const net of await this.store.list()) {
        const eps = await this.store.endpoints(net.id);
        if (eps.some((e) => e.containerId === id)) {
          if (!net.isDefault) await step(() => leave({ runRoot: this.runRoot, networkKey: net.id, containerId: id }));
          await step(() => host.deleteLinkIfExists(hostVethName(id, net.id)));
          await step(() => this.store.disconnect(net.id, id));
        } else if (eps.length || !bridges.has(net.bridge)) continue;
        // Also a bridge left idle by a teardown that stopped between the endpoint and the bridge.
        await step(() => this.removeBridgeIfIdle(host, net));
      }
    } finally {
      await host.close();
    }
    // A resolver may still list it when the store's endpoint went first (a crash in between).
    for (const key of await listResolverKeys(this.runRoot).catch(() => [])) {
      if ((await resolverStatus(this.runRoot, key))?.endpoints.includes(id)) await step(() => leave({ runRoot: this.runRoot, networkKey: key, containerId: id }));
    }
    await step(() => removeNetns(this.netnsPath(id)));
    if (errors.length) {
      throw new BerthError('ESYSCALL', `taking down the network of container ${id.slice(0, 12)}: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`, {
        cause: errors[0],
        hint: 'run `berth system check --repair`',
      });
    }
  }

  /** Connects a running container to one more network (network connect); returns its endpoint. */
  async connectLive(rec: ContainerRecord, net: NetworkRecord, req: EndpointRequest): Promise<AttachedEndpoint> {
    const nsPath = this.netnsPath(rec.Id);
    if (!(await pathExists(nsPath))) {
      throw new BerthError('EINVALID_ARGUMENT', `container ${rec.Name.slice(1)} has no network namespace of its own (network mode ${rec.HostConfig.NetworkMode})`, {
        hint: 'only containers on bridge networks can be connected to another network',
      });
    }
    const taken = await withNetns(nsPath, async (nl) => (await nl.listLinks()).map((l) => l.name));
    let n = 0;
    while (taken.includes(`eth${n}`)) n++;
    const connectReq = this.endpointRequest(rec, net, req);
    const { endpoint } = await this.store.connect(net.id, connectReq);
    const attached: AttachedEndpoint = { network: net, endpoint, ifname: `eth${n}` };
    try {
      const host = await Rtnetlink.open();
      try {
        await this.plug(host, rec.Id, attached, nsPath);
      } finally {
        await host.close();
      }
      const all = await this.attachedEndpoints(rec.Id);
      await this.routeDefault(nsPath, all);
      await this.firewall.attach(this.firewallEntry(rec, all, portsOf(all)));
      await this.joinResolver(rec, attached, all);
      // Its resolvers on the other networks now also answer the new network's names to it.
      await this.refreshNames(rec);
    } catch (e) {
      await this.disconnectLive(rec, net).catch(() => undefined);
      throw e;
    }
    return attached;
  }

  /** Takes one network away from a running container (network disconnect). */
  async disconnectLive(rec: ContainerRecord, net: NetworkRecord): Promise<void> {
    if (!net.isDefault) await leave({ runRoot: this.runRoot, networkKey: net.id, containerId: rec.Id });
    const host = await Rtnetlink.open();
    try {
      await host.deleteLinkIfExists(hostVethName(rec.Id, net.id));
      await this.store.disconnect(net.id, rec.Id);
      const rest = await this.attachedEndpoints(rec.Id);
      if (rest.length) await this.firewall.attach(this.firewallEntry(rec, rest, portsOf(rest)));
      else await this.firewall.detach(rec.Id);
      await this.removeBridgeIfIdle(host, net);
      await this.refreshNames(rec);
    } finally {
      await host.close();
    }
  }

  /** The endpoints the store holds for a container, in the order of its interfaces. */
  async attachedEndpoints(id: string): Promise<AttachedEndpoint[]> {
    const out: AttachedEndpoint[] = [];
    const nsPath = this.netnsPath(id);
    const links = (await pathExists(nsPath)) ? await withNetns(nsPath, async (nl) => nl.listLinks()) : [];
    for (const net of await this.store.list()) {
      const ep = (await this.store.endpoints(net.id)).find((e) => e.containerId === id);
      if (!ep) continue;
      const link = links.find((l) => l.mac === ep.mac);
      out.push({ network: net, endpoint: ep, ifname: link?.name ?? 'eth?' });
    }
    return out.sort((a, b) => a.ifname.localeCompare(b.ifname, 'en', { numeric: true }));
  }

  /**
   * What a crash can leave behind, for `system check` and repairs: the ids of containers that
   * hold any network state (IPAM endpoints, namespace files, firewall or resolver entries),
   * and the networks whose bridge exists though no container uses them.
   */
  async leftovers(): Promise<{ containers: string[]; idleBridges: NetworkRecord[] }> {
    const ids = new Set<string>();
    const idleBridges: NetworkRecord[] = [];
    const host = await Rtnetlink.open();
    try {
      for (const net of await this.store.list()) {
        const eps = await this.store.endpoints(net.id);
        for (const ep of eps) ids.add(ep.containerId);
        if (!eps.length && (await host.getLink(net.bridge))) idleBridges.push(net);
      }
    } finally {
      await host.close();
    }
    for (const f of await listNetns(netnsDir(this.runRoot))) ids.add(f.path.slice(f.path.lastIndexOf('/') + 1));
    for (const id of await this.firewall.attached()) ids.add(id);
    for (const key of await listResolverKeys(this.runRoot)) {
      for (const id of (await resolverStatus(this.runRoot, key))?.endpoints ?? []) ids.add(id);
    }
    return { containers: [...ids], idleBridges };
  }

  /** Removes a network's bridge if no container is on it (system check's repair). */
  async removeIdleBridge(net: NetworkRecord): Promise<void> {
    const host = await Rtnetlink.open();
    try {
      await this.removeBridgeIfIdle(host, net);
    } finally {
      await host.close();
    }
  }

  private endpointRequest(rec: ContainerRecord, net: NetworkRecord, extra: EndpointRequest = {}) {
    const key = Object.keys(rec.NetworkSettings.Networks).find((k) => k === net.name || rec.NetworkSettings.Networks[k]!.NetworkID === net.id || (net.isDefault && (k === 'bridge' || k === 'default')));
    const asked = { ...(key ? rec.NetworkSettings.Networks[key] : {}), ...extra };
    const ipam = asked.IPAMConfig ?? {};
    const mac = (key ? rec.Berth.requestedMacs?.[key] : undefined) ?? extra.MacAddress;
    return {
      containerId: rec.Id,
      containerName: rec.Name.replace(/^\//, ''),
      aliases: [...(asked.Aliases ?? [])],
      ...(ipam.IPv4Address ? { ipv4: ipam.IPv4Address } : {}),
      ...(ipam.IPv6Address ? { ipv6: ipam.IPv6Address } : {}),
      ...(mac ? { mac } : {}),
    };
  }

  /** The veth pair of one endpoint, under the bridge lock; then its addresses inside. */
  private async plug(host: Rtnetlink, containerId: string, a: AttachedEndpoint, nsPath: string): Promise<void> {
    const veth = hostVethName(containerId, a.network.id);
    await withBridgeLock(this.runRoot, a.network, async () => {
      const bridgeIndex = await ensureBridge(host, a.network);
      // A crash between making the pair and recording it may have left one.
      await host.deleteLinkIfExists(veth);
      const link = await host.createVeth(veth, { peerName: a.ifname, peerNetns: nsPath, ...(a.endpoint.mac ? { peerMac: a.endpoint.mac } : {}) });
      await host.setLink(link.index, { master: bridgeIndex, up: true });
      // A container reaching its own published port through the host comes back on its port.
      await writeFile(`/sys/class/net/${veth}/brport/hairpin_mode`, '1').catch((e: unknown) => {
        if (errnoCode(e) !== 'ENOENT') throw e;
      });
    });
    // Without IPv6 on the network, none on the interface either (docker's rule): no link-local
    // address, router solicitations or DAD traffic from a container that cannot use it.
    if (!a.endpoint.ipv6) await setNetnsSysctl(nsPath, `net/ipv6/conf/${a.ifname}/disable_ipv6`, '1').catch(() => undefined);
    await withNetns(nsPath, async (nl) => {
      const link = await nl.requireLink(a.ifname);
      for (const cidr of endpointCidrs(a)) await nl.addAddress(link.index, cidr, cidr.includes(':') ? { nodad: true } : { broadcast: true });
      await nl.setLink(link.index, { up: true });
    });
  }

  /** The default route(s) through the first network that has a way out (none on --internal ones). */
  private async routeDefault(nsPath: string, endpoints: AttachedEndpoint[]): Promise<void> {
    const out = endpoints.find((e) => !e.network.internal);
    if (!out) return;
    await withNetns(nsPath, async (nl) => {
      const routes = await nl.listRoutes();
      const link = await nl.requireLink(out.ifname);
      for (const s of out.network.subnets) {
        const v6 = s.subnet.includes(':');
        if (v6 && !(out.network.enableIPv6 && out.endpoint.ipv6)) continue;
        if (!v6 && !out.endpoint.ipv4) continue;
        if (routes.some((r) => r.dst === undefined && r.family === (v6 ? 10 : 2) && r.table === 254)) continue;
        await nl.addRoute({ gateway: s.gateway, oif: link.index });
      }
    });
  }

  private firewallEntry(rec: ContainerRecord, endpoints: AttachedEndpoint[], ports: PortMapping[]) {
    const networks: FirewallNetwork[] = endpoints.map((e) => ({
      id: e.network.id,
      bridge: e.network.bridge,
      internal: e.network.internal,
      subnets: e.network.subnets.filter((s) => e.network.enableIPv6 || !s.subnet.includes(':')).map((s) => s.subnet),
    }));
    // Ports go through the first network's addresses (docker); an --internal one publishes nothing.
    const first = endpoints[0];
    const published = first && ports.length && !first.network.internal ? { ...(first.endpoint.ipv4 ? { ipv4: first.endpoint.ipv4 } : {}), ...(first.endpoint.ipv6 ? { ipv6: first.endpoint.ipv6 } : {}), ports } : undefined;
    return { containerId: rec.Id, containerName: rec.Name.replace(/^\//, ''), networks, ...(published ? { published } : {}) };
  }

  private async joinResolver(rec: ContainerRecord, a: AttachedEndpoint, all: AttachedEndpoint[]): Promise<void> {
    if (a.network.isDefault) return;
    const gateways = gatewayCidrs(a.network).map((c) => c.slice(0, c.indexOf('/')));
    await startOrJoin({
      runRoot: this.runRoot,
      networkKey: a.network.id,
      config: {
        network: a.network.name,
        listen: gateways,
        port: 53,
        domain: DEFAULT_DNS_DOMAIN,
        forward: !a.network.internal,
        upstreams: [],
        hostResolvConf: '/etc/resolv.conf',
        staticNames: [{ names: [...HOST_NAMES], ipv4: gateways.filter((g) => !g.includes(':')), ipv6: gateways.filter((g) => g.includes(':')) }],
      },
      containerId: rec.Id,
      endpoint: dnsEndpoint(rec, a, all),
    });
  }

  /** The container's names and networks, again, on each of its resolvers (after a rename, a connect, a disconnect). */
  async refreshNames(rec: ContainerRecord): Promise<void> {
    const all = await this.attachedEndpoints(rec.Id);
    for (const a of all) {
      if (a.network.isDefault) continue;
      await updateEndpoint({ runRoot: this.runRoot, networkKey: a.network.id, containerId: rec.Id, endpoint: dnsEndpoint(rec, a, all) });
    }
  }

  private async removeBridgeIfIdle(host: Rtnetlink, net: NetworkRecord): Promise<void> {
    await withBridgeLock(this.runRoot, net, async () => {
      if ((await this.store.endpoints(net.id).catch(() => [])).length === 0) await removeBridge(host, net);
    });
  }
}

/** The names a container answers to on a network: its name, aliases, short id, hostname. */
export function dnsNames(rec: ContainerRecord, aliases: string[]): string[] {
  const names = [rec.Name.replace(/^\//, ''), ...aliases, rec.Id.slice(0, 12)];
  if (rec.Config.Hostname) names.push(rec.Config.Hostname);
  return [...new Set(names)];
}

function dnsEndpoint(rec: ContainerRecord, a: AttachedEndpoint, all: AttachedEndpoint[]) {
  const networks = all.filter((o) => !o.network.isDefault && o.network.id !== a.network.id).map((o) => o.network.id);
  return {
    names: dnsNames(rec, a.endpoint.aliases),
    ...(networks.length ? { networks } : {}),
    ipv4: a.endpoint.ipv4 ? [a.endpoint.ipv4] : [],
    ipv6: a.endpoint.ipv6 ? [a.endpoint.ipv6] : [],
    ...(rec.HostConfig.Dns?.length ? { upstreams: rec.HostConfig.Dns } : {}),
  };
}

/** "ip/len" of an endpoint's addresses. */
export function endpointCidrs(a: AttachedEndpoint): string[] {
  const out: string[] = [];
  for (const s of a.network.subnets) {
    const len = parseCidr(s.subnet).prefix;
    if (s.subnet.includes(':')) {
      if (a.endpoint.ipv6) out.push(`${a.endpoint.ipv6}/${len}`);
    } else if (a.endpoint.ipv4) out.push(`${a.endpoint.ipv4}/${len}`);
  }
  return out;
}

function portsOf(endpoints: AttachedEndpoint[]): PortMapping[] {
  return endpoints.flatMap((e) => e.endpoint.ports ?? []);
}

/** The resolvers a container's resolv.conf lists: one entry per network, empty on the default one. */
export function resolverEntries(endpoints: AttachedEndpoint[]): ContainerNetworkDns[] {
  return endpoints.map((e) => ({ network: e.network.name, resolver: e.network.isDefault ? [] : gatewayCidrs(e.network).map((c) => c.slice(0, c.indexOf('/'))) }));
}
