/**
 * Writing OCI resources into a cgroup v2 directory. OCI speaks v1 units (cpu shares, blkio weights,
 * memory+swap totals); the conversions to v2 quantities live here, each as a pure function.
 */
import { BerthError } from '../core/errors';
import type { LinuxResources } from '../spec/types';
import { readOptional, writeCgroupFile } from './files';

type Warn = (msg: string) => void;

/** cpu.shares (2..262144) -> cpu.weight (1..10000), the mapping runc and crun agree on. */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio.weight (10..1000) -> io.weight (1..10000). */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI memory.swap is memory+swap in total; memory.swap.max is swap alone. Returns the string to
 * write, or undefined when nothing should be written.
 */
export function swapMaxValue(limit: number | undefined, swap: number | undefined): string | undefined {
  if (swap === undefined || swap === 0) return undefined;
  if (swap === -1) return 'max';
  if (limit === undefined || limit === 0 || limit === -1) {
    throw new BerthError('ECGROUP', 'linux.resources.memory.swap needs linux.resources.memory.limit on cgroup v2', {
      hint: 'set memory.limit too: swap is the total of memory and swap, so the swap part is swap - limit',
    });
  }
  if (swap < limit) {
    throw new BerthError('ECGROUP', `linux.resources.memory.swap (${swap}) is below memory.limit (${limit})`, {
      hint: 'OCI swap counts memory plus swap, so it must be at least the memory limit (or -1 for unlimited)',
    });
  }
  return String(swap - limit);
}

const limitValue = (n: number) => (n === -1 ? 'max' : String(n));

export function applyMemoryV2(dir: string, mem: NonNullable<LinuxResources['memory']>, warn: Warn): void {
  const swapMax = swapMaxValue(mem.limit, mem.swap);
  // Raise swap before lowering memory so that the total never dips in between.
  if (swapMax !== undefined) writeCgroupFile(dir, 'memory.swap.max', swapMax);
  if (mem.limit !== undefined && mem.limit !== 0) writeCgroupFile(dir, 'memory.max', limitValue(mem.limit));
  if (mem.reservation !== undefined && mem.reservation !== 0) writeCgroupFile(dir, 'memory.low', limitValue(mem.reservation));
  if (mem.kernel) warn('linux.resources.memory.kernel ignored: cgroup v2 has no separate kernel memory limit');
  if (mem.kernelTCP) warn('linux.resources.memory.kernelTCP ignored: cgroup v2 has no separate kernel TCP limit');
  if (mem.swappiness !== undefined && mem.swappiness !== -1) warn('linux.resources.memory.swappiness ignored: cgroup v2 has no per-cgroup swappiness');
  if (mem.disableOOMKiller) warn('linux.resources.memory.disableOOMKiller ignored: cgroup v2 cannot disable the OOM killer');
}

export function applyCpuV2(dir: string, cpu: NonNullable<LinuxResources['cpu']>): void {
  if (cpu.realtimeRuntime || cpu.realtimePeriod) {
    throw new BerthError('ECGROUP', 'linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no real-time CPU controller', {
      hint: 'drop the realtime settings on cgroup v2 hosts',
    });
  }
  if (cpu.shares) writeCgroupFile(dir, 'cpu.weight', sharesToWeight(cpu.shares));
  if (cpu.quota || cpu.period) {
    // cpu.max holds both halves; keep the half the update does not mention.
    const [curQuota, curPeriod] = (readOptional(dir, 'cpu.max') ?? 'max 100000').split(/\s+/);
    const quota = cpu.quota ? (cpu.quota > 0 ? String(cpu.quota) : 'max') : (curQuota ?? 'max');
    const period = cpu.period ? String(cpu.period) : (curPeriod ?? '100000');
    writeCgroupFile(dir, 'cpu.max', `${quota} ${period}`);
  }
  if (cpu.burst !== undefined) writeCgroupFile(dir, 'cpu.max.burst', cpu.burst);
  if (cpu.idle !== undefined) writeCgroupFile(dir, 'cpu.idle', cpu.idle);
}

export function applyIoV2(dir: string, bio: NonNullable<LinuxResources['blockIO']>, warn: Warn): void {
  if (bio.weight) writeCgroupFile(dir, 'io.weight', `default ${blkioWeightToIoWeight(bio.weight)}`);
  if (bio.leafWeight) warn('linux.resources.blockIO.leafWeight ignored: cgroup v2 has no leaf weights');
  for (const d of bio.weightDevice ?? []) {
    if (d.weight) writeCgroupFile(dir, 'io.weight', `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight)}`);
  }
  const keys: Array<['throttleReadBpsDevice' | 'throttleWriteBpsDevice' | 'throttleReadIOPSDevice' | 'throttleWriteIOPSDevice', string]> = [
    ['throttleReadBpsDevice', 'rbps'],
    ['throttleWriteBpsDevice', 'wbps'],
    ['throttleReadIOPSDevice', 'riops'],
    ['throttleWriteIOPSDevice', 'wiops'],
  ];
  for (const [field, key] of keys) {
    for (const t of bio[field] ?? []) {
      // A rate of 0 means "no limit" in OCI (as it does in the v1 files).
      writeCgroupFile(dir, 'io.max', `${t.major}:${t.minor} ${key}=${t.rate > 0 ? t.rate : 'max'}`);
    }
  }
}

export function applyHugetlbV2(dir: string, limits: NonNullable<LinuxResources['hugepageLimits']>): void {
  for (const h of limits) writeCgroupFile(dir, `hugetlb.${h.pageSize}.max`, limitValue(h.limit));
}

/** `unified`: raw cgroup2 file -> value, written as given after checking the key is a plain file name. */
export function applyUnified(dir: string, unified: Record<string, string>): void {
  for (const [key, value] of Object.entries(unified)) {
    if (key === '' || key.includes('/') || key.includes('..')) {
      throw new BerthError('ECGROUP', `linux.resources.unified key "${key}" is not a controller file name`, {
        hint: 'keys are cgroup2 file names such as "memory.high", not paths',
      });
    }
    writeCgroupFile(dir, key, value);
  }
}
