/**
 * Writes tar entries (tar-stream's pack) with the PAX records OCI layers need.
 *
 * tar-stream would write PAX values as UTF-8 strings, which cannot carry binary xattr values,
 * and has no PAX uid/gid. So when an entry needs PAX (a long or non-ASCII name or link
 * target, xattrs, ids above the ustar field), the record block is built here, byte-exact,
 * and written as its own `x` entry, followed by a ustar header whose name and link fields
 * are shortened placeholders (readers take the PAX values). Times are whole seconds, as
 * Docker writes them, so a commit of the same tree is byte-identical.
 */
import { once } from 'node:events';
import { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import type { TarEntryType } from './reader';

export interface TarWriteEntry {
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  size?: number;
  xattrs?: Map<string, Buffer>;
}

const USTAR_ID_MAX = 0o777777; // tar-stream writes uid/gid as 6 octal digits

function record(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  // The length prefix counts itself: find the fixed point.
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'ascii'), body]);
}

function fitsUstarName(name: string): boolean {
  if (Buffer.byteLength(name) !== name.length) return false; // non-ASCII: tar-stream would need PAX
  if (name.length <= 100) return true;
  // ustar splits at a '/' into a prefix (<=155) and a name (<=100).
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    if (i <= 155 && name.length - i - 1 <= 100 && name.length - i - 1 > 0) return true;
  }
  return false;
}

/** The PAX record block an entry needs, or undefined when plain ustar suffices. */
export function paxRecordsFor(e: TarWriteEntry): Buffer | undefined {
  const parts: Buffer[] = [];
  const fullName = e.type === 'directory' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
  if (!fitsUstarName(fullName)) parts.push(record('path', Buffer.from(fullName, 'utf8')));
  const link = e.linkname ?? '';
  if (link && (Buffer.byteLength(link) !== link.length || link.length > 100)) parts.push(record('linkpath', Buffer.from(link, 'utf8')));
  if (e.uid > USTAR_ID_MAX) parts.push(record('uid', Buffer.from(String(e.uid))));
  if (e.gid > USTAR_ID_MAX) parts.push(record('gid', Buffer.from(String(e.gid))));
  if (e.xattrs) {
    for (const name of [...e.xattrs.keys()].sort()) parts.push(record(`SCHILY.xattr.${name}`, e.xattrs.get(name) as Buffer));
  }
  return parts.length ? Buffer.concat(parts) : undefined;
}

function placeholder(name: string): string {
  const base = name.replace(/\/$/, '').split('/').pop() ?? 'x';
  return /^[\x20-\x7e]{1,90}$/.test(base) ? base : 'pax-named-entry';
}

export class TarWriter {
  private readonly pack = tarStream.pack();
  /** The tar byte stream, as a Node stream (tar-stream's pack is a streamx stream). */
  readonly stream: Readable = Readable.from(this.pack as AsyncIterable<Buffer>, { objectMode: false });

  /** Adds an entry; `body` is required for regular files and must yield exactly `size` bytes. */
  async add(e: TarWriteEntry, body?: Readable): Promise<void> {
    const pax = paxRecordsFor(e);
    const header: Partial<tarStream.Header> & { name: string } = {
      name: e.name,
      type: e.type,
      mode: e.mode & 0o7777,
      uid: e.uid > USTAR_ID_MAX ? 0 : e.uid,
      gid: e.gid > USTAR_ID_MAX ? 0 : e.gid,
      mtime: new Date(Math.floor(e.mtime) * 1000),
      size: e.type === 'file' ? e.size ?? 0 : 0,
      devmajor: e.devmajor ?? 0,
      devminor: e.devminor ?? 0,
      uname: '',
      gname: '',
    };
    if (e.linkname) header.linkname = e.linkname;
    if (pax) {
      // tar-stream writes a 'pax-header' type as an `x` entry; its types only list file types.
      const paxType = 'pax-header' as unknown as tarStream.Header['type'];
      await this.write({ name: `PaxHeaders/${placeholder(e.name)}`, type: paxType, mode: 0o644, mtime: header.mtime as Date, size: pax.length }, pax);
      if (!fitsUstarName(e.type === 'directory' ? `${e.name}/` : e.name)) header.name = placeholder(e.name);
      if (e.linkname && (Buffer.byteLength(e.linkname) !== e.linkname.length || e.linkname.length > 100)) header.linkname = placeholder(e.linkname);
    }
    if (e.type === 'file' && (e.size ?? 0) > 0) {
      if (!body) throw new Error(`tar entry ${e.name}: a body is required`);
      let settle!: Promise<void>;
      const sink = this.pack.entry(header, () => undefined);
      settle = new Promise<void>((resolve, reject) => {
        sink.on('finish', () => resolve());
        sink.on('error', reject);
      });
      for await (const chunk of body) {
        if (!sink.write(chunk)) await Promise.race([once(sink, 'drain'), settle]);
      }
      sink.end(undefined);
      await settle;
    } else {
      await this.write(header, Buffer.alloc(0));
    }
  }

  finish(): void {
    this.pack.finalize();
  }

  destroy(err?: Error): void {
    this.pack.destroy(err);
  }

  private write(header: Partial<tarStream.Header> & { name: string }, data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pack.entry(header, data, (err) => (err ? reject(err) : resolve()));
    });
  }
}
