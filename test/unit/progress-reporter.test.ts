import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgressReporter, formatBytes, progressBar } from '../../src/cli/engine/progress';
import type { ProgressEvent } from '../../src/core/events';

class FakeStream {
  text = '';
  constructor(readonly isTTY: boolean, readonly columns = 200) {}
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

/** Applies the ANSI sequences the TTY reporter uses to a screen of lines, as a terminal would. */
function render(out: string): string[] {
  const screen: string[] = [''];
  let row = 0;
  let col = 0;
  for (let i = 0; i < out.length; ) {
    const m = /^\x1b\[(\d*)([ABK])/.exec(out.slice(i));
    if (m) {
      const n = Number(m[1] || '1');
      if (m[2] === 'A') row -= n;
      else if (m[2] === 'B') row += n;
      else screen[row] = '';
      while (screen.length <= row) screen.push('');
      i += m[0].length;
      continue;
    }
    const ch = out[i++]!;
    if (ch === '\n') {
      row++;
      col = 0;
      while (screen.length <= row) screen.push('');
    } else if (ch === '\r') col = 0;
    else {
      const line = screen[row]!.padEnd(col);
      screen[row] = line.slice(0, col) + ch + line.slice(col + 1);
      col++;
    }
  }
  return screen.filter((l, i) => l !== '' || i < screen.length - 1);
}

const A = 'sha256:' + 'a'.repeat(64);
const B = 'sha256:' + 'b'.repeat(64);
const events: ProgressEvent[] = [
  { type: 'resolving', ref: 'busybox:latest' },
  { type: 'layer-waiting', digest: A, size: 2_000_000 },
  { type: 'layer-already-exists', digest: B },
  { type: 'layer-downloading', digest: A, current: 0, total: 2_000_000 },
  { type: 'layer-downloading', digest: A, current: 1_000_000, total: 2_000_000 },
  { type: 'layer-downloading', digest: A, current: 2_000_000, total: 2_000_000 },
  { type: 'layer-verifying', digest: A },
  { type: 'layer-complete', digest: A },
  { type: 'done', ref: 'busybox:latest', digest: 'sha256:' + 'c'.repeat(64), imageId: 'sha256:' + 'd'.repeat(64), upToDate: false },
];

test('plain output: one line per state change, no escapes, no byte ticks', () => {
  const out = new FakeStream(false);
  const r = createProgressReporter(out);
  for (const e of events) r.handle(e);
  assert.equal(out.text.includes('\x1b'), false);
  assert.deepEqual(out.text.trimEnd().split('\n'), [
    'Pulling busybox:latest',
    'aaaaaaaaaaaa: Waiting',
    'bbbbbbbbbbbb: Already exists',
    'aaaaaaaaaaaa: Downloading',
    'aaaaaaaaaaaa: Verifying Checksum',
    'aaaaaaaaaaaa: Pull complete',
    'Digest: sha256:' + 'c'.repeat(64),
    'Status: Downloaded newer image for busybox:latest',
  ]);
});

test('TTY output: one line per layer, redrawn in place', () => {
  const out = new FakeStream(true);
  const r = createProgressReporter(out);
  for (const e of events.slice(0, 5)) r.handle(e);
  const mid = render(out.text);
  assert.equal(mid.length, 3);
  assert.equal(mid[0], 'Pulling busybox:latest');
  assert.match(mid[1]!, /^aaaaaaaaaaaa: Downloading \[=+>\s+\] 1.00MB\/2.00MB$/);
  assert.equal(mid[2], 'bbbbbbbbbbbb: Already exists');
  for (const e of events.slice(5)) r.handle(e);
  assert.deepEqual(render(out.text), [
    'Pulling busybox:latest',
    'aaaaaaaaaaaa: Pull complete',
    'bbbbbbbbbbbb: Already exists',
    'Digest: sha256:' + 'c'.repeat(64),
    'Status: Downloaded newer image for busybox:latest',
  ]);
});

test('push events and quiet mode', () => {
  const out = new FakeStream(false);
  const r = createProgressReporter(out);
  r.handle({ type: 'push-preparing', ref: 'localhost:5000/x:1' });
  r.handle({ type: 'blob-mounted', digest: A, from: 'localhost:5000/y' });
  r.handle({ type: 'blob-pushing', digest: B, current: 1, total: 10 });
  r.handle({ type: 'blob-pushed', digest: B });
  // The config blob is not a layer row (docker lists layers only), in either renderer.
  r.handle({ type: 'blob-pushing', digest: 'sha256:' + 'c'.repeat(64), current: 1, total: 10, config: true });
  r.handle({ type: 'blob-already-exists', digest: 'sha256:' + 'c'.repeat(64), config: true });
  r.handle({ type: 'manifest-pushed', ref: 'localhost:5000/x:1', digest: 'sha256:' + 'e'.repeat(64), size: 525 });
  r.handle({ type: 'warning', message: 'careful' });
  assert.deepEqual(out.text.trimEnd().split('\n'), [
    'The push refers to localhost:5000/x:1',
    'aaaaaaaaaaaa: Mounted from localhost:5000/y',
    'bbbbbbbbbbbb: Pushing',
    'bbbbbbbbbbbb: Pushed',
    'localhost:5000/x:1: digest: sha256:' + 'e'.repeat(64) + ' size: 525',
    'WARNING: careful',
  ]);
  const quiet = new FakeStream(true);
  const q = createProgressReporter(quiet, { quiet: true });
  for (const e of events) q.handle(e);
  assert.equal(quiet.text, '');
});

test('sizes and bars', () => {
  assert.equal(formatBytes(999), '999B');
  assert.equal(formatBytes(1_234_567), '1.23MB');
  assert.equal(formatBytes(45_600), '45.6kB');
  assert.equal(progressBar(0, 10, 10), '[          ]');
  assert.equal(progressBar(5, 10, 10), '[====>     ]');
  assert.equal(progressBar(10, 10, 10), '[==========]');
});
