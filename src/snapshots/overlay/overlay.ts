/**
 * The overlay snapshotter. Each layer is its own directory holding only that layer's
 * entries (deletions as overlay whiteouts, opaque dirs marked with trusted.overlay.opaque),
 * unpacked once and shared read-only as a lowerdir by every container over it. A container
 * snapshot is an empty upper + work dir, so creating one costs the same for any image size.
 *
 * Mounting: lowerdirs are addressed through short index links `l/<16 hex>` ->
 * `../sha256/<hex>/fs`, relative to the snapshotter directory; see native/sys/overlay.c for
 * how deep chains avoid mount(2)'s one-page option limit.
 */
import { mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../core/errors';
import type { OverlayMountApi, Sys } from '../../sys';
import { BaseSnapshotter, type SnapshotterOptions } from '../base';
import { exportOps } from '../changes/export';
import { opsToChanges, type ChangeOp } from '../changes/ops';
import { chainHex } from '../fsutil';
import { isMounted } from '../mounts';
import type { Staging } from '../store';
import type { Change, ChangesArchive, MountSpec } from '../types';
import { LowerView } from './lower-view';
import { upperChanges } from './upper-changes';

/**
 * redirect_dir/metacopy off: renamed directories and metadata-only copy-ups would leave
 * upper entries that point into lower layers, which a diff of the upper dir cannot express
 * as a portable layer (Docker's overlay2 disables them for the same reason). index=off: no
 * inode index tying the upper dir to these particular lower directories.
 */
export const OVERLAY_OPTIONS: readonly string[] = ['index=off', 'redirect_dir=off', 'metacopy=off'];

export interface OverlayOptions extends SnapshotterOptions {
  /** Which mount call to use (tests force each); default: new mount API, mount(2) as fallback. */
  mountApi?: OverlayMountApi;
}

export class OverlaySnapshotter extends BaseSnapshotter {
  readonly name = 'overlay' as const;
  readonly independentLayers = true;
  protected readonly applyMode = 'overlay' as const;

  constructor(dir: string, sys: Sys, private readonly overlayOptions: OverlayOptions = {}) {
    super(dir, sys, overlayOptions);
  }

  override open(): this {
    super.open();
    mkdirSync(join(this.dir, 'l'), { recursive: true, mode: 0o700 });
    // The lowest lower of a snapshot with no parent: overlay needs at least one lowerdir.
    mkdirSync(join(this.dir, 'empty'), { recursive: true, mode: 0o755 });
    return this;
  }

  protected async prepareStaging(staging: Staging): Promise<void> {
    mkdirSync(staging.fs, { mode: 0o755 });
  }

  protected async initActive(_key: string, dir: string): Promise<void> {
    mkdirSync(join(dir, 'upper'), { mode: 0o755 });
    mkdirSync(join(dir, 'work'), { mode: 0o700 });
    mkdirSync(join(dir, 'merged'), { mode: 0o755 });
  }

  protected writableDir(key: string): string {
    return join(this.store.activeDir(key), 'upper');
  }

  private shortLink(chainId: string): string {
    return `l/${chainHex(chainId).slice(0, 16)}`;
  }

  /**
   * Creates (or checks) the index link of a layer. A link that points at another layer (two
   * chain ids sharing 64 bits of prefix, which a publisher of both images could arrange)
   * is refused rather than mounted.
   */
  private ensureShortLink(chainId: string): string {
    const link = this.shortLink(chainId);
    const want = `../sha256/${chainHex(chainId)}/fs`;
    try {
      symlinkSync(want, join(this.dir, link));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const have = readlinkSync(join(this.dir, link));
      if (have !== want) {
        throw new BerthError('EINTERNAL', `layer index link ${link} points at ${have}, not at layer ${chainId}`, {
          hint: 'two layers share a 64-bit chain id prefix; remove one of the images',
        });
      }
    }
    return link;
  }

  protected removeLayerExtras(chainId: string): void {
    rmSync(join(this.dir, this.shortLink(chainId)), { force: true });
  }

  /** Layer directories of the container's parent chain, top first (absolute). */
  private lowerDirs(parentChainId: string | undefined): string[] {
    return this.chain(parentChainId).map((l) => this.store.layerFs(l.chainId));
  }

  mountSpec(key: string): MountSpec {
    const rec = this.requireActive(key);
    const lowers = this.lowerDirs(rec.parentChainId);
    const dir = this.store.activeDir(key);
    return {
      type: 'overlay',
      lowerdirs: lowers.length ? lowers : [join(this.dir, 'empty')],
      upperdir: join(dir, 'upper'),
      workdir: join(dir, 'work'),
      options: [...OVERLAY_OPTIONS],
    };
  }

  async mount(key: string, target?: string): Promise<string> {
    const rec = this.requireActive(key);
    const mp = target ?? this.mountPoint(key);
    if (target === undefined && isMounted(mp)) return mp;
    const lowers: string[] = [];
    for (const l of this.chain(rec.parentChainId)) lowers.push(this.ensureShortLink(l.chainId));
    if (lowers.length === 0) lowers.push('empty');
    const active = `active/${key}`;
    try {
      this.sys.mountOverlay(mp, this.dir, lowers, `${active}/upper`, `${active}/work`, [...OVERLAY_OPTIONS], 0, this.overlayOptions.mountApi ?? 0);
    } catch (e) {
      throw new BerthError('ESYSCALL', `mounting snapshot ${key} (${lowers.length} layers) on ${mp}: ${(e as Error).message}`, { cause: e });
    }
    return mp;
  }

  private lowerView(key: string): LowerView {
    const rec = this.requireActive(key);
    return new LowerView(this.lowerDirs(rec.parentChainId), this.sys);
  }

  async diff(key: string): Promise<Change[]> {
    const lower = this.lowerView(key);
    const ops: ChangeOp[] = [];
    for await (const op of upperChanges(this.writableDir(key), lower, this.sys, { operation: 'diff' })) ops.push(op);
    return opsToChanges(ops);
  }

  exportChanges(key: string): ChangesArchive {
    const lower = this.lowerView(key);
    const upper = this.writableDir(key);
    return exportOps(() => upperChanges(upper, lower, this.sys, { operation: 'commit' }), upper, this.sys);
  }
}
