import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../src/core/errors';
import { formatAddress, formatCidr, overlaps, parseAddress, parseCidr } from '../../src/network/ipam/cidr';
import { allocateNext, checkStatic } from '../../src/network/ipam/allocate';
import { findSubnetStrings, parseIpv4Routes, parseIpv6Routes } from '../../src/network/ipam/host-prefixes';
import { defaultIpv4Pools, pickIpv4Subnet, pickIpv6Subnet } from '../../src/network/ipam/pools';

const fails = (fn: () => unknown, code: string, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof BerthError && e.code === code && re.test(e.message) && !!e.hint);

test('addresses round-trip in both families (RFC 5952 output)', () => {
  for (const [text, want] of [
    ['10.1.2.3', '10.1.2.3'],
    ['fd00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8::', '2001:db8::'],
    ['::', '::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ]) {
    const a = parseAddress(text!)!;
    assert.equal(formatAddress(a.family, a.value), want, text);
  }
  assert.equal(parseAddress('10.1.2'), undefined);
  assert.equal(parseAddress('fe80::1%eth0'), undefined);
});

test('CIDR parsing refuses host bits, bad prefixes and garbage, naming the fix', () => {
  assert.equal(formatCidr(parseCidr('172.20.0.0/16')), '172.20.0.0/16');
  assert.equal(formatCidr(parseCidr('fd00:1::/64')), 'fd00:1::/64');
  fails(() => parseCidr('172.20.0.1/16', '--subnet'), 'EINVALID_ARGUMENT', /--subnet "172.20.0.1\/16": it has host bits set \(the network is 172.20.0.0\/16\)/);
  fails(() => parseCidr('10.0.0.0/33'), 'EINVALID_ARGUMENT', /prefix \/33 is longer than 32 bits/);
  fails(() => parseCidr('10.0.0.0'), 'EINVALID_ARGUMENT', /CIDR notation/);
  fails(() => parseCidr('nonsense/8'), 'EINVALID_ARGUMENT', /CIDR notation/);
  assert.ok(overlaps(parseCidr('10.0.0.0/8'), parseCidr('10.9.0.0/16')));
  assert.ok(!overlaps(parseCidr('10.0.0.0/16'), parseCidr('10.1.0.0/16')));
  assert.ok(!overlaps(parseCidr('10.0.0.0/8'), parseCidr('::/0')));
});

test('dynamic allocation: lowest free, skipping network, gateway and broadcast; ip-range honoured', () => {
  const pool = { subnet: parseCidr('10.5.0.0/29'), gateway: parseAddress('10.5.0.1')!.value };
  const taken = new Set<bigint>();
  const got: string[] = [];
  for (let i = 0; i < 5; i++) {
    const a = allocateNext(pool, taken, 'n');
    taken.add(a);
    got.push(formatAddress(4, a));
  }
  assert.deepEqual(got, ['10.5.0.2', '10.5.0.3', '10.5.0.4', '10.5.0.5', '10.5.0.6']);
  fails(() => allocateNext(pool, taken, 'n'), 'EEXISTS', /network n has no free IPv4 address left in 10.5.0.0\/29/);
  // A released address is handed out again.
  taken.delete(parseAddress('10.5.0.3')!.value);
  assert.equal(formatAddress(4, allocateNext(pool, taken, 'n')), '10.5.0.3');
  const ranged = { ...pool, subnet: parseCidr('10.6.0.0/16'), gateway: parseAddress('10.6.0.1')!.value, range: parseCidr('10.6.5.0/24') };
  assert.equal(formatAddress(4, allocateNext(ranged, new Set(), 'n')), '10.6.5.0');
  const v6 = { subnet: parseCidr('fd00:1::/64'), gateway: parseAddress('fd00:1::1')!.value };
  assert.equal(formatAddress(6, allocateNext(v6, new Set(), 'n')), 'fd00:1::2');
});

test('static --ip: inside the subnet, not network/gateway/broadcast, not taken', () => {
  const pool = { subnet: parseCidr('10.5.0.0/24'), gateway: parseAddress('10.5.0.1')!.value, range: parseCidr('10.5.0.128/25') };
  const taken = new Map([[parseAddress('10.5.0.7')!.value, 'web']]);
  // Outside the ip-range but inside the subnet is fine (docker's rule).
  assert.equal(formatAddress(4, checkStatic(pool, '10.5.0.9', taken, 'n')), '10.5.0.9');
  fails(() => checkStatic(pool, '10.6.0.9', taken, 'n'), 'EINVALID_ARGUMENT', /--ip 10.6.0.9 is outside network n's subnet 10.5.0.0\/24/);
  fails(() => checkStatic(pool, '10.5.0.1', taken, 'n'), 'EINVALID_ARGUMENT', /gateway/);
  fails(() => checkStatic(pool, '10.5.0.0', taken, 'n'), 'EINVALID_ARGUMENT', /network address/);
  fails(() => checkStatic(pool, '10.5.0.255', taken, 'n'), 'EINVALID_ARGUMENT', /broadcast address/);
  fails(() => checkStatic(pool, '10.5.0.7', taken, 'n'), 'EEXISTS', /already used on network n by container web/);
  fails(() => checkStatic(pool, 'fd00::1', taken, 'n'), 'EINVALID_ARGUMENT', /not an IPv4 address|outside/);
});

test('host routes are read from /proc/net/route (little-endian hex) and /proc/net/ipv6_route', () => {
  const route = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    'tun0\t00000000\t0100080A\t0003\t0\t0\t0\t00000080\t0\t0\t0',
    'tun0\t00000080\t0100080A\t0003\t0\t0\t0\t00000080\t0\t0\t0',
  ].join('\n');
  assert.deepEqual(parseIpv4Routes(route).map(formatCidr), ['192.0.2.0/24', '172.17.0.0/16']);
  const v6 = [
    'fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0',
    '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000001 00000000 00000003     eth0',
    'fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0',
    'fd000000000000000000000000000005 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001     eth0',
  ].join('\n');
  assert.deepEqual(parseIpv6Routes(v6).map(formatCidr), ['fd00::/64']);
});

test("other engines' subnets are found in podman, netavark and dockerd files", () => {
  const cni = '{"ipam":{"ranges":[[{"subnet": "10.88.0.0/16","gateway":"10.88.0.1"}]]}}';
  const netavark = '{"name":"podman1","subnets":[{"subnet":"10.89.0.0/24","gateway":"10.89.0.1"}]}';
  const bolt = '\u0000\u0002junk{"Pool":"172.18.0.0/16","SubPool":"172.18.5.0/24"}\u0000{"Subnet":"fd00:dead::/64"}';
  assert.deepEqual([cni, netavark, bolt].flatMap(findSubnetStrings).map(formatCidr), ['10.88.0.0/16', '10.89.0.0/24', '172.18.0.0/16', '172.18.5.0/24', 'fd00:dead::/64']);
});

test('automatic subnets follow docker pools and skip every occupied prefix', () => {
  const pools = defaultIpv4Pools();
  assert.equal(pools.length, 31);
  assert.equal(formatCidr(pools[0]!), '172.17.0.0/16');
  assert.equal(formatCidr(pools[14]!), '172.31.0.0/16');
  assert.equal(formatCidr(pools[15]!), '192.168.0.0/20');
  assert.equal(formatCidr(pickIpv4Subnet([])), '172.17.0.0/16');
  // docker0 and a /12 route that covers 172.16-31 push the choice into 192.168/16.
  assert.equal(formatCidr(pickIpv4Subnet([parseCidr('172.17.0.0/16')])), '172.18.0.0/16');
  assert.equal(formatCidr(pickIpv4Subnet([parseCidr('172.16.0.0/12'), parseCidr('192.168.0.0/24')])), '192.168.16.0/20');
  fails(() => pickIpv4Subnet([parseCidr('0.0.0.0/1'), parseCidr('128.0.0.0/1')]), 'EEXISTS', /no free subnet left/);
  // Docker's 31 pools taken: /24s of Berth's overflow range, skipping the taken ones.
  assert.equal(formatCidr(pickIpv4Subnet([parseCidr('172.16.0.0/12'), parseCidr('192.168.0.0/16')])), '10.200.0.0/24');
  assert.equal(formatCidr(pickIpv4Subnet([parseCidr('172.16.0.0/12'), parseCidr('192.168.0.0/16'), parseCidr('10.200.0.0/23')])), '10.200.2.0/24');
  let n = 0;
  const v6 = pickIpv6Subnet([parseCidr('fd01:0203:0405:0607::/64')], () => Buffer.from(n++ === 0 ? [1, 2, 3, 4, 5, 6, 7] : [9, 9, 9, 9, 9, 9, 9]));
  assert.equal(formatCidr(v6), 'fd09:909:909:909::/64');
});
