/** The file-system calls added to the sys addon for the snapshotters, on the real kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sys } from '../../../src/sys';
import { tempDir } from '../../helpers/rootfs';

test('openBeneath opens files below a directory and refuses symlinks and climbing', () => {
  const t = tempDir('open-beneath');
  try {
    const root = join(t.path, 'root');
    mkdirSync(join(root, 'd'), { recursive: true });
    writeFileSync(join(root, 'd', 'f'), 'inside');
    writeFileSync(join(t.path, 'secret'), 'outside');
    symlinkSync(join(t.path, 'secret'), join(root, 'abs'));
    symlinkSync('d', join(root, 'dirlink'));
    const fd = sys().openBeneath(root, 'd/f');
    assert.equal(readFileSync(fd, 'utf8'), 'inside');
    closeSync(fd);
    for (const [rel, codes] of [['abs', ['ELOOP']], ['dirlink/f', ['ELOOP']], ['../secret', ['EXDEV']], ['/etc/passwd', ['EXDEV']]] as const) {
      assert.throws(() => sys().openBeneath(root, rel), (e: NodeJS.ErrnoException) => (codes as readonly string[]).includes(e.code ?? ''), rel);
    }
  } finally {
    t.cleanup();
  }
});

test('mknod, l*xattr and lutimens act on the link itself, never its target', () => {
  const t = tempDir('fsnodes');
  try {
    writeFileSync(join(t.path, 'target'), 't');
    symlinkSync('target', join(t.path, 'link'));
    sys().lutimens(join(t.path, 'link'), 5, 6, 7, 123_456_789);
    const st = lstatSync(join(t.path, 'link'), { bigint: true });
    assert.equal(st.mtimeNs, 7_123_456_789n);
    assert.notEqual(lstatSync(join(t.path, 'target')).mtimeMs, 7123.456789);
    sys().lsetxattr(join(t.path, 'link'), 'trusted.berth.t', Buffer.from([0, 255]));
    assert.deepEqual(sys().lgetxattr(join(t.path, 'link'), 'trusted.berth.t'), Buffer.from([0, 255]));
    assert.equal(sys().lgetxattr(join(t.path, 'target'), 'trusted.berth.t'), null);
    assert.deepEqual(sys().llistxattr(join(t.path, 'link')), ['trusted.berth.t']);
    sys().mknod(join(t.path, 'wh'), 0o020000, 0, 0);
    assert.ok(lstatSync(join(t.path, 'wh')).isCharacterDevice());
    assert.throws(() => sys().mknod(join(t.path, 'wh'), 0o020000, 0, 0), (e: NodeJS.ErrnoException) => e.code === 'EEXIST' && /mknod .*wh/.test(e.message));
  } finally {
    t.cleanup();
  }
});

test('mountOverlay validates its arguments and reports the kernel reason', () => {
  const t = tempDir('mount-overlay-args');
  try {
    assert.throws(() => sys().mountOverlay(join(t.path, 'm'), t.path, [], null, null, [], 0, 0), /mountOverlay\(/);
    mkdirSync(join(t.path, 'm'));
    mkdirSync(join(t.path, 'l'));
    assert.throws(() => sys().mountOverlay(join(t.path, 'm'), t.path, ['missing'], 'l', 'l', [], 0, 1), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && /lowerdir\+/.test(e.message));
  } finally {
    t.cleanup();
  }
});
