/**
 * `cp` between a container and the host (or a tar stream), in either direction, for running
 * and stopped containers. Data always moves as a tar stream from an archiver (tar/tree.ts)
 * into an extractor (extract.ts); both work on directory fds. Paths inside the container
 * are resolved by the kernel as if chrooted into it (openInRoot), so no symlink or ".."
 * there can lead to a host file; the source and the destination directory are then held
 * open, so a rename racing the copy changes nothing either. An archive unpacked into a
 * container is confined to the destination directory (its own symlinks resolve inside it).
 *
 * Ownership: into a container, files belong to its root (with `archive`: keep the source's
 * ids); onto the host, to the user running cp, with setuid/setgid bits cleared (with
 * `archive`: the container's ids and modes). Device nodes are never created on the host.
 *
 * The fs calls are asynchronous; the fds that pin the source and the destination are opened
 * before any data moves, exactly as before, and later lookups are relative to them.
 */
import { constants as fsc } from 'node:fs';
import { lstat, readlink, stat } from 'node:fs/promises';
import { basename, dirname, posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, errnoCode } from '../../core/errors';
import { closeAll, closeFd, fstatFd, openFd } from '../../core/fd';
import { IN_ROOT_DIRECTORY, IN_ROOT_PATH, sys as realSys } from '../../sys';
import type { RecordContext } from '../containers/context';
import { containerEventAttributes } from '../containers/event-attrs';
import { containerName, type ContainerRecord } from '../containers/record';
import { archiveTree, type TreeTop } from '../../tar/tree';
import { extractTar, type ExtractOptions } from './extract';
import { containerPath, hostPath, type CopyPath } from './paths';
import { planCopy, type CopyDestination } from './plan';
import { withContainerRoot, type ResolveRoot } from './root';

export interface ContainerCopyOptions {
  /** -a: keep ownership (and setuid bits) of the source. */
  archive?: boolean;
  /** -L: follow a symlink named as the source. */
  followLink?: boolean;
  /** Test seam: runs once both ends are held open, before any data moves. */
  afterResolve?: () => Promise<void> | void;
}

export interface ContainerCopyResult {
  /** Bytes of file content copied. */
  bytes: number;
  warnings: string[];
}

const fdPath = (fd: number) => `/proc/self/fd/${fd}`;
const MAX_LINKS = 40;

function notFound(rec: ContainerRecord, given: string, cause?: unknown): BerthError {
  return new BerthError('ENOT_FOUND', `Could not find the file ${given} in container ${containerName(rec)}`, { cause, hint: `look with: berth exec ${containerName(rec)} ls -la ${posix.dirname(given)}` });
}

/** Follows symlinks named by `rel` itself (not only its parents) inside the root, as docker does for destinations. */
async function followFinal(root: ResolveRoot, rel: string): Promise<string> {
  let cur = rel;
  for (let i = 0; i < MAX_LINKS; i++) {
    if (cur === '') return cur;
    const parent = posix.dirname(cur) === '.' ? '' : posix.dirname(cur);
    let fd: number;
    try {
      fd = realSys().openInRoot(root.path, parent, IN_ROOT_DIRECTORY);
    } catch {
      return cur; // no parent: reported by the caller
    }
    try {
      const path = `${fdPath(fd)}/${posix.basename(cur)}`;
      let st;
      try {
        st = await lstat(path);
      } catch {
        return cur;
      }
      if (!st.isSymbolicLink()) return cur;
      const target = await readlink(path);
      cur = posix.normalize(target.startsWith('/') ? `/${target}` : `/${parent}/${target}`).replace(/^\/+/, '').replace(/\/+$/, '');
    } finally {
      await closeFd(fd);
    }
  }
  throw new BerthError('EINVALID_ARGUMENT', `too many levels of symbolic links at ${rel}`);
}

/** What is at `rel` in the root, following symlinks inside it. */
async function kindInRoot(root: ResolveRoot, rel: string): Promise<'dir' | 'other' | undefined> {
  let fd: number;
  try {
    fd = realSys().openInRoot(root.path, rel, IN_ROOT_PATH);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    if (errnoCode(e) === 'ENOTDIR') throw new BerthError('EINVALID_ARGUMENT', `a parent of /${rel} is not a directory`);
    throw e;
  }
  try {
    return (await fstatFd(fd)).isDirectory() ? 'dir' : 'other';
  } finally {
    await closeFd(fd);
  }
}

/** Why writing at container path `rel` is refused (a read-only mount or root file system), if it is. */
function readOnlyAt(rec: ContainerRecord, rel: string): string | undefined {
  const m = rec.Mounts.map((x) => ({ at: posix.normalize(x.Destination).replace(/^\/+/, '').replace(/\/+$/, ''), rw: x.RW }))
    .filter((x) => x.at !== '' && (rel === x.at || rel.startsWith(`${x.at}/`)))
    .sort((a, b) => b.at.length - a.at.length)[0];
  if (m) return m.rw ? undefined : `/${m.at} is mounted read-only`;
  return rec.HostConfig.ReadonlyRootfs ? 'container rootfs is marked read-only' : undefined;
}

