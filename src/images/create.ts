/**
 * createImage: a new image from a base image (optional) plus new layers, the one way Berth
 * makes images locally — `import` (one layer from a rootfs tarball), `commit` (the container's
 * changes as a layer), and the Dockerfile builder (a layer per step, or none for config-only
 * steps).
 *
 * Each new layer is either an uncompressed tar stream, which is hashed for its diff_id and
 * compressed into the content store in one pass, or a blob already stored (with its
 * diff_id). The config is the base's with the new diff_ids, history and `created` time, the
 * run defaults changed by `--change` instructions; the manifest is OCI (default) or Docker
 * v2 schema 2. The new layers are unpacked through the unpack sink, so the image can run at
 * once, and only then is the image recorded: under `name`, or by id alone (docker's
 * `<none>:<none>`). If anything fails, the blobs and layers this call created are removed.
 */
import type { Readable } from 'node:stream';
import { BerthError } from '../core/errors';
import type { ArchiveEvent } from '../core/events';
import { digestOf } from '../content/digest';
import type { ContentStore } from '../content/store';
import { chainIds } from './chain-id';
import { MAX_CONFIG_BYTES, parseImageConfig, type HistoryEntry, type ImageConfig } from './config';
import { applyChanges, type ConfigChange, type RunConfig } from './config-changes';
import { readImageConfig } from './history';
import { storeLayerTar, type LayerBlobCompression } from './layer-blob';
import type { Descriptor } from './manifest';
import { MediaType, layerCompression, layerMediaType } from './media-types';
import { hostPlatform, type Platform } from './platform';
import { formatReference, parseReference } from './reference';
import { CreatedContent } from './rollback';
import type { ImageRecord, ImageStore, LayerRecord } from './store';
import { unpackStoredLayers } from './unpack-layers';
import type { UnpackSink } from './unpack-sink';

/** The stores createImage works on (an ImageService has both). */
export interface ImageStores {
  content: ContentStore;
  images: ImageStore;
}

/** A new layer: an uncompressed tar to store, or a blob already in the content store. */
export type NewLayerSource = { tar: Readable } | { blob: Pick<Descriptor, 'digest' | 'size' | 'mediaType'>; diffId: string };

export type ManifestFormat = 'oci' | 'docker';

export interface CreateImageOptions {
  /** The image the new layers go on top of (its config is the starting point). */
  base?: ImageRecord;
  /** New layers, bottom first. */
  layers?: NewLayerSource[];
  /** Replaces the run defaults taken from the base, before `changes` apply. */
  runConfig?: RunConfig;
  /** `--change` instructions (parseChanges), applied in order. */
  changes?: readonly ConfigChange[];
  /**
   * History of the new steps, in order: one entry per new layer plus any `empty_layer` ones.
   * Default: one entry per layer carrying `comment`/`author`.
   */
  history?: HistoryEntry[];
  /** Commit message (`-m`): the config's `comment` and the default history comment. */
  comment?: string;
  author?: string;
  /** Default: now. */
  created?: Date;
  /** Platform of an image without base (default: the host's); with a base, the base's. */
  platform?: Platform;
  /** How new tar layers are stored (default gzip). */
  compression?: LayerBlobCompression;
  /** Manifest and config media types (default oci). */
  format?: ManifestFormat;
  /** Name to record the image under; default none (known by id only). */
  name?: string;
  /** Unpacks the new layers so the image can run at once (the snapshotter's sink). */
  sink?: UnpackSink;
  signal?: AbortSignal;
  onEvent?: (e: ArchiveEvent) => void;
}

export interface CreatedImage {
  record: ImageRecord;
  config: ImageConfig;
}

/** Normalizes a name an image is recorded under; digests are refused (content decides those). */
export function imageNameFor(name: string): string {
  const ref = parseReference(name);
  if (ref.digest) throw new BerthError('EINVALID_REFERENCE', `cannot name an image "${name}": a name with a digest is fixed by content`, { hint: 'give a name with a tag, such as myimage:1.0' });
  return formatReference(ref);
}

