/**
 * Failures served on purpose by a proxy in front of a real registry — wrong blob content,
 * truncated blobs, manifests not matching their digest, diff_id mismatches, a gzip bomb —
 * and interrupted downloads that resume by offset. Each failure must name what failed,
 * commit nothing (no blob under a final name, no image record, sink aborted) and stream.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import type { ProgressEvent } from '../../src/core/events';
import { BerthError } from '../../src/core/errors';
import { digestOf } from '../../src/content/digest';
import { ImageService } from '../../src/images/service';
import { MediaType } from '../../src/images/media-types';
import { REGISTRY_BIN, startProxy, startRegistry, type ProxyRequest, type RunningProxy, type RunningRegistry } from '../helpers/registry';
import { RecordingSink, buildImage, busyboxLayers, storeImage, type BuiltImage } from '../helpers/images';

const skip = existsSync(REGISTRY_BIN) ? false : `${REGISTRY_BIN} is not installed (apt-get install docker-registry)`;
let registry: RunningRegistry;
let proxy: RunningProxy;
let img: BuiltImage;
const roots: string[] = [];
const NAME = 'berth/integrity:1';

function service(retries = 2): ImageService {
  const root = mkdtempSync(join(tmpdir(), 'berth-integrity-'));
  roots.push(root);
  return new ImageService({ root, authFile: join(root, 'auth.json'), registry: { retry: { retries, baseDelayMs: 5 } } });
}

before(async () => {
  if (skip) return;
  registry = await startRegistry();
  proxy = await startProxy(registry.port);
  img = await buildImage(busyboxLayers('integrity'));
  const src = service();
  await storeImage(src, `${registry.domain}/${NAME}`, img);
  await src.push(`${registry.domain}/${NAME}`);
  src.close();
});
after(async () => {
  await proxy?.stop();
  await registry?.stop();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const big = (): BuiltImage['layers'][number] => img.layers[0]!; // the gzip'd busybox binary, ~1 MB

function blobsIn(svc: ImageService): string[] {
  const dir = join(svc.root, 'content', 'blobs', 'sha256');
  return existsSync(dir) ? readdirSync(dir).map((h) => `sha256:${h}`) : [];
}

/** Passes a response through with `edit` applied to the whole body (small bodies only). */
function rewrite(upstream: IncomingMessage, res: ServerResponse, edit: (b: Buffer) => Buffer, headers: Record<string, string> = {}): void {
  const chunks: Buffer[] = [];
  upstream.on('data', (c: Buffer) => chunks.push(c));
  upstream.on('end', () => {
    const body = edit(Buffer.concat(chunks));
    res.writeHead(upstream.statusCode ?? 200, { ...upstream.headers, 'content-length': String(body.length), ...headers });
    res.end(body);
  });
}

/** Sends the headers and the first `n` bytes of the body, then cuts the connection. */
function cutAfter(upstream: IncomingMessage, res: ServerResponse, n: number): void {
  res.writeHead(upstream.statusCode ?? 200, upstream.headers);
  let sent = 0;
  upstream.on('data', (c: Buffer) => {
    if (sent >= n) return;
    const part = c.subarray(0, n - sent);
    sent += part.length;
    res.write(part);
    if (sent >= n) {
      upstream.destroy();
      res.socket?.destroy();
    }
  });
}

const isBlob = (req: ProxyRequest, digest: string): boolean => req.method === 'GET' && req.path.endsWith(`/blobs/${digest}`);

function resetProxy(): void {
  proxy.hooks = {};
  proxy.seen.length = 0;
}

async function expectNothingCommitted(svc: ImageService, sink: RecordingSink, layerDigest: string): Promise<void> {
  assert.equal(blobsIn(svc).includes(layerDigest), false, 'no blob under its final name');
  assert.deepEqual(await svc.list(), [], 'no image record');
  assert.equal(sink.committed.has(img.chainIds[0]!) && layerDigest === big().digest, false, 'the layer was not committed to the sink');
}

test('wrong blob content: EDIGEST naming the digest, nothing committed', { skip }, async () => {
  resetProxy();
  proxy.hooks.response = (req, up, res) => {
    if (!isBlob(req, big().digest)) return false;
    rewrite(up, res, (b) => {
      const c = Buffer.from(b);
      c[c.length >> 1] ^= 0xff;
      return c;
    });
    return true;
  };
  const svc = service();
  const sink = new RecordingSink();
  await assert.rejects(svc.pull(`${proxy.domain}/${NAME}`, { sink }), (e: unknown) => e instanceof BerthError && e.code === 'EDIGEST' && e.message.includes(big().digest));
  await expectNothingCommitted(svc, sink, big().digest);
  assert.ok(sink.aborted.includes(img.chainIds[0]!), 'sink aborted');
  assert.deepEqual(await svc.content.ingests(), [], 'wrong data is not kept for resuming');
  svc.close();
});

