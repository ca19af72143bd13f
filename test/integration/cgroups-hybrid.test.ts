/**
 * The cgroup manager against this machine's real hierarchy (hybrid: v1 controllers plus a cgroup2
 * mount at /sys/fs/cgroup/unified that holds hugetlb). Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupManager, detectLayout, type CgroupManager } from '../../src/cgroups';
import { BerthError } from '../../src/core/errors';

const ROOT = '/sys/fs/cgroup';
const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'needs root' : detectLayout() !== 'hybrid' ? 'host is not hybrid' : false;

const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8').trim();

/** A block device that exists here, for throttle settings (loop devices as a last resort). */
function blockDevice(): { major: number; minor: number } | undefined {
  const devs = readdirSync('/sys/dev/block').map((d) => d.split(':').map(Number) as [number, number]);
  const pick = devs.find(([maj]) => maj !== 7) ?? devs[0];
  return pick ? { major: pick[0], minor: pick[1] } : undefined;
}

/** Every place a cgroup path could exist on this host, to prove nothing was left behind. */
function leftovers(path: string): string[] {
  return readdirSync(ROOT)
    .map((h) => join(ROOT, h, path))
    .filter((p) => existsSync(p));
}

function sleeper(): Promise<ChildProcess> {
  const p = spawn('sleep', ['30'], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    p.once('spawn', () => resolve(p));
    p.once('error', reject);
  });
}

async function killAndWait(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await exited;
}

const warnings: string[] = [];
const manager = (path: string): CgroupManager => cgroupManager({ id: 'itest', cgroupsPath: path, warn: (m) => warnings.push(m) });

test('this host is detected as hybrid', { skip: isRoot ? false : 'needs root' }, () => {
  assert.equal(detectLayout(), 'hybrid');
});

test('create, limits in the kernel files, stats, freeze/thaw, update, destroy', { skip }, async () => {
  const path = `/berth-test-cgroups-lifecycle-${process.pid}`;
  const cg = manager(path);
  const dev = blockDevice();
  let p: ChildProcess | undefined;
  try {
    cg.create({
      memory: { limit: 64 << 20, swap: 96 << 20, reservation: 32 << 20 },
      cpu: { shares: 512, quota: 20000, period: 100000, cpus: '0', mems: '0' },
      pids: { limit: 20 },
      blockIO: dev ? { throttleReadBpsDevice: [{ ...dev, rate: 1048576 }], throttleWriteIOPSDevice: [{ ...dev, rate: 100 }] } : {},
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 5, access: 'rw' },
      ],
      hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }],
    });
    const d = cg.paths();
    assert.equal(cg.layout, 'hybrid');
    assert.equal(d.memory, join(ROOT, 'memory', path));
    assert.equal(d.unified, join(ROOT, 'unified', path));

    p = await sleeper();
    cg.addProcess(p.pid!);
    assert.deepEqual(cg.pids(), [p.pid]);
    const procCgroup = readFileSync(`/proc/${p.pid}/cgroup`, 'utf8');
    for (const c of ['memory', 'cpu', 'cpuset', 'pids', 'blkio', 'devices', 'freezer']) {
      assert.match(procCgroup, new RegExp(`:${c}(,[a-z_]+)?:${path}$`, 'm'), `in the ${c} hierarchy`);
    }
    assert.match(procCgroup, new RegExp(`^0::${path}$`, 'm'), 'in the cgroup2 hierarchy');

    assert.equal(read(d.memory!, 'memory.limit_in_bytes'), String(64 << 20));
    assert.equal(read(d.memory!, 'memory.memsw.limit_in_bytes'), String(96 << 20));
    assert.equal(read(d.memory!, 'memory.soft_limit_in_bytes'), String(32 << 20));
    assert.equal(read(d.cpu!, 'cpu.shares'), '512');
    assert.equal(read(d.cpu!, 'cpu.cfs_quota_us'), '20000');
    assert.equal(read(d.cpu!, 'cpu.cfs_period_us'), '100000');
    assert.equal(read(d.cpuset!, 'cpuset.cpus'), '0');
    assert.equal(read(d.cpuset!, 'cpuset.mems'), '0');
    assert.equal(read(d.pids!, 'pids.max'), '20');
    if (dev) {
      assert.equal(read(d.blkio!, 'blkio.throttle.read_bps_device'), `${dev.major}:${dev.minor} 1048576`);
      assert.equal(read(d.blkio!, 'blkio.throttle.write_iops_device'), `${dev.major}:${dev.minor} 100`);
    }
    assert.deepEqual(read(d.devices!, 'devices.list').split('\n').sort(), ['c 1:3 rwm', 'c 1:5 rw']);
    assert.equal(read(d.unified!, 'hugetlb.2MB.max'), String(4 << 20), 'hugetlb lives in the cgroup2 mount here');

    const s = cg.stats();
    assert.deepEqual(s.pids, { current: 1, limit: 20 });
    assert.equal(s.memory.usage?.limit, 64 << 20);
    assert.equal(s.memory.swap?.limit, 96 << 20);
    assert.equal(typeof s.memory.raw?.rss, 'number');
    assert.equal(s.cpu.usage.percpu?.length, readFileSync('/proc/stat', 'utf8').match(/^cpu\d+ /gm)!.length);
    assert.equal(typeof s.cpu.throttling.periods, 'number');
    assert.ok(Array.isArray(s.blkio.ioServiceBytesRecursive));
    assert.equal(s.hugetlb['2MB']?.usage, 0);

    await cg.freeze();
    assert.equal(read(d.freezer!, 'freezer.state'), 'FROZEN');
    assert.equal(cg.isFrozen(), true);
    await cg.thaw();
    assert.equal(read(d.freezer!, 'freezer.state'), 'THAWED');
    assert.equal(cg.isFrozen(), false);
    assert.doesNotMatch(readFileSync(`/proc/${p.pid}/status`, 'utf8'), /^State:\s+D/m);

    // Lowering memory below memsw needs memory first, raising memsw needs memsw first.
    cg.apply({ memory: { limit: 32 << 20, swap: 32 << 20 }, pids: { limit: 5 }, cpu: { quota: -1 } });
    assert.equal(read(d.memory!, 'memory.limit_in_bytes'), String(32 << 20));
    assert.equal(read(d.memory!, 'memory.memsw.limit_in_bytes'), String(32 << 20));
    cg.apply({ memory: { limit: 128 << 20, swap: 256 << 20 } });
    assert.equal(read(d.memory!, 'memory.limit_in_bytes'), String(128 << 20));
    assert.equal(read(d.memory!, 'memory.memsw.limit_in_bytes'), String(256 << 20));
    assert.equal(read(d.pids!, 'pids.max'), '5');
    assert.equal(read(d.cpu!, 'cpu.cfs_quota_us'), '-1');
  } finally {
    await killAndWait(p);
    await cg.destroy();
  }
  assert.equal(cg.exists(), false);
  assert.deepEqual(leftovers(path), []);
  await cg.destroy(); // idempotent
});

