/**
 * Resource settings this host's cgroups cannot honour are dropped with docker's warning, not
 * refused: docker checks them against its sysinfo at create and update
 * (verifyPlatformContainerResources), zeroes them in the HostConfig it records and returns one
 * warning each. Users and scripts see the same here, word for word, so that a `--blkio-weight`
 * on a host without BFQ runs the container as `docker run` would.
 */
import { BerthError } from '../../core/errors';
import type { CgroupSupport } from '../../cgroups';
import type { HostConfig } from '../docker-types';

type Resources = Pick<
  HostConfig,
  'Memory' | 'MemorySwap' | 'MemoryReservation' | 'MemorySwappiness' | 'OomKillDisable' | 'PidsLimit' | 'CpuShares' | 'CpuPeriod' | 'CpuQuota' | 'NanoCpus' | 'CpusetCpus' | 'CpusetMems' | 'BlkioWeight'
>;

/** Zeroes in `r` what `support` says the kernel lacks; returns docker's warning for each. */
export function discardUnsupported(r: Resources, support: CgroupSupport): string[] {
  const warnings: string[] = [];
  if (r.Memory && r.Memory > 0 && !support.memoryLimit) {
    warnings.push('Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.Memory = 0;
    r.MemorySwap = -1;
  }
  if (r.Memory && r.Memory > 0 && r.MemorySwap !== -1 && !support.swapLimit) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    r.MemorySwap = -1;
  }
  if (r.MemoryReservation && r.MemoryReservation > 0 && !support.memoryReservation) {
    warnings.push('Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.MemoryReservation = 0;
  }
  if (r.MemorySwappiness !== undefined && r.MemorySwappiness !== null && r.MemorySwappiness >= 0 && !support.memorySwappiness) {
    warnings.push('Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.');
    r.MemorySwappiness = null;
  }
  if (r.OomKillDisable && !support.oomKillDisable) {
    warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
    r.OomKillDisable = false;
  }
  if (r.PidsLimit && r.PidsLimit > 0 && !support.pidsLimit) {
    warnings.push('Your kernel does not support pids limit capabilities or the cgroup is not mounted. PIDs limit discarded.');
    r.PidsLimit = 0;
  }
  if (r.CpuShares && r.CpuShares > 0 && !support.cpuShares) {
    warnings.push('Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.');
    r.CpuShares = 0;
  }
  if (r.NanoCpus && r.NanoCpus > 0 && !support.cpuCfs) {
    // docker refuses this one: the user asked for a number of CPUs, and nothing else gives it.
    throw new BerthError('EINVALID_ARGUMENT', 'NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted', {
      hint: 'drop --cpus on this host (its cpu controller has no cfs_quota_us)',
    });
  }
  if (r.CpuPeriod && r.CpuPeriod > 0 && !support.cpuCfs) {
    warnings.push('Your kernel does not support CPU cfs period or the cgroup is not mounted. Period discarded.');
    r.CpuPeriod = 0;
  }
  if (r.CpuQuota && r.CpuQuota > 0 && !support.cpuCfs) {
    warnings.push('Your kernel does not support CPU cfs quota or the cgroup is not mounted. Quota discarded.');
    r.CpuQuota = 0;
  }
  if ((r.CpusetCpus || r.CpusetMems) && !support.cpuset) {
    warnings.push('Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.');
    r.CpusetCpus = '';
    r.CpusetMems = '';
  }
  if (r.BlkioWeight && r.BlkioWeight > 0 && !support.blkioWeight) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    r.BlkioWeight = 0;
  }
  return warnings;
}
