import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseCpus, parseDuration, parseEnvEntry, parseExtraHost, parseRestartPolicy, parseUlimit, readEnvFile, parseLabel } from '../../src/engine/parse/values';
import { parseDeviceFlag, parseMountFlag, parseTmpfsFlag, parseVolumeFlag } from '../../src/engine/parse/mounts';
import { parseExpose, parsePublish } from '../../src/engine/parse/ports';
import { BerthError } from '../../src/core/errors';

const rejects = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof BerthError && e.code === 'EINVALID_ARGUMENT' && re.test(e.message) && !!e.hint);

test('durations in Go syntax', () => {
  assert.equal(parseDuration('--health-interval', '30s'), 30_000);
  assert.equal(parseDuration('--health-interval', '1m30s'), 90_000);
  assert.equal(parseDuration('--health-interval', '250ms'), 250);
  assert.equal(parseDuration('--health-interval', '1.5h'), 5_400_000);
  assert.equal(parseDuration('--health-interval', '0'), 0);
  rejects(() => parseDuration('--health-interval', '30'), /invalid value "30" for --health-interval/);
  rejects(() => parseDuration('--health-interval', '5x'), /--health-interval/);
});

test('restart policies', () => {
  assert.deepEqual(parseRestartPolicy('always'), { Name: 'always', MaximumRetryCount: 0 });
  assert.deepEqual(parseRestartPolicy('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(parseRestartPolicy('unless-stopped'), { Name: 'unless-stopped', MaximumRetryCount: 0 });
  rejects(() => parseRestartPolicy('sometimes'), /--restart/);
  rejects(() => parseRestartPolicy('always:2'), /--restart/);
  rejects(() => parseRestartPolicy('on-failure:x'), /--restart/);
});

test('ulimits, extra hosts, cpus, labels', () => {
  assert.deepEqual(parseUlimit('nofile=1024:2048'), { Name: 'nofile', Soft: 1024, Hard: 2048 });
  assert.deepEqual(parseUlimit('nproc=64'), { Name: 'nproc', Soft: 64, Hard: 64 });
  rejects(() => parseUlimit('files=1'), /--ulimit/);
  rejects(() => parseUlimit('nofile=10:5'), /soft limit 10 is above the hard limit 5/);
  assert.equal(parseExtraHost('db:10.0.0.2'), 'db:10.0.0.2');
  assert.equal(parseExtraHost('db=10.0.0.2'), 'db:10.0.0.2');
  assert.equal(parseExtraHost('v6:[::1]'), 'v6:::1');
  assert.equal(parseExtraHost('gw:host-gateway'), 'gw:host-gateway');
  rejects(() => parseExtraHost('nohost'), /--add-host/);
  assert.equal(parseCpus('1.5'), 1_500_000_000);
  rejects(() => parseCpus('-1'), /--cpus/);
  rejects(() => parseCpus('abc'), /--cpus/);
  assert.deepEqual(parseLabel('a=b=c'), ['a', 'b=c']);
  assert.deepEqual(parseLabel('flag'), ['flag', '']);
});

test('env entries and env files', (t) => {
  assert.equal(parseEnvEntry('A=1'), 'A=1');
  assert.equal(parseEnvEntry('HOMEY', { HOMEY: 'x' }), 'HOMEY=x');
  assert.equal(parseEnvEntry('UNSET_VAR', {}), undefined);
  rejects(() => parseEnvEntry('=x'), /--env/);
  const d = mkdtempSync(join(tmpdir(), 'berth-envfile-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  writeFileSync(join(d, 'env'), '# comment\nA=1\n\n  B=two words\r\nFROM_HOST\nMISSING\n');
  assert.deepEqual(readEnvFile(join(d, 'env'), { FROM_HOST: 'h' }), ['A=1', 'B=two words', 'FROM_HOST=h']);
  writeFileSync(join(d, 'bad'), 'BAD KEY=1\n');
  rejects(() => readEnvFile(join(d, 'bad')), /bad:1: variable name "BAD KEY" contains whitespace/);
  rejects(() => readEnvFile(join(d, 'nope')), /no such file/);
});

test('-v: binds, named and anonymous volumes, options', () => {
  assert.deepEqual(parseVolumeFlag('/data:/srv:ro'), { Type: 'bind', Source: '/data', Target: '/srv', ReadOnly: true });
  assert.deepEqual(parseVolumeFlag('./d:/srv', '/home/u'), { Type: 'bind', Source: '/home/u/d', Target: '/srv' });
  assert.deepEqual(parseVolumeFlag('vol1:/var/lib/x:nocopy'), { Type: 'volume', Source: 'vol1', Target: '/var/lib/x', VolumeOptions: { NoCopy: true } });
  assert.deepEqual(parseVolumeFlag('/cache'), { Type: 'volume', Target: '/cache' });
  assert.deepEqual(parseVolumeFlag('/a:/b:rshared,Z'), { Type: 'bind', Source: '/a', Target: '/b', BindOptions: { Propagation: 'rshared' } });
  rejects(() => parseVolumeFlag('/a:b'), /container path "b" is not absolute/);
  rejects(() => parseVolumeFlag('/a:/'), /over the container's \//);
  rejects(() => parseVolumeFlag('/a:/b:bogus'), /unknown option "bogus"/);
  rejects(() => parseVolumeFlag('v@l:/b'), /not a valid volume name/);
  rejects(() => parseVolumeFlag('a:b:c:d'), /at most/);
});

test('--mount: bind, volume, tmpfs, errors', () => {
  assert.deepEqual(parseMountFlag('type=bind,source=/a,target=/b,readonly'), { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true });
  assert.deepEqual(parseMountFlag('type=volume,src=v1,dst=/d,volume-nocopy'), { Type: 'volume', Source: 'v1', Target: '/d', VolumeOptions: { NoCopy: true } });
  assert.deepEqual(parseMountFlag('type=tmpfs,target=/run,tmpfs-size=64m,tmpfs-mode=1777'), { Type: 'tmpfs', Target: '/run', TmpfsOptions: { SizeBytes: 64 << 20, Mode: 0o1777 } });
  assert.deepEqual(parseMountFlag('target=/anon'), { Type: 'volume', Target: '/anon' });
  rejects(() => parseMountFlag('type=nfs,target=/x'), /unsupported type "nfs"/);
  rejects(() => parseMountFlag('type=bind,target=/x'), /needs source/);
  rejects(() => parseMountFlag('type=bind,source=/a'), /target is required/);
  rejects(() => parseMountFlag('type=bind,source=/a,target=/b,colour=red'), /unknown key "colour"/);
  rejects(() => parseMountFlag('type=bind,source=/a,target=/b,readonly=maybe'), /readonly must be true or false/);
});

test('--tmpfs and --device', () => {
  assert.deepEqual(parseTmpfsFlag('/run:rw,size=64m,mode=1777'), ['/run', 'rw,size=64m,mode=1777']);
  assert.deepEqual(parseTmpfsFlag('/tmp'), ['/tmp', '']);
  rejects(() => parseTmpfsFlag('/run:size=lots'), /size "lots"/);
  rejects(() => parseTmpfsFlag('/run:wat'), /unknown option "wat"/);
  assert.deepEqual(parseDeviceFlag('/dev/fuse'), { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' });
  assert.deepEqual(parseDeviceFlag('/dev/sda:/dev/xvda:r'), { PathOnHost: '/dev/sda', PathInContainer: '/dev/xvda', CgroupPermissions: 'r' });
  assert.deepEqual(parseDeviceFlag('/dev/sda:rw'), { PathOnHost: '/dev/sda', PathInContainer: '/dev/sda', CgroupPermissions: 'rw' });
  rejects(() => parseDeviceFlag('sda'), /must be absolute/);
});

test('-p and --expose', () => {
  assert.deepEqual(parsePublish('8080:80'), { exposed: ['80/tcp'], bindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } });
  assert.deepEqual(parsePublish('127.0.0.1:8080:80/udp'), { exposed: ['80/udp'], bindings: { '80/udp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } });
  assert.deepEqual(parsePublish('80'), { exposed: ['80/tcp'], bindings: { '80/tcp': [{ HostIp: '', HostPort: '' }] } });
  assert.deepEqual(parsePublish('[::1]:53:53/udp').bindings, { '53/udp': [{ HostIp: '::1', HostPort: '53' }] });
  assert.deepEqual(parsePublish('8000-8001:80-81').bindings, { '80/tcp': [{ HostIp: '', HostPort: '8000' }], '81/tcp': [{ HostIp: '', HostPort: '8001' }] });
  assert.deepEqual(parsePublish('127.0.0.1::80').bindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
  rejects(() => parsePublish('abc'), /invalid -p "abc": container port "abc"/);
  rejects(() => parsePublish('1:2:3:4'), /too many ":" \(an IPv6 host address goes in brackets/);
  rejects(() => parsePublish('300.1.1.1:80:80'), /"300.1.1.1" is not an IPv4 address/);
  rejects(() => parsePublish('70000:80'), /out of range/);
  rejects(() => parsePublish('80/icmp'), /unknown protocol/);
  rejects(() => parsePublish('8000-8002:80-81'), /differ in size/);
  assert.deepEqual(parsePublish('8000-8010:80').bindings, { '80/tcp': [{ HostIp: '', HostPort: '8000-8010' }] }, 'a host range for one port: docker records the range');
  assert.deepEqual(parsePublish('[::]::80/sctp'), { exposed: ['80/sctp'], bindings: { '80/sctp': [{ HostIp: '::', HostPort: '' }] } });
  assert.deepEqual(parseExpose('8000-8001/udp'), ['8000/udp', '8001/udp']);
  assert.deepEqual(parseExpose('80'), ['80/tcp']);
  rejects(() => parseExpose('http'), /invalid exposed port "http"/);
});
