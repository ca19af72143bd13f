/**
 * Mark-and-sweep garbage collection of the content store. The caller supplies the roots (the
 * image records' manifest/index digests) and how to find a blob's children (index →
 * manifests → config + layers); everything not reachable is deleted, or only reported when
 * `dryRun` is set. It runs under the store's exclusive GC lock, so blobs of a pull in
 * progress (which holds a lease) are never swept.
 */
import type { BlobInfo, ContentStore } from './store';
import { compareStrings } from '../core/compare';

export interface GcOptions {
  roots: Iterable<string>;
  /** Digests a stored blob refers to; called only for blobs present in the store. */
  children(digest: string): Promise<string[]>;
  dryRun?: boolean;
  /** Also delete partial downloads that no process is writing. */
  removeIngests?: boolean;
}

export interface GcReport {
  /** Blobs deleted (or, with dryRun, that would be). */
  removed: BlobInfo[];
  reclaimedBytes: number;
  /** Blobs kept because they are reachable. */
  kept: number;
  /** Partial downloads deleted (or that would be). */
  ingests: { digest: string; bytes: number }[];
  dryRun: boolean;
}

export async function collectGarbage(store: ContentStore, opts: GcOptions): Promise<GcReport> {
  return store.exclusive(async () => {
    const present = new Map((await store.list()).map((b) => [b.digest, b]));
    const reachable = new Set<string>();
    const queue = [...opts.roots];
    while (queue.length > 0) {
      const d = queue.pop()!;
      if (reachable.has(d)) continue;
      reachable.add(d);
      if (present.has(d)) queue.push(...(await opts.children(d)));
    }
    const removed: BlobInfo[] = [];
    for (const [digest, info] of present) {
      if (reachable.has(digest)) continue;
      removed.push(info);
      if (!opts.dryRun) await store.delete(digest);
    }
    const ingests: { digest: string; bytes: number }[] = [];
    if (opts.removeIngests) {
      if (!opts.dryRun) await store.removeGoneIngests();
      for (const ing of await store.ingests()) {
        if (ing.active) continue;
        if (opts.dryRun || (await store.removeIngest(ing.digest))) ingests.push({ digest: ing.digest, bytes: ing.offset });
      }
    }
    removed.sort((a, b) => compareStrings(a.digest, b.digest));
    return {
      removed,
      reclaimedBytes: removed.reduce((n, b) => n + b.size, 0) + ingests.reduce((n, i) => n + i.bytes, 0),
      kept: present.size - removed.length,
      ingests,
      dryRun: opts.dryRun === true,
    };
  });
}
