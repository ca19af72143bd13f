/**
 * A container's status is derived, never stored: the init process is alive (same pid and
 * start time) or not; while the exec fifo exists it has not been started; a frozen cgroup
 * means paused. Deriving it means a crash of any CLI invocation cannot leave a stale status.
 */
import { existsSync, readlinkSync } from 'node:fs';
import type { ContainerState } from '../spec/types';
import { isSameProcessAlive } from './process-info';
import { containerCgroup, type RuntimeContext } from './context';
import type { ContainerRecord } from './state-store';
import { OCI_VERSION } from '../spec/state';

export type Status = ContainerState['status'];

export function containerStatus(ctx: RuntimeContext, rec: ContainerRecord): Status {
  if (!rec.pid) return 'creating';
  if (!isSameProcessAlive(rec.pid, rec.pidStartTime)) return 'stopped';
  // Frozen wins over created: a created container can be paused (as with runc) and must
  // then report "paused" so that `resume` accepts it.
  try {
    if (containerCgroup(ctx, rec).isFrozen()) return 'paused';
  } catch {
    /* no freezer: cannot be paused */
  }
  if (!rec.started && existsSync(ctx.store.fifoPath(rec.id)) && stillInInit(rec.pid)) return 'created';
  return 'running';
}

/**
 * Whether the process is still berth-init (run from its sealed memfd copy, native/init/seal.c)
 * waiting on the exec fifo. `start` records `started` only after berth-init has read the fifo
 * and gone on to execve, so a `start` killed in between leaves the fifo and no mark while the
 * container runs: its executable tells the truth. Unreadable: trust the fifo.
 */
export function stillInInit(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/exe`).startsWith('/memfd:berth-init');
  } catch {
    return true;
  }
}

export function stateOf(ctx: RuntimeContext, rec: ContainerRecord, status?: Status): ContainerState {
  const s = status ?? containerStatus(ctx, rec);
  const st: ContainerState = {
    ociVersion: OCI_VERSION,
    id: rec.id,
    status: s,
    bundle: rec.bundle,
  };
  if (s !== 'stopped' && rec.pid) st.pid = rec.pid;
  if (rec.config.annotations && Object.keys(rec.config.annotations).length > 0) st.annotations = rec.config.annotations;
  return st;
}
