/**
 * Promise versions of the fs calls on raw fd numbers that fs/promises lacks (it works on
 * FileHandles only): the fds of openat2 and friends come from the sys addon as numbers, and
 * code that walks or fills a tree through directory fds needs these without blocking the
 * event loop.
 */
import { close, fchmod, fchown, fstat, open, type Stats } from 'node:fs';
import { promisify } from 'node:util';

export const fstatFd = promisify(fstat) as (fd: number) => Promise<Stats>;
/** open(2) returning the fd number (the caller closes it with closeFd). */
export const openFd = promisify(open) as (path: string, flags: number, mode?: number) => Promise<number>;
export const closeFd = promisify(close) as (fd: number) => Promise<void>;
export const fchownFd = promisify(fchown) as (fd: number, uid: number, gid: number) => Promise<void>;
export const fchmodFd = promisify(fchmod) as (fd: number, mode: number) => Promise<void>;

/** Closes every fd of `fds`, each even if an earlier close failed. */
export async function closeAll(fds: Iterable<number>): Promise<void> {
  await Promise.all([...fds].map((fd) => closeFd(fd).catch(() => undefined)));
}
