/**
 * Copies a layer tree exactly (the copy snapshotter's "unpack onto the parent" and
 * "create a container rootfs"): every file type, hard links within the tree, ownership,
 * modes, xattrs and nanosecond times, so an untouched copy compares equal to its original.
 * Regular files are cloned (FICLONE) where the filesystem can, else copied.
 */
import { constants, lchownSync, chmodSync, lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, linkSync, type BigIntStats } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sys } from '../../sys';
import { devNumbers, HardLinks } from '../../tar/entry';

const S_IFMT = 0o170000;

function copyXattrs(sys: Sys, from: string, to: string): void {
  let names: string[];
  try {
    names = sys.llistxattr(from);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') return;
    throw e;
  }
  for (const name of names) {
    const v = sys.lgetxattr(from, name);
    if (v !== null) sys.lsetxattr(to, name, v);
  }
}

function setTimes(sys: Sys, path: string, st: BigIntStats): void {
  sys.lutimens(path, Number(st.atimeNs / 1_000_000_000n), Number(st.atimeNs % 1_000_000_000n), Number(st.mtimeNs / 1_000_000_000n), Number(st.mtimeNs % 1_000_000_000n));
}

function setMetadata(sys: Sys, from: string, to: string, st: BigIntStats): void {
  lchownSync(to, Number(st.uid), Number(st.gid));
  if (!st.isSymbolicLink()) chmodSync(to, Number(st.mode & 0o7777n));
  copyXattrs(sys, from, to);
}

/** Copies the tree at `from` into `to` (which must not exist). */
export async function copyTree(sys: Sys, from: string, to: string): Promise<void> {
  const links = new HardLinks();
  const dirs: Array<[string, string, BigIntStats]> = [];
  const visit = async (src: string, dst: string): Promise<void> => {
    const st = lstatSync(src, { bigint: true });
    if (st.isDirectory()) {
      mkdirSync(dst, { mode: 0o700 });
      setMetadata(sys, src, dst, st);
      dirs.push([src, dst, st]);
      for (const name of readdirSync(src)) await visit(join(src, name), join(dst, name));
      return;
    }
    const first = links.seen(st, dst);
    if (first !== undefined) {
      linkSync(first, dst);
      return;
    }
    if (st.isFile()) {
      await copyFile(src, dst, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    } else if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(src), dst);
    } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const { devmajor, devminor } = devNumbers(st.rdev);
      sys.mknod(dst, Number(st.mode & BigInt(S_IFMT)) | 0o600, devmajor, devminor);
    } else {
      return; // sockets belong to running processes, not to images
    }
    setMetadata(sys, src, dst, st);
    setTimes(sys, dst, st);
  };
  await visit(from, to);
  // Directory times last, deepest first: creating entries inside changed them.
  for (let i = dirs.length - 1; i >= 0; i--) setTimes(sys, dirs[i][1], dirs[i][2]);
}
