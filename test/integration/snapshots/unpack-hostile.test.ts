/**
 * Hostile layer archives. Each crafted tar is applied to `target/` next to a canary
 * directory; afterwards the canary and the parent directory must be exactly as before (no
 * content, mode, owner, time or xattr change, no new file), and the outcome must be the
 * documented one: a clear EUNSAFE_ARCHIVE/EBAD_ARCHIVE error, or a documented skip.
 * Every case runs in both apply modes (overlay layer dir, and copy onto a parent tree).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync, utimesSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyLayerTar, type ApplyMode } from '../../../src/snapshots/unpack/apply';
import { sys } from '../../../src/sys';
import { isBerthError } from '../../../src/core/errors';
import { tempDir } from '../../helpers/rootfs';
import { fingerprint, rawTar, streamOf, tarOf, type EntrySpec } from '../../helpers/layers';

type Outcome = { error: 'EUNSAFE_ARCHIVE' | 'EBAD_ARCHIVE'; message?: RegExp } | { ok: (target: string) => void };

interface Case {
  name: string;
  /** Entries, given the absolute path of the canary dir. */
  entries: (canary: string) => EntrySpec[];
  outcome: Outcome;
  allowDevices?: boolean;
  /** Use tar-stream directly (names verbatim, no PAX). */
  raw?: boolean;
}

const unsafe = (message?: RegExp): Outcome => ({ error: 'EUNSAFE_ARCHIVE', ...(message ? { message } : {}) });

