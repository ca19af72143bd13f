/**
 * `pull`: resolve a reference in its registry, fetch the manifest (choosing a platform from
 * an index), the config and the layers into the content store, optionally unpacking layers
 * while they download, and record the image under its name.
 *
 * Layers download in parallel (bounded). A sink receives layers in order: a layer streams
 * into the sink while it downloads when every layer below it is already unpacked; otherwise
 * it is downloaded (and verified) into the content store and unpacked from there as soon as
 * its parent is. Layers the sink already has are not unpacked again, but their blobs are
 * downloaded when the content store lacks them (push and save need them).
 */
import { BerthError } from '../core/errors';
import type { PullEvent } from '../core/events';
import type { ContentStore } from '../content/store';
import { MAX_CONFIG_BYTES, parseImageConfig, type ImageConfig } from './config';
import { chainIds } from './chain-id';
import { DEFAULT_EXPANSION_LIMITS, type ExpansionLimits } from './decompress';
import { downloadLayer, unpackFromStore, type FetchContext, type LayerJob } from './layer-fetch';
import { isIndexType, layerCompression } from './media-types';
import { parseManifestDocument, selectManifest, type Descriptor, type ImageManifest } from './manifest';
import { formatPlatform, hostPlatform, parsePlatform, platformScore, type Platform } from './platform';
import { familiarString, formatReference, parseReference, type ImageReference } from './reference';
import type { RegistryClient, Repository } from './registry/client';
import { readStream } from './registry/http';
import { Semaphore } from './semaphore';
import type { ImageRecord, ImageStore, LayerRecord } from './store';
import type { LayerWriter, UnpackSink } from './unpack-sink';

export interface PullOptions {
  content: ContentStore;
  images: ImageStore;
  client: RegistryClient;
  /** `os/arch[/variant]` or a Platform; default the host's. */
  platform?: Platform | string;
  sink?: UnpackSink;
  /** Parallel layer downloads (default 3, as docker). */
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?: (e: PullEvent) => void;
  limits?: Partial<ExpansionLimits>;
}

export interface PullResult {
  record: ImageRecord;
  /** The name already pointed at this content and nothing had to be fetched. */
  upToDate: boolean;
}

export const DEFAULT_PULL_CONCURRENCY = 3;

