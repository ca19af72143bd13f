/**
 * The root file system `cp` (and `export`) works in, held as a directory fd so every later
 * lookup is relative to it and resolved in the kernel (openInRoot), never by host path:
 *   - running or paused container: /proc/PID/root, the root of its own mount namespace, so
 *     its volumes, binds and tmpfs mounts are seen exactly as the container sees them; the
 *     pid is checked to still be the container's after opening (pid reuse);
 *   - stopped or created container: its snapshot mounted at a private temporary mount
 *     point under <runroot>/mnt (a killed cp leaves it for `system check` to find), with the
 *     container's lock held so it cannot start meanwhile; volumes and binds are reached by
 *     matching the path against the recorded mount destinations (the mounts do not exist),
 *     and so are the generated /etc/hosts, /etc/hostname and /etc/resolv.conf (read-only);
 *   - --rootfs container: its root directory.
 * All of it asynchronous: the container's lock (an flock) is what orders us against a start.
 */
import { constants as fsc } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, posix } from 'node:path';
import { BerthError, wrap } from '../../core/errors';
import { closeAll, closeFd, openFd } from '../../core/fd';
import { isSameProcessAlive } from '../../runtime/process-info';
import { unmountAll } from '../../snapshots/mounts';
import { sys } from '../../sys';
import type { RecordContext } from '../containers/context';
import { getContainer } from '../containers/lookup';
import { containerName, type ContainerRecord } from '../containers/record';
import { pathExists } from '../../core/fs-exists';

/** A place paths are resolved in: `path` is /proc/self/fd/N of a directory fd we hold. */
export interface ResolveRoot {
  path: string;
  /** The container path this root stands for ("" = the container's root). */
  mountedAt: string;
  readOnly: boolean;
}

export interface ContainerRoot {
  rec: ContainerRecord;
  running: boolean;
  /** Where a container path (CopyPath.rel) is resolved, and the rest of it below that root. */
  route(rel: string): Promise<{ root: ResolveRoot; rel: string }>;
}

export function mountTempDir(runRoot: string): string {
  return join(runRoot, 'mnt');
}

async function openDir(path: string, what: string): Promise<number> {
  try {
    return await openFd(path, fsc.O_RDONLY | fsc.O_DIRECTORY);
  } catch (e) {
    throw wrap('ENOT_FOUND', `opening ${what}`, e);
  }
}

/** Runs `fn` with the container's root open; mounts, locks and fds are released afterwards. */
export async function withContainerRoot<T>(engine: RecordContext, query: string, fn: (root: ContainerRoot) => Promise<T>): Promise<T> {
  const rec = await getContainer(engine, query);
  if (rec.State.Running && rec.State.Pid > 0 && rec.State.Status !== 'restarting') {
    const fd = await openDir(`/proc/${rec.State.Pid}/root`, `the root of container ${containerName(rec)}`);
    try {
      if (!isSameProcessAlive(rec.State.Pid, rec.Berth.pidStartTime)) {
        throw new BerthError('ESTATE', `container ${containerName(rec)} stopped while its root was being opened`, { hint: 'retry the copy' });
      }
      const root: ResolveRoot = { path: `/proc/self/fd/${fd}`, mountedAt: '', readOnly: rec.HostConfig.ReadonlyRootfs === true };
      return await fn({ rec, running: true, route: async (rel) => ({ root, rel }) });
    } finally {
      await closeFd(fd);
    }
  }
  return engine.containerStore.withLock(rec.Id, async (fresh) => {
    if (fresh.State.Running) {
      throw new BerthError('ESTATE', `container ${containerName(fresh)} started while the copy was being prepared`, { hint: 'retry the copy' });
    }
    return withStoppedRoot(engine, fresh, fn);
  });
}

