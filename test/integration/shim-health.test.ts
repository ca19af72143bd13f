/**
 * Health-check scheduling by berth-shim: nothing before the engine reports the container
 * started, then the check command at the interval, one at a time; a check that overstays
 * its timeout is killed (with what it started) and the schedule goes on; none after exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readyThenSleep, OUT } from '../helpers/bundle';
import { eventually, shimCase, shimSkipReason } from '../helpers/shim';

const skip = shimSkipReason();

/** Lines the check command appended: "<event> <host time in ns>". */
function events(file: string): Array<{ what: string; ns: bigint }> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [what, ns] = l.split(' ');
      return { what: what!, ns: BigInt(ns!) };
    });
}

test('health: checks run only after STARTED, repeatedly, one at a time, with the given argv', { skip }, async () => {
  const c = shimCase('health-schedule', (cfg) => {
    cfg.process!.args = readyThenSleep();
  });
  try {
    const file = join(c.dir, 'checks.txt');
    // each check records its start and end; it takes a moment so overlaps would show
    const script = `echo "start $(date +%s%N) $1" >> ${file}; sleep 0.05; echo "end $(date +%s%N)" >> ${file}`;
    const l = await c.launch({ health: { command: ['/bin/sh', '-c', script, 'sh', 'arg-one'], intervalMs: 50, timeoutMs: 10_000 } });
    // created, not started: no checks (give a wrong early schedule time to show itself)
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(events(file), [], 'no check before the container is started');
    const startedAt = BigInt(Date.now()) * 1_000_000n;
    await c.run();
    await c.bundle.waitForOut('ready');
    await eventually('three completed checks', () => (events(file).filter((e) => e.what === 'end').length >= 3 ? true : undefined));
    const ev = events(file);
    assert.ok(ev[0]!.ns >= startedAt, 'the first check came after the start');
    assert.match(readFileSync(file, 'utf8'), /^start \d+ arg-one$/m, 'the argv reaches the command');
    // strictly alternating start/end: never two checks at once
    for (let i = 0; i + 1 < ev.length; i++) assert.notEqual(ev[i]!.what, ev[i + 1]!.what, `no overlap at event ${i}`);
    process.kill(l.containerPid, 'SIGKILL');
    await c.waitExit();
    // after the exit no more checks start (the shim is gone)
    const n = events(file).filter((e) => e.what === 'start').length;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(events(file).filter((e) => e.what === 'start').length, n);
  } finally {
    await c.cleanup();
  }
});

test('health: a check still running after the timeout is killed with its process group, and checks go on', { skip }, async () => {
  const c = shimCase('health-timeout', (cfg) => {
    cfg.process!.args = readyThenSleep();
  });
  try {
    const file = join(c.dir, 'checks.txt');
    // the check starts a child and hangs; both must go when the shim kills it
    const script = `sleep 1000 & echo "start $(date +%s%N) $!" >> ${file}; wait`;
    const l = await c.launch({ health: { command: ['/bin/sh', '-c', script], intervalMs: 50, timeoutMs: 100 } });
    await c.run();
    await c.bundle.waitForOut('ready');
    await eventually('two checks started', () => (events(file).length >= 2 ? true : undefined));
    // the first check's child is gone (killed with the group), not left behind
    const firstChild = Number(readFileSync(file, 'utf8').split('\n')[0]!.split(' ')[2]);
    await eventually('the hung check child to be gone', () => (existsSync(`/proc/${firstChild}`) ? undefined : true));
    assert.match(readFileSync(join(c.dir, 'shim.log'), 'utf8'), /health check \d+ still running after 100 ms: killed/);
    process.kill(l.containerPid, 'SIGKILL');
    await c.waitExit();
  } finally {
    await c.cleanup();
  }
});

test('health: during the start period the start interval applies', { skip }, async () => {
  const c = shimCase('health-start', (cfg) => {
    cfg.process!.args = ['sh', '-c', `echo ready > ${OUT}/ready; exec sleep 1000`];
  });
  try {
    const file = join(c.dir, 'checks.txt');
    // interval far beyond the test: any check seen came from the start interval
    const l = await c.launch({
      health: { command: ['/bin/sh', '-c', `echo "start $(date +%s%N)" >> ${file}`], intervalMs: 3_600_000, timeoutMs: 10_000, startPeriodMs: 3_600_000, startIntervalMs: 30 },
    });
    await c.run();
    await eventually('checks at the start interval', () => (events(file).length >= 3 ? true : undefined));
    process.kill(l.containerPid, 'SIGKILL');
    await c.waitExit();
  } finally {
    await c.cleanup();
  }
});