const cases: Case[] = [
  { name: 'file with ..', entries: () => [{ name: '../canary/evil', content: 'x' }], outcome: unsafe(/climbs out/) },
  { name: 'nested .. climbing out', entries: () => [{ name: 'a/../../canary/evil', content: 'x' }], outcome: unsafe(/climbs out/) },
  { name: '.. that would stay inside', entries: () => [{ name: 'a/../b', content: 'x' }], outcome: unsafe(/climbs out/) },
  { name: 'absolute file name', entries: (c) => [{ name: `${c}/evil`, content: 'x' }], outcome: unsafe(/absolute/), raw: true },
  { name: 'absolute symlink, then a file through it', entries: (c) => [{ name: 'a', type: 'symlink', linkname: c }, { name: 'a/evil', content: 'x' }], outcome: unsafe(/symlink/) },
  { name: 'absolute symlink, then overwrite a file through it', entries: (c) => [{ name: 'a', type: 'symlink', linkname: c }, { name: 'a/file', content: 'pwned' }], outcome: unsafe(/symlink/) },
  { name: 'climbing symlink (..), then a file through it', entries: () => [{ name: 'a', type: 'symlink', linkname: '..' }, { name: 'a/canary/evil', content: 'x' }], outcome: unsafe(/symlink/) },
  { name: 'climbing symlink ../../.., then a dir through it', entries: () => [{ name: 'a', type: 'symlink', linkname: '../../..' }, { name: 'a/tmp/', type: 'directory' }], outcome: unsafe(/symlink/) },
  { name: 'symlink chain to outside', entries: (c) => [{ name: 'b', type: 'symlink', linkname: c }, { name: 'a', type: 'symlink', linkname: 'b' }, { name: 'a/evil', content: 'x' }], outcome: unsafe(/symlink/) },
  { name: 'symlink in a deeper parent', entries: (c) => [{ name: 'd/' }, { name: 'd/s', type: 'symlink', linkname: c }, { name: 'd/s/x/evil', content: 'x' }], outcome: unsafe(/symlink/) },
  { name: 'device through a symlink', entries: (c) => [{ name: 'a', type: 'symlink', linkname: c }, { name: 'a/null', type: 'character-device', devmajor: 1, devminor: 3 }], outcome: unsafe(/symlink/) },
  { name: 'dir swapped for a symlink, then written through', entries: (c) => [{ name: 'd/' }, { name: 'd/f', content: 'x' }, { name: 'd', type: 'symlink', linkname: c }, { name: 'd/g', content: 'x' }], outcome: unsafe(/symlink/) },
  { name: 'hardlink to an absolute path', entries: (c) => [{ name: 'h', type: 'link', linkname: `${c}/file` }], outcome: unsafe(/absolute/), raw: true },
  { name: 'hardlink with ..', entries: () => [{ name: 'h', type: 'link', linkname: '../canary/file' }], outcome: unsafe(/climbs out/) },
  { name: 'hardlink through a symlink', entries: (c) => [{ name: 'a', type: 'symlink', linkname: c }, { name: 'h', type: 'link', linkname: 'a/file' }], outcome: unsafe(/symlink/) },
  { name: 'hardlink to a file outside this layer', entries: () => [{ name: 'h', type: 'link', linkname: 'existing' }], outcome: unsafe(/not an earlier entry/) },
  { name: 'hardlink to a directory', entries: () => [{ name: 'd/' }, { name: 'h', type: 'link', linkname: 'd' }], outcome: unsafe(/not an earlier entry|directory/) },
  { name: 'hardlink to the layer root', entries: () => [{ name: 'h', type: 'link', linkname: '.' }], outcome: unsafe(/root/) },
  { name: 'whiteout ".wh." alone', entries: () => [{ name: '.wh.' }], outcome: unsafe(/invalid whiteout/) },
  { name: 'whiteout ".wh.."', entries: () => [{ name: 'd/.wh..' }], outcome: unsafe(/invalid whiteout/) },
  { name: 'whiteout ".wh..."', entries: () => [{ name: 'd/.wh...' }], outcome: unsafe(/invalid whiteout/) },
  { name: 'whiteout used as a directory ".wh.../x"', entries: () => [{ name: '.wh.../x' }], outcome: unsafe(/whiteout name is used as a directory/) },
  { name: 'whiteout with .. in its path', entries: () => [{ name: '../.wh.canary' }], outcome: unsafe(/climbs out/) },
  { name: 'whiteout through a symlink', entries: (c) => [{ name: 'a', type: 'symlink', linkname: c }, { name: 'a/.wh.file' }], outcome: unsafe(/symlink/) },
  { name: 'opaque marker through a symlink', entries: (c) => [{ name: 'a', type: 'symlink', linkname: c }, { name: 'a/.wh..wh..opq' }], outcome: unsafe(/symlink/) },
  { name: 'device where devices are not permitted', entries: () => [{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }], outcome: unsafe(/not permitted/), allowDevices: false },
  { name: 'block device where devices are not permitted', entries: () => [{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }], outcome: unsafe(/not permitted/), allowDevices: false },
  { name: 'long PAX name climbing out', entries: () => [{ name: `${'x/'.repeat(60)}${'../'.repeat(62)}canary/evil`, content: 'x' }], outcome: unsafe(/climbs out/) },
  {
    name: 'symlink replaced by a file: writes the layer, not the link target',
    entries: (c) => [{ name: 'a', type: 'symlink', linkname: `${c}/file` }, { name: 'a', content: 'mine', mode: 0o4755 }],
    outcome: { ok: (t) => assert.equal(readFileSync(join(t, 'a'), 'utf8'), 'mine') },
  },
  {
    name: 'symlink replaced by a directory: chmod/chown/times hit the new dir',
    entries: (c) => [{ name: 'a', type: 'symlink', linkname: c }, { name: 'a/', mode: 0o777 }],
    outcome: { ok: (t) => assert.ok(lstatSync(join(t, 'a')).isDirectory()) },
  },
  {
    name: 'symlink with mode and times: only the link itself changes',
    entries: (c) => [{ name: 'l', type: 'symlink', linkname: `${c}/file`, mode: 0o777, mtime: 1 }],
    outcome: { ok: (t) => assert.equal(lstatSync(join(t, 'l')).mtimeMs, 1000) },
  },
  {
    name: 'overlay metadata xattrs in the archive are dropped',
    entries: () => [{ name: 'd/', xattrs: { 'trusted.overlay.redirect': '/etc', 'trusted.overlay.opaque': 'y', 'trusted.berth.ok': 'kept' } }],
    outcome: {
      ok: (t) => {
        assert.equal(sys().lgetxattr(join(t, 'd'), 'trusted.overlay.redirect'), null);
        assert.equal(sys().lgetxattr(join(t, 'd'), 'trusted.overlay.opaque'), null);
        assert.equal(sys().lgetxattr(join(t, 'd'), 'trusted.berth.ok')?.toString(), 'kept');
      },
    },
  },
  {
    name: 'root entry "./" with odd mode is skipped',
    entries: () => [{ name: './', mode: 0o777, uid: 1234 }],
    outcome: { ok: (t) => assert.equal(lstatSync(t).uid, 0) },
  },
  { name: 'AUFS metadata names are skipped', entries: () => [{ name: '.wh..wh.plnk/1234.5' }, { name: '.wh..wh.aufs' }], outcome: unsafe(/whiteout name is used as a directory/) },
  { name: 'AUFS metadata file alone is skipped', entries: () => [{ name: '.wh..wh.aufs' }], outcome: { ok: (t) => assert.equal(existsSync(join(t, '.wh..wh.aufs')), false) } },
];