/** The source inside a container, held open: its parent dir fd + name, or an fd of it (followed link, root). */
async function openContainerSource(root: ResolveRoot, rec: ContainerRecord, cp: CopyPath, rel: string, follow: boolean): Promise<{ top: TreeTop; isDir: boolean; fds: number[] }> {
  const s = realSys();
  const fds: number[] = [];
  try {
    if (rel === '' || cp.trailingSlash) {
      // "/", "dir/" and "dir/." name a directory: resolve all of it (a trailing slash follows a link).
      const fd = s.openInRoot(root.path, rel, IN_ROOT_DIRECTORY);
      fds.push(fd);
      return { top: { fd }, isDir: true, fds };
    }
    const parent = s.openInRoot(root.path, posix.dirname(rel) === '.' ? '' : posix.dirname(rel), IN_ROOT_DIRECTORY);
    fds.push(parent);
    const name = posix.basename(rel);
    const st = await lstat(`${fdPath(parent)}/${name}`);
    if (st.isSymbolicLink() && follow) {
      const target = s.openInRoot(root.path, rel, IN_ROOT_PATH);
      fds.push(target);
      const tst = await fstatFd(target);
      if (!tst.isDirectory() && !tst.isFile()) throw new BerthError('EUNSUPPORTED', `-L: ${cp.given} leads to something that is neither a file nor a directory`);
      const fd = await openFd(fdPath(target), fsc.O_RDONLY | (tst.isDirectory() ? fsc.O_DIRECTORY : 0));
      fds.push(fd);
      return { top: { fd }, isDir: tst.isDirectory(), fds };
    }
    if (st.isSocket()) throw new BerthError('EUNSUPPORTED', `cannot copy ${cp.given}: it is a socket`);
    if (st.isDirectory() || st.isFile()) {
      // Pinned now: swapping the path for a symlink later changes nothing for this copy.
      const fd = s.openBeneath(fdPath(parent), name);
      fds.push(fd);
      const pinned = await fstatFd(fd);
      if (pinned.ino !== st.ino || pinned.dev !== st.dev) throw new BerthError('ESTATE', `${cp.given} changed while it was being opened`, { hint: 'retry the copy' });
      return { top: { fd }, isDir: st.isDirectory(), fds };
    }
    return { top: { parentFd: parent, name }, isDir: false, fds };
  } catch (e) {
    await closeAll(fds);
    if (errnoCode(e) === 'ENOENT') throw notFound(rec, cp.given, e);
    if (errnoCode(e) === 'ENOTDIR') throw new BerthError('EINVALID_ARGUMENT', `${cp.given} in container ${containerName(rec)} is not a directory`);
    throw e;
  }
}

/** `cp CONTAINER:SRC DEST` (DEST a host path or a stream receiving a tar). */
export async function copyFromContainer(engine: RecordContext, query: string, srcPath: string, dest: { path: string } | { stream: Writable }, opts: ContainerCopyOptions = {}): Promise<ContainerCopyResult> {
  const cp = containerPath(srcPath);
  return withContainerRoot(engine, query, async (croot) => {
    const { root, rel } = await croot.route(cp.rel);
    const source = await openContainerSource(root, croot.rec, cp, rel, opts.followLink === true);
    try {
      let result: ContainerCopyResult;
      if ('stream' in dest) {
        await opts.afterResolve?.();
        const name = source.isDir && (cp.contentsOnly || cp.rel === '') ? '' : cp.base;
        const archive = archiveTree(realSys(), source.top, name, { operation: 'copy' });
        await pipeline(archive.stream, dest.stream, { end: false });
        result = { bytes: await archive.done, warnings: [] };
      } else {
        result = await extractOnHost(source, cp, dest.path, opts);
      }
      await engine.events.emit('container', 'archive-path', croot.rec.Id, containerEventAttributes(croot.rec, { path: `/${cp.rel}` }));
      return result;
    } finally {
      await closeAll(source.fds);
    }
  });
}

