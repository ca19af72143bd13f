/** Read-only views: `state`, `list`, `ps`, and the statistics behind `events`. */
import { BerthError } from '../core/errors';
import type { ContainerState } from '../spec/types';
import { containerCgroup, type RuntimeContext } from './context';
import { containerStatus, stateOf } from './status';
import type { CgroupStats } from '../cgroups';

/** `state`: the OCI document plus the fields runc adds (rootfs, created, owner) that tools read. */
export type StateOutput = ContainerState & { rootfs: string; created: string; owner: string };

export function containerState(ctx: RuntimeContext, id: string): StateOutput {
  const rec = ctx.store.load(id);
  return { ...stateOf(ctx, rec), rootfs: rec.rootfs, created: rec.created, owner: rec.owner };
}

export interface ListEntry {
  ociVersion: string;
  id: string;
  pid: number;
  status: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

export function listContainers(ctx: RuntimeContext): ListEntry[] {
  const out: ListEntry[] = [];
  for (const id of ctx.store.ids()) {
    let rec;
    try {
      rec = ctx.store.load(id);
    } catch {
      continue; // removed meanwhile
    }
    const st = stateOf(ctx, rec);
    out.push({
      ociVersion: st.ociVersion,
      id,
      pid: st.status === 'stopped' ? 0 : rec.pid,
      status: st.status,
      bundle: rec.bundle,
      rootfs: rec.rootfs,
      created: rec.created,
      owner: rec.owner,
      ...(rec.config.annotations ? { annotations: rec.config.annotations } : {}),
    });
  }
  return out;
}

export function containerPids(ctx: RuntimeContext, id: string): number[] {
  const rec = ctx.store.load(id);
  if (containerStatus(ctx, rec) === 'stopped') return [];
  const cg = containerCgroup(ctx, rec);
  const pids = cg.exists() ? cg.pids() : [rec.pid];
  return [...new Set(pids)].sort((a, b) => a - b);
}

export function containerStats(ctx: RuntimeContext, id: string): CgroupStats {
  const rec = ctx.store.load(id);
  const cg = containerCgroup(ctx, rec);
  if (!cg.exists()) {
    throw new BerthError('ESTATE', `container "${id}" has no cgroup (it is ${containerStatus(ctx, rec)})`);
  }
  return cg.stats();
}
