/**
 * Archives against real state roots (as root): import of a busybox rootfs tarball (file,
 * stream, http URL on 127.0.0.1; gzip, zstd) whose layer unpacks and mounts; createImage
 * on a base (commit-like); save → load round trips (several images and tags, by id,
 * compressed archives); OCI layout directories; export of a mounted rootfs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { BerthError } from '../../src/core/errors';
import { parseChanges } from '../../src/images/config-changes';
import { readImageConfig } from '../../src/images/history';
import { MediaType } from '../../src/images/media-types';
import { exportRootfs } from '../../src/images/archive/export';
import { archiveSkipReason, busyboxRootfsTar, stateRoot, withImageMount, type StateRoot } from '../helpers/archive-env';
import { readTarFile } from '../helpers/archives';
import { makeTar } from '../helpers/images';

const skip = archiveSkipReason();
let work: string;
let rootfsTar: string;

before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'berth-archive-local-'));
  rootfsTar = busyboxRootfsTar(work);
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof BerthError && e.code === c && (!re || re.test(e.message));

async function withState<T>(label: string, fn: (s: StateRoot) => Promise<T>): Promise<T> {
  const s = stateRoot(label);
  try {
    return await fn(s);
  } finally {
    s.cleanup();
  }
}

test('import a busybox rootfs tarball with --change and -m: layer unpacked, snapshot mounts, /bin/busybox there', { skip }, async () => {
  await withState('import-file', async (s) => {
    const gz = busyboxRootfsTar(work, 'import-file.tar', 'gzip');
    const { record, config } = await s.svc.import({ path: gz }, {
      name: 'berth-test/busybox:imported',
      changes: parseChanges(['CMD ["/bin/sh"]', 'ENV GREETING=hello', 'WORKDIR /root', 'EXPOSE 8080']),
      message: 'a test import',
      sink: s.sink,
    });
    assert.equal(record.name, 'docker.io/berth-test/busybox:imported');
    assert.equal(record.layers.length, 1);
    assert.equal(record.layers[0]!.mediaType, MediaType.ociLayerGzip);
    // As docker import: the decompressed tarball is the layer, its digest the diff_id.
    const { createHash } = await import('node:crypto');
    assert.equal(record.layers[0]!.diffId, `sha256:${createHash('sha256').update(gunzipSync(readFileSync(gz))).digest('hex')}`);
    assert.deepEqual(config.config?.Cmd, ['/bin/sh']);
    assert.deepEqual(config.config?.Env, ['GREETING=hello']);
    assert.equal(config.config?.WorkingDir, '/root');
    assert.deepEqual(Object.keys(config.config?.ExposedPorts ?? {}), ['8080/tcp']);
    assert.equal(config.history?.[0]?.comment, 'a test import');
    assert.equal((config as Record<string, unknown>)['comment'], 'a test import');
    assert.ok(s.snapshotter.hasLayer(record.layers[0]!.chainId), 'the layer is unpacked');
    await withImageMount(s, record.layers[0]!.chainId, 'import-check', (mp) => {
      assert.equal(statSync(join(mp, 'bin/busybox')).size, statSync('/bin/busybox').size);
      assert.ok(readFileSync(join(mp, 'bin/busybox')).equals(readFileSync('/bin/busybox')));
      assert.equal(readlinkSync(join(mp, 'bin/sh')), 'busybox');
    });
    const [summary] = await s.svc.list();
    assert.deepEqual(summary!.repoTags, ['berth-test/busybox:imported']);
    assert.equal((await s.svc.history('berth-test/busybox:imported'))[0]!.comment, 'a test import');
  });
});

test('import from a stream without a name: known by id, dangling; tagging names it', { skip }, async () => {
  await withState('import-stream', async (s) => {
    const zst = busyboxRootfsTar(work, 'import-stream.tar', 'zstd');
    const { record } = await s.svc.import({ stream: createReadStream(zst) }, { sink: s.sink });
    assert.equal(record.name, record.id, 'an unnamed image is recorded under its id');
    let [summary] = await s.svc.list();
    assert.equal(summary!.dangling, true);
    assert.deepEqual(summary!.repoTags, []);
    assert.deepEqual(summary!.repoDigests, []);
    assert.equal((await s.svc.resolve(record.id.slice(7, 19))).id, record.id);
    assert.equal((await s.svc.history(record.id))[0]!.comment, 'Imported from -');
    await s.svc.tag(record.id, 'named:now');
    [summary] = await s.svc.list();
    assert.deepEqual(summary!.repoTags, ['named:now']);
    assert.equal(summary!.records.length, 1, 'the id-only record went when a name came');
    const removed = await s.svc.remove(['named:now']);
    assert.deepEqual(removed.deleted, [record.id]);
  });
});

test('import from an http URL (127.0.0.1, through a redirect); 404 and non-tar input fail clearly', { skip }, async () => {
  const body = readFileSync(rootfsTar);
  const server = http.createServer((req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/rootfs.tar' });
      res.end();
    } else if (req.url === '/rootfs.tar') {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    } else if (req.url === '/text') {
      res.end('this is not a tar archive at all, just some text\n'.repeat(20));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await withState('import-url', async (s) => {
      const { record } = await s.svc.import({ url: `${base}/redirect` }, { name: 'from/url:1', sink: s.sink });
      assert.ok(s.snapshotter.hasLayer(record.layers[0]!.chainId));
      assert.equal((await s.svc.history('from/url:1'))[0]!.comment, `Imported from ${base}/redirect`);
      await assert.rejects(s.svc.import({ url: `${base}/missing` }), code('ENOT_FOUND', /answered 404/));
      await assert.rejects(s.svc.import({ url: `${base}/text` }), code('EBAD_ARCHIVE', /not a tar archive/));
      await assert.rejects(s.svc.import({ stream: Readable.from([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2])]) }), code('EUNSUPPORTED', /xz or bzip2/));
      await assert.rejects(s.svc.import({ path: join(work, 'does-not-exist.tar') }), code('ENOT_FOUND'));
      assert.equal((await s.svc.list()).length, 1, 'failed imports recorded nothing');
    });
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('createImage on a base (as commit will): layers, history and diff_ids appended; Docker manifest; runnable', { skip }, async () => {
  await withState('create-on-base', async (s) => {
    const base = (await s.svc.import({ path: rootfsTar }, { name: 'base:1', sink: s.sink })).record;
    const layer = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', content: 'hello from a new layer\n' }]);
    const { record, config } = await s.svc.createImage({
      base,
      layers: [{ tar: Readable.from([layer]) }],
      changes: parseChanges(['LABEL stage=two', 'CMD ["cat", "/etc/hello"]']),
      history: [{ created_by: 'ENV X=1', empty_layer: true }, { created_by: 'COPY hello /etc/hello' }],
      compression: 'none',
      format: 'docker',
      name: 'derived:2',
      sink: s.sink,
    });
    assert.equal(record.manifest.mediaType, MediaType.dockerManifest);
    assert.equal(record.config.mediaType, MediaType.dockerConfig);
    assert.equal(record.layers.length, 2);
    assert.equal(record.layers[0]!.digest, base.layers[0]!.digest, 'the base layer blob is shared');
    assert.equal(record.layers[0]!.mediaType, MediaType.dockerLayerGzip, 'same bytes under the Docker media type');
    assert.equal(record.layers[1]!.mediaType, MediaType.dockerLayer);
    assert.equal(record.layers[1]!.digest, record.layers[1]!.diffId, 'uncompressed: the blob is the tar');
    assert.deepEqual(config.rootfs.diff_ids, [base.layers[0]!.diffId, record.layers[1]!.diffId]);
    assert.deepEqual(config.history?.map((h) => h.created_by ?? ''), ['', 'ENV X=1', 'COPY hello /etc/hello']);
    assert.deepEqual(config.config?.Labels, { stage: 'two' });
    assert.deepEqual(config.config?.Cmd, ['cat', '/etc/hello']);
    await withImageMount(s, record.layers[1]!.chainId, 'derived', (mp) => {
      assert.equal(readFileSync(join(mp, 'etc/hello'), 'utf8'), 'hello from a new layer\n');
      assert.ok(existsSync(join(mp, 'bin/busybox')));
    });
    // A history that does not match the layers is refused before anything is stored.
    await assert.rejects(s.svc.createImage({ base, layers: [], history: [{ created_by: 'RUN x' }] }), code('EINVALID_ARGUMENT', /1 steps that made a layer, but 0/));
  });
});

test('save → load round trip: several images and tags, one saved by id; ids, names, layers, runnable', { skip }, async () => {
  const a = stateRoot('save-src');
  const b = stateRoot('save-dst');
  try {
    const one = (await a.svc.import({ path: rootfsTar }, { name: 'multi/one:1', sink: a.sink })).record;
    await a.svc.tag('multi/one:1', 'multi/one:latest');
    await a.svc.tag('multi/one:1', 'other/name:x');
    const extra = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/two', content: 'two' }]);
    const two = (await a.svc.createImage({ base: one, layers: [{ tar: Readable.from([extra]) }], sink: a.sink })).record;
    const file = join(work, 'round-trip.tar');
    const saved = await a.svc.save(['multi/one', 'other/name:x', two.id.slice(7, 19)], { path: file });
    assert.equal(saved.length, 2);
    assert.deepEqual(saved[0]!.names.sort(), ['docker.io/multi/one:1', 'docker.io/multi/one:latest', 'docker.io/other/name:x']);
    assert.deepEqual(saved[1]!.names, []);
    const events: string[] = [];
    const loaded = await b.svc.load({ path: file }, { sink: b.sink, onEvent: (e) => events.push(e.type) });
    assert.deepEqual(loaded.map((l) => l.id), [one.id, two.id]);
    assert.ok(events.includes('image-loaded'));
    const [byOne, byTwo] = [await b.svc.inspect('multi/one:latest'), await b.svc.resolve(two.id)];
    assert.equal(byOne.record.id, one.id);
    assert.deepEqual(byOne.names.sort(), ['docker.io/multi/one:1', 'docker.io/multi/one:latest', 'docker.io/other/name:x']);
    assert.equal(byTwo.name, two.id, 'saved by id: loaded without a name');
    assert.deepEqual(byTwo.layers.map((l) => l.diffId), two.layers.map((l) => l.diffId));
    await withImageMount(b, byTwo.layers[1]!.chainId, 'loaded', (mp) => {
      assert.equal(readFileSync(join(mp, 'etc/two'), 'utf8'), 'two');
      assert.ok(existsSync(join(mp, 'bin/busybox')));
    });
    // Loading again changes nothing and fetches nothing new.
    const again: string[] = [];
    await b.svc.load({ path: file }, { sink: b.sink, onEvent: (e) => again.push(e.type) });
    assert.ok(!again.includes('blob-copying') && !again.includes('layer-extracting'), again.join(','));
    // A gzip'd archive, from a stream, loads too.
    const c = stateRoot('save-gz');
    try {
      const loadedGz = await c.svc.load({ stream: Readable.from([gzipSync(readFileSync(file))]) }, { sink: c.sink });
      assert.deepEqual(loadedGz.map((l) => l.id), [one.id, two.id]);
    } finally {
      c.cleanup();
    }
  } finally {
    a.cleanup();
    b.cleanup();
  }
});

test('save streams to a writable and as oci-archive; a failing save leaves no file', { skip }, async () => {
  await withState('save-stream', async (s) => {
    await s.svc.import({ path: rootfsTar }, { name: 'stream/me:1', sink: s.sink });
    const chunks: Buffer[] = [];
    const sink = new (await import('node:stream')).Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    });
    await s.svc.save(['stream/me:1'], { stream: sink }, { format: 'oci-archive' });
    const entries = await readTarFile(Buffer.concat(chunks));
    const index = JSON.parse(entries.get('index.json')!.content.toString()) as { manifests: { annotations: Record<string, string> }[] };
    assert.deepEqual(index.manifests[0]!.annotations, { 'io.containerd.image.name': 'docker.io/stream/me:1', 'org.opencontainers.image.ref.name': '1' });
    const target = join(work, 'never.tar');
    await assert.rejects(s.svc.save(['no/such:image'], { path: target }), code('ENOT_FOUND'));
    assert.ok(!existsSync(target));
  });
});

test('oci: layout directories: copy out, add a second ref, copy back in with the same manifest digest', { skip }, async () => {
  const a = stateRoot('oci-src');
  const b = stateRoot('oci-dst');
  try {
    const img = (await a.svc.import({ path: rootfsTar }, { name: 'layout/img:1', sink: a.sink })).record;
    const dir = join(work, 'layout-dir');
    const r1 = await a.svc.copy('berth:layout/img:1', `oci:${dir}:v1`);
    assert.equal(r1.manifestDigest, img.manifest.digest, 'blobs and manifest kept byte for byte');
    await a.svc.copy('berth:layout/img:1', `oci:${dir}:v2`);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
    assert.deepEqual(index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']), ['v1', 'v2']);
    await a.svc.copy('berth:layout/img:1', `oci:${dir}:v1`);
    assert.equal((JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: unknown[] }).manifests.length, 2, 'same ref replaced');
    const r2 = await b.svc.copy(`oci:${dir}:v2`, 'berth:copied/img:2', { sink: b.sink });
    const rec = await b.svc.resolve('copied/img:2');
    assert.equal(rec.manifest.digest, img.manifest.digest);
    assert.equal(r2.id, img.id);
    assert.ok(b.snapshotter.hasLayer(rec.layers[0]!.chainId));
    // Copied without unpacking, the store does not know the layer's uncompressed size: save
    // decompresses it once into scratch space to write the docker-archive.
    const c = stateRoot('oci-nosink');
    try {
      await c.svc.copy(`oci:${dir}:v1`, 'berth:nosink/img:1');
      assert.equal(c.snapshotter.listLayers().length, 0);
      assert.deepEqual(await c.svc.images.diffSizes(), {});
      const saved = join(work, 'nosink.tar');
      await c.svc.save(['nosink/img:1'], { path: saved });
      const entries = await readTarFile(saved);
      const manifest = JSON.parse(entries.get('manifest.json')!.content.toString()) as { Layers: string[] }[];
      const blob = readFileSync(c.svc.content.blobPath(img.layers[0]!.digest));
      assert.ok(entries.get(manifest[0]!.Layers[0]!)!.content.equals(gunzipSync(blob)));
      assert.deepEqual(readdirSync(join(c.root, 'tmp')), [], 'scratch space cleaned');
    } finally {
      c.cleanup();
    }
    await assert.rejects(b.svc.copy(`oci:${dir}`, 'berth:x:y'), code('EINVALID_ARGUMENT', /holds 2 images/));
    await assert.rejects(b.svc.copy(`oci:${dir}:v9`, 'berth:x:y'), code('ENOT_FOUND', /no image named "v9"/));
    // A symlinked index.json is refused (the layout is read without following symlinks).
    const evil = join(work, 'evil-layout');
    await a.svc.copy('berth:layout/img:1', `oci:${evil}:v1`);
    rmSync(join(evil, 'index.json'));
    symlinkSync('/etc/passwd', join(evil, 'index.json'));
    await assert.rejects(b.svc.copy(`oci:${evil}:v1`, 'berth:x:y'), code('EUNSAFE_ARCHIVE', /symlink/));
  } finally {
    a.cleanup();
    b.cleanup();
  }
});

test('export: a tar of a mounted rootfs, symlinks archived as symlinks, hard links kept', { skip }, async () => {
  await withState('export', async (s) => {
    const { record } = await s.svc.import({ path: rootfsTar }, { name: 'export/me:1', sink: s.sink });
    await s.snapshotter.prepare('export-c', record.layers[0]!.chainId);
    const mp = await s.snapshotter.mount('export-c');
    try {
      symlinkSync('/etc/shadow', join(mp, 'root/escape'));
      writeFileSync(join(mp, 'root/file'), 'payload');
      (await import('node:fs')).linkSync(join(mp, 'root/file'), join(mp, 'root/hardlink'));
      const chunks: Buffer[] = [];
      for await (const c of exportRootfs(mp) as AsyncIterable<Buffer>) chunks.push(c);
      const entries = await readTarFile(Buffer.concat(chunks));
      assert.ok(entries.get('bin/busybox')!.content.equals(readFileSync('/bin/busybox')));
      assert.equal(entries.get('bin/sh')!.type, 'symlink');
      assert.equal(entries.get('root/escape')!.type, 'symlink');
      assert.equal(entries.get('root/escape')!.linkname, '/etc/shadow');
      assert.equal(entries.get('root/escape')!.content.length, 0, 'the link target was not read');
      assert.equal(entries.get('root/file')!.content.toString(), 'payload');
      assert.equal(entries.get('root/hardlink')!.type, 'link');
      assert.equal(entries.get('tmp')!.mode! & 0o7777, 0o1777);
      assert.equal(lstatSync(join(mp, 'tmp')).mode & 0o7777, 0o1777);
      // The export can be imported again as an image.
      const again = await s.svc.import({ stream: exportRootfs(mp) }, { name: 'export/again:1', sink: s.sink });
      assert.ok(s.snapshotter.hasLayer(again.record.layers[0]!.chainId));
    } finally {
      await s.snapshotter.unmount('export-c');
      await s.snapshotter.removeActive('export-c');
    }
    await assert.rejects(async () => {
      for await (const _ of exportRootfs(join(s.root, 'missing')) as AsyncIterable<Buffer>) void _;
    }, code('ENOT_FOUND', /cannot open the root filesystem/));
  });
});

test('the config of an imported image reads back through the store', { skip }, async () => {
  await withState('config', async (s) => {
    const { record } = await s.svc.import({ path: rootfsTar }, { name: 'cfg:1', platform: 'linux/arm64' });
    const config = await readImageConfig(s.svc.content, record);
    assert.equal(config.architecture, 'arm64');
    assert.equal(config.variant, 'v8');
    assert.equal(record.platform.architecture, 'arm64');
  });
});