export async function createImage(stores: ImageStores, opts: CreateImageOptions): Promise<CreatedImage> {
  const { content, images } = stores;
  const name = opts.name !== undefined ? imageNameFor(opts.name) : undefined;
  const format = opts.format ?? 'oci';
  const emit = opts.onEvent ?? (() => undefined);
  const created = new CreatedContent();
  try {
    return await content.withLease(async () => {
      const base = opts.base ? await baseParts(content, opts.base, format) : undefined;
      const diffSizes: Record<string, number> = {};
      const added: Omit<LayerRecord, 'chainId'>[] = [];
      for (const [index, source] of (opts.layers ?? []).entries()) {
        if ('tar' in source) {
          emit({ type: 'layer-storing', index });
          const stored = await storeLayerTar(content, source.tar, { compression: opts.compression ?? 'gzip', format, ...(opts.signal ? { signal: opts.signal } : {}) });
          if (stored.created) created.blobs.add(stored.digest);
          diffSizes[stored.diffId] = stored.unpackedSize;
          added.push({ digest: stored.digest, size: stored.size, mediaType: stored.mediaType, diffId: stored.diffId });
          emit({ type: 'layer-stored', index, digest: stored.digest, diffId: stored.diffId, size: stored.size });
        } else {
          added.push({ ...(await checkStoredLayer(content, source.blob, index)), diffId: source.diffId });
        }
      }
      const diffIds = [...(base?.diffIds ?? []), ...added.map((l) => l.diffId)];
      const chains = chainIds(diffIds);
      const layers: LayerRecord[] = [...(base?.layers ?? []), ...added].map((l, i) => ({ ...l, chainId: chains[i]! }));
      const when = (opts.created ?? new Date()).toISOString();
      const platform = base?.platform ?? opts.platform ?? hostPlatform();
      const configJson = {
        ...(base?.extra ?? {}),
        created: when,
        ...(opts.author ? { author: opts.author } : {}),
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        ...(opts.comment ? { comment: opts.comment } : {}),
        config: applyChanges(opts.runConfig ?? base?.config.config ?? {}, opts.changes ?? []),
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: [...(base?.config.history ?? []), ...newHistory(opts, added.length, when)],
      };
      const configBytes = Buffer.from(JSON.stringify(configJson));
      if (configBytes.length > MAX_CONFIG_BYTES) throw new BerthError('ELIMIT', `the new image config is ${configBytes.length} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`);
      const config = parseImageConfig(configBytes, 'the new image');
      const configDesc: Descriptor = { mediaType: format === 'oci' ? MediaType.ociConfig : MediaType.dockerConfig, digest: digestOf(configBytes), size: configBytes.length };
      await storeSmallBlob(content, configBytes, created);
      const manifestBytes = manifestFor(format, configDesc, layers);
      const manifestDesc: Descriptor = { mediaType: format === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest, digest: digestOf(manifestBytes), size: manifestBytes.length };
      await storeSmallBlob(content, manifestBytes, created);
      if (opts.sink) {
        const unpacked = await unpackStoredLayers({
          content,
          sink: opts.sink,
          layers,
          what: name ?? 'the new image',
          operation: 'image creation',
          ...(opts.signal ? { signal: opts.signal } : {}),
          onEvent: emit,
        });
        created.layers.push(...unpacked.committed);
        Object.assign(diffSizes, unpacked.diffSizes);
      }
      const record: ImageRecord = {
        name: name ?? configDesc.digest,
        target: manifestDesc,
        manifest: manifestDesc,
        config: configDesc,
        id: configDesc.digest,
        platform: { os: platform.os, architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) },
        created: when,
        layers,
        recordedAt: new Date().toISOString(),
      };
      await images.put(record, diffSizes);
      return { record, config };
    }, opts.signal ? { signal: opts.signal } : {});
  } catch (e) {
    await created.rollback(content, images, opts.sink);
    throw e;
  }
}

