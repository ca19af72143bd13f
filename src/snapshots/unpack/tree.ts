/**
 * Path operations inside one layer directory that never follow a symlink.
 *
 * The unpacker is the only writer of its staging directory (private, mode 0700, unknown to
 * every container), so the tree only changes through this object: a component checked with
 * lstat stays what it was until we ourselves replace it, and every replacement goes through
 * `remove`, which forgets what was known below it. That makes a per-component lstat walk as
 * strong as O_NOFOLLOW opens here, without an fd per entry.
 */
import { lstatSync, mkdirSync, rmSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { Sys } from '../../sys';
import { unsafe } from './names';

export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** An overlayfs whiteout: a character device 0:0. */
export function isOverlayWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export class LayerTree {
  /** Relative paths known to be real directories (not symlinks) since we last changed them. */
  private readonly dirs = new Set<string>(['']);
  /** Removal listeners: the unpacker forgets deferred work below removed paths. */
  private readonly onRemove: Array<(rel: string) => void> = [];

  constructor(
    readonly root: string,
    private readonly sys: Sys,
    /** Overlay layers store deletions as whiteout devices; a directory may replace one. */
    private readonly overlayMode: boolean,
  ) {}

  abs(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel);
  }

  whenRemoved(fn: (rel: string) => void): void {
    this.onRemove.push(fn);
  }

  /**
   * Makes sure every parent of `parts` is a real directory, creating missing ones (0755,
   * root-owned, like Docker) when `create`. Returns the parent's relative path, or undefined
   * when a parent is missing and !create. A symlinked parent is refused: following it is how
   * `a -> /etc` then `a/passwd` writes outside the layer.
   */
  parentDir(entry: string, parts: string[], create: boolean): string | undefined {
    let rel = '';
    for (let i = 0; i < parts.length - 1; i++) {
      const next = rel === '' ? parts[i] : `${rel}/${parts[i]}`;
      if (!this.dirs.has(next)) {
        const st = lstatOrUndefined(this.abs(next));
        if (!st) {
          if (!create) return undefined;
          mkdirSync(this.abs(next), { mode: 0o755 });
        } else if (st.isDirectory()) {
          // a real directory: fine
        } else if (this.overlayMode && isOverlayWhiteout(st) && create) {
          // `.wh.d` then `d/x` in one layer: d was deleted, then re-created -> an opaque d.
          this.remove(next);
          mkdirSync(this.abs(next), { mode: 0o755 });
          this.sys.lsetxattr(this.abs(next), OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
        } else {
          throw unsafe(entry, `parent ${JSON.stringify(next)} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}`, st.isSymbolicLink()
            ? 'writing through a symlink inside an archive is refused (it could point outside the layer)'
            : undefined);
        }
        this.dirs.add(next);
      }
      rel = next;
    }
    return rel;
  }

  /** Records that `rel` is now a real directory we created or verified. */
  markDir(rel: string): void {
    this.dirs.add(rel);
  }

  /** Removes whatever is at `rel` (recursively, never following symlinks). */
  remove(rel: string): void {
    rmSync(this.abs(rel), { recursive: true, force: true });
    const prefix = `${rel}/`;
    for (const d of this.dirs) if (d === rel || d.startsWith(prefix)) this.dirs.delete(d);
    for (const fn of this.onRemove) fn(rel);
  }
}
