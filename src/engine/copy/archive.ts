/**
 * A tar stream of one file or directory tree, read through directory fds: every entry is
 * lstat'ed in its parent directory (by fd, never by a host path), and files and directories
 * are opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) relative to that parent and
 * checked to be the inode the lstat saw. A running container that swaps a directory for a
 * symlink to / while we read (CVE-2018-15664) makes the copy fail instead of archiving host
 * files. Symlinks are archived as symlinks, hard links within the tree as hard links,
 * sockets are left out (as docker cp does).
 */
import { closeSync, createReadStream, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { BerthError, wrap } from '../../core/errors';
import { devNumbers, readXattrs } from '../../tar/entry';
import { TarWriter, type TarWriteEntry } from '../../tar/writer';
import type { Sys } from '../../sys';

const fdPath = (fd: number) => `/proc/self/fd/${fd}`;

/** What to archive: an entry `name` of the directory `parentFd`, or an fd already open on it. */
export type ArchiveTop = { parentFd: number; name: string } | { fd: number };

export interface ArchiveResult {
  stream: Readable;
  /** Bytes of file content, once the stream ended. */
  done: Promise<number>;
}

function openChild(sys: Sys, dirFd: number, name: string, expected: Stats, entry: string): number {
  let fd: number;
  try {
    fd = sys.openBeneath(fdPath(dirFd), name);
  } catch (e) {
    throw wrap('ESTATE', `copy: opening ${entry} failed (was it replaced by a symlink during the copy?)`, e);
  }
  const st = fstatSync(fd);
  if (st.ino !== expected.ino || st.dev !== expected.dev) {
    closeSync(fd);
    throw new BerthError('ESTATE', `copy: ${entry} changed while it was copied`, { hint: 'pause or stop the container for a consistent copy' });
  }
  return fd;
}

/**
 * Archives `top` under the entry name `prefix` ("" for a directory: its children become the
 * top-level entries).
 */
export function archiveTree(sys: Sys, top: ArchiveTop, prefix: string): ArchiveResult {
  const writer = new TarWriter();
  const links = new Map<string, string>();
  let bytes = 0;

  const header = (st: Stats, name: string, xattrPath: string | undefined): Omit<TarWriteEntry, 'type'> => ({
    name,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: Math.floor(st.mtimeMs / 1000),
    xattrs: xattrPath === undefined ? undefined : readXattrs(sys, xattrPath),
  });

  /** A directory or regular file we hold open as `fd`, archived as `name`. */
  const addOpen = async (fd: number, st: Stats, name: string, xattrPath: string | undefined): Promise<void> => {
    if (st.isDirectory()) {
      await writer.add({ ...header(st, name, xattrPath), type: 'directory' });
      await walk(fd, name);
      return;
    }
    const id = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? links.get(id) : undefined;
    if (first !== undefined) {
      await writer.add({ ...header(st, name, undefined), type: 'link', linkname: first });
      return;
    }
    if (st.nlink > 1) links.set(id, name);
    const size = fstatSync(fd).size;
    bytes += size;
    // A second fd for the same open file (through its /proc magic link, i.e. the very inode
    // we checked), owned and closed by the read stream.
    if (size === 0) {
      await writer.add({ ...header(st, name, xattrPath), type: 'file', size });
      return;
    }
    const body = createReadStream('', { fd: openSync(fdPath(fd), 'r') });
    try {
      await writer.add({ ...header(st, name, xattrPath), type: 'file', size }, body);
    } finally {
      // Closed before we go on: a stopped container's root is unmounted right after the copy.
      if (!body.closed) {
        if (!body.readableEnded) body.destroy();
        await once(body, 'close');
      }
    }
  };

  /** Entry `child` of the directory `dirFd`, archived as `name`. */
  const addEntry = async (dirFd: number, child: string, name: string): Promise<void> => {
    const path = `${fdPath(dirFd)}/${child}`;
    const st = lstatSync(path);
    if (st.isSymbolicLink()) {
      await writer.add({ ...header(st, name, path), type: 'symlink', linkname: readlinkSync(path) });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      await writer.add({ ...header(st, name, path), type: st.isCharacterDevice() ? 'character-device' : 'block-device', ...devNumbers(st.rdev) });
    } else if (st.isFIFO()) {
      await writer.add({ ...header(st, name, path), type: 'fifo' });
    } else if (st.isDirectory() || st.isFile()) {
      const fd = openChild(sys, dirFd, child, st, name);
      try {
        await addOpen(fd, st, name, path);
      } finally {
        closeSync(fd);
      }
    }
    // sockets are not copied
  };

  const walk = async (dirFd: number, rel: string): Promise<void> => {
    for (const child of readdirSync(fdPath(dirFd)).sort()) await addEntry(dirFd, child, rel ? `${rel}/${child}` : child);
  };

  const contentsOf = async (fd: number, st: Stats): Promise<void> => {
    if (!st.isDirectory()) throw new BerthError('EINVALID_ARGUMENT', 'only a directory can be copied as its contents (a path ending in "/.")');
    await walk(fd, '');
  };

  const produce = async (): Promise<void> => {
    if ('fd' in top) {
      const st = fstatSync(top.fd);
      if (!prefix) await contentsOf(top.fd, st);
      else if (st.isDirectory() || st.isFile()) await addOpen(top.fd, st, prefix, undefined);
      else throw new BerthError('EUNSUPPORTED', `cannot copy ${prefix}: only files, directories and symlinks can be followed`);
    } else if (prefix) {
      await addEntry(top.parentFd, top.name, prefix);
    } else {
      const st = lstatSync(`${fdPath(top.parentFd)}/${top.name}`);
      const fd = openChild(sys, top.parentFd, top.name, st, top.name);
      try {
        await contentsOf(fd, st);
      } finally {
        closeSync(fd);
      }
    }
    writer.finish();
  };

  let resolveDone!: (n: number) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<number>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => undefined);
  produce().then(
    () => resolveDone(bytes),
    (e: unknown) => {
      rejectDone(e);
      writer.destroy(e instanceof Error ? e : new Error(String(e)));
    },
  );
  return { stream: writer.stream, done };
}
