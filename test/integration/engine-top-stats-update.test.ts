/**
 * top, stats, update and port through `berth`, on real containers: docker's columns and
 * formats, live cgroup values after update, stopped containers only recording, and the
 * failure paths (not running, unknown container, refused values, no public port).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importBusybox, until, engineSkip, cliPerTest } from '../helpers/cli';

const skip = engineSkip();
const cli = cliPerTest();


const cgroupFile = (ctl: string, id: string, file: string) => readFileSync(join('/sys/fs/cgroup', ctl, 'berth', id, file), 'utf8').trim();

test('top: docker\'s default ps columns for the container\'s processes only, ps options, errors', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  // "; true": the shell stays (busybox sh execs a last simple command).
  const id = b.ok(['run', '-d', '--name', 'topper', img, 'sh', '-c', 'sleep 1001 & sleep 1002; true']).trim();
  assert.ok(await until(() => b.ok(['top', 'topper']).trimEnd().split('\n').length === 4), 'the shell started both sleeps');
  const lines = b.ok(['top', 'topper']).trimEnd().split('\n');
  assert.match(lines[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
  assert.equal(lines.length, 4, 'sh and two sleeps, nothing of the host');
  assert.ok(lines.some((l) => /\ssleep 1001$/.test(l)));
  assert.ok(lines.some((l) => /\ssh -c sleep 1001 & sleep 1002; true$/.test(l)), 'the command keeps its spaces');
  assert.match(lines[1]!, /^root {16}\d+/, 'columns are at least 20 wide, as docker aligns them');
  const custom = b.ok(['top', 'topper', '-o', 'pid,comm']).trimEnd().split('\n');
  assert.match(custom[0]!, /^PID\s+COMMAND$/);
  assert.deepEqual(custom.slice(1).map((l) => l.split(/\s+/)[1]).sort(), ['sh', 'sleep', 'sleep']);
  const pids = custom.slice(1).map((l) => Number(l.split(/\s+/)[0]));
  assert.ok(pids.includes(Number(b.ok(['inspect', '-f', '{{.State.Pid}}', 'topper']))));
  const noPid = b.run(['top', 'topper', '-o', 'comm']);
  assert.equal(noPid.code, 1);
  assert.match(noPid.stderr, /no PID column/);
  const badPs = b.run(['top', 'topper', '--no-such-ps-option']);
  assert.equal(badPs.code, 1);
  assert.match(badPs.stderr, /Error: ps --no-such-ps-option failed/);
  b.ok(['stop', '-t', '0', 'topper']);
  const stopped = b.run(['top', 'topper']);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, new RegExp(`^Error: container ${id} is not running$`, 'm'));
  assert.equal(b.run(['top', 'ghost']).code, 1);
  b.ok(['rm', 'topper']);
  b.containerIds();
  assert.deepEqual(b.leaks(), []);
});

test('stats --no-stream: docker\'s table, memory against the limit, pids, formats, -a, errors', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const id = b.ok(['run', '-d', '--name', 'busy', '-m', '64m', img, 'sh', '-c', 'sleep 1000 & while :; do :; done']).trim();
  b.ok(['create', '--name', 'idle', img]);
  assert.ok(await until(() => b.ok(['top', 'busy']).trimEnd().split('\n').length === 3), 'sh started its sleep');
  const table = b.ok(['stats', '--no-stream']).trimEnd().split('\n');
  assert.match(table[0]!, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
  assert.equal(table.length, 2, 'running containers only');
  assert.match(table[1]!, new RegExp(`^${id.slice(0, 12)}\\s+busy\\s+\\d+\\.\\d\\d%\\s+[\\d.]+[KMG]?i?B / 64MiB\\s+\\d+\\.\\d\\d%\\s+[\\d.]+[kMG]?B / [\\d.]+[kMG]?B\\s+[\\d.]+[kMG]?B / [\\d.]+[kMG]?B\\s+2$`), 'sh and sleep');
  const cpu = Number(/\s(\d+\.\d\d)%/.exec(table[1]!)![1]);
  assert.ok(cpu > 0, `a busy loop uses CPU (${cpu}%)`);
  const json = JSON.parse(b.ok(['stats', '--no-stream', '--format', 'json', 'busy'])) as Record<string, string>;
  assert.deepEqual(Object.keys(json).sort(), ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs']);
  assert.equal(json.Container, 'busy', '.Container is the name as given');
  assert.equal(b.ok(['stats', '--no-stream', '--no-trunc', '--format', '{{.ID}} {{.Name}} {{.PIDs}}', id.slice(0, 8)]).trim(), `${id} busy 2`);
  const all = b.ok(['stats', '-a', '--no-stream', '--format', 'table {{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.PIDs}}']).trimEnd().split('\n');
  assert.equal(all.length, 3);
  assert.match(all.find((l) => l.startsWith('idle'))!, /^idle\s+0\.00%\s+0B \/ 0B\s+0$/, 'a stopped container shows zeros');
  const ghost = b.run(['stats', '--no-stream', 'ghost']);
  assert.equal(ghost.code, 1);
  assert.match(ghost.stderr, /No such container: ghost/);
  const badFormat = b.run(['stats', '--no-stream', '--format', '{{.Nope}}', 'busy']);
  assert.equal(badFormat.code, 1);
  assert.match(badFormat.stderr, /can't evaluate field Nope/);
  b.ok(['rm', '-f', 'busy', 'idle']);
  b.containerIds();
  assert.deepEqual(b.leaks(), []);
});

test('stats streams: the table is redrawn in place until interrupted', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'live', img, 'sleep', '1000']);
  const { spawn } = await import('node:child_process');
  const child = spawn(join(__dirname, '..', '..', '..', 'bin', 'berth'), ['--root', b.root, '--runroot', b.runRoot, 'stats', 'live'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const frames = () => out.split('\x1b[2J\x1b[H').filter(Boolean);
  for (let i = 0; i < 400 && frames().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 0, 'an interrupt ends stats cleanly');
  assert.ok(frames().length >= 2, 'at least two frames');
  for (const f of frames()) assert.match(f, /^CONTAINER ID\s+NAME.*\n[0-9a-f]{12}\s+live\s/);
});

test('update: live cgroup limits and the record, stopped containers record only, refusals', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const id = b.ok(['run', '-d', '--name', 'upd', '-m', '64m', img, 'sleep', '1000']).trim();
  assert.equal(b.ok(['update', '--memory', '100m', '--cpus', '0.5', '--pids-limit', '50', '--cpu-shares', '512', 'upd']), 'upd\n');
  assert.equal(cgroupFile('memory', id, 'memory.limit_in_bytes'), String(100 * 2 ** 20));
  assert.equal(cgroupFile('memory', id, 'memory.memsw.limit_in_bytes'), String(128 * 2 ** 20), 'swap stays what -m 64m implied');
  assert.equal(cgroupFile('cpu', id, 'cpu.cfs_quota_us'), '50000');
  assert.equal(cgroupFile('cpu', id, 'cpu.cfs_period_us'), '100000');
  assert.equal(cgroupFile('cpu', id, 'cpu.shares'), '512');
  assert.equal(cgroupFile('pids', id, 'pids.max'), '50');
  assert.equal(b.ok(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}}', 'upd']).trim(), `${100 * 2 ** 20} ${128 * 2 ** 20} 500000000 50 512`);
  assert.match(b.ok(['stats', '--no-stream', '--format', '{{.MemUsage}}', 'upd']), / \/ 100MiB$/m);
  b.ok(['update', '--memory', '200m', '--memory-swap', '-1', '--pids-limit', '-1', 'upd']);
  assert.equal(cgroupFile('memory', id, 'memory.limit_in_bytes'), String(200 * 2 ** 20));
  assert.equal(cgroupFile('pids', id, 'pids.max'), 'max');
  const tooBig = b.run(['update', '--memory', '1m', 'upd']);
  assert.equal(tooBig.code, 1);
  assert.match(tooBig.stderr, /minimum memory limit allowed is 6MB/);
  const conflict = b.run(['update', '--cpu-quota', '20000', 'upd']);
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /--cpus has already been set/);
  const none = b.run(['update', 'upd']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /you must provide one or more flags/);
  const mixed = b.run(['update', '--restart', 'on-failure:3', 'upd', 'ghost']);
  assert.equal(mixed.code, 1, 'one unknown container fails the command');
  assert.equal(mixed.stdout, 'upd\n', 'the others are updated');
  assert.match(mixed.stderr, /No such container: ghost/);
  assert.equal(b.ok(['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'upd']).trim(), 'on-failure:3');

  b.ok(['create', '--name', 'later', '--rm', img, 'sleep', '1000']);
  const rmRestart = b.run(['update', '--restart', 'always', 'later']);
  assert.equal(rmRestart.code, 1);
  assert.match(rmRestart.stderr, /AutoRemove is enabled/);
  b.ok(['update', '--memory', '48m', '--memory-swap', '96m', 'later']);
  assert.equal(b.ok(['inspect', '-f', '{{.State.Status}} {{.HostConfig.Memory}}', 'later']).trim(), `created ${48 * 2 ** 20}`, 'a stopped container only records');
  const laterId = b.ok(['inspect', '-f', '{{.Id}}', 'later']).trim();
  b.ok(['start', 'later']);
  assert.equal(cgroupFile('memory', laterId, 'memory.limit_in_bytes'), String(48 * 2 ** 20), 'the recorded limit applies at start');
  assert.equal(cgroupFile('memory', laterId, 'memory.memsw.limit_in_bytes'), String(96 * 2 ** 20));
  b.ok(['rm', '-f', 'upd', 'later']);
  b.containerIds();
  assert.deepEqual(b.leaks(), []);
});

test('port: recorded published ports in docker\'s format, one private port, errors', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const id = b.ok(['create', '--name', 'web', '-p', '8080:80', img]).trim();
  assert.equal(b.ok(['port', 'web']), '', 'nothing is published until networking records it');
  const none = b.run(['port', 'web', '80']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^Error: No public port '80\/tcp' published for web$/m);
  // What the networking layer records when the container runs (not part of this engine yet).
  const file = join(b.root, 'containers', id, 'container.json');
  const rec = JSON.parse(readFileSync(file, 'utf8')) as { NetworkSettings: { Ports: Record<string, unknown> } };
  rec.NetworkSettings.Ports = {
    '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '9090' }],
    '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }],
    '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
    '443/tcp': null,
  };
  writeFileSync(file, JSON.stringify(rec));
  assert.equal(b.ok(['port', 'web']), '53/udp -> 127.0.0.1:5353\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n8080/tcp -> 0.0.0.0:9090\n');
  assert.equal(b.ok(['port', 'web', '80']), '0.0.0.0:8080\n[::]:8080\n');
  assert.equal(b.ok(['port', 'web', '53/udp']), '127.0.0.1:5353\n');
  assert.equal(b.run(['port', 'web', '443']).code, 1, 'exposed but not published');
  const bad = b.run(['port', 'web', 'http']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid port "http"/);
  assert.equal(b.run(['port', 'ghost']).code, 1);
});
