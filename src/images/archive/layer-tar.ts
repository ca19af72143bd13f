/**
 * A layer as an uncompressed tar of known size, for archives that store layers that way
 * (docker-archive: a tar header needs the size before the data). The blob is streamed from
 * the source with its digest checked, decompressed, and its diff_id checked:
 *  - uncompressed blobs stream straight through;
 *  - compressed ones whose uncompressed size the source knows stream through the
 *    decompressor (a size or diff_id mismatch fails the archive before it is published);
 *  - others are decompressed once into scratch space to learn the size.
 */
import { createReadStream } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, errnoCode, diskFullError } from '../../core/errors';
import { DEFAULT_EXPANSION_LIMITS, decompressStages } from '../decompress';
import { layerCompression } from '../media-types';
import { digestVerifier, openVerified, type ImageSource, type SourceLayer } from './source';

export interface LayerTar {
  size: number;
  open(): Promise<Readable>;
}

/** zlib's own errors ("incorrect header check") say nothing of which layer: name it. */
function nameError(e: unknown, what: string): Error {
  if (e instanceof BerthError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  if (errnoCode(e)?.startsWith('Z_')) return new BerthError('EDIGEST', `${what} is not valid compressed data: ${err.message}`, { cause: e });
  return err;
}

/**
 * Chains `stages` onto `input`; an error anywhere fails the last stream (named). Every
 * stage keeps an error listener, so a late error (a digest check at the end of a stream
 * whose consumer already gave up) cannot become an uncaught exception.
 */
function chain(input: Readable, stages: NodeJS.ReadWriteStream[], what: string): Readable {
  let cur: NodeJS.ReadableStream = input;
  const all: NodeJS.EventEmitter[] = [input];
  for (const s of stages) {
    cur = cur.pipe(s);
    all.push(s);
  }
  const last = cur as Readable;
  for (const s of all) s.on('error', (e: Error) => (s === last ? undefined : last.destroy(nameError(e, what))));
  return last;
}

/** Counts the bytes that pass (the compressed size read so far, for the expansion guard). */
function counter(): { stage: Transform; read: () => number } {
  let n = 0;
  const stage = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      n += chunk.length;
      done(null, chunk);
    },
  });
  return { stage, read: () => n };
}

export async function layerTar(source: ImageSource, layer: SourceLayer, scratch: string): Promise<LayerTar> {
  const d = layer.descriptor;
  const compression = layerCompression(d.mediaType) ?? 'none';
  const what = `layer ${d.digest} from ${source.what}`;
  const diffCheck = (size?: number): NodeJS.ReadWriteStream => digestVerifier({ digest: layer.diffId, ...(size !== undefined ? { size } : {}) }, `uncompressed ${what} (diff_id ${layer.diffId})`);
  const decompress = (read: () => number): NodeJS.ReadWriteStream[] => decompressStages(compression, DEFAULT_EXPANSION_LIMITS, read, what);
  if (compression === 'none') {
    return { size: d.size, open: async () => chain(await openVerified(source, d), d.digest === layer.diffId ? [] : [diffCheck(d.size)], what) };
  }
  const stages = (size?: number): NodeJS.ReadWriteStream[] => {
    const c = counter();
    return [c.stage, ...decompress(c.read), diffCheck(size)];
  };
  if (layer.uncompressedSize !== undefined) {
    const size = layer.uncompressedSize;
    return { size, open: async () => chain(await openVerified(source, d), stages(size), what) };
  }
  const file = join(scratch, `${layer.chainId.replace(':', '-')}.tar`);
  try {
    await pipeline([chain(await openVerified(source, d), stages(), what), createWriteStream(file, { flags: 'wx', mode: 0o600 })]);
  } catch (e) {
    throw nameError(diskFullError(e, file), what);
  }
  return { size: (await stat(file)).size, open: async () => createReadStream(file) };
}