test('truncated blob: EDIGEST naming the digest and the registry', { skip }, async () => {
  resetProxy();
  proxy.hooks.response = (req, up, res) => {
    if (!isBlob(req, big().digest)) return false;
    rewrite(up, res, (b) => b.subarray(0, b.length - 1000));
    return true;
  };
  const svc = service();
  const sink = new RecordingSink();
  await assert.rejects(svc.pull(`${proxy.domain}/${NAME}`, { sink }), (e: unknown) => e instanceof BerthError && e.code === 'EDIGEST' && e.message.includes(big().digest) && e.message.includes(proxy.domain));
  await expectNothingCommitted(svc, sink, big().digest);
  svc.close();
});

test('manifest not matching its digest (by tag and by digest): EDIGEST, nothing stored', { skip }, async () => {
  resetProxy();
  proxy.hooks.response = (req, up, res) => {
    if (!req.path.includes('/manifests/')) return false;
    rewrite(up, res, (b) => Buffer.concat([b, Buffer.from(' ')]));
    return true;
  };
  const svc = service();
  await assert.rejects(svc.pull(`${proxy.domain}/${NAME}`), (e: unknown) => e instanceof BerthError && e.code === 'EDIGEST' && /manifest of .*integrity:1.* does not match its digest/.test(e.message) && e.message.includes(proxy.domain));
  await assert.rejects(svc.pull(`${proxy.domain}/berth/integrity@${img.manifestDigest}`), (e: unknown) => e instanceof BerthError && e.code === 'EDIGEST' && e.message.includes(img.manifestDigest));
  assert.deepEqual(blobsIn(svc), []);
  svc.close();
});

test('oversized manifest: refused without reading it all', { skip }, async () => {
  resetProxy();
  proxy.hooks.response = (req, up, res) => {
    if (!req.path.includes('/manifests/')) return false;
    up.resume();
    res.writeHead(200, { 'content-type': MediaType.ociManifest, 'content-length': String(64 * 1024 * 1024) });
    res.write(Buffer.alloc(1024, 32));
    return true;
  };
  const svc = service();
  await assert.rejects(svc.pull(`${proxy.domain}/${NAME}`), (e: unknown) => e instanceof BerthError && e.code === 'ELIMIT' && /manifest/.test(e.message));
  svc.close();
});

test('diff_id mismatch: EDIGEST naming the layer, nothing committed', { skip }, async () => {
  resetProxy();
  const bad = await buildImage(busyboxLayers('bad-diff'), { wrongDiffIdAt: 1 });
  const src = service();
  await storeImage(src, `${registry.domain}/berth/bad-diff:1`, bad);
  await src.push(`${registry.domain}/berth/bad-diff:1`);
  src.close();
  const svc = service();
  const sink = new RecordingSink();
  await assert.rejects(
    svc.pull(`${registry.domain}/berth/bad-diff:1`, { sink }),
    (e: unknown) => e instanceof BerthError && e.code === 'EDIGEST' && e.message.includes(bad.layers[1]!.digest) && /diff_id/.test(e.message),
  );
  assert.equal(blobsIn(svc).includes(bad.layers[1]!.digest), false);
  assert.deepEqual(await svc.list(), []);
  assert.equal(sink.committed.has(bad.chainIds[1]!), false);
  svc.close();
});

/** A layer that is a tar of one file of `size` zero bytes, gzipped (streamed, never in memory). */
async function gzipBomb(size: number): Promise<{ blob: Buffer; diffId: string }> {
  const pack = tar.pack();
  const gz = createGzip({ level: 9 });
  const tarHash = createHash('sha256');
  const out: Buffer[] = [];
  pack.on('data', (c: Buffer) => tarHash.update(c));
  pack.pipe(gz);
  gz.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((r) => gz.on('end', r));
  const entry = pack.entry({ name: 'zeros', size, mode: 0o644, mtime: new Date(0) });
  const chunk = Buffer.alloc(1 << 20);
  for (let left = size; left > 0; left -= chunk.length) {
    if (!entry.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) await new Promise((r) => entry.once('drain', r));
  }
  entry.end();
  pack.finalize();
  await done;
  return { blob: Buffer.concat(out), diffId: `sha256:${tarHash.digest('hex')}` };
}

