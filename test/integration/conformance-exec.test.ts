/**
 * Conformance: `exec` into a running container (exit code, stdio, env, cwd, user, caps,
 * --process, --detach with --pid-file), against the runtime named by BERTH_TEST_RUNTIME.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { session, skipReason, processAlive, type RuntimeSession } from '../helpers/runtime';
import { readyThenSleep, type Bundle, type CheckerReport } from '../helpers/bundle';

const skip = skipReason({ checker: true });

/** A running container whose init sleeps; returns its id, bundle and init pid. */
async function runningContainer(s: RuntimeSession, label: string): Promise<{ id: string; bundle: Bundle; pid: number }> {
  const { id, bundle } = s.bundle(label, (cfg) => {
    cfg.process!.args = readyThenSleep();
    cfg.process!.env!.push('FROM_CONFIG=yes');
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  return { id, bundle, pid: s.stateOk(id).pid! };
}

test('exec: exit code and stdout/stderr of the exec process are the runtime\'s', { skip }, async (t) => {
  const s = session(t);
  const { id } = await runningContainer(s, 'exec-code');
  const r = s.rt(['exec', id, 'sh', '-c', 'echo to-out; echo to-err >&2; exit 3']);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, 'to-out\n');
  assert.match(r.stderr, /to-err/);
  const ok = s.rt(['exec', id, 'true']);
  assert.equal(ok.code, 0, ok.stderr);
});

test('exec: stdin is passed through', { skip }, async (t) => {
  const s = session(t);
  const { id } = await runningContainer(s, 'exec-stdin');
  const r = s.rt(['exec', id, 'cat'], { input: 'piped input\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'piped input\n');
});

test('exec in the foreground: the process leads its own session and gets pipes, not the caller\'s fds (runc\'s setupProcessPipes)', { skip }, async (t) => {
  const s = session(t);
  const { id } = await runningContainer(s, 'exec-pipes');
  const r = s.rt(['exec', id, 'sh', '-c', 'for fd in 0 1 2; do readlink /proc/$$/fd/$fd; done; cut -d" " -f1,5,6 /proc/$$/stat'], { input: '' });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  for (const l of lines.slice(0, 3)) assert.match(l, /^pipe:\[\d+\]$/, `fds 0-2 are pipes: ${r.stdout}`);
  const [pid, pgrp, sid] = (lines[3] ?? '').split(' ');
  assert.ok(pid && pgrp === pid && sid === pid, `leads its own session and process group: ${lines[3]}`);
});

test('exec: runs in the container\'s namespaces and cgroup', { skip }, async (t) => {
  const s = session(t);
  const { id, pid } = await runningContainer(s, 'exec-ns');
  const r = s.rt(['exec', id, 'berth-checker', 'report']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as CheckerReport;
  for (const ns of ['mnt', 'pid', 'net', 'ipc', 'uts']) {
    const initNs = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${ns}`))![1]);
    assert.equal(report.namespaces[ns], initNs, `exec process shares the ${ns} namespace with init`);
  }
  const initCgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  for (const line of report.cgroup) {
    if (!line.controllers) continue;
    // Inside a cgroup namespace paths are relative; compare by suffix.
    const hostLine = initCgroups.split('\n').find((l) => l.split(':')[1] === line.controllers);
    assert.ok(hostLine, `init has a ${line.controllers} cgroup`);
    assert.ok(hostLine!.split(':').slice(2).join(':').endsWith(line.path), `same ${line.controllers} cgroup as init`);
  }
  assert.equal(report.hostname, 'berth-test');
  assert.notEqual(report.pid, 1, 'exec process is not the init');
});

test('exec: environment comes from config.json plus --env (which overrides)', { skip }, async (t) => {
  const s = session(t);
  const { id } = await runningContainer(s, 'exec-env');
  const r = s.rt(['exec', '--env', 'EXTRA=1', '--env', 'FROM_CONFIG=overridden', id, 'sh', '-c', 'echo "$EXTRA $FROM_CONFIG $PATH"']);
  assert.equal(r.code, 0, r.stderr);
  const [extra, fromConfig, path] = r.stdout.trim().split(' ');
  assert.equal(extra, '1');
  assert.equal(fromConfig, 'overridden');
  assert.match(path!, /\/bin/);
});

test('exec: --cwd sets the working directory', { skip }, async (t) => {
  const s = session(t);
  const { id } = await runningContainer(s, 'exec-cwd');
  const r = s.rt(['exec', '--cwd', '/tmp', id, 'pwd']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '/tmp\n');
});

test('exec: --user uid:gid sets the credentials', { skip }, async (t) => {
  const s = session(t);
  const { id } = await runningContainer(s, 'exec-user');
  const r = s.rt(['exec', '--user', '1000:1001', id, 'berth-checker', 'report']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as CheckerReport;
  assert.equal(report.uid, 1000);
  assert.equal(report.euid, 1000);
  assert.equal(report.gid, 1001);
  assert.equal(report.egid, 1001);
  assert.deepEqual(report.caps.effective.names, [], 'a non-root exec has no effective capabilities');
});

test('exec: capabilities default to the container\'s and --cap adds one', { skip }, async (t) => {
  const s = session(t);
  const { id } = await runningContainer(s, 'exec-cap');
  const plain = JSON.parse(s.rtOk(['exec', id, 'berth-checker', 'report']).stdout) as CheckerReport;
  assert.deepEqual([...plain.caps.effective.names!].sort(), ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
  assert.equal(plain.no_new_privs, 1, 'noNewPrivileges from config applies to exec');
  const r = s.rt(['exec', '--cap', 'CAP_SYS_ADMIN', id, 'berth-checker', 'report']);
  assert.equal(r.code, 0, r.stderr);
  const withCap = JSON.parse(r.stdout) as CheckerReport;
  assert.ok(withCap.caps.effective.names!.includes('CAP_SYS_ADMIN'), `effective: ${withCap.caps.effective.names}`);
  assert.ok(withCap.caps.bounding.names!.includes('CAP_SYS_ADMIN'), `bounding: ${withCap.caps.bounding.names}`);
});

test('exec: --process runs the process described by a JSON file', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = await runningContainer(s, 'exec-process');
  const processFile = join(bundle.dir, 'process.json');
  writeFileSync(
    processFile,
    JSON.stringify({
      terminal: false,
      user: { uid: 7, gid: 8 },
      args: ['sh', '-c', 'echo "$A $(pwd) $(id -u):$(id -g)"; exit 4'],
      env: ['PATH=/bin:/usr/bin', 'A=from-process-json'],
      cwd: '/etc',
    }),
  );
  const r = s.rt(['exec', '--process', processFile, id]);
  assert.equal(r.code, 4, r.stderr);
  assert.equal(r.stdout, 'from-process-json /etc 7:8\n');
});

test('exec: --detach with --pid-file leaves the process running in the container', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle, pid: initPid } = await runningContainer(s, 'exec-detach');
  const pidFile = join(bundle.dir, 'exec.pid');
  const r = s.rt(['exec', '--detach', '--pid-file', pidFile, id, 'sleep', '1000000']);
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(pidFile, 'utf8');
  assert.match(text, /^\d+$/, `pid file holds only a number: ${JSON.stringify(text)}`);
  const pid = Number(text);
  assert.ok(processAlive(pid), 'the detached exec process runs');
  assert.equal(readlinkSync(`/proc/${pid}/ns/pid`), readlinkSync(`/proc/${initPid}/ns/pid`));
  const ps = JSON.parse(s.rtOk(['ps', '--format', 'json', id]).stdout) as number[];
  assert.ok(ps.includes(pid), `ps lists the exec process ${pid}: ${ps}`);
});

test('exec: into a stopped container fails', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('exec-stopped', (cfg) => {
    cfg.process!.args = ['true'];
  });
  await s.runToCompletion(id, bundle);
  const r = s.rt(['exec', id, 'true']);
  assert.notEqual(r.code, 0);
  assert.notEqual(r.stderr.trim(), '');
});

test('exec: a missing executable fails with a non-zero exit', { skip }, async (t) => {
  const s = session(t);
  const { id } = await runningContainer(s, 'exec-noexe');
  const r = s.rt(['exec', id, '/no/such/binary']);
  assert.notEqual(r.code, 0);
  assert.equal(s.stateOk(id).status, 'running', 'the container survives a failed exec');
});
