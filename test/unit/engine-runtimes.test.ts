/**
 * The OCI runtime seam: which implementation a record gets, and the external runtime's
 * command lines and how it reads their answers, against a stand-in runtime script (no root,
 * no container: it records its arguments and stdin and answers as runc would).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuiltinRuntime, ExternalRuntime, externalRoot, isBuiltinName, Runtimes, runtimeFrozen } from '../../src/engine/runtimes';
import { BerthError } from '../../src/core/errors';

function rec(runtime: string): { Berth: { runtime: string } } {
  return { Berth: { runtime } };
}

test('runtimes.for: berth (or an older record\'s empty name) is the built-in runtime, anything else an external binary', () => {
  const runtimes = new Runtimes('/run/berth-test');
  assert.ok(runtimes.for(rec('berth')) instanceof BuiltinRuntime);
  assert.ok(runtimes.for(rec('')) instanceof BuiltinRuntime);
  assert.equal(runtimes.for(rec('berth')), runtimes.builtin, 'one built-in runtime per engine');
  const ext = runtimes.for(rec('crun'));
  assert.ok(ext instanceof ExternalRuntime);
  assert.equal(ext.name, 'crun');
  assert.equal(isBuiltinName('runc'), false);
  assert.equal(runtimes.builtin.pausesForCommit, true);
  assert.equal(ext.pausesForCommit, false);
});

test('external runtime state roots are per binary under the run root', () => {
  assert.equal(externalRoot('/run/berth', '/usr/sbin/runc'), '/run/berth/runtimes/_usr_sbin_runc');
});

/** A fake runtime: appends "ARGS|STDIN" to calls.log; `state` prints $STATE; `pause` fails. */
function fakeRuntime(): { dir: string; binary: string; calls: () => string[]; setState: (json: string) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-fake-runtime-'));
  const binary = join(dir, 'fakerun');
  writeFileSync(
    binary,
    `#!/bin/sh
input=""
case "$*" in *" - "*) input=$(cat) ;; esac
echo "$*|$input" >> "${dir}/calls.log"
case "$*" in
  *" state "*) cat "${dir}/state.json" 2>/dev/null ;;
  *" pause "*) echo "first line" >&2; echo "the freezer is not mounted" >&2; exit 1 ;;
  *" update "*) echo "no such container" >&2; exit 1 ;;
esac
exit 0
`,
  );
  chmodSync(binary, 0o755);
  return {
    dir,
    binary,
    calls: () => readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n'),
    setState: (json) => writeFileSync(join(dir, 'state.json'), json),
  };
}

test('external runtime: kill, delete and state are its command lines, run without blocking', async () => {
  const f = fakeRuntime();
  try {
    const rt = new ExternalRuntime(f.binary, '/run/x');
    const root = externalRoot('/run/x', f.binary);
    await rt.kill('c1', 15);
    await rt.kill('c1', 9, true);
    await rt.delete('c1');
    assert.equal(await rt.state('c1'), undefined, 'no answer: unknown container');
    f.setState('{"status":"paused","pid":42}');
    assert.deepEqual(await rt.state('c1'), { status: 'paused', pid: 42 });
    assert.equal(await runtimeFrozen(rt, 'c1'), true);
    assert.equal(await rt.started('c1'), true, 'paused: it was released');
    f.setState('{"status":"created"}');
    assert.equal(await rt.started('c1'), false, 'created without a pid: not started');
    assert.deepEqual(f.calls(), [
      `--root ${root} kill c1 15|`,
      `--root ${root} kill --all c1 9|`,
      `--root ${root} delete --force c1|`,
      `--root ${root} state c1|`,
      `--root ${root} state c1|`,
      `--root ${root} state c1|`,
      `--root ${root} state c1|`,
      `--root ${root} state c1|`,
    ]);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

test('external runtime: a refused pause or update is an ECGROUP error in the runtime\'s own words', async () => {
  const f = fakeRuntime();
  try {
    const rt = new ExternalRuntime(f.binary, '/run/x');
    await assert.rejects(rt.pause('0123456789abcdef'), (e: unknown) => {
      assert.ok(e instanceof BerthError);
      assert.equal(e.code, 'ECGROUP');
      assert.equal(e.message, 'fakerun pause 0123456789ab failed: the freezer is not mounted');
      return true;
    });
    await assert.rejects(rt.update('c1', { pids: { limit: 5 } }), /fakerun update failed: no such container/);
    assert.equal(f.calls().at(-1), `--root ${externalRoot('/run/x', f.binary)} update --resources - c1|{"pids":{"limit":5}}`, 'resources on stdin');
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

test('external runtime: a binary not in PATH fails when used, as ENOT_FOUND', async () => {
  const rt = new Runtimes('/run/x').for(rec('no-such-runtime-here'));
  await assert.rejects(rt.kill('c1', 9), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND');
  assert.throws(() => rt.shim(() => undefined), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND');
});
