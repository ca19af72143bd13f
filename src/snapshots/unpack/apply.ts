/**
 * Applies one uncompressed layer tar to a directory: the per-layer directory of the overlay
 * snapshotter (deletions become overlay whiteouts), or a copy of the parent's tree for the
 * copy snapshotter (deletions delete). See names.ts and tree.ts for the containment rules.
 *
 * Entry by entry, in archive order: name checks, parents (never through a symlink), replace
 * what is there (a directory over a directory merges), create, then ownership, mode (after
 * chown, which clears setuid bits), xattrs (after chown, which drops security.capability)
 * and times; directory times are set last, deepest first, since creating children changes them.
 */
import { closeSync, linkSync, openSync, writeSync, lchownSync, chmodSync, lutimesSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { BerthError, diskFullError, isDiskFull, wrap } from '../../core/errors';
import type { Sys } from '../../sys';
import { readTar, type TarEntry } from '../../tar/reader';
import { classifyWhiteout, entryComponents, unsafe } from './names';
import { LayerTree, lstatOrUndefined, OVERLAY_OPAQUE_XATTR } from './tree';

export type ApplyMode = 'overlay' | 'copy';

export interface ApplyOptions {
  mode: ApplyMode;
  sys: Sys;
  /** Device nodes in archives: refused when false (e.g. without CAP_MKNOD). Default true. */
  allowDevices?: boolean;
}

export interface ApplyResult {
  entries: number;
  /** Bytes of regular-file content written. */
  bytes: number;
}

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** xattrs an archive may not set: overlayfs' own metadata (redirects, origins, metacopy) would let a layer point into other layers. */
function forbiddenXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

/**
 * Creates `abs` (O_CREAT|O_EXCL: the name was just cleared, and an existing symlink would make
 * the open fail rather than be followed) and writes the entry's bytes. Iterating the body,
 * rather than piping it, makes a truncated archive reject here instead of hanging.
 */
async function writeNewFile(e: TarEntry, abs: string): Promise<void> {
  // Synchronous writes: page-cache writes take microseconds, while a thread-pool round trip
  // per open/write/close made unpacking small files several times slower.
  const fd = openSync(abs, 'wx', 0o600);
  let written = 0;
  try {
    for await (const chunk of e.body) {
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      written += chunk.length;
    }
  } catch (err) {
    // A full disk is not a truncated archive.
    if (isDiskFull(err)) throw diskFullError(err, abs);
    if (written < e.size) {
      throw new BerthError('EBAD_ARCHIVE', `layer entry ${JSON.stringify(e.name)}: the archive ended after ${written} of ${e.size} bytes (truncated or corrupt)`, { cause: err });
    }
    throw err;
  } finally {
    closeSync(fd);
  }
}

export async function applyLayerTar(root: string, tar: Readable, opts: ApplyOptions): Promise<ApplyResult> {
  const tree = new LayerTree(root, opts.sys, opts.mode === 'overlay');
  const unpacker = new Unpacker(tree, opts);
  for await (const entry of readTar(tar)) {
    await unpacker.apply(entry);
  }
  unpacker.finish();
  return { entries: unpacker.entries, bytes: unpacker.bytes };
}

class Unpacker {
  entries = 0;
  bytes = 0;
  /** Paths created by this archive's own entries (hardlink targets; whiteouts do not hide them). */
  private readonly extracted = new Set<string>();
  private readonly dirTimes = new Map<string, { atime: number; mtime: number }>();

  constructor(
    private readonly tree: LayerTree,
    private readonly opts: ApplyOptions,
  ) {
    tree.whenRemoved((rel) => {
      const prefix = `${rel}/`;
      for (const k of this.dirTimes.keys()) if (k === rel || k.startsWith(prefix)) this.dirTimes.delete(k);
      for (const k of this.extracted) if (k === rel || k.startsWith(prefix)) this.extracted.delete(k);
    });
  }

  async apply(e: TarEntry): Promise<void> {
    this.entries++;
    const parts = entryComponents(e.name);
    if (parts.length === 0) return; // the layer root itself ("./"): its metadata is ours, not the archive's
    const wh = classifyWhiteout(e.name, parts);
    if (wh.kind === 'meta') return;
    if (wh.kind === 'opaque') return this.opaque(e.name, parts);
    if (wh.kind === 'whiteout') return this.whiteout(e.name, [...parts.slice(0, -1), wh.target]);

    const parent = this.tree.parentDir(e.name, parts, true) as string;
    const rel = parent === '' ? parts[parts.length - 1] : `${parent}/${parts[parts.length - 1]}`;
    const abs = this.tree.abs(rel);
    const existing = lstatOrUndefined(abs);
    if (existing && !(e.type === 'directory' && existing.isDirectory())) this.tree.remove(rel);

    try {
      switch (e.type) {
        case 'directory':
          if (!existing || !existing.isDirectory()) mkdirSync(abs, { mode: 0o700 });
          this.tree.markDir(rel);
          break;
        case 'file':
          await writeNewFile(e, abs);
          this.bytes += e.size;
          break;
        case 'symlink':
          // The target text is content; only writes *through* symlinks are dangerous.
          symlinkSync(e.linkname, abs);
          break;
        case 'link':
          linkSync(this.hardlinkTarget(e), abs);
          this.extracted.add(rel);
          return; // shares the target's inode and therefore its metadata
        case 'character-device':
        case 'block-device':
        case 'fifo':
          if (e.type !== 'fifo' && this.opts.allowDevices === false) {
            throw unsafe(e.name, 'device nodes are not permitted here', 'unpacking without CAP_MKNOD cannot create devices');
          }
          this.opts.sys.mknod(abs, (e.type === 'fifo' ? S_IFIFO : e.type === 'block-device' ? S_IFBLK : S_IFCHR) | 0o600, e.devmajor, e.devminor);
          break;
      }
      this.extracted.add(rel);
      this.setMetadata(e, rel, abs);
    } catch (err) {
      if (err instanceof BerthError) throw err;
      throw wrap('EBAD_ARCHIVE', `layer entry ${JSON.stringify(e.name)}: cannot create ${abs}`, err);
    }
  }

  finish(): void {
    // Deepest first: setting a child's time does not touch its parent's, but creating it did.
    const dirs = [...this.dirTimes.entries()].sort((a, b) => b[0].length - a[0].length);
    for (const [rel, t] of dirs) lutimesSync(this.tree.abs(rel), t.atime, t.mtime);
  }

  private setMetadata(e: TarEntry, rel: string, abs: string): void {
    lchownSync(abs, e.uid, e.gid);
    if (e.type !== 'symlink') chmodSync(abs, e.mode);
    for (const [name, value] of e.xattrs) {
      if (forbiddenXattr(name)) continue;
      try {
        this.opts.sys.lsetxattr(abs, name, value);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // user.* is not allowed on symlinks and devices, and some filesystems lack xattrs.
        if (name.startsWith('user.') && (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP')) continue;
        throw wrap('EBAD_ARCHIVE', `layer entry ${JSON.stringify(e.name)}: cannot set xattr ${name}`, err);
      }
    }
    if (e.type === 'directory') this.dirTimes.set(rel, { atime: e.atime ?? e.mtime, mtime: e.mtime });
    else lutimesSync(abs, e.atime ?? e.mtime, e.mtime);
  }

  /** A hardlink may only point at a non-directory this archive created, reached without symlinks. */
  private hardlinkTarget(e: TarEntry): string {
    const parts = entryComponents(e.linkname, 'hardlink target');
    if (parts.length === 0) throw unsafe(e.name, 'hardlink to the layer root');
    const parent = this.tree.parentDir(e.name, parts, false);
    const rel = parent === undefined ? undefined : parent === '' ? parts[parts.length - 1] : `${parent}/${parts[parts.length - 1]}`;
    if (rel === undefined || !this.extracted.has(rel)) {
      throw unsafe(e.name, `hardlink target ${JSON.stringify(e.linkname)} is not an earlier entry of this layer`);
    }
    const st = lstatOrUndefined(this.tree.abs(rel));
    if (!st || st.isDirectory()) throw unsafe(e.name, `hardlink target ${JSON.stringify(e.linkname)} is ${st ? 'a directory' : 'missing'}`);
    return this.tree.abs(rel);
  }

  /** `.wh.<name>`: hide `name` of the lower layers. Same-layer entries are not hidden (image-spec). */
  private whiteout(entry: string, parts: string[]): void {
    const overlay = this.opts.mode === 'overlay';
    const parent = this.tree.parentDir(entry, parts, overlay);
    if (parent === undefined) return; // copy mode: nothing below to delete
    const rel = parent === '' ? parts[parts.length - 1] : `${parent}/${parts[parts.length - 1]}`;
    if (this.extracted.has(rel)) return;
    const existing = lstatOrUndefined(this.tree.abs(rel));
    if (existing) this.tree.remove(rel);
    if (overlay) this.opts.sys.mknod(this.tree.abs(rel), S_IFCHR, 0, 0);
  }

  /** `.wh..wh..opq`: the directory hides everything of the lower layers below it. */
  private opaque(entry: string, parts: string[]): void {
    const dirParts = parts.slice(0, -1);
    if (dirParts.length === 0) {
      // Opaque root: overlay cannot mark its lowerdir root; in copy mode it means "start empty".
      if (this.opts.mode === 'copy') this.prune('');
      else throw new BerthError('EBAD_ARCHIVE', `layer entry ${JSON.stringify(entry)}: an opaque layer root is not supported with overlay`);
      return;
    }
    // Passing the directory plus a dummy leaf makes parentDir ensure the directory itself.
    const dir = this.tree.parentDir(entry, [...dirParts, 'x'], true) as string;
    if (this.opts.mode === 'overlay') {
      this.opts.sys.lsetxattr(this.tree.abs(dir), OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
    } else {
      this.prune(dir);
    }
  }

  /** Copy mode: delete everything below `dir` that this archive did not create. */
  private prune(dir: string): void {
    const keepPrefixes = new Set<string>();
    for (const p of this.extracted) {
      const segs = p.split('/');
      for (let i = 1; i <= segs.length; i++) keepPrefixes.add(segs.slice(0, i).join('/'));
    }
    const walk = (rel: string): void => {
      for (const name of readdirSync(this.tree.abs(rel))) {
        const child = rel === '' ? name : `${rel}/${name}`;
        if (!keepPrefixes.has(child)) this.tree.remove(child);
        else if (lstatOrUndefined(this.tree.abs(child))?.isDirectory()) walk(child);
      }
    };
    walk(dir);
  }
}
