/**
 * Drop-in: podman (through conmon) runs its containers with the runtime under test
 * (`--runtime`, default this checkout's bin/berth-runtime; `BERTH_TEST_RUNTIME=runc` checks the
 * tests themselves). podman's own defaults are kept (its seccomp profile, capabilities, masked
 * paths, ...); only one test opts out of seccomp, to cover the rest of the path on its own.
 * Results are observed from inside the containers (output, exit status, /proc, cgroup files)
 * and from the host (cgroup files, runtime state).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PodmanEnv, podmanSkipReason } from '../helpers/podman';
import { commandReport } from '../helpers/host';
import { CAPABILITY_NUMBERS } from '../../src/spec/capabilities';

const skip = podmanSkipReason();
let env: PodmanEnv;

before(() => {
  if (skip) return;
  env = new PodmanEnv('dropin-podman');
  env.importImage();
});

after(async () => {
  if (env) await env.cleanup();
});

/** A process that says "ready", then waits; SIGTERM and SIGUSR1 reach it through traps. */
const TRAPPING_WAITER = ['sh', '-c', 'trap "echo got-TERM; exit 0" TERM; trap "echo got-USR1" USR1; echo ready; while :; do sleep 1000000 & wait; done'];

function capabilityMask(names: string[]): string {
  let mask = 0n;
  for (const n of names) mask |= 1n << BigInt(CAPABILITY_NUMBERS[n]!);
  return mask.toString(16).padStart(16, '0');
}

test('podman: run --rm returns stdout and the exit status, and removes the container', { skip }, (t) => {
  const c = env.forTest(t).run();
  const r = env.podman(['run', '--rm', ...c.args, env.image, 'sh', '-c', 'echo "hello from $(hostname)"; exit 3']);
  assert.equal(r.code, 3, commandReport('podman run', r));
  assert.match(r.stdout, /^hello from \S+$/m);
  assert.equal(env.podmanOk(['ps', '--all', '--quiet', '--filter', `name=${c.name}`]).stdout.trim(), '', 'the container is gone');
});

test('podman: run -d, ps, logs, exec (exit status), top, stop (SIGTERM reaches the process), rm', { skip }, async (t) => {
  const c = env.forTest(t).run();
  env.podmanOk(['run', '--detach', ...c.args, env.image, ...TRAPPING_WAITER]);
  await env.waitForLog(c.name, 'ready');
  assert.match(env.podmanOk(['ps', '--format', '{{.Names}} {{.Status}}']).stdout, new RegExp(`^${c.name} Up`, 'm'));
  const ex = env.podman(['exec', c.name, 'sh', '-c', 'echo "in exec as $(id -u)"; exit 5']);
  assert.equal(ex.code, 5, commandReport('podman exec', ex));
  assert.match(ex.stdout, /in exec as 0/);
  const top = env.podmanOk(['top', c.name, 'pid', 'args']).stdout;
  assert.match(top, /trap/, `top lists the container's init: ${top}`);
  env.podmanOk(['stop', '--time', '60', c.name], { timeoutMs: 120_000 });
  assert.equal(env.inspect(c.name, '{{.State.Status}}'), 'exited');
  assert.equal(env.inspect(c.name, '{{.State.ExitCode}}'), '0', 'the trap exited 0 on SIGTERM');
  assert.match(env.podmanOk(['logs', c.name]).stdout, /ready\n(.*\n)*got-TERM/);
  env.podmanOk(['rm', c.name]);
  assert.equal(env.podman(['inspect', c.name]).code === 0, false, 'rm removed it');
});

test('podman: run -i passes stdin through to the container', { skip }, (t) => {
  const c = env.forTest(t).run();
  const r = env.podman(['run', '--rm', '--interactive', ...c.args, env.image, 'sh', '-c', 'cat; echo end-of-input'], { input: 'line one\nline two\n' });
  assert.equal(r.code, 0, commandReport('podman run -i', r));
  assert.equal(r.stdout, 'line one\nline two\nend-of-input\n');
});

