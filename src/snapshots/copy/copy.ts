/**
 * The copy ("vfs") snapshotter, for hosts without a usable overlayfs: every layer directory
 * holds the complete tree (a copy of its parent with the layer applied, deletions done),
 * and a container snapshot is a full copy of its parent layer, bind-mounted as the rootfs.
 * Costs disk and time proportional to image size; needs nothing from the kernel.
 */
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { BaseSnapshotter } from '../base';
import { exportOps } from '../changes/export';
import { opsToChanges } from '../changes/ops';
import { bindMount, isMounted } from '../mounts';
import type { Staging } from '../store';
import type { Change, ChangesArchive, MountSpec } from '../types';
import { compareTrees } from './compare';
import { copyTree } from './tree-copy';

export class CopySnapshotter extends BaseSnapshotter {
  readonly name = 'copy' as const;
  readonly independentLayers = false;
  protected readonly applyMode = 'copy' as const;

  protected async prepareStaging(staging: Staging, parentChainId: string | undefined): Promise<void> {
    if (parentChainId === undefined) mkdirSync(staging.fs, { mode: 0o755 });
    else await copyTree(this.sys, this.store.layerFs(parentChainId), staging.fs);
  }

  protected async initActive(_key: string, dir: string, parentChainId: string | undefined): Promise<void> {
    // Copied under a temporary name: a snapshot whose fs/ exists is complete.
    const tmp = join(dir, 'fs.partial');
    if (parentChainId === undefined) mkdirSync(tmp, { mode: 0o755 });
    else await copyTree(this.sys, this.store.layerFs(parentChainId), tmp);
    renameSync(tmp, join(dir, 'fs'));
    mkdirSync(join(dir, 'merged'), { mode: 0o755 });
  }

  protected writableDir(key: string): string {
    return join(this.store.activeDir(key), 'fs');
  }

  protected removeLayerExtras(): void {
    // nothing besides the layer directory
  }

  mountSpec(key: string): MountSpec {
    this.requireActive(key);
    return { type: 'bind', source: this.writableDir(key), options: ['bind'] };
  }

  async mount(key: string, target?: string): Promise<string> {
    this.requireActive(key);
    const mp = target ?? this.mountPoint(key);
    if (target === undefined && isMounted(mp)) return mp;
    bindMount(this.sys, this.writableDir(key), mp);
    return mp;
  }

  private parentFs(key: string): string | undefined {
    const rec = this.requireActive(key);
    return rec.parentChainId === undefined ? undefined : this.store.layerFs(this.chain(rec.parentChainId)[0].chainId);
  }

  async diff(key: string): Promise<Change[]> {
    return opsToChanges(await compareTrees(this.parentFs(key), this.writableDir(key), this.sys, { operation: 'diff' }));
  }

  exportChanges(key: string): ChangesArchive {
    const lower = this.parentFs(key);
    const upper = this.writableDir(key);
    return exportOps(() => compareTrees(lower, upper, this.sys, { operation: 'commit' }), upper, this.sys);
  }
}
