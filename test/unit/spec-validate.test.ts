import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig, validateProcess } from '../../src/spec/validate';
import { defaultSpec } from '../../src/spec/default-spec';
import { BerthError } from '../../src/core/errors';
import type { RuntimeConfig } from '../../src/spec/types';

/** A valid, fairly complete config to start each case from. */
function base(): RuntimeConfig & Record<string, unknown> {
  return structuredClone(defaultSpec()) as RuntimeConfig & Record<string, unknown>;
}

/** Applies a mutation to a fresh base config; `any` because the cases build invalid documents. */
type Mutate = (c: any) => void;

function problems(json: unknown): string[] {
  try {
    validateConfig(json);
  } catch (e) {
    assert.ok(e instanceof BerthError, `expected BerthError, got ${String(e)}`);
    assert.equal(e.code, 'EINVALID_CONFIG');
    assert.ok(e.hint && e.hint.length > 0, 'error has a hint');
    return e.message.split('\n').slice(1).map((l) => l.trim());
  }
  return [];
}

const GOOD: Array<[string, Mutate]> = [
  ['the default spec', () => {}],
  ['minimal document (no process)', (c) => { for (const k of Object.keys(c)) if (k !== 'ociVersion' && k !== 'root') delete c[k]; }],
  ['pre-release version', (c) => (c.ociVersion = '1.0.2-dev')],
  ['unknown fields anywhere are ignored', (c) => { c.vm = { x: 1 }; c.process.fancy = true; c.linux.somethingNew = [1]; }],
  ['rlimits within range', (c) => c.process.rlimits.push({ type: 'RLIMIT_CORE', soft: 0, hard: 18446744073709551615 })],
  ['ioPriority and scheduler', (c) => { c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 7 }; c.process.scheduler = { policy: 'SCHED_OTHER', nice: -20 }; }],
  ['user or its ids missing (runc reads them as 0)', (c) => { delete c.process.user; }],
  ['realtime scheduler with priority', (c) => (c.process.scheduler = { policy: 'SCHED_FIFO', priority: 50 })],
  ['user namespace with mappings', (c) => { c.linux.namespaces.push({ type: 'user' }); c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]; c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]; }],
  ['joined user namespace without mappings', (c) => c.linux.namespaces.push({ type: 'user', path: '/proc/1/ns/user' })],
  ['namespaced sysctls', (c) => (c.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1', 'kernel.msgmax': '1', 'kernel.sem': '1 2 3 4', 'fs.mqueue.queues_max': '1', 'net/core/somaxconn': '1' })],
  ['kernel.domainname sysctl with uts', (c) => { delete c.hostname; c.linux.sysctl = { 'kernel.hostname': 'x' }; }],
  ['time offsets with a time namespace', (c) => { c.linux.namespaces.push({ type: 'time' }); c.linux.timeOffsets = { monotonic: { secs: 10 }, boottime: { secs: 1, nanosecs: 5 } }; }],
  ['devices', (c) => (c.linux.devices = [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }, { type: 'p', path: '/dev/fifo' }])],
  ['device fileMode with the type bits of its type (podman passes st_mode)', (c) => (c.linux.devices = [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o20666 }, { type: 'b', path: '/dev/loop0', major: 7, minor: 0, fileMode: 0o60660 }])],
  ['device rules with null major', (c) => c.linux.resources.devices.push({ allow: true, type: 'c', major: null, minor: 3, access: 'rw' })],
  ['seccomp', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'], flags: ['SECCOMP_FILTER_FLAG_LOG'], syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] }] })],
  ['recursive rootfs propagation', (c) => (c.linux.rootfsPropagation = 'rslave')],
  ['personality', (c) => (c.linux.personality = { domain: 'LINUX32' })],
  ['hooks with absolute paths', (c) => (c.hooks = { prestart: [{ path: '/bin/true', timeout: 3 }], poststop: [] })],
  ['id-mapped mount', (c) => c.mounts.push({ destination: '/data', source: '/srv', type: 'bind', options: ['bind', 'idmap'], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] })],
];

for (const [name, mutate] of GOOD) {
  test(`accepts: ${name}`, () => {
    const c = base();
    mutate(c);
    assert.deepEqual(problems(c), []);
  });
}

