/**
 * `update [flags] CONTAINER...` (docker's resource flags and --restart; each container is
 * tried, its name printed on success) and `port CONTAINER [PRIVATE_PORT[/PROTO]]` (docker's
 * "80/tcp -> 0.0.0.0:8080" lines, in natural order).
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

/** Go's net.JoinHostPort: IPv6 addresses in brackets. */
function joinHostPort(ip: string, port: string): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Natural order: digit runs compare as numbers ("80/tcp" before "443/tcp"). */
export function naturalCompare(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) return Number(x) - Number(y) || x.length - y.length;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

export function registerUpdatePortCommands(program: Command, container: Command, env: CliEnv): void {
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

  const port = (c: Command) =>
    c
      .argument('<container>')
      .argument('[private-port]', 'PORT[/PROTO], e.g. 80 or 53/udp')
      .description('list the published ports of a container')
      .action(async (name: string, privatePort: string | undefined) => {
        const ports = await env.engine().ports(name, privatePort);
        const lines = ports.map((p) => (privatePort !== undefined ? joinHostPort(p.hostIp, p.hostPort) : `${p.privatePort} -> ${joinHostPort(p.hostIp, p.hostPort)}`));
        env.out.write(lines.sort(naturalCompare).map((l) => `${l}\n`).join(''));
      });
  port(program.command('port'));
  port(container.command('port'));
}
