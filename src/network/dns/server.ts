/**
 * The resolver itself: UDP and TCP listeners on the network's gateway addresses, answering
 * from the name table and forwarding the rest. It re-reads its state file when the file
 * changes (inotify through fs.watch on the directory: the engine replaces the file by
 * rename, which a watch on the file itself would lose), so the engine never needs the
 * resolver's pid to publish a change, and a change cannot be lost to a signal race.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { errnoCode } from '../../core/errors';
import { decide, fitUdp, servfail } from './answer';
import { parseResolvConf } from './container-files';
import { STATE_FILE } from './paths';
import { forwardTcp, forwardUdp, frame } from './forward';
import { buildNameTable, canonicalIP, mergeNameTables, parseResolverState, parseServer, type NameTable, type ResolverState, type ServerAddress } from './records';

/** Forwards in flight beyond this get SERVFAIL at once: a flood must not exhaust sockets. */
const MAX_IN_FLIGHT = 512;
/** A TCP client that sends nothing for this long is dropped (RFC 7766 suggests seconds). */
const TCP_IDLE_MS = 10_000;

export interface DnsServerOptions {
  /** The network's resolver directory, holding STATE_FILE. */
  dir: string;
  log?: (message: string) => void;
  /** Called when the state file is gone: the last container left (or a repair removed it). */
  onRemoved?: () => void;
}

export interface DnsServerStats {
  queries: number;
  answered: number;
  forwarded: number;
  failed: number;
  reloads: number;
}

export class DnsServer {
  readonly stats: DnsServerStats = { queries: 0, answered: 0, forwarded: 0, failed: 0, reloads: 0 };
  private state!: ResolverState;
  private table!: NameTable;
  private upstreams: ServerAddress[] = [];
  private readonly udp: UdpSocket[] = [];
  private readonly tcp: Server[] = [];
  private readonly clients = new Set<Socket>();
  private watcher: FSWatcher | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private closed = false;

  private constructor(private readonly opts: DnsServerOptions) {}

  /** Reads the state, binds every listen address (all or nothing), and starts watching. */
  static async start(opts: DnsServerOptions): Promise<DnsServer> {
    const server = new DnsServer(opts);
    await server.load();
    try {
      for (const address of server.state.config.listen) await server.listen(address, server.state.config.port);
    } catch (e) {
      await server.close();
      throw e;
    }
    server.watch();
    return server;
  }

  get path(): string {
    return join(this.opts.dir, STATE_FILE);
  }

