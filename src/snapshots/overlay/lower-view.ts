/**
 * The merged view of a stack of overlay layer directories, computed the way overlayfs does
 * (Documentation/filesystems/overlayfs.rst): walking down from the top, a whiteout (char
 * 0:0) hides the name below, a non-directory hides everything below, directories merge
 * unless one is opaque (trusted.overlay.opaque=y), which stops the merge below it.
 * Used to tell added from changed paths, and which names an opaque directory hides.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Sys } from '../../sys';
import { isOverlayWhiteout, lstatOrUndefined, OVERLAY_OPAQUE_XATTR } from '../unpack/tree';

export type Resolved = { kind: 'dir'; layers: string[] } | { kind: 'other' } | undefined;

export class LowerView {
  /** `layers`: layer tree directories, top first. */
  constructor(
    private readonly layers: string[],
    private readonly sys: Sys,
  ) {}

  private isOpaque(path: string): boolean {
    const v = this.sys.lgetxattr(path, OVERLAY_OPAQUE_XATTR);
    return v !== null && v.toString() === 'y';
  }

  /** Resolves a relative path ('' is the root) in the merged lower view. */
  resolve(rel: string): Resolved {
    let dirs = this.layers;
    if (rel === '') return { kind: 'dir', layers: dirs };
    const parts = rel.split('/');
    for (let i = 0; i < parts.length; i++) {
      const sub = parts.slice(0, i + 1).join('/');
      const next: string[] = [];
      let found: 'dir' | 'other' | undefined;
      for (const layer of dirs) {
        const st = lstatOrUndefined(join(layer, sub));
        if (!st) continue;
        if (isOverlayWhiteout(st)) break;
        if (!st.isDirectory()) {
          if (!found) found = 'other';
          break;
        }
        found = 'dir';
        next.push(layer);
        if (this.isOpaque(join(layer, sub))) break;
      }
      if (!found) return undefined;
      if (found === 'other') return i === parts.length - 1 ? { kind: 'other' } : undefined;
      dirs = next;
    }
    return { kind: 'dir', layers: dirs };
  }

  exists(rel: string): boolean {
    return this.resolve(rel) !== undefined;
  }

  /** Names visible in directory `rel` of the merged view (empty if it is not a directory). */
  children(rel: string): string[] {
    const r = this.resolve(rel);
    if (!r || r.kind !== 'dir') return [];
    const decided = new Map<string, boolean>();
    for (const layer of r.layers) {
      let names: string[];
      try {
        names = readdirSync(join(layer, rel));
      } catch {
        continue;
      }
      for (const name of names) {
        if (decided.has(name)) continue;
        const st = lstatOrUndefined(join(layer, rel, name));
        decided.set(name, !!st && !isOverlayWhiteout(st));
      }
    }
    return [...decided].filter(([, visible]) => visible).map(([n]) => n);
  }
}
