/** Pure pieces of the cgroup managers: conversions, cgroupsPath parsing, the v2 device program. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blkioWeightToIoWeight, decodeProgram, deviceFilterProgram, encodeProgram, parseCgroupsPath, sharesToWeight, swapMaxValue } from '../../src/cgroups';
import { normalizeDeviceRule, v1DeviceLine } from '../../src/cgroups/devices';
import { parseBlkio } from '../../src/cgroups/stats';
import { v1NamedHierarchies } from '../../src/cgroups/layout';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { BpfInsn } from '../../src/cgroups/devices-bpf';
import type { DeviceRule } from '../../src/spec/types';

test('cpu shares -> cpu.weight and blkio weight -> io.weight conversions', () => {
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(1024), 39);
  assert.equal(sharesToWeight(262144), 10000);
  assert.equal(blkioWeightToIoWeight(10), 1);
  assert.equal(blkioWeightToIoWeight(500), 4950);
  assert.equal(blkioWeightToIoWeight(1000), 10000);
});

test('OCI swap (memory+swap) -> memory.swap.max', () => {
  assert.equal(swapMaxValue(100, 300), '200');
  assert.equal(swapMaxValue(100, 100), '0');
  assert.equal(swapMaxValue(100, -1), 'max');
  assert.equal(swapMaxValue(100, undefined), undefined);
  assert.equal(swapMaxValue(100, 0), undefined);
  assert.throws(() => swapMaxValue(300, 100), /below/);
});

test('cgroupsPath forms', () => {
  assert.deepEqual(parseCgroupsPath(undefined, 'x'), { relative: false, path: '/berth/x' });
  assert.deepEqual(parseCgroupsPath('/a//b/', 'x'), { relative: false, path: '/a/b' });
  assert.deepEqual(parseCgroupsPath('a/b', 'x'), { relative: true, path: 'a/b' });
  assert.deepEqual(parseCgroupsPath('machine.slice:docker:abc', 'x'), { relative: false, path: '/machine.slice/docker-abc.scope' });
  assert.deepEqual(parseCgroupsPath(':berth:abc', 'x'), { relative: false, path: '/system.slice/berth-abc.scope' });
  assert.throws(() => parseCgroupsPath('a/../../b', 'x'), /linux\.cgroupsPath/);
  assert.throws(() => parseCgroupsPath('/', 'x'), /root/);
});

test('v1 device lines', () => {
  const n = (r: DeviceRule) => v1DeviceLine(normalizeDeviceRule(r, 0));
  assert.equal(n({ allow: false, access: 'rwm' }), 'a *:* rwm');
  assert.equal(n({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }), 'c 1:3 rwm');
  assert.equal(n({ allow: true, type: 'b', major: 8, minor: null, access: 'r' }), 'b 8:* r');
  assert.equal(n({ allow: true, type: 'c', major: -1, minor: -1, access: 'm' }), 'c *:* m');
  assert.throws(() => normalizeDeviceRule({ allow: true, access: 'x' }, 2), /devices\[2\]\.access/);
});

test('blkio v1 stat lines', () => {
  assert.deepEqual(parseBlkio('8:0 Read 10\n8:0 Write 20\nTotal 30\n'), [
    { major: 8, minor: 0, op: 'Read', value: 10 },
    { major: 8, minor: 0, op: 'Write', value: 20 },
  ]);
});

/** A tiny interpreter for the instructions the generator emits, enough to run the program. */
function run(prog: BpfInsn[], type: number, access: number, major: number, minor: number): number {
  const r = new Array<number>(11).fill(0);
  const ctx = [(access << 16) | type, major, minor];
  r[1] = -1; // the context pointer; only ever used as the base of loads
  for (let pc = 0, steps = 0; pc < prog.length && steps < 10_000; pc++, steps++) {
    const i = prog[pc]!;
    switch (i.code) {
      case 0x61:
        assert.equal(i.src, 1);
        r[i.dst] = ctx[i.off / 4]! >>> 0;
        break;
      case 0x57:
        r[i.dst] = (r[i.dst]! & i.imm) >>> 0;
        break;
      case 0x77:
        r[i.dst] = r[i.dst]! >>> i.imm;
        break;
      case 0xb7:
        r[i.dst] = i.imm;
        break;
      case 0xbf:
        r[i.dst] = r[i.src]!;
        break;
      case 0x15:
        if (r[i.dst] === i.imm) pc += i.off;
        break;
      case 0x55:
        if (r[i.dst] !== i.imm) pc += i.off;
        break;
      case 0x45:
        if ((r[i.dst]! & i.imm) !== 0) pc += i.off;
        break;
      case 0x95:
        return r[0]!;
      default:
        assert.fail(`unexpected opcode 0x${i.code.toString(16)} at ${pc}`);
    }
  }
  assert.fail('program ran off its end');
}

