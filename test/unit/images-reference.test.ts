import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarName, familiarString, formatReference, normalizeReference, parseReference } from '../../src/images/reference';
import { BerthError } from '../../src/core/errors';

const D = 'sha256:' + 'a'.repeat(64);

test('references normalize as docker does', () => {
  const table: [string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['user/app', 'docker.io/user/app:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1'],
    ['localhost/x', 'localhost/x:latest'],
    ['localhost:5000/x', 'localhost:5000/x:latest'],
    ['host:5000/a/b:tag', 'host:5000/a/b:tag'],
    ['127.0.0.1:5000/a/b/c:v1.2-rc_3', '127.0.0.1:5000/a/b/c:v1.2-rc_3'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`busybox:1.36@${D}`, `docker.io/library/busybox:1.36@${D}`],
    ['Registry.Example.com/a', 'Registry.Example.com/a:latest'],
    ['[::1]:5000/a', '[::1]:5000/a:latest'],
    ['a.b/c__d/e-f.g', 'a.b/c__d/e-f.g:latest'],
  ];
  for (const [input, want] of table) assert.equal(normalizeReference(input), want, input);
});

test('parts of a parsed reference', () => {
  assert.deepEqual(parseReference('host:5000/a/b:tag'), { domain: 'host:5000', path: 'a/b', tag: 'tag' });
  assert.deepEqual(parseReference(`x@${D}`), { domain: 'docker.io', path: 'library/x', digest: D });
  assert.deepEqual(parseReference('x', { defaultTag: false }), { domain: 'docker.io', path: 'library/x' });
});

test('familiar forms for display', () => {
  assert.equal(familiarString(parseReference('busybox')), 'busybox:latest');
  assert.equal(familiarName(parseReference('docker.io/user/app:1')), 'user/app');
  assert.equal(familiarName(parseReference('docker.io/library/a/b')), 'library/a/b');
  assert.equal(familiarString(parseReference('localhost:5000/x:1')), 'localhost:5000/x:1');
  assert.equal(formatReference(parseReference('localhost:5000/x:1')), 'localhost:5000/x:1');
});

test('invalid references fail naming the bad part', () => {
  const table: [string, RegExp][] = [
    ['', /empty/],
    ['Busybox', /must be lowercase/],
    ['busybox:', /tag "" is not valid/],
    ['busybox:-x', /tag "-x"/],
    ['busybox@sha256:abc', /digest part "sha256:abc"/],
    ['busybox@md5:' + 'a'.repeat(32), /digest part/],
    ['host:99999/a', /port "99999"/],
    ['-host.com/a', /registry host "-host.com"/],
    ['a//b', /empty component/],
    ['a/b_/c', /path component "b_"/],
    ['a/B.c', /must be lowercase/],
    [' busybox', /white space/],
    ['a/' + 'x'.repeat(300), /longer than 255/],
  ];
  for (const [input, re] of table) {
    assert.throws(() => parseReference(input), (e: unknown) => e instanceof BerthError && e.code === 'EINVALID_REFERENCE' && re.test(e.message), input);
  }
});
