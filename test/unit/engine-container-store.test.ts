import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
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

/** A finished create: record, name, lock released. */
async function create(s: ContainerStore, r: ContainerRecord): Promise<void> {
  (await s.begin(r)).release();
}

test('container store: create, resolve by id, name and unique prefix; conflicts', async (t) => {
  const s = store(t);
  const a = rec('web', 'a'.repeat(64));
  const b = rec('db', 'ab' + 'c'.repeat(62));
  await create(s, a);
  await create(s, b);
  assert.equal((await s.resolve('web')).Id, a.Id);
  assert.equal((await s.resolve('/db')).Id, b.Id);
  assert.equal((await s.resolve(a.Id)).Name, '/web');
  assert.equal((await s.resolve('abc')).Id, b.Id);
  await assert.rejects(s.resolve('a'), (e: unknown) => e instanceof BerthError && /multiple containers/.test(e.message));
  await assert.rejects(s.resolve('nope'), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND' && e.message === 'No such container: nope');
  await assert.rejects(create(s, rec('web')), (e: unknown) => e instanceof BerthError && e.code === 'EEXISTS' && /name "\/web" is already in use/.test(e.message));
  assert.equal((await s.list()).length, 2, 'the refused create left nothing behind');
});

test('container store: a stale name (no record) is reclaimed; rename; remove frees the name', async (t) => {
  const s = store(t);
  mkdirSync(s.namesDir, { recursive: true });
  writeFileSync(join(s.namesDir, 'ghost'), 'f'.repeat(64));
  const c = rec('ghost');
  await create(s, c);
  assert.equal((await s.resolve('ghost')).Id, c.Id);
  await s.rename(await s.resolve('ghost'), 'spirit');
  assert.equal((await s.resolve('spirit')).Id, c.Id);
  await assert.rejects(s.resolve('ghost'), code('ENOT_FOUND'));
  const updated = await s.update(c.Id, (r) => {
    r.RestartCount = 3;
  });
  assert.equal(updated.RestartCount, 3);
  assert.equal((await s.resolve(c.Id)).RestartCount, 3);
  await s.remove(await s.resolve('spirit'));
  assert.equal((await s.list()).length, 0);
  await create(s, rec('spirit'));
});

test('random names look like docker names and are valid', () => {
  for (let i = 0; i < 50; i++) assert.match(randomName(), CONTAINER_NAME_RE);
});

test('container store: a claim whose record has another name and no lock holder is stale; sweep', async (t) => {
  const s = store(t);
  const c = rec('first');
  await create(s, c);
  // a rename killed after claiming the new name, before saving the record
  writeFileSync(join(s.namesDir, 'second'), c.Id);
  await assert.rejects(s.resolve('second'), code('ENOT_FOUND'), 'the claim alone does not make the name');
  const lock = s.tryLock(c.Id)!;
  await assert.rejects(create(s, rec('second')), code('EEXISTS'), 'while a rename could be in progress (lock held), the claim stands');
  lock.release();
  const d = rec('second');
  await create(s, d);
  assert.equal((await s.resolve('second')).Id, d.Id, 'reclaimed once nobody holds the lock');
  // a removal killed between releasing the record and the name: swept
  writeFileSync(join(s.namesDir, 'orphan'), 'e'.repeat(64));
  mkdirSync(join(s.dir, `.trash-${'e'.repeat(64)}-0000`));
  await s.sweep();
  assert.deepEqual(readdirSync(s.namesDir).sort(), ['first', 'second']);
  assert.deepEqual(readdirSync(s.dir).filter((n) => n.startsWith('.')), []);
});

test('container store: a refused begin (name taken) leaves no directory; begin holds the lock', async (t) => {
  const s = store(t);
  const a = rec('taken');
  const lock = await s.begin(a);
  assert.equal(s.tryLock(a.Id), undefined, 'the creator holds the lock');
  const b = rec('taken');
  await assert.rejects(s.begin(b), code('EEXISTS'));
  assert.deepEqual(readdirSync(s.dir).sort(), [a.Id]);
  lock.release();
});

test('container store: halfMade finds directories of killed creates (free lock, no record); removeHalfMade deletes them', async (t) => {
  const s = store(t);
  const done = rec('done');
  await create(s, done);
  const killed = 'd'.repeat(64); // a create killed before its record: lock free
  mkdirSync(join(s.dir, killed));
  const working = 'e'.repeat(64); // a create at work: lock held
  mkdirSync(join(s.dir, working));
  const held = s.tryLock(working)!;
  const deadNew = '.new-999999999-0000'; // a pid that cannot exist
  mkdirSync(join(s.dir, deadNew));
  const liveNew = `.new-${process.pid}-0000`;
  mkdirSync(join(s.dir, liveNew));
  assert.deepEqual((await s.halfMade()).sort(), [deadNew, killed].sort());
  for (const e of await s.halfMade()) await s.removeHalfMade(e);
  await s.removeHalfMade(working); // refused: its lock is held
  held.release();
  assert.deepEqual(readdirSync(s.dir).sort(), [liveNew, done.Id, working].sort());
  assert.deepEqual((await s.list()).map((r) => r.Id), [done.Id]);
});
