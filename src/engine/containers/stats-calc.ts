/**
 * The numbers of `berth stats`, computed from two samples the way the docker CLI computes
 * them from the daemon's stats documents:
 *   - CPU %: the container's CPU time over the host's CPU time in the same interval, times
 *     the number of online CPUs (so one busy thread on a 4-CPU host shows 100 %, not 25 %);
 *   - memory: usage minus inactive page cache (cgroup v1: `total_inactive_file`, v2:
 *     `inactive_file`), against the limit, or the host's memory when unlimited;
 *   - block I/O: bytes read and written, summed over devices;
 *   - network: bytes received and sent by the container's interfaces (loopback excluded);
 *   - PIDs: tasks in the cgroup.
 */
import type { BlkioEntry, CgroupStats } from '../../cgroups';

export interface StatsSample {
  id: string;
  name: string;
  running: boolean;
  /** Container CPU time, ns (cpuacct.usage, or usage_usec × 1000 on v2). */
  cpuNs: number;
  /** Host CPU time (all CPUs) from /proc/stat, ns. */
  systemNs: number;
  onlineCpus: number;
  memUsage: number;
  memLimit: number;
  /** memory.stat counters (v1 or v2 names). */
  memStat: Record<string, number>;
  netRx: number;
  netTx: number;
  blkRead: number;
  blkWrite: number;
  pids: number;
}

export interface StatsRow {
  id: string;
  name: string;
  running: boolean;
  cpuPercent: number;
  memUsage: number;
  memLimit: number;
  memPercent: number;
  netRx: number;
  netTx: number;
  blkRead: number;
  blkWrite: number;
  pids: number;
}

export function cpuPercent(prev: Pick<StatsSample, 'cpuNs' | 'systemNs'> | undefined, cur: Pick<StatsSample, 'cpuNs' | 'systemNs' | 'onlineCpus'>): number {
  if (!prev) return 0;
  const cpuDelta = cur.cpuNs - prev.cpuNs;
  const systemDelta = cur.systemNs - prev.systemNs;
  if (cpuDelta <= 0 || systemDelta <= 0) return 0;
  return (cpuDelta / systemDelta) * cur.onlineCpus * 100;
}

/** Usage without the page cache the kernel can drop at once (docker's "MEM USAGE"). */
export function memoryWithoutCache(usage: number, stat: Record<string, number>): number {
  const v1 = stat.total_inactive_file;
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = stat.inactive_file;
  if (v2 !== undefined && v2 < usage) return usage - v2;
  return usage;
}

/**
 * The effective memory limit: the cgroup's, unless it is "unlimited" (v1 reports a huge
 * number, v2 "max", read as 0), then the host's memory, as the Docker daemon reports it.
 */
export function effectiveMemoryLimit(limit: number | undefined, hostMemory: number): number {
  if (!limit || limit <= 0 || limit > hostMemory) return hostMemory;
  return limit;
}

export function blockIo(entries: readonly BlkioEntry[] | undefined): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const e of entries ?? []) {
    const op = e.op.toLowerCase();
    if (op === 'read') read += e.value;
    else if (op === 'write') write += e.value;
  }
  return { read, write };
}

/** Receive and transmit bytes of /proc/PID/net/dev, over every interface but loopback. */
export function parseNetDev(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n')) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    // Receive: bytes packets errs drop fifo frame compressed multicast; then transmit: bytes ...
    rx += f[0] ?? 0;
    tx += f[8] ?? 0;
  }
  return { rx, tx };
}

/** Host CPU time in ns from the aggregate "cpu" line of /proc/stat (user..softirq, USER_HZ ticks). */
export function systemCpuNs(procStat: string, ticksPerSecond = 100): number {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line.trim().split(/\s+/).slice(1, 8).map(Number).reduce((a, b) => a + b, 0);
  return (ticks * 1e9) / ticksPerSecond;
}

export function onlineCpus(procStat: string): number {
  return procStat.split('\n').filter((l) => /^cpu\d+\s/.test(l)).length || 1;
}

/** The sample of a container whose cgroup stats were read. */
export function sampleFromCgroup(base: Pick<StatsSample, 'id' | 'name' | 'systemNs' | 'onlineCpus' | 'netRx' | 'netTx'>, stats: CgroupStats, hostMemory: number, pids: number): StatsSample {
  const io = blockIo(stats.blkio.ioServiceBytesRecursive);
  return {
    ...base,
    running: true,
    cpuNs: stats.cpu.usage.total,
    memUsage: stats.memory.usage?.usage ?? 0,
    memLimit: effectiveMemoryLimit(stats.memory.usage?.limit, hostMemory),
    memStat: stats.memory.raw ?? {},
    blkRead: io.read,
    blkWrite: io.write,
    pids: stats.pids.current ?? pids,
  };
}

export function stoppedSample(id: string, name: string): StatsSample {
  return { id, name, running: false, cpuNs: 0, systemNs: 0, onlineCpus: 1, memUsage: 0, memLimit: 0, memStat: {}, netRx: 0, netTx: 0, blkRead: 0, blkWrite: 0, pids: 0 };
}

export function statsRow(prev: StatsSample | undefined, cur: StatsSample): StatsRow {
  const mem = memoryWithoutCache(cur.memUsage, cur.memStat);
  return {
    id: cur.id,
    name: cur.name,
    running: cur.running,
    cpuPercent: cur.running && prev?.running ? cpuPercent(prev, cur) : 0,
    memUsage: mem,
    memLimit: cur.memLimit,
    memPercent: cur.memLimit > 0 ? (mem / cur.memLimit) * 100 : 0,
    netRx: cur.netRx,
    netTx: cur.netTx,
    blkRead: cur.blkRead,
    blkWrite: cur.blkWrite,
    pids: cur.pids,
  };
}
