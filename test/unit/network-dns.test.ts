/** The resolver's pure parts: state parsing, the name table, answers, and the container's files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { decide, errorResponse, fitUdp, LOCAL_TTL } from '../../src/network/dns/answer';
import { containerHostsEntries, containerResolvConf, hostsLines, parseResolvConf } from '../../src/network/dns/container-files';
import { frame } from '../../src/network/dns/forward';
import { resolverPaths } from '../../src/network/dns/paths';
import { buildNameTable, canonicalIP, mergeNameTables, expandIPv6, parseResolverState, parseServer, reverseName, type ResolverState } from '../../src/network/dns/records';

function state(over: Partial<ResolverState> = {}): ResolverState {
  return {
    version: 1,
    config: {
      network: 'app',
      listen: ['10.89.0.1', 'fd89::1'],
      port: 53,
      domain: 'dns.berth',
      forward: true,
      upstreams: [],
      hostResolvConf: '/etc/resolv.conf',
      staticNames: [{ names: ['host.docker.internal'], ipv4: ['10.89.0.1'], ipv6: [] }],
    },
    endpoints: {
      a: { names: ['web', 'frontend'], ipv4: ['10.89.0.2'], ipv6: ['fd89::2'] },
      b: { names: ['db', 'shared'], ipv4: ['10.89.0.3'], ipv6: [], upstreams: ['192.0.2.53'] },
      c: { names: ['Cache', 'shared'], ipv4: ['10.89.0.4'], ipv6: [] },
    },
    ...over,
  };
}

const table = buildNameTable(state());

function ask(name: string, type = 'A', opts = { forward: true }, flags = dnsPacket.RECURSION_DESIRED) {
  const d = decide(dnsPacket.encode({ type: 'query', id: 4242, flags, questions: [{ type: type as 'A', name }] }), table, opts);
  if (d.kind !== 'answer') return d.kind;
  const p = dnsPacket.decode(d.response) as dnsPacket.DecodedPacket & { rcode: string; flag_aa: boolean; flag_rd: boolean };
  assert.equal(p.id, 4242);
  assert.equal(p.type, 'response');
  return { rcode: p.rcode, aa: p.flag_aa, rd: p.flag_rd, data: (p.answers ?? []).map((a) => ('data' in a ? a.data : undefined)), ttl: (p.answers?.[0] as { ttl?: number } | undefined)?.ttl };
}

test('names, aliases and the domain answer A and AAAA; shared aliases answer with every address', () => {
  assert.deepEqual(ask('web'), { rcode: 'NOERROR', aa: true, rd: true, data: ['10.89.0.2'], ttl: LOCAL_TTL });
  assert.deepEqual((ask('FrontEnd.dns.berth.') as { data: unknown }).data, ['10.89.0.2']);
  assert.deepEqual((ask('cache') as { data: unknown }).data, ['10.89.0.4'], 'names are case-insensitive');
  assert.deepEqual((ask('web', 'AAAA') as { data: unknown }).data, ['fd89::2']);
  assert.deepEqual((ask('shared') as { data: string[] }).data.sort(), ['10.89.0.3', '10.89.0.4']);
  assert.deepEqual((ask('host.docker.internal') as { data: unknown }).data, ['10.89.0.1']);
  assert.deepEqual(ask('db', 'AAAA'), { rcode: 'NOERROR', aa: true, rd: true, data: [], ttl: undefined }, 'NODATA, never forwarded');
  assert.deepEqual(ask('web', 'MX'), { rcode: 'NOERROR', aa: true, rd: true, data: [], ttl: undefined });
  assert.equal((ask('ghost.dns.berth') as { rcode: string }).rcode, 'NXDOMAIN');
});

test('PTR for the network addresses, v4 and v6; other reverse names are forwarded', () => {
  assert.deepEqual((ask('2.0.89.10.in-addr.arpa', 'PTR') as { data: unknown }).data, ['web.dns.berth']);
  assert.deepEqual((ask(reverseName('fd89::2'), 'PTR') as { data: unknown }).data, ['web.dns.berth']);
  assert.equal(ask('9.9.9.10.in-addr.arpa', 'PTR'), 'forward');
});

test('other names are forwarded, or refused on an internal network', () => {
  assert.equal(ask('example.org'), 'forward');
  assert.equal((ask('example.org', 'A', { forward: false }) as { rcode: string }).rcode, 'REFUSED');
});

test('malformed, non-query and response packets', () => {
  assert.deepEqual(decide(Buffer.alloc(5), table, { forward: true }), { kind: 'drop' });
  const response = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'web' }] });
  assert.deepEqual(decide(response, table, { forward: true }), { kind: 'drop' }, 'answering responses would let two resolvers loop');
  const garbage = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xff]);
  const d = decide(garbage, table, { forward: true });
  assert.equal(d.kind, 'answer');
  assert.equal((d as { response: Buffer }).response.readUInt16BE(0), 0x1234);
  assert.equal((d as { response: Buffer }).response[3]! & 0xf, 1, 'FORMERR');
  const notify = dnsPacket.encode({ type: 'query', id: 7, flags: 4 << 11, questions: [{ type: 'SOA', name: 'x' }] });
  assert.equal(((decide(notify, table, { forward: true }) as { response: Buffer }).response[3]! & 0xf), 4, 'NOTIMP for other opcodes');
  assert.equal(errorResponse(Buffer.from([1, 2, 1, 0]), 2).readUInt16BE(2), 0x8182);
});

test('a UDP answer larger than the client takes is truncated to its header with TC', () => {
  const q = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'big' }] });
  const answers = Array.from({ length: 60 }, (_, i) => ({ type: 'A' as const, name: 'big', ttl: 5, data: `10.0.0.${i}` }));
  const big = dnsPacket.encode({ type: 'response', id: 9, questions: [{ type: 'A', name: 'big' }], answers });
  assert.ok(big.length > 512);
  const fitted = fitUdp(big, q);
  assert.equal(fitted.length, 12);
  assert.equal((dnsPacket.decode(fitted) as unknown as { flag_tc: boolean }).flag_tc, true);
  const edns = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'big' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] });
  assert.equal(fitUdp(big, edns), big, 'EDNS raises the limit');
  assert.deepEqual([...frame(Buffer.from([7, 8, 9]))], [0, 3, 7, 8, 9]);
});

test('a container with its own --dns is forwarded to them', () => {
  assert.deepEqual(table.upstreamsBySource.get('10.89.0.3'), ['192.0.2.53']);
  assert.equal(table.upstreamsBySource.get('10.89.0.2'), undefined);
});

test('addresses: servers with ports, IPv6 expansion, canonical forms', () => {
  assert.deepEqual(parseServer('10.0.0.1'), { address: '10.0.0.1', port: 53, family: 4 });
  assert.deepEqual(parseServer('127.0.0.1:5353'), { address: '127.0.0.1', port: 5353, family: 4 });
  assert.deepEqual(parseServer('[fd00::1]:54'), { address: 'fd00::1', port: 54, family: 6 });
  assert.deepEqual(parseServer('fd00::1'), { address: 'fd00::1', port: 53, family: 6 });
  for (const bad of ['', 'example.org', '10.0.0.1:0', '10.0.0.1:99999', '[x]:53']) assert.equal(parseServer(bad), undefined, bad);
  assert.equal(expandIPv6('fd00::1'), 'fd00:0000:0000:0000:0000:0000:0000:0001');
  assert.equal(expandIPv6('::'), '0000:0000:0000:0000:0000:0000:0000:0000');
  assert.equal(expandIPv6('::ffff:1.2.3.4'), '0000:0000:0000:0000:0000:ffff:0102:0304');
  assert.equal(canonicalIP('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(reverseName('10.1.2.3'), '3.2.1.10.in-addr.arpa');
  assert.match(reverseName('fd00::1'), /^1\.(0\.){29}d\.f\.ip6\.arpa$/);
});

test('the state file: one error naming the file and the field', () => {
  const good = JSON.stringify(state());
  assert.equal(parseResolverState(good, '/r.json').config.network, 'app');
  const bad = (s: unknown, re: RegExp) => assert.throws(() => parseResolverState(JSON.stringify(s), '/r.json'), (e: Error & { code?: string }) => e.code === 'ESTATE' && re.test(e.message) && e.message.includes('/r.json'));
  assert.throws(() => parseResolverState('{', '/r.json'), /not valid JSON/);
  bad({ ...state(), version: 2 }, /version/);
  bad({ ...state(), config: { ...state().config, listen: ['nope'] } }, /config\.listen/);
  bad({ ...state(), config: { ...state().config, port: 0 } }, /port/);
  bad({ ...state(), endpoints: { x: { names: ['bad name'], ipv4: [], ipv6: [] } } }, /endpoints\.x\.names.*"bad name"/);
  bad({ ...state(), endpoints: { x: { names: ['ok'], ipv4: ['fd00::1'], ipv6: [] } } }, /endpoints\.x\.ipv4/);
  bad({ ...state(), endpoints: { x: { names: ['ok'], ipv4: [], ipv6: [], upstreams: ['nope'] } } }, /upstreams/);
  assert.throws(() => resolverPaths('/run/berth', '../etc'), /cannot name a resolver directory/);
});

test('resolv.conf: the resolvers of the networks, the domain searched, --dns kept for forwarding', () => {
  const host = parseResolvConf('# systemd\nnameserver 127.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n');
  const r = containerResolvConf({
    host,
    domain: 'dns.berth',
    networks: [
      { network: 'a', resolver: ['10.89.0.1', 'fd89::1'] },
      { network: 'b', resolver: ['10.90.0.1'] },
    ],
    dns: ['192.0.2.53'],
  });
  assert.equal(r.text, '# Generated by berth\nnameserver 10.89.0.1\nnameserver 10.90.0.1\nnameserver fd89::1\nsearch dns.berth corp.example\noptions edns0 trust-ad\n');
  assert.deepEqual(r.endpointUpstreams, ['192.0.2.53']);
  const many = containerResolvConf({ host, domain: 'd', networks: [1, 2, 3, 4].map((n) => ({ network: `n${n}`, resolver: [`10.${n}.0.1`] })) });
  assert.equal(many.text.split('nameserver').length - 1, 3, 'glibc reads three name servers at most');
});

test('resolv.conf without a resolver (default bridge): loopback dropped, systemd-resolved upstreams used', () => {
  const host = parseResolvConf('nameserver 127.0.0.53\n');
  const plain = containerResolvConf({ host, domain: 'd', networks: [{ network: 'bridge', resolver: [] }] });
  assert.match(plain.text, /no usable name server/);
  const upstream = parseResolvConf('nameserver 10.0.0.2\nnameserver 127.0.0.1\n');
  const sd = containerResolvConf({ host, systemdUpstreams: upstream, domain: 'd', networks: [] });
  assert.equal(sd.text, '# Generated by berth\nnameserver 10.0.0.2\n');
  assert.equal(containerResolvConf({ host, domain: 'd', networks: [], dns: ['10.9.9.9'], dnsSearch: ['.'], dnsOptions: ['ndots:2'] }).text, '# Generated by berth\nnameserver 10.9.9.9\noptions ndots:2\n');
  assert.throws(() => containerResolvConf({ host, domain: 'd', networks: [], dns: ['dns.example'] }), /not an IP address/);
});

test('hosts entries: own names, the host, --add-host with host-gateway', () => {
  const entries = containerHostsEntries({ hostname: 'abc123', names: ['web', 'frontend'], addresses: ['10.89.0.2'], hostGateway: '10.89.0.1', addHosts: ['db:10.0.0.5', 'gw:host-gateway', 'v6:fd00::5'] });
  assert.equal(
    hostsLines(entries),
    '10.89.0.2\tabc123 web frontend\n10.89.0.1\thost.docker.internal host.containers.internal\n10.0.0.5\tdb\n10.89.0.1\tgw\nfd00::5\tv6\n',
  );
  assert.throws(() => containerHostsEntries({ hostname: 'h', names: [], addresses: [], addHosts: ['gw:host-gateway'] }), /host-gateway needs a network/);
  assert.throws(() => containerHostsEntries({ hostname: 'h', names: [], addresses: [], addHosts: ['nocolon'] }), /is not NAME:IP/);
});

test('a container on two networks sees both networks\' names, its own network\'s first', () => {
  const own = buildNameTable(state({ endpoints: { a: { names: ['web'], ipv4: ['10.89.0.2'], ipv6: [], networks: ['beef'] }, s: { names: ['shared'], ipv4: ['10.89.0.9'], ipv6: [] } } }));
  assert.deepEqual(own.networksBySource.get('10.89.0.2'), ['beef']);
  const other = buildNameTable(state({ endpoints: { d: { names: ['db', 'shared'], ipv4: ['10.90.0.3'], ipv6: [] } } }));
  const merged = mergeNameTables(own, [other]);
  assert.deepEqual(merged.forward.get('db')?.ipv4, ['10.90.0.3']);
  assert.deepEqual(merged.forward.get('shared')?.ipv4, ['10.89.0.9'], 'the asking network\'s own name wins');
  assert.equal(own.forward.get('db'), undefined, 'the network\'s own table is unchanged');
  assert.throws(() => parseResolverState(JSON.stringify(state({ endpoints: { a: { names: ['x'], ipv4: [], ipv6: [], networks: ['../etc'] } } })), 'r.json'), /networks must list network ids/);
});
