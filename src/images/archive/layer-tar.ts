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
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_EXPANSION_LIMITS, decompressStages } from '../decompress';
import { layerCompression } from '../media-types';
import { digestVerifier, openVerified, type ImageSource, type SourceLayer } from './source';

export interface LayerTar {
  size: number;
  open(): Promise<Readable>;
}

/** Chains `stages` onto `input`, propagating errors to the last stream. */
function chain(input: Readable, stages: NodeJS.ReadWriteStream[]): Readable {
  let cur: NodeJS.ReadableStream = input;
  const all: (NodeJS.ReadableStream | NodeJS.ReadWriteStream)[] = [input];
  for (const s of stages) {
    cur = cur.pipe(s);
    all.push(s);
  }
  const last = cur as Readable;
  for (const s of all.slice(0, -1)) (s as Readable).on('error', (e: Error) => last.destroy(e));
  return last;
}

export async function layerTar(source: ImageSource, layer: SourceLayer, scratch: string): Promise<LayerTar> {
  const d = layer.descriptor;
  const compression = layerCompression(d.mediaType) ?? 'none';
  const what = `layer ${d.digest} from ${source.what}`;
  const diffCheck = (size?: number): NodeJS.ReadWriteStream => digestVerifier({ digest: layer.diffId, ...(size !== undefined ? { size } : {}) }, `uncompressed ${what} (diff_id ${layer.diffId})`);
  const decompress = (read: () => number): NodeJS.ReadWriteStream[] => decompressStages(compression, DEFAULT_EXPANSION_LIMITS, read, what);
  if (compression === 'none') {
    return { size: d.size, open: async () => chain(await openVerified(source, d), d.digest === layer.diffId ? [] : [diffCheck(d.size)]) };
  }
  const opened = async (): Promise<{ stream: Readable; read: () => number }> => {
    let read = 0;
    const stream = (await openVerified(source, d)).on('data', (c: Buffer) => (read += c.length));
    return { stream, read: () => read };
  };
  if (layer.uncompressedSize !== undefined) {
    const size = layer.uncompressedSize;
    return {
      size,
      open: async () => {
        const { stream, read } = await opened();
        return chain(stream, [...decompress(read), diffCheck(size)]);
      },
    };
  }
  const file = join(scratch, `${layer.chainId.replace(':', '-')}.tar`);
  const { stream, read } = await opened();
  await pipeline([stream, ...decompress(read), diffCheck(), createWriteStream(file, { flags: 'wx', mode: 0o600 })]);
  return { size: (await stat(file)).size, open: async () => createReadStream(file) };
}
