/**
 * Conformance: the OCI lifecycle (create, start, state, kill, delete) and `run`, against the
 * runtime named by BERTH_TEST_RUNTIME (default bin/berth-runtime; validated against runc).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { session, skipReason, processAlive, processesRootedAt, waitUntil, runtimeName } from '../helpers/runtime';
import { readyThenSleep, sh, OUT } from '../helpers/bundle';
import type { ContainerState } from '../../src/spec/types';

const skip = skipReason({ checker: true });
const SCHEMA = '/work/shared/reference/oci-runtime-spec-schema/state-schema.json';

/** Checks a state document against the OCI state schema's fields (by hand: no JSON-schema dependency). */
function assertStateShape(s: ContainerState, id: string, bundleDir: string): void {
  assert.equal(typeof s.ociVersion, 'string', 'ociVersion is a string');
  assert.match(s.ociVersion, /^\d+\.\d+\.\d+/, 'ociVersion is semver');
  assert.equal(s.id, id);
  assert.ok(['creating', 'created', 'running', 'stopped', 'paused'].includes(s.status), `status ${s.status}`);
  assert.equal(s.bundle, bundleDir, 'bundle is the absolute bundle path');
  if (s.status === 'created' || s.status === 'running') {
    assert.ok(Number.isInteger(s.pid) && s.pid! > 0, `pid ${s.pid} is a positive integer while ${s.status}`);
  }
  if (s.annotations !== undefined) assert.equal(typeof s.annotations, 'object');
  if (existsSync(SCHEMA)) {
    const schema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as { required: string[] };
    for (const field of schema.required) assert.ok(field in s, `state has required field ${field}`);
  }
}

test('lifecycle: create -> created with pid, start -> running, exit -> stopped, delete -> gone', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('basic', (cfg) => {
    cfg.process!.args = sh(`echo ready > ${OUT}/ready; while [ ! -e ${OUT}/go ]; do sleep 0.05; done; echo done > ${OUT}/done`);
  });
  const c = s.createContainer(id, bundle.dir);
  assert.equal(c.code, 0, c.stderr);
  const created = s.stateOk(id);
  assertStateShape(created, id, bundle.dir);
  assert.equal(created.status, 'created');
  assert.ok(processAlive(created.pid!), 'the init process exists before start');
  assert.equal(bundle.readOut('ready'), undefined, 'the user process has not run before start');
  assert.ok(s.listIds().includes(id), 'list shows the created container');

  const started = s.startContainer(id);
  assert.equal(started.code, 0, started.stderr);
  await bundle.waitForOut('ready');
  const running = s.stateOk(id);
  assertStateShape(running, id, bundle.dir);
  assert.equal(running.status, 'running');
  assert.equal(running.pid, created.pid, 'pid is stable across start');
  assert.ok(processesRootedAt(bundle.rootfs).includes(running.pid!), 'init runs with the bundle rootfs as its root');

  writeFileSync(join(bundle.outDir, 'go'), '');
  const stopped = await s.waitForStatus(id, 'stopped');
  assertStateShape(stopped, id, bundle.dir);
  assert.equal(bundle.readOut('done'), 'done\n');

  const d = s.rt(['delete', id]);
  assert.equal(d.code, 0, d.stderr);
  assert.deepEqual(s.leftovers(id, created.pid), []);
});

test('lifecycle: state also carries rootfs, created and owner, as runc prints them', { skip }, (t) => {
  // Not in the OCI state schema, but runc prints them and clients (go-runc's State) read them.
  const s = session(t);
  const { id, bundle } = s.bundle('state-extra');
  const before = Date.now();
  assert.equal(s.createContainer(id, bundle.dir).code, 0);
  const st = s.stateOk(id) as ContainerState & { rootfs?: string; created?: string; owner?: string };
  assert.equal(st.rootfs, bundle.rootfs);
  assert.equal(typeof st.owner, 'string');
  const created = Date.parse(st.created ?? '');
  assert.ok(Number.isFinite(created), `created is an RFC 3339 time: ${st.created}`);
  assert.ok(created >= before - 1000 && created <= Date.now() + 1000, 'created is the time of create (same clock)');
});

