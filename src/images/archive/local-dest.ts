/**
 * The local store as a destination (`load`, `berth:NAME`): blobs go into the content store
 * through verified ingests, layers are unpacked through the sink (diff_ids checked), and the
 * image records are written last, all of them after everything else succeeded. A failure
 * takes back the blobs and layers this call created (rollback.ts), so a failed load leaves
 * no records, no partial blobs and no stray layers.
 */
import type { Readable } from 'node:stream';
import { BerthError } from '../../core/errors';
import type { ArchiveEvent } from '../../core/events';
import type { ContentStore } from '../../content/store';
import { storeSmallBlob, type ImageStores } from '../create';
import type { Descriptor } from '../manifest';
import { CreatedContent } from '../rollback';
import type { ImageRecord } from '../store';
import { unpackStoredLayers } from '../unpack-layers';
import type { UnpackSink } from '../unpack-sink';
import type { ImageSource, SourceImage } from './source';

export interface LocalWriteOptions {
  sink?: UnpackSink;
  signal?: AbortSignal;
  onEvent?: (e: ArchiveEvent) => void;
}

export interface LoadedImage {
  id: string;
  /** Names recorded (normalized references); empty when the image is known by id only. */
  names: string[];
  record: ImageRecord;
}

/** Writes `images` of `source` into the local store under the names given with each. */
export async function writeToLocal(stores: ImageStores, source: ImageSource, images: readonly { image: SourceImage; names: string[] }[], opts: LocalWriteOptions = {}): Promise<LoadedImage[]> {
  const { content, images: store } = stores;
  const emit = opts.onEvent ?? (() => undefined);
  const created = new CreatedContent();
  try {
    return await content.withLease(async () => {
      const pending: { record: ImageRecord; diffSizes: Record<string, number> }[] = [];
      const out: LoadedImage[] = [];
      for (const { image, names } of images) {
        for (const l of image.layers) await copyBlob(content, source, l.descriptor, created, emit, opts.signal);
        await storeSmallBlob(content, image.config.bytes, created);
        await storeSmallBlob(content, image.manifest.bytes, created);
        if (image.index) await storeSmallBlob(content, image.index.bytes, created);
        const layers = image.layers.map((l) => ({ digest: l.descriptor.digest, mediaType: l.descriptor.mediaType, size: l.descriptor.size, diffId: l.diffId, chainId: l.chainId }));
        const diffSizes: Record<string, number> = {};
        for (const l of image.layers) if (l.uncompressedSize !== undefined) diffSizes[l.diffId] = l.uncompressedSize;
        const what = names[0] ?? image.config.descriptor.digest;
        if (opts.sink) {
          const r = await unpackStoredLayers({ content, sink: opts.sink, layers, what, operation: 'load', ...(opts.signal ? { signal: opts.signal } : {}), onEvent: emit });
          created.layers.push(...r.committed);
          Object.assign(diffSizes, r.diffSizes);
        }
        const cfg = image.config.parsed;
        const base: Omit<ImageRecord, 'name'> = {
          target: image.index?.descriptor ?? image.manifest.descriptor,
          manifest: image.manifest.descriptor,
          config: image.config.descriptor,
          id: image.config.descriptor.digest,
          platform: { os: cfg.os, architecture: cfg.architecture, ...(cfg.variant ? { variant: cfg.variant } : {}) },
          ...(cfg.created ? { created: cfg.created } : {}),
          layers,
          recordedAt: new Date().toISOString(),
        };
        const recordNames = names.length ? names : [base.id];
        for (const name of recordNames) pending.push({ record: { name, ...base }, diffSizes });
        out.push({ id: base.id, names, record: { name: recordNames[0]!, ...base } });
      }
      for (const p of pending) await store.put(p.record, p.diffSizes);
      for (const o of out) {
        if (o.names.length === 0) emit({ type: 'image-loaded', id: o.id });
        for (const name of o.names) emit({ type: 'image-loaded', name, id: o.id });
      }
      return out;
    }, opts.signal ? { signal: opts.signal } : {});
  } catch (e) {
    await created.rollback(content, store, opts.sink);
    throw e;
  }
}

/** Streams one blob into the content store (verified by the ingest) unless it is there. */
async function copyBlob(content: ContentStore, source: ImageSource, d: Descriptor, created: CreatedContent, emit: (e: ArchiveEvent) => void, signal?: AbortSignal): Promise<void> {
  for (;;) {
    const opened = await content.openWriter({ digest: d.digest, size: d.size }, signal ? { signal } : {});
    if (opened.status === 'exists') {
      emit({ type: 'blob-skipped', digest: d.digest });
      return;
    }
    const w = opened.writer;
    if (w.offset > 0) {
      // Data left by an interrupted run: a local source is cheap to read again from the start.
      await w.discard();
      continue;
    }
    emit({ type: 'blob-copying', digest: d.digest, size: d.size });
    let stream: Readable | undefined;
    try {
      stream = await source.openBlob(d);
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (signal?.aborted) throw new BerthError('EABORTED', `cancelled while copying blob ${d.digest}`, { cause: signal.reason });
        await w.write(chunk);
      }
      await w.commit(); // checks size and digest; discards the data on a mismatch
    } catch (e) {
      stream?.destroy();
      await w.discard();
      if (e instanceof BerthError && e.code === 'EDIGEST') e.message = `${e.message} (from ${source.what})`;
      throw e;
    }
    created.blobs.add(d.digest);
    emit({ type: 'blob-copied', digest: d.digest });
    return;
  }
}