/** [case, mutation, the exact JSON path and a fragment of the rule]. */
const BAD: Array<[string, Mutate, string]> = [
  ['document is not an object', () => {}, '(document): expected object, got array'],
  ['ociVersion missing', (c) => delete c.ociVersion, 'ociVersion: required (a string)'],
  ['ociVersion 2.x', (c) => (c.ociVersion = '2.0.0'), 'ociVersion: must be a 1.x version'],
  ['arg is a number', (c) => (c.process.args = ['sh', 5]), 'process.args[1]: expected string, got number'],
  ['args empty', (c) => (c.process.args = []), 'process.args: must name the program'],
  ['args missing', (c) => delete c.process.args, 'process.args: required (an array)'],
  ['cwd relative', (c) => (c.process.cwd = 'tmp'), 'process.cwd: must be an absolute path'],
  ['uid negative', (c) => (c.process.user.uid = -1), 'process.user.uid: must be >= 0'],
  ['gid fractional', (c) => (c.process.user.gid = 1.5), 'process.user.gid: expected integer, got float'],
  ['unknown capability', (c) => c.process.capabilities.bounding.push('CAP_FLY'), 'process.capabilities.bounding[14]: unknown capability "CAP_FLY"'],
  ['unknown rlimit', (c) => (c.process.rlimits[0].type = 'RLIMIT_FILES'), 'process.rlimits[0].type: must be one of RLIMIT_CPU'],
  ['duplicate rlimit', (c) => c.process.rlimits.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }), 'process.rlimits[1].type: duplicate RLIMIT_NOFILE'],
  ['soft above hard', (c) => (c.process.rlimits[0] = { type: 'RLIMIT_NOFILE', soft: 2048, hard: 1024 }), 'process.rlimits[0].soft: soft limit 2048 is above the hard limit 1024'],
  ['ioPriority class', (c) => (c.process.ioPriority = { class: 'IOPRIO_CLASS_NONE', priority: 0 }), 'process.ioPriority.class: must be one of IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE, got "IOPRIO_CLASS_NONE"'],
  ['ioPriority priority', (c) => (c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 8 }), 'process.ioPriority.priority: must be <= 7'],
  ['scheduler policy', (c) => (c.process.scheduler = { policy: 'SCHED_FAST' }), 'process.scheduler.policy: must be one of SCHED_OTHER'],
  ['nice too low', (c) => (c.process.scheduler = { policy: 'SCHED_OTHER', nice: -21 }), 'process.scheduler.nice: must be >= -20'],
  ['nice with FIFO', (c) => (c.process.scheduler = { policy: 'SCHED_FIFO', nice: 5, priority: 1 }), 'process.scheduler.nice: only SCHED_OTHER and SCHED_BATCH'],
  ['priority with OTHER', (c) => (c.process.scheduler = { policy: 'SCHED_OTHER', priority: 5 }), 'process.scheduler.priority: only SCHED_FIFO and SCHED_RR'],
  ['scheduler flag', (c) => (c.process.scheduler = { policy: 'SCHED_OTHER', flags: ['SCHED_FLAG_FAST'] }), 'process.scheduler.flags[0]: must be one of'],
  ['oomScoreAdj range', (c) => (c.process.oomScoreAdj = 1001), 'process.oomScoreAdj: must be <= 1000'],
  ['mount destination relative', (c) => (c.mounts[2].destination = 'dev/pts'), 'mounts[2].destination: must be an absolute path'],
  ['mount options not strings', (c) => (c.mounts[0].options = 'ro'), 'mounts[0].options: expected array, got string'],
  ['namespace type', (c) => (c.linux.namespaces[2].type = 'net'), 'linux.namespaces[2].type: must be one of pid, network, mount, ipc, uts, user, cgroup, time, got "net"'],
  ['duplicate namespace', (c) => c.linux.namespaces.push({ type: 'pid' }), 'linux.namespaces[6].type: duplicate namespace type "pid"'],
  ['namespace path relative', (c) => (c.linux.namespaces[1].path = 'proc/1/ns/net'), 'linux.namespaces[1].path: must be an absolute path'],
  ['user namespace without mappings', (c) => c.linux.namespaces.push({ type: 'user' }), 'linux.uidMappings: required when a new user namespace is created'],
  ['user namespace without gid mappings', (c) => { c.linux.namespaces.push({ type: 'user' }); c.linux.uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]; }, 'linux.gidMappings: required when a new user namespace'],
  ['mappings without user namespace', (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]), 'linux.uidMappings: needs a user namespace'],
  ['mapping size zero', (c) => { c.linux.namespaces.push({ type: 'user' }); c.linux.uidMappings = [{ containerID: 0, hostID: 1, size: 0 }]; c.linux.gidMappings = [{ containerID: 0, hostID: 1, size: 1 }]; }, 'linux.uidMappings[0].size: must be >= 1'],
  ['hostname without uts', (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'uts')), 'hostname: needs a new UTS namespace'],
  ['domainname with joined uts', (c) => { c.domainname = 'x'; c.linux.namespaces[3].path = '/proc/1/ns/uts'; }, 'domainname: needs a new UTS namespace'],
  ['net sysctl without netns', (c) => { c.linux.namespaces.splice(1, 1); c.linux.sysctl = { 'net.ipv4.ip_forward': '1' }; }, 'linux.sysctl["net.ipv4.ip_forward"]: needs a network namespace'],
  ['ipc sysctl without ipc ns', (c) => { c.linux.namespaces.splice(2, 1); c.linux.sysctl = { 'kernel.shmmax': '1' }; }, 'linux.sysctl["kernel.shmmax"]: needs an IPC namespace'],
  ['mqueue sysctl without ipc ns', (c) => { c.linux.namespaces.splice(2, 1); c.linux.sysctl = { 'fs.mqueue.msg_max': '1' }; }, 'linux.sysctl["fs.mqueue.msg_max"]: needs an IPC namespace'],
  ['kernel.hostname without uts', (c) => { delete c.hostname; c.linux.namespaces.splice(3, 1); c.linux.sysctl = { 'kernel.hostname': 'x' }; }, 'linux.sysctl["kernel.hostname"]: needs a UTS namespace'],
  ['kernel.hostname and hostname', (c) => (c.linux.sysctl = { 'kernel.hostname': 'x' }), 'linux.sysctl["kernel.hostname"]: conflicts with the "hostname" field'],
  ['host-wide sysctl', (c) => (c.linux.sysctl = { 'vm.swappiness': '1' }), 'linux.sysctl["vm.swappiness"]: is not namespaced'],
  ['sysctl value not a string', (c) => (c.linux.sysctl = { 'net.core.somaxconn': 1 }), 'linux.sysctl["net.core.somaxconn"]: expected string, got number'],
  ['time offsets without time ns', (c) => (c.linux.timeOffsets = { monotonic: { secs: 1 } }), 'linux.timeOffsets: needs a new time namespace'],
  ['time offsets unknown clock', (c) => { c.linux.namespaces.push({ type: 'time' }); c.linux.timeOffsets = { realtime: { secs: 1 } }; }, 'linux.timeOffsets.realtime: unknown clock'],
  ['device type', (c) => (c.linux.devices = [{ type: 'x', path: '/dev/x' }]), 'linux.devices[0].type: must be one of c, b, u, p, got "x"'],
  ['char device without major', (c) => (c.linux.devices = [{ type: 'c', path: '/dev/x', minor: 1 }]), 'linux.devices[0].major: required for a device of type "c"'],
  ['block device without minor', (c) => (c.linux.devices = [{ type: 'b', path: '/dev/x', major: 8 }]), 'linux.devices[0].minor: required for a device of type "b"'],
  ['device fileMode type bits of another type', (c) => (c.linux.devices = [{ type: 'c', path: '/dev/x', major: 1, minor: 3, fileMode: 0o60666 }]), 'linux.devices[0].fileMode: file-type bits 0o60000 do not match type "c" (expected none or 0o20000)'],
  ['device rule access', (c) => (c.linux.resources.devices[0].access = 'rwx'), 'linux.resources.devices[0].access: must combine the letters r, w and m'],
  ['device rule allow missing', (c) => delete c.linux.resources.devices[0].allow, 'linux.resources.devices[0].allow: required (a boolean)'],
  ['rootfs propagation', (c) => (c.linux.rootfsPropagation = 'recursive'), 'linux.rootfsPropagation: must be one of private, shared'],
  ['personality domain', (c) => (c.linux.personality = { domain: 'LINUX64' }), 'linux.personality.domain: must be one of LINUX, LINUX32, got "LINUX64"'],
  ['seccomp default action', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_DENY' }), 'linux.seccomp.defaultAction: must be one of SCMP_ACT_KILL'],
  ['seccomp syscall action', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'ALLOW' }] }), 'linux.seccomp.syscalls[0].action: must be one of'],
  ['seccomp operator', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0, op: 'SCMP_CMP_MATCH' }] }] }), 'linux.seccomp.syscalls[0].args[0].op: must be one of SCMP_CMP_NE'],
  ['seccomp arch', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['x86_64'] }), 'linux.seccomp.architectures[0]: must be one of SCMP_ARCH_X86'],
  ['seccomp errnoRet with ALLOW', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }] }), 'linux.seccomp.syscalls[0].errnoRet: only allowed with SCMP_ACT_ERRNO'],
  ['seccomp empty names', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }] }), 'linux.seccomp.syscalls[0].names: must list at least one'],
  ['hugepage size', (c) => (c.linux.resources.hugepageLimits = [{ pageSize: '64kB', limit: 1 }]), 'linux.resources.hugepageLimits[0].pageSize: must be a size such as "2MB"'],
  ['memory limit type', (c) => (c.linux.resources.memory = { limit: '1g' }), 'linux.resources.memory.limit: expected number, got string'],
  ['pids without limit', (c) => (c.linux.resources.pids = {}), 'linux.resources.pids.limit: required (a number)'],
  ['masked path relative', (c) => c.linux.maskedPaths.push('proc/kcore'), `linux.maskedPaths[12]: must be an absolute path`],
  ['hook path relative', (c) => (c.hooks = { poststart: [{ path: 'notify' }] }), 'hooks.poststart[0].path: must be an absolute path'],
  ['hook timeout zero', (c) => (c.hooks = { poststart: [{ path: '/bin/true', timeout: 0 }] }), 'hooks.poststart[0].timeout: must be >= 1'],
  ['annotation value', (c) => (c.annotations = { 'org.example/key': 1 }), 'annotations["org.example/key"]: expected string, got number'],
  ['root path empty', (c) => (c.root.path = ''), 'root.path: must not be empty'],
  ['id-mapped mount with one map', (c) => c.mounts.push({ destination: '/d', source: '/s', type: 'bind', uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] }), 'mounts[7].gidMappings: an id-mapped mount needs both'],
];

