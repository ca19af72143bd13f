/**
 * The one way a compressed layer blob becomes an unpacked layer: decompress (with the
 * expansion guard), hash the tar for its diff_id, and feed it to an unpack writer (or
 * discard it) in the same pass. Pull uses it for downloads and for blobs already stored;
 * load, copy and createImage use it for blobs in the content store.
 */
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, errnoCode } from '../core/errors';
import { DigestCounter, parseDigest } from '../content/digest';
import { decompressStages, type ExpansionLimits } from './decompress';
import type { Compression } from './media-types';
import type { LayerWriter } from './unpack-sink';
import { isConnectionError } from './registry/http';

export interface LayerStreamOptions {
  source: Readable;
  compression: Compression;
  /** The diff_id the image config promises for this layer. */
  diffId: string;
  limits: ExpansionLimits;
  /** Compressed bytes read so far (for the expansion ratio). */
  compressedBytes: () => number;
  signal: AbortSignal;
  /** Names the layer in errors: "layer sha256:... of host/repo". */
  what: string;
  /** The operation, for cancellation messages: "pull", "load", ... */
  operation: string;
  writer: LayerWriter | undefined;
  /** Called once everything was read, before the diff_id is compared. */
  onVerifying?: () => void;
}

/**
 * Runs the layer stream to its end. Resolves with the tar's size once the diff_id matched;
 * the writer is neither committed nor aborted here (the caller decides).
 */
export async function runLayerStream(o: LayerStreamOptions): Promise<number> {
  const diff = new DigestCounter(parseDigest(o.diffId).algorithm);
  const hashing = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      diff.update(chunk);
      done(null, chunk);
    },
  });
  const out = new PassThrough();
  const streams: NodeJS.ReadWriteStream[] = [...decompressStages(o.compression, o.limits, o.compressedBytes, o.what), hashing, out];
  const piped = pipeline([o.source, ...streams], { signal: o.signal });
  // When the sink fails, the pipeline is torn down because of it: report the sink's error.
  // When the pipeline fails (network, corrupt data, limits), the sink sees that error too:
  // report the pipeline's.
  let sinkError: unknown;
  const applied = o.writer
    ? o.writer.apply(out).then(
        () => void out.resume(), // a tar reader may stop at the end-of-archive blocks: hash the rest too
        (e: unknown) => {
          sinkError ??= e;
          out.destroy(e instanceof Error ? e : new Error(String(e)));
          throw e;
        },
      )
    : Promise.resolve(void out.resume());
  let pipeError: unknown;
  const pipeFirst = piped.then(
    () => undefined,
    (e: unknown) => {
      if (sinkError === undefined) pipeError = e;
      throw e;
    },
  );
  const [p, a] = await Promise.allSettled([pipeFirst, applied]);
  if (o.signal.aborted) throw new BerthError('EABORTED', `${o.operation} cancelled during ${o.what}`, { cause: o.signal.reason });
  if (p.status === 'rejected' && pipeError !== undefined) throw nameStreamError(pipeError, o);
  if (a.status === 'rejected') throw wrapSinkError(a.reason, o.what);
  if (p.status === 'rejected') throw nameStreamError(p.reason, o);
  o.onVerifying?.();
  const actual = diff.digest();
  if (actual !== o.diffId) {
    throw new BerthError('EDIGEST', `${o.what}: uncompressed content does not match the image config's diff_id: expected ${o.diffId}, got ${actual}`, {
      hint: 'the image is inconsistent (its config lists other layers than its manifest); nothing was stored',
    });
  }
  return diff.bytes;
}

function wrapSinkError(e: unknown, what: string): BerthError {
  if (e instanceof BerthError) return e;
  return new BerthError('EINTERNAL', `unpacking ${what} failed: ${(e as Error).message}`, { cause: e });
}

function nameStreamError(e: unknown, o: LayerStreamOptions): unknown {
  if (o.signal.aborted) return new BerthError('EABORTED', `${o.operation} cancelled during ${o.what}`, { cause: e });
  if (e instanceof BerthError) return e;
  const code = errnoCode(e);
  if (code?.startsWith('Z_')) return new BerthError('EDIGEST', `${o.what} is not valid gzip data: ${(e as Error).message}`, { cause: e });
  if (isConnectionError(e)) return new BerthError('ENETWORK', `download of ${o.what} failed: ${(e as Error).message}`, { cause: e, hint: 'pull again: the download resumes where it stopped' });
  return e;
}
