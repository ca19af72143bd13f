/** openInRoot (native/sys/resolve.c): symlinks followed, but never out of the root. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IN_ROOT_DIRECTORY, IN_ROOT_NOFOLLOW, IN_ROOT_PATH, sys } from '../../src/sys';
import { tempDir } from '../helpers/rootfs';

test('openInRoot follows symlinks inside the root and clamps absolute targets and ".." to it', () => {
  const t = tempDir('in-root');
  try {
    const root = join(t.path, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc', 'passwd'), 'container passwd');
    writeFileSync(join(t.path, 'secret'), 'host secret');
    symlinkSync('/', join(root, 'toroot'));
    symlinkSync('../../..', join(root, 'up'));
    symlinkSync('/etc', join(root, 'etclink'));
    symlinkSync('/proc/self/root/etc/passwd', join(root, 'magic'));
    const read = (p: string, flags = 0) => {
      const fd = sys().openInRoot(root, p, flags);
      try {
        return readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
    };
    assert.equal(read('etclink/passwd'), 'container passwd');
    assert.equal(read('/toroot/etc/passwd'), 'container passwd', 'an absolute symlink resolves inside the root');
    assert.equal(read('up/etc/passwd'), 'container passwd', '.. stops at the root');
    assert.equal(read('../../../../etc/passwd'), 'container passwd');
    assert.throws(() => read('../secret'), { code: 'ENOENT' }, 'the host file next to the root is out of reach');
    assert.throws(() => read('magic'), { code: 'ENOENT' }, 'the link target is looked up inside the root, which has no /proc');
    assert.throws(() => sys().openInRoot('/', '/proc/self/root/etc/passwd', 0), { code: 'ELOOP' }, '/proc magic links are refused');
    assert.throws(() => read('etclink', IN_ROOT_NOFOLLOW), { code: 'ELOOP' });
    const dir = sys().openInRoot(root, 'etclink', IN_ROOT_DIRECTORY);
    assert.ok(fstatSync(dir).isDirectory());
    closeSync(dir);
    assert.throws(() => sys().openInRoot(root, 'etc/passwd', IN_ROOT_DIRECTORY), { code: 'ENOTDIR' });
    const link = sys().openInRoot(root, 'toroot', IN_ROOT_PATH | IN_ROOT_NOFOLLOW);
    assert.ok(fstatSync(link).isSymbolicLink(), 'O_PATH|O_NOFOLLOW gives the link itself');
    closeSync(link);
    const self = sys().openInRoot(root, '', IN_ROOT_DIRECTORY);
    const slash = sys().openInRoot(root, '/', IN_ROOT_DIRECTORY);
    assert.equal(fstatSync(self).ino, fstatSync(slash).ino, '"" and "/" are the root itself');
    closeSync(self);
    closeSync(slash);
  } finally {
    t.cleanup();
  }
});

test('openInRoot with O_PATH does not open a FIFO (which would block)', () => {
  const t = tempDir('in-root-fifo');
  try {
    sys().mkfifo(join(t.path, 'fifo'), 0o600);
    const fd = sys().openInRoot(t.path, 'fifo', IN_ROOT_PATH | IN_ROOT_NOFOLLOW);
    assert.ok(fstatSync(fd).isFIFO());
    closeSync(fd);
    assert.throws(() => sys().openInRoot(t.path, 'fifo', 8), /openInRoot/);
  } finally {
    t.cleanup();
  }
});
