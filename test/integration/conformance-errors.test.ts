/**
 * Conformance: bad input. Every failure must exit non-zero with a message on stderr (wording
 * differs between runtimes, so only that is asserted), and a failed create must leave nothing:
 * no `list` entry, no state, no cgroup directory, no process rooted in the bundle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { session, skipReason, processesRootedAt, type RuntimeSession } from '../helpers/runtime';
import { readyThenSleep, type Bundle } from '../helpers/bundle';
import type { RuntimeConfig } from '../../src/spec/types';

const skip = skipReason({ checker: true });

function assertFailedCleanly(s: RuntimeSession, id: string, bundle: Bundle, what: string): void {
  const r = s.createContainer(id, bundle.dir);
  assert.notEqual(r.code, 0, `create with ${what} must fail`);
  assert.ok(!r.timedOut, 'the runtime did not hang');
  assert.notEqual(r.stderr.trim(), '', 'the failure is explained on stderr');
  assert.deepEqual(s.leftovers(id, undefined, bundle.rootfs), [], `nothing remains after the failed create (${what})`);
}

const badConfigs: Array<[string, (cfg: RuntimeConfig, bundle: Bundle) => void]> = [
  ['a missing rootfs', (cfg) => { cfg.root!.path = 'no-such-rootfs'; }],
  ['no process args', (cfg) => { cfg.process!.args = []; }],
  ['a namespace path that does not exist', (cfg) => { cfg.linux!.namespaces = cfg.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: '/proc/999999999/ns/net' } : n)); }],
  ['an unknown namespace type', (cfg) => { cfg.linux!.namespaces!.push({ type: 'bogus' as never }); }],
  ['a bind mount whose source does not exist', (cfg, b) => { cfg.mounts!.push({ destination: '/data', type: 'bind', source: join(b.dir, 'missing'), options: ['bind'] }); }],
  ['an unknown rlimit', (cfg) => { cfg.process!.rlimits = [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }]; }],
  ['an unknown seccomp action', (cfg) => { cfg.linux!.seccomp = { defaultAction: 'SCMP_ACT_BOGUS' as never }; }],
];

for (const [what, mutate] of badConfigs) {
  test(`errors: create with ${what} fails and leaves nothing`, { skip }, (t) => {
    const s = session(t);
    const { id, bundle } = s.bundle('bad', (cfg, b) => {
      // Start a real user process if the runtime gets that far.
      cfg.process!.args = readyThenSleep();
      mutate(cfg, b);
    });
    assertFailedCleanly(s, id, bundle, what);
  });
}

test('errors: a missing executable fails at create (or at start) and leaves nothing running', { skip }, (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('no-exe', (cfg) => {
    cfg.process!.args = ['/no/such/binary'];
  });
  // runc resolves the executable at create time; a runtime may also report it at start.
  const r = s.createContainer(id, bundle.dir);
  if (r.code === 0) {
    const st = s.startContainer(id);
    assert.notEqual(st.code, 0, 'start of a missing executable must fail');
    assert.notEqual(st.stderr.trim(), '');
    assert.deepEqual(processesRootedAt(bundle.rootfs), [], 'no process is left running');
    return;
  }
  assert.notEqual(r.stderr.trim(), '');
  assert.deepEqual(s.leftovers(id, undefined, bundle.rootfs), []);
});

// The docker CLI turns a failed start into exit status 127 or 126 only when the runtime's
// message contains Go's (lower-case) errno text, matched case-sensitively: so these wordings
// are part of the runtime's interface, not cosmetics.
for (const [what, args, expected] of [
  ['a missing executable', ['/no/such/binary'], /no such file or directory|executable file not found/],
  ['a command not in PATH', ['no-such-command'], /no such file or directory|executable file not found/],
  ['a file that is not executable', ['/etc/passwd'], /permission denied/],
] as const) {
  test(`errors: create with ${what} says so in Go's errno words (docker maps them to 127/126)`, { skip }, (t) => {
    const s = session(t);
    const { id, bundle } = s.bundle('exe-words', (cfg) => {
      cfg.process!.args = [...args];
    });
    const r = s.createContainer(id, bundle.dir);
    assert.notEqual(r.code, 0, `create with ${what} must fail`);
    assert.match(r.stderr, expected);
    assert.deepEqual(s.leftovers(id, undefined, bundle.rootfs), []);
  });
}

test('errors: create with malformed config.json fails and leaves nothing', { skip }, (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('malformed');
  writeFileSync(join(bundle.dir, 'config.json'), '{"ociVersion": "1.0.2", "process": {');
  assertFailedCleanly(s, id, bundle, 'malformed JSON');
});

test('errors: create with config.json of the wrong shape fails', { skip }, (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('wrong-shape');
  writeFileSync(join(bundle.dir, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { args: 'sh', cwd: '/', user: { uid: 'root' } }, root: { path: 'rootfs' } }));
  assertFailedCleanly(s, id, bundle, 'fields of the wrong type');
});

test('errors: create without config.json fails and leaves nothing', { skip }, (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('no-config');
  rmSync(join(bundle.dir, 'config.json'));
  assertFailedCleanly(s, id, bundle, 'no config.json');
});

test('errors: create with a bundle directory that does not exist fails', { skip }, (t) => {
  const s = session(t);
  const id = s.newId('no-bundle');
  const r = s.rt(['create', '--bundle', '/nonexistent/berth-bundle', id]);
  assert.notEqual(r.code, 0);
  assert.notEqual(r.stderr.trim(), '');
  assert.deepEqual(s.leftovers(id), []);
});

for (const badId of ['../escape', 'a/b', '']) {
  test(`errors: create with invalid id ${JSON.stringify(badId)} fails`, { skip }, (t) => {
    const s = session(t);
    const { bundle } = s.bundle('bad-id');
    const r = s.rt(['create', '--bundle', bundle.dir, badId]);
    assert.notEqual(r.code, 0);
    assert.notEqual(r.stderr.trim(), '');
    assert.deepEqual(s.listIds(), []);
  });
}

test('errors: kill with an unknown signal fails and leaves the container running', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('bad-signal', (cfg) => {
    cfg.process!.args = readyThenSleep();
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  for (const sig of ['SIGNOPE', 'NOPE', '99999', '-1']) {
    const r = s.rt(['kill', id, sig]);
    assert.notEqual(r.code, 0, `kill ${sig} must fail`);
    assert.notEqual(r.stderr.trim(), '');
  }
  assert.equal(s.stateOk(id).status, 'running');
});

test('errors: exec --process with a malformed file fails and leaves the container running', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('bad-process', (cfg) => {
    cfg.process!.args = readyThenSleep();
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  const file = join(bundle.dir, 'process.json');
  writeFileSync(file, '{"args": [');
  const r = s.rt(['exec', '--process', file, id]);
  assert.notEqual(r.code, 0);
  assert.notEqual(r.stderr.trim(), '');
  assert.equal(s.stateOk(id).status, 'running');
});

test('errors: an unknown command and an unknown flag fail with usage on stderr', { skip }, (t) => {
  const s = session(t);
  const cmd = s.rt(['no-such-command']);
  assert.notEqual(cmd.code, 0);
  assert.notEqual(cmd.stderr.trim(), '');
  const flag = s.rt(['state', '--no-such-flag', 'x']);
  assert.notEqual(flag.code, 0);
  assert.notEqual(flag.stderr.trim(), '');
});

test('errors: state/start/kill without an id fail', { skip }, (t) => {
  const s = session(t);
  for (const verb of ['state', 'start', 'kill', 'delete']) {
    const r = s.rt([verb]);
    assert.notEqual(r.code, 0, `${verb} without an id must fail`);
    assert.notEqual(r.stderr.trim(), '');
  }
});
