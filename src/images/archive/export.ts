/**
 * `export`: a tar stream of a container's root filesystem (the engine passes the path where
 * the container's snapshot is mounted), as `docker export` writes it: every entry with its
 * ownership, mode, whole-second mtime and xattrs, hard links kept, sockets left out.
 *
 * The tree may belong to a container that is still running, so it is read by the fd-based
 * walker of src/tar/tree.ts (nothing below the root resolved by host path; a component
 * swapped for a symlink mid-export fails the export instead of archiving a host file,
 * CVE-2018-15664). Export a stopped or paused container for a consistent tree: a file that
 * changes size while it is read fails the export.
 */
import type { Readable } from 'node:stream';
import { sys as realSys, type Sys } from '../../sys';
import { archiveTree, openTreeRoot } from '../../tar/tree';

export interface ExportOptions {
  sys?: Sys;
}

export function exportRootfs(root: string, opts: ExportOptions = {}): Readable {
  return archiveTree(opts.sys ?? realSys(), openTreeRoot(root, 'export'), '', { operation: 'export' }).stream;
}
