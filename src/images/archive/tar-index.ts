/**
 * Random access into a tar file (docker-archive, oci-archive): one pass over the headers
 * (data is skipped by offset, not read) builds an index of entry name → data offset and
 * size; files are then streamed from their offsets as often as needed. docker save puts
 * manifest.json at the end, so an archive cannot be read front to back without this (or
 * without extracting it, which would put a hostile archive's entries on disk).
 *
 * Links are resolved inside the index: skopeo's archives hold `<id>/layer.tar` as symlinks
 * to `<diffid>.tar`, older docker saves link shared layers. A link may only lead to another
 * entry of the same archive (see paths.ts); nothing is ever looked up on the host.
 *
 * Formats: ustar (with prefix), GNU long names (`L`/`K`), PAX `path`/`linkpath`/`size`
 * records, base-256 sizes. Header checksums are verified.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { BerthError } from '../../core/errors';
import { archivePath, resolveLinkTarget } from './paths';

export type TarIndexType = 'file' | 'directory' | 'symlink' | 'link' | 'other';

export interface TarIndexEntry {
  /** Normalized archive path (no `./`, no trailing `/`). */
  name: string;
  type: TarIndexType;
  /** Offset of the data in the file. */
  offset: number;
  size: number;
  linkname: string;
}

const BLOCK = 512;
/** Long-name and PAX header bodies we read into memory: real ones are a few hundred bytes. */
const MAX_META_BYTES = 1024 * 1024;
/** Entries indexed at most: an image archive has a few per layer. */
export const MAX_ARCHIVE_ENTRIES = 200_000;
const MAX_LINK_HOPS = 40;

export class TarIndex {
  private constructor(
    private readonly fh: FileHandle,
    private readonly entries: Map<string, TarIndexEntry>,
    /** Names the archive in errors ("docker-archive /x.tar"). */
    readonly what: string,
  ) {}

  /** Indexes the tar file at `path`. */
  static async open(path: string, what: string): Promise<TarIndex> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw new BerthError('ENOT_FOUND', `${what}: cannot open ${path}: ${(e as Error).message}`, { cause: e });
    }
    try {
      const entries = await indexEntries(fh, what);
      return new TarIndex(fh, entries, what);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The regular file `path` names, following links inside the archive; undefined if absent. */
  find(path: string): TarIndexEntry | undefined {
    let name = archivePath(path, this.what);
    for (let hops = 0; hops <= MAX_LINK_HOPS; hops++) {
      const resolved = this.resolveParents(name);
      const e = this.entries.get(resolved);
      if (!e) return undefined;
      if (e.type === 'file') return e;
      if (e.type === 'symlink') name = resolveLinkTarget(e.name, e.linkname, this.what);
      else if (e.type === 'link') name = archivePath(e.linkname, this.what);
      else throw new BerthError('EBAD_ARCHIVE', `${this.what}: ${path} is a ${e.type}, not a file`);
    }
    throw new BerthError('EUNSAFE_ARCHIVE', `${this.what}: too many links resolving ${path} (a loop?)`);
  }

  /** Like find, but absence is an error naming the path. */
  get(path: string): TarIndexEntry {
    const e = this.find(path);
    if (!e) throw new BerthError('EBAD_ARCHIVE', `${this.what} has no file ${path}`, { hint: 'the archive is incomplete or not of the format it claims' });
    return e;
  }

  /** Reads a whole (small) file, refusing it past `maxBytes`. */
  async read(path: string, maxBytes: number): Promise<Buffer> {
    const e = this.get(path);
    if (e.size > maxBytes) throw new BerthError('ELIMIT', `${this.what}: ${path} is ${e.size} bytes, over the ${maxBytes}-byte limit for it`);
    return this.readRange(e, 0, e.size);
  }

  /** The first `n` bytes (fewer if the file is shorter). */
  async head(path: string, n: number): Promise<Buffer> {
    const e = this.get(path);
    return this.readRange(e, 0, Math.min(n, e.size));
  }

  /** Streams a file's data (from `start`). */
  openRead(path: string, start = 0): Readable {
    const e = this.get(path);
    if (e.size - start <= 0) return Readable.from([]);
    return this.fh.createReadStream({ start: e.offset + start, end: e.offset + e.size - 1, autoClose: false });
  }

  private async readRange(e: TarIndexEntry, from: number, length: number): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, e.offset + from + done);
      if (bytesRead === 0) throw new BerthError('EBAD_ARCHIVE', `${this.what}: ${e.name} is truncated`);
      done += bytesRead;
    }
    return buf;
  }

  /** Follows symlinked directories in the parents of `name` (a/b/c where a -> x). */
  private resolveParents(name: string): string {
    const parts = name.split('/');
    let prefix = '';
    for (let i = 0; i < parts.length - 1; i++) {
      let dir = prefix ? `${prefix}/${parts[i]}` : parts[i]!;
      for (let hops = 0; ; hops++) {
        const e = this.entries.get(dir);
        if (!e || e.type !== 'symlink') break;
        if (hops >= MAX_LINK_HOPS) throw new BerthError('EUNSAFE_ARCHIVE', `${this.what}: too many links resolving ${name} (a loop?)`);
        dir = resolveLinkTarget(e.name, e.linkname, this.what);
      }
      prefix = dir;
    }
    return prefix ? `${prefix}/${parts[parts.length - 1]}` : name;
  }
}

function headerString(h: Buffer, start: number, length: number): string {
  const field = h.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? length : nul).toString('utf8');
}