for (const signal of ['TERM', 'SIGTERM', '15', 'USR1', '10']) {
  test(`lifecycle: kill delivers signal given as "${signal}"`, { skip }, async (t) => {
    const s = session(t);
    const { id, bundle } = s.bundle(`kill-${signal}`, (cfg) => {
      // pid 1 only receives signals it has a handler for: install traps, then report readiness.
      cfg.process!.args = sh(
        `trap 'echo TERM > ${OUT}/got; exit 0' TERM; trap 'echo USR1 > ${OUT}/got; exit 0' USR1; ` +
          `echo ready > ${OUT}/ready; while true; do sleep 0.05; done`,
      );
    });
    await s.createAndStart(id, bundle);
    await bundle.waitForOut('ready');
    const k = s.rt(['kill', id, signal]);
    assert.equal(k.code, 0, k.stderr);
    const expected = /USR1|10/.test(signal) ? 'USR1' : 'TERM';
    assert.equal((await bundle.waitForOut('got')).trim(), expected);
    await s.waitForStatus(id, 'stopped');
  });
}

test('lifecycle: kill with KILL (9) stops a container whose init ignores TERM', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('kill9', (cfg) => {
    cfg.process!.args = readyThenSleep();
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  const k = s.rt(['kill', id, '9']);
  assert.equal(k.code, 0, k.stderr);
  await s.waitForStatus(id, 'stopped');
});

test('lifecycle: kill without a signal sends SIGTERM', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('kill-default', (cfg) => {
    cfg.process!.args = sh(`trap 'echo TERM > ${OUT}/got; exit 0' TERM; echo ready > ${OUT}/ready; while true; do sleep 0.05; done`);
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  const k = s.rt(['kill', id]);
  assert.equal(k.code, 0, k.stderr);
  assert.equal((await bundle.waitForOut('got')).trim(), 'TERM');
});

test('lifecycle: kill --all signals every process in the container', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('kill-all', (cfg) => {
    cfg.process!.args = sh(`sleep 1000000 & sleep 1000000 & echo ready > ${OUT}/ready; wait`);
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  const ps = s.rt(['ps', '--format', 'json', id]);
  assert.equal(ps.code, 0, ps.stderr);
  const pids = JSON.parse(ps.stdout) as number[];
  assert.ok(pids.length >= 3, `ps shows init and both sleeps: ${ps.stdout}`);
  const k = s.rt(['kill', '--all', id, 'KILL']);
  assert.equal(k.code, 0, k.stderr);
  await s.waitForStatus(id, 'stopped');
  assert.ok(await waitUntil(() => pids.every((p) => !processAlive(p)), 10_000), `all of ${pids.join(',')} are gone`);
});

test('lifecycle: kill of a stopped container fails', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('kill-stopped', (cfg) => {
    cfg.process!.args = ['true'];
  });
  await s.runToCompletion(id, bundle);
  const k = s.rt(['kill', id, 'KILL']);
  assert.notEqual(k.code, 0, 'kill of a stopped container must fail');
  assert.notEqual(k.stderr.trim(), '');
});

test('lifecycle: start twice fails and leaves the container running', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('start-twice', (cfg) => {
    cfg.process!.args = readyThenSleep();
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  const again = s.startContainer(id);
  assert.notEqual(again.code, 0, 'second start must fail');
  assert.notEqual(again.stderr.trim(), '');
  assert.equal(s.stateOk(id).status, 'running');
});

test('lifecycle: start of a stopped container fails', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('start-stopped', (cfg) => {
    cfg.process!.args = ['true'];
  });
  await s.runToCompletion(id, bundle);
  const again = s.startContainer(id);
  assert.notEqual(again.code, 0);
  assert.notEqual(again.stderr.trim(), '');
});

test('lifecycle: delete of a running container without --force fails; --force removes it', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('delete-running', (cfg) => {
    cfg.process!.args = readyThenSleep();
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  const pid = s.stateOk(id).pid!;
  const d = s.rt(['delete', id]);
  assert.notEqual(d.code, 0, 'delete of a running container must fail');
  assert.notEqual(d.stderr.trim(), '');
  assert.equal(s.stateOk(id).status, 'running', 'the failed delete had no effect');
  assert.ok(processAlive(pid));
  const f = s.deleteForce(id);
  assert.equal(f.code, 0, f.stderr);
  assert.deepEqual(s.leftovers(id, pid), []);
});

test('lifecycle: delete --force of a created container removes it and its init', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('delete-created');
  assert.equal(s.createContainer(id, bundle.dir).code, 0);
  const pid = s.stateOk(id).pid!;
  const f = s.deleteForce(id);
  assert.equal(f.code, 0, f.stderr);
  assert.ok(await waitUntil(() => !processAlive(pid), 10_000), 'init process is gone');
  assert.deepEqual(s.leftovers(id, pid), []);
  assert.equal(bundle.readOut('report.json'), undefined, 'the user process never ran');
});

test('lifecycle: create with a duplicate id fails and leaves the first container alone', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('dup');
  assert.equal(s.createContainer(id, bundle.dir).code, 0);
  const first = s.stateOk(id);
  const second = s.bundle('dup2');
  const again = s.createContainer(id, second.bundle.dir);
  assert.notEqual(again.code, 0, 'duplicate create must fail');
  assert.notEqual(again.stderr.trim(), '');
  const after = s.stateOk(id);
  assert.equal(after.status, 'created');
  assert.equal(after.pid, first.pid);
  assert.equal(after.bundle, bundle.dir);
});

for (const verb of [['state'], ['start'], ['kill', '#', 'KILL'], ['delete'], ['pause'], ['resume'], ['ps']]) {
  test(`lifecycle: ${verb[0]} of an unknown id fails`, { skip }, (t) => {
    const s = session(t);
    const id = `${s.newId('nope')}`;
    const args = verb.length > 1 ? verb.map((a) => (a === '#' ? id : a)) : [verb[0], id];
    const r = s.rt(args);
    assert.notEqual(r.code, 0, `${args.join(' ')} must fail`);
    assert.notEqual(r.stderr.trim(), '');
  });
}

test('lifecycle: delete --force of an unknown id succeeds quietly', { skip }, (t) => {
  // runc treats a missing container under --force as success, and containerd's shim and
  // podman rely on it: they call `delete --force` after a failed create and log the error.
  const s = session(t);
  const id = s.newId('nope');
  const r = s.deleteForce(id);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.trim(), '');
  assert.deepEqual(s.leftovers(id), []);
});

