import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { EventLog, type EngineEvent } from '../../src/engine/events';

function tmp(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-events-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('event log: emits are recorded in the order they were made, without awaiting each', async (t) => {
  const log = new EventLog(tmp(t));
  const pending = ['create', 'start', 'die', 'destroy'].map((a) => log.emit('container', a, 'c1'));
  await Promise.all(pending);
  const read = await log.read();
  assert.deepEqual(read.map((e) => e.Action), ['create', 'start', 'die', 'destroy']);
  assert.equal(read[0]!.Actor.ID, 'c1');
  assert.equal(read[0]!.user?.pid, process.pid);
});

test('event log: an unwritable log does not fail the emit', async (t) => {
  const log = new EventLog(join(tmp(t), 'missing', 'dir'));
  await log.emit('volume', 'create', 'v');
  assert.deepEqual(await log.read(), []);
});

test('event log: follow passes on what is appended after it started, once each, torn lines skipped', async (t) => {
  const log = new EventLog(tmp(t));
  await log.emit('container', 'before', 'c1');
  const seen: EngineEvent[] = [];
  const stop = new AbortController();
  const following = log.follow((e) => seen.push(e), stop.signal);
  await new Promise((r) => setTimeout(r, 50));
  await log.emit('container', 'first', 'c1');
  appendFileSync(log.file, '{"torn\n');
  await log.emit('container', 'second', 'c1');
  for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  stop.abort();
  await following;
  assert.deepEqual(seen.map((e) => e.Action), ['first', 'second']);
});

test('event log: stream with since replays recorded events, then stops at until', async (t) => {
  const log = new EventLog(tmp(t));
  await log.emit('image', 'pull', 'busybox');
  await log.emit('image', 'tag', 'busybox');
  const seen: string[] = [];
  // Event times carry sub-millisecond digits: the end of this millisecond is after both emits.
  const now = (BigInt(Date.now()) + 1n) * 1_000_000n;
  await log.stream({ since: 0n, until: now + 200_000_000n, accept: (e) => e.Action !== 'tag' }, (e) => seen.push(e.Action), new AbortController().signal);
  assert.deepEqual(seen, ['pull']);
  const past: string[] = [];
  await log.stream({ since: 0n, until: now }, (e) => past.push(e.Action), new AbortController().signal);
  assert.deepEqual(past, ['pull', 'tag']);
});
