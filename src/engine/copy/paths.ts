/**
 * Paths as `cp` reads them. Inside a container a path is relative to the container's root
 * (relative ones too, as docker treats them); on the host, to the working directory. Two
 * spellings carry meaning and are remembered: a trailing "/" (the path must be a directory)
 * and a trailing "/." (copy the directory's contents, not the directory itself).
 */
import { posix, resolve } from 'node:path';
import { BerthError } from '../../core/errors';

export interface CopyPath {
  /** As the user typed it (for messages). */
  given: string;
  /** Normalized, without leading slash; "" is the root itself. Never contains "..". */
  rel: string;
  /** Last component ("" for the root). */
  base: string;
  /** Parent of `rel` ("" for top-level names and the root). */
  parent: string;
  trailingSlash: boolean;
  /** Ends with "/." : the contents of the directory. */
  contentsOnly: boolean;
}

/** A path inside a container. ".." cannot climb above its root (as in a chroot). */
export function containerPath(given: string): CopyPath {
  if (given === '') throw new BerthError('EINVALID_ARGUMENT', 'empty path in the container', { hint: 'give CONTAINER:/path' });
  if (given.includes('\0')) throw new BerthError('EINVALID_ARGUMENT', `invalid path ${JSON.stringify(given)}`);
  const contentsOnly = given === '.' || given.endsWith('/.');
  const trailingSlash = given.endsWith('/') || contentsOnly;
  const norm = posix.normalize(`/${given}`);
  const rel = norm.replace(/^\/+/, '').replace(/\/+$/, '');
  const i = rel.lastIndexOf('/');
  return { given, rel, base: i < 0 ? rel : rel.slice(i + 1), parent: i < 0 ? '' : rel.slice(0, i), trailingSlash, contentsOnly };
}

/** A path on the host: absolute after resolving against the working directory. */
export function hostPath(given: string, cwd = process.cwd()): { abs: string; trailingSlash: boolean; contentsOnly: boolean } {
  if (given === '') throw new BerthError('EINVALID_ARGUMENT', 'empty host path', { hint: 'give a file or directory path, or - for a tar stream' });
  const contentsOnly = given === '.' || given.endsWith('/.');
  return { abs: resolve(cwd, given), trailingSlash: given.endsWith('/') || contentsOnly, contentsOnly };
}

/** `CONTAINER:PATH` -> [container, path]; undefined for a host path (absolute or ./ paths may hold colons). */
export function splitCopyArgument(arg: string): { container: string; path: string } | undefined {
  if (arg.startsWith('/') || arg.startsWith('.')) return undefined;
  const i = arg.indexOf(':');
  if (i <= 0) return undefined;
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}
