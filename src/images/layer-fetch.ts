/**
 * One layer's way from the registry into the content store (and, optionally, an unpack
 * sink) in a single pass: the compressed bytes are appended to the ingest and hashed for the
 * blob digest, and decompressed in the same stream to hash the diff_id and feed the sink.
 * Nothing is committed until both digests check out.
 *
 * Downloads resume: bytes kept in the ingest by an earlier attempt or process are read back
 * from disk (through the same hashing and decompression), and the rest is requested with a
 * Range header; a connection that breaks mid-layer is re-requested from where it stopped.
 */
import { Readable } from 'node:stream';
import { BerthError } from '../core/errors';
import type { PullEvent } from '../core/events';
import type { ContentStore, ContentWriter } from '../content/store';
import type { ExpansionLimits } from './decompress';
import { runLayerStream } from './layer-stream';
import type { Compression } from './media-types';
import type { LayerInfo, LayerWriter } from './unpack-sink';
import type { RegistryClient, Repository } from './registry/client';
import { backoffDelay, isConnectionError, sleepOrAbort, type RetryPolicy } from './registry/http';

export interface LayerJob {
  info: LayerInfo;
  repo: Repository;
  compression: Compression;
}

export interface FetchContext {
  content: ContentStore;
  client: RegistryClient;
  limits: ExpansionLimits;
  retry: RetryPolicy;
  signal: AbortSignal;
  emit: (e: PullEvent) => void;
}

export interface LayerResult {
  /** Uncompressed size (the tar), learned while verifying. */
  unpackedSize: number;
}

/**
 * Downloads a layer into the content store, verifying digest and diff_id; with a `writer`,
 * unpacks it in the same pass. If another process committed the blob meanwhile, unpacks
 * from the store instead. A resumed download whose digest fails is retried once from zero
 * (the kept prefix may be what was wrong).
 */
export async function downloadLayer(ctx: FetchContext, job: LayerJob, makeWriter?: () => Promise<LayerWriter>, unpackLater = false): Promise<LayerResult> {
  for (let fresh = false; ; fresh = true) {
    const opened = await ctx.content.openWriter({ digest: job.info.digest, size: job.info.size }, { signal: ctx.signal });
    if (opened.status === 'exists') return unpackLater ? { unpackedSize: -1 } : unpackFromStore(ctx, job, makeWriter);
    const w = opened.writer;
    if (fresh && w.offset > 0) {
      await w.discard();
      continue;
    }
    try {
      return await downloadInto(ctx, job, w, makeWriter, unpackLater);
    } catch (e) {
      // The kept prefix may be what was wrong (a torn write before a crash): start over once.
      if (!fresh && w.offset > 0 && e instanceof BerthError && e.code === 'EDIGEST') continue;
      throw e;
    }
  }
}

async function downloadInto(ctx: FetchContext, job: LayerJob, w: ContentWriter, makeWriter: (() => Promise<LayerWriter>) | undefined, unpackLater: boolean): Promise<LayerResult> {
  const { digest, size } = job.info;
  if (w.offset > 0) ctx.emit({ type: 'layer-resumed', digest, offset: w.offset, total: size });
  let writer: LayerWriter | undefined;
  let keepIngest = false;
  let stored = false;
  let unpacked = false;
  try {
    writer = makeWriter ? await makeWriter() : undefined;
    const source = Readable.from(downloadChunks(ctx, job, w), { objectMode: false });
    const unpackedSize = await runJobStream(ctx, job, source, () => w.received, writer);
    w.verify();
    await w.commit();
    stored = true;
    if (writer) await writer.commit();
    unpacked = true;
    ctx.emit(unpackLater ? { type: 'layer-downloaded', digest } : { type: 'layer-complete', digest });
    return { unpackedSize };
  } catch (e) {
    // A broken connection or a cancel keeps the data for the next run; wrong data does not.
    keepIngest = !(e instanceof BerthError && (e.code === 'EDIGEST' || e.code === 'ELIMIT'));
    throw e;
  } finally {
    if (!stored) {
      if (keepIngest) await w.close();
      else await w.discard();
    }
    if (writer && !unpacked) await writer.abort();
  }
}

