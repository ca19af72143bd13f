/**
 * Reading statistics out of the control files into the runc `events --stats` shape. Every file is
 * optional: a missing controller or an older kernel leaves the field out instead of failing.
 */
import { readdirSync } from 'node:fs';
import type { BlkioEntry, CgroupStats, HugetlbStats, MemoryEntry } from './types';
import { readKeyValues, readNumber, readOptional } from './files';

export function emptyStats(): CgroupStats {
  return { cpu: { usage: { total: 0, kernel: 0, user: 0 }, throttling: {} }, memory: {}, pids: {}, blkio: {}, hugetlb: {} };
}

const numbers = (s: string | undefined) => (s ? s.split(/\s+/).filter(Boolean).map(Number) : undefined);

/** Page sizes offered in a directory, from its hugetlb.<size>.<suffix> file names. */
function hugePageSizes(dir: string, suffix: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const sizes = new Set<string>();
  for (const n of names) {
    const m = /^hugetlb\.([0-9]+[KMGkmg]B)\.(.+)$/.exec(n);
    if (m && m[2] === suffix) sizes.add(m[1]!);
  }
  return [...sizes].sort();
}

/** Controller -> directory, for the v1 hierarchies. */
export type V1Dirs = Partial<Record<string, string>>;

export function readStatsV1(dirs: V1Dirs, out: CgroupStats): void {
  if (dirs.cpuacct) {
    const d = dirs.cpuacct;
    const u = out.cpu.usage;
    u.total = readNumber(d, 'cpuacct.usage') ?? 0;
    const percpu = numbers(readOptional(d, 'cpuacct.usage_percpu'));
    if (percpu) u.percpu = percpu;
    const pUser = numbers(readOptional(d, 'cpuacct.usage_percpu_user'));
    const pSys = numbers(readOptional(d, 'cpuacct.usage_percpu_sys'));
    if (pUser) u.percpu_user = pUser;
    if (pSys) u.percpu_kernel = pSys;
    const user = readNumber(d, 'cpuacct.usage_user');
    const sys = readNumber(d, 'cpuacct.usage_sys');
    if (user !== undefined && sys !== undefined) {
      u.user = user;
      u.kernel = sys;
    } else {
      // cpuacct.stat counts USER_HZ ticks (100 per second on every Linux architecture).
      const st = readKeyValues(d, 'cpuacct.stat');
      u.user = (st.user ?? 0) * 10_000_000;
      u.kernel = (st.system ?? 0) * 10_000_000;
    }
  }
  if (dirs.cpu) {
    const st = readKeyValues(dirs.cpu, 'cpu.stat');
    out.cpu.throttling = { periods: st.nr_periods ?? 0, throttledPeriods: st.nr_throttled ?? 0, throttledTime: st.throttled_time ?? 0 };
  }
  if (dirs.memory) {
    const d = dirs.memory;
    const entry = (prefix: string): MemoryEntry | undefined => {
      const usage = readNumber(d, `${prefix}.usage_in_bytes`);
      if (usage === undefined) return undefined;
      return {
        usage,
        max: readNumber(d, `${prefix}.max_usage_in_bytes`) ?? 0,
        limit: readNumber(d, `${prefix}.limit_in_bytes`) ?? 0,
        failcnt: readNumber(d, `${prefix}.failcnt`) ?? 0,
      };
    };
    const raw = readKeyValues(d, 'memory.stat');
    const usage = entry('memory');
    const swap = entry('memory.memsw');
    const kernel = entry('memory.kmem');
    const kernelTCP = entry('memory.kmem.tcp');
    out.memory = {
      ...(raw.cache !== undefined ? { cache: raw.cache } : {}),
      ...(usage ? { usage } : {}),
      ...(swap ? { swap } : {}),
      ...(kernel ? { kernel } : {}),
      ...(kernelTCP ? { kernelTCP } : {}),
      raw,
    };
  }
  if (dirs.pids) readPids(dirs.pids, out);
  if (dirs.blkio) {
    // The throttle files count I/O with every scheduler; the CFQ/BFQ ones only with that scheduler.
    const d = dirs.blkio;
    const bytes = parseBlkio(readOptional(d, 'blkio.throttle.io_service_bytes_recursive'));
    const ios = parseBlkio(readOptional(d, 'blkio.throttle.io_serviced_recursive'));
    out.blkio = { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
  }
  if (dirs.hugetlb) {
    const d = dirs.hugetlb;
    for (const size of hugePageSizes(d, 'limit_in_bytes')) {
      out.hugetlb[size] = {
        usage: readNumber(d, `hugetlb.${size}.usage_in_bytes`) ?? 0,
        max: readNumber(d, `hugetlb.${size}.max_usage_in_bytes`) ?? 0,
        failcnt: readNumber(d, `hugetlb.${size}.failcnt`) ?? 0,
      };
    }
  }
}

/** "8:0 Read 4096" lines; the closing "Total N" line is dropped. */
export function parseBlkio(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
  }
  return out;
}

