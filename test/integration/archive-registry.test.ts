/**
 * image copy between a real registry (Debian's docker-registry on 127.0.0.1) and the other
 * transports: local store → registry → OCI layout → docker-archive → local store, digests
 * checked at each step; a multi-platform index in the registry is copied as the host's
 * manifest; a registry serving corrupt blobs publishes nothing at the destination.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../src/core/errors';
import { hostPlatform } from '../../src/images/platform';
import { archiveSkipReason, stateRoot, withImageMount } from '../helpers/archive-env';
import { buildImage, buildIndex, busyboxLayers, storeImage } from '../helpers/images';
import { REGISTRY_BIN, startProxy, startRegistry, type RunningRegistry } from '../helpers/registry';

const skip = archiveSkipReason() || (!existsSync(REGISTRY_BIN) ? `${REGISTRY_BIN} is not installed (apt-get install docker-registry)` : false);
let registry: RunningRegistry;
let work: string;

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'berth-archive-registry-'));
  registry = await startRegistry();
});
after(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof BerthError && e.code === c && (!re || re.test(e.message));

test('berth → registry → oci: → docker-archive: → berth, digests kept where the format allows', { skip }, async () => {
  const a = stateRoot('registry-src');
  const b = stateRoot('registry-dst');
  try {
    const img = await buildImage(busyboxLayers('registry'));
    await storeImage(a.svc, 'chain/start:1', img);
    const ref = `${registry.domain}/archive/chain:1`;
    const pushed = await a.svc.copy('berth:chain/start:1', `docker://${ref}`);
    assert.equal(pushed.manifestDigest, img.manifestDigest, 'the manifest went to the registry byte for byte');
    const events: string[] = [];
    await a.svc.copy('berth:chain/start:1', `docker://${ref}`, { onEvent: (e) => events.push(e.type) });
    assert.ok(!events.includes('blob-copying'), 'blobs the registry has are not sent again');

    const dir = join(work, 'from-registry');
    const toOci = await b.svc.copy(`docker://${ref}`, `oci:${dir}:v1`);
    assert.equal(toOci.manifestDigest, img.manifestDigest);
    assert.ok(readdirSync(join(dir, 'blobs', 'sha256')).includes(img.layers[1]!.digest.slice(7)), 'the zstd layer blob kept as it is');

    const archive = join(work, 'from-oci.tar');
    await b.svc.copy(`oci:${dir}:v1`, `docker-archive:${archive}:archive/chain:1`);
    const r = await b.svc.copy(`docker-archive:${archive}`, 'berth:chain/end:1', { sink: b.sink });
    assert.equal(r.id, img.configDigest, 'the config (image id) survives every format');
    const rec = await b.svc.resolve('chain/end:1');
    assert.deepEqual(rec.layers.map((l) => l.diffId), img.layers.map((l) => l.diffId));
    await withImageMount(b, rec.layers[2]!.chainId, 'chain-end', (mp) => {
      assert.equal(readFileSync(join(mp, 'etc/hello'), 'utf8'), 'hello from berth registry\n');
    });
    // And back into a registry from the docker-archive (its made-up OCI manifest).
    const back = await b.svc.copy(`docker-archive:${archive}`, `docker://${registry.domain}/archive/back:1`);
    const pulled = stateRoot('registry-pull-back');
    try {
      const [p] = await pulled.svc.pull(`${registry.domain}/archive/back:1`, { sink: pulled.sink });
      assert.equal(p!.record.id, img.configDigest);
      assert.equal(p!.record.manifest.digest, back.manifestDigest);
    } finally {
      pulled.cleanup();
    }
    if (existsSync('/usr/bin/skopeo')) {
      const inspect = spawnSync('/usr/bin/skopeo', ['inspect', '--tls-verify=false', `docker://${registry.domain}/archive/back:1`], { encoding: 'utf8' });
      assert.equal(inspect.status, 0, inspect.stderr);
      assert.equal((JSON.parse(inspect.stdout) as { Digest: string }).Digest, back.manifestDigest);
    }
  } finally {
    a.cleanup();
    b.cleanup();
  }
});

test('a multi-platform index in the registry: copy takes the host platform (or --platform) manifest', { skip }, async () => {
  const a = stateRoot('registry-index');
  try {
    const host = hostPlatform();
    const other = host.architecture === 'arm64' ? 'amd64' : 'arm64';
    const mine = await buildImage(busyboxLayers('host'), { architecture: host.architecture });
    const theirs = await buildImage(busyboxLayers('other'), { architecture: other });
    const index = buildIndex([{ img: mine, os: 'linux', architecture: host.architecture }, { img: theirs, os: 'linux', architecture: other }]);
    await storeImage(a.svc, 'multi/arch:1', mine, index);
    // Push the index with both platforms' content: store the other image too, then push.
    await storeImage(a.svc, 'multi/other:1', theirs);
    await a.svc.tag('multi/arch:1', `${registry.domain}/archive/multi:1`);
    await a.svc.push(`${registry.domain}/archive/multi:1`);
    const dir = join(work, 'multi');
    const r = await a.svc.copy(`docker://${registry.domain}/archive/multi:1`, `oci:${dir}:host`);
    assert.equal(r.manifestDigest, mine.manifestDigest);
    const r2 = await a.svc.copy(`docker://${registry.domain}/archive/multi:1`, `oci:${dir}:other`, { platform: `linux/${other}` });
    assert.equal(r2.manifestDigest, theirs.manifestDigest);
  } finally {
    a.cleanup();
  }
});

test('a registry that serves a corrupt layer: the copy fails with EDIGEST and writes nothing', { skip }, async () => {
  const a = stateRoot('registry-corrupt');
  const b = stateRoot('registry-corrupt-dst');
  const proxy = await startProxy(registry.port);
  try {
    const img = await buildImage(busyboxLayers('corrupt'));
    await storeImage(a.svc, 'corrupt/img:1', img);
    await a.svc.copy('berth:corrupt/img:1', `docker://${registry.domain}/archive/corrupt:1`);
    const target = img.layers[0]!.digest;
    proxy.hooks.response = (req, upstream, res) => {
      if (req.method !== 'GET' || !req.path.endsWith(`/blobs/${target}`) || upstream.statusCode !== 200) return false;
      const chunks: Buffer[] = [];
      upstream.on('data', (c: Buffer) => chunks.push(c));
      upstream.on('end', () => {
        const body = Buffer.concat(chunks);
        body.fill(0x55, body.length - 8); // same length, other bytes
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        res.end(body);
      });
      return true;
    };
    const via = `${proxy.domain}/archive/corrupt:1`;
    const archive = join(work, 'corrupt.tar');
    await assert.rejects(b.svc.copy(`docker://${via}`, `docker-archive:${archive}`), code('EDIGEST', new RegExp(target)));
    assert.ok(!existsSync(archive), 'no archive published');
    const dir = join(work, 'corrupt-oci');
    await assert.rejects(b.svc.copy(`docker://${via}`, `oci:${dir}:v1`), code('EDIGEST'));
    assert.ok(!existsSync(dir), 'no layout published');
    await assert.rejects(b.svc.copy(`docker://${via}`, 'berth:corrupt/copy:1', { sink: b.sink }), code('EDIGEST'));
    assert.deepEqual(await b.svc.images.list(), []);
    assert.deepEqual(await b.svc.content.list(), []);
    assert.deepEqual(b.snapshotter.listLayers(), []);
  } finally {
    await proxy.stop();
    a.cleanup();
    b.cleanup();
  }
});