for (const [name, mutate, expected] of BAD) {
  test(`rejects: ${name}`, () => {
    let doc: unknown = base();
    if (name === 'document is not an object') doc = [];
    else mutate(doc);
    const found = problems(doc);
    assert.ok(
      found.some((p) => p.startsWith(expected)),
      `expected a problem starting with\n  ${expected}\ngot\n  ${found.join('\n  ') || '(none: accepted)'}`,
    );
  });
}

test('every structural problem is reported at once, one line each', () => {
  const c = base() as any;
  c.process.args[0] = 1;
  c.process.cwd = 'rel';
  c.linux.namespaces[0].type = 'process';
  c.mounts[1].destination = 5;
  const found = problems(c);
  assert.deepEqual(found.sort(), [
    'linux.namespaces[0].type: must be one of pid, network, mount, ipc, uts, user, cgroup, time, got "process"',
    'mounts[1].destination: expected string, got number',
    'process.args[0]: expected string, got number',
    'process.cwd: must be an absolute path',
  ]);
});

test('every semantic problem is reported at once', () => {
  const c = base() as any;
  c.linux.namespaces.push({ type: 'pid' });
  c.linux.sysctl = { 'vm.overcommit_memory': '1' };
  c.process.rlimits.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 });
  assert.equal(problems(c).length, 3);
});