/** The v1 semantics the program must reproduce: deny all, then the last matching rule wins. */
function reference(rules: DeviceRule[], type: 'c' | 'b', access: string, major: number, minor: number): number {
  let verdict = 0;
  for (const raw of rules) {
    const r = normalizeDeviceRule(raw, 0);
    if (r.type !== 'a' && r.type !== type) continue;
    if (r.major !== undefined && r.major !== major) continue;
    if (r.minor !== undefined && r.minor !== minor) continue;
    const inRule = [...access].filter((c) => r.access.includes(c));
    if (r.allow && inRule.length === access.length) verdict = 1;
    if (!r.allow && inRule.length > 0) verdict = 0;
  }
  return verdict;
}

test('the device program decides like the v1 rule list, for every probed device and access', () => {
  const ruleSets: DeviceRule[][] = [
    [{ allow: false, access: 'rwm' }],
    [{ allow: true, access: 'rwm' }],
    [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
      { allow: true, type: 'c', major: 136, minor: null, access: 'rwm' },
      { allow: true, type: 'c', major: null, minor: null, access: 'm' },
      { allow: true, type: 'b', major: 8, minor: null, access: 'r' },
      { allow: false, type: 'c', major: 1, minor: 5, access: 'w' },
    ],
    [{ allow: true, access: 'rwm' }, { allow: false, type: 'b', major: 8, minor: 0, access: 'rw' }],
  ];
  const letters = ['r', 'w', 'm', 'rw', 'rwm', 'wm'];
  const mask = (a: string) => (a.includes('r') ? 2 : 0) | (a.includes('w') ? 4 : 0) | (a.includes('m') ? 1 : 0);
  for (const rules of ruleSets) {
    const prog = decodeProgram(encodeProgram(deviceFilterProgram(rules.map(normalizeDeviceRule))));
    for (const type of ['c', 'b'] as const) {
      for (const [major, minor] of [[1, 3], [1, 5], [136, 2], [8, 0], [8, 1], [10, 200]] as const) {
        for (const a of letters) {
          const got = run(prog, type === 'b' ? 1 : 2, mask(a), major, minor);
          assert.equal(got, reference(rules, type, a, major, minor), `${JSON.stringify(rules)} ${type} ${major}:${minor} ${a}`);
        }
      }
    }
  }
});

test('encoding round-trips registers, negative offsets and immediates', () => {
  const prog: BpfInsn[] = [{ code: 0x55, dst: 4, src: 0, off: -3, imm: -1 }, { code: 0xbf, dst: 1, src: 3, off: 0, imm: 0 }];
  const buf = encodeProgram(prog);
  assert.equal(buf.length, 16);
  assert.equal(buf[9], 0x31, 'src in the high nibble, dst in the low nibble');
  assert.deepEqual(decodeProgram(buf), prog);
});

test('named v1 hierarchies come from mountinfo (name=systemd), only for the real mount root', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-mountinfo-'));
  try {
    const file = join(dir, 'mountinfo');
    writeFileSync(
      file,
      [
        '30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755',
        '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate',
        '32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:6 - cgroup cgroup rw,xattr,name=systemd',
        '35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct',
        '36 25 0:32 / /elsewhere/named rw - cgroup cgroup rw,name=other',
        '',
      ].join('\n'),
    );
    assert.deepEqual(v1NamedHierarchies('/sys/fs/cgroup', file), [{ root: '/sys/fs/cgroup/systemd', name: 'name=systemd' }]);
    assert.deepEqual(v1NamedHierarchies(dir, file), [], 'a test tree has no named hierarchies');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
