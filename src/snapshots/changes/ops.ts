/**
 * A container snapshot's changes as an ordered list of operations, produced by each driver
 * (overlay: from the upper dir; copy: by comparing trees) and turned here into `docker diff`
 * lines or a layer tar.
 *
 * Order (deterministic, and what the unpacker of a copy snapshotter needs): depth first,
 * each directory's entry before its contents, inside a directory first its opaque marker,
 * then its whiteouts, then the other children, each group sorted by name (bytewise).
 */
import type { Stats } from 'node:fs';
import type { Change, ChangeKind } from '../types';

export type ChangeOp =
  /**
   * Something present in the writable tree that is new (A) or different (C), with what a
   * layer records of it, read by the walk through its directory fd (no host path to read later).
   */
  | { op: 'entry'; rel: string; st: Stats; xattrs: Map<string, Buffer> | undefined; linkTarget?: string; kind: ChangeKind }
  /** `rel` was deleted (exists below, hidden now). */
  | { op: 'whiteout'; rel: string }
  /** The directory `rel` hides everything below it from the lower layers; `deleted` are the names it hides. */
  | { op: 'opaque'; rel: string; deleted: string[] };

/** Bytewise comparison of names (the order `ls` uses with LC_ALL=C, and tar tools expect). */
export function byName(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}

/** `docker diff` lines, sorted by path. */
export function opsToChanges(ops: Iterable<ChangeOp>): Change[] {
  const out: Change[] = [];
  for (const op of ops) {
    if (op.op === 'entry') out.push({ kind: op.kind, path: `/${op.rel}` });
    else if (op.op === 'whiteout') out.push({ kind: 'D', path: `/${op.rel}` });
    else for (const name of op.deleted) out.push({ kind: 'D', path: op.rel === '' ? `/${name}` : `/${op.rel}/${name}` });
  }
  const seen = new Set<string>();
  return out
    .sort((a, b) => byName(a.path, b.path))
    .filter((c) => (seen.has(c.path) ? false : (seen.add(c.path), true)));
}
