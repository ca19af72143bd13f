/**
 * A container's changes read from its overlay upper dir: whiteout devices are deletions,
 * opaque directories hide the lower directory's contents, everything else is added (absent
 * below) or changed (present below: overlayfs copies a file up only when it is modified).
 * The upper dir is walked through directory fds (changes/walk.ts): a running container
 * that swaps one of its directories for a symlink fails the walk.
 */
import type { Stats } from 'node:fs';
import { closeFd } from '../../core/fd';
import type { Sys } from '../../sys';
import { byName, type ChangeOp } from '../changes/ops';
import { entryDetails, entryPath, listDir, lstatEntry, openSubdir, openTop, type ChangeWalkOptions } from '../changes/walk';
import { isOverlayWhiteout, OVERLAY_OPAQUE_XATTR } from '../unpack/tree';
import type { LowerView } from './lower-view';

export async function* upperChanges(upper: string, lower: LowerView, sys: Sys, opts: ChangeWalkOptions): AsyncGenerator<ChangeOp> {
  const fd = await openTop(upper, opts);
  try {
    yield* walkDir(fd, '', lower, sys, false, opts);
  } finally {
    await closeFd(fd);
  }
}

async function* walkDir(dirFd: number, rel: string, lower: LowerView, sys: Sys, parentNew: boolean, opts: ChangeWalkOptions): AsyncGenerator<ChangeOp> {
  const names = await listDir(dirFd);
  const whiteouts: string[] = [];
  const others: Array<{ name: string; st: Stats }> = [];
  for (const name of names) {
    const st = await lstatEntry(dirFd, name);
    if (!st) continue;
    if (isOverlayWhiteout(st)) whiteouts.push(name);
    else others.push({ name, st });
  }
  // "." of the fd's path: the directory we hold itself (the /proc link alone would be the link's own xattrs).
  const opaqueValue = rel === '' ? null : sys.lgetxattr(entryPath(dirFd, '.'), OVERLAY_OPAQUE_XATTR);
  const opaque = opaqueValue !== null && opaqueValue.toString() === 'y';
  if (opaque && !parentNew) {
    const present = new Set(others.map((o) => o.name));
    yield { op: 'opaque', rel, deleted: lower.children(rel).filter((n) => !present.has(n)).sort(byName) };
  }
  for (const name of whiteouts) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    // Inside an opaque or new directory nothing below can show through: no whiteout needed.
    if (!opaque && !parentNew && lower.exists(childRel)) yield { op: 'whiteout', rel: childRel };
  }
  for (const { name, st } of others) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const details = await entryDetails(sys, dirFd, name, st);
    if (!details) continue; // gone since its lstat
    const below = parentNew ? undefined : lower.resolve(childRel);
    yield { op: 'entry', rel: childRel, st, ...details, kind: below ? 'C' : 'A' };
    if (st.isDirectory()) {
      const fd = await openSubdir(sys, dirFd, name, st, childRel, opts);
      try {
        // A directory that is new, replaced a non-directory or sits in an opaque directory has
        // nothing below that shows through.
        yield* walkDir(fd, childRel, lower, sys, parentNew || opaque || !below || below.kind !== 'dir', opts);
      } finally {
        await closeFd(fd);
      }
    }
  }
}
