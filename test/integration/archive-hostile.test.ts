/**
 * Hostile and broken archives against a real state root: whatever fails — a layer that is
 * not what its diff_id says, a layer with an escaping entry (refused by the snapshots
 * unpacker after an earlier layer was already unpacked), path traversal in manifest.json,
 * an oversize config, the second image of two — the load publishes nothing: no records, no
 * blobs, no ingests, no unpacked layers; and what was there before stays intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BerthError } from '../../src/core/errors';
import { digestOf } from '../../src/content/digest';
import { archiveSkipReason, stateRoot, withImageMount, type StateRoot } from '../helpers/archive-env';
import { craftDockerArchive, simpleDockerArchive } from '../helpers/archives';
import { makeTar, type TarEntry } from '../helpers/images';
import { rawTar } from '../helpers/layers';

const skip = archiveSkipReason();
const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof BerthError && e.code === c && (!re || re.test(e.message));

async function nothingPublished(s: StateRoot, before: { blobs: string[]; layers: string[]; records: string[] } = { blobs: [], layers: [], records: [] }): Promise<void> {
  assert.deepEqual((await s.svc.images.list()).map((r) => r.name), before.records, 'no image record');
  assert.deepEqual((await s.svc.content.list()).map((b) => b.digest).sort(), before.blobs, 'no blob');
  assert.deepEqual(await s.svc.content.ingests(), [], 'no partial ingest');
  assert.deepEqual(s.snapshotter.listLayers().map((l) => l.chainId).sort(), before.layers, 'no unpacked layer');
  const tmp = join(s.root, 'tmp');
  assert.deepEqual(existsSync(tmp) ? readdirSync(tmp) : [], [], 'no scratch data');
}

async function archiveOf(images: { layers: Buffer[]; claimed?: (string | undefined)[]; tags: string[]; config?: Buffer }[]): Promise<Buffer> {
  const files: TarEntry[] = [];
  const manifest: unknown[] = [];
  for (const [n, img] of images.entries()) {
    const diffIds = img.layers.map((l, i) => img.claimed?.[i] ?? digestOf(l));
    const config = img.config ?? Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
    const configName = `${digestOf(config).slice(7)}.json`;
    files.push({ name: configName, content: config }, ...img.layers.map((l, i) => ({ name: `img${n}/${i}/layer.tar`, content: l })));
    manifest.push({ Config: configName, RepoTags: img.tags, Layers: img.layers.map((_, i) => `img${n}/${i}/layer.tar`) });
  }
  return craftDockerArchive(manifest, files);
}

function write(data: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-hostile-'));
  const file = join(dir, 'archive.tar');
  writeFileSync(file, data);
  return file;
}

async function loadFails(s: StateRoot, data: Buffer, c: string, re: RegExp): Promise<void> {
  const file = write(data);
  try {
    await assert.rejects(s.svc.load({ path: file }, { sink: s.sink }), code(c, re));
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
  }
}

const layerA = (): Promise<Buffer> => makeTar([{ name: 'a/', type: 'directory' }, { name: 'a/file', content: 'layer a' }]);
const layerB = (): Promise<Buffer> => makeTar([{ name: 'b', content: 'layer b' }]);

test('a layer that does not match its diff_id: the load fails and publishes nothing', { skip }, async () => {
  const s = stateRoot('hostile-diffid');
  try {
    const [a, b] = [await layerA(), await layerB()];
    await loadFails(s, await archiveOf([{ layers: [a, b], claimed: [undefined, digestOf('something else')], tags: ['bad/diffid:1'] }]), 'EDIGEST', /does not match its digest/);
    await nothingPublished(s);
  } finally {
    s.cleanup();
  }
});

test('an escaping entry in the second layer: the unpacker refuses it, the first layer is rolled back', { skip }, async () => {
  const s = stateRoot('hostile-escape');
  try {
    const evil = await rawTar([{ name: '../../../escaped-by-berth-test', content: 'pwned' }]);
    await loadFails(s, await archiveOf([{ layers: [await layerA(), evil], tags: ['bad/escape:1'] }]), 'EUNSAFE_ARCHIVE', /escaped-by-berth-test/);
    await nothingPublished(s);
    assert.ok(!existsSync(join(s.root, '..', 'escaped-by-berth-test')));
    assert.ok(!existsSync('/escaped-by-berth-test'));
  } finally {
    s.cleanup();
  }
});

test('two images, the second broken: the first is not recorded either', { skip }, async () => {
  const s = stateRoot('hostile-second');
  try {
    const [a, b] = [await layerA(), await layerB()];
    await loadFails(s, await archiveOf([
      { layers: [a], tags: ['good/one:1'] },
      { layers: [a, b], claimed: [undefined, digestOf('nope')], tags: ['bad/two:1'] },
    ]), 'EDIGEST', /does not match its digest/);
    await nothingPublished(s);
  } finally {
    s.cleanup();
  }
});

test('path traversal in manifest.json, oversize config, truncated archive: refused, nothing published', { skip }, async () => {
  const s = stateRoot('hostile-manifest');
  try {
    const a = await layerA();
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(a)] } }));
    await loadFails(s, await craftDockerArchive([{ Config: 'c.json', RepoTags: ['x/y:1'], Layers: ['../../../../etc/passwd'] }], [{ name: 'c.json', content: config }]), 'EUNSAFE_ARCHIVE', /"\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd"/);
    await loadFails(s, await craftDockerArchive([{ Config: 'c.json', RepoTags: ['x/y:1'], Layers: ['l'] }], [{ name: 'c.json', content: config }, { name: 'l', type: 'symlink', linkname: '/etc/passwd' }]), 'EUNSAFE_ARCHIVE', /outside the archive/);
    const huge = Buffer.alloc(9 * 1024 * 1024, 0x20);
    await loadFails(s, await craftDockerArchive([{ Config: 'c.json', RepoTags: ['x/y:1'], Layers: [] }], [{ name: 'c.json', content: huge }]), 'ELIMIT', /c.json is \d+ bytes, over/);
    const { archive } = await simpleDockerArchive([[{ name: 'big', content: Buffer.alloc(100_000, 1) }]]);
    await loadFails(s, archive.subarray(0, 50_000), 'EBAD_ARCHIVE', /truncated/);
    await nothingPublished(s);
  } finally {
    s.cleanup();
  }
});

test('a failed load next to a loaded image: the existing image keeps its blobs and layers and still mounts', { skip }, async () => {
  const s = stateRoot('hostile-existing');
  try {
    const a = await layerA();
    const file = write(await archiveOf([{ layers: [a], tags: ['kept/image:1'] }]));
    try {
      await s.svc.load({ path: file }, { sink: s.sink });
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }
    const before = {
      blobs: (await s.svc.content.list()).map((b) => b.digest).sort(),
      layers: s.snapshotter.listLayers().map((l) => l.chainId).sort(),
      records: (await s.svc.images.list()).map((r) => r.name),
    };
    // Shares layer a (already there), adds a broken second layer.
    await loadFails(s, await archiveOf([{ layers: [a, await layerB()], claimed: [undefined, digestOf('x')], tags: ['bad/next:1'] }]), 'EDIGEST', /does not match/);
    await nothingPublished(s, before);
    const rec = await s.svc.resolve('kept/image:1');
    await withImageMount(s, rec.layers[0]!.chainId, 'kept', (mp) => assert.ok(existsSync(join(mp, 'a/file'))));
  } finally {
    s.cleanup();
  }
});
