/**
 * A layer sink: where an image unpacker (pull, load, import) puts layers while it reads
 * them, and the implementation backed by a snapshotter.
 *
 * The caller skips a layer whose chain id the sink `has`, otherwise calls `begin`, feeds the
 * decompressed tar to `apply` and calls `commit()` only once it verified the layer's digests;
 * on any failure it calls `abort()` instead. It calls `begin` for a layer only once its
 * parent chain is committed (or was present), so a sink may build each layer on its parent.
 * The contract is declared here, by the layer that fulfils it, so that images/ (above)
 * imports snapshots/ and never the other way round; images/unpack-sink.ts names it for pull.
 *
 * Overlay layers are independent directories, so several can be unpacked at once while they
 * download; a layer is still *published* only after its parent (commit() waits for a parent
 * that is being unpacked through this sink), so a committed layer's chain is always
 * complete. The copy snapshotter applies a layer onto a copy of its parent, so begin()
 * waits until the parent is committed.
 */
import type { Readable } from 'node:stream';
import { BerthError } from '../core/errors';
import type { Snapshotter } from './types';

export interface LayerInfo {
  index: number;
  digest: string;
  diffId: string;
  chainId: string;
  parentChainId: string | undefined;
  mediaType: string;
  size: number;
}

export interface LayerWriter {
  apply(uncompressedTar: Readable): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface UnpackSink {
  has(chainId: string): boolean;
  begin(layer: LayerInfo): Promise<LayerWriter>;
  /**
   * Removes a layer the caller committed through this sink moments ago, when the operation
   * it belonged to failed later (a load whose next layer is corrupt): nothing of a failed
   * load stays behind. A layer something else uses meanwhile is kept. Optional.
   */
  discard?(chainId: string): Promise<void>;
}

interface Pending {
  done: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function pending(): Pending {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => undefined); // observed by waiters only
  return { done, resolve, reject };
}

export class SnapshotUnpackSink implements UnpackSink {
  /** Layers begun through this sink and not yet committed or aborted, by chain id. */
  private readonly inFlight = new Map<string, Pending>();

  constructor(readonly snapshotter: Snapshotter) {}

  has(chainId: string): boolean {
    return this.snapshotter.hasLayer(chainId);
  }

  /** Resolves once `chainId` is committed; fails if it is neither present nor being unpacked here. */
  private async parentReady(layer: LayerInfo): Promise<void> {
    const parent = layer.parentChainId;
    if (parent === undefined || this.snapshotter.hasLayer(parent)) return;
    const p = this.inFlight.get(parent);
    if (!p) {
      throw new BerthError('ENOT_FOUND', `layer ${layer.index} (${layer.chainId}): parent layer ${parent} is neither unpacked nor being unpacked`);
    }
    try {
      await p.done;
    } catch (e) {
      throw new BerthError('ESTATE', `layer ${layer.index} (${layer.chainId}): its parent layer ${parent} failed to unpack`, { cause: e });
    }
  }

  /** Removes a layer committed through this sink, unless a container or a child layer uses it. */
  async discard(chainId: string): Promise<void> {
    try {
      await this.snapshotter.removeLayer(chainId);
    } catch (e) {
      if (e instanceof BerthError && (e.code === 'EIN_USE' || e.code === 'ENOT_FOUND')) return;
      throw e;
    }
  }

  async begin(layer: LayerInfo): Promise<LayerWriter> {
    // Registered before the first await, so a child begun right after us finds us.
    const mine = pending();
    this.inFlight.set(layer.chainId, mine);
    const settle = (err?: unknown): void => {
      if (this.inFlight.get(layer.chainId) === mine) this.inFlight.delete(layer.chainId);
      if (err === undefined) mine.resolve();
      else mine.reject(err);
    };
    let staging;
    try {
      if (!this.snapshotter.independentLayers) await this.parentReady(layer);
      staging = await this.snapshotter.beginLayer({ chainId: layer.chainId, parentChainId: layer.parentChainId, diffId: layer.diffId });
    } catch (e) {
      settle(e);
      throw e;
    }
    const stage = staging;
    return {
      apply: (tar: Readable) => stage.apply(tar),
      commit: async () => {
        try {
          await this.parentReady(layer);
          await stage.commit();
          settle();
        } catch (e) {
          await stage.abort();
          settle(e);
          throw e;
        }
      },
      abort: async () => {
        await stage.abort();
        settle(new BerthError('ESTATE', `layer ${layer.chainId} was aborted`));
      },
    };
  }
}
