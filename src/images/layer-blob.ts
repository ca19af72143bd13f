/**
 * Stores an uncompressed layer tar as a layer blob: the tar is hashed for its diff_id and
 * (optionally) gzip-compressed on the way into the content store, whose digest is known only
 * once the last byte is through (ContentStore.ingestStream). One pass, nothing buffered.
 */
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { errnoCode, isDiskFull } from '../core/errors';
import type { ContentStore } from '../content/store';
import { DigestCounter } from '../content/digest';
import { layerMediaType } from './media-types';

export type LayerBlobCompression = 'gzip' | 'none';

export interface StoredLayerBlob {
  digest: string;
  size: number;
  mediaType: string;
  diffId: string;
  /** Size of the uncompressed tar. */
  unpackedSize: number;
  /** The blob was not in the store before. */
  created: boolean;
}

export async function storeLayerTar(
  content: ContentStore,
  tar: Readable,
  opts: { compression: LayerBlobCompression; format: 'oci' | 'docker'; signal?: AbortSignal },
): Promise<StoredLayerBlob> {
  const diff = new DigestCounter();
  const hashing = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      diff.update(chunk);
      done(null, chunk);
    },
  });
  const out = new PassThrough();
  const stages: NodeJS.ReadWriteStream[] = [hashing, ...(opts.compression === 'gzip' ? [createGzip()] : []), out];
  const piped = pipeline([tar, ...stages], opts.signal ? { signal: opts.signal } : {});
  const stored = content.ingestStream(out, opts.signal ? { signal: opts.signal } : {});
  const [p, s] = await Promise.allSettled([piped, stored]);
  // A store failure (disk full) tears the pipeline down ("premature close", or an AbortError
  // from the iterator the store stopped reading): report the cause, not its echo.
  const teardown = p.status === 'rejected' && !opts.signal?.aborted && ['ERR_STREAM_PREMATURE_CLOSE', 'ABORT_ERR'].includes(errnoCode(p.reason) ?? '');
  if (s.status === 'rejected' && (p.status === 'fulfilled' || teardown || isDiskFull(s.reason))) throw s.reason;
  if (p.status === 'rejected') throw p.reason;
  if (s.status === 'rejected') throw s.reason;
  return {
    digest: s.value.digest,
    size: s.value.size,
    mediaType: layerMediaType(opts.compression, opts.format),
    diffId: diff.digest(),
    unpackedSize: diff.bytes,
    created: s.value.created,
  };
}
