/**
 * `inspect --anatomy` decoding, on captured kernel text: capability masks, /proc/PID/status,
 * mountinfo (escapes, overlay lowerdir forms, masked and read-only paths), /proc/PID/cgroup
 * matched with host mounts for v1, hybrid and v2 (limit files read from a directory laid out
 * like each hierarchy), id maps, and the rendering.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  classifyMount, decodeCapabilities, humanBytes, isIdentityMap, isUnlimited, namespaceInode, parseIdMap, parseKbLines, parseMountinfo,
  parseOverlayOptions, parseProcCgroup, parseProcStatus,
} from '../../src/engine/anatomy/decode';
import { cgroupDir, cgroupPlaces, describeLimit } from '../../src/engine/anatomy/cgroups';
import { renderAnatomy } from '../../src/cli/engine/anatomy-format';
import type { ContainerAnatomy } from '../../src/engine/anatomy/collect';
import { DEFAULT_CAPABILITIES } from '../../src/spec/capabilities';

test('capability masks decode to names in kernel order; unknown bits are kept by number', () => {
  // docker's default set, as /proc/PID/status shows it
  assert.deepEqual(decodeCapabilities('00000000a80425fb').sort(), [...DEFAULT_CAPABILITIES].sort());
  assert.deepEqual(decodeCapabilities('0000000000000000'), []);
  assert.deepEqual(decodeCapabilities('0000000000200001'), ['CAP_CHOWN', 'CAP_SYS_ADMIN']);
  assert.equal(decodeCapabilities('000001ffffffffff').length, 41);
  assert.deepEqual(decodeCapabilities('0000020000000000'), ['CAP_41']);
  assert.deepEqual(decodeCapabilities('zz'), []);
});

test('/proc/PID/status: capability sets, no_new_privs, seccomp mode and filters, ids', () => {
  const status = [
    'Name:\tsh', 'Uid:\t1000\t1000\t1000\t1000', 'Gid:\t100\t100\t100\t100', 'Groups:\t10 20 ',
    'CapInh:\t0000000000000000', 'CapPrm:\t00000000a80425fb', 'CapEff:\t00000000a80425fb', 'CapBnd:\t00000000a80425fb', 'CapAmb:\t0000000000000400',
    'NoNewPrivs:\t1', 'Seccomp:\t2', 'Seccomp_filters:\t1', 'Speculation_Store_Bypass:\tthread vulnerable',
  ].join('\n');
  const s = parseProcStatus(status);
  assert.equal(s.capabilities.effective.length, 14);
  assert.deepEqual(s.capabilities.ambient, ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(s.capabilities.inheritable, []);
  assert.equal(s.noNewPrivs, true);
  assert.equal(s.seccompMode, 2);
  assert.equal(s.seccompFilters, 1);
  assert.deepEqual(s.uids, [1000, 1000, 1000, 1000]);
  assert.deepEqual(s.groups, [10, 20]);
  const old = parseProcStatus('NoNewPrivs:\t0\nSeccomp:\t0\n');
  assert.equal(old.noNewPrivs, false);
  assert.equal(old.seccompMode, 0);
  assert.equal(old.seccompFilters, undefined, 'kernels before 5.9 do not show the filter count');
});

const MOUNTINFO = [
  '99 53 0:40 / / rw,relatime - overlay none rw,lowerdir+=/var/lib/berth/layers/overlay/l/49bbde9d1e7d9e77,lowerdir+=/var/lib/berth/layers/overlay/l/0000111122223333,upperdir=/var/lib/berth/layers/overlay/active/c1/upper,workdir=/var/lib/berth/layers/overlay/active/c1/work,uuid=on',
  '100 99 0:51 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '103 99 0:54 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro',
  '117 99 254:0 /srv/my\\040data /data ro,relatime shared:1 master:2 - ext4 /dev/vda rw,discard',
  '54 100 0:57 / /proc/acpi ro,nosuid,nodev,noexec,relatime - tmpfs none rw,size=0k',
  '55 100 0:52 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755',
  '59 100 0:51 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw',
  '120 99 0:60 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw,size=1024k',
].join('\n');

test('mountinfo: fields, optional fields, octal escapes; masked and read-only paths told apart', () => {
  const m = parseMountinfo(MOUNTINFO);
  assert.equal(m.length, 8);
  const data = m.find((e) => e.target === '/data')!;
  assert.equal(data.root, '/srv/my data', '\\040 is a space');
  assert.equal(data.fstype, 'ext4', 'the optional fields (shared:, master:) are skipped');
  assert.deepEqual(data.options.slice(0, 1), ['ro']);
  assert.deepEqual(
    m.map((e) => `${e.target}:${classifyMount(e)}`),
    ['/:mount', '/proc:mount', '/sys:mount', '/data:mount', '/proc/acpi:masked', '/proc/kcore:masked', '/proc/bus:readonly', '/tmp:mount'],
  );
});

test('overlay options: lowerdir+ (new mount API), lowerdir=a:b (mount(2)) with escaped colons', () => {
  const root = parseMountinfo(MOUNTINFO)[0]!;
  const o = parseOverlayOptions(root.superOptions);
  assert.deepEqual(o.lowerdirs, ['/var/lib/berth/layers/overlay/l/49bbde9d1e7d9e77', '/var/lib/berth/layers/overlay/l/0000111122223333']);
  assert.equal(o.upperdir, '/var/lib/berth/layers/overlay/active/c1/upper');
  assert.equal(o.workdir, '/var/lib/berth/layers/overlay/active/c1/work');
  assert.deepEqual(parseOverlayOptions(['lowerdir=l/a:l/b:/x\\:y', 'upperdir=u']).lowerdirs, ['l/a', 'l/b', '/x:y']);
});

test('id maps and namespace links', () => {
  const identity = parseIdMap('         0          0 4294967295\n');
  assert.equal(isIdentityMap(identity), true);
  const mapped = parseIdMap('0 100000 65536\n');
  assert.deepEqual(mapped, [{ inside: 0, outside: 100000, count: 65536 }]);
  assert.equal(isIdentityMap(mapped), false);
  assert.equal(namespaceInode('pid:[4026532257]'), 4026532257);
  assert.equal(namespaceInode('garbage'), undefined);
  assert.deepEqual(parseKbLines('Rss:                 840 kB\nPss:                 153 kB\n'), { Rss: 840, Pss: 153 });
});

/** A directory with files, like a cgroup directory. */
function layout(files: Record<string, string>): { root: string; done: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'berth-anatomy-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return { root, done: () => rmSync(root, { recursive: true, force: true }) };
}

