import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../src/core/errors';
import type { ContainerRecord } from '../../src/engine/containers/record';
import type { ImageSummary } from '../../src/images/store';
import { containerFilter, containerInspectDocument, imageFilter, listContainers, listImages, referenceMatcher, volumeFilter, volumeInspectDocument } from '../../src/engine/query';
import { filterArgsFromFlags } from '../../src/cli/engine/filter-flags';

/** Just the fields the filters read. */
function rec(id: string, name: string, o: { status?: string; exit?: number; created?: string; labels?: Record<string, string>; image?: string; volume?: string } = {}): ContainerRecord {
  const status = o.status ?? 'running';
  return {
    Id: id,
    Name: `/${name}`,
    Created: o.created ?? '2026-01-01T00:00:00Z',
    Image: `sha256:${id}`,
    Config: { Labels: o.labels ?? {}, Image: o.image ?? 'busybox:latest' },
    State: { Status: status, Running: status === 'running', ExitCode: o.exit ?? 0 },
    Mounts: o.volume ? [{ Name: o.volume, Destination: '/data', Source: `/v/${o.volume}` }] : [],
    Berth: { snapshotKey: `k-${id}` },
  } as unknown as ContainerRecord;
}

const records = [
  rec('ccc3', 'web', { created: '2026-01-03T00:00:00Z', labels: { tier: 'front' } }),
  rec('bbb2', 'db', { status: 'exited', exit: 3, created: '2026-01-02T00:00:00Z', labels: { tier: 'back' }, volume: 'pg' }),
  rec('aaa1', 'job', { status: 'exited', exit: 0, created: '2026-01-01T00:00:00Z', image: 'alpine:3' }),
];
const ids = (rs: ContainerRecord[]) => rs.map((r) => r.Id);
const pick = (filters: Record<string, string[]>) => ids(records.filter(containerFilter(filters, records)));

test('container filters: the Docker API map, every pair must hold', () => {
  assert.deepEqual(pick({ status: ['exited'] }), ['bbb2', 'aaa1']);
  assert.deepEqual(pick({ exited: ['3'] }), ['bbb2']);
  assert.deepEqual(pick({ label: ['tier'] }), ['ccc3', 'bbb2']);
  assert.deepEqual(pick({ label: ['tier=back'] }), ['bbb2']);
  assert.deepEqual(pick({ name: ['/we'] }), ['ccc3']);
  assert.deepEqual(pick({ id: ['aa'] }), ['aaa1']);
  assert.deepEqual(pick({ ancestor: ['alpine'] }), ['aaa1']);
  assert.deepEqual(pick({ before: ['web'] }), ['bbb2', 'aaa1']);
  assert.deepEqual(pick({ since: ['job'], status: ['exited'] }), ['bbb2']);
  assert.deepEqual(pick({ volume: ['pg'] }), ['bbb2']);
  assert.deepEqual(pick({ health: ['none'] }), ['ccc3', 'bbb2', 'aaa1']);
  assert.throws(() => pick({ status: ['sleeping'] }), /invalid filter "status=sleeping"/);
  assert.throws(() => pick({ colour: ['red'] }), (e: unknown) => e instanceof BerthError && /invalid filter "colour"/.test(e.message));
  assert.throws(() => pick({ since: ['nope'] }), /No such container: nope/);
});

test('container listing: running unless all, a limit, or a status filter; sizes only when asked', async () => {
  let measured = 0;
  const sizeOf = async () => (measured++, { rw: 1, rootfs: 3 });
  assert.deepEqual((await listContainers(records, sizeOf)).map((e) => e.record.Id), ['ccc3']);
  assert.deepEqual((await listContainers(records, sizeOf, { all: true })).map((e) => e.record.Id), ['ccc3', 'bbb2', 'aaa1']);
  assert.deepEqual((await listContainers(records, sizeOf, { limit: 2 })).map((e) => e.record.Id), ['ccc3', 'bbb2']);
  assert.deepEqual((await listContainers(records, sizeOf, { filters: { exited: ['0'] } })).map((e) => e.record.Id), ['aaa1']);
  assert.equal(measured, 0);
  const sized = await listContainers(records, sizeOf, { size: true });
  assert.deepEqual(sized[0]!.size, { rw: 1, rootfs: 3 });
});

const image = (id: string, tags: string[], created: string, dangling = false): ImageSummary => ({ id, repoTags: tags, repoDigests: [], created, size: 10, dangling, records: [] });
const images = [image('sha256:1', ['busybox:latest', 'example.com/team/box:1'], '2026-01-01T00:00:00Z'), image('sha256:2', [], '2026-01-02T00:00:00Z', true), image('sha256:3', ['alpine:3'], '2026-01-03T00:00:00Z')];

test('image filters: reference globs over REPO:TAG or REPO, dangling, before/since', () => {
  assert.equal(referenceMatcher('busy*')('busybox:latest'), true);
  assert.equal(referenceMatcher('example.com/*/box')('example.com/team/box:1'), true);
  assert.equal(referenceMatcher('*')('example.com/team/box:1'), false, '* does not cross a /');
  assert.deepEqual(listImages(images, { reference: ['alp*'] }).map((s) => s.id), ['sha256:3']);
  assert.deepEqual(listImages(images, { dangling: ['true'] }).map((s) => s.id), ['sha256:2']);
  assert.deepEqual(listImages(images, { since: ['busybox'] }).map((s) => s.id), ['sha256:2', 'sha256:3']);
  assert.throws(() => imageFilter({ dangling: ['maybe'] }, images), /invalid filter "dangling=maybe"/);
  assert.throws(() => imageFilter({ dangling: [''] }, images), /invalid filter "dangling"/);
  assert.throws(() => imageFilter({ label: ['a'] }, images), /not supported for images yet/);
  assert.throws(() => imageFilter({ before: ['nope'] }, images), /No such image: nope/);
});

test('volume filters: the map becomes the volume service filter', () => {
  assert.deepEqual(volumeFilter({ dangling: ['1'], name: ['a', 'b'], label: ['x=y'], driver: ['local'] }), { dangling: true, name: ['a', 'b'], label: ['x=y'], driver: ['local'] });
  assert.throws(() => volumeFilter({ dangling: ['yes'] }), /invalid filter "dangling=yes"/);
  assert.throws(() => volumeFilter({ size: ['1'] }), /invalid filter "size"/);
});

test('CLI --filter flags become the map, bare keys handled as each docker listing does', () => {
  assert.deepEqual(filterArgsFromFlags(['status=exited', 'label=a=b', 'status=created'], 'refuse'), { status: ['exited', 'created'], label: ['a=b'] });
  assert.throws(() => filterArgsFromFlags(['status'], 'refuse'), /invalid filter "status"/);
  assert.deepEqual(filterArgsFromFlags(['dangling'], 'empty-value'), { dangling: [''] });
  assert.throws(() => filterArgsFromFlags(['dangling'], 'invalid-value'), /invalid value "dangling" for --filter/);
});

test('inspect documents: no engine-private fields', () => {
  const doc = containerInspectDocument(records[0]!);
  assert.equal('Berth' in doc, false);
  assert.equal(doc.ExecIDs, null);
  const v = volumeInspectDocument({ Name: 'pg', Driver: 'local', Mountpoint: '/m', CreatedAt: 't', Labels: {}, Options: {}, Scope: 'local', Anonymous: true });
  assert.deepEqual(Object.keys(v), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
});
