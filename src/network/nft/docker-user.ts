/**
 * Coexistence with dockerd's iptables backend. When dockerd enables IP forwarding it sets the
 * iptables filter FORWARD policy to DROP. With nftables every base chain on a hook has its say
 * and a drop in any of them is final, so an accept in Berth's own forward chain cannot save a
 * packet that iptables' FORWARD chain (iptables-nft's `table ip filter` or the legacy xtables
 * hook) later drops: published ports and outbound traffic would silently die.
 *
 * What others do: podman/netavark's iptables driver inserts a jump to its own chain at the top
 * of FORWARD; its nftables driver does nothing and tells users to add rules themselves.
 * dockerd offers the DOCKER-USER chain, jumped to first from FORWARD and never flushed by it,
 * precisely for rules other parties add. Berth uses it, and only when the policy is DROP:
 *   - a chain of its own, BERTH-FORWARD, in the filter table, rewritten whole from the list of
 *     Berth bridges in use (iptables-restore --noflush: declaring a chain empties it, so the
 *     write is idempotent and exact), accepting what enters or leaves those bridges;
 *   - ONE rule in DOCKER-USER, `-j BERTH-FORWARD`, added if missing, removed with the last bridge.
 * Accepting everything on our bridges here is safe because Berth's own nft forward chain has
 * already decided (internal networks, isolation, unpublished ports): its drops stay final.
 * We call the `iptables` the system chose (the alternatives link), the one dockerd calls too.
 * Hosts whose FORWARD policy is DROP without dockerd are left alone: that is the admin's policy.
 */
import { BerthError } from '../../core/errors';
import { runTool } from './nft-cli';

export const BERTH_CHAIN = 'BERTH-FORWARD';
const DOCKER_USER = 'DOCKER-USER';

/** How to run iptables for one family: [binary, ...prefix args] for iptables and iptables-restore. */
export interface IptablesTools {
  iptables: readonly string[];
  restore: readonly string[];
}

export const IPTABLES: IptablesTools = { iptables: ['iptables'], restore: ['iptables-restore'] };
export const IP6TABLES: IptablesTools = { iptables: ['ip6tables'], restore: ['ip6tables-restore'] };

/** Parses `iptables -S [FORWARD]`: whether the FORWARD policy drops. */
export function forwardDrops(listing: string): boolean {
  return /^-P FORWARD DROP$/m.test(listing);
}

/** The iptables-restore text that makes BERTH-FORWARD accept traffic of `bridges`. */
export function berthChainRestore(bridges: string[], chain: string = BERTH_CHAIN): string {
  const lines = ['*filter', `:${chain} - [0:0]`];
  for (const br of [...new Set(bridges)].sort()) {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(br)) throw new Error(`bad interface name ${JSON.stringify(br)}`);
    lines.push(`-A ${chain} -i ${br} -j ACCEPT`, `-A ${chain} -o ${br} -j ACCEPT`);
  }
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

const HINTS = { missing: 'install iptables (Debian: apt-get install iptables)', failed: 'see the iptables message' };

function run(cmd: readonly string[], args: string[], input = ''): Promise<unknown> {
  return runTool(cmd, args, input, HINTS);
}

/** Runs and reports success: for probes (-S, -C), where failure is an answer, not an error. */
async function tryRun(cmd: readonly string[], args: string[]): Promise<{ ok: boolean; stdout: string }> {
  try {
    return { ok: true, stdout: (await runTool(cmd, args, '', HINTS)).stdout };
  } catch {
    return { ok: false, stdout: '' };
  }
}

/** Whether `iptables -S` shows dockerd's DROP policy and its DOCKER-USER chain. */
export function dockerDropIn(listing: string): boolean {
  return forwardDrops(listing) && new RegExp(`^-N ${DOCKER_USER}$`, 'm').test(listing);
}

/** One `iptables -S` (the filter table): whether dockerd's setup is there (iptables missing: no). */
export async function dockerForwardDrop(tools: IptablesTools): Promise<boolean> {
  const listing = await tryRun(tools.iptables, ['-w', '-S']);
  return listing.ok && dockerDropIn(listing.stdout);
}

/**
 * Makes iptables let the traffic of `bridges` through DOCKER-USER; with no bridges, removes
 * Berth's jump and chain. Call under the firewall lock, after the nft transaction.
 */
export async function syncDockerUser(tools: IptablesTools, bridges: string[], chain: string = BERTH_CHAIN): Promise<void> {
  const jumpExists = (await tryRun(tools.iptables, ['-w', '-C', DOCKER_USER, '-j', chain])).ok;
  try {
    if (bridges.length > 0) {
      await run(tools.restore, ['-w', '--noflush'], berthChainRestore(bridges, chain));
      if (!jumpExists) await run(tools.iptables, ['-w', '-I', DOCKER_USER, '-j', chain]);
      return;
    }
    if (jumpExists) await run(tools.iptables, ['-w', '-D', DOCKER_USER, '-j', chain]);
    if ((await tryRun(tools.iptables, ['-w', '-S', chain])).ok) {
      await run(tools.iptables, ['-w', '-F', chain]);
      await run(tools.iptables, ['-w', '-X', chain]);
    }
  } catch (e) {
    throw new BerthError('ESYSCALL', `letting Berth's bridges through dockerd's DOCKER-USER chain failed: ${e instanceof Error ? e.message : String(e)}`, {
      hint: `dockerd set the iptables FORWARD policy to DROP; allow Berth's bridges yourself, e.g. iptables -I ${DOCKER_USER} -i berth0 -j ACCEPT; iptables -I ${DOCKER_USER} -o berth0 -j ACCEPT`,
      cause: e,
    });
  }
}

/** Whether Berth's chain exists (left from a run while dockerd's policy was DROP). */
export async function hasBerthChain(tools: IptablesTools, chain: string = BERTH_CHAIN): Promise<boolean> {
  return (await tryRun(tools.iptables, ['-w', '-S', chain])).ok;
}
