/**
 * `stats`: samples of containers' cgroups (CPU, memory, block I/O, pids), network counters
 * and the host's CPU time, taken every interval; each round is turned into rows against the
 * previous round (stats-calc.ts), so the first rows come after the second sample. Without
 * names the set of containers is listed again every round (new ones appear, removed ones
 * go), as `docker stats` follows its events.
 */
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerContext, RecordContext } from './context';
import { getContainer, listContainers } from './lookup';
import { containerCgroup } from './cgroup';
import { containerName, type ContainerRecord } from './record';
import { onlineCpus, parseNetDev, sampleFromCgroup, statsRow, stoppedSample, systemCpuNs, type StatsRow, type StatsSample } from './stats-calc';

export interface StatsOptions {
  /** Without names: every container, not only running ones. */
  all?: boolean;
  /** Between samples (default 1000 ms, docker's collection interval). */
  intervalMs?: number;
  /** false: one round of rows, then the stream ends (`--no-stream`). */
  stream?: boolean;
  signal?: AbortSignal;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** One sample of a container (zeros when it does not run). */
export async function sampleContainer(ctx: Pick<ContainerContext, 'runRoot'>, rec: ContainerRecord): Promise<StatsSample> {
  const name = containerName(rec);
  if (!rec.State.Running || rec.State.Pid <= 0) return stoppedSample(rec.Id, name);
  const procStat = (await readText('/proc/stat')) ?? '';
  // A container on the host's network would report the host's traffic: docker shows none.
  const net = rec.HostConfig.NetworkMode === 'host' ? { rx: 0, tx: 0 } : parseNetDev((await readText(`/proc/${rec.State.Pid}/net/dev`)) ?? '');
  const base = { id: rec.Id, name, systemNs: systemCpuNs(procStat), onlineCpus: onlineCpus(procStat), netRx: net.rx, netTx: net.tx };
  try {
    const cg = await containerCgroup(ctx.runRoot, rec);
    if (!cg.exists()) return stoppedSample(rec.Id, name);
    return sampleFromCgroup(base, cg.stats(), totalmem(), cg.pids().length);
  } catch {
    // Stopped between the check and the read: its cgroup (or bundle) is gone.
    return stoppedSample(rec.Id, name);
  }
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
    return true;
  } catch {
    return false;
  }
}

/**
 * Rows per round. Named containers are resolved first (an unknown name fails at once) and
 * kept while they exist; a removed one drops out.
 */
export async function* statsStream(ctx: RecordContext, queries: readonly string[], opts: StatsOptions = {}): AsyncGenerator<StatsRow[]> {
  const named: string[] = [];
  for (const q of queries) named.push((await getContainer(ctx, q)).Id);
  const current = async (): Promise<ContainerRecord[]> => {
    if (!queries.length) return (await listContainers(ctx)).filter((r) => opts.all || r.State.Running);
    const out: ContainerRecord[] = [];
    for (const id of named) {
      const rec = await ctx.containerStore.load(id);
      if (rec) out.push(await getContainer(ctx, id));
    }
    return out;
  };
  const interval = opts.intervalMs ?? 1000;
  let previous = new Map<string, StatsSample>();
  for (let round = 0; ; round++) {
    const samples = new Map<string, StatsSample>();
    for (const rec of await current()) samples.set(rec.Id, await sampleContainer(ctx, rec));
    if (round > 0) {
      yield [...samples.values()].map((s) => statsRow(previous.get(s.id), s));
      if (opts.stream === false) return;
    }
    previous = samples;
    if (!(await pause(interval, opts.signal))) return;
  }
}
