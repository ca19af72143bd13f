/**
 * The local store as an image source (`berth:NAME`, and what `save` reads): the records'
 * manifests and configs from the content store, checked again against their digests, and
 * layer blobs streamed from it. Uncompressed layer sizes the store learned (at pull or load)
 * let a docker-archive writer stream compressed layers without spooling them.
 */
import { BerthError } from '../../core/errors';
import { MAX_CONFIG_BYTES, parseImageConfig } from '../config';
import type { ImageStores } from '../create';
import { MAX_MANIFEST_BYTES, parseManifestDocument } from '../manifest';
import { isIndexType } from '../media-types';
import type { ImageRecord } from '../store';
import type { ImageSource, SourceImage } from './source';

export interface LocalImage {
  record: ImageRecord;
  /** Names to give the image at the destination (normalized references). */
  names: string[];
}

export async function localSource(stores: ImageStores, wanted: readonly LocalImage[]): Promise<ImageSource> {
  const { content, images: store } = stores;
  const sizes = await store.diffSizes();
  const images: SourceImage[] = [];
  for (const { record, names } of wanted) {
    const what = `local image ${record.name}`;
    const manifestBytes = await content.readBlob(record.manifest.digest, MAX_MANIFEST_BYTES);
    const doc = parseManifestDocument(manifestBytes, record.manifest.mediaType, what);
    if (doc.kind !== 'manifest') throw new BerthError('EINTERNAL', `${what}: its manifest ${record.manifest.digest} is an index`);
    const configBytes = await content.readBlob(record.config.digest, MAX_CONFIG_BYTES);
    const index = isIndexType(record.target.mediaType) && (await content.has(record.target.digest))
      ? { descriptor: record.target, bytes: await content.readBlob(record.target.digest, MAX_MANIFEST_BYTES) }
      : undefined;
    images.push({
      names,
      ...(index ? { index } : {}),
      manifest: { descriptor: { ...record.manifest, mediaType: doc.mediaType }, bytes: manifestBytes, parsed: doc.manifest },
      config: { descriptor: record.config, bytes: configBytes, parsed: parseImageConfig(configBytes, what) },
      layers: record.layers.map((l) => ({
        descriptor: { mediaType: l.mediaType, digest: l.digest, size: l.size },
        diffId: l.diffId,
        chainId: l.chainId,
        ...(sizes[l.diffId] !== undefined ? { uncompressedSize: sizes[l.diffId] } : {}),
      })),
      synthesized: false,
    });
  }
  return {
    what: 'the local image store',
    images,
    openBlob: async (d) => {
      if (!(await content.has(d.digest))) {
        throw new BerthError('ENOT_FOUND', `blob ${d.digest} is not in the local content store`, { hint: 'pull the image again to fetch its missing content' });
      }
      return content.openRead(d.digest);
    },
    close: async () => undefined,
  };
}
