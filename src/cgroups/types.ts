/** Public shapes of the cgroup managers: the manager interface, its options and the stats document. */
import type { LinuxResources } from '../spec/types';

/**
 * How the host mounts cgroups: `v1` (one hierarchy per controller), `hybrid` (v1 controllers plus a
 * cgroup2 mount at <root>/unified holding whatever controllers v1 does not use) or `v2` (one unified
 * hierarchy at the mount root).
 */
export type CgroupLayout = 'v1' | 'hybrid' | 'v2';

export interface CgroupOptions {
  /** OCI `linux.cgroupsPath`: absent, absolute, relative, or systemd form `slice:prefix:name`. */
  cgroupsPath?: string;
  id: string;
  /** Where the hierarchies are mounted; /sys/fs/cgroup unless a test points elsewhere. */
  mountRoot?: string;
  /** Skips detection (tests use it with a directory laid out like a hierarchy). */
  layout?: CgroupLayout;
  /** Receives notes about settings this host cannot honour but which are safe to skip. */
  warn?: (msg: string) => void;
  /** The file that says which cgroups this process is in, for relative paths; /proc/self/cgroup by default. */
  selfCgroupFile?: string;
}

export interface CgroupManager {
  readonly layout: CgroupLayout;
  /** The cgroup path inside each hierarchy (for a relative cgroupsPath: inside the first hierarchy). */
  readonly path: string;
  /** Controller name (or "unified" for the cgroup2 directory) -> absolute directory. */
  paths(): Record<string, string>;
  /** Makes the directories and applies `resources`; on failure removes what it made, then throws. */
  create(resources?: LinuxResources): void;
  /** Live update (`runc update`): writes only the settings present in `resources`. */
  apply(resources: LinuxResources): void;
  addProcess(pid: number): void;
  /** Every pid in the cgroup and its descendants. */
  pids(): number[];
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  isFrozen(): boolean;
  stats(): CgroupStats;
  exists(): boolean;
  /** Removes every directory (retrying EBUSY briefly while tasks exit); idempotent. */
  destroy(): Promise<void>;
}

/*
 * The stats document follows the "data" object of `runc events --stats` so that tools reading
 * runc's output read ours: same field names, nanoseconds for times, bytes for sizes.
 */
export interface CpuUsage {
  total: number;
  percpu?: number[];
  percpu_kernel?: number[];
  percpu_user?: number[];
  kernel: number;
  user: number;
}

export interface CpuThrottling {
  periods?: number;
  throttledPeriods?: number;
  throttledTime?: number;
}

export interface MemoryEntry {
  limit: number;
  usage?: number;
  max?: number;
  failcnt: number;
}

export interface MemoryStats {
  cache?: number;
  usage?: MemoryEntry;
  swap?: MemoryEntry;
  kernel?: MemoryEntry;
  kernelTCP?: MemoryEntry;
  /** Every counter of memory.stat as the kernel names it (rss, cache, anon, file, ...). */
  raw?: Record<string, number>;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface BlkioStats {
  ioServiceBytesRecursive?: BlkioEntry[];
  ioServicedRecursive?: BlkioEntry[];
}

export interface HugetlbStats {
  usage?: number;
  max?: number;
  failcnt: number;
}

export interface CgroupStats {
  cpu: { usage: CpuUsage; throttling: CpuThrottling };
  memory: MemoryStats;
  pids: { current?: number; limit?: number };
  blkio: BlkioStats;
  /** Keyed by page size as OCI spells it ("2MB", "1GB"). */
  hugetlb: Record<string, HugetlbStats>;
}
