/**
 * cgroup managers: one implementation over cgroupfs that handles the v1, hybrid and v2 layouts
 * (see manager.ts). Berth writes cgroupfs itself and never talks to systemd, even for
 * systemd-style cgroupsPath values (see path.ts).
 */
import { FsCgroupManager, type DeviceProgramAttacher } from './manager';
import type { CgroupManager, CgroupOptions } from './types';

export type { CgroupLayout, CgroupManager, CgroupOptions, CgroupStats, MemoryEntry, BlkioEntry, HugetlbStats, CpuUsage } from './types';
export type { DeviceProgramAttacher } from './manager';
export { detectLayout, DEFAULT_MOUNT_ROOT } from './layout';
export { pruneEmptyLevel } from './tree';
export { parseCgroupsPath } from './path';
export { sharesToWeight, blkioWeightToIoWeight, swapMaxValue } from './v2';
export { cgroupSupport, type CgroupSupport } from './support';
export { deviceFilterProgram, encodeProgram, decodeProgram } from './devices-bpf';

/**
 * The manager for one container's cgroup. Construction touches nothing; `create` makes the
 * directories. `attachDevices` replaces the bpf(2) loader (tests on a fake hierarchy).
 */
export function cgroupManager(opts: CgroupOptions, attachDevices?: DeviceProgramAttacher): CgroupManager {
  return new FsCgroupManager(opts, attachDevices);
}
