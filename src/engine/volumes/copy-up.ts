/**
 * Docker's volume "copy-up": when an empty, newly created volume is mounted where the image
 * has files, the image's files are copied into the volume first (so a database image's
 * initial /var/lib/db appears in its volume). Ownership, modes, times, symlinks and xattrs
 * are kept. The source is walked with lstat and never followed through symlinks, and the
 * starting directory is resolved inside the container's root, so an image cannot make the
 * engine copy host files into a volume.
 */
import { constants as fsc, type BigIntStats, type Stats } from 'node:fs';
import { chmod, chown, copyFile, lchown, lstat, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../../core/errors';
import { sys } from '../../sys';
import { resolveInRoot } from '../spec/root-files';

function copyXattrs(src: string, dst: string): void {
  let names: string[];
  try {
    names = sys().llistxattr(src);
  } catch {
    return;
  }
  for (const n of names) {
    // security.* (e.g. capabilities) is kept; trusted.* belongs to overlayfs internals.
    if (n.startsWith('trusted.')) continue;
    const v = sys().lgetxattr(src, n);
    if (v) {
      try {
        sys().lsetxattr(dst, n, v);
      } catch {
        /* the volume's filesystem may not support this namespace */
      }
    }
  }
}

/** Nanosecond times (Node's utimes would round them), on the link itself for symlinks. */
function setTimes(path: string, st: BigIntStats): void {
  const sec = (ns: bigint) => Number(ns / 1_000_000_000n);
  const nsec = (ns: bigint) => Number(ns % 1_000_000_000n);
  sys().lutimens(path, sec(st.atimeNs), nsec(st.atimeNs), sec(st.mtimeNs), nsec(st.mtimeNs));
}

async function copyEntry(src: string, dst: string, dirs: Array<[string, BigIntStats]>): Promise<void> {
  const st = await lstat(src);
  const times = await lstat(src, { bigint: true });
  if (st.isDirectory()) {
    await mkdir(dst, { recursive: true });
    for (const name of await readdir(src)) await copyEntry(join(src, name), join(dst, name), dirs);
    dirs.push([dst, times]);
    await chown(dst, st.uid, st.gid);
    await chmod(dst, st.mode & 0o7777);
    copyXattrs(src, dst);
    return;
  }
  if (st.isSymbolicLink()) {
    await symlink(await readlink(src), dst);
  } else if (st.isFile()) {
    await copyFile(src, dst, fsc.COPYFILE_EXCL);
  } else if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) {
    const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
    const minor = Number(BigInt(st.rdev) & 0xffn) | Number((BigInt(st.rdev) >> 12n) & 0xfff00n);
    sys().mknod(dst, st.mode, major, minor);
  } else {
    return; // sockets are not copied
  }
  // lchown: the link itself, never its target.
  await lchown(dst, st.uid, st.gid);
  if (!st.isSymbolicLink()) await chmod(dst, st.mode & 0o7777);
  copyXattrs(src, dst);
  setTimes(dst, times);
}

/**
 * Copies the contents of `containerPath` inside `rootfs` into `volumeData` (an empty
 * directory). Returns false when the image has nothing there (then nothing is copied).
 */
export async function copyUp(rootfs: string, containerPath: string, volumeData: string): Promise<boolean> {
  const src = await resolveInRoot(rootfs, containerPath);
  let st: Stats;
  try {
    st = await lstat(src);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return false;
    throw e;
  }
  if (!st.isDirectory()) return false;
  const dirs: Array<[string, BigIntStats]> = [];
  for (const name of await readdir(src)) await copyEntry(join(src, name), join(volumeData, name), dirs);
  // The volume root takes the image directory's owner and mode, as docker does.
  await chown(volumeData, st.uid, st.gid);
  await chmod(volumeData, st.mode & 0o7777);
  // Directory times last: copying their children changed them.
  for (const [d, s] of dirs) setTimes(d, s);
  return true;
}