test('cgroups, v1 and hybrid: each hierarchy found through its host mount (co-mounted cpu,cpuacct too)', async (t) => {
  const id = 'c1';
  const fs = layout({
    [`memory/berth/${id}/memory.limit_in_bytes`]: '67108864\n',
    [`memory/berth/${id}/memory.memsw.limit_in_bytes`]: '134217728\n',
    [`memory/berth/${id}/memory.soft_limit_in_bytes`]: '9223372036854771712\n',
    [`cpu,cpuacct/berth/${id}/cpu.cfs_quota_us`]: '50000\n',
    [`cpu,cpuacct/berth/${id}/cpu.cfs_period_us`]: '100000\n',
    [`cpu,cpuacct/berth/${id}/cpu.shares`]: '512\n',
    [`pids/berth/${id}/pids.max`]: 'max\n',
    [`unified/berth/${id}/cgroup.controllers`]: '\n',
  });
  t.after(fs.done);
  const host = parseMountinfo([
    `30 25 0:26 / ${fs.root}/memory rw - cgroup cgroup rw,memory`,
    `31 25 0:27 / ${fs.root}/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct`,
    `32 25 0:28 / ${fs.root}/pids rw - cgroup cgroup rw,pids`,
    `33 25 0:29 / ${fs.root}/systemd rw - cgroup cgroup rw,name=systemd`,
    `34 25 0:30 / ${fs.root}/unified rw - cgroup2 cgroup2 rw`,
  ].join('\n'));
  const member = parseProcCgroup(`9:name=systemd:/\n4:memory:/berth/${id}\n2:cpu,cpuacct:/berth/${id}\n1:pids:/berth/${id}\n0::/berth/${id}\n`);
  const places = await cgroupPlaces(member, host);
  assert.deepEqual(places.map((p) => `${p.version}:${p.controllers.join(',')}`), ['1:memory', '1:cpu,cpuacct', '1:pids', '2:'], 'name=systemd is not ours');
  assert.equal(places[1]!.dir, `${fs.root}/cpu,cpuacct/berth/${id}`);
  const mem = places[0]!.limits;
  assert.deepEqual(mem.map((l) => describeLimit(l)), ['67108864 (64 MiB)', '134217728 (128 MiB)', '9223372036854771712 (unlimited)']);
  assert.deepEqual(places[1]!.limits.map((l) => `${l.file}=${l.value}`), ['cpu.cfs_quota_us=50000', 'cpu.cfs_period_us=100000', 'cpu.shares=512']);
  assert.equal(describeLimit(places[2]!.limits[0]!), 'max (unlimited)');
  assert.equal(places[3]!.dir, `${fs.root}/unified/berth/${id}`);
  assert.deepEqual(places[3]!.controllers, []);
});

