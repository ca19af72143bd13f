/**
 * Making the container's first cgroup move cheap.
 *
 * Every write to a cgroup.procs file takes the kernel's global cgroup_threadgroup_rwsem for
 * writing. When no move happened in the last few tens of milliseconds, taking it first waits
 * for an RCU grace period (rcu_sync_enter), 5-15 ms on the machines we measured; moves that
 * follow within about two grace periods take the fast path (well under a millisecond).
 *
 * `warmCgroupAttach` writes our own pid into the cgroup we are already in — a move to where we
 * are, which changes nothing — on a libuv thread, so that wait overlaps the work done before
 * the container's init exists (building its plan, compiling seccomp, spawning it), and the
 * init's real move, some 10-25 ms later, finds the fast path. Nothing depends on it: errors
 * (no such file in a cgroup namespace, EBUSY on a v2 parent, ...) are ignored. Hosts with
 * cgroup2's `favordynmods` skip the wait anyway and gain nothing from this.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MOUNT_ROOT } from './layout';

/** Our own cgroup.procs in one hierarchy, from /proc/self/cgroup (v1: the first named controller's; v2: the unified one). */
export function ownProcsFile(procSelfCgroup: string, mountRoot: string = DEFAULT_MOUNT_ROOT): string | undefined {
  let unified: string | undefined;
  for (const line of procSelfCgroup.split('\n')) {
    const [, controllers, path] = line.split(':', 3) as [string, string | undefined, string | undefined];
    if (controllers === undefined || path === undefined || !path.startsWith('/')) continue;
    if (controllers === '') {
      unified = path;
      continue;
    }
    const first = controllers.split(',').find((c) => c !== '' && !c.startsWith('name='));
    // the hierarchy's directory is named after all its controllers (cpu,cpuacct) with a link per controller
    if (first) return join(mountRoot, first, path, 'cgroup.procs');
  }
  return unified === undefined ? undefined : join(mountRoot, unified, 'cgroup.procs');
}

export function warmCgroupAttach(): void {
  let file: string | undefined;
  try {
    file = ownProcsFile(readFileSync('/proc/self/cgroup', 'utf8'));
  } catch {
    return;
  }
  if (file) writeFile(file, String(process.pid)).catch(() => undefined);
}
