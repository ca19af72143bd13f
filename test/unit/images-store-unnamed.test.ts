/**
 * Images without a repository name (import/load/commit without one): recorded under their
 * id, listed as dangling, resolved by id, subsumed when named, removed by id. And the
 * content store's ingest of a stream whose digest is not known in advance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ContentStore } from '../../src/content/store';
import { digestOf } from '../../src/content/digest';
import { MediaType } from '../../src/images/media-types';
import { ImageStore, isIdOnlyName, recordDisplayName, type ImageRecord } from '../../src/images/store';

function root(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-store-unnamed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function record(name: string, id: string): ImageRecord {
  const d = { mediaType: MediaType.ociManifest, digest: digestOf(`manifest of ${id}`), size: 10 };
  return { name, target: d, manifest: d, config: { mediaType: MediaType.ociConfig, digest: id, size: 5 }, id, platform: { os: 'linux', architecture: 'amd64' }, layers: [], recordedAt: '2024-01-01T00:00:00Z' };
}

test('an image recorded by id: dangling, resolvable, named later, removable', async (t) => {
  const store = new ImageStore(root(t));
  const id = digestOf('config');
  assert.ok(isIdOnlyName(id));
  assert.ok(!isIdOnlyName('docker.io/library/busybox:latest'));
  await store.put(record(id, id));
  const [s] = await store.summaries();
  assert.equal(s!.dangling, true);
  assert.deepEqual(s!.repoTags, []);
  assert.deepEqual(s!.repoDigests, []);
  assert.equal((await store.resolve(id.slice(7, 19))).name, id);
  assert.equal(recordDisplayName(id), id);
  await store.tag(id, 'named:1');
  assert.deepEqual((await store.list()).map((r) => r.name), ['docker.io/library/named:1'], 'the id-only record is subsumed');
  // Moving the tag away leaves the image dangling under its digest name, as before.
  await store.put(record('docker.io/library/named:1', digestOf('other')));
  assert.equal((await store.summaries()).length, 2);
  const removed = await store.removeImage(digestOf('other'));
  assert.equal(removed.length, 1);
});

test('ingestStream stores a stream under the digest it turns out to have; duplicates are not re-created', async (t) => {
  const content = new ContentStore(root(t));
  const data = Buffer.from('some layer bytes '.repeat(1000));
  const first = await content.ingestStream(Readable.from([data.subarray(0, 100), data.subarray(100)]));
  assert.deepEqual(first, { digest: digestOf(data), size: data.length, created: true });
  assert.ok((await content.readBlob(first.digest, 1 << 20)).equals(data));
  const again = await content.ingestStream(Readable.from([data]));
  assert.equal(again.created, false);
  assert.deepEqual(readdirSync(join(content.dir, 'ingest')), [], 'no temporary ingest left');
  const failing = Readable.from((async function* () {
    yield Buffer.from('partial');
    throw new Error('source broke');
  })());
  await assert.rejects(content.ingestStream(failing), /source broke/);
  assert.deepEqual(readdirSync(join(content.dir, 'ingest')), [], 'a failed stream leaves nothing');
  assert.deepEqual((await content.list()).map((b) => b.digest), [first.digest]);
});
