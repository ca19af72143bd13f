/**
 * Unpacks a tar stream below a directory of a root we hold by fd (a container's root, a
 * volume, or the host destination directory), never by host path:
 *   - each entry's parent directory is resolved with openInRoot, i.e. symlinks are followed
 *     as inside a chroot of the root: an entry under `a/` where `a -> /` lands in the root's
 *     own top directory, never on the host (CVE-2018-15664, CVE-2019-14271);
 *   - the entry itself is made in that directory fd (/proc/self/fd/N/name) with calls that do
 *     not follow a final symlink (mkdir, O_CREAT|O_EXCL|O_NOFOLLOW, symlink, mknod, lchown,
 *     utimensat(AT_SYMLINK_NOFOLLOW)); modes are set through fds. Something swapped in by a
 *     running container between our check and the create makes the create fail instead;
 *   - names with ".." are refused; leading "/" and "./" are dropped (as tar does).
 * Existing files are replaced; an existing directory is merged into, never replaced by a
 * non-directory. Missing parent directories are created (0755).
 *
 * The fs calls are asynchronous; each entry's steps still run in the order above, one entry
 * at a time, and every path they take is below a directory fd we hold, so the thread they
 * run on changes nothing of the defence. The sys addon's calls (openat2, mknod, xattrs,
 * utimensat) stay synchronous: single syscalls on fds and paths below them.
 */
import { constants as fsc, type Stats } from 'node:fs';
import { chmod, chown, lchown, link, lstat, mkdir, open, symlink, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BerthError, errnoCode, wrap } from '../../core/errors';
import { closeAll, closeFd, fchmodFd, fchownFd, fstatFd } from '../../core/fd';
import { readTar, type TarEntry } from '../../tar/reader';
import { IN_ROOT_DIRECTORY, IN_ROOT_NOFOLLOW, IN_ROOT_PATH, type Sys } from '../../sys';

const fdPath = (fd: number) => `/proc/self/fd/${fd}`;

export interface ExtractOptions {
  /** "keep": the archive's uid/gid (cp -a); otherwise these ids for everything. */
  owner: 'keep' | { uid: number; gid: number };
  /** Device nodes are skipped (copies onto the host: a container must not plant them there). */
  skipDevices?: boolean;
  /** setuid/setgid bits are cleared (copies onto the host without -a). */
  clearSetId?: boolean;
}

export interface ExtractResult {
  bytes: number;
  entries: number;
  warnings: string[];
}

/** Entry name -> path components; refuses anything that climbs. */
export function entryComponents(name: string): string[] {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new BerthError('EUNSAFE_ARCHIVE', `tar entry ${JSON.stringify(name)} climbs out of the destination ("..")`, { hint: 'archives for cp must use names relative to the destination' });
  }
  return parts;
}

