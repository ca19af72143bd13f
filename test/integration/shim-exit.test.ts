/**
 * berth-shim's lifecycle with real containers: exit codes and signals in exit.json, the
 * exit command, signal forwarding, reaping orphans, OOM, a failed create leaving nothing,
 * a killed shim (the engine's "lost" rule), and a shim outliving the Node process that
 * launched it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../src/core/errors';
import { deleteContainer } from '../../src/runtime/kill-delete';
import { isSameProcessAlive, readProcStat } from '../../src/runtime/process-info';
import { readExit, recordLostExit, shimAlive, shimState } from '../../src/engine/shim/exit';
import { readShimPid } from '../../src/engine/shim/exit';
import { OUT, readyThenSleep, sh, type CheckerReport } from '../helpers/bundle';
import { eventually, shimCase, shimSkipReason } from '../helpers/shim';

const skip = shimSkipReason();

test('shim exit: exit code, then 128+N and the signal number for a killed process', { skip }, async () => {
  const a = shimCase('exit-code', (cfg) => {
    cfg.process!.args = sh('exit 42');
  });
  const b = shimCase('exit-signal', (cfg) => {
    cfg.process!.args = readyThenSleep();
  });
  try {
    const la = await a.launch();
    await a.run();
    const ea = await a.waitExit();
    assert.equal(ea.exitCode, 42);
    assert.equal(ea.signal, 0);
    assert.equal(ea.oomKilled, false);
    assert.equal(ea.pid, la.containerPid);
    assert.ok(Date.parse(ea.exitedAt) > 0);

    const lb = await b.launch();
    await b.run();
    await b.bundle.waitForOut('ready');
    process.kill(lb.containerPid, 'SIGKILL');
    const eb = await b.waitExit();
    assert.equal(eb.exitCode, 137);
    assert.equal(eb.signal, 9);
    // the shim is gone after the container, and left no socket behind
    await eventually('the shim to exit', () => (shimAlive(lb.shimPid, lb.shimStartTime) ? undefined : true));
    assert.equal(existsSync(join(b.dir, 'attach.sock')), false);
  } finally {
    await a.cleanup();
    await b.cleanup();
  }
});

test('shim exit: the exit command runs after exit.json is written, with its argv intact', { skip }, async () => {
  const c = shimCase('exit-cmd', (cfg) => {
    cfg.process!.args = sh('exit 7');
  });
  try {
    const record = join(c.dir, 'exit-command.txt');
    // the command sees exit.json (it is written first) and gets its arguments verbatim
    const script = `{ for a in "$@"; do printf '[%s]' "$a"; done; echo; cat "${c.dir}/exit.json"; } > "${record}.tmp" && mv "${record}.tmp" "${record}"`;
    await c.launch({ exitCommand: ['/bin/sh', '-c', script, 'sh', 'container', 'cleanup', 'two words', '--flag', ''] });
    await c.run();
    const text = await eventually('the exit command', () => (existsSync(record) ? readFileSync(record, 'utf8') : undefined));
    const [argv, json] = text.split('\n');
    assert.equal(argv, '[container][cleanup][two words][--flag][]');
    assert.equal(JSON.parse(json!).exitCode, 7);
  } finally {
    await c.cleanup();
  }
});

test('shim exit: TERM, INT, HUP, QUIT, USR1, USR2 sent to the shim reach the container process', { skip }, async () => {
  const sigs = ['TERM', 'INT', 'HUP', 'QUIT', 'USR1', 'USR2'] as const;
  const trap = sigs.map((s, i) => `trap 'echo ${s} >> ${OUT}/got; [ ${i} = ${sigs.length - 1} ] && exit 42' ${s};`).join(' ');
  const c = shimCase('exit-forward', (cfg) => {
    cfg.process!.args = sh(`${trap} echo ready > ${OUT}/ready; while :; do sleep 0.05; done`);
  });
  try {
    const l = await c.launch();
    await c.run();
    await c.bundle.waitForOut('ready');
    for (let i = 0; i < sigs.length; i++) {
      process.kill(l.shimPid, `SIG${sigs[i]}` as NodeJS.Signals);
      // one at a time: the shell runs one trap per loop iteration
      await eventually(`SIG${sigs[i]} to arrive`, () => ((c.bundle.readOut('got') ?? '').split('\n').length > i + 1 ? true : undefined));
    }
    assert.equal((await c.waitExit()).exitCode, 42);
    assert.deepEqual(c.bundle.readOut('got')!.trim().split('\n'), [...sigs]);
  } finally {
    await c.cleanup();
  }
});

test('shim exit: orphans re-parented to the shim (no pid namespace) are reaped while the container runs', { skip }, async () => {
  const c = shimCase('exit-reap', (cfg) => {
    cfg.linux!.namespaces = cfg.linux!.namespaces!.filter((n) => n.type !== 'pid');
    // the subshell exits at once; its background job becomes an orphan that exits soon after
    cfg.process!.args = sh(`(sleep 0.2 & echo $! > ${OUT}/orphan); echo ready > ${OUT}/ready; exec sleep 1000`);
  });
  try {
    const l = await c.launch();
    await c.run();
    const orphan = Number((await c.bundle.waitForOut('orphan')).trim());
    assert.ok(orphan > 0);
    // while it lives, it is ours: its parent is the shim, not init
    const ppid = Number(readFileSync(`/proc/${orphan}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    if (readProcStat(orphan)?.state !== 'Z') assert.equal(ppid, l.shimPid, 'the orphan was adopted by the shim (subreaper)');
    await eventually('the orphan to be reaped', () => (existsSync(`/proc/${orphan}`) ? undefined : true));
    assert.ok(isSameProcessAlive(l.containerPid, l.containerStartTime), 'the container still runs');
    process.kill(l.containerPid, 'SIGKILL');
    assert.equal((await c.waitExit()).signal, 9);
  } finally {
    await c.cleanup();
  }
});

test('shim exit: a container killed by the OOM killer is recorded as oomKilled', { skip }, async () => {
  const c = shimCase('exit-oom', (cfg) => {
    cfg.linux!.resources = { ...cfg.linux!.resources, memory: { limit: 16 * 1024 * 1024, swap: 16 * 1024 * 1024 } };
    // tail keeps the whole "line" of an endless zero stream in memory
    cfg.process!.args = sh('tail /dev/zero');
  });
  try {
    await c.launch();
    await c.run();
    const e = await c.waitExit();
    assert.equal(e.exitCode, 137);
    assert.equal(e.oomKilled, true);
  } finally {
    await c.cleanup();
  }
});

test('shim exit: a failed create reports berth-init\'s error and leaves no shim, state or cgroup', { skip }, async () => {
  const c = shimCase('exit-badcreate', (cfg) => {
    cfg.process!.args = ['/no/such/program'];
  });
  try {
    await assert.rejects(c.launch(), (e: unknown) => e instanceof BerthError && e.code === 'EINIT' && /no such file/i.test(e.message));
    const pid = await readShimPid(c.dir);
    assert.ok(pid, 'the shim had started');
    await eventually('the shim to exit', () => (shimAlive(pid.pid, pid.startTime) ? undefined : true));
    assert.equal(await readExit(c.dir), undefined, 'no exit.json: nothing ran');
    assert.equal(c.ctx.store.exists(c.id), false, 'the runtime state is rolled back');
    assert.equal(existsSync(`/sys/fs/cgroup/pids${c.bundle.cgroupsPath}`), false, 'no cgroup left');
  } finally {
    await c.cleanup();
  }
});

test('shim exit: a shim killed with SIGKILL is "lost"; the engine kills the container and records 255', { skip }, async () => {
  const c = shimCase('exit-lost', (cfg) => {
    cfg.process!.args = readyThenSleep();
  });
  try {
    const l = await c.launch();
    await c.run();
    await c.bundle.waitForOut('ready');
    assert.deepEqual(await shimState(c.dir, l.shimPid, l.shimStartTime), { state: 'running' });
    process.kill(l.shimPid, 'SIGKILL');
    await eventually('the shim to die', () => (shimAlive(l.shimPid, l.shimStartTime) ? undefined : true));
    // The container itself runs on (re-parented): this is what must not go unnoticed.
    assert.ok(isSameProcessAlive(l.containerPid, l.containerStartTime));
    assert.deepEqual(await shimState(c.dir, l.shimPid, l.shimStartTime), { state: 'lost' });
    // The engine's rule: kill it through its runtime, then record 255.
    await deleteContainer(c.ctx, c.id, true);
    assert.equal(isSameProcessAlive(l.containerPid, l.containerStartTime), false);
    const rec = await recordLostExit(c.dir);
    assert.equal(rec.exitCode, 255);
    const st = await shimState(c.dir, l.shimPid, l.shimStartTime);
    assert.equal(st.state, 'exited');
    assert.equal(st.state === 'exited' && st.exit.exitCode, 255);
    assert.equal(st.state === 'exited' && st.exit.lost, true);
  } finally {
    await c.cleanup();
  }
});

test('shim exit: the shim and its container outlive the Node process that launched them', { skip }, async () => {
  const c = shimCase('exit-survive', (cfg) => {
    cfg.process!.args = sh(`echo ready > ${OUT}/ready; trap 'echo bye; exit 5' TERM; while :; do sleep 0.05; done`);
  });
  try {
    // A child Node launches and starts the container, prints the shim's identity and exits.
    const script = join(c.dir, '..', 'launcher.js');
    const out = join(__dirname, '..', '..');
    writeFileSync(
      script,
      `const { launchShim, startMonitored } = require(${JSON.stringify(join(out, 'src/engine/shim/launch.js'))});
const { StateStore } = require(${JSON.stringify(join(out, 'src/runtime/state-store.js'))});
(async () => {
  const ctx = { store: new StateStore(${JSON.stringify(c.ctx.store.root)}), warn: () => {}, systemdCgroup: false };
  const l = await launchShim({ id: ${JSON.stringify(c.id)}, dir: ${JSON.stringify(c.dir)}, bundle: ${JSON.stringify(c.bundle.dir)},
    runtime: { kind: 'builtin', ctx }, log: { path: ${JSON.stringify(c.logPath)} } });
  await startMonitored(${JSON.stringify(c.dir)}, ${JSON.stringify(c.id)}, { kind: 'builtin', ctx });
  process.stdout.write(JSON.stringify(l));
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 0, 'the launching process exits by itself (nothing holds it)');
    const l = JSON.parse(text) as { shimPid: number; shimStartTime: number; containerPid: number };
    c.launched = { ...l, containerStartTime: undefined, terminal: false };
    await c.bundle.waitForOut('ready');
    assert.ok(shimAlive(l.shimPid, l.shimStartTime), 'the shim runs on');
    assert.equal(Number(readFileSync(`/proc/${l.shimPid}/stat`, 'utf8').split(') ')[1]!.split(' ')[3]), l.shimPid, 'in its own session');
    process.kill(l.shimPid, 'SIGTERM');
    const e = await c.waitExit();
    assert.equal(e.exitCode, 5);
    assert.deepEqual(c.readLog().map((x) => x.log), ['bye\n']);
  } finally {
    await c.cleanup();
  }
});

test('shim exit: a restart in the same directory starts a fresh exit record and appends to the log', { skip }, async () => {
  const c = shimCase('exit-restart', (cfg) => {
    cfg.process!.args = sh('echo run; exit 3');
  });
  try {
    await c.launch();
    await c.run();
    assert.equal((await c.waitExit()).exitCode, 3);
    // what the engine's cleanup (the exit command) does before restarting it
    await deleteContainer(c.ctx, c.id, true);
    c.bundle.config.process!.args = sh(`echo ready > ${OUT}/ready; echo again; exec sleep 1000`);
    c.bundle.save();
    const l = await c.launch();
    assert.equal(await readExit(c.dir), undefined, 'the previous exit.json is gone');
    await c.run();
    await c.bundle.waitForOut('ready');
    assert.equal(await readExit(c.dir), undefined);
    process.kill(l.containerPid, 'SIGKILL');
    assert.equal((await c.waitExit()).exitCode, 137);
    assert.deepEqual(c.readLog().map((e) => e.log), ['run\n', 'again\n']);
  } finally {
    await c.cleanup();
  }
});

test('shim exit: the container gets only its stdio: pipes to the shim, nothing else of the shim or the engine', { skip }, async () => {
  // the bundle's default process is `berth-checker report > /out/report.json`; keep stdout a pipe
  const c = shimCase('exit-fds', (cfg) => {
    cfg.process!.args = sh(`berth-checker report > ${OUT}/report.json.tmp; mv ${OUT}/report.json.tmp ${OUT}/report.json; ls -l /proc/self/fd/ >&2`);
  });
  try {
    await c.launch({ stdin: true });
    await c.run();
    await c.waitExit();
    const report = c.bundle.readJson<CheckerReport>('report.json');
    assert.deepEqual(report.fds.map((f) => f.fd).sort((a, b) => a - b), [0, 1, 2], JSON.stringify(report.fds));
    assert.match(report.fds.find((f) => f.fd === 0)!.target!, /^pipe:/, 'stdin is the shim\'s pipe (--stdin)');
    assert.match(report.fds.find((f) => f.fd === 2)!.target!, /^pipe:/);
  } finally {
    await c.cleanup();
  }
});

const python = (() => {
  try {
    execFileSync('python3', ['-c', 'import socket; socket.recv_fds'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// Receives one listener (SCM_RIGHTS) with the state JSON, records what it got and closes it
// (the kernel then answers the notified syscalls with ENOSYS).
const AGENT = String.raw`
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 65536, 4)
while True:
    more = c.recv(65536)
    if not more: break
    msg += more
rec = {"state": json.loads(msg), "links": [os.readlink("/proc/self/fd/%d" % f) for f in fds]}
for f in fds: os.close(f)
open(sys.argv[2] + ".tmp", "w").write(json.dumps(rec)); os.rename(sys.argv[2] + ".tmp", sys.argv[2])
`;

test('shim exit: a seccomp notification listener travels through the shim to the agent', { skip: skip ?? (python ? undefined : 'python3 with socket.recv_fds needed') }, async () => {
  let agent: ChildProcess | undefined;
  const c = shimCase('exit-notify', (cfg) => {
    cfg.linux!.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: '/dev/null', // replaced below, once the scratch directory is known
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
    };
    cfg.process!.args = sh(`mkdir /tmp/x 2> ${OUT}/mkdir.err; echo $? > ${OUT}/mkdir.status`);
  });
  try {
    const sock = join(c.dir, '..', 'agent.sock');
    const out = join(c.dir, '..', 'agent.json');
    c.bundle.config.linux!.seccomp!.listenerPath = sock;
    c.bundle.save();
    agent = spawn('python3', ['-c', AGENT, sock, out], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => agent!.stdout!.once('data', r));
    const l = await c.launch();
    await c.run();
    assert.equal((await c.waitExit()).exitCode, 0);
    const rec = JSON.parse(readFileSync(out, 'utf8')) as { state: { pid: number; fds: string[] }; links: string[] };
    assert.deepEqual(rec.links, ['anon_inode:seccomp notify']);
    assert.equal(rec.state.pid, l.containerPid);
    assert.equal(c.bundle.readOut('mkdir.status')?.trim(), '1', 'mkdir was notified (and refused once the agent let go)');
  } finally {
    agent?.kill('SIGKILL');
    await c.cleanup();
  }
});

test('shim exit: if the engine dies in the middle of create, the shim kills what it started and exits', { skip }, async () => {
  const c = shimCase('exit-engine-dies', (cfg, b) => {
    cfg.process!.args = readyThenSleep();
    // createRuntime hooks run in the engine (Node) while the container process waits: the
    // hook records the state (with the container's pid) and hangs, and we kill the engine
    cfg.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${b.dir}/state.json.tmp; mv ${b.dir}/state.json.tmp ${b.dir}/state.json; exec sleep 1000`] }] };
  });
  let hookPid: number | undefined;
  try {
    const script = join(c.dir, '..', 'launcher.js');
    const out = join(__dirname, '..', '..');
    writeFileSync(
      script,
      `const { launchShim } = require(${JSON.stringify(join(out, 'src/engine/shim/launch.js'))});
const { StateStore } = require(${JSON.stringify(join(out, 'src/runtime/state-store.js'))});
const ctx = { store: new StateStore(${JSON.stringify(c.ctx.store.root)}), warn: () => {}, systemdCgroup: false };
launchShim({ id: ${JSON.stringify(c.id)}, dir: ${JSON.stringify(c.dir)}, bundle: ${JSON.stringify(c.bundle.dir)}, runtime: { kind: 'builtin', ctx }, log: null });
`,
    );
    const engine = spawn(process.execPath, [script], { stdio: 'ignore' });
    const stateFile = join(c.bundle.dir, 'state.json');
    const state = await eventually('the createRuntime hook', () => (existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number }) : undefined));
    const shim = (await readShimPid(c.dir))!;
    assert.ok(shimAlive(shim.pid, shim.startTime));
    assert.ok(existsSync(`/proc/${state.pid}`), 'the container process exists, waiting');
    hookPid = Number(execFileSync('pgrep', ['-f', `sleep 1000`, '-P', String(engine.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
    engine.kill('SIGKILL');
    await eventually('the shim to give up', () => (shimAlive(shim.pid, shim.startTime) ? undefined : true));
    await eventually('the container process to be gone', () => (existsSync(`/proc/${state.pid}`) ? undefined : true));
    assert.equal(await readExit(c.dir), undefined, 'no exit.json: it never ran');
    assert.match(readFileSync(join(c.dir, 'shim.log'), 'utf8'), /closed the control channel before the container was created/);
  } finally {
    if (hookPid) {
      try {
        process.kill(hookPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await c.cleanup();
  }
});
