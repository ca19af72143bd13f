/**
 * Builders and inspectors for snapshotter tests: layer tars from a compact description, tree
 * fingerprints (to prove nothing outside a target changed), and mount leak checks.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { sys } from '../../src/sys';
import { TarWriter } from '../../src/tar/writer';
import type { TarEntryType } from '../../src/tar/reader';
import { mountsUnder } from '../../src/snapshots/mounts';

export interface EntrySpec {
  name: string;
  type?: TarEntryType;
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer | string>;
}

export const MTIME = 1_600_000_000;

/** A tar built with Berth's own writer (PAX for xattrs and long names). */
export async function tarOf(entries: EntrySpec[]): Promise<Buffer> {
  const w = new TarWriter();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of w.stream) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const type = e.type ?? (e.name.endsWith('/') ? 'directory' : 'file');
    const content = e.content === undefined ? Buffer.alloc(0) : Buffer.from(e.content);
    const xattrs = e.xattrs ? new Map(Object.entries(e.xattrs).map(([k, v]) => [k, Buffer.from(v)])) : undefined;
    await w.add(
      {
        name: e.name.replace(/\/$/, ''),
        type,
        mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        mtime: e.mtime ?? MTIME,
        linkname: e.linkname,
        devmajor: e.devmajor,
        devminor: e.devminor,
        size: type === 'file' ? content.length : 0,
        xattrs,
      },
      type === 'file' ? Readable.from([content]) : undefined,
    );
  }
  w.finish();
  await done;
  return Buffer.concat(chunks);
}

/** A tar written by tar-stream directly, names verbatim (for hostile archives). */
export async function rawTar(entries: Array<Partial<tarStream.Headers> & { name: string; content?: string }>): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const { content, ...h } of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ mtime: new Date(MTIME * 1000), mode: 0o644, ...h }, content ?? '', (err) => (err ? reject(err) : resolve())),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function streamOf(buf: Buffer): Readable {
  return Readable.from([buf]);
}

/** Everything observable about a tree: type, mode, owner, times, content, link target, xattrs. */
export function fingerprint(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (rel: string): void => {
    const abs = rel === '' ? root : join(root, rel);
    const st = lstatSync(abs, { bigint: true });
    let detail = '';
    if (st.isFile()) detail = createHash('sha256').update(readFileSync(abs)).digest('hex');
    else if (st.isSymbolicLink()) detail = readlinkSync(abs);
    let xattrs = '';
    try {
      xattrs = sys()
        .llistxattr(abs)
        .sort()
        .map((n) => `${n}=${sys().lgetxattr(abs, n)?.toString('hex')}`)
        .join(',');
    } catch {
      // no xattrs on this file system object
    }
    out.set(rel, `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeNs} ${st.rdev} ${st.nlink} ${detail} ${xattrs}`);
    if (st.isDirectory()) for (const n of readdirSync(abs).sort()) visit(rel === '' ? n : `${rel}/${n}`);
  };
  visit('');
  return out;
}

/** Mounts left under `dir` (a test must leave none). */
export function leftoverMounts(dir: string): string[] {
  return mountsUnder(dir);
}

/** Type/mode/owner/content view of a tree, without times (for comparing merged views). */
export function contentView(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string): void => {
    const abs = rel === '' ? root : join(root, rel);
    const st = lstatSync(abs);
    let kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `link->${readlinkSync(abs)}` : st.isFile() ? `file:${readFileSync(abs).toString('utf8')}` : st.isCharacterDevice() ? `chr:${st.rdev}` : st.isBlockDevice() ? `blk:${st.rdev}` : st.isFIFO() ? 'fifo' : 'other';
    if (rel !== '') out[rel] = `${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
    if (st.isDirectory()) for (const n of readdirSync(abs).sort()) visit(rel === '' ? n : `${rel}/${n}`);
    kind = '';
  };
  visit('');
  return out;
}
