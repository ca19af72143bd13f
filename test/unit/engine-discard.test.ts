/** Settings the host cannot honour are dropped with docker's warnings (verifyPlatformContainerResources). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discardUnsupported } from '../../src/engine/spec/discard';
import type { CgroupSupport } from '../../src/cgroups';

const ALL: CgroupSupport = {
  memoryLimit: true, swapLimit: true, memoryReservation: true, memorySwappiness: true, oomKillDisable: true,
  cpuShares: true, cpuCfs: true, cpuset: true, pidsLimit: true, blkioWeight: true,
};

test('a host with every controller keeps every setting and says nothing', () => {
  const r = { Memory: 1 << 26, MemorySwap: 1 << 27, BlkioWeight: 300, CpuShares: 512, PidsLimit: 10, MemorySwappiness: 10, OomKillDisable: true };
  assert.deepEqual(discardUnsupported(r, ALL), []);
  assert.equal(r.BlkioWeight, 300);
});

test('no BFQ: the blkio weight is discarded with docker\'s warning and recorded as 0', () => {
  const r = { BlkioWeight: 300, CpuShares: 512 };
  assert.deepEqual(discardUnsupported(r, { ...ALL, blkioWeight: false }), ['Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.']);
  assert.deepEqual(r, { BlkioWeight: 0, CpuShares: 512 });
  assert.deepEqual(discardUnsupported({ BlkioWeight: 0 }, { ...ALL, blkioWeight: false }), [], 'no weight asked for, nothing to say');
});

test('siblings: swap without memsw, swappiness and the OOM killer on cgroup v2, pids, cpuset; --cpus is refused', () => {
  const r: Parameters<typeof discardUnsupported>[0] = { Memory: 1 << 26, MemorySwap: 1 << 27, MemorySwappiness: 10, OomKillDisable: true, PidsLimit: 5, CpusetCpus: '0' };
  const w = discardUnsupported(r, { ...ALL, swapLimit: false, memorySwappiness: false, oomKillDisable: false, pidsLimit: false, cpuset: false });
  assert.equal(w.length, 5);
  assert.match(w[0]!, /Memory limited without swap/);
  assert.deepEqual(r, { Memory: 1 << 26, MemorySwap: -1, MemorySwappiness: null, OomKillDisable: false, PidsLimit: 0, CpusetCpus: '', CpusetMems: '' });
  assert.throws(() => discardUnsupported({ NanoCpus: 1e9 }, { ...ALL, cpuCfs: false }), /NanoCPUs can not be set/);
});