function setupArena(root: string, mode: ApplyMode): { target: string; canary: string } {
  const target = join(root, 'target');
  const canary = join(root, 'canary');
  mkdirSync(target, { mode: 0o755 });
  mkdirSync(join(canary, 'sub'), { recursive: true });
  writeFileSync(join(canary, 'file'), 'canary');
  writeFileSync(join(canary, 'sub', 'deep'), 'deep');
  symlinkSync('file', join(canary, 'link'));
  if (mode === 'copy') writeFileSync(join(target, 'existing'), 'from the parent layer');
  for (const p of [join(canary, 'sub', 'deep'), join(canary, 'file'), join(canary, 'sub'), canary, root]) utimesSync(p, 1_000_000, 1_000_000);
  return { target, canary };
}

for (const mode of ['overlay', 'copy'] as const) {
  for (const c of cases) {
    test(`hostile tar (${mode}): ${c.name}`, async () => {
      const arena = tempDir(`hostile-${mode}`);
      try {
        const { target, canary } = setupArena(arena.path, mode);
        const before = fingerprint(canary);
        const rootBefore = { names: readdirSync(arena.path).sort(), mtime: lstatSync(arena.path).mtimeMs };
        const entries = c.entries(canary);
        const tar = c.raw
          ? await rawTar(entries.map((e) => ({ name: e.name, type: e.type ?? 'file', linkname: e.linkname ?? '', content: e.content?.toString() ?? '' })))
          : await tarOf(entries);
        let error: unknown;
        try {
          await applyLayerTar(target, streamOf(tar), { mode, sys: sys(), allowDevices: c.allowDevices ?? true });
        } catch (e) {
          error = e;
        }
        if ('error' in c.outcome) {
          assert.ok(error, 'the archive must be refused');
          assert.ok(isBerthError(error), `a BerthError, got ${String(error)}`);
          assert.equal(error.code, c.outcome.error, error.message);
          if (c.outcome.message) assert.match(error.message, c.outcome.message);
          assert.match(error.message, /layer entry "/, 'the message names the entry');
        } else {
          assert.equal(error, undefined, `no error expected: ${String(error)}`);
          c.outcome.ok(target);
        }
        assert.deepEqual(fingerprint(canary), before, 'the canary next to the target is unchanged');
        assert.deepEqual({ names: readdirSync(arena.path).sort(), mtime: lstatSync(arena.path).mtimeMs }, rootBefore, 'nothing new beside the target');
      } finally {
        arena.cleanup();
      }
    });
  }
}
