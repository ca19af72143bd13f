/**
 * berth-reaper (the --init process) on its own: exit status, signal forwarding and reaping of
 * orphans. Run on the host, where it acts as a child subreaper instead of PID 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const REAPER = join(__dirname, '..', '..', '..', 'build', 'Release', 'berth-reaper');
const skip = existsSync(REAPER) ? undefined : `${REAPER} not built (npm run install)`;

test('reaper: exits with the child status, 128+N for a signal, 127 for a missing command', { skip }, () => {
  assert.equal(spawnSync(REAPER, ['--', 'sh', '-c', 'exit 7']).status, 7);
  assert.equal(spawnSync(REAPER, ['--', 'sh', '-c', 'kill -KILL $$']).status, 137);
  const missing = spawnSync(REAPER, ['--', '/no/such/binary'], { encoding: 'utf8' });
  assert.equal(missing.status, 127);
  assert.match(missing.stderr, /exec \/no\/such\/binary: No such file or directory/);
  assert.equal(spawnSync(REAPER, [], { encoding: 'utf8' }).status, 2);
});

test('reaper: forwards TERM to the child and reports its death', { skip }, async () => {
  const p = spawn(REAPER, ['--', 'sh', '-c', 'trap "exit 42" TERM; echo ready; while :; do sleep 0.05; done'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((r) => p.stdout!.once('data', () => r()));
  p.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  assert.equal(code, 42);
});

test('reaper: orphans are reaped while the child runs (no zombies pile up)', { skip }, async () => {
  // The subshell exits at once, leaving its background job an orphan that the reaper adopts;
  // the orphan exits quickly and must be reaped while the main child still sleeps.
  const p = spawn(REAPER, ['--', 'sh', '-c', '(sh -c "exit 0" & echo $!); sleep 2'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const orphan = Number(await new Promise<string>((r) => p.stdout!.once('data', (d: Buffer) => r(d.toString()))));
  let state = 'Z';
  for (let i = 0; i < 50 && state === 'Z'; i++) {
    await new Promise((res) => setTimeout(res, 20));
    try {
      state = readFileSync(`/proc/${orphan}/stat`, 'utf8').split(') ')[1]!.split(' ')[0]!;
    } catch {
      state = 'gone';
    }
  }
  p.kill('SIGKILL');
  assert.equal(state, 'gone', `orphan ${orphan} was reaped`);
});
