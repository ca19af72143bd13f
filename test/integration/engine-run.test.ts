/**
 * The engine's everyday container commands, black-box through `berth`: run (attached and
 * detached), logs, exec, stop, rm, ps, and the seeds' examples (isolated ps, memory limit,
 * -e, -v host:ctr:ro, a detached service with logs). Every test checks that removal leaves no
 * mount or cgroup behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { importBusybox, sleep, until, engineSkip, cliPerTest } from '../helpers/cli';

const skip = engineSkip();
const cli = cliPerTest();

test('run: isolated process list, hostname, memory limit, env, read-only bind mount, exit code', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const host = mkdtempSync(join(tmpdir(), 'berth-run-bind-'));
  t.after(() => rmSync(host, { recursive: true, force: true }));
  writeFileSync(join(host, 'greeting'), 'hello from the host\n');
  const r = b.run(['run', '--rm', '--name', 'seed', '-h', 'box', '-m', '64m', '-e', 'COLOUR=blue', '-v', `${host}:/data:ro`, img, 'sh', '-c',
    'ps -o pid,comm; hostname; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; echo $COLOUR; cat /data/greeting; touch /data/x 2>/dev/null || echo read-only; exit 3']);
  assert.equal(r.code, 3, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[1]!, /^\s*1 sh$/, 'the shell is PID 1');
  assert.equal(lines.filter((l) => /^\s*\d+ /.test(l)).length, 2, 'only the shell and ps are visible');
  assert.ok(lines.includes('box'));
  assert.ok(lines.includes(String(64 * 1024 * 1024)));
  assert.ok(lines.includes('blue'));
  assert.ok(lines.includes('hello from the host'));
  assert.ok(lines.includes('read-only'));
  assert.ok(!existsSync(join(host, 'x')));
  assert.equal(b.ok(['ps', '-aq']).trim(), '', '--rm removed the container');
  assert.deepEqual(b.leaks(), []);
});

test('run -d: a detached service with logs, exec, stop and rm', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const id = b.ok(['run', '-d', '--name', 'svc', img, 'sh', '-c', 'echo started; echo oops >&2; trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done']).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.ok(await until(() => b.run(['logs', 'svc']).stdout.includes('started')));
  const logs = b.run(['logs', 'svc']);
  assert.equal(logs.stdout, 'started\n');
  assert.equal(logs.stderr, 'oops\n', 'stderr lines stay on stderr');
  assert.match(b.ok(['logs', '-t', 'svc']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z started$/m);
  const ps = b.ok(['ps']).split('\n');
  assert.match(ps[0]!, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
  assert.match(ps[1]!, new RegExp(`^${id.slice(0, 12)}\\s+${img}\\s+"sh -c echo started;…"\\s+.* ago\\s+Up .*\\s+svc$`));
  assert.equal(b.ok(['exec', 'svc', 'sh', '-c', 'echo $((6*7))']).trim(), '42');
  assert.equal(b.run(['exec', 'svc', 'sh', '-c', 'exit 5']).code, 5);
  assert.equal(b.ok(['exec', '-u', 'nobody', 'svc', 'id', '-u']).trim(), '65534');
  assert.equal(b.ok(['stop', 'svc']).trim(), 'svc');
  assert.match(b.ok(['ps', '-a', '--format', '{{.Status}}']), /^Exited \(0\) /);
  assert.equal(b.ok(['logs', '--tail', '1', 'svc']), 'bye\n');
  assert.equal(b.ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'svc']).trim(), 'exited 0');
  assert.equal(b.ok(['rm', 'svc']).trim(), 'svc');
  assert.equal(b.ok(['ps', '-aq']).trim(), '');
  b.containerIds();
  assert.deepEqual(b.leaks(), []);
});

test('stop: a PID 1 that ignores SIGTERM is killed after the timeout, and the user is told why', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'stubborn', img, 'sleep', '1000']);
  const r = b.run(['stop', '-t', '1', 'stubborn']);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /did not stop within 1s: its PID 1 ignored SIGTERM/);
  assert.equal(b.ok(['inspect', '-f', '{{.State.ExitCode}}', 'stubborn']).trim(), '137');
  const init = b.ok(['run', '-d', '--init', '--name', 'reaped', img, 'sleep', '1000']);
  assert.ok(init);
  const r2 = b.run(['stop', '-t', '5', 'reaped']);
  assert.doesNotMatch(r2.stderr, /did not stop/, '--init forwards SIGTERM to sleep, which dies of it');
  assert.equal(b.ok(['inspect', '-f', '{{.State.ExitCode}}', 'reaped']).trim(), '143');
});

test('errors: unknown image, name conflict, bad flags, missing command (recorded in ps -a), rm of a running container', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const missing = b.run(['run', '--pull', 'never', 'nosuchimage:1', 'true']);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /nosuchimage/);
  b.ok(['create', '--name', 'dup', img]);
  const dup = b.run(['create', '--name', 'dup', img]);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /Conflict\. The container name "\/dup" is already in use/);
  const mem = b.run(['run', '--memory', '12q', img]);
  assert.equal(mem.code, 125);
  assert.match(mem.stderr, /invalid size "12q" for --memory/);
  assert.match(mem.stderr, /hint: use a number of bytes/);
  const port = b.run(['run', '-p', 'abc', img]);
  assert.equal(port.code, 125);
  assert.match(port.stderr, /invalid -p "abc"/);
  assert.equal(b.ok(['ps', '-aq']).trim().split('\n').length, 1, 'refused creates left nothing');
  const nocmd = b.run(['run', '--name', 'nocmd', img, 'no-such-command']);
  assert.equal(nocmd.code, 127);
  assert.match(nocmd.stderr, /no-such-command/);
  assert.match(b.ok(['ps', '-a', '--filter', 'name=nocmd', '--format', '{{.Status}}']), /^Created/);
  assert.match(b.ok(['inspect', '-f', '{{.State.Error}}', 'nocmd']), /no-such-command/);
  b.ok(['run', '-d', '--name', 'busy', img, 'sleep', '100']);
  const rm = b.run(['rm', 'busy']);
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /container is running/);
  b.ok(['rm', '-f', 'busy', 'nocmd', 'dup']);
  const ghost = b.run(['stop', 'ghost']);
  assert.equal(ghost.code, 1);
  assert.match(ghost.stderr, /^Error: No such container: ghost$/m);
  b.containerIds();
  assert.deepEqual(b.leaks(), []);
});

test('volumes: named volume with copy-up from the image, anonymous volume removed by rm -v', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '--name', 'writer', '-v', 'shared:/etc', img, 'sh', '-c', 'echo hi > /etc/note']);
  const vols = b.ok(['volume', 'ls', '-q']).trim();
  assert.equal(vols, 'shared');
  const mp = b.ok(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'shared']).trim();
  assert.ok(readFileSync(join(mp, 'passwd'), 'utf8').includes('root:'), 'the image /etc was copied into the new volume');
  assert.equal(readFileSync(join(mp, 'note'), 'utf8'), 'hi\n');
  const inUse = b.run(['volume', 'rm', 'shared']);
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, /volume is in use/);
  b.ok(['run', '--name', 'anon', '-v', '/cache', img, 'true']);
  assert.equal(b.ok(['volume', 'ls', '-q']).trim().split('\n').length, 2);
  b.ok(['rm', '-v', 'anon', 'writer']);
  assert.equal(b.ok(['volume', 'ls', '-q']).trim(), 'shared', 'rm -v removes anonymous volumes, never named ones');
});

test('restart policies: on-failure with a limit, always until stopped', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', img, 'sh', '-c', 'exit 1']);
  assert.ok(await until(() => b.run(['inspect', '-f', '{{.RestartCount}} {{.State.Status}}', 'flaky']).stdout.trim() === '2 exited', 30_000));
  b.ok(['run', '-d', '--name', 'forever', '--restart', 'always', img, 'sh', '-c', 'sleep 0.3']);
  assert.ok(await until(() => Number(b.run(['inspect', '-f', '{{.RestartCount}}', 'forever']).stdout) >= 2, 30_000));
  b.ok(['stop', 'forever']);
  const count = b.ok(['inspect', '-f', '{{.RestartCount}}', 'forever']).trim();
  await sleep(1500);
  assert.equal(b.ok(['inspect', '-f', '{{.RestartCount}} {{.State.Running}}', 'forever']).trim(), `${count} false`, 'stop ends the restarts');
});

test('health checks are run by the shim and shown by ps', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'doc', '--health-cmd', 'test -e /tmp/ready', '--health-interval', '300ms', '--health-retries', '2', img, 'sh', '-c', 'sleep 1; touch /tmp/ready; sleep 100']);
  assert.match(b.ok(['ps', '--format', '{{.Status}}']), /health: starting|healthy/);
  assert.ok(await until(() => b.run(['ps', '--format', '{{.Status}}']).stdout.includes('(healthy)')));
  b.ok(['exec', 'doc', 'rm', '/tmp/ready']);
  assert.ok(await until(() => b.run(['ps', '--format', '{{.Status}}']).stdout.includes('(unhealthy)')));
  const log = JSON.parse(b.ok(['inspect', '-f', '{{json .State.Health}}', 'doc'])) as { Log: unknown[]; FailingStreak: number };
  assert.ok(log.Log.length <= 5 && log.FailingStreak >= 2);
});

test('rmi of an image a container uses is refused without -f', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['create', '--name', 'user', img]);
  const r = b.run(['rmi', img]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /is used by a container/);
  assert.match(r.stderr, /hint: remove the container first, or use --force/);
  assert.equal(b.ok(['images', '-q']).trim().length, 12, 'the image is still there');
  b.ok(['rm', 'user']);
  assert.match(b.ok(['rmi', img]), /^Untagged: /);
});
