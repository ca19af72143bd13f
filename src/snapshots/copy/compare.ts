/**
 * A container's changes found by comparing its tree with its parent layer's tree (the copy
 * snapshotter has no upper dir). Two entries are the same when type, mode, owner, device
 * numbers, symlink target, xattrs and — for non-directories — size and nanosecond mtime
 * agree: the copy preserved them exactly and any write moves mtime. A directory with
 * changes inside is reported changed too, as `docker diff` does.
 * The container's tree is walked through directory fds (changes/walk.ts): a running
 * container that swaps one of its directories for a symlink fails the walk. The parent
 * layer's tree is a committed snapshot no container writes, read by path.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { closeFd } from '../../core/fd';
import type { Sys } from '../../sys';
import { byName, type ChangeOp } from '../changes/ops';
import { entryDetails, entryPath, listDir, lstatEntry, openSubdir, openTop, type ChangeWalkOptions } from '../changes/walk';

function xattrs(sys: Sys, path: string): string {
  let names: string[];
  try {
    names = sys.llistxattr(path).sort();
  } catch {
    return '';
  }
  return names.map((n) => `${n}=${sys.lgetxattr(path, n)?.toString('hex') ?? ''}`).join('\n');
}

/** `a` (a path in the parent layer) and `b` (a path through a directory fd of the container's tree) agree. */
async function same(sys: Sys, a: string, sa: BigIntStats, b: string, sb: BigIntStats): Promise<boolean> {
  if (sa.mode !== sb.mode || sa.uid !== sb.uid || sa.gid !== sb.gid || sa.rdev !== sb.rdev) return false;
  if (!sa.isDirectory() && (sa.size !== sb.size || sa.mtimeNs !== sb.mtimeNs)) return false;
  if (sa.isSymbolicLink() && (await readlink(a)) !== (await readlink(b))) return false;
  return xattrs(sys, a) === xattrs(sys, b);
}

async function lstatBig(path: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(path, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Changes of the container's tree `upper` against its parent's tree `lower` (undefined: an empty parent). */
export async function compareTrees(lower: string | undefined, upper: string, sys: Sys, opts: ChangeWalkOptions): Promise<ChangeOp[]> {
  const fd = await openTop(upper, opts);
  try {
    return await compareDir(lower, fd, '', sys, opts);
  } finally {
    await closeFd(fd);
  }
}

/** Changes in the container's directory `upperFd` (`rel` in the tree) against `rel` of `lower`. */
async function compareDir(lower: string | undefined, upperFd: number, rel: string, sys: Sys, opts: ChangeWalkOptions): Promise<ChangeOp[]> {
  const lowerDir = lower === undefined ? undefined : rel === '' ? lower : join(lower, rel);
  const upperNames = await listDir(upperFd);
  const lowerNames = lowerDir === undefined ? [] : await readdir(lowerDir);
  const present = new Set(upperNames);
  const ops: ChangeOp[] = [];
  for (const name of lowerNames.filter((n) => !present.has(n)).sort(byName)) {
    ops.push({ op: 'whiteout', rel: rel === '' ? name : `${rel}/${name}` });
  }
  /** The ops of the subdirectory `name` (which lstat saw as `st`), compared with `lowerOfIt`. */
  const inside = async (name: string, st: import('node:fs').Stats, childRel: string, lowerOfIt: string | undefined): Promise<ChangeOp[]> => {
    const fd = await openSubdir(sys, upperFd, name, st, childRel, opts);
    try {
      return await compareDir(lowerOfIt, fd, childRel, sys, opts);
    } finally {
      await closeFd(fd);
    }
  };
  /** The entry op of `name`, with what a layer records of it; none if it is gone since its lstat. */
  const entry = async (name: string, st: import('node:fs').Stats, childRel: string, kind: 'A' | 'C'): Promise<ChangeOp[]> => {
    const details = await entryDetails(sys, upperFd, name, st);
    return details ? [{ op: 'entry', rel: childRel, st, ...details, kind }] : [];
  };
  for (const name of upperNames) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const su = await lstatEntry(upperFd, name, true);
    if (!su) continue;
    const sl = lowerDir === undefined ? undefined : await lstatBig(join(lowerDir, name));
    const st = await lstatEntry(upperFd, name);
    if (!st) continue;
    if (!sl) {
      ops.push(...(await entry(name, st, childRel, 'A')));
      if (su.isDirectory()) ops.push(...(await inside(name, st, childRel, undefined)));
      continue;
    }
    const bothDirs = su.isDirectory() && sl.isDirectory();
    const inner = su.isDirectory() ? await inside(name, st, childRel, bothDirs ? lower : undefined) : [];
    if (!(await same(sys, join(lowerDir as string, name), sl, entryPath(upperFd, name), su)) || inner.length > 0) {
      ops.push(...(await entry(name, st, childRel, 'C')));
    }
    ops.push(...inner);
  }
  return ops;
}
