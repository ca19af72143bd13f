import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ContainerStore, newContainerId } from '../../src/engine/containers/store';
import { initialState, type ContainerRecord } from '../../src/engine/containers/record';
import { randomName, CONTAINER_NAME_RE } from '../../src/engine/containers/names';
import { BerthError } from '../../src/core/errors';

function rec(name: string, id = newContainerId()): ContainerRecord {
  return {
    Id: id, Name: `/${name}`, Created: new Date().toISOString(), Path: 'sh', Args: [], State: initialState(), Image: '',
    ResolvConfPath: '', HostnamePath: '', HostsPath: '', LogPath: '', RestartCount: 0, Driver: 'overlay', Platform: 'linux',
    MountLabel: '', ProcessLabel: '', AppArmorProfile: '', Config: {}, HostConfig: {}, Mounts: [],
    NetworkSettings: { SandboxKey: '', Ports: {}, Networks: {}, IPAddress: '', Gateway: '', MacAddress: '' }, Berth: { runtime: 'berth' },
  };
}

function store(t: { after: (fn: () => void) => void }): ContainerStore {
  const root = mkdtempSync(join(tmpdir(), 'berth-cstore-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return new ContainerStore(root);
}

const code = (c: string) => (e: unknown) => e instanceof BerthError && e.code === c;

test('container store: create, resolve by id, name and unique prefix; conflicts', (t) => {
  const s = store(t);
  const a = rec('web', 'a'.repeat(64));
  const b = rec('db', 'ab' + 'c'.repeat(62));
  s.create(a);
  s.create(b);
  assert.equal(s.resolve('web').Id, a.Id);
  assert.equal(s.resolve('/db').Id, b.Id);
  assert.equal(s.resolve(a.Id).Name, '/web');
  assert.equal(s.resolve('abc').Id, b.Id);
  assert.throws(() => s.resolve('a'), (e: unknown) => e instanceof BerthError && /multiple containers/.test(e.message));
  assert.throws(() => s.resolve('nope'), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND' && e.message === 'No such container: nope');
  assert.throws(() => s.create(rec('web')), (e: unknown) => e instanceof BerthError && e.code === 'EEXISTS' && /name "\/web" is already in use/.test(e.message));
  assert.equal(s.list().length, 2, 'the refused create left nothing behind');
});

test('container store: a stale name (no record) is reclaimed; rename; remove frees the name', async (t) => {
  const s = store(t);
  mkdirSync(s.namesDir, { recursive: true });
  writeFileSync(join(s.namesDir, 'ghost'), 'f'.repeat(64));
  const c = rec('ghost');
  s.create(c);
  assert.equal(s.resolve('ghost').Id, c.Id);
  s.rename(s.resolve('ghost'), 'spirit');
  assert.equal(s.resolve('spirit').Id, c.Id);
  assert.throws(() => s.resolve('ghost'), code('ENOT_FOUND'));
  const updated = await s.update(c.Id, (r) => {
    r.RestartCount = 3;
  });
  assert.equal(updated.RestartCount, 3);
  assert.equal(s.resolve(c.Id).RestartCount, 3);
  s.remove(s.resolve('spirit'));
  assert.equal(s.list().length, 0);
  s.create(rec('spirit'));
});

test('random names look like docker names and are valid', () => {
  for (let i = 0; i < 50; i++) assert.match(randomName(), CONTAINER_NAME_RE);
});