/** io.stat "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." into runc's v1-style entries. */
export function parseIoStat(text: string | undefined): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const major = Number(m[1]);
    const minor = Number(m[2]);
    const kv: Record<string, number> = {};
    for (const p of kvs) {
      const [k, v] = p.split('=');
      if (k && v !== undefined) kv[k] = Number(v);
    }
    if (kv.rbytes !== undefined) bytes.push({ major, minor, op: 'Read', value: kv.rbytes });
    if (kv.wbytes !== undefined) bytes.push({ major, minor, op: 'Write', value: kv.wbytes });
    if (kv.rios !== undefined) ios.push({ major, minor, op: 'Read', value: kv.rios });
    if (kv.wios !== undefined) ios.push({ major, minor, op: 'Write', value: kv.wios });
  }
  return { bytes, ios };
}

function readPids(dir: string, out: CgroupStats): void {
  out.pids = { current: readNumber(dir, 'pids.current') ?? 0, limit: readNumber(dir, 'pids.max') ?? 0 };
}

/**
 * cgroup2 statistics. `only`, when given, limits reading to those controllers (hybrid hosts read
 * just the controllers that live in the cgroup2 mount).
 */
export function readStatsV2(dir: string, out: CgroupStats, only?: Set<string>): void {
  const want = (c: string) => !only || only.has(c);
  if (want('cpu')) {
    const st = readKeyValues(dir, 'cpu.stat');
    if (st.usage_usec !== undefined) {
      out.cpu.usage = { total: st.usage_usec * 1000, user: (st.user_usec ?? 0) * 1000, kernel: (st.system_usec ?? 0) * 1000 };
      out.cpu.throttling = {
        periods: st.nr_periods ?? 0,
        throttledPeriods: st.nr_throttled ?? 0,
        throttledTime: (st.throttled_usec ?? 0) * 1000,
      };
    }
  }
  if (want('memory')) {
    const current = readNumber(dir, 'memory.current');
    if (current !== undefined) {
      const raw = readKeyValues(dir, 'memory.stat');
      const events = readKeyValues(dir, 'memory.events');
      out.memory = {
        ...(raw.file !== undefined ? { cache: raw.file } : {}),
        usage: {
          usage: current,
          max: readNumber(dir, 'memory.peak') ?? 0,
          limit: readNumber(dir, 'memory.max') ?? 0,
          failcnt: events.max ?? 0,
        },
        raw,
      };
      const swap = readNumber(dir, 'memory.swap.current');
      if (swap !== undefined) {
        out.memory.swap = {
          usage: swap,
          max: readNumber(dir, 'memory.swap.peak') ?? 0,
          limit: readNumber(dir, 'memory.swap.max') ?? 0,
          failcnt: readKeyValues(dir, 'memory.swap.events').max ?? 0,
        };
      }
    }
  }
  if (want('pids') && readOptional(dir, 'pids.current') !== undefined) readPids(dir, out);
  if (want('io')) {
    const text = readOptional(dir, 'io.stat');
    if (text !== undefined) {
      const { bytes, ios } = parseIoStat(text);
      out.blkio = { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
    }
  }
  if (want('hugetlb')) {
    for (const size of hugePageSizes(dir, 'max')) {
      const h: HugetlbStats = {
        usage: readNumber(dir, `hugetlb.${size}.current`) ?? 0,
        failcnt: readKeyValues(dir, `hugetlb.${size}.events`).max ?? 0,
      };
      out.hugetlb[size] = h;
    }
  }
}
