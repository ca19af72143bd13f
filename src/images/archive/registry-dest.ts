/**
 * A registry as a destination (`docker://REF`): config and layer blobs the repository lacks
 * are uploaded straight from the source's stream (digest checked on the way, and again by
 * the registry when the upload is closed), then the manifest is put under the tag (or
 * digest). The manifest goes last, so the registry never holds one whose blobs are missing.
 */
import { PassThrough, Readable } from 'node:stream';
import type { ArchiveEvent } from '../../core/events';
import type { Descriptor } from '../manifest';
import { familiarString, formatReference, parseReference } from '../reference';
import type { RegistryClient } from '../registry/client';
import { putManifest, startUpload, uploadBlob } from '../registry/upload';
import { openVerified, type ImageSource, type SourceImage } from './source';

export interface RegistryWriteOptions {
  signal?: AbortSignal;
  onEvent?: (e: ArchiveEvent) => void;
}

export async function writeToRegistry(client: RegistryClient, reference: string, source: ImageSource, image: SourceImage, opts: RegistryWriteOptions = {}): Promise<{ ref: string; digest: string }> {
  const ref = parseReference(reference);
  const emit = opts.onEvent ?? (() => undefined);
  const blobs: { descriptor: Descriptor; bytes?: Buffer }[] = [...image.layers.map((l) => ({ descriptor: l.descriptor })), { descriptor: image.config.descriptor, bytes: image.config.bytes }];
  for (const { descriptor: d, bytes } of blobs) {
    if (await client.hasBlob(ref, d.digest, opts.signal)) {
      emit({ type: 'blob-skipped', digest: d.digest });
      continue;
    }
    const started = await startUpload(client, ref, d.digest, undefined, opts.signal);
    if (started.mounted) continue;
    emit({ type: 'blob-copying', digest: d.digest, size: d.size });
    await uploadBlob(client, ref, started.location, { digest: d.digest, size: d.size, open: () => (bytes ? Readable.from([bytes]) : deferredStream(() => openVerified(source, d))) }, opts.signal ? { signal: opts.signal } : {});
    emit({ type: 'blob-copied', digest: d.digest });
  }
  const m = image.manifest;
  const digest = await putManifest(client, ref, ref.digest ?? ref.tag ?? 'latest', m.bytes, m.descriptor.mediaType, opts.signal);
  emit({ type: 'image-written', ref: familiarString(ref), id: image.config.descriptor.digest, digest });
  return { ref: formatReference(ref), digest };
}

/** A stream available at once whose data comes from a source opened asynchronously. */
function deferredStream(open: () => Promise<Readable>): Readable {
  const out = new PassThrough();
  open().then(
    (s) => {
      s.on('error', (e) => out.destroy(e));
      s.pipe(out);
    },
    (e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))),
  );
  return out;
}