interface BaseParts {
  config: ImageConfig;
  diffIds: string[];
  layers: Omit<LayerRecord, 'chainId'>[];
  platform: Platform;
  /** Fields of the base config we keep as they are (os.version, os.features, ...). */
  extra: Record<string, unknown>;
}

/** Config fields that describe the base's own creation and are not inherited. */
const NOT_INHERITED = new Set(['created', 'author', 'comment', 'config', 'rootfs', 'history', 'architecture', 'os', 'variant', 'container', 'container_config', 'docker_version', 'id', 'parent']);

async function baseParts(content: ContentStore, base: ImageRecord, format: ManifestFormat): Promise<BaseParts> {
  const config = await readImageConfig(content, base);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== base.layers.length || base.layers.some((l, i) => l.diffId !== diffIds[i])) {
    throw new BerthError('EINTERNAL', `base image ${base.name}: its record's layers do not match its config's diff_ids`, { hint: 'pull or load the base image again' });
  }
  const extra = Object.fromEntries(Object.entries(config).filter(([k]) => !NOT_INHERITED.has(k)));
  return {
    config,
    diffIds,
    // The same bytes under the media type of the manifest format we write.
    layers: base.layers.map((l) => {
      const c = layerCompression(l.mediaType);
      const plain = c !== undefined && !l.mediaType.includes('nondistributable') && !l.mediaType.includes('foreign');
      return { digest: l.digest, size: l.size, diffId: l.diffId, mediaType: plain ? layerMediaType(c, format) : l.mediaType };
    }),
    platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) },
    extra,
  };
}

async function checkStoredLayer(content: ContentStore, blob: Pick<Descriptor, 'digest' | 'size' | 'mediaType'>, index: number): Promise<Pick<LayerRecord, 'digest' | 'size' | 'mediaType'>> {
  const info = await content.stat(blob.digest);
  if (!info) throw new BerthError('ENOT_FOUND', `new layer ${index}: blob ${blob.digest} is not in the content store`);
  if (info.size !== blob.size) throw new BerthError('EDIGEST', `new layer ${index}: blob ${blob.digest} is ${info.size} bytes, not ${blob.size}`);
  if (layerCompression(blob.mediaType) === undefined) throw new BerthError('EINVALID_ARGUMENT', `new layer ${index}: "${blob.mediaType}" is not a layer media type`);
  return { digest: blob.digest, size: blob.size, mediaType: blob.mediaType };
}

function newHistory(opts: CreateImageOptions, layerCount: number, when: string): HistoryEntry[] {
  if (opts.history) {
    const withLayers = opts.history.filter((h) => !h.empty_layer).length;
    if (withLayers !== layerCount) {
      throw new BerthError('EINVALID_ARGUMENT', `history lists ${withLayers} steps that made a layer, but ${layerCount} new layers were given`, {
        hint: 'mark the steps that made no layer with empty_layer: true',
      });
    }
    return opts.history.map((h) => ({ created: when, ...h }));
  }
  return Array.from({ length: layerCount }, () => ({
    created: when,
    ...(opts.author ? { author: opts.author } : {}),
    ...(opts.comment ? { comment: opts.comment } : {}),
  }));
}

function manifestFor(format: ManifestFormat, config: Descriptor, layers: readonly LayerRecord[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: format === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest,
      config,
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
}

/** Stores a manifest or config, noting whether this call created it (for rollback). */
export async function storeSmallBlob(content: ContentStore, bytes: Buffer, created: CreatedContent): Promise<string> {
  const digest = digestOf(bytes);
  if (!(await content.has(digest))) {
    await content.writeBlob(bytes, { digest, size: bytes.length });
    created.blobs.add(digest);
  }
  return digest;
}
