/**
 * Reads an uncompressed tar stream (tar-stream) into typed entries, one at a time.
 *
 * tar-stream decodes every PAX record value as UTF-8, which destroys binary extended
 * attributes (`SCHILY.xattr.security.capability` holds raw little-endian bytes), and a second
 * consecutive PAX header replaces the first instead of adding to it. Both are fixed here by
 * replacing the PAX decoder of *this extract instance only*: xattr values are kept as latin1
 * strings (one char per byte, so `Buffer.from(v, 'latin1')` gives the bytes back) and records
 * accumulate. The package version is pinned; the round-trip test of a binary xattr fails if
 * its internals move.
 */
import type { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { BerthError } from '../core/errors';

export type TarEntryType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface TarEntry {
  /** The name exactly as in the archive (normalised and checked by the unpacker, not here). */
  name: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, with fractions when a PAX `mtime` record gives them. */
  mtime: number;
  atime: number | undefined;
  linkname: string;
  devmajor: number;
  devminor: number;
  size: number;
  xattrs: Map<string, Buffer>;
  /** The entry's data (a streamx stream); consume it before asking for the next entry. */
  body: AsyncIterable<Buffer>;
}

const XATTR_PREFIX = 'SCHILY.xattr.';

/** Parses PAX extended header records ("<len> <key>=<value>\n"), keeping xattr values byte-exact. */
export function decodePaxRecords(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < buf.length) {
    const space = buf.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number.parseInt(buf.toString('ascii', pos, space), 10);
    if (!Number.isSafeInteger(len) || len <= space - pos + 1 || pos + len > buf.length) {
      throw new BerthError('EBAD_ARCHIVE', `malformed PAX record at offset ${pos}`);
    }
    const record = buf.subarray(space + 1, pos + len - 1); // without the trailing newline
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw new BerthError('EBAD_ARCHIVE', `malformed PAX record at offset ${pos} (no '=')`);
    const key = record.toString('utf8', 0, eq);
    out[key] = record.toString(key.startsWith(XATTR_PREFIX) ? 'latin1' : 'utf8', eq + 1);
    pos += len;
  }
  return out;
}

interface ExtractInternals {
  _header: { type: string } | null;
  _pax: Record<string, string> | null;
  _paxGlobal: Record<string, string> | null;
  _decodeLongHeader(buf: Buffer): void;
}

function patchPaxDecoding(extract: tarStream.Extract): void {
  const internals = extract as unknown as ExtractInternals;
  if (typeof internals._decodeLongHeader !== 'function') {
    throw new BerthError('EINTERNAL', 'tar-stream internals changed: cannot install the binary-safe PAX decoder');
  }
  const original = internals._decodeLongHeader;
  internals._decodeLongHeader = function (this: ExtractInternals, buf: Buffer): void {
    const type = this._header?.type;
    if (type === 'pax-header') {
      this._pax = { ...(this._paxGlobal ?? {}), ...(this._pax ?? {}), ...decodePaxRecords(buf) };
    } else if (type === 'pax-global-header') {
      this._paxGlobal = { ...(this._paxGlobal ?? {}), ...decodePaxRecords(buf) };
    } else {
      original.call(this, buf);
    }
  };
}

function paxNumber(pax: Record<string, string> | null | undefined, key: string): number | undefined {
  const v = pax?.[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new BerthError('EBAD_ARCHIVE', `PAX record ${key}=${JSON.stringify(v)} is not a number`);
  return n;
}

const SUPPORTED: ReadonlySet<string> = new Set(['file', 'link', 'symlink', 'character-device', 'block-device', 'directory', 'fifo', 'contiguous-file']);

interface RawHeader extends Omit<tarStream.Headers, 'type'> {
  type?: string | null;
  pax?: Record<string, string> | null;
}

/** Yields the entries of an uncompressed tar stream in order. */
export async function* readTar(input: Readable): AsyncGenerator<TarEntry> {
  const extract = tarStream.extract();
  patchPaxDecoding(extract);
  input.on('error', (e) => extract.destroy(e));
  input.pipe(extract);
  try {
    for await (const raw of extract) {
      const h = raw.header as RawHeader;
      const type = h.type || 'file';
      if (!SUPPORTED.has(type)) {
        raw.resume();
        throw new BerthError('EBAD_ARCHIVE', `tar entry ${JSON.stringify(h.name)}: unsupported entry type ${JSON.stringify(type)}`, {
          hint: 'sparse, multi-volume and other GNU extension entries are not valid in OCI layers',
        });
      }
      const pax = h.pax ?? null;
      const xattrs = new Map<string, Buffer>();
      if (pax) {
        for (const [k, v] of Object.entries(pax)) {
          if (k.startsWith(XATTR_PREFIX)) xattrs.set(k.slice(XATTR_PREFIX.length), Buffer.from(v, 'latin1'));
        }
      }
      const mtime = paxNumber(pax, 'mtime') ?? (h.mtime ? h.mtime.getTime() / 1000 : 0);
      yield {
        name: h.name,
        type: type === 'contiguous-file' ? 'file' : (type as TarEntryType),
        mode: (h.mode ?? 0o644) & 0o7777,
        uid: paxNumber(pax, 'uid') ?? h.uid ?? 0,
        gid: paxNumber(pax, 'gid') ?? h.gid ?? 0,
        mtime,
        atime: paxNumber(pax, 'atime'),
        linkname: h.linkname ?? '',
        devmajor: h.devmajor ?? 0,
        devminor: h.devminor ?? 0,
        size: h.size ?? 0,
        xattrs,
        body: raw as AsyncIterable<Buffer>,
      };
      // Whatever the consumer did not read is skipped so the next header can be parsed.
      raw.resume();
    }
  } finally {
    input.unpipe(extract);
    if (!extract.destroyed) extract.destroy();
  }
}
