/** netns.ts's file handling around the addon, with a recording fake of the Sys calls. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createNetns, listNetns, removeNetns } from '../../src/network/netns';
import { BerthError } from '../../src/core/errors';
import type { Sys } from '../../src/sys';

function fakeSys(calls: string[], fail?: string): Sys {
  return {
    netnsCreate: async (path: string) => {
      calls.push(`netnsCreate ${path}`);
      if (fail) throw Object.assign(new Error(`unshare(CLONE_NEWNET) ${path}: Operation not permitted`), { code: fail });
    },
    umount: (path: string) => {
      calls.push(`umount ${path}`);
    },
  } as unknown as Sys;
}

test('createNetns makes the directory and the file the addon mounts on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-netns-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const calls: string[] = [];
  const p = join(dir, 'netns', 'abc');
  await createNetns(p, fakeSys(calls));
  assert.deepEqual(calls, [`netnsCreate ${p}`]);
  assert.ok(existsSync(p));
});

test('a failed namespace creation removes the file it made and says how to fix it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-netns-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, 'abc');
  await assert.rejects(createNetns(p, fakeSys([], 'EPERM')), (e: unknown) => e instanceof BerthError && e.code === 'ESYSCALL' && e.message.includes(p) && /run berth as root/.test(e.hint ?? ''));
  assert.deepEqual(readdirSync(dir), []);
  // A leftover plain file (a crash before the mount) is reused, and kept on failure: not ours to delete.
  writeFileSync(p, '');
  await assert.rejects(createNetns(p, fakeSys([], 'EPERM')));
  assert.ok(existsSync(p));
});

test('removeNetns of a plain file or a missing one only deletes what is there; listNetns reports both kinds', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-netns-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'b'), '');
  writeFileSync(join(dir, 'a'), '');
  assert.deepEqual(await listNetns(dir), [
    { path: join(dir, 'a'), mounted: false },
    { path: join(dir, 'b'), mounted: false },
  ]);
  assert.deepEqual(await listNetns(join(dir, 'none')), []);
  const calls: string[] = [];
  await removeNetns(join(dir, 'a'), fakeSys(calls));
  await removeNetns(join(dir, 'a'), fakeSys(calls));
  assert.deepEqual(calls, [], 'nothing to unmount on a file that is not a namespace');
  assert.deepEqual(readdirSync(dir), ['b']);
});
