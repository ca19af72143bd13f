/**
 * A tar stream of a file or directory tree that may belong to a running container (`export`,
 * both directions of `cp`), read only through directory fds.
 *
 * A running container can swap any directory of its tree for a symlink to / while we read
 * (symlink exchange, CVE-2018-15664), so nothing below the top is ever resolved by a host
 * path: each directory is held open by fd and listed through /proc/self/fd/N; every entry is
 * lstat'ed in its parent's fd (never followed); directories and files are opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) relative to that fd and checked to be the
 * inode the lstat saw. A swapped component therefore fails the open (or the check) instead
 * of archiving a host file. Symlinks are archived as symlinks, further names of an inode as
 * hard links to its first, sockets are left out (as docker does). A file that changes size
 * while it is read fails the stream (TarWriter counts its bytes): pause or stop a container
 * for a consistent tree.
 *
 * The fs calls are asynchronous (an API server shares its event loop with other clients);
 * their order and flags are what makes the walk safe, and each still names its target by a
 * directory fd we hold, so running them on libuv's threads changes nothing of that.
 */
import { constants as fsc, createReadStream, type ReadStream, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { BerthError, wrap } from '../core/errors';
import { closeFd, fstatFd, openFd } from '../core/fd';
import type { Sys } from '../sys';
import { HardLinks, readXattrs, specialEntry, statHeader } from './entry';
import { TarWriter } from './writer';

/**
 * The directory we hold as `fd`, as a path: /proc/self/fd/N resolves through the fd, never
 * through the host path the directory had, so `${fdPath(fd)}/name` with an l* call (lstat,
 * readlink, lgetxattr) reads the entry of that very directory without following it.
 */
export const fdPath = (fd: number): string => `/proc/self/fd/${fd}`;

/**
 * What to archive: an entry `name` of the directory `parentFd`, or an fd open on a directory
 * or regular file. The caller keeps ownership of these fds unless `owned` says the walk
 * closes it (before the stream ends, so the caller may unmount the tree at once).
 */
export type TreeTop = { parentFd: number; name: string } | { fd: number; owned?: boolean };

/** The operation named in errors, with the wording it takes there. */
const WORDING = {
  copy: { past: 'copied', hint: 'pause or stop the container for a consistent copy' },
  export: { past: 'exported', hint: 'stop or pause the container before exporting it' },
  commit: { past: 'committed', hint: 'let commit pause the container (--pause=true, the default)' },
  diff: { past: 'listed', hint: 'pause or stop the container for a consistent diff' },
} as const;

export type TreeOperation = keyof typeof WORDING;

/**
 * Opens `rel` below the directory `dir` (a path, or /proc/self/fd/N of a directory fd we
 * hold) with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) and checks that it is the inode
 * `expected` that lstat saw: a component swapped for a symlink fails the open, an entry
 * replaced by another fails the check. The one place every tree reader opens what it archives.
 * Errors name the entry as `shown` (its name in the archive).
 */
export async function openChecked(sys: Sys, dir: string, rel: string, expected: Stats, operation: TreeOperation, shown = rel): Promise<number> {
  let fd: number;
  try {
    fd = sys.openBeneath(dir, rel);
  } catch (e) {
    throw wrap('ESTATE', `${operation}: opening ${shown} failed (was it replaced by a symlink during the ${operation}?)`, e);
  }
  let st: Stats;
  try {
    st = await fstatFd(fd);
  } catch (e) {
    await closeFd(fd);
    throw e;
  }
  if (st.ino !== expected.ino || st.dev !== expected.dev) {
    await closeFd(fd);
    throw new BerthError('ESTATE', `${operation}: ${shown} changed while it was ${WORDING[operation].past}`, { hint: WORDING[operation].hint });
  }
  return fd;
}

export interface ArchiveTreeOptions {
  operation: TreeOperation;
  /** Test seam: runs after an entry was lstat'ed, before it is opened (where a race would swap it). */
  beforeOpen?: (entry: string) => Promise<void> | void;
}

export interface TreeArchive {
  stream: Readable;
  /** Bytes of file content, once the walk ended; rejects with what failed it. */
  done: Promise<number>;
}

/**
 * Opens the directory `path` for a walk that closes it (`owned`): O_NOFOLLOW, so a top that
 * is a symlink is refused rather than followed.
 */
export async function openTreeRoot(path: string, operation: TreeOperation): Promise<TreeTop> {
  try {
    return { fd: await openFd(path, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW), owned: true };
  } catch (e) {
    throw wrap('ENOT_FOUND', `${operation}: cannot open the root filesystem ${path}`, e);
  }
}

/**
 * Archives `top` under the entry name `prefix` ("" for a directory: its children become the
 * top-level entries). `top` may be a promise (a root still being opened): a failure to get
 * it fails the stream like any other.
 */
export function archiveTree(sys: Sys, top: TreeTop | Promise<TreeTop>, prefix: string, opts: ArchiveTreeOptions): TreeArchive {
  const writer = new TarWriter();
  const links = new HardLinks();
  let bytes = 0;

  /** `name` in the directory `dirFd`, opened without following symlinks and checked to be `expected`. */
  const openChild = async (dirFd: number, name: string, expected: Stats, entry: string): Promise<number> => {
    await opts.beforeOpen?.(entry);
    return openChecked(sys, fdPath(dirFd), name, expected, opts.operation, entry);
  };

  /**
   * The regular file `fd` as entry `name`. `owned`: the fd is ours and its read stream closes
   * it; otherwise the stream reads a second fd of the very inode, opened through the fd's
   * /proc magic link.
   */
  const addFile = async (fd: number, owned: boolean, st: Stats, name: string, xattrs: Map<string, Buffer> | undefined): Promise<void> => {
    let size: number;
    try {
      size = (await fstatFd(fd)).size;
    } catch (e) {
      if (owned) await closeFd(fd);
      throw e;
    }
    bytes += size;
    const header = { ...statHeader(st, name, xattrs), type: 'file' as const, size };
    if (size === 0) {
      // An empty body is never read, so a stream would never close the fd.
      if (owned) await closeFd(fd);
      await writer.add(header);
      return;
    }
    const body: ReadStream = owned ? createReadStream('', { fd }) : (await open(fdPath(fd), 'r')).createReadStream();
    try {
      await writer.add(header, body);
    } finally {
      // Closed before we go on: a stopped container's root is unmounted right after the walk.
      if (!body.closed) {
        if (!body.readableEnded) body.destroy();
        await once(body, 'close');
      }
    }
  };

  /** A directory or regular file we hold open as `fd` (not ours to close), archived as `name`. */
  const addOpen = async (fd: number, st: Stats, name: string): Promise<void> => {
    if (st.isDirectory()) {
      await writer.add({ ...statHeader(st, name, undefined), type: 'directory' });
      await walk(fd, name);
    } else {
      await addFile(fd, false, st, name, undefined);
    }
  };

  /** Entry `child` of the directory `dirFd`, archived as `name`. */
  const addEntry = async (dirFd: number, child: string, name: string): Promise<void> => {
    const path = `${fdPath(dirFd)}/${child}`;
    const st = await lstat(path);
    if (st.isDirectory()) {
      const fd = await openChild(dirFd, child, st, name);
      try {
        await writer.add({ ...statHeader(st, name, readXattrs(sys, path)), type: 'directory' });
        await walk(fd, name);
      } finally {
        await closeFd(fd);
      }
    } else if (st.isFile()) {
      const first = links.seen(st, name);
      if (first !== undefined) {
        await writer.add({ ...statHeader(st, name, undefined), type: 'link', linkname: first });
        return;
      }
      const xattrs = readXattrs(sys, path);
      await addFile(await openChild(dirFd, child, st, name), true, st, name, xattrs);
    } else {
      const special = await specialEntry(st, statHeader(st, name, readXattrs(sys, path)), () => readlink(path));
      if (special) await writer.add(special);
    }
  };

  const walk = async (dirFd: number, rel: string): Promise<void> => {
    for (const child of (await readdir(fdPath(dirFd))).sort()) await addEntry(dirFd, child, rel ? `${rel}/${child}` : child);
  };

  const contentsOf = async (fd: number, st: Stats): Promise<void> => {
    if (!st.isDirectory()) throw new BerthError('EINVALID_ARGUMENT', 'only a directory can be copied as its contents (a path ending in "/.")');
    await walk(fd, '');
  };

  const archive = async (t: TreeTop): Promise<void> => {
    if ('fd' in t) {
      const st = await fstatFd(t.fd);
      if (!prefix) await contentsOf(t.fd, st);
      else if (st.isDirectory() || st.isFile()) await addOpen(t.fd, st, prefix);
      else throw new BerthError('EUNSUPPORTED', `cannot copy ${prefix}: only files, directories and symlinks can be followed`);
    } else if (prefix) {
      await addEntry(t.parentFd, t.name, prefix);
    } else {
      const st = await lstat(`${fdPath(t.parentFd)}/${t.name}`);
      const fd = await openChild(t.parentFd, t.name, st, t.name);
      try {
        await contentsOf(fd, st);
      } finally {
        await closeFd(fd);
      }
    }
  };

  const produce = async (): Promise<void> => {
    const t = await top;
    try {
      await archive(t);
    } finally {
      if ('fd' in t && t.owned) await closeFd(t.fd);
    }
    writer.finish();
  };

  let resolveDone!: (n: number) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<number>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => undefined); // a caller may watch only the stream
  produce().then(
    () => resolveDone(bytes),
    (e: unknown) => {
      rejectDone(e);
      writer.destroy(e instanceof Error ? e : new Error(String(e)));
    },
  );
  return { stream: writer.stream, done };
}