test('cgroups, v2: one unified hierarchy with its limit files; a mount root below / (cgroup namespace)', async (t) => {
  const fs = layout({
    'berth/c2/cgroup.controllers': 'cpuset cpu io memory pids\n',
    'berth/c2/memory.max': '33554432\n',
    'berth/c2/memory.swap.max': 'max\n',
    'berth/c2/memory.low': '0\n',
    'berth/c2/cpu.max': '150000 100000\n',
    'berth/c2/cpu.weight': '100\n',
    'berth/c2/pids.max': '64\n',
    'berth/c2/io.weight': 'default 100\n',
  });
  t.after(fs.done);
  const host = parseMountinfo(`25 1 0:26 / ${fs.root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate`);
  const [v2] = await cgroupPlaces(parseProcCgroup('0::/berth/c2\n'), host);
  assert.equal(v2!.version, 2);
  assert.deepEqual(v2!.controllers, ['cpuset', 'cpu', 'io', 'memory', 'pids']);
  assert.deepEqual(v2!.limits.map((l) => `${l.file}=${describeLimit(l)}`), [
    'memory.max=33554432 (32 MiB)', 'memory.swap.max=max (unlimited)', 'memory.low=0', 'cpu.max=150000 100000 (1.50 CPUs)', 'cpu.weight=100', 'pids.max=64', 'io.weight=default 100',
  ]);
  // A host whose cgroup2 mount shows a subtree (we run in a cgroup namespace): paths are below it.
  const nested = parseMountinfo(`25 1 0:26 /outer ${fs.root} rw - cgroup2 cgroup2 rw`);
  assert.equal(cgroupDir({ hierarchy: 0, controllers: [], path: '/outer/berth/c2' }, nested), `${fs.root}/berth/c2`);
  assert.equal(cgroupDir({ hierarchy: 0, controllers: [], path: '/elsewhere' }, nested), undefined, 'outside the mount: not visible');
  assert.equal(cgroupDir({ hierarchy: 3, controllers: ['memory'], path: '/x' }, nested), undefined, 'no v1 memory mount on a v2 host');
});

test('limits and sizes read as a person would', () => {
  assert.equal(isUnlimited('9223372036854771712'), true);
  assert.equal(isUnlimited('9223372036854775807'), true);
  assert.equal(isUnlimited('1000000000000000000'), false);
  assert.equal(isUnlimited('-1'), true);
  assert.equal(humanBytes(1536), '1.5 KiB');
  assert.equal(humanBytes(512), '512 B');
});

test('rendering: one screen with every section; shared namespaces and capability changes named', () => {
  const status = parseProcStatus('CapEff:\t00000000a82425fb\nCapPrm:\t00000000a82425fb\nCapBnd:\t00000000a82425fb\nCapInh:\t0\nCapAmb:\t0\nNoNewPrivs:\t1\nSeccomp:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n');
  const a: ContainerAnatomy = {
    id: 'f'.repeat(64), name: 'web', pid: 42, runtime: 'berth',
    namespaces: [
      { type: 'pid', container: 1, host: 2, shared: false },
      { type: 'net', container: 3, host: 3, shared: true },
    ],
    cgroups: [{ version: 1, controllers: ['memory'], path: '/berth/x', dir: '/sys/fs/cgroup/memory/berth/x', limits: [{ file: 'memory.limit_in_bytes', value: '67108864', kind: 'bytes' }] }],
    rootfs: { fstype: 'overlay', source: 'none', readOnly: true, layers: [{ dir: 'l/1', chainId: `sha256:${'a'.repeat(64)}`, diffId: `sha256:${'b'.repeat(64)}`, size: 2048 }], upperdir: '/u' },
    mounts: parseMountinfo(MOUNTINFO).filter((m) => classifyMount(m) === 'mount' && m.target !== '/'),
    masked: ['/proc/acpi'],
    readonlyPaths: ['/proc/bus'],
    security: status,
    capabilityDelta: { added: ['CAP_SYS_ADMIN'], dropped: [] },
    seccomp: { mode: 0, filters: 0, profile: 'unconfined', rules: 0, syscalls: 0, architectures: [] },
    idMaps: { uid: [{ inside: 0, outside: 0, count: 4294967295 }], gid: [{ inside: 0, outside: 0, count: 4294967295 }], identity: true },
    shim: { pid: 41, rssKiB: 800, pssKiB: 150 },
  };
  const text = renderAnatomy(a, 100);
  for (const section of ['NAMESPACES', 'CGROUPS', 'ROOT FILESYSTEM', 'MOUNTS', 'CAPABILITIES', 'SECURITY', 'MONITOR']) assert.match(text, new RegExp(`^${section}`, 'm'));
  assert.match(text, /^ {2}net +3 +3 +shared with the host$/m);
  assert.match(text, /^ {2}pid +1 +2 +new$/m);
  assert.match(text, /memory\.limit_in_bytes = 67108864 \(64 MiB\)/);
  assert.match(text, /^ {2}\/ +overlay from none, read-only$/m);
  assert.match(text, /^ {2}\/data +ext4 \/srv\/my data ro$/m);
  assert.match(text, /docker's default set \+SYS_ADMIN/);
  assert.match(text, /^ {2}seccomp +disabled, 0 filters; profile: unconfined$/m);
  assert.match(text, /^ {2}no_new_privs +1 /m);
  assert.match(text, /pid 41, RSS 800 KiB, PSS 150 KiB/);
  assert.ok(text.split('\n').every((l) => l.length <= 100), 'fits the width');
});
