/**
 * Advisory file locks (flock) shared between Berth processes. The kernel drops a lock when
 * its holder dies, so a killed pull never leaves a stale lock. Waiting polls with LOCK_NB
 * instead of blocking, because a blocking flock would stall Node's event loop (and with it
 * every other download of the same pull).
 */
import { closeSync, fstatSync, openSync, statSync, constants as fsc } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, errnoCode } from './errors';
import { LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, sys } from '../sys';

export interface FileLock {
  readonly path: string;
  release(): void;
}

export interface LockOptions {
  shared?: boolean;
  signal?: AbortSignal;
}

/** Takes the lock if it is free now; undefined if another process holds it. */
export function tryLock(path: string, opts: { shared?: boolean } = {}): FileLock | undefined {
  for (;;) {
    const fd = openSync(path, fsc.O_RDWR | fsc.O_CREAT, 0o600);
    try {
      sys().flock(fd, (opts.shared ? LOCK_SH : LOCK_EX) | LOCK_NB);
    } catch (e) {
      closeSync(fd);
      const code = errnoCode(e);
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return undefined;
      throw e;
    }
    // The holder before us may have removed the file after unlocking (ingest directories are
    // deleted on commit). A lock on an unlinked inode protects nothing: start again.
    if (sameFile(fd, path)) return makeLock(fd, path);
    sys().flock(fd, LOCK_UN);
    closeSync(fd);
  }
}

/** Waits for the lock (polling), or fails with EABORTED when the signal fires. */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<FileLock> {
  let delay = 10;
  for (;;) {
    if (opts.signal?.aborted) throw new BerthError('EABORTED', `cancelled while waiting for the lock ${path}`, { cause: opts.signal.reason });
    const lock = tryLock(path, opts);
    if (lock) return lock;
    try {
      await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : {});
    } catch (e) {
      throw new BerthError('EABORTED', `cancelled while waiting for the lock ${path}`, { cause: e });
    }
    delay = Math.min(delay * 2, 200);
  }
}

function sameFile(fd: number, path: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = statSync(path);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

function makeLock(fd: number, path: string): FileLock {
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      try {
        sys().flock(fd, LOCK_UN);
      } finally {
        closeSync(fd);
      }
    },
  };
}
