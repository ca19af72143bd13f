/**
 * Network namespace files, podman's model: a container's network namespace is made by the
 * engine before any runtime runs, kept alive by a bind mount on a file under the run root
 * (e.g. /run/berth/netns/<id>), and given to the runtime as a path in config.json's
 * linux.namespaces. Any OCI runtime (berth-runtime, runc, crun) then joins the same prepared
 * namespace, and the namespace outlives a restart of the container's process.
 *
 * The calling process never changes namespace: the addon makes the namespace and opens
 * sockets/files inside it from short-lived threads (native/sys/netns.c explains why). Chosen
 * over the alternatives: spawning `unshare --net=FILE` / `ip netns add` costs a process start
 * per container (milliseconds) and parses nothing we could not do in-process; unshare() on
 * Node's own thread would move the whole engine (and every later socket) into the container's
 * network; a long-lived helper process would be a daemon.
 *
 * Mount propagation: the bind mount is made in the caller's mount namespace. Mount namespaces
 * created later (a container's, before its pivot_root) copy it and drop it with the old root,
 * so only the run root's own mount keeps the namespace alive; removeNetns detaches it.
 */
import { constants as fsc } from 'node:fs';
import { mkdir, open, readdir, statfs, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { read as readCb, write as writeCb, close as closeCb } from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError, errnoCode } from '../core/errors';
import { MNT_DETACH, sys, type Sys } from '../sys';
import { Rtnetlink } from './netlink/rtnetlink';

const readFd = promisify(readCb);
const writeToFd = promisify(writeCb);
const closeFdCb = promisify(closeCb);

/** statfs f_type of nsfs, the filesystem of /proc/PID/ns/* and of their bind mounts. */
const NSFS_MAGIC = 0x6e736673;

/** Whether `path` is a mounted namespace file (a live netns), as opposed to a plain or missing file. */
export async function isNetnsMounted(path: string): Promise<boolean> {
  try {
    return Number((await statfs(path)).type) === NSFS_MAGIC;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Makes a new network namespace (loopback up) held by a bind mount on `path`. The directory
 * is created if needed. A plain file left at `path` by a crash between creating the file and
 * mounting on it is reused; a live namespace there is an EEXISTS error (never replaced: a
 * container may be in it).
 */
export async function createNetns(path: string, s: Sys = sys()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  if (await isNetnsMounted(path)) {
    throw new BerthError('EEXISTS', `network namespace file ${path} already holds a namespace`, {
      hint: 'remove it with removeNetns first (or `berth system check --repair` for a leftover)',
    });
  }
  let made = false;
  try {
    const fh = await open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o444);
    await fh.close();
    made = true;
  } catch (e) {
    if (errnoCode(e) !== 'EEXIST') throw netnsError('create the network namespace file', path, e);
  }
  try {
    await s.netnsCreate(path);
  } catch (e) {
    if (made) await unlink(path).catch(() => undefined);
    throw netnsError('create the network namespace', path, e);
  }
}

/**
 * Unmounts (detached: a process still inside keeps the namespace alive until it leaves, the
 * file is free at once) and deletes a namespace file. Idempotent: a missing file, or a file
 * that is no longer a mount, is fine. Stacked mounts (a double create racing) all go.
 */
export async function removeNetns(path: string, s: Sys = sys()): Promise<void> {
  for (let i = 0; i < 8 && (await isNetnsMounted(path)); i++) {
    try {
      s.umount(path, MNT_DETACH);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'EINVAL' || code === 'ENOENT') break;
      throw netnsError('unmount the network namespace', path, e);
    }
  }
  try {
    await unlink(path);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw netnsError('remove the network namespace file', path, e);
  }
}

/**
 * The namespace files in `dir` (the run root's netns directory), each with whether it still
 * holds a namespace: what a reconcile compares with the containers that should have one (a
 * plain file is a crash leftover; a live one no container claims is a leak). [] if no dir.
 */
export async function listNetns(dir: string): Promise<Array<{ path: string; mounted: boolean }>> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw netnsError('list the network namespace files in', dir, e);
  }
  return Promise.all(names.map(async (n) => ({ path: join(dir, n), mounted: await isNetnsMounted(join(dir, n)) })));
}

/** Runs `fn` with rtnetlink inside the namespace file `path`; the socket is closed afterwards. */
export async function withNetns<T>(path: string, fn: (nl: Rtnetlink) => Promise<T>, s: Sys = sys()): Promise<T> {
  const nl = await Rtnetlink.open(path, s);
  try {
    return await fn(nl);
  } finally {
    await nl.close();
  }
}

/**
 * "net.ipv4.ip_forward" or "net/ipv6/conf/eth0/disable_ipv6" to the path under /proc/sys.
 * Interface names may contain dots (eth0.100): write such keys in the slash form.
 */
export function sysctlPath(key: string): string {
  const rel = key.includes('/') ? key : key.replace(/\./g, '/');
  if (!/^net\/[A-Za-z0-9_./-]+$/.test(rel) || rel.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid network sysctl "${key}"`, {
      hint: 'give a key under net., e.g. net.ipv4.conf.eth0.route_localnet or net/ipv6/conf/eth0.100/disable_ipv6',
    });
  }
  return `/proc/sys/${rel}`;
}

/** Opens /proc/sys/<key> as seen from inside the namespace `nsPath`. */
async function openSysctl(nsPath: string, key: string, flags: number, s: Sys): Promise<number> {
  try {
    return await s.netnsOpenFile(nsPath, sysctlPath(key), flags);
  } catch (e) {
    throw netnsError(`open sysctl ${key} in`, nsPath, e);
  }
}

/**
 * Writes a net.* sysctl of the namespace `nsPath` (/proc/sys/net is resolved against the
 * netns of the thread that opens it, so the addon opens it from a thread inside the netns).
 */
export async function setNetnsSysctl(nsPath: string, key: string, value: string, s: Sys = sys()): Promise<void> {
  const fd = await openSysctl(nsPath, key, fsc.O_WRONLY, s);
  try {
    const data = Buffer.from(`${value}\n`);
    await writeToFd(fd, data, 0, data.length, null);
  } catch (e) {
    throw netnsError(`set sysctl ${key}=${value} in`, nsPath, e);
  } finally {
    await closeFdCb(fd);
  }
}

/** Reads a net.* sysctl of the namespace `nsPath` (trimmed). */
export async function getNetnsSysctl(nsPath: string, key: string, s: Sys = sys()): Promise<string> {
  const fd = await openSysctl(nsPath, key, fsc.O_RDONLY, s);
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await readFd(fd, buf, 0, buf.length, null);
    return buf.subarray(0, bytesRead).toString('utf8').trim();
  } finally {
    await closeFdCb(fd);
  }
}

function netnsError(what: string, path: string, cause: unknown): BerthError {
  const code = errnoCode(cause);
  const hint =
    code === 'EPERM' || code === 'EACCES'
      ? 'network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN: run berth as root'
      : code === 'ENOENT'
        ? 'the namespace file does not exist: the container network was removed or never set up'
        : undefined;
  return new BerthError(code === 'ENOENT' ? 'ENOT_FOUND' : 'ESYSCALL', `${what} ${path}: ${(cause as Error)?.message ?? String(cause)}`, {
    ...(hint ? { hint } : {}),
    cause,
  });
}
