/**
 * A registry image (`docker://REF`) as an image source: the manifest (the platform's, when
 * the reference names an index), its config and blob streams, all through the registry
 * client (auth, retries). Blobs are streamed to the destination as they arrive.
 */
import { BerthError } from '../../core/errors';
import { parseManifestDocument, selectManifest, type Descriptor } from '../manifest';
import { hostPlatform, type Platform } from '../platform';
import { familiarString, formatReference, parseReference } from '../reference';
import type { RegistryClient } from '../registry/client';
import { imageFromManifest, type ImageSource } from './source';

export async function registrySource(client: RegistryClient, reference: string, opts: { platform?: Platform; signal?: AbortSignal } = {}): Promise<ImageSource> {
  const ref = parseReference(reference);
  const what = `${familiarString(ref)} (registry ${ref.domain})`;
  const top = await client.getManifest(ref, ref.digest ?? ref.tag ?? 'latest', what, opts.signal);
  const doc = parseManifestDocument(top.bytes, top.contentType, what);
  const topDesc: Descriptor = { mediaType: doc.mediaType, digest: top.digest, size: top.bytes.length };
  const source: Pick<ImageSource, 'openBlob' | 'what'> = {
    what,
    openBlob: async (d) => (await client.openBlob(ref, d.digest, 0, opts.signal)).stream,
  };
  const names = ref.tag ? [formatReference({ domain: ref.domain, path: ref.path, tag: ref.tag })] : [];
  if (doc.kind === 'manifest') {
    const image = await imageFromManifest(source, { descriptor: topDesc, bytes: top.bytes }, names);
    return { ...source, images: [image], close: async () => undefined };
  }
  const chosen = selectManifest(doc.index, opts.platform ?? hostPlatform(), what);
  const child = await client.getManifest(ref, chosen.digest, `${what} (manifest ${chosen.digest})`, opts.signal);
  if (child.bytes.length !== chosen.size) {
    throw new BerthError('EDIGEST', `manifest ${chosen.digest} of ${what} is ${child.bytes.length} bytes, but the index says ${chosen.size}`);
  }
  const image = await imageFromManifest(source, { descriptor: chosen, bytes: child.bytes }, names, { descriptor: topDesc, bytes: top.bytes });
  return { ...source, images: [image], close: async () => undefined };
}
