/** Layer entry-name rules, whiteout names, chain ids and the order of changes (pure logic, no mounts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyWhiteout, entryComponents } from '../../src/snapshots/unpack/names';
import { chainIdOf, chainIds } from '../../src/snapshots/chain';
import { opsToChanges } from '../../src/snapshots/changes/ops';

test('entry names: normalised, and absolute or climbing names refused', () => {
  assert.deepEqual(entryComponents('./a//b/./c/'), ['a', 'b', 'c']);
  assert.deepEqual(entryComponents('./'), []);
  assert.throws(() => entryComponents('/etc/passwd'), /absolute/);
  assert.throws(() => entryComponents('a/../../b'), /climbs out/);
  assert.throws(() => entryComponents('a\0b'), /NUL/);
});

test('whiteout names: whiteout, opaque, AUFS metadata, and invalid forms', () => {
  const c = (n: string) => classifyWhiteout(n, entryComponents(n));
  assert.deepEqual(c('a/.wh.b'), { kind: 'whiteout', target: 'b' });
  assert.deepEqual(c('a/.wh..wh..opq'), { kind: 'opaque' });
  assert.deepEqual(c('.wh..wh.plnk'), { kind: 'meta' });
  assert.deepEqual(c('a/b'), { kind: 'none' });
  assert.deepEqual(c('a/.whx'), { kind: 'none' });
  for (const bad of ['.wh.', 'a/.wh..', 'a/.wh...', '.wh.../x', '.wh.d/x']) assert.throws(() => c(bad), /whiteout/, bad);
});

test('chain ids follow the image spec', () => {
  const a = `sha256:${'a'.repeat(64)}`;
  const b = `sha256:${'b'.repeat(64)}`;
  assert.equal(chainIdOf(undefined, a), a);
  // sha256("sha256:aaa… sha256:bbb…")
  const expected = `sha256:${require('node:crypto').createHash('sha256').update(`${a} ${b}`).digest('hex')}`;
  assert.deepEqual(chainIds([a, b]), [a, expected]);
});

test('changes: docker diff order, opaque dirs expanded', () => {
  const st = {} as import('node:fs').Stats;
  const changes = opsToChanges([
    { op: 'entry', rel: 'b', st, xattrs: undefined, kind: 'C' },
    { op: 'opaque', rel: 'b', deleted: ['x', 'a'] },
    { op: 'whiteout', rel: 'a' },
    { op: 'entry', rel: 'b/n', st, xattrs: undefined, kind: 'A' },
  ]);
  assert.deepEqual(changes.map((c) => `${c.kind} ${c.path}`), ['D /a', 'C /b', 'D /b/a', 'A /b/n', 'D /b/x']);
});