/** Pulls one reference (`busybox`, `host:5000/a/b:tag`, `name@sha256:...`). */
export async function pull(reference: string, opts: PullOptions): Promise<PullResult> {
  const ref = parseReference(reference);
  // `name:tag@digest` pulls the digest; the tag is not recorded (as docker).
  const name = formatReference(ref.digest ? { domain: ref.domain, path: ref.path, digest: ref.digest } : ref);
  const what = familiarString(ref);
  const emit = opts.onEvent ?? (() => undefined);
  const explicitPlatform = opts.platform !== undefined;
  const platform = typeof opts.platform === 'string' ? parsePlatform(opts.platform) : (opts.platform ?? hostPlatform());
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) controller.abort(opts.signal.reason);
  try {
    emit({ type: 'resolving', ref: what });
    return await opts.content.withLease(
      async () => {
        const ctx: FetchContext = {
          content: opts.content,
          client: opts.client,
          limits: { ...DEFAULT_EXPANSION_LIMITS, ...(opts.limits ?? {}) },
          retry: opts.client.retry,
          signal: controller.signal,
          emit,
        };
        const resolved = await resolveManifest(ctx, ref, what, platform);
        emit({ type: 'resolved', ref: what, digest: resolved.target.digest, mediaType: resolved.target.mediaType, platform: formatPlatform(platform) });
        const config = await fetchConfig(ctx, ref, resolved.manifest.config, what);
        const imagePlatform: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
        if (explicitPlatform && !isIndexType(resolved.target.mediaType) && platformScore(platform, imagePlatform) === undefined) {
          throw new BerthError('ENOT_FOUND', `${what} is an image for ${formatPlatform(imagePlatform)}, not for the requested ${formatPlatform(platform)}`, {
            hint: 'pull without --platform, or choose an image built for that platform',
          });
        }
        if (!explicitPlatform && platformScore(platform, imagePlatform) === undefined) {
          emit({ type: 'warning', message: `the image's platform (${formatPlatform(imagePlatform)}) does not match the host's (${formatPlatform(platform)})` });
        }
        const layers = layerRecords(resolved.manifest, config, what);
        const previous = await opts.images.get(name);
        const { fetched, diffSizes } = await fetchLayers(ctx, ref, layers, opts, controller);
        const record: ImageRecord = {
          name,
          target: resolved.target,
          manifest: resolved.manifestDescriptor,
          config: resolved.manifest.config,
          id: resolved.manifest.config.digest,
          platform: imagePlatform,
          ...(config.created ? { created: config.created } : {}),
          layers,
          recordedAt: new Date().toISOString(),
        };
        await opts.images.put(record, diffSizes);
        const upToDate = previous?.target.digest === record.target.digest && !fetched;
        emit({ type: 'done', ref: what, digest: record.target.digest, imageId: record.id, upToDate });
        return { record, upToDate };
      },
      { signal: controller.signal },
    );
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** `pull --all-tags`: every tag of the repository, one after the other. */
export async function pullAllTags(repository: string, opts: PullOptions): Promise<PullResult[]> {
  const ref = parseReference(repository, { defaultTag: false });
  if (ref.tag || ref.digest) {
    throw new BerthError('EINVALID_REFERENCE', `"${repository}": --all-tags takes a repository name without tag or digest`);
  }
  const tags = await opts.client.listTags(ref, opts.signal);
  if (tags.length === 0) throw new BerthError('ENOT_FOUND', `repository ${familiarString(ref)} in registry ${ref.domain} has no tags`);
  const out: PullResult[] = [];
  for (const tag of tags.sort()) out.push(await pull(formatReference({ ...ref, tag }), opts));
  return out;
}

interface Resolved {
  target: Descriptor;
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
}

async function resolveManifest(ctx: FetchContext, ref: ImageReference, what: string, platform: Platform): Promise<Resolved> {
  const top = await ctx.client.getManifest(ref, ref.digest ?? ref.tag ?? 'latest', what, ctx.signal);
  const doc = parseManifestDocument(top.bytes, top.contentType, `${what} (registry ${ref.domain})`);
  const target: Descriptor = { mediaType: doc.mediaType, digest: top.digest, size: top.bytes.length };
  await ctx.content.writeBlob(top.bytes, { digest: top.digest, size: top.bytes.length });
  if (doc.kind === 'manifest') return { target, manifestDescriptor: target, manifest: doc.manifest };
  const chosen = selectManifest(doc.index, platform, what);
  const child = await ctx.client.getManifest(ref, chosen.digest, `${what} (${formatPlatform(platform)} manifest ${chosen.digest})`, ctx.signal);
  if (child.bytes.length !== chosen.size) {
    throw new BerthError('EDIGEST', `manifest ${chosen.digest} of ${what} from registry ${ref.domain} is ${child.bytes.length} bytes, but the index says ${chosen.size}`);
  }
  const childDoc = parseManifestDocument(child.bytes, chosen.mediaType, `${what} (manifest ${chosen.digest})`);
  if (childDoc.kind !== 'manifest') {
    throw new BerthError('EUNSUPPORTED', `${what}: the index entry ${chosen.digest} is itself an index; nested indexes are not supported`);
  }
  await ctx.content.writeBlob(child.bytes, { digest: chosen.digest, size: chosen.size });
  return { target, manifestDescriptor: { mediaType: childDoc.mediaType, digest: chosen.digest, size: chosen.size, ...(chosen.platform ? { platform: chosen.platform } : {}) }, manifest: childDoc.manifest };
}

async function fetchConfig(ctx: FetchContext, repo: Repository, desc: Descriptor, what: string): Promise<ImageConfig> {
  const label = `${what} (config ${desc.digest}, registry ${repo.domain})`;
  if (desc.size > MAX_CONFIG_BYTES) throw new BerthError('ELIMIT', `${label} is ${desc.size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`);
  if (!(await ctx.content.has(desc.digest))) {
    const blob = await ctx.client.openBlob(repo, desc.digest, 0, ctx.signal);
    const bytes = await readStream(blob.stream, MAX_CONFIG_BYTES, label);
    await ctx.content.writeBlob(bytes, { digest: desc.digest, size: desc.size }).catch((e: unknown) => {
      if (e instanceof BerthError && e.code === 'EDIGEST') e.message = `${label}: ${e.message}`;
      throw e;
    });
  }
  return parseImageConfig(await ctx.content.readBlob(desc.digest, MAX_CONFIG_BYTES), label);
}

function layerRecords(manifest: ImageManifest, config: ImageConfig, what: string): LayerRecord[] {
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new BerthError('EREGISTRY', `${what}: the manifest lists ${manifest.layers.length} layers but the config lists ${diffIds.length} diff_ids`);
  }
  const chains = chainIds(diffIds);
  return manifest.layers.map((l, i) => {
    if (layerCompression(l.mediaType) === undefined) {
      throw new BerthError('EUNSUPPORTED', `${what}: layer ${l.digest} has media type "${l.mediaType}", which is not a layer type Berth can unpack`);
    }
    return { digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: diffIds[i]!, chainId: chains[i]! };
  });
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // observed through Promise.all by later layers
  return { promise, resolve, reject };
}

