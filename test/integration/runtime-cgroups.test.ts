/**
 * berth-runtime's cgroup handling where runc's integration tests (cgroups.bats, update.bats,
 * delete.bats) pin a behaviour: a warning for a non-empty cgroup, unified settings on a v1
 * host, delete --force of a container whose processes moved into sub-cgroups, cpu period and
 * quota updates under a parent limit, and device rules changed without a deny-all moment.
 * Runs on this machine's real v1/hybrid hierarchies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectLayout } from '../../src/cgroups';
import { OUT, readyThenSleep, sh, CGROUP_PARENT } from '../helpers/bundle';
import { berthOnly, cgroupHostPaths, findCgroupDirs, removeCgroupTree, session, skipReason, waitUntil } from '../helpers/runtime';

const skip = skipReason() ?? (detectLayout() === 'v2' ? 'needs cgroup v1 controllers (this host is cgroup v2)' : undefined);
const CG = '/sys/fs/cgroup';
const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8').trim();

test("create warns when the container's cgroup is not empty, as runc does", { skip }, async (t) => {
  const s = session(t);
  const first = s.bundle('first', (cfg) => (cfg.process!.args = readyThenSleep()));
  await s.createAndStart(first.id, first.bundle);
  assert.ok(await waitUntil(() => existsSync(join(first.bundle.outDir, 'ready')), 10_000), 'the first container runs');
  const second = s.bundle('second', (cfg) => (cfg.linux!.cgroupsPath = first.bundle.cgroupsPath));
  const r = s.createContainer(second.id, second.bundle.dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /container's cgroup is not empty: 1 process\(es\) found/);
  // The first container's process is untouched by the second's create.
  assert.equal(s.stateOk(first.id).status, 'running');
});

test('unified settings on a cgroup v1 (or hybrid) host: invalid configuration, nothing left behind', { skip }, (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('unified', (cfg) => {
    cfg.linux!.resources = { ...cfg.linux!.resources, memory: { limit: 64 << 20 }, unified: { 'memory.min': '131072' } };
  });
  const r = s.createContainer(id, bundle.dir);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /invalid configuration/);
  assert.deepEqual(findCgroupDirs(id), []);
});

test('delete --force removes a container whose process moved into sub-cgroups (memory, freezer)', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('subcg', (cfg) => (cfg.process!.args = readyThenSleep()));
  await s.createAndStart(id, bundle);
  const pid = s.stateOk(id).pid;
  const paths = cgroupHostPaths(bundle.cgroupsPath);
  for (const c of ['memory', 'freezer']) {
    mkdirSync(join(paths[c]!, 'foo'));
    writeFileSync(join(paths[c]!, 'foo', 'cgroup.procs'), String(pid));
  }
  const r = s.deleteForce(id);
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(s.rt(['state', id]).code, 0);
  assert.deepEqual(findCgroupDirs(id), [], 'no cgroup (nor its foo) is left');
});

test('update --cpu-period/--cpu-quota under a parent limit: the quota goes first when the period alone is refused', { skip }, async (t) => {
  const s = session(t);
  const parent = `${CGROUP_PARENT}/pod-${process.pid}-${Date.now() % 100000}`;
  const parentDir = join(CG, 'cpu', parent);
  // The container's cgroup is made under the pod in every hierarchy: the pod goes in each.
  t.after(() => {
    for (const hierarchy of readdirSync(CG)) {
      const dir = join(CG, hierarchy, parent);
      if (existsSync(dir)) removeCgroupTree(dir);
    }
  });
  mkdirSync(parentDir, { recursive: true });
  writeFileSync(join(parentDir, 'cpu.cfs_period_us'), '100000');
  writeFileSync(join(parentDir, 'cpu.cfs_quota_us'), '50000'); // 50% for the whole pod
  const { id, bundle } = s.bundle('cpu', (cfg) => {
    cfg.process!.args = readyThenSleep();
    cfg.linux!.cgroupsPath = `/${parent}/${cfg.linux!.cgroupsPath!.split('/').pop()}`;
    cfg.linux!.resources = { ...cfg.linux!.resources, cpu: { quota: 40000, period: 100000 } };
  });
  await s.createAndStart(id, bundle);
  const dir = join(CG, 'cpu', bundle.config.linux!.cgroupsPath!);
  // 40000/10000 would be 400% against the pod's 50% until the quota is lowered too.
  s.rtOk(['update', '--cpu-period', '10000', '--cpu-quota', '4000', id]);
  assert.equal(read(dir, 'cpu.cfs_period_us'), '10000');
  assert.equal(read(dir, 'cpu.cfs_quota_us'), '4000');
  s.rtOk(['update', '--cpu-period', '100000', '--cpu-quota', '40000', id]);
  assert.equal(read(dir, 'cpu.cfs_period_us'), '100000');
  assert.equal(read(dir, 'cpu.cfs_quota_us'), '40000');
});

test(
  'update with device rules: no deny-all moment for a running writer of /dev/null, and a deny rule denies only its device',
  { skip: skip ?? berthOnly('device rules through update are a Berth extension (runc update ignores them)') },
  async (t) => {
    const s = session(t);
    const { id, bundle } = s.bundle('devices', (cfg) => {
      cfg.process!.args = sh(`echo ready > ${OUT}/ready; while :; do echo >/dev/null || echo FAIL >> ${OUT}/fail; done`);
      cfg.linux!.resources = { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }] };
    });
    await s.createAndStart(id, bundle);
    assert.ok(await waitUntil(() => existsSync(join(bundle.outDir, 'ready')), 10_000), 'the writer runs');
    const dir = cgroupHostPaths(bundle.cgroupsPath).devices!;
    const rules = JSON.stringify({ devices: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
    for (let i = 0; i < 12; i++) s.rtOk(['update', '-r', '-', id], { input: rules });
    assert.equal(existsSync(join(bundle.outDir, 'fail')), false, 'the writer never saw /dev/null denied');
    s.rtOk(['update', '-r', '-', id], { input: JSON.stringify({ devices: [{ allow: false, type: 'c', major: 10, minor: 200, access: 'rwm' }] }) });
    const list = read(dir, 'devices.list').split('\n');
    assert.ok(list.includes('c 1:3 rwm'), `/dev/null stays allowed: ${list.join(', ')}`);
    assert.ok(!list.some((l) => l.startsWith('c 10:200 ')), `the tun device is denied: ${list.join(', ')}`);
  },
);
