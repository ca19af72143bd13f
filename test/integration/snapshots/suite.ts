/**
 * The snapshotter test suite, run against every snapshotter (as containerd's testsuite):
 * real kernel, real mounts, one private state root per test, and no mount left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chainIdOf } from '../../../src/snapshots';
import { SnapshotUnpackSink } from '../../../src/snapshots/unpack-sink';
import { sys } from '../../../src/sys';
import { contentView, fingerprint, MTIME, streamOf, tarOf } from '../../helpers/layers';
import { addLayer, BIN, digestOf, EVERYTHING, expectCode, readAll, withRoot, type OpenSnapshotter } from './fixtures';

export { addLayer, digestOf, withRoot } from './fixtures';

export function snapshotterSuite(name: string, open: OpenSnapshotter): void {
  test(`${name}: a layer with every entry type, seen through a mounted snapshot`, async () => {
    await withRoot(`${name}-types`, open, async (s) => {
      const l1 = await addLayer(s, undefined, EVERYTHING);
      assert.ok(s.hasLayer(l1));
      await s.prepare('c1', l1);
      const mp = await s.mount('c1');
      try {
        const st = (p: string) => lstatSync(join(mp, p));
        assert.equal(readFileSync(join(mp, 'etc/passwd'), 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
        assert.equal(st('etc/passwd').mtimeMs, (MTIME + 1) * 1000);
        assert.equal(st('etc/shadow').mode & 0o7777, 0o640);
        assert.equal(st('etc/shadow').gid, 42);
        assert.equal(st('usr/bin/su').mode & 0o7777, 0o4755, 'setuid kept');
        assert.equal(st('usr/bin/wall').mode & 0o7777, 0o2755, 'setgid kept');
        assert.equal(st('usr/bin/wall').gid, 5);
        assert.equal(sys().lgetxattr(join(mp, 'usr/bin/ping'), 'security.capability')?.toString('hex'), '0100000200200000000000000000000000000000');
        assert.equal(st('tmp').mode & 0o7777, 0o1777, 'sticky kept');
        assert.equal(st('home/user').uid, 1000);
        assert.equal(st('home/user').mode & 0o7777, 0o700);
        assert.equal(st('home/user').mtimeMs, (MTIME + 7) * 1000, 'directory time set after its children');
        assert.equal(st('bin/sh').isSymbolicLink(), true);
        assert.equal(st('bin/sh').mtimeMs, (MTIME + 3) * 1000, 'symlink time');
        assert.equal(st('bin/ash').ino, st('bin/busybox').ino, 'hard link shares the inode');
        assert.equal(st('bin/busybox').nlink, 2);
        assert.ok(st('dev/null').isCharacterDevice());
        assert.equal(st('dev/null').rdev, (1 << 8) | 3);
        assert.equal(st('dev/null').mode & 0o7777, 0o666);
        assert.ok(st('dev/sda').isBlockDevice());
        assert.equal(st('dev/sda').rdev, 8 << 8);
        assert.ok(st('run/fifo').isFIFO());
        assert.equal(sys().lgetxattr(join(mp, 'data/bin'), 'user.berth.text')?.toString(), 'hello');
        assert.deepEqual(sys().lgetxattr(join(mp, 'data/bin'), 'trusted.berth.bin'), BIN, 'binary xattr byte-exact');
        assert.equal(readFileSync(join(mp, EVERYTHING[16].name), 'utf8'), 'long');
        assert.equal(readFileSync(join(mp, 'unicode/naïve-ファイル'), 'utf8'), 'utf8');
        assert.equal(st('big-ids').uid, 3_000_000);
        assert.equal(st('big-ids').gid, 4_000_000);
      } finally {
        await s.unmount('c1');
      }
      await s.removeActive('c1');
    });
  });

  test(`${name}: whiteouts and opaque dirs across a chain give the right merged view`, async () => {
    await withRoot(`${name}-chain`, open, async (s) => {
      const l1 = await addLayer(s, undefined, [
        { name: 'a/x', content: 'x1' },
        { name: 'a/y', content: 'y1' },
        { name: 'a/sub/z', content: 'z1' },
        { name: 'b/k', content: 'k1' },
        { name: 'b/deep/q', content: 'q1' },
        { name: 'f', content: 'f1' },
        { name: 'gone/inner', content: 'i' },
      ]);
      const l2 = await addLayer(s, l1, [
        { name: 'a/.wh.x' },
        { name: '.wh.f' },
        { name: 'b/' },
        { name: 'b/.wh..wh..opq' },
        { name: 'b/new', content: 'n2' },
        { name: '.wh.gone' },
        { name: 'c/' },
      ]);
      const l3 = await addLayer(s, l2, [
        { name: 'f', content: 'f3' },
        { name: 'a/sub/.wh.z' },
        { name: 'gone/', mode: 0o700 },
        { name: 'gone/fresh', content: 'fresh' },
      ]);
      await s.prepare('c', l3);
      const mp = await s.mount('c');
      try {
        const view = contentView(mp);
        assert.deepEqual(Object.keys(view).sort(), ['a', 'a/sub', 'a/y', 'b', 'b/new', 'c', 'f', 'gone', 'gone/fresh']);
        assert.equal(view.f, 'file:f3 644 0:0');
        assert.equal(view['b/new'], 'file:n2 644 0:0');
        assert.equal(view.gone, 'dir 700 0:0');
      } finally {
        await s.unmount('c');
      }
      // The middle of the chain alone shows its own state.
      await s.prepare('mid', l2);
      const mid = await s.mount('mid');
      try {
        assert.deepEqual(Object.keys(contentView(mid)).sort(), ['a', 'a/sub', 'a/sub/z', 'a/y', 'b', 'b/new', 'c']);
      } finally {
        await s.unmount('mid');
      }
    });
  });

  test(`${name}: prepare, mount, write, unmount: writes stay in the snapshot, layers untouched`, async () => {
    await withRoot(`${name}-write`, open, async (s) => {
      const l1 = await addLayer(s, undefined, [{ name: 'etc/hostname', content: 'base' }, { name: 'keep', content: 'k' }]);
      const layerBefore = fingerprint(join(s.dir, 'sha256', l1.slice(7), 'fs'));
      const spec = await s.prepare('w1', l1, { container: 'w1' });
      assert.equal(spec.type, s.name === 'overlay' ? 'overlay' : 'bind');
      assert.deepEqual(s.active('w1')?.labels, { container: 'w1' });
      let mp = await s.mount('w1');
      writeFileSync(join(mp, 'etc/hostname'), 'changed');
      writeFileSync(join(mp, 'new'), 'n');
      rmSync(join(mp, 'keep'));
      await s.unmount('w1');
      assert.equal(existsSync(join(mp, 'etc')), false, 'unmounted');
      mp = await s.mount('w1');
      assert.equal(readFileSync(join(mp, 'etc/hostname'), 'utf8'), 'changed');
      assert.equal(existsSync(join(mp, 'keep')), false);
      await s.unmount('w1');
      await s.prepare('w2', l1);
      const other = await s.mount('w2');
      assert.equal(readFileSync(join(other, 'etc/hostname'), 'utf8'), 'base', 'another container does not see the writes');
      assert.equal(existsSync(join(other, 'keep')), true);
      await s.unmount('w2');
      assert.deepEqual(fingerprint(join(s.dir, 'sha256', l1.slice(7), 'fs')), layerBefore, 'the shared layer is unchanged');
      assert.deepEqual(s.listActive().map((a) => a.key), ['w1', 'w2']);
      // A snapshot without a parent is an empty root.
      await s.prepare('scratch', undefined);
      const sc = await s.mount('scratch');
      assert.deepEqual(readdirSync(sc), []);
      await s.unmount('scratch');
      await assert.rejects(s.prepare('w1', l1), (e) => expectCode(e, 'EEXISTS'));
      await assert.rejects(s.prepare('bad/key', l1), (e) => expectCode(e, 'EINVALID_ARGUMENT'));
      await assert.rejects(s.prepare('nolayer', `sha256:${'0'.repeat(64)}`), (e) => expectCode(e, 'ENOT_FOUND'));
    });
  });

  test(`${name}: diff reports added, changed and deleted paths like docker diff`, async () => {
    await withRoot(`${name}-diff`, open, async (s) => {
      const l1 = await addLayer(s, undefined, [
        { name: 'etc/conf', content: 'old' },
        { name: 'etc/mode', content: 'm' },
        { name: 'var/log/old.log', content: 'log' },
        { name: 'opt/tree/a', content: 'a' },
        { name: 'opt/tree/b', content: 'b' },
        { name: 'srv/file', content: 'file' },
        { name: 'keep/untouched', content: 'u' },
      ]);
      const l2 = await addLayer(s, l1, [{ name: 'etc/extra', content: 'e' }]);
      await s.prepare('d', l2);
      const mp = await s.mount('d');
      try {
        writeFileSync(join(mp, 'etc/conf'), 'new content');
        chmodSync(join(mp, 'etc/mode'), 0o600);
        rmSync(join(mp, 'var/log/old.log'));
        rmSync(join(mp, 'opt/tree'), { recursive: true });
        mkdirSync(join(mp, 'opt/tree'));
        writeFileSync(join(mp, 'opt/tree/c'), 'c');
        rmSync(join(mp, 'srv/file'));
        mkdirSync(join(mp, 'srv/file'));
        mkdirSync(join(mp, 'new/dir'), { recursive: true });
        writeFileSync(join(mp, 'new/dir/x'), 'x');
        rmSync(join(mp, 'etc/extra'));
      } finally {
        await s.unmount('d');
      }
      const changes = await s.diff('d');
      assert.deepEqual(
        changes.map((c) => `${c.kind} ${c.path}`),
        [
          'C /etc',
          'C /etc/conf',
          'D /etc/extra',
          'C /etc/mode',
          'A /new',
          'A /new/dir',
          'A /new/dir/x',
          'C /opt',
          'C /opt/tree',
          'D /opt/tree/a',
          'D /opt/tree/b',
          'A /opt/tree/c',
          'C /srv',
          'C /srv/file',
          'C /var',
          'C /var/log',
          'D /var/log/old.log',
        ],
      );
      await s.prepare('clean', l2);
      assert.deepEqual(await s.diff('clean'), [], 'an untouched snapshot has no changes');
    });
  });

  test(`${name}: commit a snapshot to a layer tar, re-apply it, same view (round trip)`, async () => {
    await withRoot(`${name}-commit`, open, async (s) => {
      const l1 = await addLayer(s, undefined, EVERYTHING.concat([{ name: 'opt/tree/a', content: 'a' }, { name: 'opt/tree/b', content: 'b' }]));
      await s.prepare('src', l1);
      const mp = await s.mount('src');
      let expected: Record<string, string>;
      let linked: boolean;
      try {
        writeFileSync(join(mp, 'etc/passwd'), 'changed\n');
        rmSync(join(mp, 'etc/shadow'));
        rmSync(join(mp, 'opt/tree'), { recursive: true });
        mkdirSync(join(mp, 'opt/tree'));
        writeFileSync(join(mp, 'opt/tree/c'), 'c');
        writeFileSync(join(mp, 'bin/busybox'), 'busybox v2');
        mkdirSync(join(mp, 'added/dir'), { recursive: true, mode: 0o750 });
        writeFileSync(join(mp, 'added/dir/file'), 'added');
        sys().lsetxattr(join(mp, 'added/dir/file'), 'trusted.berth.bin', BIN);
        chmodSync(join(mp, 'usr/bin/su'), 0o4711);
        expected = contentView(mp);
        // overlay copy-up breaks the link (busybox changed alone); the copy snapshotter changed both
        linked = lstatSync(join(mp, 'bin/ash')).ino === lstatSync(join(mp, 'bin/busybox')).ino;
      } finally {
        await s.unmount('src');
      }
      const first = s.exportChanges('src');
      const tar = await readAll(first.tar);
      const { diffId, size } = await first.result;
      assert.equal(diffId, digestOf(tar));
      assert.equal(size, tar.length);
      const again = s.exportChanges('src');
      assert.equal((await readAll(again.tar)).equals(tar), true, 'export is deterministic');

      const l2 = chainIdOf(l1, diffId);
      const staging = await s.beginLayer({ chainId: l2, parentChainId: l1, diffId });
      await staging.apply(streamOf(tar));
      const rec = await staging.commit();
      assert.equal(rec.size, tar.length);
      await s.prepare('dst', l2);
      const view = await s.mount('dst');
      try {
        assert.deepEqual(contentView(view), expected);
        assert.deepEqual(sys().lgetxattr(join(view, 'added/dir/file'), 'trusted.berth.bin'), BIN);
        assert.equal(lstatSync(join(view, 'bin/ash')).ino === lstatSync(join(view, 'bin/busybox')).ino, linked, 'hard link relation survives');
      } finally {
        await s.unmount('dst');
      }
      assert.deepEqual(await s.diff('dst'), []);
    });
  });

  test(`${name}: removal is refused while used; GC keeps roots and what containers use`, async () => {
    await withRoot(`${name}-remove`, open, async (s) => {
      const l1 = await addLayer(s, undefined, [{ name: 'a', content: '1' }]);
      const l2 = await addLayer(s, l1, [{ name: 'b', content: '2' }]);
      const other = await addLayer(s, undefined, [{ name: 'o', content: 'o' }]);
      const orphan = await addLayer(s, other, [{ name: 'p', content: 'p' }]);
      await s.prepare('user', l2);
      await s.mount('user');
      await assert.rejects(s.removeLayer(l2), (e) => expectCode(e, 'EIN_USE') && /user/.test((e as Error).message));
      if (s.independentLayers) await assert.rejects(s.removeLayer(l1), (e) => expectCode(e, 'EIN_USE'));
      assert.deepEqual((await s.gc([])).sort(), [other, orphan].sort(), 'GC removes only what nothing uses');
      assert.deepEqual(s.listLayers().map((l) => l.chainId).sort(), [l1, l2].sort());
      await s.removeActive('user'); // unmounts first
      assert.equal(s.active('user'), undefined);
      assert.deepEqual(await s.gc([l2]), [], 'a root keeps its whole chain');
      await s.removeLayer(l2);
      await s.removeLayer(l1);
      assert.equal(s.hasLayer(l1), false);
      await assert.rejects(s.removeLayer(l1), (e) => expectCode(e, 'ENOT_FOUND'));
      assert.deepEqual(readdirSync(join(s.dir, 'sha256')), []);
      assert.deepEqual(readdirSync(join(s.dir, 'trash')), []);
    });
  });

  test(`${name}: usage of layers and snapshots`, async () => {
    await withRoot(`${name}-usage`, open, async (s) => {
      const l1 = await addLayer(s, undefined, [{ name: 'big', content: Buffer.alloc(256 * 1024, 1) }]);
      const lu = await s.usage({ chainId: l1 });
      assert.ok(lu.size >= 256 * 1024, `layer usage ${lu.size}`);
      assert.ok(lu.inodes >= 2);
      await s.prepare('u', l1);
      const before = await s.usage({ key: 'u' });
      const mp = await s.mount('u');
      writeFileSync(join(mp, 'written'), Buffer.alloc(512 * 1024, 2));
      await s.unmount('u');
      const after = await s.usage({ key: 'u' });
      assert.ok(after.size - before.size >= 512 * 1024, `snapshot usage grew by ${after.size - before.size}`);
      assert.equal(s.layer(l1)?.size, (await tarOf([{ name: 'big', content: Buffer.alloc(256 * 1024, 1) }])).length);
    });
  });

  test(`${name}: parallel unpacks through the sink, abort leaves nothing, same layer twice`, async () => {
    await withRoot(`${name}-parallel`, open, async (s) => {
      const sink = new SnapshotUnpackSink(s);
      const tars = await Promise.all([0, 1, 2, 3].map((i) => tarOf([{ name: `layer${i}/file`, content: `content ${i}` }, { name: 'shared', content: `top ${i}` }])));
      const infos: Array<{ chainId: string; parentChainId: string | undefined; diffId: string }> = [];
      for (const tar of tars) {
        const diffId = digestOf(tar);
        infos.push({ chainId: chainIdOf(infos[infos.length - 1]?.chainId, diffId), parentChainId: infos[infos.length - 1]?.chainId, diffId });
      }
      // All begun at once, in reverse order: the sink orders what must be ordered.
      await Promise.all(
        infos.map(async (info, i) => {
          const w = await sink.begin({ index: i, digest: info.diffId, mediaType: 'application/vnd.oci.image.layer.v1.tar', size: tars[i].length, ...info });
          await w.apply(streamOf(tars[i]));
          await w.commit();
        }).reverse(),
      );
      const top = infos[3].chainId;
      assert.ok(sink.has(top));
      await s.prepare('p', top);
      const mp = await s.mount('p');
      try {
        assert.deepEqual(readdirSync(mp).sort(), ['layer0', 'layer1', 'layer2', 'layer3', 'shared']);
        assert.equal(readFileSync(join(mp, 'shared'), 'utf8'), 'top 3');
      } finally {
        await s.unmount('p');
      }
      // Aborted: nothing visible, nothing staged.
      const tar = await tarOf([{ name: 'aborted', content: 'x' }]);
      const diffId = digestOf(tar);
      const w = await sink.begin({ index: 4, digest: diffId, diffId, chainId: chainIdOf(top, diffId), parentChainId: top, mediaType: '', size: tar.length });
      await w.apply(streamOf(tar));
      await w.abort();
      assert.equal(sink.has(chainIdOf(top, diffId)), false);
      // The same chain id unpacked twice at once: one wins, both succeed.
      const twice = await Promise.all([0, 1].map(() => s.beginLayer({ chainId: chainIdOf(top, diffId), parentChainId: top, diffId })));
      await Promise.all(twice.map((st) => st.apply(streamOf(tar))));
      await Promise.all(twice.map((st) => st.commit()));
      assert.ok(s.hasLayer(chainIdOf(top, diffId)));
      assert.deepEqual(readdirSync(join(s.dir, 'staging')), [], 'no staging dir left');
      assert.equal(statSync(join(s.dir, 'sha256')).isDirectory(), true);
    });
  });

  test(`${name}: a broken archive fails the layer and leaves nothing behind`, async () => {
    await withRoot(`${name}-broken`, open, async (s) => {
      const tar = await tarOf([{ name: 'ok', content: 'fine' }, { name: '../escape', content: 'x' }]);
      const diffId = digestOf(tar);
      const st = await s.beginLayer({ chainId: diffId, parentChainId: undefined, diffId });
      await assert.rejects(st.apply(streamOf(tar)), (e) => expectCode(e, 'EUNSAFE_ARCHIVE'));
      await assert.rejects(st.commit(), (e) => expectCode(e, 'ESTATE'));
      await st.abort();
      assert.equal(s.hasLayer(diffId), false);
      const truncated = (await tarOf([{ name: 'big', content: Buffer.alloc(64 * 1024) }])).subarray(0, 10_000);
      const st2 = await s.beginLayer({ chainId: diffId, parentChainId: undefined, diffId });
      await assert.rejects(st2.apply(streamOf(truncated)));
      await st2.abort();
      assert.deepEqual(readdirSync(join(s.dir, 'staging')), []);
    });
  });
}
