/** Plan encoding and the OCI -> plan mapping (mount options, capabilities, rlimits). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePlan, readRecords, PLAN_MAGIC, PLAN_VERSION, T, M, D, MODE_CREATE, MOUNT_BIND, MOUNT_CGROUP, MOUNT_TMPCOPYUP, PF_NEW_CGROUPNS, PF_ROOT_READONLY } from '../../src/runtime/plan';
import { buildPlan, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS, idMapFiles } from '../../src/runtime/plan-builder';
import {
  parseMountOptions,
  MS_BIND,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_SLAVE,
  MS_SHARED,
  MS_UNBINDABLE,
  MS_NOATIME,
  MS_STRICTATIME,
  MS_RELATIME,
  MS_NODIRATIME,
  MS_NOSYMFOLLOW,
  MS_SYNCHRONOUS,
  MS_DIRSYNC,
  MS_MANDLOCK,
  MS_REMOUNT,
  MS_I_VERSION,
  MS_LAZYTIME,
  MS_SILENT,
  MOUNT_ATTR_RDONLY,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR__ATIME,
  MOUNT_ATTR_NOATIME,
} from '../../src/runtime/mount-options';
import { capabilityMask, capabilityMasks, raisableAmbient } from '../../src/runtime/capabilities';
import { parseProcLimits, planRlimits, RLIM_INFINITY } from '../../src/runtime/rlimits';
import { BerthError } from '../../src/core/errors';
import type { RuntimeConfig } from '../../src/spec/types';
import type { PlanOptions } from '../../src/runtime/plan-builder';

function config(): RuntimeConfig {
  return {
    ociVersion: '1.2.0',
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/', env: ['PATH=/bin'], capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] } },
    root: { path: 'rootfs', readonly: true },
    hostname: 'h',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro', 'rprivate'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid'] },
    ],
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'cgroup' }, { type: 'network', path: '/run/netns/x' }] },
  };
}

function opts(c: RuntimeConfig, extra: Partial<PlanOptions> = {}): PlanOptions {
  return { mode: 'create', config: c, rootfs: '/b/rootfs', bundle: '/b', execFifo: '/s/fifo', id: 'c1', ...extra };
}

const noLimits = new Map<string, bigint>();

test('plan: header and records round-trip through the record reader', () => {
  const p = buildPlan(opts(config()), { hostHardLimits: noLimits });
  const buf = encodePlan(p);
  assert.equal(buf.readUInt32LE(0), PLAN_MAGIC);
  assert.equal(buf.subarray(0, 4).toString('latin1'), 'BRTP');
  assert.equal(buf.readUInt32LE(4), PLAN_VERSION);
  const recs = readRecords(buf.subarray(8));
  const first = (tag: number) => recs.find((r) => r.tag === tag)!;
  const str = (b: Buffer) => {
    assert.equal(b[b.length - 1], 0, 'strings are NUL-terminated');
    return b.subarray(0, -1).toString('utf8');
  };
  assert.equal(first(T.MODE).payload.readUInt32LE(0), MODE_CREATE);
  assert.equal(first(T.CLONE_FLAGS).payload.readUInt32LE(0), CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS, 'cgroup is unshared later; joined ns are not cloned');
  const flags = first(T.FLAGS).payload.readUInt32LE(0);
  assert.ok(flags & PF_NEW_CGROUPNS);
  assert.ok(flags & PF_ROOT_READONLY);
  assert.equal(str(first(T.ROOTFS).payload), '/b/rootfs');
  assert.equal(str(first(T.HOSTNAME).payload), 'h');
  const join = readRecords(first(T.NS_JOIN).payload);
  assert.equal(str(join.find((r) => r.tag === 2)!.payload), '/run/netns/x');
  const mounts = recs.filter((r) => r.tag === T.MOUNT).map((r) => readRecords(r.payload));
  assert.equal(mounts.length, 3);
  const bind = mounts[1]!;
  const field = (rs: typeof bind, tag: number) => rs.find((r) => r.tag === tag)!.payload;
  assert.equal(str(field(bind, M.SOURCE)), '/b/data', 'relative bind sources are resolved against the bundle');
  assert.equal(field(bind, M.KIND).readUInt32LE(0), MOUNT_BIND);
  assert.equal(field(bind, M.FLAGS).readUInt32LE(0), MS_BIND | MS_REC | MS_RDONLY);
  assert.equal(field(bind, M.PROPAGATION).readUInt32LE(0), MS_PRIVATE | MS_REC);
  assert.equal(field(mounts[2]!, M.KIND).readUInt32LE(0), MOUNT_CGROUP);
  const devices = recs.filter((r) => r.tag === T.DEVICE).map((r) => readRecords(r.payload));
  assert.deepEqual(
    devices.map((d) => str(d.find((r) => r.tag === D.PATH)!.payload)),
    ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'],
  );
  const caps = first(T.CAPS).payload;
  assert.equal(caps.length, 40);
  assert.equal(caps.readBigUInt64LE(0), 1n << 5n, 'bounding = CAP_KILL');
  assert.equal(caps.readBigUInt64LE(16), 0n, 'inheritable empty');
  assert.equal(caps.readBigUInt64LE(32), 0n, 'ambient empty');
  assert.deepEqual(recs.filter((r) => r.tag === T.ARG).map((r) => str(r.payload)), ['sh']);
});

test('plan: strings with NUL are refused; the encoder is deterministic', () => {
  const c = config();
  const a = encodePlan(buildPlan(opts(c), { hostHardLimits: noLimits }));
  const b = encodePlan(buildPlan(opts(c), { hostHardLimits: noLimits }));
  assert.deepEqual(a, b);
  c.process!.args = ['a\0b'];
  assert.throws(() => encodePlan(buildPlan(opts(c), { hostHardLimits: noLimits })), /NUL/);
});

test('plan: exec mode carries only the process part and the pid to join', () => {
  const p = buildPlan(opts(config(), { mode: 'exec', joinPid: 42 }), { hostHardLimits: noLimits });
  assert.equal(p.joinPid, 42);
  assert.equal(p.cloneFlags, 0);
  assert.deepEqual(p.mounts, []);
  assert.deepEqual(p.devices, []);
  assert.equal(p.rootfs, undefined);
});

test('plan: config errors name the field', () => {
  const c = config();
  c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'uts');
  assert.throws(() => buildPlan(opts(c), { hostHardLimits: noLimits }), /hostname: setting it needs a new UTS namespace/);
  const d = config();
  d.mounts!.push({ destination: '/t', type: 'bind', source: '/tmp', options: ['rbind', 'tmpcopyup'] });
  assert.throws(() => buildPlan(opts(d), { hostHardLimits: noLimits }), (e: unknown) => e instanceof BerthError && /mounts\[3\] \(\/t\): "tmpcopyup" is only supported on tmpfs mounts/.test(e.message));
  const e = config();
  e.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW' };
  assert.deepEqual(buildPlan(opts(e), { hostHardLimits: noLimits, compileSeccomp: () => ({ filter: Buffer.alloc(8), flags: 2 }) }).seccomp, { filter: Buffer.alloc(8), flags: 2 });
});

test('plan: devices are skipped for a bind-mounted /dev; linux.devices override defaults', () => {
  const c = config();
  c.mounts!.push({ destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] });
  assert.deepEqual(buildPlan(opts(c), { hostHardLimits: noLimits }).devices, []);
  const d = config();
  d.linux!.devices = [{ type: 'c', path: '/dev/null', major: 1, minor: 3, fileMode: 0o600 }, { type: 'p', path: '/dev/fifo' }];
  const devs = buildPlan(opts(d), { hostHardLimits: noLimits }).devices;
  assert.equal(devs.find((x) => x.path === '/dev/null')!.mode, 0o600);
  assert.equal(devs.find((x) => x.path === '/dev/fifo')!.type, 0o010000);
  const withType = config();
  withType.linux!.devices = [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o20640 }];
  const fuse = buildPlan(opts(withType), { hostHardLimits: noLimits }).devices.find((x) => x.path === '/dev/fuse')!;
  assert.equal(fuse.mode, 0o640, 'the type bits of fileMode are dropped; the type comes from "type"');
  assert.equal(fuse.type, 0o020000);
});

test('plan: user namespace id maps', () => {
  const c = config();
  assert.equal(idMapFiles(c), undefined);
  c.linux!.namespaces!.push({ type: 'user' });
  assert.throws(() => idMapFiles(c), /linux.uidMappings/);
  c.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 10, hostID: 5000, size: 1 }];
  c.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 10 }];
  assert.deepEqual(idMapFiles(c), { uidMap: '0 1000 10\n10 5000 1\n', gidMap: '0 1000 10\n' });
  assert.ok(buildPlan(opts(c), { hostHardLimits: noLimits }).cloneFlags & CLONE_NEWUSER);
});

test('mount options: every flag option of the runtime spec', () => {
  const table: Array<[string, number]> = [
    ['ro', MS_RDONLY], ['nosuid', MS_NOSUID], ['nodev', MS_NODEV], ['noexec', MS_NOEXEC], ['sync', MS_SYNCHRONOUS],
    ['dirsync', MS_DIRSYNC], ['remount', MS_REMOUNT], ['mand', MS_MANDLOCK], ['noatime', MS_NOATIME], ['nodiratime', MS_NODIRATIME],
    ['relatime', MS_RELATIME], ['strictatime', MS_STRICTATIME], ['iversion', MS_I_VERSION], ['lazytime', MS_LAZYTIME],
    ['silent', MS_SILENT], ['nosymfollow', MS_NOSYMFOLLOW], ['bind', MS_BIND], ['rbind', MS_BIND | MS_REC],
  ];
  for (const [opt, flag] of table) assert.equal(parseMountOptions([opt], 'm').flags, flag, opt);
  const clears = ['rw', 'suid', 'dev', 'exec', 'async', 'atime', 'diratime', 'norelatime', 'nostrictatime', 'noiversion', 'nolazytime', 'loud', 'nomand', 'defaults'];
  for (const opt of clears) assert.equal(parseMountOptions([opt], 'm').flags, 0, opt);
  assert.equal(parseMountOptions(['ro', 'rw'], 'm').flags, 0, 'later options win');
  assert.equal(parseMountOptions(['nosuid', 'suid', 'nodev'], 'm').flags, MS_NODEV);
});

test('mount options: propagation, recursive attributes, idmap, data', () => {
  const prop = parseMountOptions(['private', 'rshared', 'slave', 'runbindable', 'rprivate', 'shared', 'rslave', 'unbindable'], 'm').propagation;
  assert.deepEqual(prop, [MS_PRIVATE, MS_SHARED | MS_REC, MS_SLAVE, MS_UNBINDABLE | MS_REC, MS_PRIVATE | MS_REC, MS_SHARED, MS_SLAVE | MS_REC, MS_UNBINDABLE]);
  const r = parseMountOptions(['rro', 'rnosuid', 'rnoatime'], 'm');
  assert.equal(r.attrSet, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
  assert.equal(r.attrClr, MOUNT_ATTR__ATIME);
  const back = parseMountOptions(['rro', 'rrw', 'rnosuid', 'rsuid'], 'm');
  assert.equal(back.attrSet, 0n);
  assert.equal(back.attrClr, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID);
  for (const o of ['rnodev', 'rdev', 'rnoexec', 'rexec', 'rnodiratime', 'rdiratime', 'rrelatime', 'rnorelatime', 'rstrictatime', 'rnostrictatime', 'ratime', 'rnosymfollow', 'rsymfollow']) {
    const x = parseMountOptions([o], 'm');
    assert.ok(x.attrSet !== 0n || x.attrClr !== 0n, o);
    assert.equal(x.flags, 0, o);
  }
  const id = parseMountOptions(['bind', 'ridmap'], 'm');
  assert.ok(id.idmap && id.recursiveIdmap && id.bind);
  assert.ok(parseMountOptions(['idmap'], 'm').idmap);
  assert.equal(parseMountOptions(['nosuid', 'mode=755', 'size=65536k'], 'm').data, 'mode=755,size=65536k');
  assert.equal(parseMountOptions([], 'm').data, undefined);
  const copyUp = parseMountOptions(['rw', 'nosuid', 'tmpcopyup', 'size=1m'], 'm');
  assert.ok(copyUp.copyUp);
  assert.equal(copyUp.data, 'size=1m', 'tmpcopyup is not passed to the filesystem');
});

test('plan: a tmpfs with tmpcopyup is its own mount kind, with its options', () => {
  const c = config();
  c.mounts!.push({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup', 'mode=755'] });
  const m = buildPlan(opts(c), { hostHardLimits: noLimits }).mounts.at(-1)!;
  assert.equal(m.kind, MOUNT_TMPCOPYUP);
  assert.equal(m.flags, MS_NOSUID | MS_NODEV);
  assert.equal(m.data, 'mode=755');
  assert.deepEqual(m.propagation, [MS_PRIVATE | MS_REC]);
});

test('capabilities: names to masks', () => {
  assert.equal(capabilityMask(['CAP_CHOWN', 'CAP_KILL'], 'f'), 0b100001n);
  assert.equal(capabilityMask(['kill'], 'f'), 1n << 5n, 'short names as exec --cap takes them');
  assert.equal(capabilityMask(['CAP_CHECKPOINT_RESTORE'], 'f'), 1n << 40n);
  assert.throws(() => capabilityMask(['CAP_NOPE'], 'process.capabilities.bounding'), /process.capabilities.bounding: unknown capability "CAP_NOPE"/);
  const m = capabilityMasks({ bounding: ['CAP_SYS_ADMIN'], ambient: ['CAP_NET_RAW'] });
  assert.deepEqual(m, { bounding: 1n << 21n, effective: 0n, inheritable: 0n, permitted: 0n, ambient: 1n << 13n });
});

test('capabilities: ambient keeps only what is permitted and inheritable, and says what it dropped', () => {
  const warnings: string[] = [];
  const m = capabilityMasks({
    permitted: ['CAP_KILL', 'CAP_NET_RAW', 'CAP_CHOWN'],
    inheritable: ['CAP_NET_RAW', 'CAP_CHOWN'],
    ambient: ['CAP_KILL', 'CAP_NET_RAW', 'CAP_AUDIT_WRITE'],
  });
  const r = raisableAmbient(m, (w) => warnings.push(w));
  assert.equal(r.ambient, 1n << 13n, 'only CAP_NET_RAW is both permitted and inheritable');
  assert.equal(r.permitted, m.permitted);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /CAP_KILL, CAP_AUDIT_WRITE not raised/);
  const quiet: string[] = [];
  raisableAmbient(capabilityMasks({ permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] }), (w) => quiet.push(w));
  assert.deepEqual(quiet, []);
});

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 20000                files
Max processes             63000                63000                processes
Max realtime timeout      unlimited            unlimited            us
`;

test('rlimits: /proc/self/limits parsing', () => {
  const m = parseProcLimits(LIMITS);
  assert.equal(m.get('RLIMIT_NOFILE'), 20000n);
  assert.equal(m.get('RLIMIT_CPU'), RLIM_INFINITY);
  assert.equal(m.get('RLIMIT_NPROC'), 63000n);
  assert.equal(m.get('RLIMIT_RTTIME'), RLIM_INFINITY);
});

test('rlimits: hard and soft limits are clamped to the host hard limit with a warning', () => {
  const warnings: string[] = [];
  const host = parseProcLimits(LIMITS);
  const r = planRlimits(
    [
      { type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 },
      { type: 'RLIMIT_NPROC', soft: 100, hard: 200 },
      { type: 'RLIMIT_CPU', soft: 2 ** 64, hard: 2 ** 64 },
    ],
    (w) => warnings.push(w),
    host,
  );
  assert.deepEqual(r, [
    { resource: 7, soft: 20000n, hard: 20000n },
    { resource: 6, soft: 100n, hard: 200n },
    { resource: 0, soft: RLIM_INFINITY, hard: RLIM_INFINITY },
  ]);
  assert.equal(warnings[0], 'RLIMIT_NOFILE hard limit 1048576 clamped to 20000 (host limit)');
  assert.equal(warnings.length, 2);
  assert.throws(() => planRlimits([{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }], () => undefined, host), /process.rlimits\[0\].type: unknown limit "RLIMIT_BOGUS"/);
});
