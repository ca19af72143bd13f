/**
 * The firewall side of a container's life: attach() on start, detach() on stop, reconcile()
 * after a crash. Each is ONE nft transaction, serialised by a lock, with a small state file
 * recording what each container put in Berth's table, so that
 *   - a network's elements (bridge, outbound NAT, hairpin) stay while any running container
 *     uses the network and go with the last one;
 *   - the table itself goes with the last container (nothing of Berth's survives it);
 *   - a duplicate published port is refused before nft runs, naming the container holding it.
 * Ordering for crash safety: attach records the container BEFORE applying, detach forgets it
 * AFTER applying, so the state file never misses rules that exist; the transactions are
 * idempotent (see ruleset.ts), so reconcile() can replay a teardown whatever was applied.
 * The state lives with the rules' lifetime: under the run root (tmpfs), gone on reboot as they are.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, errnoCode, wrap } from '../../core/errors';
import { writeFileAtomic } from '../../core/fs-atomic';
import { acquireLock } from '../../core/lock';
import { ipsOverlap } from '../ports/host-ip';
import { BERTH_CHAIN, IP6TABLES, IPTABLES, type IptablesTools, dockerForwardDrop, hasBerthChain, syncDockerUser } from './docker-user';
import { type NftCommand, applyScript } from './nft-cli';
import { type Element, type FirewallNetwork, type FirewallPorts, addElements, deleteElements, dropTable, networkElements, portElements, script, skeleton, TABLE_NAME, tableFor } from './ruleset';

export interface ContainerFirewall {
  containerId: string;
  /** For messages ("port 8080/tcp is published by web"). */
  containerName: string;
  networks: FirewallNetwork[];
  /** Published ports, DNATed to these addresses (the container's on its first network, as docker). */
  published?: FirewallPorts;
}

interface FirewallState {
  version: 1;
  containers: Record<string, ContainerFirewall>;
}

export interface FirewallOptions {
  /** Holds firewall.json and firewall.lock; use a directory under the run root. */
  stateDir: string;
  /** The nft table's name (family inet); default `berth`. One per state root: see ruleset.ts tableFor. */
  tableName?: string;
  /** How to run nft (default: the nft binary in the caller's network namespace). */
  nft?: NftCommand;
  /**
   * iptables and ip6tables, to let Berth's bridges through dockerd's DROP policy when it is
   * there (docker-user.ts); false turns that off. Default: the system's iptables and ip6tables.
   */
  dockerUser?: { v4: IptablesTools; v6: IptablesTools } | false;
  signal?: AbortSignal;
}

export class NftFirewall {
  private readonly statePath: string;
  private readonly lockPath: string;
  private readonly nft: NftCommand;
  private readonly table: string;
  private readonly chain: string;

  constructor(private readonly opts: FirewallOptions) {
    this.table = tableFor(opts.tableName);
    // Each root keeps its own DOCKER-USER chain too (rewritten whole from its own bridges).
    this.chain = opts.tableName && opts.tableName !== TABLE_NAME ? `BERTH-FWD-${opts.tableName.replace(/^berth-/, '')}` : BERTH_CHAIN;
    this.statePath = join(opts.stateDir, 'firewall.json');
    this.lockPath = join(opts.stateDir, 'firewall.lock');
    this.nft = opts.nft ?? ['nft'];
  }

  /** Adds a container's elements (and its networks', when it is their first) in one transaction. */
  async attach(c: ContainerFirewall): Promise<void> {
    const mine = [...c.networks.flatMap(networkElements), ...(c.published ? portElements(c.published) : [])];
    await this.locked(async (state) => {
      refuseDuplicatePorts(state, c);
      const before = state.containers[c.containerId];
      state.containers[c.containerId] = c;
      await this.writeState(state);
      // A re-attach (restart without a stop in between) first drops what the old record had.
      const stale = before ? minus(ownedBy(before, state), mine) : [];
      // The iptables probes do not depend on the transaction: run them beside it.
      const plan = this.iptablesPlan(state);
      try {
        await applyScript(this.nft, script([...skeleton(this.table), ...deleteElements(stale, this.table), ...addElements(mine, this.table)]));
      } catch (e) {
        await plan;
        if (before) state.containers[c.containerId] = before;
        else delete state.containers[c.containerId];
        await this.writeState(state);
        throw wrap('ESYSCALL', `setting up the firewall for container ${c.containerName}`, e);
      }
      await this.applyIptablesPlan(await plan);
    });
  }

  /** Removes a container's elements, its networks' when it was their last, the table with the last container. */
  async detach(containerId: string): Promise<boolean> {
    return this.locked(async (state) => {
      const c = state.containers[containerId];
      if (!c) return false;
      delete state.containers[containerId];
      await this.applyTeardown(c, state);
      await this.syncIptables(state);
      await this.writeState(state);
      return true;
    });
  }

  /** After a crash: tears down every container `isLive` denies, and the table if none is left. */
  async reconcile(isLive: (containerId: string) => boolean | Promise<boolean>): Promise<string[]> {
    return this.locked(async (state) => {
      const removed: string[] = [];
      for (const c of Object.values(state.containers)) {
        if (await isLive(c.containerId)) continue;
        delete state.containers[c.containerId];
        await this.applyTeardown(c, state);
        await this.writeState(state);
        removed.push(c.containerId);
      }
      if (Object.keys(state.containers).length === 0) await applyScript(this.nft, script(dropTable(this.table)));
      await this.syncIptables(state);
      return removed;
    });
  }

