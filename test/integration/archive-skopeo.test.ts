/**
 * Interop with skopeo (containers/image), an independent implementation of the archive
 * formats: archives and layouts skopeo writes load into Berth (and unpack and mount), and
 * what Berth writes skopeo reads, verifying every digest on its side.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveSkipReason, busyboxRootfsTar, stateRoot, withImageMount } from '../helpers/archive-env';
import { buildImage, busyboxLayers, writeOciLayout, type BuiltImage } from '../helpers/images';

const SKOPEO = '/usr/bin/skopeo';
const skip = archiveSkipReason() || (!existsSync(SKOPEO) ? `${SKOPEO} is not installed (apt-get install skopeo)` : false);
let work: string;
let img: BuiltImage;
let layout: string;

function skopeo(...args: string[]): string {
  const r = spawnSync(SKOPEO, ['--insecure-policy', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'berth-archive-skopeo-'));
  // gzip and uncompressed layers (docker-archive cannot say zstd)
  img = await buildImage(busyboxLayers('archive').map((l, i) => ({ ...l, compression: i === 2 ? ('none' as const) : ('gzip' as const) })));
  layout = join(work, 'layout');
  writeOciLayout(layout, img, 'v1');
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('skopeo writes a docker-archive; Berth loads it: same image id and diff_ids, layers unpack and mount', { skip }, async () => {
  const s = stateRoot('skopeo-docker-archive');
  try {
    const file = join(work, 'by-skopeo.tar');
    skopeo('copy', `oci:${layout}:v1`, `docker-archive:${file}:skopeo/img:v1`);
    const [loaded] = await s.svc.load({ path: file }, { sink: s.sink });
    assert.equal(loaded!.id, img.configDigest, 'skopeo keeps the config, so the image id');
    assert.deepEqual(loaded!.names, ['docker.io/skopeo/img:v1']);
    const rec = await s.svc.resolve('skopeo/img:v1');
    assert.deepEqual(rec.layers.map((l) => l.diffId), img.layers.map((l) => l.diffId));
    await withImageMount(s, rec.layers[2]!.chainId, 'skopeo-da', (mp) => {
      assert.ok(readFileSync(join(mp, 'bin/busybox')).equals(readFileSync('/bin/busybox')));
      assert.equal(readFileSync(join(mp, 'etc/hello'), 'utf8'), 'hello from berth archive\n');
    });
    // And through image copy, selecting the image by its tag in the archive.
    const r = await s.svc.copy(`docker-archive:${file}:skopeo/img:v1`, `oci:${join(work, 'from-da')}:x`);
    assert.equal(r.id, img.configDigest);
  } finally {
    s.cleanup();
  }
});

test('skopeo writes an oci-archive; Berth copies it into its store with the manifest byte for byte', { skip }, async () => {
  const s = stateRoot('skopeo-oci-archive');
  try {
    const file = join(work, 'by-skopeo-oci.tar');
    skopeo('copy', '--preserve-digests', `oci:${layout}:v1`, `oci-archive:${file}:v1`);
    const r = await s.svc.copy(`oci-archive:${file}:v1`, 'berth:from/skopeo:1', { sink: s.sink });
    assert.equal(r.manifestDigest, img.manifestDigest);
    const rec = await s.svc.resolve('from/skopeo:1');
    assert.equal(rec.manifest.digest, img.manifestDigest);
    assert.ok(s.snapshotter.hasLayer(rec.layers[2]!.chainId));
    // load takes it too (an OCI layout in a tar, names from the ref if it is a reference).
    const [loaded] = await s.svc.load({ path: file }, { sink: s.sink });
    assert.equal(loaded!.id, img.configDigest);
    assert.deepEqual(loaded!.names, [], '"v1" alone is no image name');
  } finally {
    s.cleanup();
  }
});

test("Berth's save: skopeo inspects and copies each image of a multi-image archive", { skip }, async () => {
  const s = stateRoot('skopeo-reads-save');
  try {
    const one = (await s.svc.import({ path: busyboxRootfsTar(work, 'for-skopeo.tar') }, { name: 'berth/one:1', sink: s.sink })).record;
    await s.svc.copy(`oci:${layout}:v1`, 'berth:berth/two:2');
    const two = await s.svc.resolve('berth/two:2');
    const file = join(work, 'by-berth.tar');
    await s.svc.save(['berth/one:1', 'berth/two:2'], { path: file });
    for (const [name, rec] of [['berth/one:1', one], ['berth/two:2', two]] as const) {
      const inspect = JSON.parse(skopeo('inspect', `docker-archive:${file}:${name}`)) as { Layers: string[]; RepoTags: string[] };
      assert.deepEqual(inspect.Layers, rec.layers.map((l) => l.diffId), `${name}: uncompressed layers, digests = diff_ids`);
      const config = JSON.parse(skopeo('inspect', '--config', `docker-archive:${file}:${name}`)) as { rootfs: { diff_ids: string[] } };
      assert.deepEqual(config.rootfs.diff_ids, rec.layers.map((l) => l.diffId));
      const out = join(work, `skopeo-copy-${rec.id.slice(7, 15)}`);
      skopeo('copy', `docker-archive:${file}:${name}`, `oci:${out}:x`);
      const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      // skopeo verified every layer against its digest and diff_id while copying; converting
      // to OCI it rewrites the config, but the layers stay.
      const blob = (d: string): string => readFileSync(join(out, 'blobs', 'sha256', d.slice(7)), 'utf8');
      const manifest = JSON.parse(blob(index.manifests[0]!.digest)) as { config: { digest: string } };
      assert.deepEqual((JSON.parse(blob(manifest.config.digest)) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids, rec.layers.map((l) => l.diffId));
    }
  } finally {
    s.cleanup();
  }
});

test("Berth's oci-archive and oci: layouts: skopeo inspects and copies them with the same digests", { skip }, async () => {
  const s = stateRoot('skopeo-reads-oci');
  try {
    await s.svc.copy(`oci:${layout}:v1`, 'berth:berth/oci:1');
    const file = join(work, 'by-berth-oci.tar');
    await s.svc.copy('berth:berth/oci:1', `oci-archive:${file}:v1`);
    const inspect = JSON.parse(skopeo('inspect', `oci-archive:${file}:v1`)) as { Digest: string; Layers: string[] };
    assert.equal(inspect.Digest, img.manifestDigest);
    assert.deepEqual(inspect.Layers, img.layers.map((l) => l.digest));
    const dir = join(work, 'by-berth-dir');
    await s.svc.copy('berth:berth/oci:1', `oci:${dir}:v1`);
    const out = join(work, 'skopeo-from-berth-dir');
    skopeo('copy', '--preserve-digests', `oci:${dir}:v1`, `oci:${out}:v1`);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    assert.equal(index.manifests[0]!.digest, img.manifestDigest);
    // Berth's save as oci-archive, too.
    const saved = join(work, 'saved-oci.tar');
    await s.svc.save(['berth/oci:1'], { path: saved }, { format: 'oci-archive' });
    assert.equal((JSON.parse(skopeo('inspect', `oci-archive:${saved}:1`)) as { Digest: string }).Digest, img.manifestDigest);
  } finally {
    s.cleanup();
  }
});
