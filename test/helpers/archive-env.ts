/**
 * A private Berth state root for archive integration tests: an ImageService and the
 * snapshotter's unpack sink over one temporary directory, plus a busybox root filesystem
 * tarball built from Debian's busybox-static. cleanup() unmounts anything left under the
 * root (and reports it), closes the service and removes the directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageService } from '../../src/images/service';
import { openSnapshotter, SnapshotUnpackSink, type Snapshotter } from '../../src/snapshots';
import { MNT_DETACH, sys } from '../../src/sys';
import { leftoverMounts } from './layers';
import { busyboxAvailable, makeBusyboxRootfs } from './rootfs';

export interface StateRoot {
  root: string;
  svc: ImageService;
  snapshotter: Snapshotter;
  sink: SnapshotUnpackSink;
  cleanup(): void;
}

export function archiveSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (snapshotter mounts)';
  if (!busyboxAvailable()) return '/bin/busybox is not installed (apt-get install busybox-static)';
  return false;
}

/** A state root whose directory name carries `label` (traceable leftovers). */
export function stateRoot(label: string): StateRoot {
  const root = mkdtempSync(join(tmpdir(), `berth-archive-${label.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 30)}-`));
  const svc = new ImageService({ root, authFile: join(root, 'auth.json') });
  const snapshotter = openSnapshotter(root);
  return {
    root,
    svc,
    snapshotter,
    sink: new SnapshotUnpackSink(snapshotter),
    cleanup: () => {
      const left = leftoverMounts(root);
      for (const m of [...left].reverse()) sys().umount(m, MNT_DETACH);
      svc.close();
      rmSync(root, { recursive: true, force: true });
      if (left.length) throw new Error(`mounts left under ${root}: ${left.join(', ')}`);
    },
  };
}

/** A busybox rootfs tarball (GNU tar, `./` prefixed names as `tar -C dir .` writes them). */
export function busyboxRootfsTar(dir: string, name = 'rootfs.tar', compress?: 'gzip' | 'zstd'): string {
  const rootfs = makeBusyboxRootfs(join(dir, `${name}.d`));
  const out = join(dir, name);
  execFileSync('tar', ['--numeric-owner', '-C', rootfs, '-cf', out, '.']);
  rmSync(rootfs, { recursive: true, force: true });
  if (!compress) return out;
  execFileSync(compress === 'gzip' ? 'gzip' : 'zstd', compress === 'gzip' ? ['-f', out] : ['-q', '--rm', '-f', out]);
  return `${out}.${compress === 'gzip' ? 'gz' : 'zst'}`;
}

/** Mounts a snapshot of the image's top layer, runs `fn` on the mount point, removes it. */
export async function withImageMount<T>(s: StateRoot, chainId: string, key: string, fn: (mountPoint: string) => Promise<T> | T): Promise<T> {
  await s.snapshotter.prepare(key, chainId);
  try {
    const mp = await s.snapshotter.mount(key);
    try {
      return await fn(mp);
    } finally {
      await s.snapshotter.unmount(key);
    }
  } finally {
    await s.snapshotter.removeActive(key);
  }
}
