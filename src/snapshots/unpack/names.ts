/**
 * Entry names of layer archives: normalisation, the checks that keep them inside the layer,
 * and OCI whiteout classification (image-spec layer.md, "Whiteouts").
 */
import { BerthError } from '../../core/errors';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
/** AUFS bookkeeping names (.wh..wh.plnk, .wh..wh.aufs): not content, skipped like Docker does. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';

/**
 * Splits an archive name into components relative to the layer root. `./a//b/` -> [a, b];
 * the root itself (`.`, `./`) -> []. Refuses absolute names and `..` anywhere: a layer
 * entry addresses its own tree only (path traversal, e.g. CVE-2018-15664-style `../../etc`).
 */
export function entryComponents(name: string, what = 'entry'): string[] {
  if (name.includes('\0')) throw unsafe(name, `${what} name contains a NUL byte`);
  if (name.startsWith('/')) throw unsafe(name, `${what} name is absolute`);
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw unsafe(name, `${what} name climbs out with '..'`);
    parts.push(c);
  }
  return parts;
}

export type WhiteoutKind =
  | { kind: 'none' }
  | { kind: 'opaque' }
  | { kind: 'whiteout'; target: string }
  | { kind: 'meta' };

/** Classifies the last component; a whiteout prefix on a parent component is refused. */
export function classifyWhiteout(name: string, parts: string[]): WhiteoutKind {
  for (let i = 0; i < parts.length - 1; i++) {
    // `.wh.../x`: a whiteout name used as a directory would let `x` be read as a whiteout
    // of `..`; whiteouts are only ever leaf entries.
    if (parts[i].startsWith(WHITEOUT_PREFIX)) throw unsafe(name, 'a whiteout name is used as a directory');
  }
  const base = parts[parts.length - 1];
  if (base === undefined || !base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  if (base === OPAQUE_MARKER) return { kind: 'opaque' };
  if (base.startsWith(WHITEOUT_META_PREFIX)) return { kind: 'meta' };
  const target = base.slice(WHITEOUT_PREFIX.length);
  // `.wh.` hides nothing; `.wh..` and `.wh...` would hide the directory itself or its parent.
  if (target === '' || target === '.' || target === '..') throw unsafe(name, `invalid whiteout name ${JSON.stringify(base)}`);
  return { kind: 'whiteout', target };
}

export function unsafe(entry: string, why: string, hint?: string): BerthError {
  return new BerthError('EUNSAFE_ARCHIVE', `layer entry ${JSON.stringify(entry)}: ${why}`, {
    hint: hint ?? 'the layer archive is malformed or hostile; nothing outside the layer was changed',
  });
}
