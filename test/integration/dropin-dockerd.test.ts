/**
 * Drop-in: dockerd (through containerd and containerd-shim-runc-v2) runs containers with the
 * runtime under test, registered in its `runtimes` as "berth" and picked with
 * `docker run --runtime berth`. One private dockerd serves the whole file. Docker's defaults
 * are kept (its seccomp profile, capabilities, masked paths); one test opts out of seccomp to
 * cover the rest of the path on its own. Results are observed from inside (output, exit
 * status, /proc) and through docker (logs, inspect, top).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PrivateDockerd, RUNTIME_NAME, dockerdSkipReason } from '../helpers/dockerd';
import { readFileSync, readlinkSync } from 'node:fs';
import { commandReport } from '../helpers/host';

const skip = dockerdSkipReason();
let d: PrivateDockerd;

/** The host's docker0 (ifindex), if the user runs docker: it must outlive our dockerd. */
const hostDocker0 = (): string | undefined => {
  try {
    return readFileSync('/sys/class/net/docker0/ifindex', 'utf8').trim();
  } catch {
    return undefined;
  }
};
let docker0Before: string | undefined;

before(async () => {
  if (skip) return;
  docker0Before = hostDocker0();
  d = new PrivateDockerd('dropin-dockerd');
  try {
    await d.start();
    d.importImage();
  } catch (e) {
    await d.stop().catch(() => undefined);
    throw e;
  }
});

after(async () => {
  if (d) await d.stop();
});

test("dockerd and its children run in a network namespace of their own: the host's interfaces (docker0) are untouched", { skip }, () => {
  // Started with --bridge none, dockerd deletes the docker0 it finds: in the host's namespace
  // that is the user's own docker's bridge.
  const host = readlinkSync('/proc/self/ns/net');
  const pids = d.daemonPids();
  assert.ok(pids.length >= 2, `dockerd and its containerd, found ${pids.join(', ')}`);
  for (const pid of pids) assert.notEqual(readlinkSync(`/proc/${pid}/ns/net`), host, `process ${pid} of the private dockerd is in the host's network namespace`);
  assert.equal(d.networkNamespace(), readlinkSync(`/proc/${pids[1]}/ns/net`), 'one namespace for the daemon and its containerd');
  assert.equal(hostDocker0(), docker0Before, "the host's docker0 is unchanged");
});

/** `docker run` options of every test: our runtime, no network, a name carrying the test's. */
function runOpts(name: string): string[] {
  return ['--runtime', RUNTIME_NAME, '--network', 'none', '--name', name];
}

/** Says "ready", then waits; SIGTERM reaches it through a trap (pid 1 ignores untrapped ones). */
const TRAPPING_WAITER = ['sh', '-c', 'trap "echo got-TERM; exit 0" TERM; echo ready; while :; do sleep 1000000 & wait; done'];

test('dockerd: run --rm echo hi prints hi and exits 0', { skip }, (t) => {
  const name = d.forTest(t)();
  const r = d.docker(['run', '--rm', ...runOpts(name), d.image, 'echo', 'hi']);
  assert.equal(r.code, 0, commandReport('docker run', r));
  assert.equal(r.stdout, 'hi\n');
});

test('dockerd: exit status propagates; a missing command is 127, a non-executable one 126', { skip }, (t) => {
  const names = d.forTest(t);
  const exit = d.docker(['run', '--rm', ...runOpts(names('exit')), d.image, 'sh', '-c', 'exit 42']);
  assert.equal(exit.code, 42, commandReport('docker run exit 42', exit));
  const missing = d.docker(['run', '--rm', ...runOpts(names('missing')), d.image, 'no-such-command']);
  assert.equal(missing.code, 127, commandReport('docker run no-such-command', missing));
  const notExec = d.docker(['run', '--rm', ...runOpts(names('noexec')), d.image, '/etc/passwd']);
  assert.equal(notExec.code, 126, commandReport('docker run /etc/passwd', notExec));
});

test('dockerd: run -d, exec (exit status), logs, top, stop (SIGTERM reaches the process), rm', { skip }, async (t) => {
  const name = d.forTest(t)();
  d.dockerOk(['run', '--detach', ...runOpts(name), d.image, ...TRAPPING_WAITER]);
  await d.waitForLog(name, 'ready');
  assert.equal(d.inspect(name, '{{.State.Status}}'), 'running');
  const ex = d.docker(['exec', name, 'sh', '-c', 'echo "in exec, pid 1 is $(cat /proc/1/comm)"; exit 5']);
  assert.equal(ex.code, 5, commandReport('docker exec', ex));
  assert.match(ex.stdout, /in exec, pid 1 is sh/);
  const top = d.dockerOk(['top', name]).stdout;
  assert.match(top, /trap/, `docker top lists the container's processes: ${top}`);
  d.dockerOk(['stop', '--time', '60', name], { timeoutMs: 120_000 });
  assert.equal(d.inspect(name, '{{.State.Status}}'), 'exited');
  assert.equal(d.inspect(name, '{{.State.ExitCode}}'), '0', 'the trap exited 0 on SIGTERM');
  assert.match(d.dockerOk(['logs', name]).stdout, /ready\n(.*\n)*got-TERM/);
  d.dockerOk(['rm', name]);
  assert.notEqual(d.docker(['inspect', name]).code, 0, 'rm removed it');
});