test('gzip bomb: refused while streaming with ELIMIT, nothing committed, memory stays bounded', { skip }, async () => {
  resetProxy();
  const bomb = await gzipBomb(512 * 1024 * 1024);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [bomb.diffId] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MediaType.ociLayerGzip, digest: digestOf(bomb.blob), size: bomb.blob.length }],
    }),
  );
  const bombImage: BuiltImage = {
    layers: [{ mediaType: MediaType.ociLayerGzip, blob: bomb.blob, digest: digestOf(bomb.blob), size: bomb.blob.length, diffId: bomb.diffId, names: ['zeros'] }],
    config,
    configDigest: digestOf(config),
    manifest,
    manifestDigest: digestOf(manifest),
    manifestType: MediaType.ociManifest,
    chainIds: [bomb.diffId],
  };
  const src = service();
  await storeImage(src, `${registry.domain}/berth/bomb:1`, bombImage);
  await src.push(`${registry.domain}/berth/bomb:1`);
  src.close();

  const svc = service();
  const sink = new RecordingSink();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sample = (): void => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  };
  await assert.rejects(
    svc.pull(`${registry.domain}/berth/bomb:1`, { sink, onEvent: sample }),
    (e: unknown) => e instanceof BerthError && e.code === 'ELIMIT' && e.message.includes(digestOf(bomb.blob)) && /expands more than/.test(e.message),
  );
  sample();
  assert.ok(rssPeak - rssBefore < 256 * 1024 * 1024, `memory grew by ${rssPeak - rssBefore} bytes for a 512 MiB bomb`);
  assert.equal(blobsIn(svc).includes(digestOf(bomb.blob)), false);
  assert.deepEqual(await svc.content.ingests(), []);
  assert.deepEqual(sink.aborted, [bomb.diffId]);
  svc.close();
});

test('a download cut mid-layer resumes from the kept offset in the next pull (Range request)', { skip }, async () => {
  resetProxy();
  let cuts = 0;
  proxy.hooks.response = (req, up, res) => {
    if (!isBlob(req, big().digest) || cuts > 0) return false;
    cuts++;
    cutAfter(up, res, 300_000);
    return true;
  };
  const svc = service(0); // no retries: the cut fails this pull
  const sink = new RecordingSink();
  await assert.rejects(svc.pull(`${proxy.domain}/${NAME}`, { sink }), (e: unknown) => e instanceof BerthError && e.code === 'ENETWORK' && e.message.includes(big().digest));
  assert.equal(blobsIn(svc).includes(big().digest), false, 'nothing partial under a final name');
  const kept = (await svc.content.ingests()).find((i) => i.digest === big().digest);
  assert.ok(kept && kept.offset > 0 && kept.offset <= 300_000, `partial data kept (${kept?.offset})`);
  svc.close();

  const again = new ImageService({ root: svc.root, authFile: join(svc.root, 'auth.json') });
  const events: ProgressEvent[] = [];
  await again.pull(`${proxy.domain}/${NAME}`, { sink, onEvent: (e) => events.push(e) });
  const resumed = events.find((e) => e.type === 'layer-resumed');
  assert.deepEqual(resumed, { type: 'layer-resumed', digest: big().digest, offset: kept!.offset, total: big().size });
  assert.ok(proxy.seen.some((s) => s.path.endsWith(big().digest) && s.range === `bytes=${kept!.offset}-`));
  assert.deepEqual(await again.content.readBlob(big().digest, 1 << 24), big().blob);
  assert.deepEqual(sink.committed.get(img.chainIds[0]!), big().names);
  assert.deepEqual(await again.content.ingests(), []);
  again.close();
});

test('a connection cut mid-layer is retried within the same pull from its offset', { skip }, async () => {
  resetProxy();
  let cuts = 0;
  proxy.hooks.response = (req, up, res) => {
    if (!isBlob(req, big().digest) || cuts > 0) return false;
    cuts++;
    cutAfter(up, res, 200_000);
    return true;
  };
  const svc = service(3);
  const events: ProgressEvent[] = [];
  const sink = new RecordingSink();
  await svc.pull(`${proxy.domain}/${NAME}`, { sink, onEvent: (e) => events.push(e) });
  const retry = events.find((e) => e.type === 'layer-retrying');
  assert.ok(retry && retry.type === 'layer-retrying' && retry.offset > 0 && retry.digest === big().digest);
  assert.ok(proxy.seen.some((s) => s.range === `bytes=${retry.offset}-`));
  assert.equal(sink.committed.size, 3);
  svc.close();
});

