/**
 * Crash safety and concurrency, black-box: `kill -9` of a Berth process at each step of the
 * multi-step operations (through the BERTH_CRASH_AT seam, src/core/crash-point.ts, so no
 * timing is involved), then the next commands must show a consistent state — a container
 * that claims to run does run, a half-made one is finished or gone — and once everything is
 * removed nothing is left: no mount, cgroup, record, name claim, shim or runtime directory,
 * snapshot or volume. Also: containers outlive a killed CLI, a killed shim is detected,
 * concurrent `run --name same` has exactly one winner, and many parallel runs and removals.
 * The network's steps (net:*) and leftovers: test/integration/network/recovery.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH, BerthCli, importBusybox, type CliResult, until, engineSkip, cliPerTest, runAsync } from '../helpers/cli';
import type { CrashStep } from '../../src/core/crash-point';

const skip = engineSkip();
const cli = cliPerTest();


interface Seen {
  name: string;
  status: string;
}

/**
 * What `ps -a` says, checked against reality: every container listed as running has a live
 * process that answers an exec, and nothing is listed in a transitional state.
 */
function consistentState(b: BerthCli): Seen[] {
  const ps = b.run(['ps', '-a', '--format', '{{.Names}} {{.State}}']);
  assert.equal(ps.code, 0, `ps -a after the crash: ${ps.stderr}`);
  const seen = ps.stdout.split('\n').filter(Boolean).map((l) => {
    const [name, status] = l.split(' ');
    return { name: name!, status: status! };
  });
  const leaks = b.leaks();
  for (const s of seen) {
    assert.ok(['created', 'running', 'exited'].includes(s.status), `${s.name} is ${s.status}`);
    const inspect = b.ok(['inspect', '-f', '{{.State.Status}} {{.State.Pid}} {{.Id}}', s.name]).trim().split(' ');
    assert.equal(inspect[0], s.status, 'inspect agrees with ps');
    if (s.status === 'running') {
      assert.ok(Number(inspect[1]) > 0);
      assert.equal(b.run(['exec', s.name, 'true']).code, 0, `${s.name} says it runs: it answers exec`);
    } else {
      assert.equal(inspect[1], '0');
      assert.deepEqual(leaks.filter((l) => l.includes(inspect[2]!)), [], `${s.name} does not run: no cgroup or mount of it is left`);
    }
  }
  return seen;
}

/** Removes what is left and checks that nothing remains. */
function removeAllAndCheck(b: BerthCli): void {
  const ids = b.containerIds();
  if (ids.length) b.ok(['rm', '-f', '-v', ...ids]);
  assert.deepEqual(b.residue(), []);
}

function crash(b: BerthCli, step: CrashStep, args: string[]): CliResult {
  const r = b.run(args, { env: { BERTH_CRASH_AT: step } });
  assert.equal(r.signal, 'SIGKILL', `berth ${args.join(' ')} reached ${step} (exit ${r.code}: ${r.stderr})`);
  b.leaks(); // notes the ids that now have state, for the leak checks that follow
  return r;
}

const CREATE_STEPS: CrashStep[] = ['create:recorded', 'create:named', 'create:snapshot', 'create:volume'];
const START_STEPS: CrashStep[] = ['start:mounted', 'runtime:cgroup-created', 'start:launched', 'start:recorded', 'runtime:released', 'start:released'];
/** Killed after the container's process was let go: the start is finished, not undone. */
const RELEASED: CrashStep[] = ['runtime:released', 'start:released'];

for (const step of [...CREATE_STEPS, ...START_STEPS]) {
  test(`run -d killed at ${step}: consistent afterwards, the name is free again or the container usable, nothing leaks`, { skip }, (t) => {
    const b = cli(t);
    const img = importBusybox(b);
    crash(b, step, ['run', '-d', '--name', 'victim', '-v', '/anon', img, 'sleep', '1000']);
    const seen = consistentState(b);
    const victim = seen.find((s) => s.name === 'victim');
    if (CREATE_STEPS.includes(step)) assert.equal(victim, undefined, 'a create that did not finish is rolled back');
    else if (RELEASED.includes(step)) assert.equal(victim?.status, 'running', 'a start that released the process is finished');
    else assert.equal(victim?.status, 'created', 'a start that did not release the process is rolled back');
    if (victim) {
      // usable: it starts (again) and stops
      if (victim.status !== 'running') b.ok(['start', 'victim']);
      assert.equal(b.ok(['exec', 'victim', 'echo', 'alive']), 'alive\n');
      b.ok(['rm', '-f', '-v', 'victim']);
    }
    b.ok(['run', '--rm', '--name', 'victim', img, 'true']);
    removeAllAndCheck(b);
  });
}

for (const step of START_STEPS) {
  test(`start killed at ${step} (a container that ran before)`, { skip }, (t) => {
    const b = cli(t);
    const img = importBusybox(b);
    b.ok(['run', '-d', '--name', 'again', img, 'sleep', '1000']);
    b.ok(['stop', '-t', '0', 'again']);
    crash(b, step, ['start', 'again']);
    const [again] = consistentState(b);
    assert.equal(again?.status, RELEASED.includes(step) ? 'running' : 'exited');
    if (again?.status !== 'running') b.ok(['start', 'again']);
    assert.equal(b.ok(['exec', 'again', 'echo', 'alive']), 'alive\n');
    removeAllAndCheck(b);
  });
}