test('nested new levels get the parent cpuset copied down before a task joins', { skip }, async () => {
  const top = `/berth-test-cgroups-nested-${process.pid}`;
  const path = `${top}/a/b`;
  const cg = manager(path);
  let p: ChildProcess | undefined;
  try {
    cg.create({ pids: { limit: 10 } });
    for (const level of [top, `${top}/a`, path]) {
      assert.notEqual(read(join(ROOT, 'cpuset', level), 'cpuset.cpus'), '', `${level} has cpus`);
      assert.notEqual(read(join(ROOT, 'cpuset', level), 'cpuset.mems'), '', `${level} has mems`);
    }
    p = await sleeper();
    cg.addProcess(p.pid!);
    assert.deepEqual(cg.pids(), [p.pid]);
  } finally {
    await killAndWait(p);
    await cg.destroy();
    // The manager leaves shared parents alone; this test made them, so it removes them.
    for (const h of readdirSync(ROOT)) {
      for (const level of [`${top}/a`, top]) {
        try {
          rmdirSync(join(ROOT, h, level));
        } catch {
          // not present in this hierarchy
        }
      }
    }
  }
  assert.deepEqual(leftovers(top), []);
});

test('a relative cgroupsPath lands below this process own cgroup in each hierarchy', { skip }, async () => {
  const rel = `berth-test-cgroups-relative-${process.pid}`;
  const cg = manager(rel);
  const own = readFileSync('/proc/self/cgroup', 'utf8');
  const memOwn = /^\d+:memory:(.*)$/m.exec(own)![1]!;
  try {
    cg.create();
    assert.equal(cg.paths().memory, join(ROOT, 'memory', memOwn, rel));
    assert.ok(existsSync(cg.paths().memory!));
  } finally {
    await cg.destroy();
  }
  assert.equal(existsSync(join(ROOT, 'memory', memOwn, rel)), false);
});

test('an absent controller is an error naming the field, and nothing is left behind', { skip }, () => {
  const path = `/berth-test-cgroups-absent-${process.pid}`;
  assert.throws(
    () => manager(path).create({ network: { classID: 0x100001 } }),
    (e: unknown) => e instanceof BerthError && e.code === 'ECGROUP' && e.message === 'linux.resources.network.classID: net_cls controller not available',
  );
  assert.deepEqual(leftovers(path), []);
});

test('a write the kernel refuses names file, value and errno, and create rolls back', { skip }, () => {
  const path = `/berth-test-cgroups-refused-${process.pid}`;
  assert.throws(
    () => manager(path).create({ blockIO: { throttleReadBpsDevice: [{ major: 4000, minor: 4000, rate: 1 }] } }),
    (e: unknown) =>
      e instanceof BerthError &&
      e.code === 'ECGROUP' &&
      e.message === `writing ${join(ROOT, 'blkio', path, 'blkio.throttle.read_bps_device')} = 4000:4000 1: ENODEV: no such device`,
  );
  assert.deepEqual(leftovers(path), []);
});
