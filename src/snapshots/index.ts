/**
 * Snapshotters: where image layers are unpacked and container root filesystems come from.
 * The backends are listed here explicitly (no registration by import side effects).
 *
 * Layout: `<root>/layers/<snapshotter>/` (see store.ts for what is inside).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../core/errors';
import { sys as realSys, type Sys } from '../sys';
import { CopySnapshotter } from './copy/copy';
import { detectOverlay } from './detect';
import { OverlaySnapshotter, type OverlayOptions } from './overlay/overlay';
import type { Snapshotter, SnapshotterName } from './types';

export * from './types';
export { chainIdOf, chainIds } from './chain';
export { detectOverlay } from './detect';
export { SnapshotUnpackSink } from './unpack-sink';
export { applyLayerTar } from './unpack/apply';
export { OverlaySnapshotter, CopySnapshotter };

export const SNAPSHOTTERS: readonly SnapshotterName[] = ['overlay', 'copy'];

export interface OpenSnapshotterOptions extends OverlayOptions {
  /** 'auto' (default): overlay where it works, else copy. */
  snapshotter?: SnapshotterName | 'auto';
  sys?: Sys;
}

/** Opens (creating if needed) the snapshotter of a state root. */
export function openSnapshotter(root: string, opts: OpenSnapshotterOptions = {}): Snapshotter {
  const sys = opts.sys ?? realSys();
  const layers = join(root, 'layers');
  mkdirSync(layers, { recursive: true, mode: 0o700 });
  let name = opts.snapshotter ?? 'auto';
  // A root keeps the snapshotter it started with (its layers are in that format).
  if (name === 'auto') name = existsSync(join(layers, 'overlay')) ? 'overlay' : existsSync(join(layers, 'copy')) ? 'copy' : 'auto';
  if (name === 'auto' || (name === 'overlay' && !existsSync(join(layers, 'overlay')))) {
    const support = detectOverlay(sys, layers);
    if (!support.ok && name === 'overlay') {
      throw new BerthError('EUNSUPPORTED', `the overlay snapshotter cannot work under ${layers}: ${support.reason ?? 'unknown reason'}`, {
        hint: 'use the copy snapshotter (--storage-driver copy) or put the state root on ext4/xfs',
      });
    }
    name = support.ok ? 'overlay' : 'copy';
  }
  const dir = join(layers, name);
  if (name === 'overlay') return new OverlaySnapshotter(dir, sys, opts).open();
  return new CopySnapshotter(dir, sys, opts).open();
}