async function withStoppedRoot<T>(engine: RecordContext, rec: ContainerRecord, fn: (root: ContainerRoot) => Promise<T>): Promise<T> {
  let target: string | undefined;
  let dir: string;
  if (rec.Berth.rootfs) dir = rec.Berth.rootfs;
  else {
    if (!rec.Berth.snapshotKey || !engine.snapshotter.active(rec.Berth.snapshotKey)) {
      throw new BerthError('ENOT_FOUND', `container ${containerName(rec)} has no writable layer`, { hint: 'berth system check reports and repairs such containers' });
    }
    target = join(mountTempDir(engine.runRoot), `${rec.Id.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    await mkdir(target, { recursive: true, mode: 0o700 });
    try {
      dir = await engine.snapshotter.mount(rec.Berth.snapshotKey, target);
    } catch (e) {
      await rmdir(target);
      throw e;
    }
  }
  const fds: number[] = [];
  try {
    const rootFd = await openDir(dir, `the root file system of container ${containerName(rec)}`);
    fds.push(rootFd);
    const main: ResolveRoot = { path: `/proc/self/fd/${rootFd}`, mountedAt: '', readOnly: rec.HostConfig.ReadonlyRootfs === true };
    // Binds and volumes by destination, deepest first, each opened once when first used.
    const mounts = rec.Mounts.filter((m) => (m.Type === 'bind' || m.Type === 'volume') && m.Source)
      .map((m) => ({ at: posix.normalize(m.Destination).replace(/^\/+/, '').replace(/\/+$/, ''), source: m.Source, rw: m.RW }))
      .sort((a, b) => b.at.length - a.at.length);
    const files = await etcFileMounts(rec);
    const opened = new Map<string, ResolveRoot>();
    const route = async (rel: string) => {
      const file = files.find((f) => f.at === rel);
      if (file) {
        // The file's host directory is the root, and the file the only name asked for in it.
        let r = opened.get(file.at);
        if (!r) {
          const fd = await openDir(posix.dirname(file.source), `the directory of ${file.source}`);
          fds.push(fd);
          r = { path: `/proc/self/fd/${fd}`, mountedAt: file.at, readOnly: true };
          opened.set(file.at, r);
        }
        return { root: r, rel: posix.basename(file.source) };
      }
      const m = mounts.find((x) => x.at !== '' && (rel === x.at || rel.startsWith(`${x.at}/`)));
      if (!m) return { root: main, rel };
      let r = opened.get(m.at);
      if (!r) {
        const fd = await openDir(m.source, `the source of the mount at /${m.at}`);
        fds.push(fd);
        r = { path: `/proc/self/fd/${fd}`, mountedAt: m.at, readOnly: !m.rw };
        opened.set(m.at, r);
      }
      return { root: r, rel: rel.slice(m.at.length).replace(/^\/+/, '') };
    };
    return await fn({ rec, running: false, route });
  } finally {
    await closeAll(fds);
    if (target) await releaseTempMount(engine, rec.Berth.snapshotKey!, target);
  }
}

/**
 * /etc/hosts, /etc/hostname and /etc/resolv.conf of a stopped container: the engine
 * bind-mounts them from the container's directory at start, so the rootfs holds only empty
 * placeholders; docker's cp shows the generated files. Only files that exist (written by a
 * start; a never-started container has the placeholders, as with docker) and that no mount
 * of the user's replaces. Read-only: they are rewritten at every start.
 */
async function etcFileMounts(rec: ContainerRecord): Promise<{ at: string; source: string }[]> {
  const own = new Set(rec.Mounts.map((m) => posix.normalize(m.Destination).replace(/^\/+/, '').replace(/\/+$/, '')));
  const files: [string, string | undefined][] = [
    ['etc/hosts', rec.HostsPath],
    ['etc/hostname', rec.HostnamePath],
    ['etc/resolv.conf', rec.ResolvConfPath],
  ];
  const out: { at: string; source: string }[] = [];
  for (const [at, source] of files) {
    if (source && !own.has(at) && (await pathExists(source))) out.push({ at, source });
  }
  return out;
}


/**
 * Unmounts a temporary mount of a snapshot and removes its directory. Should a file of it
 * still be open (a stream not yet closed), the mount is detached instead: it goes away when
 * the last file closes, and the container's snapshot is free for `start` at once.
 */
export async function releaseTempMount(engine: RecordContext, key: string, target: string): Promise<void> {
  try {
    await engine.snapshotter.unmount(key, target);
  } catch {
    unmountAll(sys(), target, true);
  }
  await rmdir(target);
}
