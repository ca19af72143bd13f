/**
 * Chain ids, manifest/index parsing, platform selection. Fixtures are also validated against
 * the OCI image-spec JSON schemas in ../shared/reference when present (skipped otherwise).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chainIds } from '../../src/images/chain-id';
import { parseManifestDocument, selectManifest, type ImageIndex } from '../../src/images/manifest';
import { parseImageConfig } from '../../src/images/config';
import { hostPlatform, parsePlatform, formatPlatform } from '../../src/images/platform';
import { MediaType } from '../../src/images/media-types';
import { BerthError } from '../../src/core/errors';
import { imageSchemaDir, schemaErrors } from '../helpers/json-schema';

const d = (c: string): string => 'sha256:' + c.repeat(64);
const sha = (s: string): string => 'sha256:' + createHash('sha256').update(s).digest('hex');

test('chain ids follow the OCI image spec', () => {
  const [a, b, c] = [d('1'), d('2'), d('3')];
  const ab = sha(`${a} ${b}`);
  assert.deepEqual(chainIds([a, b, c]), [a, ab, sha(`${ab} ${c}`)]);
  assert.deepEqual(chainIds([]), []);
  assert.throws(() => chainIds(['nope']), /invalid digest/);
});

const manifest = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: d('c'), size: 100 },
  layers: [
    { mediaType: MediaType.ociLayerGzip, digest: d('1'), size: 10 },
    { mediaType: MediaType.ociLayerZstd, digest: d('2'), size: 20 },
    { mediaType: MediaType.ociLayer, digest: d('3'), size: 30 },
  ],
};
const index: ImageIndex = {
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  manifests: [
    { mediaType: MediaType.ociManifest, digest: d('a'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: MediaType.ociManifest, digest: d('b'), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { mediaType: MediaType.ociManifest, digest: d('c'), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
    { mediaType: MediaType.ociManifest, digest: d('d'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
  ],
};
const config = {
  created: '2024-01-01T00:00:00Z',
  architecture: 'amd64',
  os: 'linux',
  config: { Cmd: ['sh'], Env: ['PATH=/bin'] },
  rootfs: { type: 'layers', diff_ids: [d('4'), d('5'), d('6')] },
  history: [{ created_by: 'ADD x' }],
};
const buf = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

test('fixtures conform to the OCI image-spec schemas', { skip: imageSchemaDir() ? false : 'OCI image-spec schemas not found (../shared/reference absent)' }, () => {
  assert.deepEqual(schemaErrors(manifest, 'image-manifest-schema.json'), []);
  assert.deepEqual(schemaErrors(index, 'image-index-schema.json'), []);
  assert.deepEqual(schemaErrors(config, 'config-schema.json'), []);
  assert.notDeepEqual(schemaErrors({ schemaVersion: 1 }, 'image-manifest-schema.json'), [], 'the checker rejects a bad document');
});

test('manifests and indexes parse; media type from document, header or shape', () => {
  const m = parseManifestDocument(buf(manifest), undefined, 'x');
  assert.equal(m.kind, 'manifest');
  const i = parseManifestDocument(buf(index), undefined, 'x');
  assert.equal(i.kind, 'index');
  const { mediaType: _m, ...bare } = index;
  assert.equal(parseManifestDocument(buf(bare), MediaType.dockerManifestList, 'x').mediaType, MediaType.dockerManifestList);
  assert.equal(parseManifestDocument(buf(bare), 'application/json', 'x').mediaType, MediaType.ociIndex);
  const docker = { ...manifest, mediaType: MediaType.dockerManifest, layers: [{ mediaType: MediaType.dockerLayerGzip, digest: d('1'), size: 1 }] };
  assert.equal(parseManifestDocument(buf(docker), undefined, 'x').kind, 'manifest');
});

test('schema 1, malformed and non-image documents are refused clearly', () => {
  const isErr = (code: string, re: RegExp) => (e: unknown) => e instanceof BerthError && e.code === code && re.test(e.message);
  assert.throws(() => parseManifestDocument(buf({ schemaVersion: 1, name: 'x', fsLayers: [] }), undefined, 'busybox:old'), isErr('EUNSUPPORTED', /busybox:old is a Docker schema 1 manifest/));
  assert.throws(() => parseManifestDocument(buf({}), MediaType.dockerSchema1Signed, 'x'), isErr('EUNSUPPORTED', /schema 1/));
  assert.throws(() => parseManifestDocument(Buffer.from('{'), undefined, 'x'), isErr('EREGISTRY', /not valid JSON/));
  assert.throws(() => parseManifestDocument(buf({ ...manifest, layers: [{ mediaType: 'a/b', digest: 'sha256:zz', size: 1 }] }), undefined, 'x'), isErr('EREGISTRY', /layers\.0\.digest/));
  assert.throws(() => parseManifestDocument(buf({ ...manifest, mediaType: 'application/vnd.cncf.helm.config' }), undefined, 'x'), isErr('EUNSUPPORTED', /not an image manifest/));
  assert.throws(() => parseManifestDocument(Buffer.alloc(5 * 1024 * 1024, 32), undefined, 'x'), isErr('ELIMIT', /limit/));
});

test('platform selection from an index', () => {
  assert.equal(selectManifest(index, parsePlatform('linux/amd64'), 'x').digest, d('a'));
  assert.equal(selectManifest(index, parsePlatform('linux/arm64'), 'x').digest, d('b'));
  assert.equal(selectManifest(index, parsePlatform('linux/aarch64/v8'), 'x').digest, d('b'));
  assert.equal(selectManifest(index, parsePlatform('linux/arm/v7'), 'x').digest, d('c'), 'armv7 runs v6 images');
  assert.throws(() => selectManifest(index, parsePlatform('linux/s390x'), 'img:1'), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND' && /img:1 has no image for platform linux\/s390x/.test(e.message) && /linux\/amd64, linux\/arm64\/v8, linux\/arm\/v6/.test(e.hint ?? ''));
  assert.throws(() => selectManifest(index, parsePlatform('linux/arm/v5'), 'x'), /no image/);
});

test('platform strings', () => {
  assert.equal(formatPlatform(parsePlatform('linux/x86_64')), 'linux/amd64');
  assert.equal(formatPlatform(parsePlatform('linux/arm64')), 'linux/arm64/v8');
  assert.throws(() => parsePlatform('linux'), /expected OS\/ARCH/);
  assert.throws(() => parsePlatform('linux/amd64/v2/x'), /expected OS\/ARCH/);
  assert.equal(hostPlatform().os, 'linux');
});

test('image config parsing', () => {
  const c = parseImageConfig(buf(config), 'x');
  assert.deepEqual(c.rootfs.diff_ids, [d('4'), d('5'), d('6')]);
  assert.throws(() => parseImageConfig(buf({ ...config, rootfs: { type: 'layers', diff_ids: ['x'] } }), 'img'), /image config of img is malformed: rootfs\.diff_ids\.0/);
  assert.throws(() => parseImageConfig(buf({ os: 'linux' }), 'img'), /architecture/);
});
