/**
 * A container's changes read from its overlay upper dir: whiteout devices are deletions,
 * opaque directories hide the lower directory's contents, everything else is added (absent
 * below) or changed (present below: overlayfs copies a file up only when it is modified).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Sys } from '../../sys';
import { byName, type ChangeOp } from '../changes/ops';
import { isOverlayWhiteout, lstatOrUndefined, OVERLAY_OPAQUE_XATTR } from '../unpack/tree';
import type { LowerView } from './lower-view';

export function* upperChanges(upper: string, lower: LowerView, sys: Sys): Generator<ChangeOp> {
  yield* walkDir(upper, '', lower, sys, false);
}

function* walkDir(upper: string, rel: string, lower: LowerView, sys: Sys, parentNew: boolean): Generator<ChangeOp> {
  const dirAbs = rel === '' ? upper : join(upper, rel);
  const names = readdirSync(dirAbs).sort(byName);
  const whiteouts: string[] = [];
  const others: Array<{ name: string; st: import('node:fs').Stats }> = [];
  for (const name of names) {
    const st = lstatOrUndefined(join(dirAbs, name));
    if (!st) continue;
    if (isOverlayWhiteout(st)) whiteouts.push(name);
    else others.push({ name, st });
  }
  const opaqueValue = rel === '' ? null : sys.lgetxattr(dirAbs, OVERLAY_OPAQUE_XATTR);
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
    const abs = join(dirAbs, name);
    const below = parentNew ? undefined : lower.resolve(childRel);
    yield { op: 'entry', rel: childRel, abs, st, kind: below ? 'C' : 'A' };
    if (st.isDirectory()) {
      // A directory that is new, replaced a non-directory or sits in an opaque directory has
      // nothing below that shows through.
      yield* walkDir(upper, childRel, lower, sys, parentNew || opaque || !below || below.kind !== 'dir');
    }
  }
}
