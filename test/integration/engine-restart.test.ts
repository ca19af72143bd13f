/**
 * Restart policies (and pause) when a process in the middle is killed or races a user's
 * command, and a reboot: the run root (a tmpfs) empty, every process, mount and cgroup gone. Black-box
 * through `berth`; the in-between states are reached through crash points
 * (BERTH_CRASH_AT, src/core/crash-point.ts) or by killing Berth's own processes, never by
 * timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH, BerthCli, importBusybox, until, engineSkip, cliPerTest, alive } from '../helpers/cli';

const skip = engineSkip();
const cli = cliPerTest();


async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  assert.ok(await until(() => !alive(pid)), `pid ${pid} ended`);
}

const state = (b: BerthCli, name: string) => b.run(['inspect', '-f', '{{.State.Status}} {{.RestartCount}}', name]).stdout.trim();
const shimPid = (b: BerthCli, id: string) => Number(readFileSync(join(b.runRoot, 'c', id, 'shim.pid'), 'utf8').split(' ')[0]);

test('rm -f of a container waiting out its restart backoff removes it', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'looping', '--restart', 'always', img, 'sh', '-c', 'exit 1']);
  // The backoff doubles from 100 ms: by the 6th restart it lasts seconds.
  assert.ok(await until(() => /^restarting ([6-9]|\d\d)$/.test(state(b, 'looping')), 60_000), state(b, 'looping'));
  const r = b.run(['rm', '-f', 'looping']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(b.ok(['ps', '-aq']), '');
  assert.deepEqual(b.residue(), []);
});

test('the exit command killed in the restart backoff: system check finds it, the next command restarts it, rm -f removes it', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  // The crash variable reaches the shim's exit command, which dies once it recorded the backoff.
  b.ok(['run', '-d', '--name', 'stuck', '--restart', 'always', img, 'sh', '-c', 'sleep 1000 & exit 1'], { env: { BERTH_CRASH_AT: 'restart:waiting' } });
  b.ok(['run', '-d', '--name', 'stuck2', '--restart', 'always', img, 'sh', '-c', 'exit 1'], { env: { BERTH_CRASH_AT: 'restart:waiting' } });
  // ps -a would already take the restart over: look at the records through system check first
  assert.ok(await until(() => (b.run(['system', 'check']).stdout.match(/^stuck-restart: /gm) ?? []).length === 2));
  const found = b.run(['system', 'check']);
  assert.equal(found.code, 1);
  assert.match(found.stdout, /stuck-restart: container stuck \([0-9a-f]{12}\) is restarting, but the process waiting out its restart backoff is gone/);
  const r = b.run(['rm', '-f', 'stuck2']);
  assert.equal(r.code, 0, `rm -f of a stuck restart: ${r.stderr}`);
  const repaired = b.run(['system', 'check', '--repair']);
  assert.equal(repaired.code, 0, repaired.stdout);
  assert.ok(await until(() => /^(running|restarting) [1-9]/.test(state(b, 'stuck'))), state(b, 'stuck'));
  assert.equal(b.ok(['system', 'check']), 'No problems found.\n');
  b.ok(['rm', '-f', 'stuck']);
  assert.deepEqual(b.residue(), []);
});

test('--restart always: a killed shim is recorded as exit 255 and the policy applies: it runs again', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const id = b.ok(['run', '-d', '--name', 'phoenix', '--restart', 'always', img, 'sleep', '1000']).trim();
  const plain = b.ok(['run', '-d', '--name', 'plain', img, 'sleep', '1000']).trim();
  await killAndWait(shimPid(b, id));
  await killAndWait(shimPid(b, plain));
  // the first command that notices settles it and applies the policy
  assert.ok(await until(() => state(b, 'phoenix') === 'running 1'), state(b, 'phoenix'));
  assert.equal(b.ok(['exec', 'phoenix', 'echo', 'back']), 'back\n');
  assert.equal(state(b, 'plain'), 'exited 0', 'no policy: it stays exited');
  assert.equal(b.ok(['inspect', '-f', '{{.State.ExitCode}}', 'plain']).trim(), '255');
  b.ok(['rm', '-f', 'phoenix', 'plain']);
  assert.deepEqual(b.residue(), []);
});

test('stop of a container whose exit was noticed before its exit command ran: the late exit command does not restart it', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  // The exit command dies at once, as if it had not run yet.
  const id = b.ok(['run', '-d', '--name', 'late', '--restart', 'always', img, 'true'], { env: { BERTH_CRASH_AT: 'cleanup:begin' } }).trim();
  assert.ok(await until(() => existsSync(join(b.runRoot, 'c', id, 'exit.json'))));
  b.ok(['stop', 'late']);
  const count = state(b, 'late');
  // ...and now it runs: the restart policy must see the user's stop.
  spawnSync(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'container', 'cleanup', id]);
  assert.equal(state(b, 'late'), count);
  assert.match(count, /^exited /);
  b.ok(['rm', '-f', 'late']);
  assert.deepEqual(b.residue(), []);
});

test('pause or unpause killed between the freezer and the record: pause, unpause, stop and rm -f still work', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'frosty', img, 'sleep', '1000']);
  b.ok(['run', '-d', '--name', 'frozen', img, 'sleep', '1000']);
  for (const name of ['frosty', 'frozen']) assert.equal(b.run(['pause', name], { env: { BERTH_CRASH_AT: 'pause:frozen' } }).signal, 'SIGKILL');
  assert.equal(state(b, 'frosty'), 'running 0', 'recorded running, frozen in fact');
  b.ok(['pause', 'frosty']);
  assert.equal(b.run(['unpause', 'frosty'], { env: { BERTH_CRASH_AT: 'unpause:thawed' } }).signal, 'SIGKILL');
  assert.equal(state(b, 'frosty'), 'paused 0', 'recorded paused, running in fact');
  b.ok(['unpause', 'frosty']);
  assert.equal(b.ok(['exec', 'frosty', 'echo', 'thawed']), 'thawed\n');
  b.ok(['stop', '-t', '1', 'frozen']);
  assert.equal(state(b, 'frozen'), 'exited 0');
  b.ok(['run', '-d', '--name', 'icy', img, 'sleep', '1000']);
  assert.equal(b.run(['pause', 'icy'], { env: { BERTH_CRASH_AT: 'pause:frozen' } }).signal, 'SIGKILL');
  b.ok(['rm', '-f', 'icy', 'frosty', 'frozen']);
  assert.deepEqual(b.residue(), []);
});

/**
 * What a reboot does to one container: its shim and processes killed, its root file system
 * unmounted, its cgroups removed (only this container's, found through its process).
 */
