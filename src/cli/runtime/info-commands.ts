/** state, list, ps, pause, resume, update, events, features, spec. */
import type { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliEnv } from './env';
import { writeStdout } from './log';
import { parseBytes, parseIntFlag } from '../parse';
import { containerState, listContainers, containerPids, containerStats } from '../../runtime/inspect';
import { pauseContainer, resumeContainer, updateContainer } from '../../runtime/control';
import { containerStatus } from '../../runtime/status';
import { runtimeFeatures } from '../../runtime/features';
import { defaultSpec } from '../../spec/default-spec';
import { BerthError } from '../../core/errors';
import type { LinuxResources } from '../../spec/types';

export function registerInfoCommands(program: Command, env: CliEnv): void {
  program
    .command('state')
    .argument('<container-id>')
    .description('print the OCI state of a container')
    .action((id: string) => {
      writeStdout(JSON.stringify(containerState(env.ctx(), id), null, 2) + '\n');
    });

  program
    .command('list')
    .alias('ls')
    .option('-f, --format <format>', 'table or json', 'table')
    .option('-q, --quiet', 'only ids')
    .description('list containers')
    .action((f: { format: string; quiet?: boolean }) => {
      const list = listContainers(env.ctx());
      if (f.quiet) return writeStdout(list.map((c) => c.id + '\n').join(''));
      if (f.format === 'json') return writeStdout(JSON.stringify(list) + '\n');
      const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...list.map((c) => [c.id, String(c.pid), c.status, c.bundle, c.created, c.owner])];
      writeStdout(table(rows));
    });

  program
    .command('ps')
    .argument('<container-id>')
    .argument('[ps-args...]', 'arguments for ps(1) (default -ef)')
    .option('-f, --format <format>', 'table or json', 'table')
    // `ps ID -e -x`: everything after the id is ps(1)'s, options included (runc's ps.bats).
    .passThroughOptions()
    .description('list the processes running in a container')
    .action((id: string, psArgs: string[], f: { format: string }) => {
      if (psArgs[0] === '--') psArgs = psArgs.slice(1);
      const pids = containerPids(env.ctx(), id);
      if (f.format === 'json') return writeStdout(JSON.stringify(pids) + '\n');
      const out = execFileSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
      const lines = out.split('\n');
      const header = lines[0] ?? '';
      const pidCol = header.trim().split(/\s+/).indexOf('PID');
      if (pidCol < 0) throw new BerthError('EINVALID_ARGUMENT', 'ps output has no PID column', { hint: 'pass ps arguments that print PID' });
      const set = new Set(pids);
      writeStdout([header, ...lines.slice(1).filter((l) => set.has(Number(l.trim().split(/\s+/)[pidCol])))].join('\n') + '\n');
    });

  program
    .command('pause')
    .argument('<container-id>')
    .description('freeze every process of a container')
    .action(async (id: string) => pauseContainer(env.ctx(), id));

  program
    .command('resume')
    .argument('<container-id>')
    .description('thaw a paused container')
    .action(async (id: string) => resumeContainer(env.ctx(), id));

  program
    .command('update')
    .argument('<container-id>')
    .option('-r, --resources <file>', 'JSON file with linux.resources ("-" for stdin)')
    .option('--memory <bytes>', 'memory limit')
    .option('--memory-swap <bytes>', 'memory + swap limit')
    .option('--memory-reservation <bytes>', 'memory soft limit')
    .option('--kernel-memory <bytes>', 'kernel memory limit (cgroup v1)')
    .option('--cpu-shares <n>', 'CPU shares (relative weight)')
    .option('--cpu-period <us>', 'CPU CFS period')
    .option('--cpu-quota <us>', 'CPU CFS quota (-1 for none)')
    .option('--cpu-rt-period <us>', 'realtime period')
    .option('--cpu-rt-runtime <us>', 'realtime runtime')
    .option('--cpuset-cpus <list>', 'CPUs allowed, e.g. 0-1')
    .option('--cpuset-mems <list>', 'memory nodes allowed')
    .option('--pids-limit <n>', 'maximum number of processes (-1 for none)')
    .option('--blkio-weight <n>', 'block IO weight (10-1000)')
    .description('change the resource limits of a running container')
    .action(async (id: string, f: Record<string, string | undefined>) => {
      await updateContainer(env.ctx(), id, resourcesFromFlags(f));
    });

  program
    .command('events')
    .argument('<container-id>')
    .option('--stats', 'print the statistics once and exit')
    .option('--interval <duration>', 'interval between statistics (e.g. 5s, 500ms)', '5s')
    .description('print container statistics as JSON events')
    .action(async (id: string, f: { stats?: boolean; interval: string }) => {
      const ctx = env.ctx();
      const emit = () => writeStdout(JSON.stringify({ type: 'stats', id, data: containerStats(ctx, id) }) + '\n');
      if (f.stats) return emit();
      const ms = parseDuration(f.interval);
      for (;;) {
        const rec = ctx.store.load(id);
        if (containerStatus(ctx, rec) === 'stopped') return;
        emit();
        await new Promise((r) => setTimeout(r, ms));
      }
    });

  program
    .command('features')
    .description('print what this runtime supports (OCI features document)')
    .action(() => writeStdout(JSON.stringify(runtimeFeatures(), null, 2) + '\n'));

  program
    .command('spec')
    .option('-b, --bundle <dir>', 'where to write config.json', '.')
    .option('--rootless', 'a spec for running without root (user namespace)')
    .description('write a default config.json')
    .action((f: { bundle: string; rootless?: boolean }) => {
      const path = join(f.bundle, 'config.json');
      if (existsSync(path)) {
        throw new BerthError('EEXISTS', `${path} already exists`, { hint: 'remove it first or choose another --bundle' });
      }
      writeFileSync(path, JSON.stringify(defaultSpec({ rootless: f.rootless === true }), null, 2) + '\n');
    });
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('') + '\n').join('');
}

