/**
 * What this host's cgroups can limit, in the terms of docker's sysinfo: the engine uses it to
 * discard what the kernel cannot do with a warning, as docker does (a `--blkio-weight` on a host
 * whose disks have no BFQ scheduler is dropped, not an error), before the runtime, which
 * refuses such a setting as runc does, ever sees it.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hasFile } from './files';
import { DEFAULT_MOUNT_ROOT, detectLayout, unifiedControllers, v1Hierarchies } from './layout';

export interface CgroupSupport {
  memoryLimit: boolean;
  swapLimit: boolean;
  memoryReservation: boolean;
  memorySwappiness: boolean;
  oomKillDisable: boolean;
  cpuShares: boolean;
  cpuCfs: boolean;
  cpuset: boolean;
  pidsLimit: boolean;
  blkioWeight: boolean;
}

/**
 * Some control files are not offered in a hierarchy's root cgroup (BFQ's weights, and on
 * cgroup2 every controller's own files), so a file counts as present when the root or one of
 * its child cgroups has it.
 */
function offered(root: string, files: string[]): boolean {
  if (files.some((f) => hasFile(root, f))) return true;
  let children: string[];
  try {
    children = readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(root, d.name));
  } catch {
    return false;
  }
  return children.slice(0, 32).some((c) => files.some((f) => hasFile(c, f)));
}

export function cgroupSupport(mountRoot: string = DEFAULT_MOUNT_ROOT): CgroupSupport {
  const layout = detectLayout(mountRoot);
  const v1 = layout === 'v2' ? [] : v1Hierarchies(mountRoot);
  const v1Root = (c: string) => v1.find((h) => h.controllers.includes(c))?.root;
  const unifiedRoot = layout === 'v2' ? mountRoot : layout === 'hybrid' ? join(mountRoot, 'unified') : undefined;
  const v2 = unifiedRoot ? unifiedControllers(unifiedRoot) : new Set<string>();
  // A controller is driven through v1 when a v1 hierarchy has it, else through cgroup2 (hybrid).
  const via = (c: string, v2Name = c): { v1?: string; v2?: string } => {
    const r = v1Root(c);
    if (r) return { v1: r };
    return unifiedRoot && v2.has(v2Name) ? { v2: unifiedRoot } : {};
  };
  const mem = via('memory');
  const cpu = via('cpu');
  const blk = via('blkio', 'io');
  return {
    memoryLimit: mem.v1 ? hasFile(mem.v1, 'memory.limit_in_bytes') : !!mem.v2,
    swapLimit: mem.v1 ? hasFile(mem.v1, 'memory.memsw.limit_in_bytes') : !!mem.v2 && offered(mem.v2, ['memory.swap.max']),
    memoryReservation: mem.v1 ? hasFile(mem.v1, 'memory.soft_limit_in_bytes') : !!mem.v2,
    // cgroup v2 has neither a per-cgroup swappiness nor a way to turn the OOM killer off.
    memorySwappiness: mem.v1 ? hasFile(mem.v1, 'memory.swappiness') : false,
    oomKillDisable: mem.v1 ? hasFile(mem.v1, 'memory.oom_control') : false,
    cpuShares: cpu.v1 ? hasFile(cpu.v1, 'cpu.shares') : !!cpu.v2,
    cpuCfs: cpu.v1 ? hasFile(cpu.v1, 'cpu.cfs_quota_us') && hasFile(cpu.v1, 'cpu.cfs_period_us') : !!cpu.v2,
    cpuset: !!(via('cpuset').v1 ?? via('cpuset').v2),
    pidsLimit: !!(via('pids').v1 ?? via('pids').v2),
    // Proportional weights need CFQ (gone since Linux 5.0) or BFQ; with every disk on `none`
    // or `mq-deadline` and BFQ not loaded, the blkio hierarchy has only the throttle files.
    // On cgroup2, io.weight comes with the io controller itself (blk-iocost), as docker assumes.
    blkioWeight: blk.v1 ? offered(blk.v1, ['blkio.weight', 'blkio.bfq.weight']) : !!blk.v2,
  };
}
