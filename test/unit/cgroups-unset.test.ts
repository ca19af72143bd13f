/**
 * Values that runc reads as "not set", and what a v1/hybrid manager accepts in `unified`, against
 * temporary directories laid out like v1 hierarchies (one directory per controller).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupManager } from '../../src/cgroups';
import { withoutUnset } from '../../src/cgroups/unset';
import type { LinuxResources } from '../../src/spec/types';

/** v1 hierarchies without BFQ: blkio has only the throttle files, as on a disk with the `none` scheduler. */
function fakeV1(hybridUnified?: string): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-cg1-'));
  const files: Record<string, string[]> = {
    blkio: ['blkio.throttle.read_bps_device'],
    cpu: ['cpu.shares', 'cpu.cfs_period_us', 'cpu.cfs_quota_us'],
    memory: ['memory.limit_in_bytes', 'memory.soft_limit_in_bytes'],
    pids: [],
    devices: [],
  };
  for (const [c, fs] of Object.entries(files)) {
    mkdirSync(join(root, c));
    writeFileSync(join(root, c, 'cgroup.procs'), '');
    for (const f of fs) writeFileSync(join(root, c, f), '');
  }
  if (hybridUnified !== undefined) {
    mkdirSync(join(root, 'unified'));
    writeFileSync(join(root, 'unified', 'cgroup.controllers'), hybridUnified);
    writeFileSync(join(root, 'unified', 'cgroup.subtree_control'), '');
    writeFileSync(join(root, 'unified', 'cgroup.procs'), '');
  }
  return root;
}

/** What dockerd 20.10 puts into linux.resources for a plain `docker run` (no limits asked for). */
const DOCKERD_2010_RESOURCES: LinuxResources = {
  memory: { limit: 0, reservation: 0, swap: 0, kernel: 0, kernelTCP: 0, disableOOMKiller: false },
  cpu: { shares: 0, quota: 0, period: 0, realtimeRuntime: 0, realtimePeriod: 0, cpus: '', mems: '' },
  pids: { limit: 0 },
  blockIO: { weight: 0, leafWeight: 0, weightDevice: [{ major: 8, minor: 0, weight: 0, leafWeight: 0 }] },
  network: { classID: 0 },
};

test('zeros that runc reads as unset are dropped, values are kept', () => {
  assert.deepEqual(withoutUnset(DOCKERD_2010_RESOURCES), {});
  assert.deepEqual(withoutUnset({ memory: { swappiness: -1 } }), {});
  assert.deepEqual(
    withoutUnset({
      memory: { limit: -1, swappiness: 0 },
      cpu: { shares: 2, burst: 0, idle: 0 },
      pids: { limit: -1 },
      blockIO: { weight: 0, weightDevice: [{ major: 8, minor: 0, weight: 0, leafWeight: 100 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 0 }] },
      network: { classID: 0, priorities: [{ name: 'eth0', priority: 0 }] },
    }),
    {
      memory: { limit: -1, swappiness: 0 },
      cpu: { shares: 2, burst: 0, idle: 0 },
      pids: { limit: -1 },
      blockIO: { weightDevice: [{ major: 8, minor: 0, leafWeight: 100 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 0 }] },
      network: { priorities: [{ name: 'eth0', priority: 0 }] },
    },
  );
});

test("dockerd 20.10's zero resources create a cgroup on a host without blkio.weight (no BFQ) and write nothing", () => {
  const root = fakeV1();
  try {
    const cg = cgroupManager({ id: 'c1', mountRoot: root, layout: 'v1' });
    cg.create(DOCKERD_2010_RESOURCES);
    const dir = (c: string) => join(root, c, 'berth/c1');
    assert.equal(existsSync(join(dir('cpu'), 'cpu.shares')), false, 'cpu.shares left alone');
    assert.equal(existsSync(join(dir('pids'), 'pids.max')), false, 'pids.max left alone');
    assert.equal(existsSync(join(dir('blkio'), 'blkio.weight')), false);
    // A weight that is asked for still fails, as in runc: the runtime never drops a real setting.
    assert.throws(() => cgroupManager({ id: 'c2', mountRoot: root, layout: 'v1' }).create({ blockIO: { weight: 300 } }), /blkio\.weight/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('unified on a v1 host is an invalid configuration, on hybrid only for controllers cgroup2 holds', () => {
  const v1 = fakeV1();
  const hybrid = fakeV1('hugetlb');
  try {
    assert.throws(
      () => cgroupManager({ id: 'c1', mountRoot: v1, layout: 'v1' }).create({ memory: { limit: 1 << 26 }, unified: { 'memory.min': '131072' } }),
      /invalid configuration: linux\.resources\.unified cannot be used on a cgroup v1 host/,
    );
    assert.equal(existsSync(join(v1, 'memory', 'berth')), false, 'refused before anything was made');
    const h = () => cgroupManager({ id: 'c1', mountRoot: hybrid, layout: 'hybrid' });
    assert.throws(() => h().create({ memory: { limit: 1 << 26 }, unified: { 'memory.min': '131072' } }), /invalid configuration: .*"memory\.min".*memory controller is mounted as cgroup v1/);
    assert.throws(() => h().create({ unified: { 'io.weight': '100' } }), /invalid configuration: .*no io controller/);
    assert.equal(existsSync(join(hybrid, 'memory', 'berth')), false);
    h().create({ unified: { 'hugetlb.2MB.max': '4194304' } });
    assert.equal(readFileSync(join(hybrid, 'unified', 'berth/c1', 'hugetlb.2MB.max'), 'utf8'), '4194304');
  } finally {
    rmSync(v1, { recursive: true, force: true });
    rmSync(hybrid, { recursive: true, force: true });
  }
});
