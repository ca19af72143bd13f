/** What every runtime operation needs: the state store and a sink for non-fatal notes. */
import { StateStore } from './state-store';
import { cgroupManager, type CgroupManager } from '../cgroups';
import type { ContainerRecord } from './state-store';

export interface RuntimeContext {
  store: StateStore;
  warn: (msg: string) => void;
  /** `--debug`: the steps of an operation, for whoever diagnoses a failing runtime. */
  debug?: (msg: string) => void;
  /** Accepted for runc compatibility (`--systemd-cgroup`): cgroupsPath is then "slice:prefix:name". */
  systemdCgroup: boolean;
}

export function containerCgroup(ctx: RuntimeContext, rec: Pick<ContainerRecord, 'id' | 'config'>): CgroupManager {
  const cgroupsPath = rec.config.linux?.cgroupsPath;
  return cgroupManager({ id: rec.id, warn: ctx.warn, ...(cgroupsPath !== undefined ? { cgroupsPath } : {}) });
}
