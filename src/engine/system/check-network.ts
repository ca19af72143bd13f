/**
 * The networks part of `system check`: network state that no running container explains —
 * IPAM endpoints, namespace files, firewall entries, resolver entries (of a container that is
 * gone or stopped: a killed start or exit command, a reboot) — and bridges left up with no
 * container on their network. The repair takes them down as a stop would.
 */
import type { CheckContext, Finding } from './check-common';
import { isLive } from './check-common';

export async function checkNetworks(ctx: CheckContext): Promise<Finding[]> {
  const { engine } = ctx;
  const out: Finding[] = [];
  const store = engine.networking.store;
  const staged = await store.unfinished();
  for (const name of staged) {
    out.push({
      problem: { kind: 'unfinished-network', object: name, description: `network directory ${name} was left by a network create or rm that was killed`, repair: 'delete it' },
      fix: async () => void (await store.reconcile()),
    });
  }
  const { containers, idleBridges } = await engine.networking.leftovers();
  for (const id of containers) {
    // A start in flight (or an unfinished one, which checkContainers reports and repairs) owns its network.
    if (ctx.covered.has(id)) continue;
    const rec = await engine.containerStore.load(id);
    if (rec && (isLive(rec) || rec.Berth.starting)) continue;
    const who = rec ? `stopped container ${rec.Name.slice(1)} (${id.slice(0, 12)})` : `container ${id.slice(0, 12)}, which has no record`;
    out.push({
      problem: { kind: 'stale-network', object: id, description: `${who} still holds network state (addresses, links, rules or resolver entries)`, repair: 'take its network down' },
      fix: async () => {
        const now = await engine.containerStore.load(id);
        if (now && (isLive(now) || now.Berth.starting)) return;
        await engine.networking.teardownById(id);
      },
    });
  }
  for (const net of idleBridges) {
    out.push({
      problem: { kind: 'idle-bridge', object: net.bridge, description: `bridge ${net.bridge} of network ${net.name} is up though no container is on the network`, repair: 'remove the bridge' },
      fix: () => engine.networking.removeIdleBridge(net),
    });
  }
  return out;
}
