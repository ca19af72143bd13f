/**
 * Races between commands over the container store (issue 9): readers (`ps -a`) beside many
 * `run --rm`, generated names drawn twice, half-made creates. No timing is asserted: the
 * tests run many commands at once and check every outcome.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthCli, importBusybox, type CliResult, engineSkip, cliPerTest, runAsync } from '../helpers/cli';
import { tryLock } from '../../src/core/lock';

const skip = engineSkip();
const cli = cliPerTest();
const layersDir = (b: BerthCli) => join(b.root, 'layers', existsSync(join(b.root, 'layers', 'overlay')) ? 'overlay' : 'copy');


test('parallel run --rm with ps -a alongside: every run gets its exit status, no ps fails', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const n = 24;
  let running = true;
  const psResults: CliResult[] = [];
  const psLoop = (async () => {
    while (running) psResults.push(await runAsync(b, ['ps', '-a']));
  })();
  const runs = await Promise.all(
    Array.from({ length: n }, (_, i) => runAsync(b, ['run', '--rm', img, 'sh', '-c', `exit ${i % 3}`]).then((r) => ({ i, r }))),
  );
  running = false;
  await psLoop;
  for (const { i, r } of runs) assert.equal(r.code, i % 3, `run ${i}: exit ${r.code}: ${r.stderr}`);
  for (const p of psResults) assert.equal(p.code, 0, `ps -a: ${p.stderr}`);
  assert.deepEqual(b.residue(), []);
});

test('a generated name claimed meanwhile is drawn again; a given name still conflicts', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['create', '--name', 'holder', img, 'true']);
  const holder = b.ok(['inspect', '-f', '{{.Id}}', 'holder']).trim();
  // A create's claim in flight, as another process sees it between its own check and its
  // claim: the name file points at a record (of another name) whose lock is held.
  writeFileSync(join(b.root, 'names', 'lucid_crane'), holder);
  const lock = tryLock(join(b.root, 'containers', holder, 'lock'));
  assert.ok(lock);
  try {
    const env = { BERTH_TEST_NAME_DRAWS: 'lucid_crane,lucid_crane,lucid_crane,swift_tug' };
    b.ok(['create', img, 'true'], { env });
    assert.match(b.ok(['ps', '-a', '--format', '{{.Names}}']), /^swift_tug$/m);
    const given = b.run(['create', '--name', 'lucid_crane', img, 'true'], { env });
    assert.notEqual(given.code, 0);
    assert.match(given.stderr, /Conflict\. The container name "\/lucid_crane" is already in use/);
  } finally {
    lock.release();
  }
});

for (const step of ['create:dir', 'create:snapshot-dir'] as const) {
  for (const cleaner of [['system', 'check', '--repair'], ['ps', '-a'], ['system', 'prune', '-f']]) {
    test(`a create killed at ${step} leaves nothing after \`${cleaner.join(' ')}\``, { skip }, (t) => {
      const b = cli(t);
      const img = importBusybox(b);
      const killed = b.run(['create', '--name', 'early', img, 'true'], { env: { BERTH_CRASH_AT: step } });
      assert.equal(killed.signal, 'SIGKILL', `create reached ${step}: ${killed.stderr}`);
      const ids = readdirSync(join(b.root, 'containers')).filter((e) => /^[0-9a-f]{64}$/.test(e));
      assert.equal(ids.length, 1, 'the killed create left its directory');
      // As a create killed inside its first record write leaves it:
      writeFileSync(join(b.root, 'containers', ids[0]!, `.tmp-container.json-99999-abcd`), '{"Id":');
      if (step === 'create:snapshot-dir') {
        const active = join(layersDir(b), 'active', ids[0]!);
        assert.ok(existsSync(active) && !existsSync(join(active, 'snapshot.json')), 'a snapshot directory without its record');
        writeFileSync(join(active, 'snapshot.json.tmp-99999'), '{');
      }
      const found = b.run(['system', 'check']);
      assert.equal(found.code, 1, `system check finds it:\n${found.stdout}`);
      b.ok(cleaner);
      assert.deepEqual(b.residue(), []);
      assert.equal(b.ok(['system', 'check']), 'No problems found.\n');
      b.ok(['run', '--rm', '--name', 'early', img, 'true']);
    });
  }
}

test('a create at work is left alone: its directory goes only once its lock is free', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['create', '--name', 'other', img, 'true']);
  const id = randomBytes(32).toString('hex');
  const dir = join(b.root, 'containers', id);
  mkdirSync(dir);
  const lock = tryLock(join(dir, 'lock'));
  assert.ok(lock);
  try {
    b.ok(['ps', '-a']);
    const check = b.run(['system', 'check', '--repair']);
    assert.equal(check.code, 0, check.stdout);
    assert.ok(existsSync(dir), 'a directory whose create holds its lock is not touched');
  } finally {
    lock.release();
  }
  b.ok(['ps', '-a']);
  assert.ok(!existsSync(dir), 'once its lock is free, it is a dead create\'s');
  b.ok(['rm', 'other']);
  assert.deepEqual(b.residue(), []);
});
