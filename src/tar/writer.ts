/**
 * Writes layer tars: ustar headers plus PAX extended headers where needed (long or non-ASCII
 * names and link targets, ids or sizes beyond the ustar fields, xattrs as
 * `SCHILY.xattr.<name>` with byte-exact values). tar-stream reads our layers, but its pack
 * side cannot write binary PAX values (it joins them as UTF-8 strings) nor an `x` entry of
 * our own, and a layer header is a fixed 512-byte layout, so the encoder lives here.
 * Times are whole seconds, as Docker writes them, so a commit of the same tree is
 * byte-identical; uname/gname stay empty (ids are what a layer means).
 */
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import type { TarEntry, TarEntryType } from './reader';

/** What the writer needs of an entry: a reader's TarEntry (minus its body) fits, so entries can be copied through. */
export type TarWriteEntry = Pick<TarEntry, 'name' | 'type' | 'mode' | 'uid' | 'gid' | 'mtime'> & Partial<Pick<TarEntry, 'linkname' | 'devmajor' | 'devminor' | 'size' | 'xattrs'>>;

const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};
const ID_MAX = 0o7777777; // 7 octal digits
const SIZE_MAX = 0o77777777777; // 11 octal digits

function record(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  // The decimal length prefix counts its own digits: find the fixed point.
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'ascii'), body]);
}

function isAscii(s: string): boolean {
  return /^[\x01-\x7f]*$/.test(s);
}

/** Splits a name into ustar (prefix, name), or undefined when it does not fit. */
function splitUstarName(name: string): [string, string] | undefined {
  if (!isAscii(name)) return undefined;
  if (name.length <= 100) return ['', name];
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    if (i <= 155 && name.length - i - 1 <= 100 && name.length - i - 1 > 0) return [name.slice(0, i), name.slice(i + 1)];
  }
  return undefined;
}

/** The PAX record block an entry needs, or undefined when plain ustar suffices. */
export function paxRecordsFor(e: TarWriteEntry, fullName: string): Buffer | undefined {
  const parts: Buffer[] = [];
  if (!splitUstarName(fullName)) parts.push(record('path', Buffer.from(fullName, 'utf8')));
  const link = e.linkname ?? '';
  if (link && (!isAscii(link) || link.length > 100)) parts.push(record('linkpath', Buffer.from(link, 'utf8')));
  if (e.uid > ID_MAX) parts.push(record('uid', Buffer.from(String(e.uid))));
  if (e.gid > ID_MAX) parts.push(record('gid', Buffer.from(String(e.gid))));
  if ((e.size ?? 0) > SIZE_MAX) parts.push(record('size', Buffer.from(String(e.size))));
  if (e.xattrs) {
    for (const name of [...e.xattrs.keys()].sort()) parts.push(record(`SCHILY.xattr.${name}`, e.xattrs.get(name) as Buffer));
  }
  return parts.length ? Buffer.concat(parts) : undefined;
}

function octal(buf: Buffer, offset: number, width: number, value: number): void {
  const digits = Math.max(0, Math.min(value, 8 ** (width - 1) - 1)).toString(8).padStart(width - 1, '0');
  buf.write(`${digits}\0`, offset, width, 'ascii');
}

/** A ustar header block; fields that do not fit are placeholders (the PAX record before it rules). */
export function ustarHeader(e: TarWriteEntry, fullName: string, size: number, typeflag = TYPEFLAG[e.type]): Buffer {
  const h = Buffer.alloc(BLOCK);
  const split = splitUstarName(fullName) ?? ['', (fullName.replace(/[^\x20-\x7e]/g, '_').split('/').filter(Boolean).pop() ?? 'x').slice(0, 99)];
  h.write(split[1], 0, 100, 'utf8');
  octal(h, 100, 8, e.mode & 0o7777);
  octal(h, 108, 8, e.uid > ID_MAX ? 0 : e.uid);
  octal(h, 116, 8, e.gid > ID_MAX ? 0 : e.gid);
  octal(h, 124, 12, size > SIZE_MAX ? 0 : size);
  octal(h, 136, 12, Math.max(0, Math.floor(e.mtime)));
  h.write(typeflag, 156, 1, 'ascii');
  const link = e.linkname ?? '';
  if (link) h.write(isAscii(link) && link.length <= 100 ? link : 'pax-linkpath', 157, 100, 'utf8');
  h.write('ustar\x0000', 257, 8, 'ascii');
  octal(h, 329, 8, e.devmajor ?? 0);
  octal(h, 337, 8, e.devminor ?? 0);
  h.write(split[0], 345, 155, 'utf8');
  h.fill(0x20, 148, 156); // checksum computed with its own field as spaces
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

export class TarWriter {
  private readonly out = new PassThrough({ highWaterMark: 1 << 20 });

  /** The tar byte stream. */
  get stream(): Readable {
    return this.out;
  }

  private async push(buf: Buffer): Promise<void> {
    if (buf.length && !this.out.write(buf)) await once(this.out, 'drain');
  }

  /** Adds an entry; `body` is required for non-empty regular files and must yield exactly `size` bytes. */
  async add(e: TarWriteEntry, body?: AsyncIterable<Buffer | string>): Promise<void> {
    const size = e.type === 'file' ? e.size ?? 0 : 0;
    const fullName = e.type === 'directory' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
    const pax = paxRecordsFor({ ...e, size }, fullName);
    if (pax) {
      const paxEntry: TarWriteEntry = { name: 'PaxHeader', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: e.mtime };
      const header = ustarHeader(paxEntry, 'PaxHeader', pax.length, 'x');
      await this.push(Buffer.concat([header, pax, padding(pax.length)]));
    }
    await this.push(ustarHeader(e, fullName, size));
    if (size > 0) {
      if (!body) throw new Error(`tar entry ${e.name}: a body is required`);
      let written = 0;
      for await (const chunk of body) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        written += buf.length;
        if (written > size) throw new Error(`tar entry ${e.name}: the file grew while it was archived`);
        await this.push(buf);
      }
      if (written !== size) throw new Error(`tar entry ${e.name}: expected ${size} bytes, read ${written} (the file changed while it was archived)`);
      await this.push(padding(size));
    }
  }

  /** Writes the end-of-archive marker (two zero blocks) and ends the stream. */
  finish(): void {
    this.out.end(Buffer.alloc(2 * BLOCK));
  }

  destroy(err?: Error): void {
    this.out.destroy(err);
  }
}
