/**
 * `update`: new resource limits and restart policy for a container. They are checked with
 * docker's rules against what the container already has, written to the running container's
 * cgroup (built-in runtime through the runtime library; runc/crun through their `update`),
 * and recorded in HostConfig so the next start applies them too. A stopped container only
 * records them. The record is changed only once the cgroup took the new values.
 */
import { cpus } from 'node:os';
import { BerthError } from '../../core/errors';
import type { LinuxResources } from '../../spec/types';
import type { HostConfig, RestartPolicy } from '../docker-types';
import type { RecordContext } from './context';
import { getContainer } from './lookup';
import { containerEventAttributes } from './event-attrs';
import type { ContainerRecord } from './record';
import { discardUnsupported } from '../spec/discard';
import { cgroupSupport } from '../../cgroups';

/** docker update's settable fields (HostConfig names); absent = unchanged. */
export interface ContainerUpdate {
  Memory?: number;
  /** -1: unlimited swap. */
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  /** 0 or -1: unlimited. */
  PidsLimit?: number;
  BlkioWeight?: number;
  RestartPolicy?: RestartPolicy;
}

const MIN_MEMORY = 6 * 1024 * 1024;
const CPU_PERIOD_US = 100_000;

function refuse(message: string, hint: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', message, { hint });
}

export function isEmptyUpdate(u: ContainerUpdate): boolean {
  return Object.values(u).every((v) => v === undefined);
}

/** The memory+swap total the container runs with now (0: unlimited), docker's implicit 2× included. */
function effectiveSwap(hc: HostConfig): number {
  if (hc.MemorySwap) return hc.MemorySwap;
  return hc.Memory && hc.Memory > 0 ? hc.Memory * 2 : 0;
}

/**
 * Checks an update against the current HostConfig; returns the new HostConfig and the
 * resources to write to a live cgroup (only what changes).
 */
