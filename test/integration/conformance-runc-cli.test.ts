/**
 * Conformance: the runc command line as runc's own integration tests drive it (kill.bats,
 * exec.bats, ps.bats, help.bats, version.bats, debug.bats), against the runtime named by
 * BERTH_TEST_RUNTIME (default bin/berth-runtime). Run with BERTH_TEST_RUNTIME=runc to check
 * the expectations against runc itself; cases that need a runc newer than the one installed
 * here are marked berth-only with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { session, skipReason, berthOnly, isBerth, runtimeName, processAlive, cgroupHostPaths, type RuntimeSession } from '../helpers/runtime';
import { readyThenSleep, OUT, type Bundle } from '../helpers/bundle';

const skip = skipReason();

async function running(s: RuntimeSession, label: string, mutate?: Parameters<RuntimeSession['bundle']>[1]): Promise<{ id: string; bundle: Bundle; pid: number }> {
  const { id, bundle } = s.bundle(label, (cfg, b) => {
    cfg.process!.args = readyThenSleep();
    mutate?.(cfg, b);
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  return { id, bundle, pid: s.stateOk(id).pid! };
}

// ---- kill.bats ------------------------------------------------------------------------------

test('kill: every spelling runc accepts reaches the init (0, CONT, SIGCONT, sigcont, cont, 18)', { skip }, async (t) => {
  const s = session(t);
  const { id, pid } = await running(s, 'kill-spellings');
  for (const sig of ['0', 'CONT', 'SIGCONT', 'sigcont', 'cont', '18']) {
    const r = s.rt(['kill', id, sig]);
    assert.equal(r.code, 0, `kill ${sig}: ${r.stderr}`);
  }
  assert.ok(processAlive(pid), 'none of them ended the container');
  for (const bad of ['SIGFOO', '65', '-1']) {
    const r = s.rt(['kill', id, bad]);
    assert.notEqual(r.code, 0, `kill ${bad} is refused`);
  }
  assert.equal(s.stateOk(id).status, 'running');
});

test('kill: real-time signals as SIGRTMIN+N / RTMAX-N', { skip: skip ?? berthOnly('runc 1.1 knows no RT signal names') }, async (t) => {
  const s = session(t);
  const { id, bundle } = await running(s, 'kill-rt', (cfg) => {
    // busybox sh traps by number; SIGRTMIN+2 is 36 on Linux.
    cfg.process!.args = ['sh', '-c', `trap "echo got > ${OUT}/rt" 36; echo ready > ${OUT}/ready; while true; do sleep 0.05; done`];
  });
  assert.equal(s.rt(['kill', id, 'SIGRTMIN+2']).code, 0);
  assert.equal(await bundle.waitForOut('rt'), 'got\n');
  assert.equal(s.rt(['kill', id, 'rtmax-1']).code, 0);
});

test('kill: KILL, then signal 0 fails with "not running" (kill detached busybox)', { skip }, async (t) => {
  const s = session(t);
  const { id } = await running(s, 'kill-stopped');
  assert.equal(s.rt(['kill', id, 'KILL']).code, 0);
  await s.waitForStatus(id, 'stopped');
  const r = s.rt(['kill', id, '0']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /not running/);
});

test('kill -a of a stopped container succeeds (runc 1.2 kill.bats)', { skip: skip ?? berthOnly('runc 1.1 still fails here') }, async (t) => {
  const s = session(t);
  const { id } = await running(s, 'kill-all-stopped');
  s.rtOk(['kill', id, 'KILL']);
  await s.waitForStatus(id, 'stopped');
  const r = s.rt(['kill', '-a', id, '0']);
  assert.equal(r.code, 0, r.stderr);
  s.rtOk(['delete', id]);
});

test('kill KILL [host pidns]: every process of the container goes, not only init', { skip: skip ?? berthOnly('runc 1.1 kills only init without --all') }, async (t) => {
  const s = session(t);
  const { id, bundle, pid } = await running(s, 'kill-host-pidns', (cfg) => {
    cfg.linux!.namespaces = cfg.linux!.namespaces!.filter((n) => n.type !== 'pid');
  });
  for (let i = 0; i < 3; i++) s.rtOk(['exec', '-d', id, 'sleep', '1000000']);
  const procs = readFileSync(join(cgroupHostPaths(bundle.cgroupsPath).pids!, 'cgroup.procs'), 'utf8').trim().split('\n').map(Number);
  assert.ok(procs.length >= 4, `init and the three sleeps are in the cgroup: ${procs.join(' ')}`);
  s.rtOk(['kill', id, 'KILL']);
  await s.waitForStatus(id, 'stopped');
  for (const p of procs) {
    for (let n = 0; processAlive(p) && n < 200; n++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!processAlive(p), `pid ${p} is gone (init was ${pid})`);
  }
});

// ---- exec.bats -------------------------------------------------------------------------------

test('exec [exit codes]: the process status, and 255 when it cannot be run', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = await running(s, 'exec-codes');
  writeFileSync(join(bundle.rootfs, 'not-executable'), '#!/bin/sh\necho hi\n');
  chmodSync(join(bundle.rootfs, 'not-executable'), 0o644);
  mkdirSync(join(bundle.rootfs, 'a-directory'));
  assert.equal(s.rt(['exec', id, 'false']).code, 1);
  assert.equal(s.rt(['exec', id, 'sh', '-c', 'exit 42']).code, 42);
  const cases: Array<[string[], RegExp]> = [
    [['exec', '--pid-file', '/non-existent/directory', id, 'true'], /non-existent/],
    [['exec', id, 'no-such-binary'], /no-such-binary/],
    [['exec', id, '/nonexistent'], /nonexistent.*(no such file|ENOENT)/i],
    [['exec', id, '/not-executable'], /not-executable.*(permission denied|EACCES)/i],
    [['exec', id, '/a-directory'], /a-directory.*(permission denied|EACCES)/i],
    [['exec', 'no_such_container', 'true'], /no_such_container|does not exist/],
  ];
  for (const [args, why] of cases) {
    const r = s.rt(args);
    assert.equal(r.code, 255, `${args.join(' ')} exits 255: ${r.stderr}`);
    assert.match(r.stderr, why, `${args.join(' ')} says why`);
  }
});

test('exec into a paused container is refused; --ignore-paused starts it frozen', { skip }, async (t) => {
  const s = session(t);
  const { id } = await running(s, 'exec-paused');
  s.rtOk(['pause', id]);
  const refused = s.rt(['exec', id, 'true']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /paused/);
  assert.match(refused.stderr, /--ignore-paused/);
  // The process joins the frozen cgroup and cannot run until resume: exec waits for it.
  const child = spawn(s.binary, ['--root', s.root, 'exec', '--ignore-paused', id, 'echo', 'ran'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  assert.equal(s.stateOk(id).status, 'paused');
  s.rtOk(['resume', id]);
  assert.equal(await done, 0, err);
  assert.equal(out, 'ran\n');
});

test('exec --cgroup sub-cgroups [v1]', { skip: skip ?? (existsSync('/sys/fs/cgroup/memory') ? undefined : 'needs cgroup v1 controllers') }, async (t) => {
  const s = session(t);
  const { id, bundle } = await running(s, 'exec-cgroup');
  const host = cgroupHostPaths(bundle.cgroupsPath);
  const rel = bundle.cgroupsPath;
  const cgroupOf = (args: string[]) => {
    const r = s.rt(['exec', ...args, id, 'cat', '/proc/self/cgroup']);
    return { ...r, lines: r.stdout.trim().split('\n') };
  };
  const parent = s.rt(['exec', '--cgroup', '..', id, 'true']);
  assert.notEqual(parent.code, 0, 'the parent cgroup cannot be joined');
  assert.match(parent.stderr, /sub cgroup path/);
  assert.notEqual(s.rt(['exec', '--cgroup', 'nonexistent', id, 'true']).code, 0, 'a missing sub-cgroup is refused');
  assert.notEqual(s.rt(['exec', '--cgroup', 'cpu:nonexistent', id, 'true']).code, 0, 'a missing sub-cgroup of one controller is refused');
  const unknown = s.rt(['exec', '--cgroup', 'whaaat:/', id, 'true']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown controller/);

  for (const explicit of [[], ['--cgroup', '/']]) {
    const r = cgroupOf(explicit);
    assert.equal(r.code, 0, r.stderr);
    for (const l of r.lines.filter((x) => /:(memory|cpu|pids)[,:]/.test(x))) assert.ok(l.endsWith(`:${rel}`), `${l} is the container's cgroup`);
  }
  const made: string[] = [];
  t.after(() => {
    for (const d of made.reverse()) if (existsSync(d)) rmdirSync(d);
  });
  for (const [c, name] of [['memory', 'submem'], ['cpu', 'subcpu'], ['cpuacct', 'subcpu']] as const) {
    const d = join(host[c]!, name);
    if (!existsSync(d)) {
      mkdirSync(d);
      made.push(d);
    }
  }
  const r = cgroupOf(['--cgroup', 'memory:submem', '--cgroup', 'cpu,cpuacct:subcpu']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.lines.some((l) => l.endsWith(`:memory:${rel}/submem`)), r.stdout);
  assert.ok(r.lines.some((l) => /:cpu[,:]/.test(l) && l.endsWith(`:${rel}/subcpu`)), r.stdout);
  assert.ok(r.lines.some((l) => /:pids:/.test(l) && l.endsWith(`:${rel}`)), `other controllers stay in the container's cgroup: ${r.stdout}`);
});

// ---- ps.bats ---------------------------------------------------------------------------------

test('ps: default table, -f json, "ps ID -e -x" passed to ps(1), and after the container stopped', { skip }, async (t) => {
  const s = session(t);
  const { id, pid } = await running(s, 'ps');
  assert.match(s.rtOk(['ps', id]).stdout, /UID +PID +PPID +C +STIME +TTY +TIME +CMD/);
  assert.deepEqual(JSON.parse(s.rtOk(['ps', '-f', 'json', id]).stdout), [pid]);
  const ex = s.rt(['ps', id, '-e', '-x']);
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stdout, / +PID +TTY +STAT +TIME +COMMAND/);
  assert.match(ex.stdout, new RegExp(`^ *${pid} `, 'm'));
  s.rtOk(['kill', id, 'KILL']);
  await s.waitForStatus(id, 'stopped');
  assert.equal(s.rt(['ps', id]).code, 0, 'ps of a stopped container succeeds');
});

// ---- version.bats, help.bats -----------------------------------------------------------------

test('--version / -v: "NAME version X.Y.Z", "commit: ...", "spec: X.Y.Z"', { skip }, (t) => {
  const s = session(t);
  for (const flag of ['--version', '-v']) {
    const lines = s.rtOk([flag]).stdout.split('\n');
    assert.match(lines[0]!, new RegExp(`^${runtimeName()} version \\d+\\.\\d+\\.\\d+`));
    assert.match(lines[1]!, /^commit:/);
    assert.match(lines[2]!, /^spec: \d+\.\d+\.\d+/);
  }
});

const COMMANDS = ['create', 'delete', 'events', 'exec', 'kill', 'list', 'pause', 'ps', 'resume', 'run', 'spec', 'start', 'state', 'update', 'checkpoint', 'restore'];

test('-h / --help on the runtime and on every command: NAME: then "NAME CMD - ..."', { skip }, (t) => {
  const s = session(t);
  const name = runtimeName();
  for (const flag of ['-h', '--help']) {
    const r = s.rtOk([flag]);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^NAME:/);
    assert.match(lines[1]!, new RegExp(`^ *${name} - `));
  }
  for (const cmd of COMMANDS) {
    for (const flag of ['-h', '--help']) {
      const r = s.rt([cmd, flag]);
      assert.equal(r.code, 0, `${cmd} ${flag}: ${r.stderr}`);
      const lines = r.stdout.split('\n');
      assert.match(lines[0]!, /^NAME:/, `${cmd} ${flag}`);
      assert.match(lines[1]!, new RegExp(`^ *${name} ${cmd}\\b`), `${cmd} ${flag}`);
    }
  }
});

test('an unknown command, with or without -h: "No help topic", exit 3', { skip }, (t) => {
  const s = session(t);
  for (const args of [['foo', '-h'], ['foo'], ['help', 'foo'], ['--debug', 'foo', '--help']]) {
    const r = s.rt(args);
    assert.equal(r.code, 3, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /No help topic for 'foo'/);
  }
});

// ---- debug.bats ------------------------------------------------------------------------------

test('--debug: debug lines on stderr (text), or only in --log (text, json)', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('debug', (cfg) => {
    cfg.process!.args = ['true'];
  });
  const r = s.rt(['--debug', 'run', '--bundle', bundle.dir, id]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /level=debug/);

  for (const format of [undefined, 'text', 'json'] as const) {
    const id2 = s.newId(`debug-${format ?? 'default'}`);
    const log = join(s.scratch, `log-${format ?? 'default'}.out`);
    const args = ['--log', log, ...(format ? ['--log-format', format] : []), '--debug', 'run', '--bundle', bundle.dir, id2];
    const out = s.rt(args);
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr + out.stdout, /level=debug/, 'with --log, debug output stays out of stderr');
    const text = readFileSync(log, 'utf8');
    if (format === 'json') {
      const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; time: string });
      assert.ok(lines.some((l) => l.level === 'debug'), text);
      for (const l of lines) {
        assert.equal(typeof l.msg, 'string');
        assert.ok(Number.isFinite(Date.parse(l.time)), `time is a timestamp: ${l.time}`);
      }
    } else {
      assert.match(text, /level=debug/);
    }
  }
  if (isBerth()) assert.match(r.stderr, /container process is host pid \d+/, 'berth says which steps it took');
});
