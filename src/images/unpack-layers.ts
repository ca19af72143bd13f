/**
 * Unpacks an image's layers from the content store through an unpack sink, bottom first,
 * checking each layer's diff_id on the way (load, copy into the local store, createImage).
 * Layers the sink has are skipped. When a layer fails, the layers this call committed are
 * discarded again (if the sink can), so a failed operation leaves no unpacked layers behind.
 */
import { BerthError } from '../core/errors';
import type { ArchiveEvent } from '../core/events';
import type { ContentStore } from '../content/store';
import { DEFAULT_EXPANSION_LIMITS, type ExpansionLimits } from './decompress';
import { runLayerStream } from './layer-stream';
import { layerCompression } from './media-types';
import type { LayerRecord } from './store';
import type { UnpackSink } from './unpack-sink';

export interface UnpackLayersOptions {
  content: ContentStore;
  sink: UnpackSink;
  layers: readonly LayerRecord[];
  /** Names the image in errors. */
  what: string;
  /** For cancellation messages: "load", "import", ... */
  operation: string;
  signal?: AbortSignal;
  limits?: Partial<ExpansionLimits>;
  onEvent?: (e: ArchiveEvent) => void;
}

export interface UnpackLayersResult {
  /** Chain ids this call committed (the others were there already). */
  committed: string[];
  /** Uncompressed sizes learned, by diff_id. */
  diffSizes: Record<string, number>;
}

export async function unpackStoredLayers(o: UnpackLayersOptions): Promise<UnpackLayersResult> {
  const emit = o.onEvent ?? (() => undefined);
  const signal = o.signal ?? new AbortController().signal;
  const limits = { ...DEFAULT_EXPANSION_LIMITS, ...(o.limits ?? {}) };
  const committed: string[] = [];
  const diffSizes: Record<string, number> = {};
  try {
    for (const [index, l] of o.layers.entries()) {
      if (o.sink.has(l.chainId)) {
        emit({ type: 'layer-already-exists', digest: l.digest });
        continue;
      }
      const compression = layerCompression(l.mediaType);
      if (compression === undefined) {
        throw new BerthError('EUNSUPPORTED', `${o.what}: layer ${l.digest} has media type "${l.mediaType}", which is not a layer type Berth can unpack`);
      }
      emit({ type: 'layer-extracting', digest: l.digest });
      const writer = await o.sink.begin({
        index,
        digest: l.digest,
        diffId: l.diffId,
        chainId: l.chainId,
        parentChainId: index > 0 ? o.layers[index - 1]!.chainId : undefined,
        mediaType: l.mediaType,
        size: l.size,
      });
      let done = false;
      try {
        let read = 0;
        const source = (await o.content.openRead(l.digest)).on('data', (c: Buffer) => (read += c.length));
        diffSizes[l.diffId] = await runLayerStream({
          source,
          compression,
          diffId: l.diffId,
          limits,
          compressedBytes: () => read,
          signal,
          what: `layer ${l.digest} of ${o.what}`,
          operation: o.operation,
          writer,
        });
        await writer.commit();
        done = true;
        committed.push(l.chainId);
        emit({ type: 'layer-complete', digest: l.digest });
      } finally {
        if (!done) await writer.abort();
      }
    }
  } catch (e) {
    await discardLayers(o.sink, committed);
    throw e;
  }
  return { committed, diffSizes };
}

/** Removes layers committed by a failed operation, top first (children before parents). */
export async function discardLayers(sink: UnpackSink, chainIds: readonly string[]): Promise<void> {
  if (!sink.discard) return;
  for (const id of [...chainIds].reverse()) await sink.discard(id).catch(() => undefined);
}