export function planUpdate(hc: HostConfig, u: ContainerUpdate, hostCpus = cpus().length): { hostConfig: HostConfig; live: LinuxResources } {
  if (isEmptyUpdate(u)) throw refuse('you must provide one or more flags when using this command', 'e.g. berth update --memory 256m --cpus 1.5 CONTAINER');
  const next: HostConfig = { ...hc };
  const live: LinuxResources = {};

  if (u.Memory !== undefined || u.MemorySwap !== undefined || u.MemoryReservation !== undefined) {
    const memory = u.Memory ?? hc.Memory ?? 0;
    const reservation = u.MemoryReservation ?? hc.MemoryReservation ?? 0;
    if (u.Memory !== undefined && u.Memory > 0 && u.Memory < MIN_MEMORY) throw refuse('minimum memory limit allowed is 6MB', 'give --memory 6m or more');
    if (u.MemoryReservation !== undefined && u.MemoryReservation > 0 && u.MemoryReservation < MIN_MEMORY) throw refuse('minimum memory reservation allowed is 6MB', 'give --memory-reservation 6m or more');
    if (memory > 0 && reservation > 0 && memory < reservation) {
      throw refuse('minimum memory limit can not be less than memory reservation limit', 'raise --memory or lower --memory-reservation');
    }
    if (u.MemorySwap !== undefined && u.MemorySwap > 0) {
      if (memory <= 0) throw refuse('you should always set the memory limit when using a memoryswap limit', 'give --memory together with --memory-swap');
      if (u.MemorySwap < memory) throw refuse('minimum memoryswap limit should be larger than memory limit', '--memory-swap is memory plus swap: give at least --memory, or -1 for unlimited swap');
    }
    const oldSwap = effectiveSwap(hc);
    if (u.Memory !== undefined && u.Memory > 0 && u.MemorySwap === undefined && oldSwap > 0 && u.Memory > oldSwap) {
      throw refuse(`memory limit should be smaller than already set memoryswap limit (${oldSwap} bytes), update the memoryswap at the same time`, `e.g. --memory ${u.Memory} --memory-swap ${u.Memory * 2} (or -1 for unlimited swap)`);
    }
    if (u.Memory !== undefined) {
      next.Memory = u.Memory;
      // docker records the implicit swap limit at create; keep it the one the cgroup has.
      if (u.MemorySwap === undefined && !hc.MemorySwap && oldSwap > 0) next.MemorySwap = oldSwap;
    }
    if (u.MemorySwap !== undefined) next.MemorySwap = u.MemorySwap;
    if (u.MemoryReservation !== undefined) next.MemoryReservation = u.MemoryReservation;
    live.memory = {
      ...(u.Memory !== undefined ? { limit: u.Memory > 0 ? u.Memory : -1 } : {}),
      ...(u.MemorySwap !== undefined ? { swap: u.MemorySwap } : {}),
      ...(u.MemoryReservation !== undefined ? { reservation: u.MemoryReservation > 0 ? u.MemoryReservation : -1 } : {}),
    };
  }

  const cpu: NonNullable<LinuxResources['cpu']> = {};
  if (u.NanoCpus !== undefined) {
    if (u.CpuQuota !== undefined || u.CpuPeriod !== undefined) throw refuse('conflicting options: --cpus and --cpu-quota/--cpu-period cannot both be set', 'give either --cpus or --cpu-period with --cpu-quota');
    if (hc.CpuQuota || hc.CpuPeriod) throw refuse('conflicting options: --cpus cannot be updated as a CPU period/quota has already been set', 'update --cpu-period and --cpu-quota instead');
    if (u.NanoCpus < 10_000_000 || u.NanoCpus > hostCpus * 1e9) throw refuse(`range of CPUs is from 0.01 to ${hostCpus}.00, as there are only ${hostCpus} CPUs available`, `give --cpus between 0.01 and ${hostCpus}`);
    next.NanoCpus = u.NanoCpus;
    cpu.period = CPU_PERIOD_US;
    cpu.quota = Math.round((u.NanoCpus * CPU_PERIOD_US) / 1e9);
  }
  if ((u.CpuQuota !== undefined || u.CpuPeriod !== undefined) && hc.NanoCpus) {
    throw refuse('conflicting options: CPU quota/period cannot be updated as --cpus has already been set', 'update --cpus instead');
  }
  if (u.CpuPeriod !== undefined) {
    if (u.CpuPeriod !== 0 && (u.CpuPeriod < 1000 || u.CpuPeriod > 1_000_000)) throw refuse('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)', 'give --cpu-period between 1000 and 1000000');
    next.CpuPeriod = u.CpuPeriod;
    cpu.period = u.CpuPeriod || CPU_PERIOD_US;
  }
  if (u.CpuQuota !== undefined) {
    if (u.CpuQuota > 0 && u.CpuQuota < 1000) throw refuse('CPU cfs quota can not be less than 1ms (i.e. 1000)', 'give --cpu-quota 1000 or more, or -1 for none');
    next.CpuQuota = u.CpuQuota;
    cpu.quota = u.CpuQuota > 0 ? u.CpuQuota : -1;
  }
  if (u.CpuShares !== undefined) {
    if (u.CpuShares !== 0 && u.CpuShares < 2) throw refuse('CPU shares must be at least 2', 'give --cpu-shares 2 or more (1024 is the default weight)');
    next.CpuShares = u.CpuShares;
    cpu.shares = u.CpuShares || 1024;
  }
  if (u.CpusetCpus !== undefined) {
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(u.CpusetCpus)) throw refuse(`invalid value "${u.CpusetCpus}" for --cpuset-cpus`, 'give a list such as 0-3 or 0,2');
    next.CpusetCpus = u.CpusetCpus;
    cpu.cpus = u.CpusetCpus;
  }
  if (u.CpusetMems !== undefined) {
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(u.CpusetMems)) throw refuse(`invalid value "${u.CpusetMems}" for --cpuset-mems`, 'give a list such as 0 or 0-1');
    next.CpusetMems = u.CpusetMems;
    cpu.mems = u.CpusetMems;
  }
  if (Object.keys(cpu).length) live.cpu = cpu;

  if (u.PidsLimit !== undefined) {
    next.PidsLimit = u.PidsLimit > 0 ? u.PidsLimit : null;
    live.pids = { limit: u.PidsLimit > 0 ? u.PidsLimit : -1 };
  }
  if (u.BlkioWeight !== undefined) {
    if (u.BlkioWeight !== 0 && (u.BlkioWeight < 10 || u.BlkioWeight > 1000)) throw refuse('range of blkio weight is from 10 to 1000', 'give --blkio-weight between 10 and 1000');
    next.BlkioWeight = u.BlkioWeight;
    if (u.BlkioWeight) live.blockIO = { weight: u.BlkioWeight };
  }
  if (u.RestartPolicy !== undefined) {
    if (hc.AutoRemove && u.RestartPolicy.Name !== 'no' && u.RestartPolicy.Name !== '') {
      throw refuse('restart policy cannot be updated because AutoRemove is enabled for the container', 'a container created with --rm is removed when it exits and cannot be restarted');
    }
    next.RestartPolicy = u.RestartPolicy;
  }
  return { hostConfig: next, live };
}

/** Applies and records an update; returns warnings (settings this host cannot honour). */
export async function updateContainerResources(ctx: RecordContext, query: string, u: ContainerUpdate): Promise<{ rec: ContainerRecord; warnings: string[] }> {
  const found = await getContainer(ctx, query);
  // What this kernel cannot limit is dropped with docker's warning, as at create.
  u = { ...u };
  const warnings: string[] = discardUnsupported(u, cgroupSupport());
  const rec = await ctx.containerStore.withLock(found.Id, async (fresh) => {
    const { hostConfig, live } = planUpdate(fresh.HostConfig, u);
    const running = fresh.State.Status === 'running' || fresh.State.Status === 'paused';
    if (running && Object.keys(live).length) {
      try {
        await ctx.runtimes.for(fresh).update(fresh.Id, live, (m) => warnings.push(m));
      } catch (e) {
        throw new BerthError('ECGROUP', `cannot update container ${fresh.Id}: ${e instanceof Error ? e.message : String(e)}`, {
          cause: e,
          hint: e instanceof BerthError && e.hint ? e.hint : 'nothing was recorded; the running limits may be partly changed, check them with berth inspect and the cgroup',
        });
      }
    }
    fresh.HostConfig = hostConfig;
    await ctx.containerStore.save(fresh);
    return fresh;
  });
  await ctx.events.emit('container', 'update', rec.Id, containerEventAttributes(rec));
  return { rec, warnings };
}
