/**
 * Pure parts of the container/system commands: stats arithmetic (docker's CPU % and memory
 * without cache, v1 and v2 counters), ps parsing for top, update validation, cp's path rules
 * and destination plan, prune filters, diff placeholders, port ordering.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockIo, cpuPercent, effectiveMemoryLimit, memoryWithoutCache, onlineCpus, parseNetDev, sampleFromCgroup, statsRow, stoppedSample, systemCpuNs } from '../../src/engine/containers/stats-calc';
import { parsePsOutput } from '../../src/engine/containers/top';
import { planUpdate } from '../../src/engine/containers/update';
import { normalizePrivatePort } from '../../src/engine/containers/ports';
import { userChanges } from '../../src/engine/containers/commit';
import { containerPath, splitCopyArgument } from '../../src/engine/copy/paths';
import { planCopy } from '../../src/engine/copy/plan';
import { entryComponents } from '../../src/engine/copy/extract';
import { matchesPruneFilter, parsePruneFilters } from '../../src/engine/system/prune';
import { updateFromFlags } from '../../src/cli/engine/commands/update';
import { naturalCompare } from '../../src/cli/engine/commands/port';
import { statsTemplateRow } from '../../src/cli/engine/commands/stats';
import { emptyStats } from '../../src/cgroups/stats';

test('stats: CPU % is the container share of host CPU time times the online CPUs', () => {
  // 0.5 s of container CPU in 2 s of host time (all CPUs) on 4 CPUs: 100 % (one CPU busy).
  assert.equal(cpuPercent({ cpuNs: 1e9, systemNs: 10e9 }, { cpuNs: 1.5e9, systemNs: 12e9, onlineCpus: 4 }), 100);
  assert.equal(cpuPercent(undefined, { cpuNs: 5, systemNs: 5, onlineCpus: 2 }), 0, 'no previous sample: 0');
  assert.equal(cpuPercent({ cpuNs: 5, systemNs: 5 }, { cpuNs: 5, systemNs: 9, onlineCpus: 2 }), 0, 'idle container');
  assert.equal(cpuPercent({ cpuNs: 5, systemNs: 9 }, { cpuNs: 9, systemNs: 9, onlineCpus: 2 }), 0, 'no host time passed');
});

test('stats: memory without inactive file cache (v1 total_inactive_file, v2 inactive_file) and the effective limit', () => {
  assert.equal(memoryWithoutCache(1000, { total_inactive_file: 300, cache: 500 }), 700);
  assert.equal(memoryWithoutCache(1000, { inactive_file: 100, file: 400 }), 900);
  assert.equal(memoryWithoutCache(1000, { total_inactive_file: 2000 }), 1000, 'a counter above usage is ignored');
  assert.equal(memoryWithoutCache(1000, {}), 1000);
  assert.equal(effectiveMemoryLimit(64 << 20, 8 * 2 ** 30), 64 << 20);
  assert.equal(effectiveMemoryLimit(9223372036854771712, 8 * 2 ** 30), 8 * 2 ** 30, 'v1 unlimited: host memory');
  assert.equal(effectiveMemoryLimit(0, 8 * 2 ** 30), 8 * 2 ** 30, 'v2 "max" reads as 0: host memory');
});

test('stats: /proc/stat, net/dev and block I/O parsing', () => {
  const procStat = 'cpu  100 0 50 800 10 5 5 30 0 0\ncpu0 50 0 25 400 5 2 3 15 0 0\ncpu1 50 0 25 400 5 3 2 15 0 0\nintr 1\n';
  assert.equal(systemCpuNs(procStat), (100 + 50 + 800 + 10 + 5 + 5) * 1e7, 'user..softirq, steal excluded');
  assert.equal(onlineCpus(procStat), 2);
  const netDev = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo:  999999      10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0',
    '  eth0:    1500      12    0    0    0     0          0         0      700       7    0    0    0     0       0          0',
    '  eth1:     500       2    0    0    0     0          0         0      300       1    0    0    0     0       0          0',
  ].join('\n');
  assert.deepEqual(parseNetDev(netDev), { rx: 2000, tx: 1000 }, 'loopback excluded');
  assert.deepEqual(blockIo([{ major: 8, minor: 0, op: 'Read', value: 10 }, { major: 8, minor: 0, op: 'Write', value: 5 }, { major: 8, minor: 16, op: 'read', value: 1 }, { major: 8, minor: 0, op: 'Total', value: 16 }]), { read: 11, write: 5 });
});

test('stats: rows from v1 and v2 cgroup documents, and docker\'s cell formats', () => {
  const v1 = emptyStats();
  v1.cpu.usage.total = 3e9;
  v1.memory = { usage: { usage: 10 << 20, limit: 64 << 20, failcnt: 0 }, raw: { total_inactive_file: 2 << 20 } };
  v1.pids = { current: 3 };
  v1.blkio = { ioServiceBytesRecursive: [{ major: 8, minor: 0, op: 'Read', value: 4096 }, { major: 8, minor: 0, op: 'Write', value: 1_500_000 }] };
  const base = { id: 'f'.repeat(64), name: 'web', systemNs: 20e9, onlineCpus: 2, netRx: 1234, netTx: 0 };
  const cur = sampleFromCgroup(base, v1, 8 * 2 ** 30, 0);
  const prev = { ...cur, cpuNs: 2e9, systemNs: 18e9 };
  const row = statsRow(prev, cur);
  assert.equal(row.cpuPercent, 100);
  assert.equal(row.memUsage, 8 << 20);
  assert.equal(row.memPercent, 12.5);
  const cells = statsTemplateRow(row, { noTrunc: false });
  assert.deepEqual(cells, {
    Container: 'f'.repeat(12), Name: 'web', ID: 'f'.repeat(12), CPUPerc: '100.00%', MemUsage: '8MiB / 64MiB', MemPerc: '12.50%', NetIO: '1.23kB / 0B', BlockIO: '4.1kB / 1.5MB', PIDs: '3',
  });
  const v2 = emptyStats();
  v2.cpu.usage.total = 1e9;
  v2.memory = { usage: { usage: 5000, limit: 0, failcnt: 0 }, raw: { inactive_file: 1000, file: 3000 } };
  v2.pids = { current: 1 };
  const r2 = statsRow(undefined, sampleFromCgroup(base, v2, 100_000, 0));
  assert.equal(r2.memUsage, 4000);
  assert.equal(r2.memLimit, 100_000, 'no limit: host memory');
  assert.equal(r2.cpuPercent, 0);
  const stopped = statsTemplateRow(statsRow(undefined, stoppedSample('a'.repeat(64), 'old')), { noTrunc: true, asGiven: 'old' });
  assert.deepEqual([stopped.Container, stopped.ID.length, stopped.CPUPerc, stopped.MemUsage, stopped.MemPerc, stopped.PIDs], ['old', 64, '0.00%', '0B / 0B', '0.00%', '0']);
});

test('top: ps output split into columns, the command keeps its spaces, rows filtered by pid', () => {
  const out = 'UID          PID    PPID  C STIME TTY          TIME CMD\nroot          10       1  0 10:00 ?        00:00:00 sh -c sleep 100\nroot          11      10  0 10:00 ?        00:00:00 sleep 100\nroot          99       1  0 10:00 ?        00:00:00 other\n';
  const r = parsePsOutput(out, [10, 11]);
  assert.deepEqual(r.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  assert.deepEqual(r.Processes, [
    ['root', '10', '1', '0', '10:00', '?', '00:00:00', 'sh -c sleep 100'],
    ['root', '11', '10', '0', '10:00', '?', '00:00:00', 'sleep 100'],
  ]);
  assert.throws(() => parsePsOutput('USER COMMAND\nroot sh\n', [1]), /no PID column/);
});

test('update: docker\'s rules against what the container has', () => {
  const hc = { Memory: 64 << 20, MemorySwap: 0, NanoCpus: 0 };
  const ok = planUpdate(hc, { Memory: 100 << 20 }, 2);
  assert.equal(ok.hostConfig.Memory, 100 << 20);
  assert.equal(ok.hostConfig.MemorySwap, 128 << 20, 'the implicit swap limit becomes explicit');
  assert.deepEqual(ok.live, { memory: { limit: 100 << 20 } });
  assert.throws(() => planUpdate(hc, { Memory: 200 << 20 }, 2), /smaller than already set memoryswap limit/);
  assert.equal(planUpdate(hc, { Memory: 200 << 20, MemorySwap: -1 }, 2).live.memory?.swap, -1);
  assert.throws(() => planUpdate({}, { Memory: 1 << 20 }, 2), /minimum memory limit allowed is 6MB/);
  assert.throws(() => planUpdate({}, { Memory: 64 << 20, MemoryReservation: 128 << 20 }, 2), /less than memory reservation/);
  assert.throws(() => planUpdate({}, { MemorySwap: 64 << 20 }, 2), /set the memory limit/);
  assert.throws(() => planUpdate(hc, { Memory: 64 << 20, MemorySwap: 32 << 20 }, 2), /memoryswap limit should be larger/);
  assert.throws(() => planUpdate({}, {}, 2), /one or more flags/);
  const cpu = planUpdate({}, { NanoCpus: 0.5e9 }, 2);
  assert.deepEqual(cpu.live.cpu, { period: 100_000, quota: 50_000 });
  assert.throws(() => planUpdate({}, { NanoCpus: 3e9 }, 2), /range of CPUs is from 0.01 to 2.00/);
  assert.throws(() => planUpdate({}, { NanoCpus: 1e9, CpuQuota: 5000 }, 2), /conflicting options/);
  assert.throws(() => planUpdate({ NanoCpus: 1e9 }, { CpuQuota: 5000 }, 2), /--cpus has already been set/);
  assert.throws(() => planUpdate({}, { CpuPeriod: 10 }, 2), /cfs period/);
  assert.throws(() => planUpdate({}, { BlkioWeight: 5 }, 2), /blkio weight is from 10 to 1000/);
  assert.deepEqual(planUpdate({}, { PidsLimit: -1 }, 2).live.pids, { limit: -1 });
  assert.equal(planUpdate({}, { PidsLimit: -1 }, 2).hostConfig.PidsLimit, null);
  assert.throws(() => planUpdate({ AutoRemove: true }, { RestartPolicy: { Name: 'always' } }, 2), /AutoRemove is enabled/);
  assert.deepEqual(planUpdate({}, { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } }, 2).live, {}, 'a restart policy needs no cgroup write');
  assert.deepEqual(updateFromFlags({ memory: '256m', cpus: '1.5', pidsLimit: '-1', restart: 'unless-stopped' }), { Memory: 256 << 20, NanoCpus: 1.5e9, PidsLimit: -1, RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 } });
  assert.throws(() => updateFromFlags({ memory: 'lots' }), /invalid size "lots" for --memory/);
});

test('cp: container paths stay inside the root; trailing / and /. are remembered; CONTAINER:PATH splitting', () => {
  assert.deepEqual(containerPath('/etc/passwd'), { given: '/etc/passwd', rel: 'etc/passwd', base: 'passwd', parent: 'etc', trailingSlash: false, contentsOnly: false });
  assert.equal(containerPath('../../etc/./x/..').rel, 'etc', '.. stops at the root');
  assert.equal(containerPath('/').rel, '');
  assert.deepEqual([containerPath('/d/').trailingSlash, containerPath('/d/').contentsOnly], [true, false]);
  assert.deepEqual([containerPath('/d/.').rel, containerPath('/d/.').contentsOnly], ['d', true]);
  assert.equal(containerPath('relative/x').rel, 'relative/x', 'relative to the container root');
  assert.deepEqual(splitCopyArgument('web:/etc'), { container: 'web', path: '/etc' });
  assert.equal(splitCopyArgument('./a:b'), undefined, 'a ./ path is a host path even with a colon');
  assert.equal(splitCopyArgument('/tmp/a:b'), undefined);
  assert.equal(splitCopyArgument('file'), undefined);
  assert.deepEqual(entryComponents('./a/b/'), ['a', 'b']);
  assert.deepEqual(entryComponents('/abs/x'), ['abs', 'x']);
  assert.throws(() => entryComponents('a/../../x'), /climbs out/);
});

test('cp: where a copy lands (docker\'s table)', () => {
  const file = { isDir: false, base: 'f', contentsOnly: false };
  const dir = { isDir: true, base: 'd', contentsOnly: false };
  const dst = (exists: 'dir' | 'other' | undefined, trailingSlash = false) => ({ exists, trailingSlash, base: 'x', given: 'x' });
  assert.deepEqual(planCopy(file, dst(undefined)), { into: 'parent', name: 'x' });
  assert.deepEqual(planCopy(dir, dst(undefined)), { into: 'parent', name: 'x' });
  assert.throws(() => planCopy(file, dst(undefined, true)), /does not exist/);
  assert.deepEqual(planCopy(file, dst('other')), { into: 'parent', name: 'x' });
  assert.throws(() => planCopy(dir, dst('other')), /cannot copy a directory to a file/);
  assert.throws(() => planCopy(file, dst('other', true)), /is not a directory/);
  assert.deepEqual(planCopy(file, dst('dir')), { into: 'destination', name: 'f' });
  assert.deepEqual(planCopy(dir, dst('dir')), { into: 'destination', name: 'd' });
  assert.deepEqual(planCopy({ ...dir, contentsOnly: true }, dst('dir')), { into: 'destination', name: '' });
  assert.deepEqual(planCopy({ ...dir, base: '' }, dst('dir')), { into: 'destination', name: '' }, 'the root copies as its contents');
});

test('prune filters: until, label, label!=', () => {
  const f = parsePruneFilters(['until=100', 'label=tier', 'label!=env=prod'], (t) => Number(t) * 1000);
  assert.equal(f.until, 100_000);
  const old = new Date(50_000).toISOString();
  assert.ok(matchesPruneFilter({ tier: 'web' }, old, f));
  assert.ok(!matchesPruneFilter({ tier: 'web' }, new Date(200_000).toISOString(), f), 'created after until');
  assert.ok(!matchesPruneFilter({}, old, f), 'label missing');
  assert.ok(!matchesPruneFilter({ tier: 'web', env: 'prod' }, old, f), 'label!= matched');
  assert.ok(matchesPruneFilter({ tier: 'web', env: 'dev' }, old, f));
  assert.throws(() => parsePruneFilters(['dangling=true'], Number), /invalid filter "dangling=true"/);
});

test('diff hides the mount placeholders start creates, port order is natural, ports are normalized', () => {
  const ch = (kind: 'A' | 'C' | 'D', path: string) => ({ kind, path });
  assert.deepEqual(userChanges([ch('C', '/etc'), ch('A', '/etc/hostname'), ch('A', '/etc/hosts'), ch('A', '/etc/resolv.conf')]), []);
  assert.deepEqual(userChanges([ch('C', '/etc'), ch('A', '/etc/hosts'), ch('A', '/etc/motd')]), [ch('C', '/etc'), ch('A', '/etc/motd')]);
  assert.deepEqual(userChanges([ch('C', '/etc'), ch('D', '/etc/hosts')]), [ch('C', '/etc'), ch('D', '/etc/hosts')], 'deleting an image file is a real change');
  assert.deepEqual(['8080/tcp -> 0.0.0.0:1', '443/tcp -> 0.0.0.0:2', '80/tcp -> 0.0.0.0:3', '80/udp -> 0.0.0.0:4'].sort(naturalCompare), ['80/tcp -> 0.0.0.0:3', '80/udp -> 0.0.0.0:4', '443/tcp -> 0.0.0.0:2', '8080/tcp -> 0.0.0.0:1']);
  assert.equal(normalizePrivatePort('80'), '80/tcp');
  assert.equal(normalizePrivatePort('53/udp'), '53/udp');
  for (const bad of ['abc', '0', '70000', '80/icmp', '80/tcp/x']) assert.throws(() => normalizePrivatePort(bad), /invalid port/, bad);
});