async function powerOff(b: BerthCli, id: string): Promise<void> {
  const pid = Number(b.ok(['inspect', '-f', '{{.State.Pid}}', id]).trim());
  const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .filter((l) => l.includes(id))
    .map((l) => {
      const [, controllers, path] = l.split(':') as [string, string, string];
      const hierarchy = controllers === '' ? 'unified' : controllers.replace(/^name=/, '');
      return join('/sys/fs/cgroup', hierarchy, path);
    });
  await killAndWait(shimPid(b, id));
  await killAndWait(pid);
  for (const dir of cgroups) {
    if (!existsSync(dir)) continue;
    assert.ok(await until(() => {
      try {
        rmdirSync(dir);
        return true;
      } catch {
        return false;
      }
    }), `cgroup ${dir} removed`);
  }
}

test('after a reboot: ps, inspect, start and rm -f work, and system boot starts the always and unless-stopped containers', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const run = (name: string, ...flags: string[]) => b.ok(['run', '-d', '--name', name, ...flags, img, 'sleep', '1000']).trim();
  const ids = [run('plain'), run('gone'), run('always', '--restart', 'always'), run('unless', '--restart', 'unless-stopped'), run('failing', '--restart', 'on-failure')];
  const stopped = run('stopped-by-user', '--restart', 'unless-stopped');
  b.ok(['stop', '-t', '0', 'stopped-by-user']);
  for (const id of ids) await powerOff(b, id);
  for (const leak of b.leaks()) if (leak.startsWith('mount ')) assert.equal(spawnSync('umount', [leak.slice(6)]).status, 0, leak);
  assert.deepEqual(b.leaks(), [], 'nothing of the containers is left, as after a reboot');
  rmSync(b.runRoot, { recursive: true, force: true });

  const ps = b.run(['ps', '-a', '--format', '{{.Names}} {{.State}}']);
  assert.equal(ps.code, 0, ps.stderr);
  assert.deepEqual(ps.stdout.trim().split('\n').sort(), ['always exited', 'failing exited', 'gone exited', 'plain exited', 'stopped-by-user exited', 'unless exited']);
  assert.match(b.ok(['inspect', '-f', '{{.State.ExitCode}} {{.State.Error}}', 'plain']), /^255 .*restarted/);
  assert.equal(b.run(['rm', '-f', 'gone']).code, 0);
  b.ok(['start', 'plain']);
  assert.equal(b.ok(['exec', 'plain', 'echo', 'up']), 'up\n');
  const boot = b.run(['system', 'boot']);
  assert.equal(boot.code, 0, boot.stderr);
  assert.deepEqual(boot.stdout.trim().split('\n').sort(), ['always', 'unless']);
  const after = b.ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']).trim().split('\n').sort();
  assert.deepEqual(after, ['always running', 'failing exited', 'plain running', 'stopped-by-user exited', 'unless running']);
  assert.equal(b.ok(['exec', 'always', 'echo', 'up']), 'up\n');
  assert.equal(b.ok(['system', 'boot']), '', 'a second boot has nothing to start');
  assert.equal(b.ok(['system', 'check']), 'No problems found.\n');
  b.ok(['rm', '-f', 'plain', 'always', 'unless', 'failing', stopped]);
  assert.deepEqual(b.residue(), []);
});
