// The tar package's writer and reader (src/tar): round trips, GNU tar compatibility, PAX.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { decodePaxRecords, readTar, type TarEntry } from '../../src/tar/reader';
import { TarWriter, ustarHeader } from '../../src/tar/writer';
import { devNumbers, HardLinks } from '../../src/tar/entry';

async function roundTrip(write: (w: TarWriter) => Promise<void>): Promise<{ tar: Buffer; entries: Array<Omit<TarEntry, 'body'> & { data: string }> }> {
  const w = new TarWriter();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of w.stream) chunks.push(c as Buffer);
  })();
  await write(w);
  w.finish();
  await collected;
  const tar = Buffer.concat(chunks);
  const entries = [];
  for await (const e of readTar(Readable.from([tar]))) {
    const parts: Buffer[] = [];
    for await (const c of e.body) parts.push(c);
    const { body: _body, ...rest } = e;
    entries.push({ ...rest, data: Buffer.concat(parts).toString() });
  }
  return { tar, entries };
}

const BINARY = Buffer.from([0, 1, 0x7f, 0x80, 0xc3, 0x28, 0xff, 0x0a, 0x3d]);

test('tar writer/reader round trip: types, ids, long and unicode names, binary xattrs', async () => {
  const longName = `${'dir-'.repeat(40)}/${'f'.repeat(150)}`;
  const { tar, entries } = await roundTrip(async (w) => {
    await w.add({ name: 'd', type: 'directory', mode: 0o1777, uid: 1, gid: 2, mtime: 100 });
    await w.add({ name: 'd/file', type: 'file', mode: 0o4755, uid: 3_000_000, gid: 70_000_000, mtime: 200, size: 5, xattrs: new Map([['security.capability', BINARY], ['user.a', Buffer.from('b')]]) }, Readable.from([Buffer.from('hello')]));
    await w.add({ name: longName, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, size: 0 });
    await w.add({ name: 'ユニコード', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1, linkname: `../${'t'.repeat(120)}` });
    await w.add({ name: 'hard', type: 'link', mode: 0o644, uid: 0, gid: 0, mtime: 1, linkname: 'd/file' });
    await w.add({ name: 'null', type: 'character-device', mode: 0o666, uid: 0, gid: 0, mtime: 1, devmajor: 1, devminor: 3 });
    await w.add({ name: 'fifo', type: 'fifo', mode: 0o600, uid: 0, gid: 0, mtime: 1 });
  });
  assert.equal(tar.length % 512, 0);
  const byName = new Map(entries.map((e) => [e.name.replace(/\/$/, ''), e]));
  assert.equal(byName.get('d')?.type, 'directory');
  assert.equal(byName.get('d')?.mode, 0o1777);
  const f = byName.get('d/file');
  assert.equal(f?.data, 'hello');
  assert.equal(f?.mode, 0o4755);
  assert.equal(f?.uid, 3_000_000);
  assert.equal(f?.gid, 70_000_000);
  assert.equal(f?.mtime, 200);
  assert.deepEqual(f?.xattrs.get('security.capability'), BINARY, 'binary xattr byte-exact');
  assert.deepEqual(f?.xattrs.get('user.a'), Buffer.from('b'));
  assert.equal(byName.get(longName)?.type, 'file');
  assert.equal(byName.get('ユニコード')?.linkname, `../${'t'.repeat(120)}`);
  assert.equal(byName.get('hard')?.type, 'link');
  assert.equal(byName.get('hard')?.linkname, 'd/file');
  assert.equal(byName.get('null')?.devmajor, 1);
  assert.equal(byName.get('null')?.devminor, 3);
  assert.equal(byName.get('fifo')?.type, 'fifo');
});

