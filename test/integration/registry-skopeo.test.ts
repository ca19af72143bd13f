/**
 * Interop with an independent implementation: skopeo copies an OCI layout (as OCI, and
 * converted to Docker v2 schema 2) into the registry and Berth pulls it; Berth pushes and
 * skopeo inspects and copies it back out, verifying every digest on its side.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageService } from '../../src/images/service';
import { MediaType } from '../../src/images/media-types';
import { REGISTRY_BIN, startRegistry, type RunningRegistry } from '../helpers/registry';
import { RecordingSink, buildImage, busyboxLayers, makeTar, storeImage, writeOciLayout, type BuiltImage, type TarEntry } from '../helpers/images';

const SKOPEO = '/usr/bin/skopeo';
const skip = !existsSync(REGISTRY_BIN) ? `${REGISTRY_BIN} is not installed` : !existsSync(SKOPEO) ? `${SKOPEO} is not installed` : false;
let registry: RunningRegistry;
let img: BuiltImage;
let work: string;

function skopeo(...args: string[]): string {
  const r = spawnSync(SKOPEO, ['--insecure-policy', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function service(): ImageService {
  return new ImageService({ root: mkdtempSync(join(work, 'root-')), authFile: join(work, 'auth.json') });
}

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'berth-skopeo-'));
  registry = await startRegistry();
  img = await buildImage(busyboxLayers('skopeo'));
});
after(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('skopeo copies an OCI layout into the registry; Berth pulls it', { skip }, async () => {
  const layout = join(work, 'layout');
  writeOciLayout(layout, img, 'v1');
  skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${registry.domain}/interop/oci:v1`);
  const svc = service();
  const sink = new RecordingSink();
  const [r] = await svc.pull(`${registry.domain}/interop/oci:v1`, { sink });
  assert.equal(r!.record.id, img.configDigest);
  assert.deepEqual(img.chainIds.map((c) => sink.committed.get(c)), img.layers.map((l) => l.names));
  svc.close();
});

test('skopeo converts to Docker v2 schema 2 (zstd layers are not allowed there, so gzip ones); Berth pulls it', { skip }, async () => {
  const gz = await buildImage(busyboxLayers('v2s2').map((l) => ({ ...l, compression: 'gzip' as const })));
  const layout = join(work, 'layout-v2s2');
  writeOciLayout(layout, gz, 'v1');
  skopeo('copy', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${registry.domain}/interop/docker:v1`);
  const svc = service();
  const sink = new RecordingSink();
  const [r] = await svc.pull(`${registry.domain}/interop/docker:v1`, { sink });
  assert.equal(r!.record.manifest.mediaType, MediaType.dockerManifest);
  assert.equal(sink.committed.size, 3);
  svc.close();
});

test('skopeo copies a docker-archive (it gzips the layers itself); Berth pulls it', { skip }, async () => {
  // docker save format: manifest.json, the config and one uncompressed layer.tar per layer.
  const entries: TarEntry[] = [
    { name: `${img.configDigest.slice(7)}.json`, content: img.config },
    ...(await Promise.all(
      busyboxLayers('skopeo').map(async (l, i) => ({ name: `layer${i}/layer.tar`, content: await makeTar(l.entries) })),
    )),
    {
      name: 'manifest.json',
      content: JSON.stringify([{ Config: `${img.configDigest.slice(7)}.json`, RepoTags: ['interop/archive:v1'], Layers: [0, 1, 2].map((i) => `layer${i}/layer.tar`) }]),
    },
  ];
  const archive = join(work, 'archive.tar');
  writeFileSync(archive, await makeTar(entries));
  skopeo('copy', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${registry.domain}/interop/archive:v1`);
  const svc = service();
  const sink = new RecordingSink();
  const [r] = await svc.pull(`${registry.domain}/interop/archive:v1`, { sink });
  assert.equal(r!.record.id, img.configDigest, 'same config, so same image id');
  assert.deepEqual(r!.record.layers.map((l) => l.diffId), img.layers.map((l) => l.diffId));
  assert.deepEqual(img.chainIds.map((c) => sink.committed.get(c)), img.layers.map((l) => l.names));
  svc.close();
});

test('Berth pushes; skopeo inspects and copies it back with matching digests', { skip }, async () => {
  const svc = service();
  const name = `${registry.domain}/interop/berth:v1`;
  await storeImage(svc, name, img);
  const pushed = await svc.push(name);
  svc.close();
  const inspect = JSON.parse(skopeo('inspect', '--tls-verify=false', `docker://${name}`)) as { Digest: string; Layers: string[]; Architecture: string };
  assert.equal(inspect.Digest, pushed.digest);
  assert.deepEqual(inspect.Layers, img.layers.map((l) => l.digest));
  assert.equal(inspect.Architecture, 'amd64');
  const out = join(work, 'copied');
  skopeo('copy', '--preserve-digests', '--src-tls-verify=false', `docker://${name}`, `oci:${out}:v1`);
  const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  assert.equal(index.manifests[0]!.digest, img.manifestDigest, 'skopeo kept the manifest byte for byte');
  const raw = skopeo('inspect', '--raw', '--tls-verify=false', `docker://${name}`);
  assert.equal(raw, img.manifest.toString());
});
