import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownProcsFile } from '../../src/cgroups/warm';

test('ownProcsFile: v1/hybrid uses the first real controller, skipping name= hierarchies', () => {
  const self = '9:name=systemd:/user.slice\n8:pids:/user.slice/u\n4:memory:/x\n3:cpu,cpuacct:/y\n0::/user.slice\n';
  assert.equal(ownProcsFile(self, '/sys/fs/cgroup'), '/sys/fs/cgroup/pids/user.slice/u/cgroup.procs');
  assert.equal(ownProcsFile('3:cpu,cpuacct:/y\n', '/m'), '/m/cpu/y/cgroup.procs');
});

test('ownProcsFile: v2 uses the unified path; nothing usable gives undefined', () => {
  assert.equal(ownProcsFile('0::/system.slice/berth.scope\n', '/sys/fs/cgroup'), '/sys/fs/cgroup/system.slice/berth.scope/cgroup.procs');
  assert.equal(ownProcsFile('0::/\n', '/r'), '/r/cgroup.procs');
  assert.equal(ownProcsFile('', '/r'), undefined);
  assert.equal(ownProcsFile('1:name=systemd:/\ngarbage\n', '/r'), undefined);
});