test('GNU tar reads what the writer produces (names, link targets, xattrs)', async (t) => {
  if (spawnSync('tar', ['--version']).status !== 0) return t.skip('GNU tar is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'berth-gnutar-'));
  try {
    const longName = `${'sub/'.repeat(30)}${'n'.repeat(120)}`;
    const { tar } = await roundTrip(async (w) => {
      await w.add({ name: 'a', type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: 1_600_000_000, size: 3, xattrs: new Map([['user.k', Buffer.from('v')]]) }, Readable.from([Buffer.from('abc')]));
      await w.add({ name: longName, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, size: 0 });
      await w.add({ name: 'l', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1, linkname: 'x'.repeat(150) });
    });
    writeFileSync(join(dir, 'x.tar'), tar);
    const list = execFileSync('tar', ['--xattrs', '-tvf', join(dir, 'x.tar')], { encoding: 'utf8' });
    assert.match(list, /-rw-------\*? +0\/0 +3 2020-09-13 \d\d:\d\d a\n/, 'GNU tar marks entries with xattrs with *');
    assert.ok(list.includes(longName), list);
    assert.ok(list.includes(`l -> ${'x'.repeat(150)}`), list);
    const xattrs = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-xvvf', join(dir, 'x.tar'), '-C', dir, 'a'], { encoding: 'utf8' });
    assert.ok(xattrs.includes('a'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ustar header checksum and split of long names', () => {
  const h = ustarHeader({ name: 'x', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, `${'p'.repeat(120)}/${'n'.repeat(90)}`, 0);
  assert.equal(h.toString('ascii', 0, 90), 'n'.repeat(90));
  assert.equal(h.toString('ascii', 345, 465), 'p'.repeat(120));
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  assert.equal(Number.parseInt(h.toString('ascii', 148, 154), 8), sum);
});

test('PAX records: lengths counted in bytes, values kept binary for xattrs, malformed refused', () => {
  const rec = (k: string, v: Buffer) => {
    const body = Buffer.concat([Buffer.from(` ${k}=`), v, Buffer.from('\n')]);
    const len = body.length + String(body.length + 2).length;
    return Buffer.concat([Buffer.from(String(len)), body]);
  };
  const buf = Buffer.concat([rec('path', Buffer.from('é/x')), rec('SCHILY.xattr.security.capability', BINARY)]);
  const out = decodePaxRecords(buf);
  assert.equal(out.path, 'é/x');
  assert.deepEqual(Buffer.from(out['SCHILY.xattr.security.capability'], 'latin1'), BINARY);
  assert.throws(() => decodePaxRecords(Buffer.from('99 path=x\n')), /malformed PAX/);
  assert.throws(() => decodePaxRecords(Buffer.from('9 pathx\n')), /malformed PAX/);
});

test('device numbers decoded as glibc major()/minor()', () => {
  assert.deepEqual(devNumbers((1 << 8) | 3), { devmajor: 1, devminor: 3 });
  // glibc makedev(): major's low 12 bits at 8, high bits at 32; minor's low 8 bits at 0, the rest at 12.
  const makedev = (ma: bigint, mi: bigint) => ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
  assert.deepEqual(devNumbers(Number(makedev(0x3012n, 0x345n))), { devmajor: 0x3012, devminor: 0x345 });
});

test('hard links: the first name of a multiply-linked inode is remembered, single links never', () => {
  const links = new HardLinks();
  assert.equal(links.seen({ dev: 1, ino: 7, nlink: 2 }, 'a'), undefined, 'first name: write the content');
  assert.equal(links.seen({ dev: 1, ino: 7, nlink: 2 }, 'b'), 'a', 'second name: a link to the first');
  assert.equal(links.seen({ dev: 2, ino: 7, nlink: 2 }, 'c'), undefined, 'same inode number on another device');
  assert.equal(links.seen({ dev: 1, ino: 8, nlink: 1 }, 'd'), undefined);
  assert.equal(links.seen({ dev: 1, ino: 8, nlink: 1 }, 'e'), undefined, 'a single link is never recorded');
  assert.equal(links.seen({ dev: 1n, ino: 7n, nlink: 2n }, 'f'), 'a', 'bigint stats name the same inode');
});
