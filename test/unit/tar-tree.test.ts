/**
 * The fd-based tree archiver (src/tar/tree.ts) that export and cp share: what it writes for
 * each kind of entry, and that a component swapped for a symlink between its lstat and its
 * open (CVE-2018-15664) fails the walk instead of archiving what the symlink points at.
 * Runs on a temporary directory; needs the sys addon (openat2), which `npm install` builds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, linkSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, constants as fsc } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError } from '../../src/core/errors';
import { sys as realSys, type Sys } from '../../src/sys';
import { readTar, type TarEntryType } from '../../src/tar/reader';
import { archiveTree, openChecked, openTreeRoot, type ArchiveTreeOptions, type TreeTop } from '../../src/tar/tree';
import { exportRootfs } from '../../src/images/archive/export';

function loadSys(): Sys | undefined {
  try {
    return realSys();
  } catch {
    return undefined;
  }
}
const sys = loadSys();
const skip = sys ? false : 'the sys addon is not built (npm install)';

interface Seen {
  name: string;
  type: TarEntryType;
  linkname: string;
  data: string;
}

/** Every entry of a tar stream, and the error that ended it early, if one did. */
async function collect(stream: Readable): Promise<{ entries: Seen[]; error: unknown }> {
  const entries: Seen[] = [];
  try {
    for await (const e of readTar(stream)) {
      const parts: Buffer[] = [];
      for await (const c of e.body) parts.push(c);
      entries.push({ name: e.name, type: e.type, linkname: e.linkname, data: Buffer.concat(parts).toString() });
    }
    return { entries, error: undefined };
  } catch (error) {
    return { entries, error };
  }
}

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tar-tree-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Archives the contents of the directory `dir` (held open by an fd the walk closes). */
function archiveDir(dir: string, opts: Omit<ArchiveTreeOptions, 'operation'> = {}) {
  const top: TreeTop = { fd: openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY), owned: true };
  return archiveTree(sys as Sys, top, '', { operation: 'copy', ...opts });
}

test('tree archive: files, directories, symlinks kept as symlinks (never followed), hard links as links to the first name', { skip }, async (t) => {
  const root = scratch(t);
  const outside = scratch(t);
  writeFileSync(join(outside, 'secret'), 'HOST\n');
  mkdirSync(join(root, 'd'));
  writeFileSync(join(root, 'd', 'file'), 'hello\n');
  linkSync(join(root, 'd', 'file'), join(root, 'e-second-name'));
  writeFileSync(join(root, 'empty'), '');
  symlinkSync(outside, join(root, 'to-outside'));
  symlinkSync(join(outside, 'secret'), join(root, 'to-secret'));
  const archive = archiveDir(root);
  const { entries, error } = await collect(archive.stream);
  assert.equal(error, undefined);
  assert.equal(await archive.done, 'hello\n'.length);
  assert.deepEqual(entries.map((e) => `${e.type} ${e.name}${e.linkname ? ` -> ${e.linkname}` : ''}`), [
    'directory d/',
    'file d/file',
    'link e-second-name -> d/file',
    'file empty',
    `symlink to-outside -> ${outside}`,
    `symlink to-secret -> ${join(outside, 'secret')}`,
  ]);
  assert.equal(entries[1]?.data, 'hello\n');
  assert.ok(!entries.some((e) => e.data.includes('HOST')), 'nothing read through a symlink');
});

test('tree archive: a single file or a directory under a name of its own (cp\'s shapes)', { skip }, async (t) => {
  const root = scratch(t);
  mkdirSync(join(root, 'd'));
  writeFileSync(join(root, 'd', 'f'), 'x');
  const parent = openSync(root, fsc.O_RDONLY | fsc.O_DIRECTORY);
  t.after(() => closeSync(parent));
  const dir = await collect(archiveTree(sys as Sys, { parentFd: parent, name: 'd' }, 'copied', { operation: 'copy' }).stream);
  assert.deepEqual(dir.entries.map((e) => e.name), ['copied/', 'copied/f']);
  const file = await collect(archiveTree(sys as Sys, { parentFd: parent, name: 'd' }, '', { operation: 'copy' }).stream);
  assert.deepEqual(file.entries.map((e) => e.name), ['f'], 'no prefix: the directory\'s contents');
  const fd = openSync(join(root, 'd', 'f'), 'r');
  t.after(() => closeSync(fd));
  const one = await collect(archiveTree(sys as Sys, { fd }, 'renamed', { operation: 'copy' }).stream);
  assert.deepEqual(one.entries.map((e) => [e.name, e.data]), [['renamed', 'x']]);
});