async function fetchLayers(
  ctx: FetchContext,
  repo: Repository,
  layers: LayerRecord[],
  opts: PullOptions,
  controller: AbortController,
): Promise<{ fetched: boolean; diffSizes: Record<string, number> }> {
  const sem = new Semaphore(opts.concurrency ?? DEFAULT_PULL_CONCURRENCY);
  const ready = layers.map(() => deferred());
  const isReady = layers.map(() => false);
  const diffSizes: Record<string, number> = {};
  let fetched = false;
  const sink = opts.sink;

  const jobOf = (i: number): LayerJob => {
    const l = layers[i]!;
    return {
      repo,
      compression: layerCompression(l.mediaType)!,
      info: { index: i, digest: l.digest, diffId: l.diffId, chainId: l.chainId, parentChainId: i > 0 ? layers[i - 1]!.chainId : undefined, mediaType: l.mediaType, size: l.size },
    };
  };
  const writerFor = (job: LayerJob): (() => Promise<LayerWriter>) | undefined => (sink ? () => sink.begin(job.info) : undefined);
  const below = (i: number): Promise<unknown> => Promise.all(ready.slice(0, i).map((d) => d.promise));
  const note = (diffId: string, size: number): void => {
    if (size >= 0) diffSizes[diffId] = size;
  };

  const task = async (i: number): Promise<void> => {
    const job = jobOf(i);
    const { digest } = job.info;
    // An unpacked layer is not enough: its blob may have gone with the image that brought it
    // (rmi while a container or another image keeps the snapshot), and push and save read
    // blobs. What pull leaves must be complete, so the blob is fetched again (not unpacked
    // again). Keeping blobs alive for as long as a snapshot is used would tie GC to snapshot
    // references and keep blobs of layers no image names; a download is the cheaper rule.
    const unpacked = sink?.has(job.info.chainId) ?? false;
    if (await ctx.content.has(digest)) {
      if (sink && !unpacked) {
        await below(i);
        fetched = true;
        note(job.info.diffId, (await unpackFromStore(ctx, job, writerFor(job))).unpackedSize);
      } else {
        ctx.emit({ type: 'layer-already-exists', digest });
      }
      return;
    }
    ctx.emit({ type: 'layer-waiting', digest, size: job.info.size });
    const release = await sem.acquire();
    let inLine: boolean;
    const unpackLater = sink !== undefined && !unpacked;
    try {
      if (controller.signal.aborted) throw new BerthError('EABORTED', 'pull cancelled');
      fetched = true;
      // Stream into the sink only if every layer below is unpacked already.
      inLine = unpackLater && isReady.slice(0, i).every(Boolean);
      const r = await downloadLayer(ctx, job, inLine ? writerFor(job) : undefined, unpackLater && !inLine);
      note(job.info.diffId, r.unpackedSize);
    } finally {
      release();
    }
    if (unpackLater && !inLine) {
      await below(i);
      note(job.info.diffId, (await unpackFromStore(ctx, job, writerFor(job))).unpackedSize);
    }
  };

  const results = await Promise.allSettled(
    layers.map((_, i) =>
      task(i).then(
        () => {
          isReady[i] = true;
          ready[i]!.resolve();
        },
        (e: unknown) => {
          ready[i]!.reject(e);
          controller.abort(e);
          throw e;
        },
      ),
    ),
  );
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  if (failures.length > 0) {
    // Report the cause, not the cancellations it triggered in the other layers.
    throw failures.find((e) => !(e instanceof BerthError && e.code === 'EABORTED')) ?? failures[0];
  }
  return { fetched, diffSizes };
}
