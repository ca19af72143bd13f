/** Handing a seccomp notification listener to the agent: the message, errors, the plan record. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerProcessState, LISTENER_SEND_TIMEOUT_MS, sendSeccompListener } from '../../src/runtime/seccomp-listener';
import { encodePlan, readRecords, T, MODE_CREATE, type Plan } from '../../src/runtime/plan';
import { BerthError } from '../../src/core/errors';
import type { ContainerState, LinuxSeccomp } from '../../src/spec/types';

const STATE: ContainerState = { ociVersion: '1.2.0', id: 'c1', status: 'creating', pid: 42, bundle: '/b' };
const PROFILE: LinuxSeccomp = {
  defaultAction: 'SCMP_ACT_ALLOW',
  listenerPath: '/run/agent.sock',
  listenerMetadata: 'MKNOD=/dev/null',
  syscalls: [{ names: ['mknod'], action: 'SCMP_ACT_NOTIFY' }],
};

test('seccomp listener: the container process state follows the runtime spec', () => {
  assert.deepEqual(containerProcessState(PROFILE, 42, STATE), {
    ociVersion: '1.2.0',
    fds: ['seccompFd'],
    pid: 42,
    metadata: 'MKNOD=/dev/null',
    state: STATE,
  });
  const { listenerMetadata: _drop, ...noMeta } = PROFILE;
  void _drop;
  assert.equal('metadata' in containerProcessState(noMeta, 42, STATE), false, 'no metadata without listenerMetadata');
});

test('seccomp listener: sent to listenerPath with the fd attached; failures name listenerPath', () => {
  const calls: Array<{ path: string; data: string; fd: number; timeoutMs: number }> = [];
  sendSeccompListener(PROFILE, 42, 7, STATE, {
    sendFd: (path, data, fd, timeoutMs) => {
      calls.push({ path, data: data.toString('utf8'), fd, timeoutMs });
    },
  });
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.path, '/run/agent.sock');
  assert.equal(calls[0]!.fd, 7);
  assert.equal(calls[0]!.timeoutMs, LISTENER_SEND_TIMEOUT_MS);
  assert.deepEqual(JSON.parse(calls[0]!.data), containerProcessState(PROFILE, 42, STATE));

  const refused = Object.assign(new Error('connect /run/agent.sock: Connection refused'), { code: 'ECONNREFUSED' });
  assert.throws(
    () => sendSeccompListener(PROFILE, 42, 7, STATE, { sendFd: () => { throw refused; } }),
    (e: unknown) => e instanceof BerthError && e.code === 'ESECCOMP' && e.message.startsWith('linux.seccomp.listenerPath:') && e.cause === refused && !!e.hint,
  );
  assert.throws(() => sendSeccompListener({ defaultAction: 'SCMP_ACT_ALLOW' }, 42, 7, STATE, { sendFd: () => undefined }), (e: unknown) => e instanceof BerthError && e.code === 'EINTERNAL');
});

test('seccomp listener: the plan tells berth-init which fd to send the listener on', () => {
  const plan: Plan = {
    mode: MODE_CREATE,
    flags: 0,
    cloneFlags: 0,
    nsJoin: [],
    rootfsPropagation: 0,
    preserveFds: 0,
    id: 'c1',
    mounts: [],
    devices: [],
    maskedPaths: [],
    readonlyPaths: [],
    sysctl: [],
    createContainerHooks: [],
    startContainerHooks: [],
    args: ['true'],
    env: [],
    cwd: '/',
    uid: 0,
    gid: 0,
    additionalGids: [],
    rlimits: [],
    seccomp: { filter: Buffer.alloc(8), flags: 8 },
    seccompListenerSocket: 4,
  };
  const records = readRecords(encodePlan(plan).subarray(8));
  const rec = records.find((r) => r.tag === T.SECCOMP_LISTENER_SOCKET);
  assert.ok(rec, 'SECCOMP_LISTENER_SOCKET record present');
  assert.equal(rec.payload.readUInt32LE(0), 4);
  const seccomp = records.find((r) => r.tag === T.SECCOMP)!;
  assert.equal(seccomp.payload.readUInt32LE(0), 8, 'NEW_LISTENER in the flags');
});