for (const step of ['rm:removing', 'rm:snapshot-removed', 'rm:record-removed'] as CrashStep[]) {
  test(`rm -f killed at ${step}: the next command finishes the removal`, { skip }, (t) => {
    const b = cli(t);
    const img = importBusybox(b);
    b.ok(['run', '-d', '--name', 'doomed', '-v', '/anon', img, 'sleep', '1000']);
    b.containerIds();
    crash(b, step, ['rm', '-f', 'doomed']);
    assert.deepEqual(consistentState(b), [], 'ps -a no longer shows it');
    assert.equal(b.run(['inspect', 'doomed']).code, 1);
    b.ok(['run', '--rm', '--name', 'doomed', img, 'true']);
    assert.deepEqual(b.residue({ volumes: false }), []);
  });
}

test('stop killed after the signal: the container exits all the same, and is recorded', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'polite', img, 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done']);
  crash(b, 'stop:signalled', ['stop', 'polite']);
  assert.ok(await until(() => b.run(['inspect', '-f', '{{.State.Status}}', 'polite']).stdout.trim() === 'exited'));
  consistentState(b);
  removeAllAndCheck(b);
});

for (const step of ['cleanup:runtime-deleted', 'cleanup:settled'] as CrashStep[]) {
  test(`the shim's cleanup killed at ${step}: the next command settles the exit (and applies --rm)`, { skip }, async (t) => {
    const b = cli(t);
    const img = importBusybox(b);
    // The variable reaches the shim's exit command through the environment.
    b.ok(['run', '-d', '--name', 'brief', img, 'sh', '-c', 'exit 3'], { env: { BERTH_CRASH_AT: step } });
    b.ok(['run', '-d', '--rm', '--name', 'brief-rm', img, 'true'], { env: { BERTH_CRASH_AT: step } });
    b.containerIds();
    assert.ok(await until(() => b.run(['inspect', '-f', '{{.State.Status}}', 'brief']).stdout.trim() === 'exited'));
    assert.equal(b.ok(['inspect', '-f', '{{.State.ExitCode}}', 'brief']).trim(), '3');
    assert.ok(await until(() => b.run(['inspect', 'brief-rm']).code === 1), '--rm happened');
    consistentState(b);
    removeAllAndCheck(b);
  });
}

test('kill -9 of an attached run: the container keeps running, logs and attach still work', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const p = spawn(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'run', '--name', 'orphan', img, 'sh', '-c', 'echo hello; trap "exit 0" TERM; while :; do sleep 0.1; done'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => p.stdout.on('data', (d: Buffer) => d.toString().includes('hello') && resolve()));
  p.kill('SIGKILL');
  await new Promise((r) => p.once('close', r));
  assert.deepEqual(consistentState(b), [{ name: 'orphan', status: 'running' }]);
  assert.equal(b.ok(['logs', 'orphan']), 'hello\n');
  // attach again: it follows the container until it exits, with its exit status. Output
  // written before attach has connected is not replayed (docker's attach neither), so the
  // container is made to print until the attached client has seen it.
  const attach = spawn(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'attach', 'orphan'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  let attachErr = '';
  attach.stdout.on('data', (d: Buffer) => (seen += d.toString()));
  attach.stderr.on('data', (d: Buffer) => (attachErr += d.toString()));
  const attachExit = new Promise<number | null>((r) => attach.once('close', r));
  assert.ok(await until(() => b.run(['exec', 'orphan', 'sh', '-c', 'echo from-exec > /proc/1/fd/1']).code === 0 && seen.includes('from-exec')), `attach saw: ${seen}`);
  b.ok(['stop', 'orphan']);
  assert.equal(await attachExit, 0, attachErr);
  assert.match(seen, /from-exec/);
  assert.equal(b.ok(['inspect', '-f', '{{.State.ExitCode}}', 'orphan']).trim(), '0');
  removeAllAndCheck(b);
});

test('kill -9 of the shim: the container is killed and recorded as exit 255, nothing leaks', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const id = b.ok(['run', '-d', '--name', 'unmonitored', img, 'sleep', '1000']).trim();
  const shimPid = Number(readFileSync(join(b.runRoot, 'c', id, 'shim.pid'), 'utf8').split(' ')[0]);
  process.kill(shimPid, 'SIGKILL');
  await until(() => {
    try {
      process.kill(shimPid, 0);
      return false;
    } catch {
      return true;
    }
  });
  assert.deepEqual(consistentState(b), [{ name: 'unmonitored', status: 'exited' }]);
  assert.equal(b.ok(['inspect', '-f', '{{.State.ExitCode}}', 'unmonitored']).trim(), '255');
  assert.match(b.ok(['inspect', '-f', '{{.State.Error}}', 'unmonitored']), /berth-shim\) was killed/);
  assert.deepEqual(b.leaks(), [], 'the container was killed and torn down');
  removeAllAndCheck(b);
});

test('concurrent run --name same: exactly one wins, the others fail with a conflict, nothing leaks', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const results = await Promise.all(Array.from({ length: 6 }, () => runAsync(b, ['run', '-d', '--name', 'same', img, 'sleep', '1000'])));
  const winners = results.filter((r) => r.code === 0);
  assert.equal(winners.length, 1, results.map((r) => `${r.code} ${r.stderr}`).join('\n'));
  for (const r of results.filter((x) => x.code !== 0)) assert.match(r.stderr, /Conflict\. The container name "\/same" is already in use|is being claimed/);
  assert.deepEqual(consistentState(b), [{ name: 'same', status: 'running' }]);
  removeAllAndCheck(b);
});

test('many parallel run -d, then parallel rm -f of all of them', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const n = 16;
  const runs = await Promise.all(Array.from({ length: n }, (_, i) => runAsync(b, ['run', '-d', '--name', `par${i}`, img, 'sleep', '1000'])));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const seen = consistentState(b);
  assert.equal(seen.filter((s) => s.status === 'running').length, n);
  const rms = await Promise.all(seen.map((s) => runAsync(b, ['rm', '-f', s.name])));
  for (const r of rms) assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(consistentState(b), []);
  assert.deepEqual(b.residue(), []);
});
