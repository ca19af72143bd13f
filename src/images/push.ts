/**
 * `push`: uploads a local image to the registry its name points at. Blobs the registry has
 * are skipped (HEAD); blobs the image was pulled with from another repository of the same
 * registry are mounted (no transfer); the rest are uploaded (monolithic, or chunked with
 * `chunkSize`). Manifests go last, so that a registry never holds a manifest whose blobs
 * are missing. An index is pushed when all its manifests are stored locally; otherwise the
 * platform manifest alone.
 */
import { createReadStream } from 'node:fs';
import { BerthError } from '../core/errors';
import type { PushEvent } from '../core/events';
import type { ContentStore } from '../content/store';
import { isIndexType } from './media-types';
import { MAX_MANIFEST_BYTES, imageEntries, parseManifestDocument, type Descriptor } from './manifest';
import { familiarString, formatReference, parseReference, repositoryName, type ImageReference } from './reference';
import type { RegistryClient, Repository } from './registry/client';
import { putManifest, startUpload, uploadBlob } from './registry/upload';
import { Semaphore } from './semaphore';
import { recordReference, type ImageStore } from './store';

export interface PushOptions {
  content: ContentStore;
  images: ImageStore;
  client: RegistryClient;
  signal?: AbortSignal;
  onEvent?: (e: PushEvent) => void;
  /** Parallel blob uploads (default 3). */
  concurrency?: number;
  /** Upload blobs larger than this in PATCH chunks of this size; default: monolithic PUT. */
  chunkSize?: number;
}

export interface PushResult {
  /** Normalized destination reference. */
  ref: string;
  /** Digest of the pushed manifest or index (what `name@digest` pulls). */
  digest: string;
  size: number;
}

/**
 * Pushes the local image `name` (a local name; it is also the destination). Use `tag` first
 * to push under another name.
 */
export async function push(name: string, opts: PushOptions): Promise<PushResult> {
  const record = await opts.images.resolve(name);
  const dest = parseReference(name);
  const what = familiarString(dest);
  const emit = opts.onEvent ?? (() => undefined);
  emit({ type: 'push-preparing', ref: what });
  // Another repository of the same registry that this image came from can lend its blobs.
  const mountFrom: Repository | undefined = (await opts.images.list())
    .filter((r) => r.id === record.id)
    .map((r) => recordReference(r.name))
    .find((r): r is ImageReference => r !== undefined && r.domain === dest.domain && r.path !== dest.path);
  const reference = dest.tag ?? dest.digest ?? 'latest';

  return opts.content.withLease(async () => {
    const manifests = await manifestsToPush(opts.content, record.target, record.manifest);
    const blobs = new Map<string, Descriptor>();
    const configs = new Set<string>();
    for (const m of manifests.children) {
      const doc = parseManifestDocument(await opts.content.readBlob(m.digest, MAX_MANIFEST_BYTES), m.mediaType, `${what} (manifest ${m.digest})`);
      if (doc.kind !== 'manifest') continue;
      configs.add(doc.manifest.config.digest);
      for (const d of [doc.manifest.config, ...doc.manifest.layers]) blobs.set(d.digest, d);
    }
    const sem = new Semaphore(opts.concurrency ?? 3);
    const results = await Promise.allSettled(
      [...blobs.values()].map(async (d) => {
        const release = await sem.acquire();
        try {
          await pushBlob(opts, dest, d, mountFrom, configs.has(d.digest), emit);
        } finally {
          release();
        }
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const top = manifests.top;
    for (const m of manifests.children) {
      if (m.digest === top.digest) continue;
      const bytes = await opts.content.readBlob(m.digest, MAX_MANIFEST_BYTES);
      await putManifest(opts.client, dest, m.digest, bytes, m.mediaType, opts.signal);
    }
    const bytes = await opts.content.readBlob(top.digest, MAX_MANIFEST_BYTES);
    const digest = await putManifest(opts.client, dest, reference, bytes, top.mediaType, opts.signal);
    emit({ type: 'manifest-pushed', ref: what, digest, size: bytes.length });
    return { ref: formatReference(dest), digest, size: bytes.length };
  });
}

/** The index and all its manifests when they are all stored, else the one manifest. */
async function manifestsToPush(content: ContentStore, target: Descriptor, manifest: Descriptor): Promise<{ top: Descriptor; children: Descriptor[] }> {
  if (!isIndexType(target.mediaType)) return { top: target, children: [target] };
  const doc = parseManifestDocument(await content.readBlob(target.digest, MAX_MANIFEST_BYTES), target.mediaType, `index ${target.digest}`);
  if (doc.kind !== 'index') return { top: manifest, children: [manifest] };
  const entries = imageEntries(doc.index);
  for (const e of doc.index.manifests) {
    if (!(await content.has(e.digest))) return { top: manifest, children: [manifest] };
  }
  for (const e of entries) {
    const m = parseManifestDocument(await content.readBlob(e.digest, MAX_MANIFEST_BYTES), e.mediaType, `manifest ${e.digest}`);
    if (m.kind !== 'manifest') return { top: manifest, children: [manifest] };
    for (const d of [m.manifest.config, ...m.manifest.layers]) if (!(await content.has(d.digest))) return { top: manifest, children: [manifest] };
  }
  return { top: target, children: [...doc.index.manifests, target] };
}

async function pushBlob(
  opts: PushOptions,
  dest: ImageReference,
  d: Descriptor,
  mountFrom: Repository | undefined,
  isConfig: boolean,
  emitAny: (e: PushEvent) => void,
): Promise<void> {
  const { client, content, signal } = opts;
  // Every event of this blob says whether it is a config (see PushEvent).
  const emit = (e: Exclude<PushEvent, { type: 'push-preparing' | 'manifest-pushed' }>): void => emitAny(isConfig ? { ...e, config: true } : e);
  if (await client.hasBlob(dest, d.digest, signal)) {
    emit({ type: 'blob-already-exists', digest: d.digest });
    return;
  }
  const info = await content.stat(d.digest);
  if (!info) {
    throw new BerthError('ENOT_FOUND', `cannot push ${repositoryName(dest)}: blob ${d.digest} is not in the local content store`, {
      hint: 'pull the image again to fetch its missing content',
    });
  }
  const started = await startUpload(client, dest, d.digest, mountFrom, signal);
  if (started.mounted) {
    emit({ type: 'blob-mounted', digest: d.digest, from: repositoryName(mountFrom!) });
    return;
  }
  emit({ type: 'blob-pushing', digest: d.digest, current: 0, total: info.size });
  const path = content.blobPath(d.digest);
  await uploadBlob(client, dest, started.location, { digest: d.digest, size: info.size, open: (offset) => createReadStream(path, { start: offset }) }, {
    ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
    ...(signal ? { signal } : {}),
    onProgress: (sent) => emit({ type: 'blob-pushing', digest: d.digest, current: sent, total: info.size }),
    onRetry: (attempt, reason) => emit({ type: 'blob-retrying', digest: d.digest, attempt, reason }),
  });
  emit({ type: 'blob-pushed', digest: d.digest });
}
