/**
 * Interop with runc: a bundle written by `berth-runtime spec` runs under runc, and bundles
 * written by `runc spec` (and `runc spec --rootless`) run under berth-runtime. Only what a
 * runtime must change for a test is changed (no terminal, our command); the rest of each
 * generated config is used as written. Results are observed from inside: what the container
 * printed (hostname, ids, maps from the config) and its exit status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH_RUNTIME, RuntimeSession, berthSkipReason, sanitize } from '../helpers/runtime';
import { makeBusyboxRootfs, tempDir } from '../helpers/rootfs';
import { commandReport, findTool, runCommand } from '../helpers/host';
import type { RuntimeConfig } from '../../src/spec/types';

const RUNC = findTool('runc');
const skip = RUNC ? berthSkipReason() : 'runc not installed (Debian package runc)';

type Maker = 'berth' | 'runc';

interface SpecBundle {
  dir: string;
  config: RuntimeConfig;
}

interface Interop {
  /** Drives the runtime that runs the bundle, with a private --root; cleaned up after the test. */
  runner: RuntimeSession;
  /** A bundle whose config.json was written by `maker spec` and then given `args`, without a terminal. */
  bundle(maker: Maker, args: string[], opts?: { rootless?: boolean }): SpecBundle;
  /** A file that receives the runtime's (and so the container's) stdout. */
  stdoutFile(label: string): string;
}

function interop(t: { name: string; after: (fn: () => Promise<void>) => void }, runWith: Maker): Interop {
  const runner = new RuntimeSession(t.name, { binary: runWith === 'runc' ? RUNC! : BERTH_RUNTIME });
  const dirs: Array<{ cleanup: () => void }> = [];
  // Containers first, then the bundles they run from.
  t.after(async () => {
    try {
      await runner.cleanup();
    } finally {
      for (const d of dirs) d.cleanup();
    }
  });
  let files = 0;
  return {
    runner,
    bundle(maker, args, opts = {}) {
      const tmp = tempDir(`interop-${sanitize(t.name).slice(0, 24)}`);
      dirs.push(tmp);
      chmodSync(tmp.path, 0o755);
      makeBusyboxRootfs(join(tmp.path, 'rootfs'));
      const specArgs = ['spec', ...(opts.rootless ? ['--rootless'] : [])];
      const r = runCommand(maker === 'runc' ? RUNC! : BERTH_RUNTIME, specArgs, { cwd: tmp.path });
      assert.equal(r.code, 0, commandReport(`${maker} spec`, r));
      const path = join(tmp.path, 'config.json');
      const config = JSON.parse(readFileSync(path, 'utf8')) as RuntimeConfig;
      config.process!.terminal = false;
      config.process!.args = args;
      writeFileSync(path, JSON.stringify(config, null, 2));
      return { dir: tmp.path, config };
    },
    stdoutFile(label) {
      return join(runner.scratch, `stdout-${label}-${++files}`);
    },
  };
}

/** Prints what the config set up, as seen from inside, then exits with `code`. */
function reportThenExit(code: number): string[] {
  return ['sh', '-c', `echo "hostname=$(hostname)"; echo "uid=$(id -u)"; echo "pid=$$"; exit ${code}`];
}

/** Waits (on a trap, so pid 1 reacts to SIGTERM) until signalled, then says so and exits 3. */
const WAIT_FOR_TERM = ['sh', '-c', 'trap "echo got-TERM; exit 3" TERM; echo ready; sleep 1000000 & wait'];

