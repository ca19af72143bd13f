/**
 * A container's status is derived, never stored: the init process is alive (same pid and
 * start time) or not; while the exec fifo exists it has not been started; a frozen cgroup
 * means paused. Deriving it means a crash of any CLI invocation cannot leave a stale status.
 */
import { existsSync } from 'node:fs';
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
  if (!rec.started && existsSync(ctx.store.fifoPath(rec.id))) return 'created';
  return 'running';
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
