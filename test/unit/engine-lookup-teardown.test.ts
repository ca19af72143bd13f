/**
 * The lookup and teardown seams with a stand-in context (a real store in a temporary root,
 * recording fakes for the snapshotter, volumes, events and runtime): a lookup brings a record
 * left by a killed create or removal up to date through teardown, and an operation needs only
 * the context members its signature names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ContainerStore, newContainerId } from '../../src/engine/containers/store';
import { initialState, withStatus, type ContainerRecord } from '../../src/engine/containers/record';
import type { RecordContext } from '../../src/engine/containers/context';
import { getContainer, listContainers } from '../../src/engine/containers/lookup';
import { removeLocked, rollbackCreate } from '../../src/engine/containers/teardown';
import { runPaths } from '../../src/engine/containers/runtime';
import type { OciRuntime } from '../../src/engine/runtimes';
import { BerthError } from '../../src/core/errors';

function rec(name: string, berth: Partial<ContainerRecord['Berth']> = {}): ContainerRecord {
  return {
    Id: newContainerId(), Name: `/${name}`, Created: new Date().toISOString(), Path: 'sh', Args: [], State: initialState(), Image: '',
    ResolvConfPath: '', HostnamePath: '', HostsPath: '', LogPath: '', RestartCount: 0, Driver: 'overlay', Platform: 'linux',
    MountLabel: '', ProcessLabel: '', AppArmorProfile: '', Config: {}, HostConfig: { CgroupParent: '/not-berth' }, Mounts: [],
    NetworkSettings: { SandboxKey: '', Ports: {}, Networks: {}, IPAddress: '', Gateway: '', MacAddress: '' },
    Berth: { runtime: 'fake', ...berth },
  };
}

/** A context whose every side effect lands in `log`. */
function fakeContext(t: { after: (fn: () => void) => void }): { ctx: RecordContext; log: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'berth-lookup-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const log: string[] = [];
  const runtime = { name: 'fake', delete: async (id: string) => void log.push(`runtime delete ${id}`) } as unknown as OciRuntime;
  const ctx = {
    root,
    runRoot: join(root, 'run'),
    containerStore: new ContainerStore(root),
    snapshotter: {
      active: (key: string) => (log.push(`snapshot active? ${key}`), true),
      removeActive: async (key: string) => void log.push(`snapshot remove ${key}`),
      unmount: async (key: string) => void log.push(`snapshot unmount ${key}`),
    },
    events: { emit: (type: string, action: string, id: string) => void log.push(`event ${type} ${action} ${id}`) },
    volumes: {
      store: { remove: (name: string) => void log.push(`volume store remove ${name}`) },
      remove: (name: string) => (log.push(`volume remove ${name}`), true),
    },
    runtimes: { for: () => runtime },
    networking: { teardown: async (r: { Id: string }) => void log.push(`network teardown ${r.Id}`) },
  } as unknown as RecordContext;
  return { ctx, log };
}

test('lookup: a record by name or id prefix, up to date; an unknown one is ENOT_FOUND', async (t) => {
  const { ctx } = fakeContext(t);
  const r = rec('web');
  (await ctx.containerStore.begin(r)).release();
  assert.equal((await getContainer(ctx, 'web')).Id, r.Id);
  assert.equal((await getContainer(ctx, r.Id.slice(0, 12))).Id, r.Id);
  await assert.rejects(getContainer(ctx, 'nope'), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND');
  assert.deepEqual((await listContainers(ctx)).map((c) => c.Id), [r.Id]);
});

test('lookup: a create killed half-way (marker, lock free) is taken back by teardown and is gone', async (t) => {
  const { ctx, log } = fakeContext(t);
  const r = rec('half', { snapshotKey: 'snap1', anonymousVolumes: { '/data': 'anon1' }, creating: { volumes: ['named1'] } });
  (await ctx.containerStore.begin(r)).release(); // the creator died: its lock is free
  await assert.rejects(getContainer(ctx, 'half'), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND');
  assert.deepEqual(log, ['snapshot active? snap1', 'snapshot remove snap1', 'volume store remove anon1', 'volume store remove named1']);
  assert.equal(await ctx.containerStore.load(r.Id), undefined);
});

test('teardown: removal takes the runtime container, snapshot, run dir and (with volumes) anonymous volumes, then the record', async (t) => {
  const { ctx, log } = fakeContext(t);
  const r = rec('gone', { snapshotKey: 'snap2', anonymousVolumes: { '/data': 'anon2' } });
  r.State = withStatus(r.State, 'exited');
  (await ctx.containerStore.begin(r)).release();
  const dir = runPaths(ctx.runRoot, r.Id).dir;
  mkdirSync(dir, { recursive: true });
  await ctx.containerStore.withLock(r.Id, (fresh) => removeLocked(ctx, fresh, true));
  assert.deepEqual(log, [`runtime delete ${r.Id}`, `network teardown ${r.Id}`, 'snapshot active? snap2', 'snapshot remove snap2', 'volume remove anon2', `event container destroy ${r.Id}`]);
  assert.equal(await ctx.containerStore.load(r.Id), undefined);
  await assert.rejects(import('node:fs/promises').then((fs) => fs.access(dir)), 'run directory removed');
});

test('teardown: create\'s rollback needs only the store, the snapshotter and the volumes', async (t) => {
  const { ctx, log } = fakeContext(t);
  const r = rec('rb', { snapshotKey: 'snap3', creating: { volumes: [] } });
  (await ctx.containerStore.begin(r)).release();
  const { containerStore, snapshotter, volumes } = ctx;
  await rollbackCreate({ containerStore, snapshotter, volumes }, r);
  assert.deepEqual(log, ['snapshot active? snap3', 'snapshot remove snap3']);
  assert.equal(await ctx.containerStore.load(r.Id), undefined);
});