test('the error message starts with the document name and the count', () => {
  assert.throws(
    () => validateConfig({ ociVersion: 3 }, '/b/config.json'),
    (e: unknown) => e instanceof BerthError && e.message.startsWith('/b/config.json is invalid (1 problem):\n  ociVersion: expected string, got number'),
  );
});

test('a missing user means root, as in runc', () => {
  const c = base() as any;
  delete c.process.user;
  assert.deepEqual(validateConfig(c).process?.user, { uid: 0, gid: 0 });
  c.process.user = { gid: 5 };
  assert.deepEqual(validateConfig(c).process?.user, { uid: 0, gid: 5 });
});

test('validated config drops unknown fields and keeps known ones', () => {
  const c = base() as any;
  c.unknownTop = 1;
  const out = validateConfig(c);
  assert.equal((out as unknown as Record<string, unknown>).unknownTop, undefined);
  assert.deepEqual(out.process?.args, ['sh']);
  assert.equal(out.linux?.namespaces?.length, 6);
});

test('validateProcess: paths are relative to the process object, named "process"', () => {
  const p = { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 } };
  assert.deepEqual(validateProcess(p).args, ['sh']);
  assert.throws(
    () => validateProcess({ args: [], cwd: 'x', user: { uid: 0, gid: 0 }, rlimits: [{ type: 'RLIMIT_AS', soft: 1, hard: 1 }, { type: 'RLIMIT_AS', soft: 1, hard: 1 }] }, '/tmp/p.json'),
    (e: unknown) =>
      e instanceof BerthError &&
      e.code === 'EINVALID_CONFIG' &&
      e.message.startsWith('/tmp/p.json is invalid (2 problems)') &&
      e.message.includes('process.args: must name the program') &&
      e.message.includes('process.cwd: must be an absolute path'),
  );
  // Semantic rules of a process run once it is well-formed.
  assert.throws(
    () => validateProcess({ args: ['x'], cwd: '/', user: { uid: 0, gid: 0 }, rlimits: [{ type: 'RLIMIT_AS', soft: 1, hard: 1 }, { type: 'RLIMIT_AS', soft: 1, hard: 1 }] }),
    /process\.rlimits\[1\]\.type: duplicate RLIMIT_AS/,
  );
  assert.throws(() => validateProcess('sh'), /process: expected object, got string/);
});
