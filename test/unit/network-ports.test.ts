import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../src/core/errors';
import { parsePublishSpec, specForExposed } from '../../src/network/ports/publish';
import { parseSctpEndpoints, parseSocketTable } from '../../src/network/ports/host-sockets';
import { type PortContext, resolvePublished } from '../../src/network/ports/resolve';
import { inspectPorts, portLines } from '../../src/network/ports/report';

const bad = (value: string, re: RegExp) =>
  assert.throws(() => parsePublishSpec(value), (e: unknown) => e instanceof BerthError && e.code === 'EINVALID_ARGUMENT' && re.test(e.message) && !!e.hint && e.message.includes(value));

test('-p forms: ports, ranges, host IPs (IPv6 in brackets), protocols', () => {
  assert.deepEqual(parsePublishSpec('80'), { hostIp: '', containerPorts: { first: 80, last: 80 }, protocol: 'tcp' });
  assert.deepEqual(parsePublishSpec('8080:80/UDP'), { hostIp: '', hostPorts: { first: 8080, last: 8080 }, containerPorts: { first: 80, last: 80 }, protocol: 'udp' });
  assert.deepEqual(parsePublishSpec('127.0.0.1:8000-8002:80-82/sctp'), { hostIp: '127.0.0.1', hostPorts: { first: 8000, last: 8002 }, containerPorts: { first: 80, last: 82 }, protocol: 'sctp' });
  assert.deepEqual(parsePublishSpec('127.0.0.1::80'), { hostIp: '127.0.0.1', containerPorts: { first: 80, last: 80 }, protocol: 'tcp' });
  assert.deepEqual(parsePublishSpec('[::1]:8080:80'), { hostIp: '::1', hostPorts: { first: 8080, last: 8080 }, containerPorts: { first: 80, last: 80 }, protocol: 'tcp' });
  assert.deepEqual(parsePublishSpec('[::]::80').hostIp, '::');
  assert.deepEqual(parsePublishSpec('8000-8010:80').hostPorts, { first: 8000, last: 8010 });
  bad('80/icmp', /unknown protocol "icmp"/);
  bad('0:80', /host port "0" is out of range/);
  bad('8080:70000', /container port "70000" is out of range/);
  bad('90-80', /ends before it starts/);
  bad('8000-8001:80-82', /differ in size/);
  bad('1.2.3:80:80', /"1.2.3" is not an IPv4 address/);
  bad('::1:8080:80', /too many ":"/);
  bad('[zz]:8080:80', /not an IPv6 address/);
  bad('web', /not a port/);
  assert.deepEqual(specForExposed('53/udp'), { hostIp: '', containerPorts: { first: 53, last: 53 }, protocol: 'udp' });
  assert.throws(() => specForExposed('http'), /invalid exposed port "http"/);
});

test('socket tables: TCP listeners and bound UDP sockets, addresses decoded, v4-mapped folded', () => {
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0',
    '   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0000000000000000 100 0 0 10 0',
    '   2: 0100007F:A000 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0000000000000000 100 0 0 10 0',
  ].join('\n');
  const got = parseSocketTable(tcp, 'tcp', 4);
  assert.deepEqual(got.map((s) => [s.port, s.address.toString(16), s.wildcard, s.inode]), [
    [8080, '7f000001', false, 1111],
    [22, '0', true, 2222],
  ]);
  const tcp6 = [
    'header',
    '   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0',
    '   1: 0000000000000000FFFF00000100007F:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1 0',
    '   2: 00000000000000000000000001000000:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6666 1 0',
  ].join('\n');
  assert.deepEqual(parseSocketTable(tcp6, 'tcp', 6).map((s) => [s.family, s.port, s.address.toString(16), s.wildcard]), [
    [6, 80, '0', true],
    [4, 8081, '7f000001', false],
    [6, 8082, '1', false],
  ]);
  const udp = ['header', '  100: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   0  0 7777 2 0 0'].join('\n');
  assert.deepEqual(parseSocketTable(udp, 'udp', 4).map((s) => [s.protocol, s.port]), [['udp', 5353]]);
  const sctp = [' ENDPT     SOCK   STY SST HBKT LPORT   UID INODE LADDRS', 'ffff8 ffff9 2   10  29   3868      0 8888 0.0.0.0'].join('\n');
  assert.deepEqual(parseSctpEndpoints(sctp).map((s) => [s.protocol, s.port, s.inode]), [['sctp', 3868, 8888]]);
});

function ctx(over: Partial<PortContext> = {}): PortContext {
  return {
    sockets: [],
    published: [],
    ephemeral: { first: 32768, last: 32772 },
    holders: async (inode) => (inode === 1111 ? [{ pid: 42, command: 'nginx' }] : []),
    ...over,
  };
}

