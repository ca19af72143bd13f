/**
 * Where a process's cgroups are on this host and what their limit files say, for v1, hybrid
 * and v2 layouts alike: each line of /proc/PID/cgroup is matched with the host mount of that
 * hierarchy (found in the host's mountinfo, so co-mounted controllers such as cpu,cpuacct and
 * non-standard mount points need no guessing), and the limit files of the controllers we
 * manage are read from the resulting directory.
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { CgroupMembership, MountEntry } from './decode';
import { humanBytes, isUnlimited } from './decode';

export interface LimitFile {
  file: string;
  value: string;
  /** How to read the value: bytes get a human form, "max" and LLONG_MAX are "unlimited". */
  kind: 'bytes' | 'number' | 'list' | 'text';
}

export interface CgroupPlace {
  version: 1 | 2;
  /** v1: the hierarchy's controllers; v2: the controllers enabled for the group (cgroup.controllers). */
  controllers: string[];
  /** The path /proc/PID/cgroup shows. */
  path: string;
  /** The host directory, or undefined when the hierarchy is not mounted where we can see it. */
  dir: string | undefined;
  limits: LimitFile[];
}

type Spec = [file: string, kind: LimitFile['kind']];

/** v1 limit files by controller (what --memory, --cpus, --pids-limit, ... set). */
const V1_FILES: Record<string, Spec[]> = {
  memory: [['memory.limit_in_bytes', 'bytes'], ['memory.memsw.limit_in_bytes', 'bytes'], ['memory.soft_limit_in_bytes', 'bytes'], ['memory.usage_in_bytes', 'bytes']],
  cpu: [['cpu.cfs_quota_us', 'number'], ['cpu.cfs_period_us', 'number'], ['cpu.shares', 'number']],
  cpuset: [['cpuset.cpus', 'list'], ['cpuset.mems', 'list']],
  pids: [['pids.max', 'number'], ['pids.current', 'number']],
  blkio: [['blkio.weight', 'number'], ['blkio.bfq.weight', 'number']],
};

/** The same limits in the unified hierarchy. */
const V2_FILES: Spec[] = [
  ['memory.max', 'bytes'], ['memory.swap.max', 'bytes'], ['memory.low', 'bytes'], ['memory.current', 'bytes'],
  ['cpu.max', 'text'], ['cpu.weight', 'number'],
  ['cpuset.cpus', 'list'], ['cpuset.mems', 'list'],
  ['pids.max', 'number'], ['pids.current', 'number'],
  ['io.weight', 'text'], ['io.bfq.weight', 'text'],
];

export const MANAGED_V1_CONTROLLERS = Object.keys(V1_FILES);

/** The host mount of one hierarchy: cgroup2, or the v1 mount carrying these controllers. */
function hierarchyMount(m: CgroupMembership, hostMounts: MountEntry[]): MountEntry | undefined {
  if (m.hierarchy === 0) return hostMounts.find((e) => e.fstype === 'cgroup2');
  return hostMounts.find((e) => e.fstype === 'cgroup' && m.controllers.every((c) => e.superOptions.includes(c)));
}

/** Host directory of a membership: the mount point plus the path below the mount's root. */
export function cgroupDir(m: CgroupMembership, hostMounts: MountEntry[]): string | undefined {
  const mount = hierarchyMount(m, hostMounts);
  if (!mount) return undefined;
  const rel = relative(mount.root, m.path);
  if (rel.startsWith('..')) return undefined; // outside what this mount shows
  return join(mount.target, rel);
}

async function readOr(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/**
 * The places of a process's cgroups that matter to a container: the managed v1 controllers
 * and the cgroup2 hierarchy (unified on v2 hosts, the mostly empty "unified" one on hybrid
 * hosts). Named hierarchies (name=systemd) and unmanaged controllers are left out.
 */
export async function cgroupPlaces(
  memberships: CgroupMembership[],
  hostMounts: MountEntry[],
  read: (path: string) => string | undefined | Promise<string | undefined> = readOr,
): Promise<CgroupPlace[]> {
  const out: CgroupPlace[] = [];
  for (const m of memberships) {
    const dir = cgroupDir(m, hostMounts);
    if (m.hierarchy === 0) {
      const enabled = dir ? ((await read(join(dir, 'cgroup.controllers'))) ?? '').split(/\s+/).filter(Boolean) : [];
      const limits: LimitFile[] = [];
      if (dir) {
        for (const [file, kind] of V2_FILES) {
          const value = await read(join(dir, file));
          if (value !== undefined) limits.push({ file, value, kind });
        }
      }
      out.push({ version: 2, controllers: enabled, path: m.path, dir, limits });
      continue;
    }
    const managed = m.controllers.filter((c) => c in V1_FILES);
    if (!managed.length) continue;
    const limits: LimitFile[] = [];
    if (dir) {
      for (const c of managed) {
        for (const [file, kind] of V1_FILES[c]!) {
          const value = await read(join(dir, file));
          if (value !== undefined) limits.push({ file, value, kind });
        }
      }
    }
    out.push({ version: 1, controllers: m.controllers, path: m.path, dir, limits });
  }
  return out;
}

/** A limit file's value as a person reads it: "67108864 (64 MiB)", "max (unlimited)". */
export function describeLimit(l: LimitFile): string {
  if (isUnlimited(l.value)) return `${l.value} (unlimited)`;
  if (l.kind === 'bytes' && /^\d+$/.test(l.value) && Number(l.value) >= 1024) return `${l.value} (${humanBytes(Number(l.value))})`;
  if (l.file === 'cpu.max') {
    const [quota, period] = l.value.split(' ');
    if (quota && period && quota !== 'max') return `${l.value} (${(Number(quota) / Number(period)).toFixed(2)} CPUs)`;
  }
  return l.value;
}
