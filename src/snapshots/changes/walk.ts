/**
 * The steps both change walkers (overlay: the upper dir; copy: the writable tree against its
 * parent) take through a container's writable tree, which a running container may change
 * while `diff` or `commit --pause=false` walks it. As the tree archiver does (tar/tree.ts),
 * nothing below the top is resolved by a host path: each directory is held open by fd, its
 * entries are lstat'ed, listed and read (xattrs, symlink targets) through /proc/self/fd/N
 * without following them, and a subdirectory is opened with openChecked (openat2 beneath
 * its parent's fd, no symlinks, then the inode lstat saw). A directory swapped for a
 * symlink to a host directory (CVE-2018-15664) therefore fails the walk instead of making
 * it list host names, host metadata or host symlink targets.
 */
import type { Stats, BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import type { Sys } from '../../sys';
import { readXattrs } from '../../tar/entry';
import { fdPath, openChecked, openTreeRoot } from '../../tar/tree';
import { byName } from './ops';

export interface ChangeWalkOptions {
  /** The command that walks, named in errors: `diff` lists the changes, `commit` exports them as a layer. */
  operation: 'diff' | 'commit';
  /** Test seam: runs after a directory of the writable tree was lstat'ed, before it is opened (where a race would swap it). */
  beforeOpen?: (rel: string) => Promise<void> | void;
}

/** What a layer records of an entry besides its lstat, read when the walk lists it. */
export interface EntryDetails {
  xattrs: Map<string, Buffer> | undefined;
  /** A symlink's target. */
  linkTarget?: string;
}

function vanished(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT';
}

/** An fd of the writable tree's top directory `path` (opened O_NOFOLLOW; the path is the engine's own); the caller closes it. */
export async function openTop(path: string, opts: ChangeWalkOptions): Promise<number> {
  return ((await openTreeRoot(path, opts.operation)) as { fd: number }).fd;
}

/** The names in the directory `dirFd`, sorted bytewise. */
export async function listDir(dirFd: number): Promise<string[]> {
  return (await readdir(fdPath(dirFd))).sort(byName);
}

/** lstat of the entry `name` of the directory `dirFd`; undefined if it is gone. */
export function lstatEntry(dirFd: number, name: string): Promise<Stats | undefined>;
export function lstatEntry(dirFd: number, name: string, bigint: true): Promise<BigIntStats | undefined>;
export async function lstatEntry(dirFd: number, name: string, bigint = false): Promise<Stats | BigIntStats | undefined> {
  try {
    return await lstat(`${fdPath(dirFd)}/${name}`, { bigint });
  } catch (e) {
    if (vanished(e)) return undefined;
    throw e;
  }
}

/** The path of entry `name` of `dirFd` for the l* calls (never followed), e.g. the sys addon's xattr calls. */
export function entryPath(dirFd: number, name: string): string {
  return `${fdPath(dirFd)}/${name}`;
}

/** Xattrs (without overlayfs' own) and symlink target of the entry `name` of `dirFd` that lstat saw as `st`; undefined if it is gone. */
export async function entryDetails(sys: Sys, dirFd: number, name: string, st: Stats): Promise<EntryDetails | undefined> {
  const path = entryPath(dirFd, name);
  try {
    const xattrs = readXattrs(sys, path);
    return st.isSymbolicLink() ? { xattrs, linkTarget: await readlink(path) } : { xattrs };
  } catch (e) {
    if (vanished(e)) return undefined;
    throw e;
  }
}

/**
 * An fd of the subdirectory `name` of `dirFd` (`rel` in the tree), which lstat saw as `st`;
 * the caller closes it. A component swapped for a symlink, or for another inode, fails with
 * ESTATE.
 */
export async function openSubdir(sys: Sys, dirFd: number, name: string, st: Stats, rel: string, opts: ChangeWalkOptions): Promise<number> {
  await opts.beforeOpen?.(rel);
  return openChecked(sys, fdPath(dirFd), name, st, opts.operation, rel);
}