  /** Re-reads the state file and the upstreams; a broken file keeps the last good table. */
  async reload(): Promise<void> {
    try {
      await this.load();
      this.stats.reloads++;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') {
        this.opts.onRemoved?.();
        return;
      }
      this.opts.log?.(`reload failed, keeping the previous names: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reloadTimer);
    this.watcher?.close();
    for (const c of this.clients) c.destroy();
    await Promise.all([
      ...this.udp.map((s) => new Promise<void>((r) => s.close(() => r()))),
      ...this.tcp.map((s) => new Promise<void>((r) => s.close(() => r()))),
    ]);
  }

  private async load(): Promise<void> {
    const state = parseResolverState(await readFile(this.path, 'utf8'), this.path);
    let specs = state.config.upstreams;
    if (!specs.length && state.config.forward) {
      const text = await readFile(state.config.hostResolvConf, 'utf8').catch(() => '');
      specs = parseResolvConf(text).nameservers;
    }
    // Our own addresses as upstream (a host resolv.conf pointing at a gateway) would loop.
    const own = new Set(state.config.listen.map(canonicalIP));
    this.upstreams = specs
      .map(parseServer)
      .filter((s): s is ServerAddress => !!s && !(own.has(canonicalIP(s.address)) && s.port === state.config.port));
    this.state = state;
    this.table = buildNameTable(state);
  }

  private watch(): void {
    this.watcher = watch(this.opts.dir, (_event, filename) => {
      if (filename !== STATE_FILE || this.closed) return;
      // A rename shows as several events; one reload after they settle is enough.
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => void this.reload(), 5);
    });
    this.watcher.on('error', (e) => this.opts.log?.(`watch failed: ${e.message}`));
  }

  private upstreamsFor(source: string): ServerAddress[] {
    const own = this.table.upstreamsBySource.get(canonicalIP(source));
    if (!own) return this.upstreams;
    return own.map(parseServer).filter((s): s is ServerAddress => !!s);
  }

  private async listen(address: string, port: number): Promise<void> {
    const v6 = address.includes(':');
    // V6ONLY on the IPv6 sockets: the IPv4 gateway has its own (setting it on IPv4 is EINVAL).
    const udp = createSocket(v6 ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address, port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    }).catch((e: unknown) => {
      udp.close();
      throw new Error(`cannot bind udp ${address}:${port}: ${(e as Error).message}`, { cause: e });
    });
    udp.on('error', (e) => this.opts.log?.(`udp ${address}: ${e.message}`));
    udp.on('message', (msg, rinfo) => void this.onUdp(udp, msg, rinfo.address, rinfo.port));
    this.udp.push(udp);

    const tcp = createServer((sock) => this.onTcp(sock));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host: address, port, ipv6Only: v6, exclusive: true }, () => {
        tcp.off('error', reject);
        resolve();
      });
    }).catch((e: unknown) => {
      tcp.close();
      throw new Error(`cannot listen on tcp ${address}:${port}: ${(e as Error).message}`, { cause: e });
    });
    tcp.on('error', (e) => this.opts.log?.(`tcp ${address}: ${e.message}`));
    this.tcp.push(tcp);
  }

  private async onUdp(sock: UdpSocket, query: Buffer, source: string, port: number): Promise<void> {
    const response = await this.respond(query, source, 'udp');
    // A send error (the client's namespace gone meanwhile) is reported on 'error' and logged.
    if (response && !this.closed) sock.send(fitUdp(response, query), port, source, () => undefined);
  }

  private onTcp(sock: Socket): void {
    this.clients.add(sock);
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on('close', () => this.clients.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const query = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + query.length);
        void this.respond(Buffer.from(query), sock.remoteAddress ?? '', 'tcp').then((response) => {
          if (response && !sock.destroyed) sock.write(frame(response));
        });
      }
    });
  }

  /**
   * The response to one query, or undefined to drop it. Never rejects: the callers run it
   * detached, and one bad packet must cost a SERVFAIL, not the resolver of a whole network.
   */
  async respond(query: Buffer, source: string, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    try {
      return await this.respondOrThrow(query, source, transport);
    } catch (e) {
      this.stats.failed++;
      this.opts.log?.(`query from ${source} failed: ${(e as Error).message}`);
      return query.length >= 12 ? servfail(query) : undefined;
    }
  }

  /**
   * The names a container sees: this network's, plus those of its other networks (read from
   * their resolvers' state files, next to ours, at each of its queries: they change).
   */
  private async tableFor(source: string): Promise<NameTable> {
    const others = this.table.networksBySource.get(canonicalIP(source));
    if (!others?.length) return this.table;
    const root = dirname(this.opts.dir);
    const tables: NameTable[] = [];
    for (const key of others) {
      try {
        const path = join(root, key, STATE_FILE);
        tables.push(buildNameTable(parseResolverState(await readFile(path, 'utf8'), path)));
      } catch {
        // That network's last container left meanwhile: nothing to add.
      }
    }
    return mergeNameTables(this.table, tables);
  }

  private async respondOrThrow(query: Buffer, source: string, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    this.stats.queries++;
    const decision = decide(query, await this.tableFor(source), { forward: this.state.config.forward });
    if (decision.kind === 'drop') return undefined;
    if (decision.kind === 'answer') {
      this.stats.answered++;
      return decision.response;
    }
    const upstreams = this.upstreamsFor(source);
    if (!upstreams.length || this.inFlight >= MAX_IN_FLIGHT) {
      this.stats.failed++;
      return servfail(query);
    }
    this.inFlight++;
    try {
      const answer = transport === 'udp' ? await forwardUdp(query, upstreams) : await forwardTcp(query, upstreams);
      if (answer) this.stats.forwarded++;
      else this.stats.failed++;
      return answer ?? servfail(query);
    } finally {
      this.inFlight--;
    }
  }
}