async function lstatMaybe(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

class Extractor {
  private readonly dirs = new Map<string, number>();
  private readonly dirTimes: Array<{ parent: string; name: string; mtime: number }> = [];
  readonly result: ExtractResult = { bytes: 0, entries: 0, warnings: [] };

  constructor(
    private readonly sys: Sys,
    /** /proc/self/fd/N of the root everything is resolved in. */
    private readonly root: string,
    /** Destination directory, relative to the root. */
    private readonly base: string,
    private readonly opts: ExtractOptions,
  ) {}

  async close(): Promise<void> {
    const fds = [...this.dirs.values()];
    this.dirs.clear();
    await closeAll(fds);
  }

  /** fd of directory `rel` (relative to the root), creating missing components. */
  private async dir(parts: string[]): Promise<number> {
    const rel = parts.join('/');
    const known = this.dirs.get(rel);
    if (known !== undefined) return known;
    let fd: number;
    try {
      fd = this.sys.openInRoot(this.root, rel, IN_ROOT_DIRECTORY);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT' || parts.length === 0) throw wrap('ENOT_FOUND', `copy: directory /${rel} in the destination`, e);
      const parent = await this.dir(parts.slice(0, -1));
      try {
        await mkdir(`${fdPath(parent)}/${parts[parts.length - 1]}`, { mode: 0o755 });
      } catch (e2) {
        if (errnoCode(e2) !== 'EEXIST') throw e2;
      }
      fd = this.sys.openInRoot(this.root, rel, IN_ROOT_DIRECTORY);
    }
    this.dirs.set(rel, fd);
    return fd;
  }

  private ids(e: TarEntry): { uid: number; gid: number } {
    return this.opts.owner === 'keep' ? { uid: e.uid, gid: e.gid } : this.opts.owner;
  }

  private mode(e: TarEntry): number {
    return this.opts.clearSetId ? e.mode & ~0o6000 : e.mode;
  }

  private basePath(parts: string[]): string[] {
    return [...(this.base ? this.base.split('/') : []), ...parts];
  }

  /** Makes room for a new non-directory at `path`: removes what is there, refusing to drop a directory. */
  private async clear(path: string, what: string): Promise<void> {
    const st = await lstatMaybe(path);
    if (!st) return;
    if (st.isDirectory()) throw new BerthError('EEXISTS', `cannot overwrite directory "${what}" with a non-directory`, { hint: 'remove the directory first or copy to another path' });
    await unlink(path);
  }

  async entry(e: TarEntry): Promise<void> {
    // A bounded set of open directories, dropped between entries (never while one is in use).
    if (this.dirs.size > 64) await this.close();
    const parts = entryComponents(e.name);
    if (parts.length === 0) return; // the archive's "./": the destination itself
    const leafName = parts[parts.length - 1]!;
    const parentParts = this.basePath(parts.slice(0, -1));
    const parentFd = await this.dir(parentParts);
    const path = `${fdPath(parentFd)}/${leafName}`;
    const shown = parts.join('/');
    const { uid, gid } = this.ids(e);
    this.result.entries++;
    switch (e.type) {
      case 'directory': {
        const st = await lstatMaybe(path);
        if (st && !st.isDirectory()) await unlink(path);
        if (!st || !st.isDirectory()) await mkdir(path, { mode: 0o700 });
        const fd = this.sys.openBeneath(fdPath(parentFd), leafName);
        try {
          await fchownFd(fd, uid, gid);
          await fchmodFd(fd, this.mode(e));
        } finally {
          await closeFd(fd);
        }
        this.dirTimes.push({ parent: parentParts.join('/'), name: leafName, mtime: e.mtime });
        break;
      }
      case 'file': {
        await this.clear(path, shown);
        const file = await open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of e.body) {
            for (let off = 0; off < chunk.length; ) off += (await file.write(chunk, off)).bytesWritten;
            this.result.bytes += chunk.length;
          }
          await file.chown(uid, gid);
          await file.chmod(this.mode(e));
          await file.utimes(e.atime ?? e.mtime, e.mtime);
        } finally {
          await file.close();
        }
        break;
      }
      case 'symlink':
        await this.clear(path, shown);
        await symlink(e.linkname, path);
        await lchown(path, uid, gid);
        this.setTimes(path, e.mtime);
        break;
      case 'link': {
        const target = entryComponents(e.linkname);
        if (!target.length) throw new BerthError('EUNSAFE_ARCHIVE', `tar entry ${JSON.stringify(e.name)}: hard link without a target`);
        const targetDir = await this.dir(this.basePath(target.slice(0, -1)));
        await this.clear(path, shown);
        // link(2) does not follow a symlink named as the old path: a link to a symlink stays one.
        await link(`${fdPath(targetDir)}/${target[target.length - 1]}`, path);
        break;
      }
      case 'fifo':
      case 'character-device':
      case 'block-device': {
        if (e.type !== 'fifo' && this.opts.skipDevices) {
          this.result.warnings.push(`skipped device node ${shown} (device nodes are not copied to the host)`);
          return;
        }
        await this.clear(path, shown);
        const type = e.type === 'fifo' ? fsc.S_IFIFO : e.type === 'character-device' ? fsc.S_IFCHR : fsc.S_IFBLK;
        this.sys.mknod(path, type | 0o600, e.devmajor, e.devminor);
        await this.setMetadataByPath(parentFd, leafName, uid, gid, this.mode(e));
        this.setTimes(path, e.mtime);
        break;
      }
    }
    if (e.xattrs.size && e.type !== 'link') this.setXattrs(path, e.xattrs);
  }

  /** Owner and mode of a FIFO or device node without opening it: through an O_PATH fd. */
  private async setMetadataByPath(parentFd: number, name: string, uid: number, gid: number, mode: number): Promise<void> {
    const fd = this.sys.openInRoot(fdPath(parentFd), name, IN_ROOT_PATH | IN_ROOT_NOFOLLOW);
    try {
      if ((await fstatFd(fd)).isSymbolicLink()) throw new BerthError('ESTATE', `copy: ${name} was replaced by a symlink during the copy`);
      await chown(fdPath(fd), uid, gid);
      await chmod(fdPath(fd), mode);
    } finally {
      await closeFd(fd);
    }
  }

  private setTimes(path: string, mtime: number): void {
    const sec = Math.floor(mtime);
    this.sys.lutimens(path, sec, 0, sec, Math.round((mtime - sec) * 1e9));
  }

  private setXattrs(path: string, xattrs: Map<string, Buffer>): void {
    for (const [name, value] of xattrs) {
      // trusted.* steers overlayfs; security.selinux is the destination's business.
      if (name.startsWith('trusted.') || name === 'security.selinux') continue;
      try {
        this.sys.lsetxattr(path, name, value);
      } catch {
        this.result.warnings.push(`could not set extended attribute ${name} on ${path.replace(/^\/proc\/self\/fd\/\d+\//, '')}`);
      }
    }
  }

  /** Directory times last: creating their entries changed them. */
  async finish(): Promise<void> {
    for (const d of this.dirTimes.reverse()) {
      const fd = await this.dir(d.parent ? d.parent.split('/') : []);
      this.setTimes(`${fdPath(fd)}/${d.name}`, d.mtime);
    }
  }
}

export async function extractTar(sys: Sys, tar: Readable, root: string, base: string, opts: ExtractOptions): Promise<ExtractResult> {
  const x = new Extractor(sys, root, base, opts);
  try {
    for await (const entry of readTar(tar)) await x.entry(entry);
    await x.finish();
    return x.result;
  } finally {
    await x.close();
  }
}