/** Unpacks a layer whose blob is in the content store (checking its diff_id again). */
export async function unpackFromStore(ctx: FetchContext, job: LayerJob, makeWriter?: () => Promise<LayerWriter>): Promise<LayerResult> {
  const { digest } = job.info;
  if (!makeWriter) {
    ctx.emit({ type: 'layer-already-exists', digest });
    return { unpackedSize: -1 };
  }
  ctx.emit({ type: 'layer-extracting', digest });
  const writer = await makeWriter();
  let committed = false;
  try {
    let read = 0;
    const source = (await ctx.content.openRead(digest)).on('data', (c: Buffer) => (read += c.length));
    const unpackedSize = await runJobStream(ctx, job, source, () => read, writer);
    await writer.commit();
    committed = true;
    ctx.emit({ type: 'layer-complete', digest });
    return { unpackedSize };
  } finally {
    if (!committed) await writer.abort();
  }
}

/** Decompresses, verifies the diff_id and feeds the writer (see layer-stream.ts). */
function runJobStream(ctx: FetchContext, job: LayerJob, source: Readable, compressedBytes: () => number, writer: LayerWriter | undefined): Promise<number> {
  const digest = job.info.digest;
  return runLayerStream({
    source,
    compression: job.compression,
    diffId: job.info.diffId,
    limits: ctx.limits,
    compressedBytes,
    signal: ctx.signal,
    what: `layer ${digest} of ${job.repo.domain}/${job.repo.path}`,
    operation: 'pull',
    writer,
    onVerifying: () => ctx.emit({ type: 'layer-verifying', digest }),
  });
}

/**
 * The blob's compressed bytes: first the prefix kept in the ingest, then the rest from the
 * registry (appended to the ingest as it arrives), re-requested from the current offset when
 * the connection breaks.
 */
async function* downloadChunks(ctx: FetchContext, job: LayerJob, w: ContentWriter): AsyncGenerator<Buffer> {
  const { digest, size } = job.info;
  for await (const chunk of w.prefix() as AsyncIterable<Buffer>) yield chunk;
  ctx.emit({ type: 'layer-downloading', digest, current: w.received, total: size });
  let attempt = 0;
  let lastReported = w.received;
  while (w.received < size) {
    try {
      const res = await ctx.client.openBlob(job.repo, digest, w.received, ctx.signal, (n, reason) =>
        ctx.emit({ type: 'layer-retrying', digest, attempt: n, offset: w.received, reason }),
      );
      if (res.total !== undefined && res.total !== size && res.start === 0) {
        res.stream.destroy();
        throw new BerthError('EDIGEST', `registry ${job.repo.domain} says blob ${digest} is ${res.total} bytes, but its descriptor says ${size}`, {
          hint: 'the registry serves truncated or different data; nothing was stored',
        });
      }
      let skip = w.received - res.start; // > 0 when the server ignored Range and sent it all
      for await (const raw of res.stream as AsyncIterable<Buffer>) {
        let chunk = raw;
        if (skip > 0) {
          if (chunk.length <= skip) {
            skip -= chunk.length;
            continue;
          }
          chunk = chunk.subarray(skip);
          skip = 0;
        }
        await w.write(chunk);
        if (w.received - lastReported >= 64 * 1024 || w.received === size) {
          lastReported = w.received;
          ctx.emit({ type: 'layer-downloading', digest, current: w.received, total: size });
        }
        yield chunk;
      }
      if (w.received < size) {
        throw new BerthError('EDIGEST', `registry ${job.repo.domain} ended blob ${digest} after ${w.received} of ${size} bytes`, {
          hint: 'the registry serves a truncated blob; nothing was stored',
        });
      }
    } catch (e) {
      if (ctx.signal.aborted || !isConnectionError(e) || attempt >= ctx.retry.retries) throw e;
      attempt++;
      ctx.emit({ type: 'layer-retrying', digest, attempt, offset: w.received, reason: (e as Error).message });
      await sleepOrAbort(backoffDelay(ctx.retry, attempt), ctx.signal);
    }
  }
}
