/** Small file-system helpers of the snapshotters: atomic writes, flock sections, disk usage. */
import { closeSync, fsyncSync, lstatSync, openSync, readdirSync, renameSync, writeSync, readFileSync, type Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BerthError, diskFullError, wrap } from '../core/errors';
import { LOCK_EX, LOCK_NB, LOCK_UN, type Sys } from '../sys';
import type { Usage } from './types';

/** write temp + fsync + rename (+ fsync of the directory), so readers see old or new, never half. */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw diskFullError(e, path);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw wrap('EINTERNAL', `cannot read ${path}`, e);
  }
}

/**
 * Runs `fn` holding an exclusive flock on `lockFile`. `fn` must be synchronous: two async
 * sections of one process would each take the lock through their own open file description
 * and deadlock the event loop.
 */
export function withFileLock<T>(sys: Sys, lockFile: string, fn: () => T): T {
  const fd = openSync(lockFile, 'a+', 0o600);
  try {
    sys.flock(fd, LOCK_EX);
    try {
      return fn();
    } finally {
      sys.flock(fd, LOCK_UN);
    }
  } finally {
    closeSync(fd);
  }
}

/** Opens `lockFile` and takes an exclusive flock without waiting; returns the fd or undefined if held. */
export function tryLock(sys: Sys, lockFile: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(lockFile, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    sys.flock(fd, LOCK_EX | LOCK_NB);
    return fd;
  } catch (e) {
    closeSync(fd);
    if ((e as NodeJS.ErrnoException).code === 'EWOULDBLOCK' || (e as NodeJS.ErrnoException).code === 'EAGAIN') return undefined;
    throw e;
  }
}

export function lstatMaybe(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function readdirMaybe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Disk usage of a tree (like `du`): allocated blocks, hard links counted once. */
export async function diskUsage(root: string): Promise<Usage> {
  const seen = new Set<string>();
  let size = 0;
  let inodes = 0;
  const visit = async (path: string): Promise<void> => {
    const st = await lstat(path, { bigint: false });
    const id = `${st.dev}:${st.ino}`;
    if (!seen.has(id)) {
      seen.add(id);
      size += st.blocks * 512;
      inodes++;
    }
    if (st.isDirectory()) for (const name of await readdir(path)) await visit(join(path, name));
  };
  try {
    await visit(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { size: 0, inodes: 0 };
    throw e;
  }
  return { size, inodes };
}

const CHAIN_ID = /^sha256:([0-9a-f]{64})$/;

/** The hex part of a sha256 chain id; refuses anything else (the id becomes a directory name). */
export function chainHex(chainId: string): string {
  const m = CHAIN_ID.exec(chainId);
  if (!m) throw new BerthError('EINVALID_ARGUMENT', `invalid chain id ${JSON.stringify(chainId)}`, { hint: 'expected sha256:<64 hex digits>' });
  return m[1];
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Snapshot keys become directory names: refuse separators and dot names. */
export function checkKey(key: string): void {
  if (!KEY.test(key)) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid snapshot key ${JSON.stringify(key)}`, { hint: 'use letters, digits, _ . - (at most 128, not starting with . or -)' });
  }
}
