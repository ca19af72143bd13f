/**
 * What both snapshotters share: layer staging and publication, container snapshot records,
 * reference checks on removal, usage and GC. The drivers supply how a layer tree is staged
 * (overlay: empty dir; copy: a copy of the parent), how a container snapshot is created and
 * mounted, and how its changes are found.
 */
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { BerthError, wrap } from '../core/errors';
import type { Sys } from '../sys';
import { chainHex, checkKey, diskUsage } from './fsutil';
import { isMounted, unmountAll } from './mounts';
import { LayerStore, type Staging } from './store';
import type {
  ActiveRecord,
  Change,
  ChangesArchive,
  LayerRecord,
  LayerStaging,
  MountSpec,
  NewLayer,
  Snapshotter,
  SnapshotterName,
  Usage,
} from './types';
import { applyLayerTar, type ApplyMode } from './unpack/apply';

export interface SnapshotterOptions {
  /** Device nodes in layers (default true; false where mknod is not allowed). */
  allowDevices?: boolean;
}

export abstract class BaseSnapshotter implements Snapshotter {
  abstract readonly name: SnapshotterName;
  abstract readonly independentLayers: boolean;
  protected abstract readonly applyMode: ApplyMode;
  protected readonly store: LayerStore;

  constructor(
    readonly dir: string,
    protected readonly sys: Sys,
    protected readonly options: SnapshotterOptions = {},
  ) {
    this.store = new LayerStore(dir, sys);
  }

  /** Creates the layout and cleans what a killed process left (stale staging dirs, trash). */
  open(): this {
    this.store.open();
    return this;
  }

  // --- driver hooks ------------------------------------------------------------------------
  protected abstract prepareStaging(staging: Staging, parentChainId: string | undefined): Promise<void>;
  protected abstract initActive(key: string, dir: string, parentChainId: string | undefined): Promise<void>;
  protected abstract writableDir(key: string): string;
  protected abstract removeLayerExtras(chainId: string): void;
  abstract mountSpec(key: string): MountSpec;
  abstract mount(key: string, target?: string): Promise<string>;
  abstract diff(key: string): Promise<Change[]>;
  abstract exportChanges(key: string): ChangesArchive;

  // --- layers ------------------------------------------------------------------------------

  hasLayer(chainId: string): boolean {
    return this.store.layer(chainId) !== undefined;
  }

  layer(chainId: string): LayerRecord | undefined {
    return this.store.layer(chainId);
  }

  listLayers(): LayerRecord[] {
    return this.store.listLayers();
  }

  /** Chain of layers from `chainId` down to the base, top first. */
  protected chain(chainId: string | undefined): LayerRecord[] {
    const out: LayerRecord[] = [];
    for (let id = chainId; id !== undefined; ) {
      const rec = this.store.layer(id);
      if (!rec) {
        throw new BerthError('ENOT_FOUND', `layer ${id} is not unpacked${out.length ? ` (parent of ${out[out.length - 1].chainId})` : ''}`, {
          hint: 'pull the image again to restore missing layers',
        });
      }
      out.push(rec);
      id = rec.parentChainId;
      if (out.length > 1000) throw new BerthError('EINTERNAL', `layer chain of ${chainId} does not end (cycle?)`);
    }
    return out;
  }

  async beginLayer(layer: NewLayer): Promise<LayerStaging> {
    chainHex(layer.chainId);
    if (layer.parentChainId !== undefined) {
      chainHex(layer.parentChainId);
      if (!this.independentLayers && !this.hasLayer(layer.parentChainId)) {
        throw new BerthError('ENOT_FOUND', `cannot unpack layer ${layer.chainId}: its parent ${layer.parentChainId} is not unpacked`, {
          hint: `the ${this.name} snapshotter applies a layer onto a copy of its parent`,
        });
      }
    }
    const staging = this.store.stage();
    try {
      await this.prepareStaging(staging, layer.parentChainId);
    } catch (e) {
      this.store.discard(staging);
      throw wrap('ESYSCALL', `preparing to unpack layer ${layer.chainId}`, e);
    }
    let state: 'new' | 'applying' | 'applied' | 'failed' | 'done' = 'new';
    let applied = { entries: 0, size: 0 };
    const discard = (): void => {
      if (state !== 'done') this.store.discard(staging);
      state = 'done';
    };
    return {
      apply: async (tar: Readable) => {
        if (state !== 'new') throw new BerthError('ESTATE', `layer ${layer.chainId}: apply() called twice or after commit/abort`);
        state = 'applying';
        let size = 0;
        const counted = tar.pipe(
          new Transform({
            transform(chunk: Buffer, _enc, cb) {
              size += chunk.length;
              cb(null, chunk);
            },
          }),
        );
        tar.on('error', (e) => counted.destroy(e));
        try {
          const r = await applyLayerTar(staging.fs, counted, { mode: this.applyMode, sys: this.sys, allowDevices: this.options.allowDevices ?? true });
          // Read to the very end (padding after the end-of-archive blocks included): the caller
          // computes the diff_id over every byte it fed us.
          if (!counted.readableEnded) {
            counted.resume();
            await finished(counted);
          }
          applied = { entries: r.entries, size };
          state = 'applied';
        } catch (e) {
          state = 'failed';
          tar.destroy();
          throw wrap('EBAD_ARCHIVE', `unpacking layer ${layer.chainId}`, e);
        }
      },
      commit: async () => {
        if (state !== 'applied') throw new BerthError('ESTATE', `layer ${layer.chainId}: commit() without a successful apply()`);
        const record: LayerRecord = {
          chainId: layer.chainId,
          parentChainId: layer.parentChainId,
          diffId: layer.diffId,
          size: applied.size,
          entries: applied.entries,
          created: new Date().toISOString(),
        };
        state = 'done';
        try {
          this.store.publish(staging, record);
        } catch (e) {
          this.store.discard(staging);
          throw wrap('ESYSCALL', `publishing layer ${layer.chainId}`, e);
        }
        return this.store.layer(layer.chainId) ?? record;
      },
      abort: async () => discard(),
    };
  }

