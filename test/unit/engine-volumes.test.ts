import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, chownSync, chmodSync, utimesSync, mkdtempSync as mk } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { VolumeStore } from '../../src/engine/volumes/store';
import { copyUp } from '../../src/engine/volumes/copy-up';
import { planMounts, volumeNeeds } from '../../src/engine/containers/mounts';
import { BerthError } from '../../src/core/errors';
import type { ContainerRecord } from '../../src/engine/containers/record';

function tmp(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-vol-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('volume store: create is idempotent by name, anonymous names are 64 hex, remove, bad names', async (t) => {
  const s = new VolumeStore(tmp(t));
  const a = await s.create({ name: 'data', labels: { app: 'x' } });
  assert.equal(a.created, true);
  assert.ok(existsSync(a.volume.Mountpoint));
  const again = await s.create({ name: 'data' });
  assert.equal(again.created, false);
  assert.deepEqual(again.volume, a.volume);
  const anon = await s.create();
  assert.match(anon.volume.Name, /^[0-9a-f]{64}$/);
  assert.equal(anon.volume.Anonymous, true);
  assert.deepEqual((await s.list()).map((v) => v.Name).sort(), [anon.volume.Name, 'data'].sort());
  await s.remove('data');
  assert.equal(await s.get('data'), undefined);
  await assert.rejects(s.remove('data'), (e: unknown) => e instanceof BerthError && e.message === 'No such volume: data');
  await assert.rejects(s.create({ name: '../x' }), (e: unknown) => e instanceof BerthError && /invalid volume name/.test(e.message));
  await assert.rejects(s.create({ name: 'o', options: {} }), /invalid volume name/);
  await assert.rejects(s.create({ name: 'opt', options: { type: 'nfs' } }), /not supported by the local driver/);
});

test('copy-up: image content lands in the volume with owners, modes, links; symlinks are not followed out', async (t) => {
  const d = tmp(t);
  const root = join(d, 'rootfs');
  mkdirSync(join(root, 'var/lib/db/sub'), { recursive: true });
  writeFileSync(join(root, 'var/lib/db/init.sql'), 'create table t;');
  chownSync(join(root, 'var/lib/db/init.sql'), 999, 998);
  chmodSync(join(root, 'var/lib/db/init.sql'), 0o640);
  utimesSync(join(root, 'var/lib/db/init.sql'), 1_000_000, 1_000_000);
  symlinkSync('/etc/shadow', join(root, 'var/lib/db/link'));
  chownSync(join(root, 'var/lib/db'), 999, 998);
  chmodSync(join(root, 'var/lib/db'), 0o700);
  mkdirSync(join(d, 'hostsecret'));
  writeFileSync(join(d, 'hostsecret', 'key'), 'secret');
  symlinkSync(join(d, 'hostsecret'), join(root, 'evil'));
  const vol = join(d, 'vol');
  mkdirSync(vol);
  assert.equal(await copyUp(root, '/var/lib/db', vol), true);
  assert.equal(readFileSync(join(vol, 'init.sql'), 'utf8'), 'create table t;');
  const st = lstatSync(join(vol, 'init.sql'));
  assert.deepEqual([st.uid, st.gid, st.mode & 0o777, Math.round(st.mtimeMs / 1000)], [999, 998, 0o640, 1_000_000]);
  assert.equal(readlinkSync(join(vol, 'link')), '/etc/shadow', 'links are copied as links');
  assert.ok(existsSync(join(vol, 'sub')));
  const root_st = lstatSync(vol);
  assert.deepEqual([root_st.uid, root_st.mode & 0o777], [999, 0o700], 'the volume root takes the image directory owner and mode');
  const vol2 = mk(join(d, 'v2-'));
  assert.equal(await copyUp(root, '/evil', vol2), false, 'an absolute symlink resolves inside the rootfs, where nothing is');
  assert.equal(await copyUp(root, '/nothing/here', vol2), false);
});

function rec(config: ContainerRecord['Config'], hc: ContainerRecord['HostConfig']): Pick<ContainerRecord, 'Config' | 'HostConfig'> {
  return { Config: config, HostConfig: hc };
}

test('mounts: needs and plans from -v, --mount, --tmpfs, image volumes; overrides; depth order', async (t) => {
  const d = tmp(t);
  const vols = new VolumeStore(d);
  const named = (await vols.create({ name: 'named' })).volume;
  const anon = (await vols.create()).volume;
  const src = join(d, 'hostdir');
  const config = { Volumes: { '/data': {}, '/cache': {} } as Record<string, Record<string, never>> };
  const hc = {
    Binds: [`${src}:/data/sub:ro`, 'named:/srv'],
    Mounts: [{ Type: 'tmpfs' as const, Target: '/cache', TmpfsOptions: { SizeBytes: 1024 } }],
    Tmpfs: { '/run': 'size=64m' },
  };
  assert.deepEqual(volumeNeeds(config, hc).map((n) => [n.name, n.target]), [[undefined, '/data'], ['named', '/srv']]);
  const planned = await planMounts(rec(config, hc), { '/data': anon.Name }, vols, () => assert.fail('no volumes-from'));
  assert.deepEqual(planned.map((p) => p.oci.destination), ['/cache', '/data', '/run', '/srv', '/data/sub']);
  const bind = planned.find((p) => p.oci.destination === '/data/sub')!;
  assert.deepEqual(bind.oci.options, ['rbind', 'rprivate', 'ro']);
  assert.ok(existsSync(src), '-v creates a missing host directory');
  assert.equal(planned.find((p) => p.oci.destination === '/srv')!.oci.source, named.Mountpoint);
  assert.deepEqual(planned.find((p) => p.oci.destination === '/run')!.oci.options, ['size=64m', 'noexec', 'nosuid', 'nodev']);
  assert.equal(planned.find((p) => p.oci.destination === '/cache')!.oci.type, 'tmpfs', '--mount tmpfs overrides the image volume');
  await assert.rejects(
    planMounts(rec({}, { Mounts: [{ Type: 'bind', Source: join(d, 'missing'), Target: '/x' }] }), {}, vols, () => assert.fail()),
    (e: unknown) => e instanceof BerthError && /bind source path does not exist/.test(e.message),
  );
});
