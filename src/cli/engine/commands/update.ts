/**
 * `update [flags] CONTAINER...`: docker's resource flags and --restart, applied live; each
 * container is tried, its name printed on success.
 */
import { Command } from 'commander';
import type { ContainerUpdate } from '../../../engine/containers/update';
import { parseCpus, parseRestartPolicy } from '../../../engine/parse/values';
import { parseBytes, parseIntFlag } from '../../parse';
import { eachOf } from '../each';
import type { CliEnv } from '../env';

interface UpdateFlags {
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  cpus?: string;
  cpuShares?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: string;
  blkioWeight?: string;
  restart?: string;
}

export function updateFromFlags(f: UpdateFlags): ContainerUpdate {
  const u: ContainerUpdate = {};
  if (f.memory !== undefined) u.Memory = parseBytes('--memory', f.memory);
  if (f.memorySwap !== undefined) u.MemorySwap = parseBytes('--memory-swap', f.memorySwap);
  if (f.memoryReservation !== undefined) u.MemoryReservation = parseBytes('--memory-reservation', f.memoryReservation);
  if (f.cpus !== undefined) u.NanoCpus = parseCpus(f.cpus);
  if (f.cpuShares !== undefined) u.CpuShares = parseIntFlag('--cpu-shares', f.cpuShares, 0);
  if (f.cpuPeriod !== undefined) u.CpuPeriod = parseIntFlag('--cpu-period', f.cpuPeriod, 0);
  if (f.cpuQuota !== undefined) u.CpuQuota = parseIntFlag('--cpu-quota', f.cpuQuota, -1);
  if (f.cpusetCpus !== undefined) u.CpusetCpus = f.cpusetCpus;
  if (f.cpusetMems !== undefined) u.CpusetMems = f.cpusetMems;
  if (f.pidsLimit !== undefined) u.PidsLimit = parseIntFlag('--pids-limit', f.pidsLimit, -1);
  if (f.blkioWeight !== undefined) u.BlkioWeight = parseIntFlag('--blkio-weight', f.blkioWeight, 0);
  if (f.restart !== undefined) u.RestartPolicy = parseRestartPolicy(f.restart);
  return u;
}

export function registerUpdateCommand(program: Command, container: Command, env: CliEnv): void {
  const update = (c: Command) =>
    c
      .argument('<containers...>')
      .option('-m, --memory <bytes>', 'memory limit')
      .option('--memory-swap <bytes>', 'memory plus swap limit (-1: unlimited swap)')
      .option('--memory-reservation <bytes>', 'memory soft limit')
      .option('--cpus <n>', 'number of CPUs')
      .option('-c, --cpu-shares <n>', 'relative CPU weight')
      .option('--cpu-period <us>', 'CFS period')
      .option('--cpu-quota <us>', 'CFS quota (-1: none)')
      .option('--cpuset-cpus <list>', 'CPUs allowed (0-3, 0,1)')
      .option('--cpuset-mems <list>', 'memory nodes allowed')
      .option('--pids-limit <n>', 'process limit (-1: unlimited)')
      .option('--blkio-weight <10-1000>', 'block I/O weight (0: leave)')
      .option('--restart <policy>', 'no, always, unless-stopped, on-failure[:N]')
      .description("change containers' resource limits (live) and restart policy")
      .action(async (names: string[], f: UpdateFlags) => {
        const u = updateFromFlags(f);
        await eachOf(env, names, async (n) => {
          const r = await env.engine().update(n, u);
          for (const w of r.warnings) env.err.write(`WARNING: ${w}\n`);
          env.out.write(`${n}\n`);
        });
      });
  update(program.command('update'));
  update(container.command('update'));
}