  async removeLayer(chainId: string): Promise<void> {
    const dir = this.store.locked(() => {
      if (!this.hasLayer(chainId)) throw new BerthError('ENOT_FOUND', `layer ${chainId} does not exist`);
      const users = this.layerUsers(chainId);
      if (users.length) {
        throw new BerthError('EIN_USE', `layer ${chainId} is in use by ${users.join(', ')}`, { hint: 'remove the containers or images that use it first' });
      }
      this.removeLayerExtras(chainId);
      return this.store.layerDir(chainId);
    });
    await this.store.trashAsync(dir);
  }

  /** Who needs this layer: container snapshots over it, and (overlay) layers stacked on it. */
  private layerUsers(chainId: string): string[] {
    const users: string[] = [];
    for (const a of this.store.listActive()) {
      if (a.parentChainId === undefined) continue;
      const needed = this.independentLayers ? this.safeChain(a.parentChainId).map((l) => l.chainId) : [a.parentChainId];
      if (needed.includes(chainId)) users.push(`container snapshot ${a.key}`);
    }
    if (this.independentLayers) {
      for (const l of this.store.listLayers()) if (l.parentChainId === chainId) users.push(`layer ${l.chainId}`);
    }
    return users;
  }

  private safeChain(chainId: string): LayerRecord[] {
    try {
      return this.chain(chainId);
    } catch {
      return [];
    }
  }

  async gc(roots: Iterable<string>): Promise<string[]> {
    const dirs = this.store.locked(() => {
      const keep = new Set<string>();
      const mark = (id: string | undefined): void => {
        for (let cur = id; cur !== undefined && !keep.has(cur); ) {
          keep.add(cur);
          cur = this.store.layer(cur)?.parentChainId;
        }
      };
      for (const r of roots) mark(r);
      for (const a of this.store.listActive()) mark(a.parentChainId);
      const removed: Array<[string, string]> = [];
      for (const l of this.store.listLayers()) {
        if (keep.has(l.chainId)) continue;
        this.removeLayerExtras(l.chainId);
        removed.push([l.chainId, this.store.layerDir(l.chainId)]);
      }
      return removed;
    });
    for (const [, dir] of dirs) await this.store.trashAsync(dir);
    return dirs.map(([id]) => id);
  }

  // --- container snapshots -----------------------------------------------------------------

  async prepare(key: string, parentChainId: string | undefined, labels: Record<string, string> = {}): Promise<MountSpec> {
    checkKey(key);
    if (parentChainId !== undefined) chainHex(parentChainId);
    const dir = this.store.locked(() => {
      if (parentChainId !== undefined) this.chain(parentChainId); // the whole chain must be there
      return this.store.createActive({ key, parentChainId, created: new Date().toISOString(), labels });
    });
    try {
      await this.initActive(key, dir, parentChainId);
    } catch (e) {
      await this.store.trashAsync(dir);
      throw wrap('ESYSCALL', `preparing snapshot ${key}`, e);
    }
    return this.mountSpec(key);
  }

  active(key: string): ActiveRecord | undefined {
    return this.store.active(key);
  }

  listActive(): ActiveRecord[] {
    return this.store.listActive();
  }

  protected requireActive(key: string): ActiveRecord {
    const rec = this.store.active(key);
    if (!rec) throw new BerthError('ENOT_FOUND', `snapshot ${key} does not exist`);
    return rec;
  }

  mountPoint(key: string): string {
    return join(this.store.activeDir(key), 'merged');
  }

  async unmount(key: string, target?: string): Promise<void> {
    unmountAll(this.sys, target ?? this.mountPoint(key));
  }

  async removeActive(key: string): Promise<void> {
    this.requireActive(key);
    const mp = this.mountPoint(key);
    if (isMounted(mp)) unmountAll(this.sys, mp, true);
    const dir = this.store.locked(() => this.store.activeDir(key));
    await this.store.trashAsync(dir);
  }

  async usage(ref: { chainId: string } | { key: string }): Promise<Usage> {
    if ('chainId' in ref) {
      if (!this.hasLayer(ref.chainId)) throw new BerthError('ENOT_FOUND', `layer ${ref.chainId} does not exist`);
      return diskUsage(this.store.layerFs(ref.chainId));
    }
    this.requireActive(ref.key);
    return diskUsage(this.writableDir(ref.key));
  }
}
