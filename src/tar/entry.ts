/**
 * Tar entries from what lstat saw: the header fields a layer, an export or a copy records
 * for a file (mode, owner, whole-second mtime, xattrs, device numbers), and the one
 * hard-link tracker every writer uses, so a second name of an inode becomes a link entry.
 */
import type { Stats } from 'node:fs';
import type { Sys } from '../sys';
import type { TarWriteEntry } from './writer';

/** xattrs of `path` (not following a final symlink), without overlayfs' own; undefined where unsupported. */
export function readXattrs(sys: Sys, path: string): Map<string, Buffer> | undefined {
  let names: string[];
  try {
    names = sys.llistxattr(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') return undefined;
    throw e;
  }
  const out = new Map<string, Buffer>();
  for (const name of names.sort()) {
    if (name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.')) continue;
    const v = sys.lgetxattr(path, name);
    if (v) out.set(name, v);
  }
  return out.size ? out : undefined;
}

/** glibc's major()/minor() of a dev_t. */
export function devNumbers(rdev: number | bigint): { devmajor: number; devminor: number } {
  const d = BigInt(rdev);
  const major = ((d & 0x00000000000fff00n) >> 8n) | ((d & 0xfffff00000000000n) >> 32n);
  const minor = (d & 0x00000000000000ffn) | ((d & 0x00000ffffff00000n) >> 12n);
  return { devmajor: Number(major), devminor: Number(minor) };
}

/** The header fields every entry type shares: permission bits, ids, mtime in whole seconds (as Docker), xattrs. */
export function statHeader(st: Stats, name: string, xattrs: Map<string, Buffer> | undefined): Omit<TarWriteEntry, 'type'> {
  return {
    name,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: Math.floor(st.mtimeMs / 1000),
    xattrs,
  };
}

/**
 * The header of a symlink, device or FIFO seen by `st` (no body, nothing to open), or
 * undefined for directories, regular files and sockets (sockets are never archived, as
 * in Docker). `readLink` gives a symlink's target.
 */
export async function specialEntry(st: Stats, base: Omit<TarWriteEntry, 'type'>, readLink: () => Promise<string> | string): Promise<TarWriteEntry | undefined> {
  if (st.isSymbolicLink()) return { ...base, type: 'symlink', linkname: await readLink() };
  if (st.isCharacterDevice() || st.isBlockDevice()) return { ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', ...devNumbers(st.rdev) };
  if (st.isFIFO()) return { ...base, type: 'fifo' };
  return undefined;
}

/** The identity of an inode as lstat reports it (number or bigint stats). */
export interface InodeStats {
  dev: number | bigint;
  ino: number | bigint;
  nlink: number | bigint;
}

/**
 * Remembers the first name under which each multiply-linked inode was written, so that
 * later names of it become hard links to that one (in a tar, or in a copied tree).
 * Inodes with a single link are never remembered.
 */
export class HardLinks<Name = string> {
  private readonly first = new Map<string, Name>();

  /**
   * The name `st`'s inode was recorded under earlier, if any; otherwise records `name` for
   * it (when it has further links) and answers undefined: write the content this time.
   */
  seen(st: InodeStats, name: Name): Name | undefined {
    if (Number(st.nlink) <= 1) return undefined;
    const id = `${st.dev}:${st.ino}`;
    const earlier = this.first.get(id);
    if (earlier !== undefined) return earlier;
    this.first.set(id, name);
    return undefined;
  }
}
