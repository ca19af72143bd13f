/**
 * Rtnetlink: the link, address, route and neighbour operations the engine needs, over one
 * NetlinkSocket working in one network namespace (the host's, or a container's netns file).
 *
 *   const host = await Rtnetlink.open();             // the caller's netns
 *   const ctr = await Rtnetlink.open('/run/berth/netns/abc');
 *   await host.createBridge('berth0', { mtu: 1500 }); ...
 *   await host.close(); await ctr.close();
 *
 * Links are named by ifindex where the caller has it (names can be reused behind our back,
 * indexes cannot while the link lives) and by name otherwise.
 */
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { sys, type Sys } from '../../sys';
import { BerthError } from '../../core/errors';
import * as C from './constants';
import { toAddress, toLink, toNeighbour, toRoute, type Address, type Link, type Neighbour, type Route } from './objects';
import * as R from './requests';
import { NetlinkSocket } from './socket';

export class Rtnetlink {
  private constructor(readonly socket: NetlinkSocket) {}

  /** Operations inside the netns file `nsPath` (null: the calling process's netns). */
  static async open(nsPath: string | null = null, s: Sys = sys()): Promise<Rtnetlink> {
    return new Rtnetlink(await NetlinkSocket.open(nsPath, s));
  }

  /** The netns file this instance works in (null: the caller's). */
  get netns(): string | null {
    return this.socket.netns;
  }

  close(): Promise<void> {
    return this.socket.close();
  }

  private async send(r: R.Request): Promise<Buffer[]> {
    const replies = await this.socket.request(r.type, r.flags, r.parts, r.what);
    return replies.map((m) => m.payload);
  }

  // --- links ---

  /** Creates a bridge (down; bring it up with setLink once it has its address) and returns it. */
  async createBridge(name: string, o: { mtu?: number; mac?: string } = {}): Promise<Link> {
    await this.send(R.createBridge(name, o));
    return this.requireLink(name);
  }

  /**
   * Creates a veth pair: `name` here, its peer `o.peerName` in the netns file `peerNetns`
   * (opened here only for the request) or here when null. Returns the local end.
   */
  async createVeth(name: string, o: Omit<R.VethOptions, 'peerNetnsFd'> & { peerNetns?: string | null }): Promise<Link> {
    const { peerNetns, ...rest } = o;
    await withNetnsFd(peerNetns ?? null, (fd) => this.send(R.createVeth(name, { ...rest, ...(fd !== undefined ? { peerNetnsFd: fd } : {}) })));
    return this.requireLink(name);
  }

  /** up/down, MTU, MAC, rename, attach to a bridge (master) or detach (master 0). */
  async setLink(ref: R.LinkRef, changes: R.LinkChanges): Promise<void> {
    await this.send(R.setLink(ref, changes));
  }

  /** Moves a link into the netns file `nsPath`, optionally renaming it there. */
  async moveLink(index: number, nsPath: string, newName?: string): Promise<void> {
    await withNetnsFd(nsPath, (fd) => this.send(R.setLink(index, { netnsFd: fd!, ...(newName !== undefined ? { name: newName } : {}) })));
  }

  /** Deletes a link (for a veth, both ends go). */
  async deleteLink(ref: R.LinkRef): Promise<void> {
    await this.send(R.deleteLink(ref));
  }

  /** Deletes a link if it exists; true when it did. For cleanup paths that must be idempotent. */
  async deleteLinkIfExists(ref: R.LinkRef): Promise<boolean> {
    try {
      await this.deleteLink(ref);
      return true;
    } catch (e) {
      if (e instanceof BerthError && e.code === 'ENOT_FOUND') return false;
      throw e;
    }
  }

  /** The link, or undefined when there is none of that name or index. */
  async getLink(ref: R.LinkRef): Promise<Link | undefined> {
    try {
      const [payload] = await this.send(R.getLink(ref));
      return payload ? toLink(payload) : undefined;
    } catch (e) {
      if (e instanceof BerthError && e.code === 'ENOT_FOUND') return undefined;
      throw e;
    }
  }

  async requireLink(ref: R.LinkRef): Promise<Link> {
    const link = await this.getLink(ref);
    if (!link) throw new BerthError('ENOT_FOUND', `no network interface ${typeof ref === 'number' ? `#${ref}` : ref} in ${this.netns ?? 'the host network namespace'}`);
    return link;
  }

  async listLinks(): Promise<Link[]> {
    return (await this.send(R.listLinks())).map(toLink);
  }

  // --- addresses ---

  /** Adds "10.88.0.2/16" or "fd00::2/64" to the link (IPv4 gets its broadcast address). */
  async addAddress(index: number, cidr: string, o: R.AddressOptions = { broadcast: true }): Promise<void> {
    await this.send(R.addAddress(index, cidr, o));
  }

  async deleteAddress(index: number, cidr: string): Promise<void> {
    await this.send(R.deleteAddress(index, cidr));
  }

  /** Every address (of `family`: C.AF_INET / C.AF_INET6), optionally of one link only. */
  async listAddresses(o: { family?: number; index?: number } = {}): Promise<Address[]> {
    const all = (await this.send(R.listAddresses(o.family))).map(toAddress);
    return o.index === undefined ? all : all.filter((a) => a.index === o.index);
  }

  // --- routes ---

  /** Adds a route; `{ gateway: '10.88.0.1' }` alone is the IPv4 default route. */
  async addRoute(r: R.RouteSpec): Promise<void> {
    await this.send(R.addRoute(r));
  }

  async deleteRoute(r: R.RouteSpec): Promise<void> {
    await this.send(R.deleteRoute(r));
  }

  /** The main table's routes (of `family`). */
  async listRoutes(family: number = C.AF_UNSPEC): Promise<Route[]> {
    return (await this.send(R.listRoutes(family))).map(toRoute).filter((r) => r.table === C.RT_TABLE_MAIN);
  }

  // --- neighbours ---

  /** A permanent neighbour entry (replaces an existing one). */
  async setNeighbour(index: number, ip: string, mac: string): Promise<void> {
    await this.send(R.setNeighbour(index, ip, mac));
  }

  async deleteNeighbour(index: number, ip: string): Promise<void> {
    await this.send(R.deleteNeighbour(index, ip));
  }

  async listNeighbours(family: number = C.AF_UNSPEC): Promise<Neighbour[]> {
    return (await this.send(R.listNeighbours(family))).map(toNeighbour);
  }
}

/**
 * Runs `fn` with an fd of the netns file `nsPath` (undefined when null), closed afterwards:
 * IFLA_NET_NS_FD needs the fd only for the duration of the request.
 */
async function withNetnsFd<T>(nsPath: string | null, fn: (fd: number | undefined) => Promise<T>): Promise<T> {
  if (nsPath === null) return fn(undefined);
  let fh: FileHandle;
  try {
    fh = await openFile(nsPath, 'r');
  } catch (e) {
    throw new BerthError('ENOT_FOUND', `cannot open the network namespace file ${nsPath}: ${(e as Error).message}`, {
      hint: 'the container network namespace was removed or never created',
      cause: e,
    });
  }
  try {
    return await fn(fh.fd);
  } finally {
    await fh.close();
  }
}