  /** Container ids whose rules are in the table. */
  async attached(): Promise<string[]> {
    return Object.keys((await this.readState()).containers);
  }

  /** Keeps dockerd's DOCKER-USER letting exactly the bridges in use through (when dockerd is there). */
  private async syncIptables(state: FirewallState): Promise<void> {
    await this.applyIptablesPlan(await this.iptablesPlan(state));
  }

  /**
   * Per family, the bridges BERTH-FORWARD must list, or [] to remove it; families needing no
   * change are left out. Only probes (iptables -S), so attach runs it beside the nft transaction.
   */
  private async iptablesPlan(state: FirewallState): Promise<Array<[IptablesTools, string[]]>> {
    if (this.opts.dockerUser === false) return [];
    const tools = this.opts.dockerUser ?? { v4: IPTABLES, v6: IP6TABLES };
    const nets = Object.values(state.containers).flatMap((c) => c.networks);
    const v4 = [...new Set(nets.map((n) => n.bridge))];
    const v6 = [...new Set(nets.filter((n) => n.subnets.some((s) => s.includes(':'))).map((n) => n.bridge))];
    const plan = await Promise.all(
      ([[tools.v4, v4], [tools.v6, v6]] as Array<[IptablesTools, string[]]>).map(async ([t, bridges]): Promise<[IptablesTools, string[]] | undefined> => {
        // With no bridge of this family left, remove our chain whatever the policy is now (dockerd may have gone).
        if (bridges.length === 0) return (await hasBerthChain(t, this.chain)) ? [t, []] : undefined;
        return (await dockerForwardDrop(t)) ? [t, bridges] : undefined;
      }),
    );
    return plan.filter((p): p is [IptablesTools, string[]] => p !== undefined);
  }

  private async applyIptablesPlan(plan: Array<[IptablesTools, string[]]>): Promise<void> {
    for (const [t, bridges] of plan) await syncDockerUser(t, bridges, this.chain);
  }

  private async applyTeardown(c: ContainerFirewall, remaining: FirewallState): Promise<void> {
    const lines = Object.keys(remaining.containers).length === 0 ? dropTable(this.table) : [...skeleton(this.table), ...deleteElements(ownedBy(c, remaining), this.table)];
    try {
      await applyScript(this.nft, script(lines));
    } catch (e) {
      throw wrap('ESYSCALL', `removing the firewall rules of container ${c.containerName}`, e);
    }
  }

  private async locked<T>(fn: (state: FirewallState) => Promise<T>): Promise<T> {
    await mkdir(this.opts.stateDir, { recursive: true, mode: 0o700 });
    const lock = await acquireLock(this.lockPath, this.opts.signal ? { signal: this.opts.signal } : {});
    try {
      return await fn(await this.readState());
    } finally {
      lock.release();
    }
  }

  private async readState(): Promise<FirewallState> {
    try {
      return JSON.parse(await readFile(this.statePath, 'utf8')) as FirewallState;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return { version: 1, containers: {} };
      throw wrap('ESTATE', `reading ${this.statePath}`, e, `delete ${this.statePath} and run berth system check --repair`);
    }
  }

  private async writeState(state: FirewallState): Promise<void> {
    await writeFileAtomic(this.statePath, `${JSON.stringify(state, null, 2)}\n`);
  }
}

/** What only `c` needs: its ports, and the networks no other container in `state` uses. */
function ownedBy(c: ContainerFirewall, state: FirewallState): Element[] {
  const others = Object.values(state.containers).filter((o) => o.containerId !== c.containerId);
  const stillUsed = new Set(others.flatMap((o) => o.networks.map((n) => n.id)));
  return [...(c.published ? portElements(c.published) : []), ...c.networks.filter((n) => !stillUsed.has(n.id)).flatMap(networkElements)];
}

function minus(a: Element[], b: Element[]): Element[] {
  const keep = new Set(b.map((e) => `${e.set}\0${e.text}`));
  return a.filter((e) => !keep.has(`${e.set}\0${e.text}`));
}

/** Two containers cannot publish the same protocol/port on overlapping host addresses. */
function refuseDuplicatePorts(state: FirewallState, c: ContainerFirewall): void {
  for (const mine of c.published?.ports ?? []) {
    for (const other of Object.values(state.containers)) {
      if (other.containerId === c.containerId) continue;
      for (const theirs of other.published?.ports ?? []) {
        if (theirs.protocol !== mine.protocol || theirs.hostPort !== mine.hostPort || !ipsOverlap(theirs.hostIp, mine.hostIp)) continue;
        throw new BerthError('EIN_USE', `host port ${mine.hostIp ? `${mine.hostIp}:` : ''}${mine.hostPort}/${mine.protocol} is already published by container ${other.containerName}`, {
          hint: `publish another host port (e.g. -p ${mine.hostPort + 1}:${mine.containerPort}), or stop ${other.containerName}`,
        });
      }
    }
  }
}
