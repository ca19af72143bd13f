import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/spec/validate';
import {
  ALL_CAPABILITIES,
  CAPABILITY_NUMBERS,
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  defaultSpec,
} from '../../src/spec/default-spec';
import { runtimeFeatures, MOUNT_OPTIONS } from '../../src/runtime/features';
import { OCI_VERSION, stateDocument } from '../../src/spec/state';
import { RLIMIT_NUMBERS } from '../../src/spec/rlimits';
import { parseMountOptions } from '../../src/runtime/mount-options';

test('defaultSpec is valid and looks like `runc spec`', () => {
  const s = defaultSpec();
  assert.deepEqual(validateConfig(s), s, 'validation keeps every field of the default spec');
  assert.equal(s.ociVersion, OCI_VERSION);
  assert.equal(s.process?.terminal, true);
  assert.deepEqual(s.process?.args, ['sh']);
  assert.deepEqual(s.root, { path: 'rootfs', readonly: true });
  assert.deepEqual(s.process?.capabilities?.bounding, DEFAULT_CAPABILITIES);
  assert.deepEqual(s.linux?.maskedPaths, DEFAULT_MASKED_PATHS);
  assert.deepEqual(s.linux?.readonlyPaths, DEFAULT_READONLY_PATHS);
  assert.deepEqual(
    s.linux?.namespaces?.map((n) => n.type),
    ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'],
  );
  assert.deepEqual(
    s.mounts?.map((m) => m.destination),
    ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup'],
  );
});

test('defaultSpec returns a fresh object each time', () => {
  const a = defaultSpec();
  a.process!.capabilities!.bounding!.push('CAP_SYS_ADMIN');
  a.linux!.maskedPaths!.pop();
  const b = defaultSpec();
  assert.deepEqual(b.process?.capabilities?.bounding, DEFAULT_CAPABILITIES);
  assert.equal(b.linux?.maskedPaths?.length, DEFAULT_MASKED_PATHS.length);
});

test('rootless defaultSpec: user namespace mapping the current ids, no netns, no cgroup resources', () => {
  const s = defaultSpec({ rootless: true });
  assert.deepEqual(validateConfig(s), s);
  const types = s.linux?.namespaces?.map((n) => n.type) ?? [];
  assert.ok(types.includes('user'));
  assert.ok(!types.includes('network'));
  assert.equal(new Set(types).size, types.length);
  assert.deepEqual(s.linux?.uidMappings, [{ containerID: 0, hostID: process.geteuid!(), size: 1 }]);
  assert.deepEqual(s.linux?.gidMappings, [{ containerID: 0, hostID: process.getegid!(), size: 1 }]);
  assert.equal(s.linux?.resources, undefined);
  const sys = s.mounts?.find((m) => m.destination === '/sys');
  assert.equal(sys?.source, '/sys');
  assert.ok(sys?.options?.includes('rbind'));
  for (const m of s.mounts ?? []) assert.ok(!(m.options ?? []).some((o) => /^[ug]id=/.test(o)), `${m.destination} has no uid=/gid=`);
});

test('capability tables: 41 names numbered 0..40, defaults are Docker\'s 14', () => {
  assert.equal(ALL_CAPABILITIES.length, 41);
  ALL_CAPABILITIES.forEach((name, i) => assert.equal(CAPABILITY_NUMBERS[name], i, name));
  assert.equal(CAPABILITY_NUMBERS.CAP_SYS_ADMIN, 21);
  assert.equal(CAPABILITY_NUMBERS.CAP_CHECKPOINT_RESTORE, 40);
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
  for (const c of DEFAULT_CAPABILITIES) assert.ok(ALL_CAPABILITIES.includes(c), c);
  assert.ok(!DEFAULT_CAPABILITIES.includes('CAP_SYS_ADMIN'));
  assert.equal(RLIMIT_NUMBERS.RLIMIT_NOFILE, 7);
});

test('runtimeFeatures advertises what the validator accepts', () => {
  const f = runtimeFeatures();
  assert.equal(f.ociVersionMin, '1.0.0');
  assert.equal(f.ociVersionMax, '1.2.0');
  assert.deepEqual(f.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  for (const o of ['rbind', 'rprivate', 'ro', 'nosuid', 'idmap', 'ridmap', 'rro', 'nosymfollow']) assert.ok(f.mountOptions?.includes(o), o);
  assert.equal(new Set(MOUNT_OPTIONS).size, MOUNT_OPTIONS.length, 'no duplicates');
  assert.equal(f.linux?.namespaces?.length, 8);
  assert.deepEqual(f.linux?.capabilities, ALL_CAPABILITIES);
  assert.deepEqual(f.linux?.cgroup, { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false });
  assert.equal(f.linux?.seccomp?.enabled, true);
  for (const k of ['actions', 'operators', 'archs', 'knownFlags', 'supportedFlags'] as const) {
    assert.ok((f.linux?.seccomp?.[k] ?? []).length > 0, `seccomp.${k}`);
  }
  assert.deepEqual(f.linux?.apparmor, { enabled: false });
  assert.deepEqual(f.linux?.selinux, { enabled: false });
  assert.deepEqual(f.linux?.intelRdt, { enabled: false });
  assert.deepEqual(f.annotations, { 'io.github.berth.runtime': 'berth-runtime' });
  // Every advertised seccomp action/operator/arch passes the config validator.
  const s = defaultSpec();
  s.linux!.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: f.linux!.seccomp!.archs as never,
    flags: f.linux!.seccomp!.supportedFlags as never,
    syscalls: (f.linux!.seccomp!.actions ?? []).map((action, i) => ({
      names: ['getpid'],
      action: action as never,
      args: [{ index: 0, value: 0, op: f.linux!.seccomp!.operators![i % f.linux!.seccomp!.operators!.length] as never }],
    })),
  };
  validateConfig(s);
});

test('every advertised mount option is understood by the mount option parser (not passed on as fs data)', () => {
  for (const opt of MOUNT_OPTIONS) {
    const parsed = parseMountOptions([opt], `mounts[0] (${opt})`);
    assert.equal(parsed.data, undefined, `${opt} is recognised`);
  }
});

test('stateDocument: pid only while the process exists, annotations only when present', () => {
  assert.deepEqual(stateDocument({ id: 'a', status: 'running', bundle: '/b', pid: 42, annotations: { k: 'v' } }), {
    ociVersion: '1.2.0',
    id: 'a',
    status: 'running',
    bundle: '/b',
    pid: 42,
    annotations: { k: 'v' },
  });
  assert.deepEqual(stateDocument({ id: 'a', status: 'stopped', bundle: '/b', pid: 42, annotations: {} }), {
    ociVersion: '1.2.0',
    id: 'a',
    status: 'stopped',
    bundle: '/b',
  });
  assert.equal(stateDocument({ id: 'a', status: 'created', bundle: '/b', pid: 7 }).pid, 7);
});