function headerNumber(h: Buffer, start: number, length: number, what: string, offset: number): number {
  const field = h.subarray(start, start + length);
  if (field[0]! & 0x80) {
    // GNU base-256: big-endian, the top bit of the first byte marks it.
    let n = field[0]! & 0x7f;
    for (let i = 1; i < length; i++) n = n * 256 + field[i]!;
    if (!Number.isSafeInteger(n)) throw new BerthError('EBAD_ARCHIVE', `${what}: tar header at offset ${offset} has an impossible number`);
    return n;
  }
  const text = headerString(h, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new BerthError('EBAD_ARCHIVE', `${what}: tar header at offset ${offset} has a bad numeric field ${JSON.stringify(text)}`, { hint: 'is it a tar archive?' });
  return Number.parseInt(text, 8);
}

function checksumOk(h: Buffer, what: string, offset: number): boolean {
  let want: number;
  try {
    want = headerNumber(h, 148, 8, what, offset);
  } catch {
    return false;
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

function parsePax(buf: Buffer, what: string): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < buf.length) {
    const space = buf.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number.parseInt(buf.toString('ascii', pos, space), 10);
    if (!Number.isSafeInteger(len) || len <= space - pos + 1 || pos + len > buf.length) throw new BerthError('EBAD_ARCHIVE', `${what}: malformed PAX record`);
    const record = buf.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) out.set(record.toString('utf8', 0, eq), record.toString('utf8', eq + 1));
    pos += len;
  }
  return out;
}

function typeOf(flag: string): TarIndexType {
  switch (flag) {
    case '0':
    case '\0':
    case '':
    case '7':
      return 'file';
    case '1':
      return 'link';
    case '2':
      return 'symlink';
    case '5':
      return 'directory';
    default:
      return 'other';
  }
}

async function indexEntries(fh: FileHandle, what: string): Promise<Map<string, TarIndexEntry>> {
  const fileSize = (await fh.stat()).size;
  const entries = new Map<string, TarIndexEntry>();
  const header = Buffer.alloc(BLOCK);
  let offset = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Map<string, string> | undefined;
  const readMeta = async (at: number, size: number): Promise<Buffer> => {
    if (size > MAX_META_BYTES) throw new BerthError('ELIMIT', `${what}: a tar metadata entry of ${size} bytes is over the ${MAX_META_BYTES}-byte limit`);
    const buf = Buffer.alloc(size);
    const { bytesRead } = await fh.read(buf, 0, size, at);
    if (bytesRead !== size) throw new BerthError('EBAD_ARCHIVE', `${what} is truncated (in a tar header at offset ${at - BLOCK})`);
    return buf;
  };
  for (;;) {
    const { bytesRead } = await fh.read(header, 0, BLOCK, offset);
    if (bytesRead === 0 && offset > 0) break; // no end-of-archive blocks: tolerated, as GNU tar does
    if (bytesRead < BLOCK) throw new BerthError('EBAD_ARCHIVE', `${what} is truncated or not a tar archive (short header at offset ${offset})`);
    if (header.every((b) => b === 0)) break;
    if (!checksumOk(header, what, offset)) {
      throw new BerthError('EBAD_ARCHIVE', `${what} is not a valid tar archive (header checksum mismatch at offset ${offset})`, {
        hint: offset === 0 ? 'is it compressed? docker-archive and oci-archive files are plain tars (a .tar.gz must be decompressed first)' : 'the archive is corrupt',
      });
    }
    const flag = String.fromCharCode(header[156]!);
    let size = headerNumber(header, 124, 12, what, offset);
    const dataAt = offset + BLOCK;
    const paxSize = pax?.get('size');
    if (paxSize !== undefined && flag !== 'x' && flag !== 'g') size = Number(paxSize);
    if (!Number.isSafeInteger(size) || size < 0 || dataAt + size > fileSize) {
      throw new BerthError('EBAD_ARCHIVE', `${what} is truncated: the entry at offset ${offset} claims ${size} bytes`);
    }
    const next = dataAt + Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'L') longName = (await readMeta(dataAt, size)).toString('utf8').replace(/\0+$/, '');
    else if (flag === 'K') longLink = (await readMeta(dataAt, size)).toString('utf8').replace(/\0+$/, '');
    else if (flag === 'x') pax = parsePax(await readMeta(dataAt, size), what);
    else if (flag === 'g') {
      // Global PAX headers carry defaults (e.g. git archive's comment); nothing we use.
    } else {
      const magic = header.toString('ascii', 257, 262);
      const prefix = magic === 'ustar' ? headerString(header, 345, 155) : '';
      const plain = headerString(header, 0, 100);
      const rawName = pax?.get('path') ?? longName ?? (prefix ? `${prefix}/${plain}` : plain);
      const linkname = pax?.get('linkpath') ?? longLink ?? headerString(header, 157, 100);
      longName = longLink = pax = undefined;
      // The archive's root directory (`./`, from `tar -C dir .`) is no entry of its own.
      if (typeOf(flag) === 'directory' && rawName.split('/').every((p) => p === '' || p === '.')) {
        offset = next;
        continue;
      }
      const name = archivePath(rawName, what);
      entries.set(name, { name, type: typeOf(flag), offset: dataAt, size: typeOf(flag) === 'file' ? size : 0, linkname });
      if (entries.size > MAX_ARCHIVE_ENTRIES) throw new BerthError('ELIMIT', `${what} has more than ${MAX_ARCHIVE_ENTRIES} entries; an image archive needs a few per layer`);
    }
    offset = next;
  }
  if (entries.size === 0) throw new BerthError('EBAD_ARCHIVE', `${what} is an empty tar archive`);
  return entries;
}
