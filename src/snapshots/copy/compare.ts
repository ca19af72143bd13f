/**
 * A container's changes found by comparing its tree with its parent layer's tree (the copy
 * snapshotter has no upper dir). Two entries are the same when type, mode, owner, device
 * numbers, symlink target, xattrs and — for non-directories — size and nanosecond mtime
 * agree: the copy preserved them exactly and any write moves mtime. A directory with
 * changes inside is reported changed too, as `docker diff` does.
 */
import { lstatSync, readdirSync, readlinkSync, type BigIntStats, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { Sys } from '../../sys';
import { byName, type ChangeOp } from '../changes/ops';

function xattrs(sys: Sys, path: string): string {
  let names: string[];
  try {
    names = sys.llistxattr(path).sort();
  } catch {
    return '';
  }
  return names.map((n) => `${n}=${sys.lgetxattr(path, n)?.toString('hex') ?? ''}`).join('\n');
}

function same(sys: Sys, a: string, sa: BigIntStats, b: string, sb: BigIntStats): boolean {
  if (sa.mode !== sb.mode || sa.uid !== sb.uid || sa.gid !== sb.gid || sa.rdev !== sb.rdev) return false;
  if (!sa.isDirectory() && (sa.size !== sb.size || sa.mtimeNs !== sb.mtimeNs)) return false;
  if (sa.isSymbolicLink() && readlinkSync(a) !== readlinkSync(b)) return false;
  return xattrs(sys, a) === xattrs(sys, b);
}

function lstatBig(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Changes of `upper` against `lower` (undefined: an empty parent). */
export function compareTrees(lower: string | undefined, upper: string, sys: Sys): ChangeOp[] {
  return compareDir(lower, upper, '', sys);
}

function compareDir(lower: string | undefined, upper: string, rel: string, sys: Sys): ChangeOp[] {
  const upperDir = rel === '' ? upper : join(upper, rel);
  const lowerDir = lower === undefined ? undefined : rel === '' ? lower : join(lower, rel);
  const upperNames = readdirSync(upperDir).sort(byName);
  const lowerNames = lowerDir === undefined ? [] : readdirSync(lowerDir);
  const present = new Set(upperNames);
  const ops: ChangeOp[] = [];
  for (const name of lowerNames.filter((n) => !present.has(n)).sort(byName)) {
    ops.push({ op: 'whiteout', rel: rel === '' ? name : `${rel}/${name}` });
  }
  for (const name of upperNames) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const abs = join(upperDir, name);
    const su = lstatBig(abs);
    if (!su) continue;
    const sl = lowerDir === undefined ? undefined : lstatBig(join(lowerDir, name));
    const st = lstatSync(abs) as Stats;
    if (!sl) {
      ops.push({ op: 'entry', rel: childRel, abs, st, kind: 'A' });
      if (su.isDirectory()) ops.push(...compareDir(undefined, upper, childRel, sys));
      continue;
    }
    const bothDirs = su.isDirectory() && sl.isDirectory();
    const inner = su.isDirectory() ? compareDir(bothDirs ? lower : undefined, upper, childRel, sys) : [];
    if (!same(sys, join(lowerDir as string, name), sl, abs, su) || inner.length > 0) {
      ops.push({ op: 'entry', rel: childRel, abs, st, kind: 'C' });
    }
    ops.push(...inner);
  }
  return ops;
}
