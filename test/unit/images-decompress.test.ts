import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { DEFAULT_EXPANSION_LIMITS, decompressStages, zstdWindowSize } from '../../src/images/decompress';
import { BerthError } from '../../src/core/errors';
import { Semaphore } from '../../src/images/semaphore';

async function run(data: Buffer, compression: 'gzip' | 'zstd' | 'none', limits = DEFAULT_EXPANSION_LIMITS): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline([
    Readable.from([data.subarray(0, 7), data.subarray(7)]),
    ...decompressStages(compression, limits, () => data.length, 'layer X'),
    new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c);
        cb();
      },
    }),
  ]);
  return Buffer.concat(out);
}

const text = Buffer.from('hello berth '.repeat(10_000));
const hasZstd = existsSync('/usr/bin/zstd') ? false : 'zstd program not installed';

test('gzip and uncompressed layers decompress', async () => {
  assert.deepEqual(await run(gzipSync(text), 'gzip'), text);
  assert.deepEqual(await run(text, 'none'), text);
});

test('zstd layers decompress (fzstd), and frame windows are read', { skip: hasZstd }, async () => {
  const z = spawnSync('zstd', ['-q', '-c'], { input: text }).stdout;
  assert.deepEqual(await run(z, 'zstd'), text);
  assert.ok((zstdWindowSize(z) ?? 0) >= text.length || (zstdWindowSize(z) ?? 0) >= 1024);
  assert.equal(zstdWindowSize(Buffer.from('not zstd')), undefined);
  await assert.rejects(run(Buffer.concat([z.subarray(0, 20), Buffer.alloc(40, 0xff)]), 'zstd'), (e: unknown) => e instanceof BerthError && /layer X is not valid zstd/.test(e.message));
});

test('expansion past the ratio or the absolute limit fails with ELIMIT', async () => {
  const zeros = gzipSync(Buffer.alloc(4 * 1024 * 1024));
  await assert.rejects(run(zeros, 'gzip', { maxRatio: 10, ratioFloorBytes: 1024 * 1024, maxBytes: 2 ** 40 }), (e: unknown) => e instanceof BerthError && e.code === 'ELIMIT' && /layer X expands more than 10 times/.test(e.message));
  await assert.rejects(run(text, 'none', { maxRatio: 1000, ratioFloorBytes: 2 ** 40, maxBytes: 1000 }), (e: unknown) => e instanceof BerthError && e.code === 'ELIMIT' && /more than 1000 bytes/.test(e.message));
  assert.equal((await run(zeros, 'gzip', { maxRatio: 10, ratioFloorBytes: 8 * 1024 * 1024, maxBytes: 2 ** 40 })).length, 4 * 1024 * 1024, 'below the floor the ratio is not checked');
});

test('semaphore bounds concurrency and serves waiters in order', async () => {
  const sem = new Semaphore(2);
  const order: number[] = [];
  let active = 0;
  let peak = 0;
  await Promise.all(
    [0, 1, 2, 3, 4].map(async (i) => {
      const release = await sem.acquire();
      order.push(i);
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setImmediate(r));
      active--;
      release();
    }),
  );
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
});
