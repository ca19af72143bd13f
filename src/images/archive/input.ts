/**
 * Archive input: a file or a stream (stdin, an HTTP body), possibly compressed (`docker load`
 * takes .tar.gz too). Archives are read by random access (tar-index.ts), so a stream, or a
 * compressed file, is first written out as a plain tar into scratch space.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, diskFullError } from '../../core/errors';
import { DEFAULT_EXPANSION_LIMITS, decompressStages } from '../decompress';
import { sniffCompression, type Compression } from '../media-types';

export type ArchiveInput = { path: string } | { stream: Readable };

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const BZIP2_MAGIC = Buffer.from('BZh');

/** The compression of data starting with `head`; refuses formats Berth cannot decompress. */
export function inputCompression(head: Buffer, what: string): Compression {
  if (head.subarray(0, 6).equals(XZ_MAGIC) || head.subarray(0, 3).equals(BZIP2_MAGIC)) {
    throw new BerthError('EUNSUPPORTED', `${what} is xz or bzip2 compressed, which Berth does not decompress`, { hint: 'decompress it first (xz -d / bunzip2), or recompress it with gzip or zstd' });
  }
  return sniffCompression(head);
}

/**
 * Reads the first `n` bytes of `input` (fewer if it is shorter) and returns them with a
 * stream that still yields everything from the first byte.
 */
export async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let have = 0;
  let ended = false;
  while (have < n) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const chunk = Buffer.from(r.value);
    chunks.push(chunk);
    have += chunk.length;
  }
  const head = Buffer.concat(chunks);
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value);
    }
  }
  return { head: head.subarray(0, n), stream: Readable.from(rest(), { objectMode: false }) };
}

/** `stream` decompressed as `compression` says (guarded against decompression bombs). */
export function decompressed(stream: Readable, compression: Compression, what: string): Readable {
  if (compression === 'none') return stream;
  let read = 0;
  stream.on('data', (c: Buffer) => (read += c.length));
  const stages = decompressStages(compression, DEFAULT_EXPANSION_LIMITS, () => read, what);
  let cur: Readable = stream;
  for (const s of stages) {
    cur.on('error', (e) => s.destroy(e));
    cur = cur.pipe(s);
  }
  return cur;
}

/** A plain tar file holding the archive: the input file itself, or a copy in `scratch`. */
export async function archiveFile(input: ArchiveInput, scratch: string, what: string): Promise<string> {
  let head: Buffer;
  let stream: Readable;
  if ('path' in input) {
    const fh = await open(input.path, 'r').catch((e: unknown) => {
      throw new BerthError('ENOT_FOUND', `cannot open ${what}: ${(e as Error).message}`, { cause: e });
    });
    try {
      const buf = Buffer.alloc(8);
      const { bytesRead } = await fh.read(buf, 0, 8, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
    if (inputCompression(head, what) === 'none') return input.path;
    stream = createReadStream(input.path);
  } else {
    ({ head, stream } = await peek(input.stream, 8));
  }
  const file = join(scratch, 'archive.tar');
  await pipeline(decompressed(stream, inputCompression(head, what), what), createWriteStream(file, { flags: 'wx', mode: 0o600 })).catch((e: unknown) => {
    throw diskFullError(e, file);
  });
  return file;
}