test('dockerd: run -i passes stdin through', { skip }, (t) => {
  const name = d.forTest(t)();
  const r = d.docker(['run', '--rm', '--interactive', ...runOpts(name), d.image, 'sh', '-c', 'cat; echo end-of-input'], { input: 'line one\nline two\n' });
  assert.equal(r.code, 0, commandReport('docker run -i', r));
  assert.equal(r.stdout, 'line one\nline two\nend-of-input\n');
});

test('dockerd: run -t and exec -t give the process a terminal (console socket)', { skip }, async (t) => {
  const names = d.forTest(t);
  const r = d.docker(['run', '--rm', '--tty', ...runOpts(names('run')), d.image, 'sh', '-c', 'tty; test -t 0 && test -t 1 && echo both-ttys; exit 6']);
  assert.equal(r.code, 6, commandReport('docker run -t', r));
  assert.match(r.stdout, /^\/dev\/pts\/\d+\r?$/m);
  assert.match(r.stdout, /both-ttys/);

  const name = names('exec');
  d.dockerOk(['run', '--detach', ...runOpts(name), d.image, ...TRAPPING_WAITER]);
  await d.waitForLog(name, 'ready');
  const ex = d.docker(['exec', '--tty', name, 'sh', '-c', 'tty; exit 7']);
  assert.equal(ex.code, 7, commandReport('docker exec -t', ex));
  assert.match(ex.stdout, /^\/dev\/pts\/\d+\r?$/m);
});

test('dockerd: kill ends the container with 128+signal; pause and unpause', { skip }, async (t) => {
  const name = d.forTest(t)();
  d.dockerOk(['run', '--detach', ...runOpts(name), d.image, ...TRAPPING_WAITER]);
  await d.waitForLog(name, 'ready');
  d.dockerOk(['pause', name]);
  assert.equal(d.inspect(name, '{{.State.Status}}'), 'paused');
  d.dockerOk(['unpause', name]);
  assert.equal(d.inspect(name, '{{.State.Status}}'), 'running');
  assert.equal(d.dockerOk(['exec', name, 'echo', 'thawed']).stdout.trim(), 'thawed');
  d.dockerOk(['kill', name]);
  assert.equal(d.dockerOk(['wait', name], { timeoutMs: 120_000 }).stdout.trim(), '137');
});

test("dockerd: the container runs under docker's default seccomp profile", { skip }, (t) => {
  const name = d.forTest(t)();
  // docker's profile answers keyctl(2) with EPERM (the kernel itself would allow this call).
  const r = d.docker(['run', '--rm', ...runOpts(name), d.image, 'sh', '-c', 'grep ^Seccomp: /proc/self/status; berth-checker syscall keyctl']);
  assert.equal(r.code, 0, commandReport('docker run', r));
  assert.match(r.stdout, /^Seccomp:\s+2$/m, 'a seccomp filter is loaded');
  assert.match(r.stdout, /"syscall":"keyctl","ret":-1,"errno":"EPERM"/, 'the filter denies what the profile denies');
});

test('dockerd: with --security-opt seccomp=unconfined, run/exec/logs/stop/rm, exit codes and -t all work', { skip }, async (t) => {
  // The one test that opts out of docker's seccomp profile: it covers the rest of the path on
  // its own, so a seccomp regression does not hide whether everything else still works.
  const unconfined = ['--security-opt', 'seccomp=unconfined'];
  const names = d.forTest(t);
  const hi = d.docker(['run', '--rm', ...unconfined, ...runOpts(names('hi')), d.image, 'sh', '-c', 'echo "hi seccomp=$(grep ^Seccomp: /proc/self/status | cut -f2)"; berth-checker syscall keyctl; exit 9']);
  assert.equal(hi.code, 9, commandReport('docker run', hi));
  assert.match(hi.stdout, /^hi seccomp=0$/m);
  assert.match(hi.stdout, /"syscall":"keyctl","ret":\d+,"errno":"OK"/, 'without the profile keyctl works');
  const missing = d.docker(['run', '--rm', ...unconfined, ...runOpts(names('missing')), d.image, 'no-such-command']);
  assert.equal(missing.code, 127, commandReport('docker run no-such-command', missing));

  const name = names('detached');
  d.dockerOk(['run', '--detach', ...unconfined, ...runOpts(name), d.image, ...TRAPPING_WAITER]);
  await d.waitForLog(name, 'ready');
  const ex = d.docker(['exec', name, 'sh', '-c', 'echo in-exec; exit 4']);
  assert.equal(ex.code, 4, commandReport('docker exec', ex));
  assert.match(ex.stdout, /in-exec/);
  d.dockerOk(['stop', '--time', '60', name], { timeoutMs: 120_000 });
  assert.match(d.dockerOk(['logs', name]).stdout, /got-TERM/);
  d.dockerOk(['rm', name]);

  const tty = d.docker(['run', '--rm', '--tty', ...unconfined, ...runOpts(names('tty')), d.image, 'tty']);
  assert.match(tty.stdout, /^\/dev\/pts\/\d+\r?$/m, commandReport('docker run -t', tty));
  const i = d.docker(['run', '--rm', '--interactive', ...unconfined, ...runOpts(names('stdin')), d.image, 'cat'], { input: 'via stdin\n' });
  assert.equal(i.stdout, 'via stdin\n', commandReport('docker run -i', i));
});
