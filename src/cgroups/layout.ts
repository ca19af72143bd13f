/**
 * Finding the hierarchies: which layout the host uses and where each v1 controller is mounted.
 * Detection looks at files rather than statfs magic numbers so that a test directory laid out like
 * a hierarchy is detected the same way as the real mount.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CgroupLayout } from './types';
import { compareStrings } from '../core/compare';

export const DEFAULT_MOUNT_ROOT = '/sys/fs/cgroup';

/** v1 controllers Berth knows how to drive (named hierarchies such as name=systemd have none: see v1NamedHierarchies). */
export const V1_CONTROLLERS = [
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'devices',
  'freezer',
  'blkio',
  'pids',
  'net_cls',
  'net_prio',
  'hugetlb',
  'rdma',
  'perf_event',
  'misc',
] as const;

export function detectLayout(mountRoot: string = DEFAULT_MOUNT_ROOT): CgroupLayout {
  const isCgroup2 = (dir: string) => {
    try {
      return statSync(join(dir, 'cgroup.controllers')).isFile();
    } catch {
      return false;
    }
  };
  if (isCgroup2(mountRoot)) return 'v2';
  if (isCgroup2(join(mountRoot, 'unified'))) return 'hybrid';
  return 'v1';
}

/** One mounted v1 hierarchy: its root directory and the controllers it carries (e.g. cpu,cpuacct). */
export interface V1Hierarchy {
  root: string;
  controllers: string[];
}

/**
 * The v1 hierarchies under mountRoot. Co-mounted controllers appear as one directory named
 * "cpu,cpuacct" plus symlinks "cpu" and "cpuacct"; resolving links merges them into one entry.
 */
export function v1Hierarchies(mountRoot: string): V1Hierarchy[] {
  // The host's hierarchies do not change while a CLI runs, and finding them costs a realpath
  // and two stats per entry: remember them for the real mount root (fake trees in tests are
  // read afresh every time).
  if (mountRoot === DEFAULT_MOUNT_ROOT) {
    hostHierarchies ??= scanV1Hierarchies(mountRoot);
    return hostHierarchies.map((h) => ({ root: h.root, controllers: [...h.controllers] }));
  }
  return scanV1Hierarchies(mountRoot);
}

let hostHierarchies: V1Hierarchy[] | undefined;

function scanV1Hierarchies(mountRoot: string): V1Hierarchy[] {
  const known = new Set<string>(V1_CONTROLLERS);
  const byRoot = new Map<string, V1Hierarchy>();
  let names: string[];
  try {
    names = readdirSync(mountRoot);
  } catch {
    return [];
  }
  for (const name of names) {
    if (name === 'unified') continue;
    let real: string;
    try {
      real = realpathSync.native(join(mountRoot, name));
      if (!statSync(real).isDirectory() || !statSync(join(real, 'cgroup.procs')).isFile()) continue;
    } catch {
      continue;
    }
    const controllers = basename(real)
      .split(',')
      .filter((c) => known.has(c));
    if (controllers.length === 0 || byRoot.has(real)) continue;
    byRoot.set(real, { root: real, controllers });
  }
  return [...byRoot.values()].sort((a, b) => compareStrings(a.root, b.root));
}

/**
 * The named v1 hierarchies (no controllers, e.g. `name=systemd` at /sys/fs/cgroup/systemd) of
 * the host, from /proc/self/mountinfo: a container gets a cgroup of its own in them too, as
 * runc does, so that the cgroup mount inside shows that cgroup and not the host's whole tree
 * (other engines' containers, the root's release_agent). A test tree under another root has none.
 */
export function v1NamedHierarchies(mountRoot: string, mountinfo = '/proc/self/mountinfo'): Array<{ root: string; name: string }> {
  if (mountRoot !== DEFAULT_MOUNT_ROOT) return [];
  let text: string;
  try {
    text = readFileSync(mountinfo, 'utf8');
  } catch {
    return [];
  }
  const out: Array<{ root: string; name: string }> = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , superOptions] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' || !superOptions) continue;
    const name = superOptions.split(',').find((o) => o.startsWith('name='));
    const mountPoint = line.split(' ')[4];
    if (!name || !mountPoint || !mountPoint.startsWith(`${mountRoot}/`) || out.some((h) => h.root === mountPoint)) continue;
    out.push({ root: mountPoint, name });
  }
  return out.sort((a, b) => compareStrings(a.root, b.root));
}

/** Controllers the cgroup2 root offers (its cgroup.controllers). */
export function unifiedControllers(unifiedRoot: string): Set<string> {
  try {
    return new Set(readFileSync(join(unifiedRoot, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean));
  } catch {
    return new Set();
  }
}
