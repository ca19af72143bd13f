/**
 * The walkers behind `berth diff` and `berth commit` (overlay: the upper dir; copy: the
 * writable tree against its parent) read a container's writable tree through directory fds,
 * so a running container that swaps a directory for a symlink to a host directory while they
 * walk (CVE-2018-15664) fails the walk instead of listing the host directory's names,
 * metadata or symlink targets. Runs on temporary directories (no mount); needs the sys addon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../src/core/errors';
import { sys as realSys, type Sys } from '../../src/sys';
import type { ChangeOp } from '../../src/snapshots/changes/ops';
import { compareTrees } from '../../src/snapshots/copy/compare';
import { LowerView } from '../../src/snapshots/overlay/lower-view';
import { upperChanges } from '../../src/snapshots/overlay/upper-changes';

function loadSys(): Sys | undefined {
  try {
    return realSys();
  } catch {
    return undefined;
  }
}
const sys = loadSys();
const skip = sys ? false : 'the sys addon is not built (npm install)';

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-diff-walk-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A writable tree with a directory `a` (holding `mine`), and a host directory with a secret, a symlink and a subdirectory. */
function trees(t: { after: (fn: () => void) => void }): { upper: string; host: string; hostInodes: Set<number> } {
  const upper = scratch(t);
  const host = scratch(t);
  writeFileSync(join(host, 'secret'), 'HOST\n');
  symlinkSync('/etc/host-target', join(host, 'host-link'));
  mkdirSync(join(host, 'host-dir'));
  mkdirSync(join(upper, 'a'));
  writeFileSync(join(upper, 'a', 'mine'), 'mine\n');
  writeFileSync(join(upper, 'top'), 'top\n');
  const hostInodes = new Set(['', 'secret', 'host-link', 'host-dir'].map((n) => lstatSync(join(host, n)).ino));
  return { upper, host, hostInodes };
}

/** What a running container does once the walk has lstat'ed a/ as a directory: a/ becomes a symlink to a host directory. */
function swapOnOpen(upper: string, host: string): (rel: string) => void {
  return (rel) => {
    if (rel !== 'a') return;
    renameSync(join(upper, 'a'), join(upper, 'a.old'));
    symlinkSync(host, join(upper, 'a'));
  };
}

function assertNothingOfTheHost(ops: ChangeOp[], hostInodes: Set<number>): void {
  for (const op of ops) {
    assert.ok(!/secret|host-/.test(op.rel), `host name listed: ${op.rel}`);
    if (op.op === 'opaque') assert.ok(!op.deleted.some((n) => /secret|host-/.test(n)), `host name listed: ${op.deleted.join(',')}`);
    if (op.op === 'entry') {
      assert.ok(!hostInodes.has(op.st.ino), `host metadata listed for ${op.rel}`);
      assert.ok(!JSON.stringify(op).includes('/etc/host-target'), `host symlink target listed for ${op.rel}`);
    }
  }
}

const swappedError = (operation: string) => (e: unknown) =>
  e instanceof BerthError && e.code === 'ESTATE' && new RegExp(`^${operation}: opening a failed \\(was it replaced by a symlink during the ${operation}\\?\\)`).test(e.message);

test('overlay upper walk: a directory swapped for a symlink to a host directory mid-walk fails the walk, nothing of the host is listed', { skip }, async (t) => {
  const { upper, host, hostInodes } = trees(t);
  const ops: ChangeOp[] = [];
  const walk = async (): Promise<void> => {
    for await (const op of upperChanges(upper, new LowerView([], sys as Sys), sys as Sys, { operation: 'commit', beforeOpen: swapOnOpen(upper, host) })) ops.push(op);
  };
  await assert.rejects(walk(), swappedError('commit'));
  assertNothingOfTheHost(ops, hostInodes);
  assert.deepEqual(ops.map((o) => `${o.op} ${o.rel}`), ['entry a'], 'a/ itself was listed from its lstat, before the swap');
});

test('copy tree compare: a directory swapped for a symlink to a host directory mid-walk fails the walk, nothing of the host is listed', { skip }, async (t) => {
  const { upper, host, hostInodes } = trees(t);
  let ops: ChangeOp[] = [];
  await assert.rejects(
    (async () => {
      ops = await compareTrees(undefined, upper, sys as Sys, { operation: 'diff', beforeOpen: swapOnOpen(upper, host) });
    })(),
    swappedError('diff'),
  );
  assertNothingOfTheHost(ops, hostInodes);
});

/** An op as a line: kind, name and what a layer records of it beyond lstat. */
function describe(op: ChangeOp): string {
  if (op.op === 'whiteout') return `D ${op.rel}`;
  if (op.op === 'opaque') return `opaque ${op.rel} hides ${op.deleted.join(',')}`;
  const xattrs = op.xattrs ? ` ${[...op.xattrs].map(([k, v]) => `${k}=${v.toString()}`).join(',')}` : '';
  return `${op.kind} ${op.rel}${op.linkTarget !== undefined ? ` -> ${op.linkTarget}` : ''}${xattrs}`;
}

test('overlay upper walk: whiteouts, opaque directories, xattrs and symlink targets read through the directory fds', { skip }, async (t) => {
  const layer = scratch(t);
  mkdirSync(join(layer, 'd'));
  writeFileSync(join(layer, 'd', 'old'), '');
  writeFileSync(join(layer, 'gone'), '');
  writeFileSync(join(layer, 'f'), 'before');
  const upper = scratch(t);
  mkdirSync(join(upper, 'd'));
  (sys as Sys).lsetxattr(join(upper, 'd'), 'trusted.overlay.opaque', Buffer.from('y'));
  writeFileSync(join(upper, 'd', 'kept'), '');
  (sys as Sys).mknod(join(upper, 'gone'), 0o20000 | 0o600, 0, 0);
  writeFileSync(join(upper, 'f'), 'after');
  (sys as Sys).lsetxattr(join(upper, 'f'), 'user.k', Buffer.from('v'));
  symlinkSync('/target', join(upper, 'l'));
  const ops: ChangeOp[] = [];
  for await (const op of upperChanges(upper, new LowerView([layer], sys as Sys), sys as Sys, { operation: 'diff' })) ops.push(op);
  assert.deepEqual(ops.map(describe), ['D gone', 'C d', 'opaque d hides old', 'A d/kept', 'C f user.k=v', 'A l -> /target']);
});

test('copy tree compare: deletions, changes, additions, xattrs and symlink targets read through the directory fds', { skip }, async (t) => {
  const lower = scratch(t);
  writeFileSync(join(lower, 'gone'), '');
  writeFileSync(join(lower, 'f'), 'before');
  const upper = scratch(t);
  writeFileSync(join(upper, 'f'), 'after');
  (sys as Sys).lsetxattr(join(upper, 'f'), 'user.k', Buffer.from('v'));
  symlinkSync('/target', join(upper, 'l'));
  mkdirSync(join(upper, 'new'));
  writeFileSync(join(upper, 'new', 'x'), '');
  const ops = await compareTrees(lower, upper, sys as Sys, { operation: 'diff' });
  assert.deepEqual(ops.map(describe), ['D gone', 'C f user.k=v', 'A l -> /target', 'A new', 'A new/x']);
});