test('lifecycle: delete --force of a bare state directory (an interrupted create) removes it', { skip }, (t) => {
  const s = session(t);
  const id = s.newId('half');
  mkdirSync(join(s.root, id), { recursive: true });
  const r = s.deleteForce(id);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!existsSync(join(s.root, id)), 'the directory is gone');
});

test('lifecycle: create --pid-file writes the init pid', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('pidfile');
  const pidFile = join(bundle.dir, 'init.pid');
  assert.equal(s.createContainer(id, bundle.dir, { pidFile }).code, 0);
  const text = readFileSync(pidFile, 'utf8');
  assert.match(text, /^\d+$/, `pid file holds only a number: ${JSON.stringify(text)}`);
  assert.equal(Number(text), s.stateOk(id).pid);
});

test('lifecycle: --pid-file relative to the runtime cwd', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('pidfile-rel');
  const r = s.createContainer(id, bundle.dir, { pidFile: 'rel.pid', rt: { cwd: bundle.dir } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(Number(readFileSync(join(bundle.dir, 'rel.pid'), 'utf8')), s.stateOk(id).pid);
});

test('lifecycle: --bundle defaults to the current directory', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('cwd-bundle');
  const r = s.rt(['create', id], { cwd: bundle.dir });
  s.track(id);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(s.stateOk(id).bundle, bundle.dir);
});

