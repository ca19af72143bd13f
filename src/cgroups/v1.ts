/**
 * Writing OCI resources into cgroup v1 controller directories, one function per controller.
 * Each takes the controller's directory of the container and only writes what the config sets.
 */
import { BerthError, errnoCode } from '../core/errors';
import type { LinuxResources, ThrottleDevice } from '../spec/types';
import { hasFile, readNumber, writeCgroupFile } from './files';

type Warn = (msg: string) => void;

export function applyMemoryV1(dir: string, mem: NonNullable<LinuxResources['memory']>, warn: Warn): void {
  const limit = mem.limit;
  const swap = mem.swap; // OCI swap is memory+swap in total, the same quantity as memsw.
  if (swap !== undefined && swap !== 0 && !hasFile(dir, 'memory.memsw.limit_in_bytes')) {
    warn('linux.resources.memory.swap ignored: the kernel does not account swap (memory.memsw files missing; boot with swapaccount=1)');
  }
  const writeSwap = swap !== undefined && swap !== 0 && hasFile(dir, 'memory.memsw.limit_in_bytes');
  if (limit !== undefined && limit !== 0 && writeSwap) {
    // memsw must never be below the memory limit, so the order depends on the direction of change.
    const currentMemsw = readNumber(dir, 'memory.memsw.limit_in_bytes') ?? 0;
    if (swap === -1 || swap! > currentMemsw) {
      writeCgroupFile(dir, 'memory.memsw.limit_in_bytes', swap!);
      writeCgroupFile(dir, 'memory.limit_in_bytes', limit);
    } else {
      writeCgroupFile(dir, 'memory.limit_in_bytes', limit);
      writeCgroupFile(dir, 'memory.memsw.limit_in_bytes', swap!);
    }
  } else {
    if (limit !== undefined && limit !== 0) writeCgroupFile(dir, 'memory.limit_in_bytes', limit);
    if (writeSwap) writeCgroupFile(dir, 'memory.memsw.limit_in_bytes', swap!);
  }
  if (mem.reservation !== undefined && mem.reservation !== 0) {
    writeCgroupFile(dir, 'memory.soft_limit_in_bytes', mem.reservation);
  }
  const optional: Array<[number | undefined, string, string]> = [
    [mem.kernel, 'memory.kmem.limit_in_bytes', 'kernel'],
    [mem.kernelTCP, 'memory.kmem.tcp.limit_in_bytes', 'kernelTCP'],
  ];
  for (const [value, file, field] of optional) {
    if (value === undefined || value === 0) continue;
    if (hasFile(dir, file)) writeCgroupFile(dir, file, value);
    else warn(`linux.resources.memory.${field} ignored: this kernel has no ${file}`);
  }
  if (mem.swappiness !== undefined && mem.swappiness !== -1) {
    if (!Number.isInteger(mem.swappiness) || mem.swappiness < 0 || mem.swappiness > 100) {
      throw new BerthError('ECGROUP', `linux.resources.memory.swappiness ${mem.swappiness} is not in 0..100`);
    }
    writeCgroupFile(dir, 'memory.swappiness', mem.swappiness);
  }
  if (mem.disableOOMKiller) writeCgroupFile(dir, 'memory.oom_control', 1);
}

export function applyCpuV1(dir: string, cpu: NonNullable<LinuxResources['cpu']>, warn: Warn): void {
  if (cpu.shares) writeCgroupFile(dir, 'cpu.shares', cpu.shares);
  // The period goes first: a quota is only valid relative to the period it will run against.
  // But the kernel checks old quota / new period against the parent's limit, so a shorter
  // period can be refused (EINVAL) until the new, smaller quota is in: then the quota goes
  // first and the period after it, as runc does. Either order alone fails some transitions.
  let periodLater = false;
  if (cpu.period) {
    try {
      writeCgroupFile(dir, 'cpu.cfs_period_us', cpu.period);
    } catch (e) {
      if (!(e instanceof BerthError && errnoCode(e.cause) === 'EINVAL' && cpu.quota)) throw e;
      periodLater = true;
    }
  }
  if (cpu.quota) writeCgroupFile(dir, 'cpu.cfs_quota_us', cpu.quota);
  if (periodLater) writeCgroupFile(dir, 'cpu.cfs_period_us', cpu.period!);
  if (cpu.burst !== undefined) {
    if (hasFile(dir, 'cpu.cfs_burst_us')) writeCgroupFile(dir, 'cpu.cfs_burst_us', cpu.burst);
    else warn('linux.resources.cpu.burst ignored: this kernel has no cpu.cfs_burst_us');
  }
  if (cpu.realtimePeriod) writeCgroupFile(dir, 'cpu.rt_period_us', cpu.realtimePeriod);
  if (cpu.realtimeRuntime) writeCgroupFile(dir, 'cpu.rt_runtime_us', cpu.realtimeRuntime);
  if (cpu.idle !== undefined) {
    if (hasFile(dir, 'cpu.idle')) writeCgroupFile(dir, 'cpu.idle', cpu.idle);
    else warn('linux.resources.cpu.idle ignored: this kernel has no cpu.idle');
  }
}