async function extractOnHost(source: { top: TreeTop; isDir: boolean }, cp: CopyPath, given: string, opts: ContainerCopyOptions): Promise<ContainerCopyResult> {
  const dst = hostPath(given);
  let exists: CopyDestination['exists'];
  let abs = dst.abs;
  try {
    const st = await stat(abs);
    exists = st.isDirectory() ? 'dir' : 'other';
    if (exists === 'other') abs = await resolveHostLink(abs);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  const plan = planCopy({ isDir: source.isDir, base: cp.base, contentsOnly: cp.contentsOnly }, { exists, trailingSlash: dst.trailingSlash, base: basename(abs), given });
  const dir = plan.into === 'destination' ? abs : dirname(abs);
  let dirFd: number;
  try {
    dirFd = await openFd(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  } catch (e) {
    throw new BerthError('ENOT_FOUND', `no such directory: ${dir}`, { cause: e, hint: 'create the destination directory first' });
  }
  try {
    await opts.afterResolve?.();
    const archive = archiveTree(realSys(), source.top, plan.name, { operation: 'copy' });
    const xopts: ExtractOptions = opts.archive ? { owner: 'keep', skipDevices: true } : { owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }, skipDevices: true, clearSetId: true };
    const r = await extractTar(realSys(), archive.stream, fdPath(dirFd), '', xopts);
    await archive.done;
    return { bytes: r.bytes, warnings: r.warnings };
  } finally {
    await closeFd(dirFd);
  }
}

/** A host path that names a symlink to a file: the file (docker overwrites the target). */
async function resolveHostLink(abs: string): Promise<string> {
  let cur = abs;
  for (let i = 0; i < MAX_LINKS && (await lstat(cur)).isSymbolicLink(); i++) cur = posix.resolve(dirname(cur), await readlink(cur));
  return cur;
}

/** `cp SRC CONTAINER:DEST` (SRC a host path, or a stream of a tar to unpack into DEST). */
export async function copyToContainer(engine: RecordContext, query: string, src: { path: string } | { stream: Readable }, destPath: string, opts: ContainerCopyOptions = {}): Promise<ContainerCopyResult> {
  const cp = containerPath(destPath);
  const host = 'path' in src ? await openHostSource(src.path, opts.followLink === true) : undefined;
  try {
    return await withContainerRoot(engine, query, async (croot) => {
      const { rec } = croot;
      let { root, rel } = await croot.route(cp.rel);
      rel = await followFinal(root, rel);
      const exists = await kindInRoot(root, rel);
      let into: string;
      let name = '';
      if (!host) {
        if (exists !== 'dir') {
          if (exists === undefined) throw notFound(rec, cp.given);
          throw new BerthError('EINVALID_ARGUMENT', `extraction point ${cp.given} in container ${containerName(rec)} is not a directory`, { hint: 'a tar stream unpacks into an existing directory' });
        }
        into = rel;
      } else {
        const plan = planCopy({ isDir: host.isDir, base: host.base, contentsOnly: host.contentsOnly }, { exists, trailingSlash: cp.trailingSlash, base: posix.basename(rel), given: cp.given });
        into = plan.into === 'destination' ? rel : posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
        name = plan.name;
        if ((await kindInRoot(root, into)) !== 'dir') throw notFound(rec, `/${into}`);
      }
      // A mount root of a stopped container that is read-only (also the generated /etc files).
      const readOnly = root.readOnly && root.mountedAt !== '' ? `/${root.mountedAt} is mounted read-only` : readOnlyAt(rec, root.mountedAt ? `${root.mountedAt}/${into}` : into);
      if (readOnly) {
        throw new BerthError('ESTATE', `${readOnly}: cannot copy into ${cp.given} of ${containerName(rec)}`, { hint: 'copy into a writable volume or bind mount of the container' });
      }
      // The destination directory is pinned, and is the root of the extraction: entries
      // cannot leave it, even through symlinks the archive itself creates.
      const intoFd = realSys().openInRoot(root.path, into, IN_ROOT_DIRECTORY);
      try {
        await opts.afterResolve?.();
        const xopts: ExtractOptions = { owner: opts.archive ? 'keep' : { uid: 0, gid: 0 } };
        let r;
        if (host) {
          const archive = archiveTree(realSys(), host.top, name, { operation: 'copy' });
          r = await extractTar(realSys(), archive.stream, fdPath(intoFd), '', xopts);
          await archive.done;
        } else {
          r = await extractTar(realSys(), (src as { stream: Readable }).stream, fdPath(intoFd), '', xopts);
        }
        await engine.events.emit('container', 'extract-to-dir', rec.Id, containerEventAttributes(rec, { path: `/${cp.rel}` }));
        return { bytes: r.bytes, warnings: r.warnings };
      } finally {
        await closeFd(intoFd);
      }
    });
  } finally {
    await closeAll(host?.fds ?? []);
  }
}

/** The host source, held open (the user's own files: symlinks in the path are theirs). */
async function openHostSource(given: string, follow: boolean): Promise<{ top: TreeTop; isDir: boolean; base: string; contentsOnly: boolean; fds: number[] }> {
  const p = hostPath(given);
  let st;
  try {
    st = follow || p.trailingSlash ? await stat(p.abs) : await lstat(p.abs);
  } catch (e) {
    throw new BerthError('ENOT_FOUND', `no such file or directory on the host: ${given}`, { cause: e });
  }
  if (p.trailingSlash && !st.isDirectory()) throw new BerthError('EINVALID_ARGUMENT', `${given} is not a directory`);
  if (st.isSocket()) throw new BerthError('EUNSUPPORTED', `cannot copy ${given}: it is a socket`);
  if (st.isSymbolicLink() || !(st.isDirectory() || st.isFile())) {
    const parent = await openFd(dirname(p.abs), fsc.O_RDONLY | fsc.O_DIRECTORY);
    return { top: { parentFd: parent, name: basename(p.abs) }, isDir: st.isDirectory(), base: basename(p.abs), contentsOnly: p.contentsOnly, fds: [parent] };
  }
  const fd = await openFd(p.abs, fsc.O_RDONLY | (st.isDirectory() ? fsc.O_DIRECTORY : 0));
  return { top: { fd }, isDir: st.isDirectory(), base: basename(p.abs), contentsOnly: p.contentsOnly, fds: [fd] };
}