test('lifecycle: the process sees config args, env, cwd and the exit status is recorded as stopped', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('args', (cfg) => {
    cfg.process!.args = sh(`echo "$0 $1|$GREETING|$(pwd)" > ${OUT}/args`);
    cfg.process!.args.push('first', 'second');
    cfg.process!.env!.push('GREETING=hello world');
    cfg.process!.cwd = '/tmp';
  });
  await s.runToCompletion(id, bundle);
  assert.equal(bundle.readOut('args'), 'first second|hello world|/tmp\n');
});

test('run: foreground run propagates the exit code and stdout', { skip }, (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('run-exit', (cfg) => {
    cfg.process!.args = sh('echo out-line; echo err-line >&2; exit 7');
  });
  const r = s.rt(['run', '--bundle', bundle.dir, id]);
  s.track(id);
  assert.equal(r.code, 7, `exit code propagated (stderr: ${r.stderr})`);
  assert.match(r.stdout, /out-line/);
  assert.match(r.stderr, /err-line/);
  assert.deepEqual(s.leftovers(id), [], 'a foreground run deletes the container when it exits');
});

test('run: --detach returns while the container keeps running', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('run-detach', (cfg) => {
    cfg.process!.args = readyThenSleep();
  });
  const r = s.rt(['run', '--detach', '--bundle', bundle.dir, id]);
  s.track(id);
  assert.equal(r.code, 0, r.stderr);
  await bundle.waitForOut('ready');
  assert.equal(s.stateOk(id).status, 'running');
});

test(`run: a missing executable fails with a non-zero exit (${runtimeName()})`, { skip }, (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('run-noexe', (cfg) => {
    cfg.process!.args = ['/no/such/binary'];
  });
  const r = s.rt(['run', '--bundle', bundle.dir, id]);
  s.track(id);
  assert.notEqual(r.code, 0);
  assert.notEqual(r.stderr.trim(), '');
});

test('lifecycle: kill of a created container stops it without running the user process', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('kill-created');
  assert.equal(s.createContainer(id, bundle.dir).code, 0);
  const k = s.rt(['kill', id, 'KILL']);
  assert.equal(k.code, 0, k.stderr);
  await s.waitForStatus(id, 'stopped');
  assert.equal(bundle.readOut('report.json'), undefined, 'the user process never ran');
  const st = s.startContainer(id);
  assert.notEqual(st.code, 0, 'a stopped container cannot be started');
});

test('lifecycle: create --no-pivot runs the container with the bundle rootfs as /', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('no-pivot', (cfg) => {
    cfg.process!.args = sh(`ls / > ${OUT}/root.txt`);
  });
  await s.runToCompletion(id, bundle, { extraArgs: ['--no-pivot'] });
  assert.match(bundle.readOut('root.txt') ?? '', /\bout\b/);
  assert.doesNotMatch(bundle.readOut('root.txt') ?? '', /\bboot\b|\bhome\b/, 'the host root is not visible');
});

test('lifecycle: --log with --log-format json records a failed create as JSON lines', { skip }, (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('log-json', (cfg) => {
    cfg.root!.path = 'no-such-rootfs';
  });
  const log = join(bundle.dir, 'runtime.log');
  const r = s.rt(['--log', log, '--log-format', 'json', 'create', '--bundle', bundle.dir, id]);
  s.track(id);
  assert.notEqual(r.code, 0);
  const lines = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
  assert.ok(lines.length > 0, 'the log file has entries');
  const entries = lines.map((l) => JSON.parse(l) as { level?: string; msg?: string });
  assert.ok(entries.some((e) => e.level === 'error' && typeof e.msg === 'string' && e.msg.length > 0), `an error entry: ${lines.join('\n')}`);
});