test('podman: run -t gives the process a terminal (console socket)', { skip }, (t) => {
  const c = env.forTest(t).run();
  const r = env.podman(['run', '--rm', '--tty', ...c.args, env.image, 'sh', '-c', 'tty; test -t 0 && test -t 1 && echo both-ttys; exit 6']);
  assert.equal(r.code, 6, commandReport('podman run -t', r));
  assert.match(r.stdout, /^\/dev\/pts\/\d+\r?$/m);
  assert.match(r.stdout, /both-ttys/);
});

test('podman: exec -t, exec -d, exec with user, workdir and environment', { skip }, async (t) => {
  const c = env.forTest(t).run();
  env.podmanOk(['run', '--detach', ...c.args, env.image, ...TRAPPING_WAITER]);
  await env.waitForLog(c.name, 'ready');
  const tty = env.podman(['exec', '--tty', c.name, 'sh', '-c', 'tty; exit 7']);
  assert.equal(tty.code, 7, commandReport('podman exec -t', tty));
  assert.match(tty.stdout, /^\/dev\/pts\/\d+\r?$/m);
  const who = env.podmanOk(['exec', '--user', '65534:65534', '--workdir', '/tmp', '--env', 'GREETING=hi there', c.name, 'sh', '-c', 'echo "$(id -u):$(id -g) $(pwd) $GREETING"']);
  assert.equal(who.stdout.trim(), '65534:65534 /tmp hi there');
  env.podmanOk(['exec', '--detach', c.name, 'sh', '-c', 'echo from-detached > /tmp/detached']);
  const deadline = Date.now() + 60_000;
  let seen = '';
  while (Date.now() < deadline && !seen.includes('from-detached')) {
    seen = env.podman(['exec', c.name, 'cat', '/tmp/detached']).stdout;
    if (!seen.includes('from-detached')) await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(seen, /from-detached/, 'the detached exec ran');
});

test('podman: kill delivers the signal; the default SIGKILL ends the container with status 137', { skip }, async (t) => {
  const c = env.forTest(t).run();
  env.podmanOk(['run', '--detach', ...c.args, env.image, ...TRAPPING_WAITER]);
  await env.waitForLog(c.name, 'ready');
  env.podmanOk(['kill', '--signal', 'USR1', c.name]);
  await env.waitForLog(c.name, 'got-USR1');
  assert.equal(env.inspect(c.name, '{{.State.Status}}'), 'running', 'a trapped signal does not stop it');
  env.podmanOk(['kill', c.name]);
  env.podmanOk(['wait', c.name], { timeoutMs: 120_000 });
  assert.equal(env.inspect(c.name, '{{.State.ExitCode}}'), '137');
});

test('podman: stop of a container sharing the host pid namespace signals all its processes (kill --all)', { skip }, async (t) => {
  // Without a pid namespace of its own the container's processes do not die with its init, so
  // podman stops it with `kill --all`, which finds them through the container's cgroup.
  const c = env.forTest(t).run();
  env.podmanOk(['run', '--detach', '--pid', 'host', ...c.args, env.image, 'sh', '-c', 'sleep 1000001 & trap "echo got-TERM; exit 0" TERM; echo ready; while :; do sleep 1000000 & wait; done']);
  await env.waitForLog(c.name, 'ready');
  const id = env.inspect(c.name, '{{.Id}}');
  const procs = join('/sys/fs/cgroup/pids', env.cgroupParent, `libpod-${id}`, 'cgroup.procs');
  env.podmanOk(['stop', '--time', '60', c.name], { timeoutMs: 120_000 });
  assert.equal(env.inspect(c.name, '{{.State.Status}}'), 'exited');
  assert.match(env.podmanOk(['logs', c.name]).stdout, /got-TERM/);
  if (existsSync(procs)) assert.equal(readFileSync(procs, 'utf8').trim(), '', 'no process of the container is left');
});

test('podman: pause freezes the container cgroup and unpause thaws it', { skip }, async (t) => {
  const c = env.forTest(t).run();
  env.podmanOk(['run', '--detach', ...c.args, env.image, ...TRAPPING_WAITER]);
  await env.waitForLog(c.name, 'ready');
  const id = env.inspect(c.name, '{{.Id}}');
  const freezer = join('/sys/fs/cgroup/freezer', env.cgroupParent, `libpod-${id}`, 'freezer.state');
  env.podmanOk(['pause', c.name]);
  assert.equal(env.inspect(c.name, '{{.State.Status}}'), 'paused');
  if (existsSync(freezer)) assert.equal(readFileSync(freezer, 'utf8').trim(), 'FROZEN');
  assert.notEqual(env.podman(['exec', c.name, 'true']).code, 0, 'no exec into a paused container');
  env.podmanOk(['unpause', c.name]);
  assert.equal(env.inspect(c.name, '{{.State.Status}}'), 'running');
  if (existsSync(freezer)) assert.equal(readFileSync(freezer, 'utf8').trim(), 'THAWED');
  assert.equal(env.podmanOk(['exec', c.name, 'echo', 'thawed']).stdout.trim(), 'thawed');
});

test('podman: --memory is the memory limit of the container cgroup, inside and on the host', { skip }, async (t) => {
  const c = env.forTest(t).run();
  env.podmanOk(['run', '--detach', '--memory', '64m', ...c.args, env.image, ...TRAPPING_WAITER]);
  await env.waitForLog(c.name, 'ready');
  const limit = String(64 * 1024 * 1024);
  const inside = env.podmanOk(['exec', c.name, 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max']);
  assert.equal(inside.stdout.trim(), limit);
  const id = env.inspect(c.name, '{{.Id}}');
  const host = join('/sys/fs/cgroup/memory', env.cgroupParent, `libpod-${id}`, 'memory.limit_in_bytes');
  if (existsSync(join('/sys/fs/cgroup/memory'))) assert.equal(readFileSync(host, 'utf8').trim(), limit);
});

test("podman: capabilities, masked and read-only paths are podman's defaults; --cap-add/--cap-drop apply", { skip }, (t) => {
  const c = env.forTest(t).run();
  env.podmanOk(['create', ...c.args, env.image, 'sh', '-c', 'grep -E "^Cap(Eff|Bnd)" /proc/self/status']);
  const expected = JSON.parse(env.inspect(c.name, '{{json .EffectiveCaps}}')) as string[];
  const out = env.podmanOk(['start', '--attach', c.name]).stdout;
  assert.match(out, new RegExp(`^CapEff:\\s+${capabilityMask(expected)}$`, 'm'), `effective set = podman's ${expected.join(',')}`);
  assert.match(out, new RegExp(`^CapBnd:\\s+${capabilityMask(expected)}$`, 'm'));

  const changed = env.forTest(t).run('caps');
  const r = env.podmanOk(['run', '--rm', '--cap-add', 'NET_ADMIN', '--cap-drop', 'CHOWN', ...changed.args, env.image, 'grep', '^CapEff', '/proc/self/status']);
  const want = capabilityMask([...expected.filter((n) => n !== 'CAP_CHOWN'), 'CAP_NET_ADMIN']);
  assert.match(r.stdout, new RegExp(`^CapEff:\\s+${want}$`, 'm'));

  const paths = env.forTest(t).run('paths');
  const script = [
    'echo "keys=$(wc -c < /proc/keys)"',
    'echo "firmware=$(ls -A /sys/firmware | wc -l)"',
    'if echo 1 > /proc/sys/vm/drop_caches; then echo sys=writable; else echo sys=read-only; fi',
  ].join('; ');
  const p = env.podmanOk(['run', '--rm', ...paths.args, env.image, 'sh', '-c', script]);
  assert.match(p.stdout, /^keys=0$/m, '/proc/keys is masked');
  assert.match(p.stdout, /^firmware=0$/m, '/sys/firmware is masked');
  assert.match(p.stdout, /^sys=read-only$/m, '/proc/sys is read-only');
});

test('podman: --read-only (its tmpfs mounts keep the image files), --tmpfs, a read-only volume and --device', { skip }, (t) => {
  const c = env.forTest(t).run();
  const volume = join(env.dir, `volume-${c.name}`);
  mkdirSync(volume);
  writeFileSync(join(volume, 'from-host'), 'host data\n');
  const script = [
    'cat /data/from-host',
    'if touch /new-file 2>/dev/null; then echo root=writable; else echo root=read-only; fi',
    'if touch /data/x 2>/dev/null; then echo volume=writable; else echo volume=read-only; fi',
    'touch /tmp/a /run/b /scratch/c && echo tmpfs=writable',
    'echo "run-mode=$(stat -c %a /run)"',
    'ls -l /dev/fuse 2>/dev/null || true',
  ].join('; ');
  // Any host character device will do; /dev/fuse is on most machines (skip that part without it).
  const device = existsSync('/dev/fuse') ? ['--device', '/dev/fuse'] : [];
  // podman asks for "tmpcopyup" on the tmpfs of /tmp, /run, /var/tmp and --tmpfs.
  const r = env.podman(['run', '--rm', '--read-only', '--tmpfs', '/scratch', '--volume', `${volume}:/data:ro`, ...device, ...c.args, env.image, 'sh', '-c', script]);
  assert.equal(r.code, 0, commandReport('podman run --read-only', r));
  assert.match(r.stdout, /^host data$/m);
  assert.match(r.stdout, /^root=read-only$/m);
  assert.match(r.stdout, /^volume=read-only$/m);
  assert.match(r.stdout, /^tmpfs=writable$/m);
  assert.match(r.stdout, /^run-mode=755$/m, "/run keeps the image directory's mode");
  if (device.length) assert.match(r.stdout, /^c\S+\s+1\s+\S+\s+\S+\s+10,\s+229 /m, '/dev/fuse is the host node (10, 229)');
});

test("podman: containers of a pod join the infra container's namespaces (by path)", { skip }, async (t) => {
  const helper = env.forTest(t);
  const pod = helper.run('pod').name;
  t.after(() => {
    env.podman(['pod', 'rm', '--force', '--time', '0', pod], { timeoutMs: 180_000 });
  });
  // There is no pause image here: the busybox image's sleep is the infra process.
  env.podmanOk(['pod', 'create', '--name', pod, '--network', 'none', '--cgroup-parent', env.cgroupParent, '--infra-image', env.image, '--infra-command', 'sleep 1000000']);
  const first = helper.run('first', { pod });
  env.podmanOk(['run', '--detach', ...first.args, env.image, 'sh', '-c', 'echo shared > /dev/shm/from-first; echo ready; exec sleep 1000000']);
  await env.waitForLog(first.name, 'ready');
  const r = env.podman(['run', '--rm', ...helper.run('second', { pod }).args, env.image, 'sh', '-c', 'hostname; cat /dev/shm/from-first']);
  assert.equal(r.code, 0, commandReport('podman run --pod', r));
  assert.match(r.stdout, new RegExp(`^${pod}$`, 'm'), 'the pod hostname (shared UTS namespace)');
  assert.match(r.stdout, /^shared$/m, "the first container's /dev/shm file (shared IPC namespace)");
});

test("podman: the container runs under podman's default seccomp profile", { skip }, (t) => {
  const c = env.forTest(t).run();
  const r = env.podman(['run', '--rm', ...c.args, env.image, 'grep', '^Seccomp:', '/proc/self/status']);
  assert.equal(r.code, 0, commandReport('podman run', r));
  assert.match(r.stdout, /^Seccomp:\s+2$/m, 'a seccomp filter is loaded');
});

test('podman: a missing command exits 127, a non-executable one 126', { skip }, (t) => {
  const helper = env.forTest(t);
  const missing = env.podman(['run', '--rm', ...helper.run('missing').args, env.image, 'no-such-command']);
  assert.equal(missing.code, 127, commandReport('podman run no-such-command', missing));
  const notExec = env.podman(['run', '--rm', ...helper.run('noexec').args, env.image, '/etc/passwd']);
  assert.equal(notExec.code, 126, commandReport('podman run /etc/passwd', notExec));
});

test('podman: OCI hooks from --hooks-dir run with the container state (prestart, poststop)', { skip }, (t) => {
  const c = env.forTest(t).run();
  const dir = join(env.dir, `hooks-${c.name}`);
  mkdirSync(dir);
  const script = join(dir, 'record.sh');
  // The hook gets the state on stdin; it appends "<stage> <state>" to a file of its own.
  writeFileSync(script, `#!/bin/sh\nprintf '%s ' "$1" >> ${dir}/calls\ncat >> ${dir}/calls\necho >> ${dir}/calls\n`);
  chmodSync(script, 0o755);
  const hook = (stage: string) => ({
    version: '1.0.0',
    hook: { path: script, args: ['record.sh', stage] },
    when: { always: true },
    stages: [stage],
  });
  writeFileSync(join(dir, 'prestart.json'), JSON.stringify(hook('prestart')));
  writeFileSync(join(dir, 'poststop.json'), JSON.stringify(hook('poststop')));
  const r = env.podman(['--hooks-dir', dir, 'run', '--rm', ...c.args, env.image, 'true']);
  assert.equal(r.code, 0, commandReport('podman run with hooks', r));
  const id = readFileSync(c.cidFile, 'utf8').trim();
  const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
  const byStage = new Map(calls.map((l) => [l.slice(0, l.indexOf(' ')), JSON.parse(l.slice(l.indexOf(' ') + 1)) as { id: string; pid?: number; bundle: string }]));
  assert.equal(byStage.get('prestart')?.id, id, `prestart saw the container: ${calls.join(' | ')}`);
  assert.ok((byStage.get('prestart')?.pid ?? 0) > 0, 'prestart saw its pid');
  assert.equal(byStage.get('poststop')?.id, id, `poststop ran at removal: ${calls.join(' | ')}`);
});

test('podman: with --security-opt seccomp=unconfined, run/exec/logs/stop/rm, -i and -t all work', { skip }, async (t) => {
  // The one test that opts out of podman's seccomp profile: it covers the rest of the path on
  // its own, so a seccomp regression does not hide whether everything else still works.
  const unconfined = ['--security-opt', 'seccomp=unconfined'];
  const helper = env.forTest(t);
  const rm = env.podman(['run', '--rm', ...unconfined, ...helper.run('rm').args, env.image, 'sh', '-c', 'echo "seccomp=$(grep ^Seccomp: /proc/self/status | cut -f2)"; exit 9']);
  assert.equal(rm.code, 9, commandReport('podman run --rm', rm));
  assert.match(rm.stdout, /^seccomp=0$/m);

  const d = helper.run('detached');
  env.podmanOk(['run', '--detach', ...unconfined, ...d.args, env.image, ...TRAPPING_WAITER]);
  await env.waitForLog(d.name, 'ready');
  const ex = env.podman(['exec', d.name, 'sh', '-c', 'echo in-exec; exit 4']);
  assert.equal(ex.code, 4, commandReport('podman exec', ex));
  assert.match(ex.stdout, /in-exec/);
  env.podmanOk(['stop', '--time', '60', d.name], { timeoutMs: 120_000 });
  assert.match(env.podmanOk(['logs', d.name]).stdout, /got-TERM/);
  env.podmanOk(['rm', d.name]);

  const i = env.podman(['run', '--rm', '--interactive', ...unconfined, ...helper.run('stdin').args, env.image, 'cat'], { input: 'via stdin\n' });
  assert.equal(i.stdout, 'via stdin\n', commandReport('podman run -i', i));
  const tty = env.podman(['run', '--rm', '--tty', ...unconfined, ...helper.run('tty').args, env.image, 'tty']);
  assert.match(tty.stdout, /^\/dev\/pts\/\d+\r?$/m, commandReport('podman run -t', tty));
});
