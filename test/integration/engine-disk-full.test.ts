/**
 * A full disk (issue 9, item 15): ending a container never depends on writing its record
 * first, and every ENOSPC names the path and says the disk is full. The state root and run
 * root are a small private tmpfs that the test fills up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { importBusybox, engineSkip, cliPerTest, until, alive } from '../helpers/cli';

const skip = engineSkip();
const cli = cliPerTest();


/** Writes zeros to `file` until the file system says ENOSPC. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  // the last few bytes too
  const small = openSync(`${file}.tail`, 'w');
  try {
    for (;;) writeSync(small, Buffer.alloc(512));
  } catch {
    /* full */
  } finally {
    closeSync(small);
  }
}

test('on a full disk, stop, kill and rm -f end the container; ENOSPC names the path; import says the disk is full', { skip }, async (t) => {
  const mnt = mkdtempSync('/tmp/bdf-');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', 'tmpfs', mnt]);
  if (mounted.status !== 0) return t.skip(`cannot mount a tmpfs: ${mounted.stderr}`);
  const b = cli(t);
  const own = b as unknown as { root: string; runRoot: string };
  const [oldRoot, oldRun] = [b.root, b.runRoot];
  own.root = join(mnt, 'root');
  own.runRoot = join(mnt, 'run');
  mkdirSync(b.root);
  mkdirSync(b.runRoot);
  t.after(() => {
    rmSync(join(mnt, 'filler'), { force: true });
    rmSync(join(mnt, 'filler.tail'), { force: true });
    b.cleanup();
    // Lazily if still busy (a failed run may leave a container behind): never stay mounted.
    if (spawnSync('umount', [mnt]).status !== 0) spawnSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
    own.root = oldRoot;
    own.runRoot = oldRun;
  });
  const img = importBusybox(b);
  const pids: Record<string, number> = {};
  for (const name of ['stopped', 'killed', 'removed']) {
    b.ok(['run', '-d', '--name', name, img, 'sleep', '1000']);
    pids[name] = Number(b.ok(['inspect', '-f', '{{.State.Pid}}', name]).trim());
    assert.ok(pids[name]! > 0);
  }
  // A layer the store does not have yet, to import on the full disk.
  const tarDir = mkdtempSync('/tmp/bdf-src-');
  t.after(() => rmSync(tarDir, { recursive: true, force: true }));
  mkdirSync(join(tarDir, 'rootfs'));
  writeFileSync(join(tarDir, 'rootfs', 'blob'), Buffer.alloc(4 * 1024 * 1024, 7));
  spawnSync('tar', ['-C', join(tarDir, 'rootfs'), '-cf', join(tarDir, 'big.tar'), '.']);

  fill(join(mnt, 'filler'));

  const stop = b.run(['stop', '-t', '1', 'stopped']);
  assert.equal(stop.code, 0, `stop on a full disk: ${stop.stderr}`);
  const kill = b.run(['kill', 'killed']);
  assert.equal(kill.code, 0, `kill on a full disk: ${kill.stderr}`);
  const rm = b.run(['rm', '-f', 'removed']);
  assert.equal(rm.code, 0, `rm -f on a full disk: ${rm.stderr}`);
  for (const [name, pid] of Object.entries(pids)) assert.ok(await until(() => !alive(pid)), `${name} (pid ${pid}) ended`);

  const imp = b.run(['import', join(tarDir, 'big.tar'), 'big']);
  assert.notEqual(imp.code, 0);
  assert.match(imp.stderr, /^Error: no space left on device writing \/tmp\/bdf-[^ ]+: the disk is full\nhint: free space/);
  assert.doesNotMatch(imp.stderr, /aborted/);

  rmSync(join(mnt, 'filler'));
  rmSync(join(mnt, 'filler.tail'));
  const ps = b.ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']).split('\n').filter(Boolean).sort();
  assert.deepEqual(ps, ['killed exited', 'stopped exited']);
  b.ok(['rm', 'killed', 'stopped']);
  assert.deepEqual(b.residue(), []);
});
