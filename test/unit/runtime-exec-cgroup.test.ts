/** `exec --cgroup` parsing (runc's syntax) and the runtime CLI's command-word scan. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cgroupTargets } from '../../src/runtime/exec';
import { BerthError } from '../../src/core/errors';

function fakeHierarchies(t: { after: (fn: () => void) => void }): Record<string, string> {
  const root = mkdtempSync(join(tmpdir(), 'berth-exec-cgroup-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dirs = { memory: join(root, 'memory/c'), cpu: join(root, 'cpu,cpuacct/c'), pids: join(root, 'pids/c') };
  for (const d of Object.values(dirs)) {
    mkdirSync(join(d, 'sub'), { recursive: true });
    writeFileSync(join(d, 'cgroup.procs'), '');
    writeFileSync(join(d, 'sub', 'cgroup.procs'), '');
  }
  return { memory: dirs.memory, cpu: dirs.cpu, cpuacct: dirs.cpu, pids: dirs.pids };
}

test('exec --cgroup: none, "/", SUB and CTRL[,CTRL]:SUB pick one directory per hierarchy', (t) => {
  const paths = fakeHierarchies(t);
  const base = [paths.memory!, paths.cpu!, paths.pids!];
  assert.deepEqual(cgroupTargets(paths, []), base);
  assert.deepEqual(cgroupTargets(paths, ['/']), base, '"/" is the container\'s own cgroup');
  assert.deepEqual(cgroupTargets(paths, ['sub']), base.map((d) => join(d, 'sub')));
  assert.deepEqual(cgroupTargets(paths, ['memory:sub']), [join(paths.memory!, 'sub'), paths.cpu!, paths.pids!]);
  assert.deepEqual(cgroupTargets(paths, ['cpuacct:sub']), [paths.memory!, join(paths.cpu!, 'sub'), paths.pids!], 'a co-mounted controller moves its hierarchy');
  assert.deepEqual(cgroupTargets(paths, ['sub', 'pids:/']), [join(paths.memory!, 'sub'), join(paths.cpu!, 'sub'), paths.pids!], 'a controller-specific entry wins');
});

test('exec --cgroup: escapes, unknown controllers and missing sub-cgroups are refused before anything runs', (t) => {
  const paths = fakeHierarchies(t);
  for (const bad of ['..', '../x', 'sub/../..', 'memory:..']) assert.throws(() => cgroupTargets(paths, [bad]), (e: unknown) => e instanceof BerthError && /bad sub cgroup path/.test(e.message), bad);
  assert.throws(() => cgroupTargets(paths, ['whaaat:/']), /unknown controller "whaaat"/);
  assert.throws(() => cgroupTargets(paths, ['missing']), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND');
});