async function waitForText(file: string, text: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let content = '';
    try {
      content = readFileSync(file, 'utf8');
    } catch {
      /* not written yet */
    }
    if (content.includes(text)) return content;
    if (Date.now() > deadline) throw new Error(`${file} did not get "${text}" within ${timeoutMs} ms; it holds: ${JSON.stringify(content)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** create, state, start, output, stopped, delete: the OCI lifecycle of `bundle` under `runner`. */
async function lifecycle(x: Interop, bundle: SpecBundle, expectedHostname: string): Promise<void> {
  const s = x.runner;
  const id = s.newId('lifecycle');
  const out = x.stdoutFile('lifecycle');
  const c = s.rt(['create', '--bundle', bundle.dir, id], { stdoutFile: out });
  assert.equal(c.code, 0, `create: ${c.stderr}`);
  const created = s.stateOk(id);
  assert.equal(created.status, 'created');
  assert.ok((created.pid ?? 0) > 0, 'a created container has a pid');
  assert.equal(created.bundle, bundle.dir);
  s.rtOk(['start', id]);
  await s.waitForStatus(id, 'stopped');
  const printed = await waitForText(out, 'pid=');
  assert.match(printed, new RegExp(`^hostname=${expectedHostname}$`, 'm'), 'the config hostname is applied');
  assert.match(printed, /^uid=0$/m);
  assert.match(printed, /^pid=1$/m, 'the process is pid 1 of a new pid namespace');
  s.rtOk(['delete', id]);
  assert.deepEqual(s.leftovers(id, created.pid), []);
}

/** A running container stopped by `kill` (TERM reaches its trap), then deleted. */
async function killAndDelete(x: Interop, bundle: SpecBundle): Promise<void> {
  const s = x.runner;
  const id = s.newId('kill');
  const out = x.stdoutFile('kill');
  assert.equal(s.rt(['create', '--bundle', bundle.dir, id], { stdoutFile: out }).code, 0);
  s.rtOk(['start', id]);
  await waitForText(out, 'ready');
  const running = s.stateOk(id);
  assert.equal(running.status, 'running');
  s.rtOk(['kill', id, 'TERM']);
  await s.waitForStatus(id, 'stopped');
  assert.match(readFileSync(out, 'utf8'), /got-TERM/, 'the signal reached the container process');
  s.rtOk(['delete', id]);
  assert.deepEqual(s.leftovers(id, running.pid), []);
}

/** Foreground `run`: stdout and the exit status come back to the caller; nothing is left. */
function foregroundRun(x: Interop, bundle: SpecBundle, expectedHostname: string, code: number): void {
  const s = x.runner;
  const id = s.newId('run');
  const r = s.rt(['run', '--bundle', bundle.dir, id]);
  assert.equal(r.code, code, `exit status of run (stderr: ${r.stderr})`);
  assert.match(r.stdout, new RegExp(`^hostname=${expectedHostname}$`, 'm'));
  assert.deepEqual(s.leftovers(id), []);
}

test('interop: a `berth-runtime spec` bundle under runc: create, state, start, output, delete', { skip }, async (t) => {
  const x = interop(t, 'runc');
  await lifecycle(x, x.bundle('berth', reportThenExit(0)), 'berth');
});

test('interop: a `berth-runtime spec` bundle under runc: kill reaches the process, delete removes it', { skip }, async (t) => {
  const x = interop(t, 'runc');
  await killAndDelete(x, x.bundle('berth', WAIT_FOR_TERM));
});

test('interop: `runc run` of a `berth-runtime spec` bundle returns its stdout and exit status', { skip }, (t) => {
  const x = interop(t, 'runc');
  foregroundRun(x, x.bundle('berth', reportThenExit(7)), 'berth', 7);
});

test('interop: `runc run` of a `berth-runtime spec --rootless` bundle (user namespace) runs as root', { skip }, (t) => {
  const x = interop(t, 'runc');
  const bundle = x.bundle('berth', ['sh', '-c', 'echo "hostname=$(hostname)"; cat /proc/self/uid_map; exit 4'], { rootless: true });
  const id = x.runner.newId('rootless');
  const r = x.runner.rt(['run', '--bundle', bundle.dir, id]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stdout, /^\s*0\s+0\s+1\s*$/m, 'uid 0 inside maps to our uid (0), one id');
});

test('interop: a `runc spec` bundle under berth-runtime: create, state, start, output, delete', { skip }, async (t) => {
  const x = interop(t, 'berth');
  await lifecycle(x, x.bundle('runc', reportThenExit(0)), 'runc');
});

test('interop: a `runc spec` bundle under berth-runtime: kill reaches the process, delete removes it', { skip }, async (t) => {
  const x = interop(t, 'berth');
  await killAndDelete(x, x.bundle('runc', WAIT_FOR_TERM));
});

test('interop: `berth-runtime run` of a `runc spec` bundle returns its stdout and exit status', { skip }, (t) => {
  const x = interop(t, 'berth');
  foregroundRun(x, x.bundle('runc', reportThenExit(7)), 'runc', 7);
});

test('interop: the capabilities `runc spec` asks for are what the process gets under berth-runtime', { skip }, (t) => {
  // runc spec lists its three capabilities as ambient too, without an inheritable set: the
  // kernel cannot raise those, so they are left out (as runc does) instead of failing.
  const x = interop(t, 'berth');
  const bundle = x.bundle('runc', ['sh', '-c', 'grep -E "^Cap(Eff|Bnd|Amb|Inh)" /proc/self/status']);
  const id = x.runner.newId('caps');
  const r = x.runner.rt(['run', '--bundle', bundle.dir, id]);
  assert.equal(r.code, 0, r.stderr);
  // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29).
  const mask = ((1n << 5n) | (1n << 10n) | (1n << 29n)).toString(16).padStart(16, '0');
  assert.match(r.stdout, new RegExp(`^CapEff:\\s+${mask}$`, 'm'));
  assert.match(r.stdout, new RegExp(`^CapBnd:\\s+${mask}$`, 'm'));
  assert.match(r.stdout, /^CapAmb:\s+0{16}$/m);
  assert.match(r.stdout, /^CapInh:\s+0{16}$/m);
});

test('interop: `berth-runtime run` of a `runc spec --rootless` bundle (user namespace) runs as root', { skip }, (t) => {
  const x = interop(t, 'berth');
  const bundle = x.bundle('runc', ['sh', '-c', 'echo "hostname=$(hostname)"; echo "uid=$(id -u)"; cat /proc/self/uid_map; exit 4'], { rootless: true });
  const id = x.runner.newId('rootless');
  const r = x.runner.rt(['run', '--bundle', bundle.dir, id]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stdout, /^hostname=runc$/m);
  assert.match(r.stdout, /^uid=0$/m);
  assert.match(r.stdout, /^\s*0\s+0\s+1\s*$/m, 'uid 0 inside maps to our uid (0), one id');
  assert.deepEqual(x.runner.leftovers(id), []);
});
