/**
 * Leak checks for the networking tests: what one test's state root and run root may leave
 * on the host once its containers are gone — bridges, veths, Berth's nft table and what it
 * holds for this root, netns files, resolver processes, firewall and IPAM entries.
 *
 * Scoping: several test files (and other people's runs) share the host, so a check looks only
 * at what this root made: links that appeared after the snapshot and are this root's bridges
 * (from its network store) or veths left without a bridge or on one of those bridges; this
 * root's own nft table (`inet berth-<hash>`, named like its default bridge) and its
 * DOCKER-USER chain (`BERTH-FWD-<hash>`); its networks' host-wide subnet claims; files and
 * processes under this run root. Reading the host is all it does (`ip -j`, `nft`, /proc).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BerthCli } from '../../helpers/cli';
import { processesMentioning } from '../../helpers/host';

// Processes whose command line mentions a path (resolvers started for a run root), zombies left out.
export { processesMentioning };
import { HOST_CLAIMS_DIR } from '../../../src/network/claims';
import { TABLE_NAME } from '../../../src/network/nft/ruleset';
import { DEFAULT_BRIDGE_DEVICE } from '../../../src/network/store-create';
import { defaultBridgeFor } from '../../../src/network/store';

interface IpLink {
  ifname: string;
  ifindex: number;
  master?: string;
  linkinfo?: { info_kind?: string };
}

export interface NetworkOnDisk {
  id: string;
  name: string;
  bridge: string;
  subnets: string[];
  endpoints: string[];
}

/** Every link of the host's namespace, with its kind and master (read only). */
export function hostLinks(): IpLink[] {
  const out = execFileSync('ip', ['-j', '-d', 'link', 'show'], { encoding: 'utf8' });
  return JSON.parse(out) as IpLink[];
}

/** The networks of a state root as its store keeps them, with the containers attached. */
export function networksOnDisk(root: string): NetworkOnDisk[] {
  const dir = join(root, 'networks');
  if (!existsSync(dir)) return [];
  const out: NetworkOnDisk[] = [];
  for (const id of readdirSync(dir)) {
    const def = join(dir, id, 'network.json');
    if (!/^[0-9a-f]{64}$/.test(id) || !existsSync(def)) continue;
    const rec = JSON.parse(readFileSync(def, 'utf8')) as { name: string; bridge: string; subnets: Array<{ subnet: string }> };
    const epPath = join(dir, id, 'endpoints.json');
    const eps = existsSync(epPath) ? (JSON.parse(readFileSync(epPath, 'utf8')) as { endpoints?: Record<string, unknown> }).endpoints ?? {} : {};
    out.push({ id, name: rec.name, bridge: rec.bridge, subnets: rec.subnets.map((s) => s.subnet), endpoints: Object.keys(eps) });
  }
  return out;
}

/** A root's nft table and its chain in dockerd's DOCKER-USER (src/engine/engine.ts names them). */
export function rootFirewallNames(root: string): { table: string; iptablesChain: string } {
  const bridge = defaultBridgeFor(root);
  if (bridge === DEFAULT_BRIDGE_DEVICE) return { table: TABLE_NAME, iptablesChain: 'BERTH-FORWARD' };
  return { table: bridge, iptablesChain: `BERTH-FWD-${bridge.replace(/^berth-/, '')}` };
}

