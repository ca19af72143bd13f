/**
 * What an operation that writes several things (load, copy into the local store, image
 * creation) created so far, so that a failure can take it back: "a failed load publishes
 * nothing". Image records are written last, so only blobs and unpacked layers need undoing.
 *
 * Blobs are deleted under the content store's exclusive GC lock and only when no image
 * record reaches them: another process may have found one of "our" blobs present and be
 * about to record an image that uses it; while it works it holds a lease, and then we leave
 * the blobs to the next GC instead of waiting (they are complete, just unreferenced).
 */
import type { ContentStore } from '../content/store';
import { manifestChildren } from './gc';
import type { ImageStore } from './store';
import { discardLayers } from './unpack-layers';
import type { UnpackSink } from './unpack-sink';

export class CreatedContent {
  readonly blobs = new Set<string>();
  readonly layers: string[] = [];

  async rollback(content: ContentStore, images: ImageStore, sink: UnpackSink | undefined): Promise<void> {
    if (sink) await discardLayers(sink, this.layers);
    if (this.blobs.size === 0) return;
    await content
      .tryExclusive(async () => {
        const reachable = new Set<string>();
        const queue = await images.gcRoots();
        const children = manifestChildren(content);
        while (queue.length > 0) {
          const d = queue.pop()!;
          if (reachable.has(d)) continue;
          reachable.add(d);
          if (this.blobs.has(d) || (await content.has(d))) queue.push(...(await children(d)));
        }
        for (const d of this.blobs) if (!reachable.has(d)) await content.delete(d);
      })
      .catch(() => undefined); // best effort: what stays is complete and unreferenced, GC takes it
  }
}
