/**
 * Test root filesystems built from Debian's busybox-static: /bin/busybox plus one symlink
 * per applet, a minimal /etc, and (when built) the berth-checker helper at /bin/berth-checker.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export const BUSYBOX = '/bin/busybox';

export function busyboxAvailable(): boolean {
  return existsSync(BUSYBOX);
}

let applets: string[] | undefined;
function appletNames(): string[] {
  if (!applets) {
    applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((s) => s && !s.includes('/'));
  }
  return applets;
}

/** Writes a busybox rootfs into `dir` (created if missing) and returns `dir`. */
export function makeBusyboxRootfs(dir: string): string {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'etc', 'tmp', 'root', 'run', 'var/tmp']) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  const have = new Set(readdirSync(join(dir, 'bin')));
  for (const a of appletNames()) if (!have.has(a)) symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  const checker = join(__dirname, '..', '..', '..', 'build', 'Release', 'berth-checker');
  if (existsSync(checker)) {
    copyFileSync(checker, join(dir, 'bin', 'berth-checker'));
    chmodSync(join(dir, 'bin', 'berth-checker'), 0o755);
  }
  return dir;
}

/** A fresh temporary directory whose name carries the test's name (traceable leaks). */
export function tempDir(name: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `berth-${name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 40)}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A busybox root filesystem as an uncompressed tar at `tarPath`, the input `podman import` and
 * `docker import` turn into an image (there are no public images here). Returns `tarPath`.
 */
export function makeBusyboxImageTar(tarPath: string): string {
  const tmp = tempDir('image-rootfs');
  try {
    const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs'));
    execFileSync('tar', ['--numeric-owner', '-C', rootfs, '-cf', tarPath, '.'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    tmp.cleanup();
  }
  return tarPath;
}
