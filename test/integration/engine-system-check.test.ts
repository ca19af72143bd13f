/**
 * `system check [--repair]`: every inconsistency a killed berth process (or a hand-deleted
 * file) can leave is created on purpose, found, repaired, and afterwards the check is clean
 * and nothing leaks (mounts, cgroups, processes). Network leftovers (stale-network, idle-bridge,
 * unfinished-network): test/integration/network/recovery.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BerthCli, importBusybox, engineSkip, cliPerTest, alive } from '../helpers/cli';

const skip = engineSkip();
const cli = cliPerTest();
const layersDir = (b: BerthCli) => join(b.root, 'layers', existsSync(join(b.root, 'layers', 'overlay')) ? 'overlay' : 'copy');
const kinds = (out: string) => out.split('\n').filter((l) => /^[a-z-]+: /.test(l)).map((l) => l.slice(0, l.indexOf(':'))).sort();

test('system check: records, names, snapshots, volumes and staging left inconsistent', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  assert.equal(b.ok(['system', 'check']), 'No problems found.\n');
  const ghostId = randomBytes(32).toString('hex');
  mkdirSync(join(b.root, 'names'), { recursive: true });
  writeFileSync(join(b.root, 'names', 'ghost'), ghostId);
  const noLayer = b.ok(['create', '--name', 'nolayer', img]).trim();
  rmSync(join(layersDir(b), 'active', noLayer), { recursive: true });
  b.ok(['create', '--name', 'novol', '-v', 'vol1:/data', img]);
  rmSync(join(b.root, 'volumes', 'vol1'), { recursive: true });
  const half = b.ok(['create', '--name', 'half', img]).trim();
  const halfFile = join(b.root, 'containers', half, 'container.json');
  const rec = JSON.parse(readFileSync(halfFile, 'utf8')) as { State: { Status: string } };
  rec.State.Status = 'removing';
  writeFileSync(halfFile, JSON.stringify(rec));
  const killed = b.run(['create', '--name', 'halfmade', img], { env: { BERTH_CRASH_AT: 'create:snapshot' } });
  assert.notEqual(killed.code, 0, 'the create was killed half-way');
  const orphan = b.ok(['create', '--name', 'orphan', img]).trim();
  rmSync(join(b.root, 'containers', orphan), { recursive: true });
  const old = new Date(Date.now() - 3_600_000);
  const staleVolume = join(b.root, 'volumes', `.creating-x-${process.pid}-abcd1234`);
  mkdirSync(join(staleVolume, '_data'), { recursive: true });
  utimesSync(staleVolume, old, old);
  mkdirSync(join(layersDir(b), 'staging', 'deadbeefdeadbeef', 'fs'), { recursive: true });
  let deadPid = 4_000_000;
  while (alive(deadPid)) deadPid++;
  mkdirSync(join(b.root, 'tmp', `${deadPid}-abcdef`), { recursive: true });

  const found = b.run(['system', 'check']);
  assert.equal(found.code, 1, 'problems without --repair: exit 1');
  assert.deepEqual(kinds(found.stdout), ['missing-rootfs', 'missing-volume', 'orphan-snapshot', 'stale-name', 'stale-name', 'stale-staging', 'stale-staging', 'stale-staging', 'unfinished-create', 'unfinished-removal']);
  assert.match(found.stdout, /stale-name: name "ghost" is held for container [0-9a-f]{12}, which has no record \[repair: release the name\]/);
  assert.match(found.stdout, /stale-name: name "orphan"/);
  assert.match(found.stdout, /missing-rootfs: container nolayer \([0-9a-f]{12}\) lost its writable layer/);
  assert.match(found.stdout, /missing-volume: volume vol1 of container novol is missing/);
  assert.match(found.stdout, /unfinished-removal: container half \([0-9a-f]{12}\) was being removed when its process stopped/);
  assert.match(found.stdout, /unfinished-create: container halfmade \([0-9a-f]{12}\) was being created when its process stopped \[repair: take the half-made container back\]/);
  assert.match(found.stdout, new RegExp(`orphan-snapshot: writable layer ${orphan.slice(0, 12)} belongs to no container`));
  assert.match(found.stdout, /stale-staging: 1 unfinished layer unpack\(s\) and 0 unfinished deletion\(s\) under .* \[repaired: delete them \(berth does so whenever it opens its layer store\)\]/, 'repaired by any command: reported as such');
  assert.match(found.stdout, /10 problems found, 1 repaired; run berth system check --repair to repair them\.\n$/);

  const repaired = b.run(['system', 'check', '--repair']);
  assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
  assert.match(repaired.stdout, /9 problems found, 9 repaired\.\n$/);
  assert.equal(b.ok(['system', 'check']), 'No problems found.\n');
  assert.equal(b.ok(['inspect', '-f', '{{.State.Status}}', 'nolayer']).trim(), 'dead');
  assert.match(b.ok(['inspect', '-f', '{{.State.Error}}', 'nolayer']), /writable layer \(snapshot\) is missing/);
  assert.equal(b.ok(['rm', 'nolayer']), 'nolayer\n', 'a dead container can be removed');
  assert.ok(b.ok(['volume', 'ls', '-q']).split('\n').includes('vol1'), 'the lost volume exists again');
  assert.equal(b.run(['inspect', 'half']).code, 1, 'the removal was finished');
  assert.equal(b.run(['inspect', 'halfmade']).code, 1, 'the half-made container was taken back');
  assert.ok(!existsSync(join(layersDir(b), 'active', orphan)));
  assert.ok(!existsSync(staleVolume) && !existsSync(join(layersDir(b), 'staging', 'deadbeefdeadbeef')) && !existsSync(join(b.root, 'tmp', `${deadPid}-abcdef`)));
  b.ok(['create', '--name', 'ghost', img]);
  b.ok(['create', '--name', 'orphan', img]);
  b.ok(['start', '-a', 'novol']);
});

test('system check: a dead monitor, a lost record of a running container, orphan cgroups and temporary mounts', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const lost = b.ok(['run', '-d', '--name', 'lostshim', img, 'sleep', '1000']).trim();
  const lostPid = Number(b.ok(['inspect', '-f', '{{.State.Pid}}', 'lostshim']));
  const runaway = b.ok(['run', '-d', '--name', 'runaway', img, 'sleep', '1000']).trim();
  const runawayPid = Number(b.ok(['inspect', '-f', '{{.State.Pid}}', 'runaway']));
  const cold = b.ok(['create', '--name', 'cold', img]).trim();
  b.containerIds(); // remember the ids for the leak check
  // From here on no other berth command may run before the check: any of them would settle
  // the container whose monitor is gone (that is the point of it).
  const shimPid = Number(readFileSync(join(b.runRoot, 'c', lost, 'shim.pid'), 'utf8').split(' ')[0]);
  process.kill(shimPid, 'SIGKILL');
  // The record (and name) gone while it runs: what a crash mid-`rm` of a running container leaves.
  rmSync(join(b.root, 'containers', runaway), { recursive: true });
  rmSync(join(b.root, 'names', 'runaway'));
  for (const ctl of ['memory', 'pids']) mkdirSync(join('/sys/fs/cgroup', ctl, 'berth', cold), { recursive: true });
  const tempMount = join(b.runRoot, 'mnt', `${cold.slice(0, 12)}-0badf00d`);
  mkdirSync(tempMount, { recursive: true });
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', tempMount]).status, 0);

  const found = b.run(['system', 'check']);
  assert.equal(found.code, 1);
  assert.deepEqual(kinds(found.stdout), ['lost-monitor', 'orphan-cgroup', 'orphan-snapshot', 'stale-mount', 'stale-network', 'stale-run-dir', 'stale-runtime-state']);
  assert.match(found.stdout, new RegExp(`stale-network: container ${runaway.slice(0, 12)} \\(it has no record\\) still holds`));
  assert.match(found.stdout, /lost-monitor: container lostshim \([0-9a-f]{12}\) is recorded as running, but its monitor \(berth-shim\) is gone/);
  assert.match(found.stdout, new RegExp(`stale-runtime-state: runtime state of container ${runaway.slice(0, 12)}, which is not running`));
  assert.match(found.stdout, new RegExp(`orphan-cgroup: cgroup /berth/${cold.slice(0, 12)} is left from a container that is not running`));
  assert.match(found.stdout, /stale-mount: temporary mount .*0badf00d of a copy or export that did not finish/);
  assert.ok(alive(lostPid) && alive(runawayPid), 'a check without --repair changes nothing');

  const repaired = b.run(['system', 'check', '--repair']);
  assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
  assert.match(repaired.stdout, /7 problems found, 7 repaired\.\n$/);
  assert.equal(b.ok(['system', 'check']), 'No problems found.\n');
  for (let i = 0; i < 100 && (alive(lostPid) || alive(runawayPid)); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(!alive(lostPid) && !alive(runawayPid), 'the leftover processes were killed');
  assert.equal(b.ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'lostshim']).trim(), 'exited 255');
  assert.ok(!existsSync(tempMount));
  assert.ok(!existsSync(join(b.runRoot, 'runtime', runaway)));
  assert.ok(!existsSync(join(b.runRoot, 'c', runaway)), 'its monitor\'s directory went too');
  assert.deepEqual(b.leaks(), [], 'no mount or cgroup left');
});
