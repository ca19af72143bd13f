/**
 * Push and pull against a real registry (Debian's docker-registry on 127.0.0.1), with
 * images generated here: three busybox-based layers compressed with gzip, zstd and nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProgressEvent } from '../../src/core/events';
import { BerthError } from '../../src/core/errors';
import { ImageService } from '../../src/images/service';
import { MediaType } from '../../src/images/media-types';
import { REGISTRY_BIN, startProxy, startRegistry, type RunningRegistry } from '../helpers/registry';
import { RecordingSink, buildImage, buildIndex, busyboxLayers, storeImage, type BuiltImage } from '../helpers/images';

const skip = existsSync(REGISTRY_BIN) ? false : `${REGISTRY_BIN} is not installed (apt-get install docker-registry)`;
let registry: RunningRegistry;
const roots: string[] = [];

function service(): ImageService {
  const root = mkdtempSync(join(tmpdir(), 'berth-images-'));
  roots.push(root);
  return new ImageService({ root, authFile: join(root, 'auth.json'), registry: { retry: { retries: 2, baseDelayMs: 10 } } });
}

before(async () => {
  if (!skip) registry = await startRegistry();
});
after(async () => {
  await registry?.stop();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

async function pushFresh(name: string, img: BuiltImage): Promise<void> {
  const src = service();
  try {
    await storeImage(src, name, img);
    await src.push(name);
  } finally {
    src.close();
  }
}

test('push a 3-layer image (gzip, zstd, uncompressed), pull it back with an unpack sink', { skip }, async () => {
  const img = await buildImage(busyboxLayers());
  const name = `${registry.domain}/berth/busybox:v1`;
  const src = service();
  await storeImage(src, name, img);
  const pushEvents: ProgressEvent[] = [];
  const pushed = await src.push(name, { onEvent: (e) => pushEvents.push(e) });
  src.close();
  assert.equal(pushed.digest, img.manifestDigest);
  assert.equal(pushEvents.filter((e) => e.type === 'blob-pushed').length, 4, 'config and 3 layers uploaded');
  assert.deepEqual(
    pushEvents.filter((e) => e.type === 'blob-pushed' && e.config).map((e) => e.type === 'blob-pushed' && e.digest),
    [img.configDigest],
    'the config blob is marked as such',
  );

  const dst = service();
  const sink = new RecordingSink();
  const events: ProgressEvent[] = [];
  const [result] = await dst.pull(name, { sink, onEvent: (e) => events.push(e) });
  assert.ok(result);
  assert.equal(result.upToDate, false);
  assert.equal(result.record.id, img.configDigest);
  assert.equal(result.record.target.digest, img.manifestDigest);
  assert.deepEqual(result.record.layers.map((l) => l.chainId), img.chainIds);
  // Every layer was unpacked in order, with exactly its tar entries, and stored verified.
  assert.deepEqual(sink.begun.map((l) => l.index), [0, 1, 2]);
  assert.deepEqual(img.chainIds.map((c) => sink.committed.get(c)), img.layers.map((l) => l.names));
  for (const l of img.layers) assert.deepEqual(await dst.content.readBlob(l.digest, 1 << 24), l.blob);
  assert.deepEqual(sink.aborted, []);
  assert.ok(events.some((e) => e.type === 'layer-downloading'));
  assert.deepEqual(events.filter((e) => e.type === 'done').length, 1);

  const list = await dst.list();
  assert.equal(list.length, 1);
  assert.deepEqual(list[0]!.repoTags, [`${registry.domain}/berth/busybox:v1`]);
  assert.deepEqual(list[0]!.repoDigests, [`${registry.domain}/berth/busybox@${img.manifestDigest}`]);
  assert.equal(list[0]!.size, img.config.length + img.layers.reduce((n, l) => n + l.size, 0));
  assert.ok(list[0]!.unpackedSize! > 1_000_000, 'uncompressed sizes learned while verifying');
  assert.equal(list[0]!.created, '2024-05-01T12:00:00Z');

  // Pulling again: nothing is fetched, and the sink's layers are not even looked at.
  const again: ProgressEvent[] = [];
  const [second] = await dst.pull(name, { sink, onEvent: (e) => again.push(e) });
  assert.equal(second!.upToDate, true);
  assert.deepEqual(again.filter((e) => e.type.startsWith('layer-')).map((e) => e.type), ['layer-already-exists', 'layer-already-exists', 'layer-already-exists']);

  // A new sink with the blobs already stored: layers are unpacked from the content store.
  const sink2 = new RecordingSink();
  const fromStore: ProgressEvent[] = [];
  await dst.pull(name, { sink: sink2, onEvent: (e) => fromStore.push(e) });
  assert.equal(fromStore.filter((e) => e.type === 'layer-extracting').length, 3);
  assert.equal(sink2.committed.size, 3);
  dst.close();
});

test('a sink that already has the bottom layers: they are not unpacked again, but blobs the store lacks are fetched', { skip }, async () => {
  const base = await buildImage(busyboxLayers());
  const img = await buildImage([...busyboxLayers(), { compression: 'gzip', entries: [{ name: 'etc/extra', content: 'x' }] }]);
  await pushFresh(`${registry.domain}/berth/extra:1`, img);
  const proxy = await startProxy(registry.port);
  const dst = service();
  try {
    const sink = new RecordingSink();
    for (const [i, c] of base.chainIds.entries()) sink.committed.set(c, base.layers[i]!.names);
    await dst.pull(`${proxy.domain}/berth/extra:1`, { sink });
    const blobGets = (): string[] => proxy.seen.filter((s) => s.method === 'GET' && s.path.includes('/blobs/')).map((s) => s.path.split('/').pop()!);
    // The unpacked layers' blobs went with whatever brought them; push and save need them.
    assert.deepEqual(blobGets().sort(), [img.configDigest, ...img.layers.map((l) => l.digest)].sort());
    for (const l of img.layers) assert.ok(await dst.content.has(l.digest), `blob ${l.digest} stored`);
    assert.deepEqual(sink.begun.map((l) => l.index), [3], 'only the missing layer is unpacked');
    assert.equal(sink.begun[0]!.parentChainId, img.chainIds[2]);
    // Unpacked and stored: nothing is fetched again.
    proxy.seen.length = 0;
    await dst.pull(`${proxy.domain}/berth/extra:1`, { sink });
    assert.deepEqual(blobGets(), []);
    assert.deepEqual(sink.begun.map((l) => l.index), [3]);
  } finally {
    dst.close();
    await proxy.stop();
  }
});

test('parallel layer downloads stay within the concurrency bound; order of unpacking is kept', { skip }, async () => {
  const layers = Array.from({ length: 6 }, (_, i) => ({ compression: (['gzip', 'zstd', 'none'] as const)[i % 3], entries: [{ name: `f${i}`, content: Buffer.alloc(300_000 + i, i) }] }));
  const img = await buildImage(layers);
  await pushFresh(`${registry.domain}/berth/wide:1`, img);
  const proxy = await startProxy(registry.port);
  const dst = service();
  try {
    const sink = new RecordingSink();
    await dst.pull(`${proxy.domain}/berth/wide:1`, { sink, concurrency: 2 });
    assert.ok(proxy.maxConcurrentBlobGets <= 2, `at most 2 blob downloads at once (saw ${proxy.maxConcurrentBlobGets})`);
    assert.deepEqual(sink.begun.map((l) => l.index), [0, 1, 2, 3, 4, 5]);
    assert.equal(sink.committed.size, 6);
  } finally {
    dst.close();
    await proxy.stop();
  }
});

test('Docker v2 schema 2 image; multi-platform index with --platform selection', { skip }, async () => {
  const amd = await buildImage(busyboxLayers('amd'), { docker: true });
  await pushFresh(`${registry.domain}/berth/docker:1`, amd);
  const dst = service();
  const [r] = await dst.pull(`${registry.domain}/berth/docker:1`);
  assert.equal(r!.record.manifest.mediaType, MediaType.dockerManifest);

  const x86 = await buildImage(busyboxLayers('x86'), { architecture: 'amd64' });
  const arm = await buildImage(busyboxLayers('arm'), { architecture: 'arm64', variant: 'v8' });
  const index = buildIndex([
    { img: x86, os: 'linux', architecture: 'amd64' },
    { img: arm, os: 'linux', architecture: 'arm64', variant: 'v8' },
  ]);
  const src = service();
  await storeImage(src, `${registry.domain}/berth/multi:1`, x86, index);
  for (const l of arm.layers) await src.content.writeBlob(l.blob);
  await src.content.writeBlob(arm.config);
  await src.content.writeBlob(arm.manifest);
  const pushed = await src.push(`${registry.domain}/berth/multi:1`);
  src.close();
  assert.equal(pushed.digest, index.digest, 'the whole index was pushed');

  const warnings: ProgressEvent[] = [];
  const foreign = await buildImage(busyboxLayers('s390x-only'), { architecture: 's390x' });
  await pushFresh(`${registry.domain}/berth/s390x-only:1`, foreign);
  await dst.pull(`${registry.domain}/berth/s390x-only:1`, { onEvent: (e) => e.type === 'warning' && warnings.push(e) });
  assert.match(JSON.stringify(warnings), /platform \(linux\/s390x\) does not match the host/);
  const [armPull] = await dst.pull(`${registry.domain}/berth/multi:1`, { platform: 'linux/arm64' });
  assert.equal(armPull!.record.id, arm.configDigest);
  assert.equal(armPull!.record.target.digest, index.digest);
  assert.equal(armPull!.record.manifest.digest, arm.manifestDigest);
  assert.deepEqual(armPull!.record.platform, { os: 'linux', architecture: 'arm64', variant: 'v8' });
  await assert.rejects(dst.pull(`${registry.domain}/berth/multi:1`, { platform: 'linux/s390x' }), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND' && /linux\/s390x/.test(e.message) && /linux\/arm64\/v8/.test(e.hint ?? ''));
  await assert.rejects(dst.pull(`${registry.domain}/berth/docker:1`, { platform: 'linux/arm64' }), /not for the requested linux\/arm64/);
  // By digest: recorded under repo@digest.
  const [byDigest] = await dst.pull(`${registry.domain}/berth/multi@${index.digest}`, { platform: 'linux/amd64' });
  assert.equal(byDigest!.record.name, `${registry.domain}/berth/multi@${index.digest}`);
  assert.equal(byDigest!.record.id, x86.configDigest);
  dst.close();
});

test('pull --all-tags', { skip }, async () => {
  await pushFresh(`${registry.domain}/berth/tags:a`, await buildImage(busyboxLayers('a')));
  await pushFresh(`${registry.domain}/berth/tags:b`, await buildImage(busyboxLayers('b')));
  const dst = service();
  const results = await dst.pull(`${registry.domain}/berth/tags`, { allTags: true });
  assert.deepEqual(results.map((r) => r.record.name), [`${registry.domain}/berth/tags:a`, `${registry.domain}/berth/tags:b`]);
  dst.close();
});

test('unknown repository or tag: not found, naming the reference and the registry', { skip }, async () => {
  const dst = service();
  await assert.rejects(dst.pull(`${registry.domain}/berth/nothing:here`), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND' && e.message.includes(`${registry.domain}/berth/nothing:here`) && e.message.includes(`registry ${registry.domain}`));
  await pushFresh(`${registry.domain}/berth/exists:1`, await buildImage(busyboxLayers()));
  await assert.rejects(dst.pull(`${registry.domain}/berth/exists:2`), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND' && e.message.includes('exists:2'));
  await assert.rejects(dst.push(`${registry.domain}/berth/not-local:1`), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND' && /no such image/.test(e.message));
  dst.close();
});

test('push: existing blobs are skipped, blobs of another repository are mounted, chunked uploads', { skip }, async () => {
  const img = await buildImage(busyboxLayers('mount'));
  const src = service();
  await storeImage(src, `${registry.domain}/berth/origin:1`, img);
  await src.push(`${registry.domain}/berth/origin:1`, { chunkSize: 256 * 1024 });
  const again: ProgressEvent[] = [];
  await src.push(`${registry.domain}/berth/origin:1`, { onEvent: (e) => again.push(e) });
  assert.equal(again.filter((e) => e.type === 'blob-already-exists').length, 4);

  // Pulled from berth/origin, tagged into berth/copy: the push mounts instead of uploading.
  const dst = service();
  await dst.pull(`${registry.domain}/berth/origin:1`);
  await dst.tag(`${registry.domain}/berth/origin:1`, `${registry.domain}/berth/copy:1`);
  const events: ProgressEvent[] = [];
  const r = await dst.push(`${registry.domain}/berth/copy:1`, { onEvent: (e) => events.push(e) });
  assert.equal(r.digest, img.manifestDigest);
  assert.equal(events.filter((e) => e.type === 'blob-mounted').length, 4);
  assert.equal(events.filter((e) => e.type === 'blob-pushing').length, 0);
  const check = service();
  const sink = new RecordingSink();
  await check.pull(`${registry.domain}/berth/copy:1`, { sink });
  assert.equal(sink.committed.size, 3);
  src.close();
  dst.close();
  check.close();
});

test('image records: tag, names by id/prefix/digest, rmi, dangling, prune, GC, history, inspect, df', { skip }, async () => {
  const v1 = await buildImage(busyboxLayers('r1'));
  const v2 = await buildImage(busyboxLayers('r2'), { created: '2025-01-01T00:00:00Z' });
  const name = `${registry.domain}/berth/rec:latest`;
  await pushFresh(name, v1);
  const svc = service();
  await svc.pull(name);
  await svc.tag(name, 'local/alias:1');
  const hex = v1.configDigest.slice(7);
  assert.equal((await svc.resolve(hex.slice(0, 12))).id, v1.configDigest);
  assert.equal((await svc.resolve(v1.manifestDigest)).id, v1.configDigest);
  assert.equal((await svc.resolve('local/alias:1')).id, v1.configDigest);
  assert.equal((await svc.resolve(`${registry.domain}/berth/rec@${v1.manifestDigest}`)).id, v1.configDigest);
  assert.deepEqual((await svc.list())[0]!.repoTags, [`${registry.domain}/berth/rec:latest`, 'local/alias:1']);
  await assert.rejects(svc.remove([hex.slice(0, 12)]), /referenced by 2 names/);

  const inspect = await svc.inspect('local/alias:1');
  assert.deepEqual(inspect.config.rootfs.diff_ids, v1.layers.map((l) => l.diffId));
  assert.equal(inspect.names.length, 2);
  const history = await svc.history('local/alias:1');
  assert.equal(history.length, 3);
  assert.equal(history[0]!.id, v1.configDigest);
  assert.equal(history[0]!.createdBy, `layer 2 (${MediaType.ociLayer})`);

  // The tag moves to v2: v1 stays as a dangling image only if no other name keeps it.
  await pushFresh(name, v2);
  await svc.pull(name);
  assert.equal((await svc.list({ danglingOnly: true })).length, 0, 'local/alias:1 still names v1');
  const rm = await svc.remove(['local/alias:1']);
  assert.deepEqual(rm.untagged, ['local/alias:1']);
  assert.deepEqual(rm.deleted, [v1.configDigest], 'its last name went: the image is deleted');
  const usage = await svc.df();
  assert.equal(usage.images.count, 1);
  assert.equal(usage.content.unreferencedBytes, 0, 'GC after rmi removed v1-only blobs');
  assert.equal(await svc.content.has(v1.layers[2]!.digest), false);
  assert.equal(await svc.content.has(v1.layers[0]!.digest), true, 'shared layer kept');

  // Re-pull v1 under the name, then move the tag away again: now v1 is dangling.
  await pushFresh(name, v1);
  await svc.pull(name);
  await pushFresh(name, v2);
  await svc.pull(name);
  const dangling = await svc.list({ danglingOnly: true });
  assert.equal(dangling.length, 1);
  assert.equal(dangling[0]!.id, v1.configDigest);
  const dry = await svc.prune({ dryRun: true });
  assert.deepEqual(dry.deleted, [v1.configDigest]);
  assert.ok(dry.gc.removed.some((b) => b.digest === v1.configDigest), 'the dry run reports the blobs the prune would free');
  assert.equal(await svc.content.has(v1.configDigest), true, 'dry run deletes nothing');
  const pruned = await svc.prune();
  assert.deepEqual(pruned.deleted, [v1.configDigest]);
  assert.ok(pruned.gc.removed.some((b) => b.digest === v1.configDigest));
  assert.equal((await svc.list()).length, 1);
  const rmLast = await svc.remove([name]);
  assert.deepEqual(rmLast.deleted, [v2.configDigest]);
  assert.deepEqual(readdirSync(join(svc.root, 'content', 'blobs', 'sha256')), []);
  svc.close();
});

test('a loopback registry serving TLS with a self-signed certificate is used over HTTPS', { skip }, async () => {
  const tls = await startRegistry({ kind: 'none' }, { tls: true });
  try {
    const img = await buildImage(busyboxLayers('tls'));
    const name = `${tls.domain}/berth/tls:1`;
    const src = service();
    await storeImage(src, name, img);
    await src.push(name);
    assert.equal((await src.client.endpoint(tls.domain)).origin, `https://${tls.domain}`);
    src.close();
    const dst = service();
    const sink = new RecordingSink();
    await dst.pull(name, { sink });
    assert.equal(sink.committed.size, 3);
    assert.equal((await dst.client.endpoint(registry.domain)).origin, `http://${registry.domain}`, 'plain HTTP where TLS is not spoken');
    dst.close();
  } finally {
    await tls.stop();
  }
});
