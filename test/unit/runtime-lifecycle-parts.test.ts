import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseSignal, signalName } from '../../src/runtime/signals';
import { parseBytes, parseUser, parseIntFlag } from '../../src/cli/parse';
import { mergeResources } from '../../src/runtime/resources';
import { StateStore, validateId, writeFileAtomic } from '../../src/runtime/state-store';
import { runHook, runHooks } from '../../src/runtime/hooks';
import { initErrorMessage } from '../../src/runtime/init-frames';
import { readProcStat, isSameProcessAlive } from '../../src/runtime/process-info';
import { BerthError } from '../../src/core/errors';

test('signals: names, SIG prefix, numbers and realtime', () => {
  assert.equal(parseSignal('TERM'), 15);
  assert.equal(parseSignal('sigkill'), 9);
  assert.equal(parseSignal('SIGHUP'), 1);
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal('RTMIN+2'), 36);
  assert.equal(parseSignal('0'), 0, 'kill(2)\'s existence check, as runc accepts it');
  assert.equal(signalName(15), 'SIGTERM');
  assert.throws(() => parseSignal('SIGNOPE'), (e: unknown) => e instanceof BerthError && /unknown signal "SIGNOPE"/.test(e.message));
  assert.throws(() => parseSignal('99'), BerthError);
});

test('flag parsers name the flag and the accepted forms', () => {
  assert.equal(parseBytes('--memory', '256m'), 256 * 1024 * 1024);
  assert.equal(parseBytes('--memory', '1g'), 1024 ** 3);
  assert.equal(parseBytes('--memory', '4096'), 4096);
  assert.equal(parseBytes('--memory', '-1'), -1);
  assert.throws(() => parseBytes('--memory', '12q'), /--memory/);
  assert.deepEqual(parseUser('1000:100'), { uid: 1000, gid: 100 });
  assert.deepEqual(parseUser('7'), { uid: 7 });
  assert.throws(() => parseUser('root'), /--user/);
  assert.throws(() => parseIntFlag('--preserve-fds', 'x'), /--preserve-fds/);
});

test('update merges resource groups instead of replacing them', () => {
  const merged = mergeResources({ memory: { limit: 1, swap: 2 }, cpu: { shares: 3 } }, { memory: { limit: 5 } });
  assert.deepEqual(merged, { memory: { limit: 5, swap: 2 }, cpu: { shares: 3 } });
});

test('container ids are validated', () => {
  validateId('web_1.a+b-c');
  assert.throws(() => validateId(''), BerthError);
  assert.throws(() => validateId('../x'), BerthError);
  assert.throws(() => validateId('-x'), BerthError);
});

test('state store: reserve, save, load, list, duplicate and missing ids', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-store-'));
  try {
    const store = new StateStore(root);
    store.reserve('a');
    assert.throws(() => store.reserve('a'), (e: unknown) => e instanceof BerthError && e.code === 'EEXISTS');
    assert.equal(store.exists('a'), false);
    const rec = { id: 'a', bundle: '/b', rootfs: '/b/rootfs', pid: 1, created: 'now', owner: 'root', config: { ociVersion: '1.2.0' } };
    await store.withLock('a', async () => store.save(rec));
    assert.deepEqual(store.load('a'), rec);
    assert.deepEqual(store.ids(), ['a']);
    assert.throws(() => store.load('b'), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND');
    await assert.rejects(store.withLock('b', async () => 1), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND');
    store.remove('a');
    assert.deepEqual(store.ids(), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('atomic writes leave no temporary file behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-atomic-'));
  try {
    writeFileAtomic(join(dir, 'f'), 'one');
    writeFileAtomic(join(dir, 'f'), 'two');
    assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'two');
    assert.equal(existsSync(join(dir, `f.tmp-${process.pid}`)), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hooks get the state on stdin, their args and env, and time out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-hooks-'));
  try {
    const script = join(dir, 'hook.sh');
    writeFileSync(script, `#!/bin/sh\ncat > "${dir}/stdin"\necho "$1 $FOO" > "${dir}/args"\n`);
    chmodSync(script, 0o755);
    await runHook('prestart', 0, { path: script, args: ['myhook', 'one'], env: ['FOO=bar'] }, '{"id":"x"}');
    assert.equal(readFileSync(join(dir, 'stdin'), 'utf8'), '{"id":"x"}');
    assert.equal(readFileSync(join(dir, 'args'), 'utf8').trim(), "one bar");

    const failing = join(dir, 'fail.sh');
    writeFileSync(failing, '#!/bin/sh\necho broken >&2\nexit 3\n');
    chmodSync(failing, 0o755);
    await assert.rejects(runHooks({ poststart: [{ path: failing }] }, 'poststart', '{}'), /hooks\.poststart\[0\].*exit status 3: broken/);

    const slow = join(dir, 'slow.sh');
    writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(slow, 0o755);
    await assert.rejects(runHook('createRuntime', 1, { path: slow, timeout: 1 }, '{}'), /timed out after 1s/);
    await assert.rejects(runHook('prestart', 0, { path: join(dir, 'missing') }, '{}'), /cannot run/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('process identity uses the start time', () => {
  const st = readProcStat(process.pid);
  assert.ok(st && st.startTime > 0);
  assert.equal(isSameProcessAlive(process.pid, st!.startTime), true);
  assert.equal(isSameProcessAlive(process.pid, st!.startTime + 1), false);
  assert.equal(isSameProcessAlive(2 ** 22 + 12345, undefined), false);
});

test('init errors: the errno text reads as Go writes it (lower case), the rest is untouched', () => {
  const msg = (s: string) => initErrorMessage(Buffer.from(s));
  assert.equal(msg('exec: /x: No such file or directory (ENOENT)'), 'exec: /x: no such file or directory (ENOENT)');
  assert.equal(msg('exec: /etc/passwd: Permission denied (EACCES)'), 'exec: /etc/passwd: permission denied (EACCES)');
  assert.equal(msg('mount: /Data: Operation not permitted (EPERM)'), 'mount: /Data: operation not permitted (EPERM)');
  assert.equal(msg('sync: expected frame 3, got 4'), 'sync: expected frame 3, got 4', 'messages without errno stay as they are');
});