const inUse = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: unknown) => e instanceof BerthError && e.code === 'EIN_USE' && re.test(e.message) && !!e.hint);

test('resolving: one to one, ranges, automatic ports skipping held and published ones', async () => {
  const listener = { protocol: 'tcp' as const, family: 4 as const, address: 0x7f000001n, wildcard: false, port: 32768, inode: 1111 };
  const c = ctx({ sockets: [listener], published: [{ containerName: 'web', port: { protocol: 'tcp', hostIp: '', hostPort: 32769, containerPort: 80 } }] });
  assert.deepEqual(await resolvePublished([parsePublishSpec('8000-8001:80-81/udp')], c), [
    { protocol: 'udp', hostIp: '', containerPort: 80, hostPort: 8000 },
    { protocol: 'udp', hostIp: '', containerPort: 81, hostPort: 8001 },
  ]);
  // 32768 is held on 127.0.0.1, 32769 published by web: -p 80 gets 32770, the next -P port 32771.
  assert.deepEqual((await resolvePublished([parsePublishSpec('80'), specForExposed('443/tcp')], c)).map((m) => m.hostPort), [32770, 32771]);
  // On another address, 32768 is free (the listener is on 127.0.0.1 only) but 32769 is not ("" covers all).
  assert.equal((await resolvePublished([parsePublishSpec('10.0.0.5::80')], c))[0]!.hostPort, 32768);
  // A host range for one container port takes its first free port.
  assert.equal((await resolvePublished([parsePublishSpec('32768-32775:80')], c))[0]!.hostPort, 32770);
  await inUse(resolvePublished([parsePublishSpec('32768-32769:80')], c), /no free host port for 80\/tcp in 32768-32769/);
  await inUse(resolvePublished([parsePublishSpec('1-5'), parsePublishSpec('6')], ctx({ ephemeral: { first: 100, last: 104 } })), /no free host port for 6\/tcp in 100-104/);
});

test('a held or already published port is refused naming the holder; duplicates in one request too', async () => {
  const sockets = [
    { protocol: 'tcp' as const, family: 4 as const, address: 0x7f000001n, wildcard: false, port: 8080, inode: 1111 },
    { protocol: 'udp' as const, family: 6 as const, address: 0n, wildcard: true, port: 53, inode: 2222 },
  ];
  const c = ctx({ sockets, published: [{ containerName: 'web', port: { protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 9000, containerPort: 80 } }] });
  await inUse(resolvePublished([parsePublishSpec('8080:80')], c), /host port 8080\/tcp is already in use by process 42 \(nginx\)/);
  await inUse(resolvePublished([parsePublishSpec('127.0.0.1:8080:80')], c), /127.0.0.1:8080\/tcp .* process 42/);
  // A UDP wildcard IPv6 socket also holds IPv4 (dual-stack).
  await inUse(resolvePublished([parsePublishSpec('0.0.0.0:53:53/udp')], c), /53\/udp is already in use by a socket whose process is not visible/);
  await inUse(resolvePublished([parsePublishSpec('9000:80')], c), /host port 9000\/tcp is already published by container web/);
  // Other protocol, or another specific address: free.
  assert.equal((await resolvePublished([parsePublishSpec('8080:80/udp')], c)).length, 1);
  assert.equal((await resolvePublished([parsePublishSpec('10.1.1.1:8080:80')], c)).length, 1);
  assert.equal((await resolvePublished([parsePublishSpec('10.1.1.1:9000:80')], c)).length, 1);
  await assert.rejects(resolvePublished([parsePublishSpec('7000:80'), parsePublishSpec('7000:81')], c), /host port 7000\/tcp is published twice/);
});

test("docker's views of published ports: inspect's Ports and port's lines", () => {
  const maps = [
    { protocol: 'udp' as const, hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53 },
    { protocol: 'tcp' as const, hostIp: '', hostPort: 8080, containerPort: 80 },
  ];
  assert.deepEqual(inspectPorts(maps, ['80/tcp', '53/udp', '443/tcp'], true), {
    '80/tcp': [
      { HostIp: '0.0.0.0', HostPort: '8080' },
      { HostIp: '::', HostPort: '8080' },
    ],
    '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
    '443/tcp': null,
  });
  assert.deepEqual(portLines(maps, true), ['53/udp -> 127.0.0.1:5353', '80/tcp -> 0.0.0.0:8080', '80/tcp -> [::]:8080']);
  assert.deepEqual(portLines(maps, false, '80'), ['0.0.0.0:8080']);
  assert.deepEqual(portLines(maps, false, '53/udp'), ['127.0.0.1:5353']);
  assert.deepEqual(portLines(maps, false, '81'), []);
});
