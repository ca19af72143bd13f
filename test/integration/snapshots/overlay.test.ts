/** The shared snapshotter suite against the overlay snapshotter, plus what only overlay has. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, lstatSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { OverlaySnapshotter, openSnapshotter, type Snapshotter } from '../../../src/snapshots';
import { isBerthError } from '../../../src/core/errors';
import { sys, type OverlayMountApi } from '../../../src/sys';
import { addLayer, snapshotterSuite, withRoot } from './suite';

const overlay = (api: OverlayMountApi = 0) => (root: string) => new OverlaySnapshotter(`${root}/layers/overlay`, sys(), { mountApi: api }).open();

snapshotterSuite('overlay', overlay());

/** Builds a chain of `depth` layers, each adding one file and overriding `top`. */
async function deepChain(s: Snapshotter, depth: number): Promise<string> {
  let parent: string | undefined;
  for (let i = 0; i < depth; i++) parent = await addLayer(s, parent, [{ name: `layers/${i}`, content: String(i) }, { name: 'top', content: `layer ${i}` }]);
  return parent as string;
}

for (const [api, label] of [[1, 'new mount API (lowerdir+)'], [2, 'mount(2) with short relative lowerdirs']] as const) {
  test(`overlay: a 150-layer chain mounts with the ${label}`, async () => {
    await withRoot(`overlay-deep-${api}`, overlay(api), async (s) => {
      const top = await deepChain(s, 150);
      // 150 absolute lowerdirs would be ~15 KiB of mount options, far over one page.
      const spec = s.mountSpec((await s.prepare('deep', top), 'deep'));
      assert.equal(spec.type === 'overlay' && spec.lowerdirs.join(':').length > 4096, true);
      const mp = await s.mount('deep');
      try {
        assert.equal(readdirSync(join(mp, 'layers')).length, 150);
        assert.equal(readFileSync(join(mp, 'top'), 'utf8'), 'layer 149', 'the top layer wins');
      } finally {
        await s.unmount('deep');
      }
    });
  });
}

test('overlay: mount(2) past one page of options fails with a clear error (the new API has no such limit)', async () => {
  await withRoot('overlay-toodeep', overlay(2), async (s) => {
    const top = await deepChain(s, 240); // 240 * 19 bytes of "l/<16 hex>:" > 4096
    await s.prepare('c', top);
    await assert.rejects(s.mount('c'), (e) => isBerthError(e) && /E2BIG|one page/.test(e.message));
  });
  await withRoot('overlay-deep-new', overlay(1), async (s) => {
    const top = await deepChain(s, 240);
    await s.prepare('c', top);
    const mp = await s.mount('c');
    assert.equal(readdirSync(join(mp, 'layers')).length, 240);
    await s.unmount('c');
  });
});

test('overlay: creating a container snapshot copies nothing (independent of image size)', async () => {
  await withRoot('overlay-constant', overlay(), async (s) => {
    const entries = Array.from({ length: 2000 }, (_, i) => ({ name: `usr/share/f${i}`, content: 'x'.repeat(100) }));
    const big = await addLayer(s, undefined, entries);
    const small = await addLayer(s, undefined, [{ name: 'one', content: '1' }]);
    for (const [key, layer] of [['big', big], ['small', small]] as const) {
      await s.prepare(key, layer);
      const dir = join(s.dir, 'active', key);
      // Only the record and three empty directories, whatever the image holds.
      assert.deepEqual(readdirSync(dir).sort(), ['merged', 'snapshot.json', 'upper', 'work']);
      assert.deepEqual(readdirSync(join(dir, 'upper')), []);
      assert.equal((await s.usage({ key })).inodes, 1);
    }
  });
});

test('overlay: the layer directory keeps whiteouts as 0:0 devices and opaque dirs as xattrs', async () => {
  await withRoot('overlay-format', overlay(), async (s) => {
    const l1 = await addLayer(s, undefined, [{ name: 'd/x', content: 'x' }, { name: 'f', content: 'f' }]);
    const l2 = await addLayer(s, l1, [{ name: '.wh.f' }, { name: 'd/' }, { name: 'd/.wh..wh..opq' }]);
    const fs = join(s.dir, 'sha256', l2.slice(7), 'fs');
    const wh = lstatSync(join(fs, 'f'));
    assert.ok(wh.isCharacterDevice());
    assert.equal(wh.rdev, 0);
    assert.equal(sys().lgetxattr(join(fs, 'd'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.deepEqual(readdirSync(join(s.dir, 'staging')), []);
  });
});

test('overlay: openSnapshotter picks overlay on this host and keeps it for the root', async () => {
  await withRoot('overlay-auto', (root) => openSnapshotter(root), async (s, root) => {
    assert.equal(s.name, 'overlay');
    assert.equal(s.dir, join(root, 'layers', 'overlay'));
    assert.equal(openSnapshotter(root).name, 'overlay');
    assert.equal(openSnapshotter(root, { snapshotter: 'copy' }).name, 'copy');
  });
});

test('overlay: a layer index link that points at another layer is refused, not mounted', async () => {
  await withRoot('overlay-link', overlay(), async (s) => {
    const l1 = await addLayer(s, undefined, [{ name: 'a', content: 'a' }]);
    const other = await addLayer(s, undefined, [{ name: 'evil', content: 'e' }]);
    await s.prepare('c', l1);
    symlinkSync(`../sha256/${other.slice(7)}/fs`, join(s.dir, 'l', l1.slice(7, 23)));
    await assert.rejects(s.mount('c'), (e) => isBerthError(e) && /points at/.test(e.message));
  });
});
