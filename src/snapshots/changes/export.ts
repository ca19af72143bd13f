/**
 * Writes change operations as an OCI layer tar (whiteouts `.wh.<name>`, opaque dirs
 * `.wh..wh..opq`), computing its diff_id (sha256 of the uncompressed tar) and size as the
 * bytes flow out. Ownership, modes, mtimes (whole seconds) and xattrs come from the writable
 * tree; overlayfs' own trusted.overlay.* attributes are not content and are left out.
 *
 * File contents are opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) below the
 * tree root, so a symlink swapped in by a still-running container cannot make the export
 * read a host file (symlink exchange, CVE-2018-15664). Still, export a stopped or paused
 * container: a running one can change the tree while it is walked (a file that changes size
 * fails the export).
 */
import { createHash } from 'node:crypto';
import { createReadStream, readlinkSync } from 'node:fs';
import { PassThrough, Transform } from 'node:stream';
import { wrap } from '../../core/errors';
import type { Sys } from '../../sys';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '../unpack/names';
import { TarWriter, type TarWriteEntry } from '../tar/writer';
import type { ChangesArchive } from '../types';
import type { ChangeOp } from './ops';

/** xattrs of `path` (not following a final symlink), without overlayfs' own; undefined where unsupported. */
export function readXattrs(sys: Sys, path: string): Map<string, Buffer> | undefined {
  let names: string[];
  try {
    names = sys.llistxattr(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') return undefined;
    throw e;
  }
  const out = new Map<string, Buffer>();
  for (const name of names.sort()) {
    if (name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.')) continue;
    const v = sys.lgetxattr(path, name);
    if (v) out.set(name, v);
  }
  return out.size ? out : undefined;
}

/** glibc's major()/minor() of a dev_t. */
export function devNumbers(rdev: number | bigint): { devmajor: number; devminor: number } {
  const d = BigInt(rdev);
  const major = ((d & 0x00000000000fff00n) >> 8n) | ((d & 0xfffff00000000000n) >> 32n);
  const minor = (d & 0x00000000000000ffn) | ((d & 0x00000ffffff00000n) >> 12n);
  return { devmajor: Number(major), devminor: Number(minor) };
}

function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** Streams the tar of `ops`; the caller must consume `tar` for `result` to resolve. */
export function exportOps(ops: () => Iterable<ChangeOp>, root: string, sys: Sys): ChangesArchive {
  const writer = new TarWriter();
  const hash = createHash('sha256');
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  const tar = new PassThrough();
  writer.stream.pipe(counter).pipe(tar);
  const result = new Promise<{ diffId: string; size: number }>((resolve, reject) => {
    counter.on('end', () => resolve({ diffId: `sha256:${hash.digest('hex')}`, size }));
    counter.on('error', reject);
    writer.stream.on('error', reject);
  });
  result.catch(() => undefined); // the caller may only watch `tar`

  const produce = async (): Promise<void> => {
    /** First path written for each multiply-linked inode: later ones become hardlink entries. */
    const links = new Map<string, string>();
    for (const op of ops()) {
      if (op.op === 'whiteout') {
        const slash = op.rel.lastIndexOf('/');
        const name = `${op.rel.slice(0, slash + 1)}${WHITEOUT_PREFIX}${op.rel.slice(slash + 1)}`;
        await writer.add({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 });
        continue;
      }
      if (op.op === 'opaque') {
        await writer.add({ name: join(op.rel, OPAQUE_MARKER), type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 });
        continue;
      }
      const st = op.st;
      const base: Omit<TarWriteEntry, 'type'> = {
        name: op.rel,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: Math.floor(st.mtimeMs / 1000),
        xattrs: readXattrs(sys, op.abs),
      };
      if (st.isDirectory()) {
        await writer.add({ ...base, type: 'directory' });
      } else if (st.isSymbolicLink()) {
        await writer.add({ ...base, type: 'symlink', linkname: readlinkSync(op.abs) });
      } else if (st.isFile()) {
        const id = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(id) : undefined;
        if (first !== undefined) {
          await writer.add({ ...base, type: 'link', linkname: first, xattrs: undefined });
          continue;
        }
        if (st.nlink > 1) links.set(id, op.rel);
        const body = createReadStream(op.abs, { fd: sys.openBeneath(root, op.rel) });
        await writer.add({ ...base, type: 'file', size: st.size }, body);
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        await writer.add({
          ...base,
          type: st.isCharacterDevice() ? 'character-device' : 'block-device',
          ...devNumbers(st.rdev),
        });
      } else if (st.isFIFO()) {
        await writer.add({ ...base, type: 'fifo' });
      }
      // sockets are not archived (as in Docker)
    }
    writer.finish();
  };
  produce().catch((e: unknown) => {
    const err = wrap('ESYSCALL', 'exporting container changes', e);
    writer.destroy(err);
    tar.destroy(err);
  });
  return { tar, result };
}