function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new BerthError('EINVALID_ARGUMENT', `invalid --interval "${v}": use e.g. 500ms, 5s or 1m`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

function resourcesFromFlags(f: Record<string, string | undefined>): LinuxResources {
  if (f.resources) {
    const text = readFileSync(f.resources === '-' ? 0 : f.resources, 'utf8');
    try {
      return JSON.parse(text) as LinuxResources;
    } catch (e) {
      throw new BerthError('EINVALID_ARGUMENT', `--resources ${f.resources}: invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const r: LinuxResources = {};
  const mem = (r.memory ??= {});
  if (f.memory) mem.limit = parseBytes('--memory', f.memory);
  if (f.memorySwap) mem.swap = parseBytes('--memory-swap', f.memorySwap);
  if (f.memoryReservation) mem.reservation = parseBytes('--memory-reservation', f.memoryReservation);
  if (f.kernelMemory) mem.kernel = parseBytes('--kernel-memory', f.kernelMemory);
  if (Object.keys(mem).length === 0) delete r.memory;
  const cpu = (r.cpu ??= {});
  if (f.cpuShares) cpu.shares = parseIntFlag('--cpu-shares', f.cpuShares);
  if (f.cpuPeriod) cpu.period = parseIntFlag('--cpu-period', f.cpuPeriod);
  if (f.cpuQuota) cpu.quota = parseIntFlag('--cpu-quota', f.cpuQuota, -1);
  if (f.cpuRtPeriod) cpu.realtimePeriod = parseIntFlag('--cpu-rt-period', f.cpuRtPeriod);
  if (f.cpuRtRuntime) cpu.realtimeRuntime = parseIntFlag('--cpu-rt-runtime', f.cpuRtRuntime);
  if (f.cpusetCpus) cpu.cpus = f.cpusetCpus;
  if (f.cpusetMems) cpu.mems = f.cpusetMems;
  if (Object.keys(cpu).length === 0) delete r.cpu;
  if (f.pidsLimit) r.pids = { limit: parseIntFlag('--pids-limit', f.pidsLimit, -1) };
  if (f.blkioWeight) r.blockIO = { weight: parseIntFlag('--blkio-weight', f.blkioWeight, 10) };
  if (Object.keys(r).length === 0) {
    throw new BerthError('EINVALID_ARGUMENT', 'update needs at least one resource flag or --resources', {
      hint: 'e.g. berth-runtime update --memory 256m ID',
    });
  }
  return r;
}