test('resuming against a server that ignores Range (200 instead of 206)', { skip }, async () => {
  resetProxy();
  let cuts = 0;
  proxy.hooks.response = (req, up, res) => {
    if (!isBlob(req, big().digest) || cuts > 0) return false;
    cuts++;
    cutAfter(up, res, 250_000);
    return true;
  };
  const svc = service(0);
  await assert.rejects(svc.pull(`${proxy.domain}/${NAME}`), /ENETWORK|failed/);
  svc.close();
  proxy.hooks.request = (req) => {
    delete req.headers.range;
  };
  const again = new ImageService({ root: svc.root, authFile: join(svc.root, 'auth.json') });
  const events: ProgressEvent[] = [];
  const sink = new RecordingSink();
  await again.pull(`${proxy.domain}/${NAME}`, { sink, onEvent: (e) => events.push(e) });
  assert.ok(events.some((e) => e.type === 'layer-resumed' && e.offset > 0));
  assert.deepEqual(await again.content.readBlob(big().digest, 1 << 24), big().blob);
  assert.equal(sink.committed.size, 3);
  again.close();
});

test('a pull cancelled through its AbortSignal keeps the partial layer; the next pull resumes', { skip }, async () => {
  resetProxy();
  // The proxy sends part of the big layer and then stalls, until the test cancels the pull.
  proxy.hooks.response = (req, up, res) => {
    if (!isBlob(req, big().digest)) return false;
    res.writeHead(up.statusCode ?? 200, up.headers);
    let sent = 0;
    up.on('data', (c: Buffer) => {
      if (sent >= 150_000) {
        up.pause();
        return;
      }
      sent += c.length;
      res.write(c);
    });
    res.on('close', () => up.destroy());
    return true;
  };
  const svc = service();
  const controller = new AbortController();
  await assert.rejects(
    svc.pull(`${proxy.domain}/${NAME}`, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'layer-downloading' && e.digest === big().digest && e.current >= 64 * 1024) controller.abort();
      },
    }),
    (e: unknown) => e instanceof BerthError && e.code === 'EABORTED',
  );
  const kept = (await svc.content.ingests()).find((i) => i.digest === big().digest);
  assert.ok(kept && kept.offset >= 64 * 1024 && !kept.active, `partial data kept and unlocked (${JSON.stringify(kept)})`);
  assert.equal(blobsIn(svc).includes(big().digest), false);
  svc.close();
  resetProxy();
  const again = new ImageService({ root: svc.root, authFile: join(svc.root, 'auth.json') });
  const events: ProgressEvent[] = [];
  await again.pull(`${proxy.domain}/${NAME}`, { onEvent: (e) => events.push(e) });
  assert.ok(events.some((e) => e.type === 'layer-resumed' && e.offset === kept!.offset));
  assert.deepEqual(await again.content.readBlob(big().digest, 1 << 24), big().blob);
  again.close();
});

test('two concurrent pulls of the same image into one root do not corrupt each other', { skip }, async () => {
  resetProxy();
  const root = mkdtempSync(join(tmpdir(), 'berth-concurrent-'));
  roots.push(root);
  const a = new ImageService({ root, authFile: join(root, 'auth.json') });
  const b = new ImageService({ root, authFile: join(root, 'auth.json') });
  const [ra, rb] = await Promise.all([a.pull(`${proxy.domain}/${NAME}`), b.pull(`${proxy.domain}/${NAME}`)]);
  assert.equal(ra![0]!.record.id, rb![0]!.record.id);
  for (const l of img.layers) assert.deepEqual(await a.content.readBlob(l.digest, 1 << 24), l.blob);
  assert.deepEqual(await a.content.ingests(), []);
  assert.equal((await a.list()).length, 1);
  a.close();
  b.close();
});

test('5xx and 429 answers are retried with backoff; 4xx answers are not', { skip }, async () => {
  resetProxy();
  let failures = 0;
  proxy.hooks.response = (req, up, res) => {
    if (!req.path.includes('/manifests/') || failures >= 2) return false;
    failures++;
    up.resume();
    res.writeHead(failures === 1 ? 503 : 429, { 'content-type': 'text/plain', 'retry-after': '0' });
    res.end('busy');
    return true;
  };
  const svc = service(3);
  const [r] = await svc.pull(`${proxy.domain}/${NAME}`);
  assert.equal(r!.record.id, img.configDigest);
  assert.equal(proxy.seen.filter((s) => s.path.includes('/manifests/')).length, 3);

  resetProxy();
  proxy.hooks.response = (req, up, res) => {
    if (!req.path.includes('/manifests/')) return false;
    up.resume();
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: 'nope' }] }));
    return true;
  };
  await assert.rejects(svc.pull(`${proxy.domain}/${NAME}`), (e: unknown) => e instanceof BerthError && e.code === 'EREGISTRY' && /HTTP 400.*MANIFEST_INVALID: nope/.test(e.message));
  assert.equal(proxy.seen.filter((s) => s.path.includes('/manifests/')).length, 1, 'not retried');

  resetProxy();
  proxy.hooks.response = (req, up, res) => {
    if (!req.path.includes('/manifests/')) return false;
    up.resume();
    res.writeHead(502);
    res.end();
    return true;
  };
  await assert.rejects(svc.pull(`${proxy.domain}/${NAME}`), (e: unknown) => e instanceof BerthError && e.code === 'EREGISTRY' && /HTTP 502/.test(e.message) && e.message.includes(proxy.domain));
  assert.equal(proxy.seen.filter((s) => s.path.includes('/manifests/')).length, 4, 'first try and 3 retries');
  svc.close();
});

