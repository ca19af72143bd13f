/**
 * Whether overlayfs works for a state root: the kernel must know it and the root's
 * filesystem must be usable as an upper dir (not overlayfs itself, not NFS, ...). Tried for
 * real with a throw-away mount, since the reasons it fails are many and only the kernel knows.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Sys } from '../sys';
import { isMounted, unmountAll } from './mounts';
import { OVERLAY_OPTIONS } from './overlay/overlay';

export interface OverlaySupport {
  ok: boolean;
  /** Why not, when !ok. */
  reason?: string;
}

export function detectOverlay(sys: Sys, dir: string): OverlaySupport {
  let filesystems = '';
  try {
    filesystems = readFileSync('/proc/filesystems', 'utf8');
  } catch {
    // fall through to the real mount
  }
  if (filesystems && !/\toverlay$/m.test(filesystems)) return { ok: false, reason: 'the kernel has no overlay filesystem (modprobe overlay?)' };
  const probe = join(dir, `overlay-check-${randomBytes(4).toString('hex')}`);
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(probe, d), { recursive: true });
    sys.mountOverlay(join(probe, 'merged'), probe, ['lower'], 'upper', 'work', [...OVERLAY_OPTIONS], 0, 0);
    unmountAll(sys, join(probe, 'merged'), true);
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  } finally {
    if (isMounted(join(probe, 'merged'))) unmountAll(sys, join(probe, 'merged'), true);
    rmSync(probe, { recursive: true, force: true });
  }
}
