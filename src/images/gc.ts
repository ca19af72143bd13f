/**
 * Image-level garbage collection and disk usage: the roots are the image records; from each
 * index the GC walks to its manifests, from each manifest to its config and layers. Blobs
 * nothing reaches are deleted (or listed, with dryRun).
 */
import { collectGarbage, type GcReport } from '../content/gc';
import type { ContentStore } from '../content/store';
import { MAX_MANIFEST_BYTES, parseManifestDocument } from './manifest';
import type { ImageStore } from './store';

/** Children of a blob if it is a manifest or an index; layers and configs are leaves. */
export function manifestChildren(content: ContentStore): (digest: string) => Promise<string[]> {
  return async (digest) => {
    const info = await content.stat(digest);
    if (!info || info.size > MAX_MANIFEST_BYTES) return [];
    let bytes: Buffer;
    try {
      bytes = await content.readBlob(digest, MAX_MANIFEST_BYTES);
    } catch {
      return [];
    }
    // Cheap sniff before parsing: layers are binary, configs lack these keys.
    const head = bytes.subarray(0, 4096).toString('latin1');
    if (!head.includes('"manifests"') && !head.includes('"layers"')) return [];
    try {
      const doc = parseManifestDocument(bytes, undefined, digest);
      return doc.kind === 'index' ? doc.index.manifests.map((m) => m.digest) : [doc.manifest.config.digest, ...doc.manifest.layers.map((l) => l.digest)];
    } catch {
      return [];
    }
  };
}

export interface ImageGcOptions {
  dryRun?: boolean;
  /** Also delete partial downloads no process is writing. */
  removeIngests?: boolean;
  /** Treat these images as gone (what `prune --dry-run` would remove). */
  excludeIds?: ReadonlySet<string>;
}

/** Deletes content no image record reaches. */
export async function collectImageGarbage(content: ContentStore, images: ImageStore, opts: ImageGcOptions = {}): Promise<GcReport> {
  return collectGarbage(content, {
    roots: await images.gcRoots(opts.excludeIds),
    children: manifestChildren(content),
    ...(opts.dryRun !== undefined ? { dryRun: opts.dryRun } : {}),
    ...(opts.removeIngests !== undefined ? { removeIngests: opts.removeIngests } : {}),
  });
}

export interface DiskUsage {
  images: {
    count: number;
    /** Unique blob bytes referenced by images. */
    size: number;
    /** Bytes only dangling images use (freed by image prune). */
    reclaimable: number;
  };
  content: {
    blobs: number;
    bytes: number;
    /** Bytes of blobs no image references (freed by GC). */
    unreferencedBytes: number;
  };
  ingests: { count: number; bytes: number };
}

/** `system df` for images and the content store. */
export async function diskUsage(content: ContentStore, images: ImageStore): Promise<DiskUsage> {
  const blobs = await content.list();
  const sizeOf = new Map(blobs.map((b) => [b.digest, b.size]));
  const summaries = await images.summaries();
  const used = new Set<string>();
  const usedByTagged = new Set<string>();
  for (const s of summaries) {
    for (const r of s.records) {
      const ds = [r.target.digest, r.manifest.digest, r.config.digest, ...r.layers.map((l) => l.digest)];
      for (const d of ds) {
        used.add(d);
        if (!s.dangling) usedByTagged.add(d);
      }
    }
  }
  const sum = (ds: Iterable<string>): number => [...ds].reduce((n, d) => n + (sizeOf.get(d) ?? 0), 0);
  const ingests = await content.ingests();
  return {
    images: { count: summaries.length, size: sum(used), reclaimable: sum([...used].filter((d) => !usedByTagged.has(d))) },
    content: { blobs: blobs.length, bytes: sum(sizeOf.keys()), unreferencedBytes: sum([...sizeOf.keys()].filter((d) => !used.has(d))) },
    ingests: { count: ingests.length, bytes: ingests.reduce((n, i) => n + i.offset, 0) },
  };
}