/** The text of an nft table of family inet (JSON), or '' when there is none. */
export function nftTableText(name: string): string {
  try {
    return execFileSync('nft', ['-j', 'list', 'table', 'inet', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

/** Whether `iptables-save` (or ip6tables-save) mentions `word`; false when the tool is missing. */
function iptablesMentions(tool: 'iptables-save' | 'ip6tables-save', word: string): boolean {
  try {
    return execFileSync(tool, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes(word);
  } catch {
    return false;
  }
}

/** Regular files and directories below `dir` (relative paths), empty when it is missing. */
function entriesBelow(dir: string, rel = ''): string[] {
  if (!existsSync(join(dir, rel))) return [];
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel))) {
    const r = join(rel, name);
    out.push(r);
    let isDir = false;
    try {
      isDir = statSync(join(dir, r)).isDirectory();
    } catch {
      /* a netns file whose mount is gone */
    }
    if (isDir) out.push(...entriesBelow(dir, r));
  }
  return out;
}

/**
 * A snapshot of the host's links before a test, and the check of what the test's roots left
 * once it removed its containers (and, with `networksRemoved`, its networks).
 */
export class NetLeakWatch {
  private readonly linksBefore: Set<string>;
  /** Bridges, subnets and ids of this root's networks, remembered as they are seen. */
  private readonly bridges = new Set<string>();
  private readonly networkIds = new Set<string>();

  constructor(private readonly b: BerthCli) {
    this.linksBefore = new Set(hostLinks().map((l) => l.ifname));
  }

  /** Notes this root's networks (call after creating some; leaks() calls it too). */
  noteNetworks(): NetworkOnDisk[] {
    const nets = networksOnDisk(this.b.root);
    for (const n of nets) {
      this.bridges.add(n.bridge);
      this.networkIds.add(n.id);
    }
    return nets;
  }

  /** This root's bridges that exist now (a running container's network has one). */
  bridgesNow(): string[] {
    this.noteNetworks();
    const have = new Set(hostLinks().map((l) => l.ifname));
    return [...this.bridges].filter((n) => have.has(n));
  }

  /**
   * What is left of the networking once no container of this root exists: a list of
   * findings, empty when nothing leaked. `networksRemoved`: the test also removed its user
   * networks, so their store directories must be gone too.
   */
  leaks(opts: { networksRemoved?: boolean } = {}): string[] {
    const found: string[] = [];
    const nets = this.noteNetworks();
    // IPAM: no endpoint (address allocation) may outlive its container.
    for (const n of nets) for (const ep of n.endpoints) found.push(`IPAM entry of ${ep.slice(0, 12)} in network ${n.name}`);
    if (opts.networksRemoved) {
      for (const n of nets.filter((x) => x.name !== 'bridge')) found.push(`network ${n.name} still in the store`);
    }
    // Links: this root's bridges, and veths that appeared during the test and are left on one of
    // them or on no bridge at all (another root's live veths sit on that root's bridge).
    for (const l of hostLinks()) {
      if (this.linksBefore.has(l.ifname)) continue;
      if (this.bridges.has(l.ifname)) found.push(`bridge ${l.ifname}`);
      else if (l.linkinfo?.info_kind === 'veth' && (!l.master || this.bridges.has(l.master))) found.push(`veth ${l.ifname}${l.master ? ` on ${l.master}` : ''}`);
    }
    // nft and iptables: this root's table and its DOCKER-USER chain go with its last container.
    const fw = rootFirewallNames(this.b.root);
    if (nftTableText(fw.table)) found.push(`nft table inet ${fw.table}`);
    for (const tool of ['iptables-save', 'ip6tables-save'] as const) {
      if (iptablesMentions(tool, fw.iptablesChain)) found.push(`${tool}: chain ${fw.iptablesChain}`);
    }
    // Host-wide subnet claims of removed networks.
    for (const id of this.networkIds) {
      if (!nets.some((n) => n.id === id) && existsSync(join(HOST_CLAIMS_DIR, `${id}.json`))) found.push(`subnet claim ${HOST_CLAIMS_DIR}/${id}.json`);
    }
    // Files under the run root: netns files, resolver directories, firewall state entries.
    for (const e of entriesBelow(join(this.b.runRoot, 'netns'))) found.push(`netns file ${e}`);
    for (const e of entriesBelow(join(this.b.runRoot, 'dns'))) found.push(`resolver file dns/${e}`);
    for (const f of entriesBelow(this.b.runRoot).filter((p) => p.endsWith('firewall.json'))) {
      const state = JSON.parse(readFileSync(join(this.b.runRoot, f), 'utf8')) as { containers?: Record<string, unknown> };
      for (const id of Object.keys(state.containers ?? {})) found.push(`firewall entry of ${id.slice(0, 12)} in ${f}`);
    }
    // Processes: resolvers (and anything else) still running for this run root.
    for (const p of processesMentioning(this.b.runRoot)) found.push(`process ${p.pid}: ${p.cmdline}`);
    // Mounts (netns bind mounts included) and cgroups, as the engine tests check them.
    found.push(...this.b.leaks());
    return found;
  }

  /** Polls leaks() until empty (teardown of a stopped container is finished by its shim). */
  async settledLeaks(opts: { networksRemoved?: boolean } = {}, withinMs = 10_000): Promise<string[]> {
    const end = Date.now() + withinMs;
    for (;;) {
      const found = this.leaks(opts);
      if (found.length === 0 || Date.now() > end) return found;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * After the test, pass or fail: ends this run root's leftover processes (started by this
   * test's commands), and deletes this root's leftover bridges and veths so one failure does
   * not spill into the next test. Never touches a link this root did not make.
   */
  scrub(): void {
    for (const p of processesMentioning(this.b.runRoot)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
    for (const l of hostLinks()) {
      if (this.linksBefore.has(l.ifname)) continue;
      const ours = this.bridges.has(l.ifname) || (l.linkinfo?.info_kind === 'veth' && l.master !== undefined && this.bridges.has(l.master));
      if (ours) {
        try {
          execFileSync('ip', ['link', 'delete', l.ifname], { stdio: 'ignore' });
        } catch {
          /* went with its peer */
        }
      }
    }
  }
}
