import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCommand } from '../../src/core/command';

test('runCommand: output, status and input, as spawnSync reports them', async () => {
  const ok = await runCommand('/bin/sh', ['-c', 'cat; echo err >&2; exit 3'], { input: 'hello' });
  assert.deepEqual([ok.status, ok.signal, ok.stdout, ok.stderr, ok.error], [3, null, 'hello', 'err\n', undefined]);
  const killed = await runCommand('/bin/sh', ['-c', 'kill -TERM $$']);
  assert.deepEqual([killed.status, killed.signal], [null, 'SIGTERM']);
  const quiet = await runCommand('/bin/sh', ['-c', 'echo dropped'], { discardOutput: true });
  assert.deepEqual([quiet.status, quiet.stdout], [0, '']);
});

test('runCommand: a program that cannot start is reported in error, with no status (never rejects)', async () => {
  const r = await runCommand('/no/such/program', []);
  assert.equal(r.status, null);
  assert.equal((r.error as NodeJS.ErrnoException | undefined)?.code, 'ENOENT');
});

test('runCommand: the event loop runs while the program does', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  await runCommand('/bin/sh', ['-c', 'sleep 0.2']);
  clearInterval(timer);
  assert.ok(ticks >= 5, `timers fired ${ticks} times meanwhile`);
});
