/** v1 device rules: the minimal transition from devices.list to the rules (runc's emulator). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyDevicesV1, parseDevicesList, targetState, transition } from '../../src/cgroups/devices-v1';
import { normalizeDeviceRule } from '../../src/cgroups/devices';
import type { DeviceRule } from '../../src/spec/types';

const rules = (rs: DeviceRule[]) => rs.map(normalizeDeviceRule);
const DENY_ALL: DeviceRule = { allow: false, access: 'rwm' };
const NULL: DeviceRule = { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' };
const ZERO: DeviceRule = { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' };

test('the same rules again need no write at all: nothing is ever denied in between', () => {
  const now = parseDevicesList('c 1:3 rwm\nc 1:5 rwm\nc *:* m\n');
  assert.deepEqual(transition(now, targetState(rules([DENY_ALL, NULL, ZERO, { allow: true, type: 'c', access: 'm' }]))), []);
});

test('a dropped device and a narrowed one are taken away, a new one added; no reset', () => {
  const now = parseDevicesList('c 1:3 rwm\nc 1:5 rwm\n');
  const to = targetState(rules([DENY_ALL, { ...NULL, access: 'r' }, { allow: true, type: 'c', major: 1, minor: 9, access: 'rw' }]));
  assert.deepEqual(transition(now, to), [
    { file: 'devices.deny', line: 'c 1:3 wm' },
    { file: 'devices.deny', line: 'c 1:5 rwm' },
    { file: 'devices.allow', line: 'c 1:9 rw' },
  ]);
});

test('from allow-all (a new cgroup under the root) the reset comes first; a later deny rule removes permissions', () => {
  const now = parseDevicesList('a *:* rwm\n');
  const to = targetState(rules([DENY_ALL, NULL, ZERO, { allow: false, type: 'c', major: 1, minor: 5, access: 'w' }]));
  assert.deepEqual(transition(now, to), [
    { file: 'devices.deny', line: 'a *:* rwm' },
    { file: 'devices.allow', line: 'c 1:3 rwm' },
    { file: 'devices.allow', line: 'c 1:5 rm' },
  ]);
  // An allow-all target from a restricted cgroup: one reset.
  assert.deepEqual(transition(parseDevicesList('c 1:3 rwm'), targetState(rules([{ allow: true, access: 'rwm' }]))), [{ file: 'devices.allow', line: 'a *:* rwm' }]);
});

test('applyDevicesV1 reads devices.list and writes only the difference', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-devv1-'));
  try {
    writeFileSync(join(dir, 'devices.list'), 'c 1:3 rwm\nc 1:5 rwm\n');
    applyDevicesV1(dir, [DENY_ALL, NULL, ZERO]);
    assert.equal(existsSync(join(dir, 'devices.allow')) || existsSync(join(dir, 'devices.deny')), false);
    applyDevicesV1(dir, [DENY_ALL, NULL]);
    assert.equal(readFileSync(join(dir, 'devices.deny'), 'utf8'), 'c 1:5 rwm');
    assert.equal(existsSync(join(dir, 'devices.allow')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
