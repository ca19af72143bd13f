import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentStore, collectGarbage, digestOf, parseDigest } from '../../src/content';
import { BerthError } from '../../src/core/errors';

function tempRoot(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-content-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
}

test('digests: sha256 and sha512 accepted, others refused', () => {
  assert.equal(parseDigest(digestOf('x')).algorithm, 'sha256');
  assert.equal(parseDigest(digestOf('x', 'sha512')).algorithm, 'sha512');
  assert.throws(() => parseDigest('md5:' + 'a'.repeat(32)), (e: unknown) => e instanceof BerthError && e.code === 'EUNSUPPORTED');
  assert.throws(() => parseDigest('sha256:ABC'), /64 lowercase hex/);
  assert.throws(() => parseDigest('sha256:../../etc/passwd'), /invalid sha256 digest/);
});

test('blobs are written verified and read back; store directories are 0700', async (t) => {
  const store = new ContentStore(tempRoot(t));
  const data = randomBytes(100_000);
  const info = await store.writeBlob(data);
  assert.equal(info.digest, digestOf(data));
  assert.deepEqual(await store.readBlob(info.digest, 1 << 20), data);
  assert.deepEqual(await readAll(await store.openRead(info.digest, 10)), data.subarray(10));
  assert.equal(statSync(store.dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(store.dir, 'blobs', 'sha256')).mode & 0o777, 0o700);
  await assert.rejects(store.readBlob(info.digest, 10), (e: unknown) => e instanceof BerthError && e.code === 'ELIMIT');
  const s512 = digestOf(data, 'sha512');
  assert.equal((await store.writeBlob(data, { digest: s512, size: data.length })).digest, s512);
  assert.ok(existsSync(join(store.dir, 'blobs', 'sha512', parseDigest(s512).hex)));
});

test('wrong content or size is refused and leaves nothing behind', async (t) => {
  const store = new ContentStore(tempRoot(t));
  const good = Buffer.from('hello');
  await assert.rejects(store.writeBlob(Buffer.from('hellp'), { digest: digestOf(good), size: 5 }), (e: unknown) => e instanceof BerthError && e.code === 'EDIGEST' && e.message.includes(digestOf(good)));
  await assert.rejects(store.writeBlob(Buffer.from('hell'), { digest: digestOf(good), size: 5 }), /is 4 bytes, but its descriptor says 5/);
  await assert.rejects(store.writeBlob(Buffer.from('hello!'), { digest: digestOf(good), size: 5 }), /larger than its descriptor/);
  assert.equal(await store.has(digestOf(good)), false);
  assert.deepEqual(filesUnder(join(store.dir, 'blobs')), []);
  assert.deepEqual(filesUnder(join(store.dir, 'ingest')), []);
});

test('an interrupted ingest resumes from its offset, hashing the kept prefix', async (t) => {
  const store = new ContentStore(tempRoot(t));
  const data = randomBytes(300_000);
  const expected = { digest: digestOf(data), size: data.length };
  const first = await store.openWriter(expected);
  assert.equal(first.status, 'writer');
  if (first.status !== 'writer') return;
  await first.writer.write(data.subarray(0, 120_000));
  await first.writer.close();
  assert.equal(await store.has(expected.digest), false, 'nothing under the final name');
  assert.deepEqual((await store.ingests()).map((i) => [i.offset, i.active]), [[120_000, false]]);
  const second = await store.openWriter(expected);
  if (second.status !== 'writer') throw new Error('expected a writer');
  assert.equal(second.writer.offset, 120_000);
  assert.deepEqual(await readAll(second.writer.prefix()), data.subarray(0, 120_000));
  await second.writer.write(data.subarray(120_000));
  await second.writer.commit();
  assert.deepEqual(await store.readBlob(expected.digest, 1 << 20), data);
  assert.deepEqual(await store.ingests(), []);
  assert.equal((await store.openWriter(expected)).status, 'exists');
});