test('tree archive: a directory swapped for a symlink mid-walk fails the walk, nothing of the target is archived', { skip }, async (t) => {
  const root = scratch(t);
  const outside = scratch(t);
  writeFileSync(join(outside, 'secret'), 'HOST\n');
  mkdirSync(join(root, 'a'));
  writeFileSync(join(root, 'a', 'mine'), 'mine\n');
  // What a container does once the walk has lstat'ed a/ as a directory: a/ becomes a symlink to a host directory.
  const archive = archiveDir(root, {
    beforeOpen: (entry) => {
      if (entry !== 'a') return;
      renameSync(join(root, 'a'), join(root, 'a.old'));
      symlinkSync(outside, join(root, 'a'));
    },
  });
  const { entries, error } = await collect(archive.stream);
  assert.ok(error, 'the stream fails');
  await assert.rejects(archive.done, (e: unknown) => e instanceof BerthError && e.code === 'ESTATE' && /opening a failed \(was it replaced by a symlink during the copy\?\)/.test(e.message));
  assert.ok(!entries.some((e) => e.name.includes('secret') || e.data.includes('HOST')), JSON.stringify(entries));
});

test('tree archive: a file swapped for a symlink, or for another file, mid-walk fails the walk', { skip }, async (t) => {
  const root = scratch(t);
  const outside = scratch(t);
  writeFileSync(join(outside, 'secret'), 'HOST\n');
  writeFileSync(join(root, 'f'), 'mine\n');
  const toSymlink = archiveDir(root, {
    beforeOpen: () => {
      rmSync(join(root, 'f'));
      symlinkSync(join(outside, 'secret'), join(root, 'f'));
    },
  });
  const first = await collect(toSymlink.stream);
  assert.ok(first.error);
  await assert.rejects(toSymlink.done, /replaced by a symlink/);
  assert.ok(!first.entries.some((e) => e.data.includes('HOST')));

  rmSync(join(root, 'f'));
  writeFileSync(join(root, 'f'), 'mine\n');
  const toOther = archiveDir(root, {
    beforeOpen: () => {
      writeFileSync(join(root, 'other'), 'other\n');
      renameSync(join(root, 'other'), join(root, 'f'));
    },
  });
  const second = await collect(toOther.stream);
  assert.ok(second.error);
  await assert.rejects(toOther.done, (e: unknown) => e instanceof BerthError && e.code === 'ESTATE' && /copy: f changed while it was copied/.test(e.message));
  assert.ok(!second.entries.some((e) => e.data.includes('other')));
});

test('export: the root itself may not be a symlink; a missing root fails the stream', { skip }, async (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, 'real'));
  writeFileSync(join(dir, 'real', 'f'), 'f');
  symlinkSync(join(dir, 'real'), join(dir, 'link'));
  const ok = await collect(exportRootfs(join(dir, 'real')));
  assert.deepEqual(ok.entries.map((e) => e.name), ['f']);
  for (const bad of ['link', 'missing']) {
    const { entries, error } = await collect(exportRootfs(join(dir, bad)));
    assert.deepEqual(entries, []);
    assert.ok(error instanceof BerthError && error.code === 'ENOT_FOUND' && /export: cannot open the root filesystem/.test(error.message), String(error));
  }
  await assert.rejects(openTreeRoot(join(dir, 'link'), 'export'), /cannot open the root filesystem/);
});

test('openChecked (what commit\'s layer export opens files with): the inode lstat saw, never through a symlink', { skip }, async (t) => {
  const root = scratch(t);
  const outside = scratch(t);
  writeFileSync(join(outside, 'secret'), 'HOST\n');
  mkdirSync(join(root, 'd'));
  writeFileSync(join(root, 'd', 'f'), 'mine\n');
  const st = lstatSync(join(root, 'd', 'f'));
  const fd = await openChecked(sys as Sys, root, 'd/f', st, 'commit');
  assert.equal(readFileSync(fd, 'utf8'), 'mine\n');
  closeSync(fd);
  // d swapped for a symlink to a host directory holding a file of the same name.
  renameSync(join(root, 'd'), join(root, 'd.old'));
  symlinkSync(outside, join(root, 'd'));
  await assert.rejects(openChecked(sys as Sys, root, 'd/f', st, 'commit'), /commit: opening d\/f failed \(was it replaced by a symlink during the commit\?\)/);
  // f replaced by another file.
  rmSync(join(root, 'd'));
  renameSync(join(root, 'd.old'), join(root, 'd'));
  writeFileSync(join(root, 'd', 'g'), 'other\n');
  renameSync(join(root, 'd', 'g'), join(root, 'd', 'f'));
  await assert.rejects(openChecked(sys as Sys, root, 'd/f', st, 'commit'), (e: unknown) => e instanceof BerthError && e.code === 'ESTATE' && e.message === 'commit: d/f changed while it was committed');
});