test('a registry that is not listening: ENETWORK naming the address, after retries', { skip }, async () => {
  const svc = service(1);
  const { freePort } = await import('../helpers/registry');
  const port = await freePort();
  await assert.rejects(svc.pull(`127.0.0.1:${port}/x/y:1`), (e: unknown) => e instanceof BerthError && e.code === 'ENETWORK' && e.message.includes(`127.0.0.1:${port}`));
  svc.close();
});

test('a corrupt kept prefix (torn write) fails its digest once, then the layer is fetched from zero', { skip }, async () => {
  resetProxy();
  const svc = service();
  const dir = join(svc.root, 'content', 'ingest', `sha256-${big().digest.slice(7)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ digest: big().digest, size: big().size }));
  writeFileSync(join(dir, 'data'), Buffer.alloc(100_000, 0)); // zeros where gzip data should be
  const events: ProgressEvent[] = [];
  const sink = new RecordingSink();
  await svc.pull(`${proxy.domain}/${NAME}`, { sink, onEvent: (e) => events.push(e) });
  assert.ok(events.some((e) => e.type === 'layer-resumed' && e.offset === 100_000));
  assert.ok(proxy.seen.some((s) => s.path.endsWith(big().digest) && s.range === undefined), 'fetched again from the start');
  assert.deepEqual(await svc.content.readBlob(big().digest, 1 << 24), big().blob);
  assert.deepEqual(sink.committed.get(img.chainIds[0]!), big().names);
  svc.close();
});

test('a pull process killed mid-layer leaves only ingest data; the next pull resumes it', { skip }, async () => {
  resetProxy();
  // The proxy sends part of the big layer, then stalls until the connection goes away.
  proxy.hooks.response = (req, up, res) => {
    if (!isBlob(req, big().digest)) return false;
    res.writeHead(up.statusCode ?? 200, up.headers);
    let sent = 0;
    up.on('data', (c: Buffer) => {
      if (sent >= 200_000) return void up.pause();
      sent += c.length;
      res.write(c);
    });
    res.on('close', () => up.destroy());
    return true;
  };
  const root = mkdtempSync(join(tmpdir(), 'berth-killed-'));
  roots.push(root);
  const script = `
    const { ImageService } = require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'images', 'service'))});
    new ImageService({ root: ${JSON.stringify(root)}, authFile: '/nonexistent/config.json' })
      .pull(${JSON.stringify(`${proxy.domain}/${NAME}`)})
      .catch((e) => { console.error(e); process.exit(3); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
  const exited = new Promise((r) => child.once('exit', r));
  const svc = new ImageService({ root, authFile: join(root, 'auth.json') });
  // Wait (polling, no time limit of our own) until the child has written part of the layer.
  for (;;) {
    const ing = (await svc.content.ingests()).find((i) => i.digest === big().digest);
    if (ing && ing.offset >= 100_000) break;
    if (child.exitCode !== null) throw new Error(`the pull process exited early (${child.exitCode})`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await exited;
  const kept = (await svc.content.ingests()).find((i) => i.digest === big().digest)!;
  assert.equal(kept.active, false, 'the kernel dropped the dead process lock');
  assert.equal(blobsIn(svc).includes(big().digest), false, 'nothing partial under a final name');
  assert.deepEqual(await svc.list(), []);
  resetProxy();
  const events: ProgressEvent[] = [];
  await svc.pull(`${proxy.domain}/${NAME}`, { onEvent: (e) => events.push(e) });
  assert.ok(events.some((e) => e.type === 'layer-resumed' && e.digest === big().digest && e.offset === kept.offset));
  assert.ok(proxy.seen.some((s) => s.range === `bytes=${kept.offset}-`));
  assert.deepEqual(await svc.content.readBlob(big().digest, 1 << 24), big().blob);
  svc.close();
});