test('a killed writer process leaves only ingest data, which the next run resumes', async (t) => {
  const root = tempRoot(t);
  const store = new ContentStore(root);
  const data = Buffer.alloc(8 * 1024 * 1024, 7);
  const expected = { digest: digestOf(data), size: data.length };
  // The child writes the first half, says so, then waits to be killed mid-ingest.
  const script = `
    const { ContentStore } = require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'content'))});
    (async () => {
      const r = await new ContentStore(${JSON.stringify(root)}).openWriter(${JSON.stringify(expected)});
      await r.writer.write(Buffer.alloc(${data.length / 2}, 7));
      process.stdout.write('half\\n');
      setInterval(() => {}, 1000);
    })();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  // While the child holds the ingest, it is reported active and cannot be removed.
  assert.deepEqual((await store.ingests()).map((i) => i.active), [true]);
  assert.equal(await store.removeIngest(expected.digest), false);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.equal(await store.has(expected.digest), false);
  const r = await store.openWriter(expected);
  if (r.status !== 'writer') throw new Error('expected a writer');
  assert.equal(r.writer.offset, data.length / 2);
  await readAll(r.writer.prefix());
  await r.writer.write(data.subarray(data.length / 2));
  await r.writer.commit();
  assert.equal(createHash('sha256').update(await store.readBlob(expected.digest, data.length)).digest('hex'), parseDigest(expected.digest).hex);
});

test('two writers of one blob take turns: the second finds it committed', async (t) => {
  const store = new ContentStore(tempRoot(t));
  const data = randomBytes(50_000);
  const expected = { digest: digestOf(data), size: data.length };
  const a = await store.openWriter(expected);
  if (a.status !== 'writer') throw new Error('expected a writer');
  let bDone = false;
  const b = store.openWriter(expected).then((r) => {
    bDone = true;
    return r;
  });
  await a.writer.write(data.subarray(0, 1000));
  await new Promise((r) => setImmediate(r));
  assert.equal(bDone, false, 'the second writer waits for the lock');
  await a.writer.write(data.subarray(1000));
  await a.writer.commit();
  assert.equal((await b).status, 'exists');
});

test('an ingest for the wrong size is restarted, not resumed', async (t) => {
  const store = new ContentStore(tempRoot(t));
  const data = randomBytes(1000);
  const a = await store.openWriter({ digest: digestOf(data), size: 2000 });
  if (a.status !== 'writer') throw new Error('expected a writer');
  await a.writer.write(data);
  await a.writer.close();
  const b = await store.openWriter({ digest: digestOf(data), size: 1000 });
  if (b.status !== 'writer') throw new Error('expected a writer');
  assert.equal(b.writer.offset, 0);
  await b.writer.write(data);
  await b.writer.commit();
});

test('GC deletes what no root reaches; dry run only reports', async (t) => {
  const store = new ContentStore(tempRoot(t));
  const leaf1 = await store.writeBlob(Buffer.from('layer 1'));
  const leaf2 = await store.writeBlob(Buffer.from('layer 2'));
  const orphan = await store.writeBlob(Buffer.from('orphan'));
  const parent = await store.writeBlob(Buffer.from(JSON.stringify([leaf1.digest, leaf2.digest])));
  const children = async (d: string): Promise<string[]> => (d === parent.digest ? [leaf1.digest, leaf2.digest, 'sha256:' + '0'.repeat(64)] : []);
  const partial = await store.openWriter({ digest: digestOf('partial data'), size: 12 });
  if (partial.status !== 'writer') throw new Error('expected a writer');
  await partial.writer.write(Buffer.from('partial'));
  await partial.writer.close();

  const dry = await collectGarbage(store, { roots: [parent.digest], children, dryRun: true, removeIngests: true });
  assert.deepEqual(dry.removed.map((b) => b.digest), [orphan.digest]);
  assert.equal(dry.reclaimedBytes, orphan.size + 7);
  assert.equal(dry.dryRun, true);
  assert.equal(await store.has(orphan.digest), true);
  assert.equal((await store.ingests()).length, 1);

  const real = await collectGarbage(store, { roots: [parent.digest], children, removeIngests: true });
  assert.deepEqual(real.removed.map((b) => b.digest), [orphan.digest]);
  assert.equal(real.kept, 3);
  assert.equal(await store.has(orphan.digest), false);
  assert.equal(await store.has(leaf2.digest), true);
  assert.deepEqual(await store.ingests(), []);

  const all = await collectGarbage(store, { roots: [], children });
  assert.equal(all.removed.length, 3);
  assert.deepEqual(await store.list(), []);
});

test('GC waits for a lease (a pull in progress) to end', async (t) => {
  const store = new ContentStore(tempRoot(t));
  let release!: () => void;
  const leaseHeld = new Promise<void>((r) => (release = r));
  let written!: string;
  let wrote!: () => void;
  const inLease = new Promise<void>((r) => (wrote = r));
  const lease = store.withLease(async () => {
    written = (await store.writeBlob(Buffer.from('not yet recorded'))).digest;
    wrote();
    await leaseHeld;
  });
  await inLease;
  let gcDone = false;
  const gc = collectGarbage(store, { roots: [], children: async () => [] }).then((r) => {
    gcDone = true;
    return r;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(gcDone, false);
  release();
  await lease;
  const report = await gc;
  assert.deepEqual(report.removed.map((b) => b.digest), [written]);
});

test('a committing writer removes its ingest while others keep polling its lock (no ENOTEMPTY)', async (t) => {
  // A waiting writer polls the ingest's lock file with open(O_CREAT), which recreates it in
  // a directory the committer is removing. Poll as hard as possible, from this thread, while
  // the commit's removal runs in libuv's pool: commit must never fail for it.
  const { tryLock } = await import('../../src/core/lock');
  const store = new ContentStore(tempRoot(t));
  for (let i = 0; i < 100; i++) {
    const data = randomBytes(64);
    const expected = { digest: digestOf(data), size: data.length };
    const r = await store.openWriter(expected);
    if (r.status !== 'writer') throw new Error('expected a writer');
    await r.writer.write(data);
    const lockPath = join(store.dir, 'ingest', `sha256-${parseDigest(expected.digest).hex}`, 'lock');
    let settled = false;
    const committing = r.writer.commit();
    const done = (): void => {
      settled = true;
    };
    committing.then(done, done);
    while (!settled) {
      try {
        tryLock(lockPath)?.release();
      } catch {
        /* the directory is gone: a waiter goes round again */
      }
      await new Promise((res) => setImmediate(res));
    }
    await committing;
    assert.equal(await store.has(expected.digest), true);
  }
});
