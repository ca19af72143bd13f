/**
 * `export`: a tar stream of a container's root filesystem (the engine passes the path where
 * the container's snapshot is mounted), as `docker export` writes it: every entry with its
 * ownership, mode, whole-second mtime and xattrs, hard links kept, sockets left out.
 *
 * The tree may belong to a container that is still running, so nothing in it is resolved by
 * path from the host: each directory is held open by fd and read through /proc/self/fd,
 * entries are lstat'ed (never followed), and files and subdirectories are opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) relative to their directory's fd, then
 * checked to be the inode the lstat saw. A component swapped for a symlink mid-export
 * (symlink-exchange, CVE-2018-15664) therefore fails the open instead of archiving a host
 * file. Export a stopped or paused container for a consistent tree: a file that changes
 * size while it is read fails the export.
 */
import { closeSync, createReadStream, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, constants as fsc, type Stats } from 'node:fs';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { BerthError, wrap } from '../../core/errors';
import { sys as realSys, type Sys } from '../../sys';
import { devNumbers, readXattrs } from '../../tar/entry';
import { TarWriter, type TarWriteEntry } from '../../tar/writer';

export interface ExportOptions {
  sys?: Sys;
}

const procFd = (fd: number): string => `/proc/self/fd/${fd}`;

/** Opens `name` in the directory `dirFd` without following symlinks, checking it is `expected`. */
function openChild(sys: Sys, dirFd: number, name: string, expected: Stats, rel: string): number {
  let fd: number;
  try {
    fd = sys.openBeneath(procFd(dirFd), name);
  } catch (e) {
    throw wrap('ESYSCALL', `export: opening ${rel} (it may have been replaced by a symlink while exporting)`, e);
  }
  const st = fstatSync(fd);
  if (st.ino !== expected.ino || st.dev !== expected.dev) {
    closeSync(fd);
    throw new BerthError('ESTATE', `export: ${rel} changed while it was exported`, { hint: 'stop or pause the container before exporting it' });
  }
  return fd;
}

export function exportRootfs(root: string, opts: ExportOptions = {}): Readable {
  const sys = opts.sys ?? realSys();
  const writer = new TarWriter();
  /** First archived path of each multiply-linked inode: later ones become hard link entries. */
  const links = new Map<string, string>();

  const walk = async (dirFd: number, rel: string): Promise<void> => {
    for (const name of readdirSync(procFd(dirFd)).sort()) {
      const path = `${procFd(dirFd)}/${name}`;
      const entryName = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path);
      const base: Omit<TarWriteEntry, 'type'> = {
        name: entryName,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: Math.floor(st.mtimeMs / 1000),
        xattrs: readXattrs(sys, path),
      };
      if (st.isDirectory()) {
        await writer.add({ ...base, type: 'directory' });
        const fd = openChild(sys, dirFd, name, st, entryName);
        try {
          await walk(fd, entryName);
        } finally {
          closeSync(fd);
        }
      } else if (st.isFile()) {
        const id = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(id) : undefined;
        if (first !== undefined) {
          await writer.add({ ...base, type: 'link', linkname: first, xattrs: undefined });
          continue;
        }
        if (st.nlink > 1) links.set(id, entryName);
        const fd = openChild(sys, dirFd, name, st, entryName);
        const size = fstatSync(fd).size;
        if (size === 0) {
          // An empty body is never read, so its stream would never close the fd.
          closeSync(fd);
          await writer.add({ ...base, type: 'file', size });
          continue;
        }
        const body = createReadStream('', { fd });
        await writer.add({ ...base, type: 'file', size }, body);
        // Closed before the next entry: the caller may unmount the tree right after the end.
        if (!body.closed) await once(body, 'close');
      } else if (st.isSymbolicLink()) {
        await writer.add({ ...base, type: 'symlink', linkname: readlinkSync(path) });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        await writer.add({ ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', ...devNumbers(st.rdev) });
      } else if (st.isFIFO()) {
        await writer.add({ ...base, type: 'fifo' });
      }
      // sockets are not archived (as docker export)
    }
  };

  const produce = async (): Promise<void> => {
    let rootFd: number;
    try {
      rootFd = openSync(root, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
    } catch (e) {
      throw wrap('ENOT_FOUND', `export: cannot open the root filesystem ${root}`, e);
    }
    try {
      await walk(rootFd, '');
    } finally {
      closeSync(rootFd);
    }
    writer.finish();
  };
  produce().catch((e: unknown) => writer.destroy(e instanceof Error ? e : new Error(String(e))));
  return writer.stream;
}
