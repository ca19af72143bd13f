/** The v2 manager against a temporary directory laid out like a cgroup2 hierarchy. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupManager, decodeProgram, detectLayout, type CgroupManager, type CgroupOptions } from '../../src/cgroups';
import { BerthError } from '../../src/core/errors';

function fakeV2(controllers = 'cpuset cpu io memory hugetlb pids'): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-cg2-'));
  writeFileSync(join(root, 'cgroup.controllers'), controllers);
  writeFileSync(join(root, 'cgroup.subtree_control'), '');
  writeFileSync(join(root, 'cgroup.procs'), '');
  return root;
}

const read = (p: string) => readFileSync(p, 'utf8');

function v2(root: string, extra: Partial<CgroupOptions> = {}, attach?: (d: string, p: Buffer) => void): CgroupManager {
  return cgroupManager({ id: extra.id ?? 'c1', mountRoot: root, layout: 'v2', ...extra }, attach);
}

function withRoot(fn: (root: string) => void | Promise<void>, controllers?: string) {
  return async () => {
    const root = fakeV2(controllers);
    try {
      await fn(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

test('detectLayout tells v2, hybrid and v1 apart by their files', () => {
  const root = fakeV2();
  const hybrid = mkdtempSync(join(tmpdir(), 'berth-cgh-'));
  try {
    assert.equal(detectLayout(root), 'v2');
    mkdirSync(join(hybrid, 'unified'));
    assert.equal(detectLayout(hybrid), 'v1');
    writeFileSync(join(hybrid, 'unified', 'cgroup.controllers'), 'hugetlb');
    assert.equal(detectLayout(hybrid), 'hybrid');
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(hybrid, { recursive: true, force: true });
  }
});

test(
  'create writes the converted v2 values and enables controllers in every ancestor',
  withRoot((root) => {
    const cg = v2(root);
    assert.equal(cg.path, '/berth/c1');
    assert.deepEqual(cg.paths(), { unified: join(root, 'berth/c1') });
    cg.create({
      memory: { limit: 100 * 1024 * 1024, swap: 150 * 1024 * 1024, reservation: 50 * 1024 * 1024 },
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0', mems: '0', idle: 0 },
      pids: { limit: 64 },
      blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] },
      hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
      unified: { 'memory.high': '90000000' },
    });
    const dir = join(root, 'berth/c1');
    assert.equal(read(join(root, 'cgroup.subtree_control')), '+cpu +cpuset +io +memory +pids +hugetlb');
    assert.equal(read(join(root, 'berth/cgroup.subtree_control')), '+cpu +cpuset +io +memory +pids +hugetlb');
    assert.equal(existsSync(join(dir, 'cgroup.subtree_control')), false, 'the leaf keeps its own subtree_control untouched');
    const expected: Record<string, string> = {
      'memory.max': String(100 * 1024 * 1024),
      'memory.swap.max': String(50 * 1024 * 1024),
      'memory.low': String(50 * 1024 * 1024),
      'cpu.weight': '39',
      'cpu.max': '50000 100000',
      'cpu.idle': '0',
      'cpuset.cpus': '0',
      'cpuset.mems': '0',
      'pids.max': '64',
      'io.weight': 'default 4950',
      'io.max': '8:0 rbps=1048576',
      'hugetlb.2MB.max': '4194304',
      'memory.high': '90000000',
    };
    for (const [f, v] of Object.entries(expected)) assert.equal(read(join(dir, f)), v, f);
  }),
);

test(
  'subtree_control only gets controllers the parent offers and skips those already enabled',
  withRoot((root) => {
    writeFileSync(join(root, 'cgroup.subtree_control'), 'memory');
    v2(root, { cgroupsPath: '/top' }).create();
    assert.equal(read(join(root, 'cgroup.subtree_control')), '+cpu +pids');
  }, 'cpu memory pids'),
);

test(
  'memory.oom.group is turned off when the kernel has it; -1 limits become max',
  withRoot((root) => {
    const dir = join(root, 'berth/c1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'memory.oom.group'), '1');
    v2(root).create({ memory: { limit: -1, swap: -1 }, pids: { limit: -1 } });
    assert.equal(read(join(dir, 'memory.oom.group')), '0');
    assert.equal(read(join(dir, 'memory.max')), 'max');
    assert.equal(read(join(dir, 'memory.swap.max')), 'max');
    assert.equal(read(join(dir, 'pids.max')), 'max');
  }),
);

test(
  'apply keeps the cpu.max half an update does not mention; quota -1 means max',
  withRoot((root) => {
    const cg = v2(root);
    cg.create({ cpu: { quota: 20000, period: 50000 } });
    const f = join(root, 'berth/c1/cpu.max');
    cg.apply({ cpu: { quota: 30000 } });
    assert.equal(read(f), '30000 50000');
    cg.apply({ cpu: { quota: -1 } });
    assert.equal(read(f), 'max 50000');
    cg.apply({ cpu: { period: 200000 } });
    assert.equal(read(f), 'max 200000');
  }),
);

test(
  'v1-only settings are warned about, real-time settings refused',
  withRoot((root) => {
    const warnings: string[] = [];
    const cg = v2(root, { warn: (m) => warnings.push(m) });
    cg.create({ memory: { limit: 1 << 24, kernel: 1 << 20, swappiness: 10, disableOOMKiller: true } });
    assert.equal(warnings.length, 3);
    assert.match(warnings.join('\n'), /memory\.kernel.*memory\.swappiness.*disableOOMKiller/s);
    assert.throws(() => cg.apply({ cpu: { realtimeRuntime: 1000 } }), /realtimeRuntime/);
  }),
);

test(
  'a controller the host lacks is an error naming the field, and nothing is created',
  withRoot((root) => {
    const cg = v2(root);
    assert.throws(
      () => cg.create({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }),
      (e: unknown) => e instanceof BerthError && e.code === 'ECGROUP' && e.message === 'linux.resources.hugepageLimits: hugetlb controller not available',
    );
    assert.equal(existsSync(join(root, 'berth')), false);
    // Asking for nothing of a missing controller is fine.
    cg.create({ hugepageLimits: [] });
    assert.equal(existsSync(join(root, 'berth/c1')), true);
  }, 'cpu memory pids'),
);

test(
  'swap below the limit, or swap without a limit, is refused on v2',
  withRoot((root) => {
    const cg = v2(root);
    assert.throws(() => cg.create({ memory: { limit: 200, swap: 100 } }), /memory\.swap \(100\) is below memory\.limit \(200\)/);
    assert.throws(() => cg.create({ memory: { swap: 100 } }), /needs linux\.resources\.memory\.limit/);
    assert.equal(existsSync(join(root, 'berth')), false);
  }),
);

test(
  'a failing write names file, value and errno; create removes what it made',
  withRoot((root) => {
    const pre = join(root, 'pre');
    mkdirSync(join(pre, 'pids.max'), { recursive: true });
    const cg = v2(root, { cgroupsPath: '/pre' });
    assert.throws(
      () => cg.apply({ pids: { limit: 5 } }),
      (e: unknown) => e instanceof BerthError && e.code === 'ECGROUP' && e.message.startsWith(`writing ${join(pre, 'pids.max')} = 5: EISDIR`) && !!e.hint,
    );
    const failing = v2(root, { cgroupsPath: '/a/b/c' }, () => {
      throw new Error('attach refused');
    });
    assert.throws(() => failing.create({ pids: { limit: 5 }, devices: [{ allow: false, access: 'rwm' }] }), /attach refused/);
    assert.equal(existsSync(join(root, 'a')), false, 'every level made by the failed create is gone');
  }),
);

test(
  'unified keys that are paths are refused',
  withRoot((root) => {
    const cg = v2(root);
    for (const key of ['../memory.max', 'sub/memory.max', '..']) {
      assert.throws(() => cg.create({ unified: { [key]: '1' } }), /linux\.resources\.unified key/);
    }
  }),
);

test(
  'device rules on v2 become an eBPF program handed to the attacher for the container directory',
  withRoot((root) => {
    const calls: Array<[string, Buffer]> = [];
    const cg = v2(root, {}, (d, p) => calls.push([d, p]));
    cg.create({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
    assert.equal(calls.length, 1);
    assert.equal(calls[0]![0], join(root, 'berth/c1'));
    const prog = decodeProgram(calls[0]![1]);
    assert.equal(prog.at(-1)!.code, 0x95, 'ends with exit');
    assert.ok(prog.some((i) => i.code === 0x55 && i.dst === 4 && i.imm === 1), 'tests major 1');
  }),
);

test(
  'cgroupsPath: default, relative (below our own cgroup), systemd form, and ".." refused',
  withRoot((root) => {
    const self = join(root, 'self-cgroup');
    writeFileSync(self, '0::/user.slice/me.scope\n');
    assert.equal(v2(root, { cgroupsPath: 'inner/x', selfCgroupFile: self }).path, '/user.slice/me.scope/inner/x');
    assert.equal(v2(root, { cgroupsPath: 'system.slice:berth:abc' }).path, '/system.slice/berth-abc.scope');
    assert.throws(
      () => v2(root, { cgroupsPath: '/berth/../../etc' }),
      (e: unknown) => e instanceof BerthError && e.code === 'ECGROUP' && /linux\.cgroupsPath/.test(e.message),
    );
  }),
);

test(
  'addProcess, pids of nested cgroups, freeze/thaw through cgroup.freeze and cgroup.events',
  withRoot(async (root) => {
    const cg = v2(root);
    cg.create();
    const dir = join(root, 'berth/c1');
    cg.addProcess(4242);
    assert.equal(read(join(dir, 'cgroup.procs')), '4242');
    mkdirSync(join(dir, 'nested'));
    writeFileSync(join(dir, 'nested/cgroup.procs'), '7\n8\n');
    assert.deepEqual(cg.pids().sort((a, b) => a - b), [7, 8, 4242]);
    // The fake kernel: cgroup.events already reports the state the manager waits for.
    writeFileSync(join(dir, 'cgroup.events'), 'populated 1\nfrozen 1\n');
    await cg.freeze();
    assert.equal(read(join(dir, 'cgroup.freeze')), '1');
    assert.equal(cg.isFrozen(), true);
    writeFileSync(join(dir, 'cgroup.events'), 'populated 1\nfrozen 0\n');
    await cg.thaw();
    assert.equal(read(join(dir, 'cgroup.freeze')), '0');
    assert.equal(cg.isFrozen(), false);
  }),
);

test(
  'stats read cpu, memory, pids, io and hugetlb files into the runc events shape',
  withRoot((root) => {
    const cg = v2(root);
    cg.create();
    const dir = join(root, 'berth/c1');
    const files: Record<string, string> = {
      'cpu.stat': 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\nthrottled_usec 30\n',
      'memory.current': '4096',
      'memory.peak': '8192',
      'memory.max': 'max',
      'memory.events': 'low 0\nhigh 0\nmax 3\noom 0\n',
      'memory.stat': 'anon 1000\nfile 2000\n',
      'memory.swap.current': '0',
      'memory.swap.max': '1024',
      'pids.current': '3',
      'pids.max': '64',
      'io.stat': '8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n',
      'hugetlb.2MB.current': '2097152',
      'hugetlb.2MB.max': 'max',
      'hugetlb.2MB.events': 'max 1\n',
    };
    for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, f), v);
    const s = cg.stats();
    assert.deepEqual(s.cpu, {
      usage: { total: 1_500_000, user: 1_000_000, kernel: 500_000 },
      throttling: { periods: 10, throttledPeriods: 2, throttledTime: 30_000 },
    });
    assert.deepEqual(s.memory.usage, { usage: 4096, max: 8192, limit: 0, failcnt: 3 });
    assert.equal(s.memory.cache, 2000);
    assert.equal(s.memory.raw?.anon, 1000);
    assert.deepEqual(s.memory.swap, { usage: 0, max: 0, limit: 1024, failcnt: 0 });
    assert.deepEqual(s.pids, { current: 3, limit: 64 });
    assert.deepEqual(s.blkio.ioServiceBytesRecursive, [
      { major: 8, minor: 0, op: 'Read', value: 100 },
      { major: 8, minor: 0, op: 'Write', value: 200 },
    ]);
    assert.deepEqual(s.hugetlb, { '2MB': { usage: 2097152, failcnt: 1 } });
  }),
);

test(
  'destroy removes the directory tree and is idempotent',
  withRoot(async (root) => {
    const cg = v2(root);
    cg.create({ pids: { limit: 3 } });
    mkdirSync(join(root, 'berth/c1/child'));
    assert.equal(cg.exists(), true);
    await cg.destroy();
    assert.equal(cg.exists(), false);
    assert.equal(existsSync(join(root, 'berth')), true, 'the shared parent stays');
    await cg.destroy();
  }),
);
