/** Directory-level operations on a cgroup: making its levels, listing its tasks, removing it. */
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, errnoCode } from '../core/errors';
import { errnoMessage, readOptional } from './files';

/**
 * Makes every missing level of `relPath` under `root`, appending each new directory to `created`
 * (so a failed create can remove exactly what it made) and calling `onLevel` for every level,
 * new or not, from the top down.
 */
export function mkdirLevels(root: string, relPath: string, created: string[], onLevel?: (dir: string, parent: string) => void): string {
  // A level can vanish between our mkdir of it and of its child: the last container of a
  // shared parent (/berth) prunes it when it goes (pruneEmptyLevel). Start over from the top.
  // ENODEV: a file of a level written (onLevel: cpuset.cpus) just as the level was removed.
  for (let attempt = 1; ; attempt++) {
    try {
      return mkdirLevelsOnce(root, relPath, created, onLevel);
    } catch (e) {
      const vanished = e instanceof BerthError && ['ENOENT', 'ENODEV'].includes(errnoCode(e.cause) ?? '');
      if (!vanished || attempt >= 5) throw e;
    }
  }
}

function mkdirLevelsOnce(root: string, relPath: string, created: string[], onLevel?: (dir: string, parent: string) => void): string {
  let dir = root;
  for (const part of relPath.split('/').filter(Boolean)) {
    const parent = dir;
    dir = join(dir, part);
    if (!existsSync(dir)) {
      try {
        mkdirSync(dir);
        created.push(dir);
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') {
          throw new BerthError('ECGROUP', `creating cgroup ${dir}: ${errnoMessage(e)}`, {
            cause: e,
            hint: 'creating cgroups needs root (or a delegated subtree) and a writable cgroup mount',
          });
        }
      }
    }
    onLevel?.(dir, parent);
  }
  return dir;
}

/**
 * Removes the cgroup `relPath` from every hierarchy under `mountRoot` where it is empty (no
 * tasks, no children); busy or absent ones are left as they are. For a parent that Berth made
 * for its own containers, so that the last one to go leaves no trace.
 */
export function pruneEmptyLevel(relPath: string, mountRoot: string): void {
  const rel = relPath.replace(/^\/+|\/+$/g, '');
  if (rel === '') return;
  let roots: string[];
  try {
    roots = [mountRoot, ...readdirSync(mountRoot, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(mountRoot, d.name))];
  } catch {
    return;
  }
  for (const root of roots) {
    try {
      if (isCgroupfs(root)) rmdirSync(join(root, rel));
    } catch {
      /* in use (ENOTEMPTY/EBUSY) or not there */
    }
  }
}

/** Child cgroup directories (control files are regular files and are skipped). */
function childDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(dir, d.name));
  } catch {
    return [];
  }
}

/** Every pid listed in cgroup.procs of `dir` and all its descendants. */
export function collectPids(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string) => {
    for (const line of (readOptional(d, 'cgroup.procs') ?? '').split('\n')) {
      const n = Number(line.trim());
      if (line.trim() !== '' && Number.isInteger(n) && n > 0) out.push(n);
    }
    for (const c of childDirs(d)) walk(c);
  };
  if (existsSync(dir)) walk(dir);
  return [...new Set(out)];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * rmdir of a cgroup and its descendants, deepest first. The kernel keeps a cgroup busy for a
 * moment after its last task exits, so EBUSY is retried for a while before giving up.
 */
export async function removeTree(dir: string, maxWaitMs = 5000): Promise<void> {
  if (!isDir(dir)) return;
  for (const c of childDirs(dir)) await removeTree(c, maxWaitMs);
  const deadline = Date.now() + maxWaitMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT') return;
      if (code === 'ENOTEMPTY' && !isCgroupfs(dir)) {
        // A test directory laid out like a hierarchy holds ordinary files; cgroupfs never does.
        removeFakeControlFiles(dir);
        continue;
      }
      if (code !== 'EBUSY' || Date.now() >= deadline) {
        const tasks = collectPids(dir);
        throw new BerthError('ECGROUP', `removing cgroup ${dir}: ${errnoMessage(e)}`, {
          cause: e,
          hint: tasks.length ? `processes still in it: ${tasks.join(', ')}; kill them first` : 'retry once its tasks have exited',
        });
      }
    }
    await sleep(delay);
  }
}

/** Synchronous best-effort removal, for rolling back a failed create. */
export function removeCreated(created: string[]): void {
  for (const dir of [...created].reverse()) {
    try {
      if (!isCgroupfs(dir)) removeFakeControlFiles(dir);
      rmdirSync(dir);
    } catch {
      // Nothing better to do: the original error is what the caller needs to see.
    }
  }
}

function isDir(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

const CGROUP_SUPER_MAGIC = 0x27e0eb;
const CGROUP2_SUPER_MAGIC = 0x63677270;

function isCgroupfs(dir: string): boolean {
  try {
    const t = Number(statfsSync(dir).type);
    return t === CGROUP_SUPER_MAGIC || t === CGROUP2_SUPER_MAGIC;
  } catch {
    return true;
  }
}

function removeFakeControlFiles(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (!e.isDirectory()) rmSync(join(dir, e.name));
}
