/**
 * Writes change operations as an OCI layer tar (whiteouts `.wh.<name>`, opaque dirs
 * `.wh..wh..opq`), computing its diff_id (sha256 of the uncompressed tar) and size as the
 * bytes flow out. Ownership, modes, mtimes (whole seconds) and xattrs come from the writable
 * tree; overlayfs' own trusted.overlay.* attributes are not content and are left out.
 *
 * File contents are opened as the tree archiver opens them (tar/tree.ts openChecked:
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) below the tree root, then checked to be the
 * inode the diff saw), so a symlink swapped in by a still-running container cannot make the
 * export read a host file (symlink exchange, CVE-2018-15664). Still, export a stopped or paused
 * container: a running one can change the tree while it is walked (a file that changes size
 * fails the export).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PassThrough, Transform } from 'node:stream';
import { wrap } from '../../core/errors';
import type { Sys } from '../../sys';
import { HardLinks, specialEntry, statHeader } from '../../tar/entry';
import { openChecked } from '../../tar/tree';
import { TarWriter } from '../../tar/writer';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '../unpack/names';
import type { ChangesArchive } from '../types';
import type { ChangeOp } from './ops';

function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/**
 * Streams the tar of `ops` (each entry's xattrs and symlink target as the walk read them,
 * file contents opened below `root`); the caller must consume `tar` for `result` to resolve.
 */
export function exportOps(ops: () => AsyncIterable<ChangeOp> | Promise<Iterable<ChangeOp>>, root: string, sys: Sys): ChangesArchive {
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
    const links = new HardLinks();
    for await (const op of await ops()) {
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
      const base = statHeader(st, op.rel, op.xattrs);
      if (st.isDirectory()) {
        await writer.add({ ...base, type: 'directory' });
      } else if (st.isFile()) {
        const first = links.seen(st, op.rel);
        if (first !== undefined) {
          await writer.add({ ...base, type: 'link', linkname: first, xattrs: undefined });
          continue;
        }
        const body = createReadStream('', { fd: await openChecked(sys, root, op.rel, st, 'commit') });
        await writer.add({ ...base, type: 'file', size: st.size }, body);
      } else {
        const special = await specialEntry(st, base, () => op.linkTarget ?? '');
        if (special) await writer.add(special);
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