/** cpuset.cpus/mems; the same file names exist on v2, so both layouts use this. */
export function applyCpuset(dir: string, cpu: NonNullable<LinuxResources['cpu']>): void {
  if (cpu.cpus) writeCgroupFile(dir, 'cpuset.cpus', cpu.cpus);
  if (cpu.mems) writeCgroupFile(dir, 'cpuset.mems', cpu.mems);
}

/** pids.max: the same file on v1 and v2; zero or negative means unlimited. */
export function applyPids(dir: string, pids: NonNullable<LinuxResources['pids']>): void {
  writeCgroupFile(dir, 'pids.max', pids.limit > 0 ? pids.limit : 'max');
}

export function applyBlkioV1(dir: string, bio: NonNullable<LinuxResources['blockIO']>, warn: Warn): void {
  // Without CFQ the weights live under blkio.bfq.* (and leaf weights do not exist at all).
  const bfq = !hasFile(dir, 'blkio.weight') && hasFile(dir, 'blkio.bfq.weight');
  const weightFile = bfq ? 'blkio.bfq.weight' : 'blkio.weight';
  const needWeight = bio.weight !== undefined || (bio.weightDevice ?? []).some((d) => d.weight !== undefined);
  if (needWeight && !hasFile(dir, weightFile)) {
    throw new BerthError('ECGROUP', 'linux.resources.blockIO.weight: this kernel has no blkio.weight or blkio.bfq.weight', {
      hint: 'proportional I/O weights need the BFQ (or CFQ) I/O scheduler; drop the weight settings or switch scheduler',
    });
  }
  if (bio.weight !== undefined && bio.weight !== 0) writeCgroupFile(dir, weightFile, bio.weight);
  if (bio.leafWeight !== undefined && bio.leafWeight !== 0) {
    if (hasFile(dir, 'blkio.leaf_weight')) writeCgroupFile(dir, 'blkio.leaf_weight', bio.leafWeight);
    else warn('linux.resources.blockIO.leafWeight ignored: this kernel has no blkio.leaf_weight');
  }
  for (const d of bio.weightDevice ?? []) {
    if (d.weight !== undefined) writeCgroupFile(dir, `${weightFile}_device`, `${d.major}:${d.minor} ${d.weight}`);
    if (d.leafWeight !== undefined) {
      if (hasFile(dir, 'blkio.leaf_weight_device')) writeCgroupFile(dir, 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`);
      else warn('linux.resources.blockIO.weightDevice[].leafWeight ignored: this kernel has no blkio.leaf_weight_device');
    }
  }
  const throttles: Array<['throttleReadBpsDevice' | 'throttleWriteBpsDevice' | 'throttleReadIOPSDevice' | 'throttleWriteIOPSDevice', string]> = [
    ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
    ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
    ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
    ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
  ];
  for (const [field, file] of throttles) {
    for (const t of (bio[field] ?? []) as ThrottleDevice[]) {
      writeCgroupFile(dir, file, `${t.major}:${t.minor} ${t.rate}`);
    }
  }
}

/** Device rules go through the minimal transition from the cgroup's current list (devices-v1.ts). */
export { applyDevicesV1 } from './devices-v1';

export function applyNetCls(dir: string, classID: number): void {
  writeCgroupFile(dir, 'net_cls.classid', classID);
}

export function applyNetPrio(dir: string, priorities: Array<{ name: string; priority: number }>): void {
  for (const p of priorities) writeCgroupFile(dir, 'net_prio.ifpriomap', `${p.name} ${p.priority}`);
}

export function applyHugetlbV1(dir: string, limits: NonNullable<LinuxResources['hugepageLimits']>): void {
  for (const h of limits) writeCgroupFile(dir, `hugetlb.${h.pageSize}.limit_in_bytes`, h.limit);
}

/** rdma.max: the same format on v1 and v2. */
export function applyRdma(dir: string, rdma: NonNullable<LinuxResources['rdma']>): void {
  for (const [device, l] of Object.entries(rdma)) {
    const parts = [device];
    if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
    if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
    if (parts.length > 1) writeCgroupFile(dir, 'rdma.max', parts.join(' '));
  }
}
