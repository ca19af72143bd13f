/**
 * The `network` commands' pure parts: docker's inspect document, the host/none pseudo
 * networks, `network ls` filters, order and rows, the --subnet/--gateway/--ip-range pairing,
 * `ps --filter network=` and the Networks column; and NetworkService over a store in a
 * temporary directory (create/ls/inspect/rm/prune, refusals, events).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { BerthError } from '../../src/core/errors';
import type { ContainerRecord } from '../../src/engine/containers/record';
import { NetworkService } from '../../src/engine/network/service';
import { containerFilter } from '../../src/engine/query/container-filters';
import { goTimeString, networkFilter, networkInspectDocument, networkRow, pseudoNetworkDocuments, pseudoNetworkId, sortNetworks, type NetworkInspect } from '../../src/engine/query/networks';
import { parseCidr } from '../../src/network/ipam/cidr';
import { NetworkStore } from '../../src/network/store';
import type { EndpointRecord, NetworkRecord } from '../../src/network/store-types';
import { containerRow } from '../../src/cli/engine/container-format';
import { ipamFromFlags } from '../../src/cli/engine/commands/network';

const ID = 'a'.repeat(64);

function record(o: Partial<NetworkRecord> = {}): NetworkRecord {
  return {
    version: 1,
    id: ID,
    name: 'web',
    driver: 'bridge',
    created: '2026-12-08T00:11:20.652Z',
    bridge: 'br-aaaaaaaaaaaa',
    internal: false,
    enableIPv6: false,
    subnets: [{ subnet: '10.77.0.0/24', gateway: '10.77.0.254', ipRange: '10.77.0.128/25' }],
    labels: { tier: 'front' },
    options: { 'com.docker.network.bridge.name': 'br-web' },
    isDefault: false,
    ...o,
  };
}

const endpoint: EndpointRecord = {
  containerId: 'c'.repeat(64),
  containerName: 'app',
  endpointId: 'e'.repeat(64),
  aliases: [],
  ipv4: '10.77.0.130',
  ipv6: 'fd00:1::2',
  mac: '02:42:0a:4d:00:82',
  created: '2026-12-08T00:12:00.000Z',
};

test('inspect document: docker NetworkInspect fields, addresses with their prefix', () => {
  const rec = record({ enableIPv6: true, subnets: [...record().subnets, { subnet: 'fd00:1::/64', gateway: 'fd00:1::1' }] });
  const doc = networkInspectDocument(rec, [endpoint]);
  assert.deepEqual(Object.keys(doc), ['Name', 'Id', 'Created', 'Scope', 'Driver', 'EnableIPv4', 'EnableIPv6', 'IPAM', 'Internal', 'Attachable', 'Ingress', 'ConfigFrom', 'ConfigOnly', 'Containers', 'Options', 'Labels']);
  assert.equal(doc.Scope, 'local');
  assert.equal(doc.Driver, 'bridge');
  assert.equal(doc.EnableIPv6, true);
  assert.deepEqual(doc.IPAM, {
    Driver: 'default',
    Options: {},
    Config: [
      { Subnet: '10.77.0.0/24', Gateway: '10.77.0.254', IPRange: '10.77.0.128/25' },
      { Subnet: 'fd00:1::/64', Gateway: 'fd00:1::1' },
    ],
  });
  assert.deepEqual(doc.ConfigFrom, { Network: '' });
  assert.deepEqual(doc.Containers, {
    [endpoint.containerId]: { Name: 'app', EndpointID: endpoint.endpointId, MacAddress: endpoint.mac, IPv4Address: '10.77.0.130/24', IPv6Address: 'fd00:1::2/64' },
  });
  assert.deepEqual(doc.Options, { 'com.docker.network.bridge.name': 'br-web' });
  assert.deepEqual(doc.Labels, { tier: 'front' });
  // A record's maps are copied, not shared with the document.
  Object.assign(networkInspectDocument(rec, []).Labels, { x: 'y' });
  assert.deepEqual(rec.labels, { tier: 'front' });
});

test('inspect document: the default bridge lists docker\'s default-bridge options', () => {
  const doc = networkInspectDocument(record({ name: 'bridge', isDefault: true, bridge: 'berth0', options: {}, labels: {} }), []);
  assert.deepEqual(doc.Options, { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': 'berth0' });
  assert.deepEqual(doc.Containers, {});
});

test('host and none: drivers host and null, ids stable per root and different between roots', () => {
  const [host, none] = pseudoNetworkDocuments('/var/lib/berth', '2026-01-01T00:00:00Z');
  assert.deepEqual([host!.Name, host!.Driver, none!.Name, none!.Driver], ['host', 'host', 'none', 'null']);
  assert.match(host!.Id, /^[0-9a-f]{64}$/);
  assert.equal(host!.Id, pseudoNetworkId('/var/lib/berth', 'host'));
  assert.notEqual(host!.Id, none!.Id);
  assert.notEqual(host!.Id, pseudoNetworkId('/tmp/other', 'host'));
  assert.deepEqual(host!.IPAM, { Driver: 'default', Options: {}, Config: [] });
});

function docs(): NetworkInspect[] {
  const bridge = networkInspectDocument(record({ id: 'b'.repeat(64), name: 'bridge', isDefault: true, labels: {} }), []);
  const web = networkInspectDocument(record(), [endpoint]);
  const n10 = networkInspectDocument(record({ id: '1'.repeat(64), name: 'n10', labels: { tier: 'back', keep: '' } }), []);
  const n2 = networkInspectDocument(record({ id: '2'.repeat(64), name: 'n2', labels: {} }), []);
  return [web, n10, bridge, n2, ...pseudoNetworkDocuments('/r', '2026-01-01T00:00:00Z')];
}
const names = (filters: Record<string, string[]>) => sortNetworks(docs().filter(networkFilter(filters))).map((d) => d.Name);

test('ls order: by name with numbers compared as numbers (docker sorts naturally)', () => {
  assert.deepEqual(names({}), ['bridge', 'host', 'n2', 'n10', 'none', 'web']);
});

test('ls filters: docker semantics per key, alternatives within a key', () => {
  assert.deepEqual(names({ driver: ['bridge'] }), ['bridge', 'n2', 'n10', 'web']);
  assert.deepEqual(names({ driver: ['host', 'null'] }), ['host', 'none']);
  assert.deepEqual(names({ type: ['custom'] }), ['n2', 'n10', 'web']);
  assert.deepEqual(names({ type: ['builtin'] }), ['bridge', 'host', 'none']);
  assert.deepEqual(names({ type: ['builtin', 'custom'] }).length, 6);
  // name and id: the exact value or a regular expression found in it (docker's filters.Match).
  assert.deepEqual(names({ name: ['^n[0-9]'] }), ['n2', 'n10']);
  assert.deepEqual(names({ name: ['web', 'bridge'] }), ['bridge', 'web']);
  assert.deepEqual(names({ name: ['('] }), [], 'an invalid expression matches nothing');
  assert.deepEqual(names({ id: ['2222'] }), ['n2']);
  assert.deepEqual(names({ label: ['tier'] }), ['n10', 'web']);
  assert.deepEqual(names({ label: ['tier=back'] }), ['n10']);
  assert.deepEqual(names({ label: ['tier', 'keep'] }), ['n10'], 'every label must hold');
  assert.deepEqual(names({ scope: ['local'] }).length, 6);
  assert.deepEqual(names({ scope: ['swarm'] }), []);
  assert.deepEqual(names({ dangling: ['true'] }), ['n2', 'n10'], 'user networks no container is on');
  assert.deepEqual(names({ dangling: ['false'] }), ['bridge', 'host', 'none', 'web']);
  assert.deepEqual(names({ driver: ['bridge'], dangling: ['1'] }), ['n2', 'n10']);
});

test('ls filters: an unknown key or value is one error naming it', () => {
  const refuses = (filters: Record<string, string[]>, re: RegExp) =>
    assert.throws(() => networkFilter(filters), (e: unknown) => e instanceof BerthError && e.code === 'EINVALID_ARGUMENT' && re.test(e.message) && !!e.hint);
  refuses({ colour: ['red'] }, /invalid filter "colour"/);
  refuses({ type: ['mine'] }, /invalid filter "type=mine"/);
  refuses({ dangling: ['maybe'] }, /invalid filter "dangling=maybe"/);
});

test('ls rows: docker fields in JSON key order, ids cut to 12, Go time strings', () => {
  const web = networkInspectDocument(record({ internal: true, labels: { z: '1', a: '2' } }), []);
  const row = networkRow(web, { noTrunc: false });
  assert.deepEqual(row, {
    CreatedAt: '2026-12-08 00:11:20.652 +0000 UTC',
    Driver: 'bridge',
    ID: ID.slice(0, 12),
    IPv4: 'true',
    IPv6: 'false',
    Internal: 'true',
    Labels: 'a=2,z=1',
    Name: 'web',
    Scope: 'local',
  });
  assert.deepEqual(Object.keys(row), [...Object.keys(row)].sort(), 'keys in the order Go marshals a map');
  assert.equal(networkRow(web, { noTrunc: true }).ID, ID);
  assert.equal(goTimeString('2026-01-02T03:04:05Z'), '2026-01-02 03:04:05 +0000 UTC');
  assert.equal(goTimeString('2026-01-02T03:04:05.120Z'), '2026-01-02 03:04:05.12 +0000 UTC');
});

test('--subnet/--gateway/--ip-range: each gateway and range goes to the subnet holding it', () => {
  assert.deepEqual(ipamFromFlags(['10.1.0.0/16', 'fd00:2::/64'], ['fd00:2::1', '10.1.0.1'], ['10.1.4.0/24']), [
    { subnet: '10.1.0.0/16', gateway: '10.1.0.1', ipRange: '10.1.4.0/24' },
    { subnet: 'fd00:2::/64', gateway: 'fd00:2::1' },
  ]);
  assert.deepEqual(ipamFromFlags([], [], []), []);
  const refuses = (args: [string[], string[], string[]], re: RegExp) =>
    assert.throws(() => ipamFromFlags(...args), (e: unknown) => e instanceof BerthError && re.test(e.message) && !!e.hint);
  refuses([[], ['10.1.0.1'], []], /every --ip-range or --gateway must have a corresponding --subnet/);
  refuses([['10.1.0.0/16'], ['10.2.0.1'], []], /no matching subnet for --gateway 10.2.0.1/);
  refuses([['10.1.0.0/16'], [], ['10.2.0.0/24']], /no matching subnet for --ip-range 10.2.0.0\/24/);
  refuses([['10.1.0.0/16', '10.2.0.0/16'], ['10.1.0.1', '10.1.0.2'], []], /cannot configure multiple gateways \(10.1.0.2, 10.1.0.1\) for the same subnet \(10.1.0.0\/16\)/);
  refuses([['10.1.0.0/16', '10.1.2.0/24'], [], []], /--subnet 10.1.2.0\/24 overlaps --subnet 10.1.0.0\/16/);
  refuses([['10.1.0.1/16'], [], []], /invalid --subnet "10.1.0.1\/16": it has host bits set/);
  refuses([['10.1.0.0/16'], ['nonsense'], []], /invalid --gateway "nonsense"/);
});

/** A container record with just what ps's filter and row read. */
function container(id: string, networks: Record<string, string>): ContainerRecord {
  return {
    Id: id,
    Name: `/${id}`,
    Created: '2026-01-01T00:00:00Z',
    Image: 'sha256:x',
    Path: 'sh',
    Args: [],
    Config: { Labels: {}, Image: 'busybox' },
    HostConfig: { NetworkMode: 'default' },
    State: { Status: 'running', Running: true, ExitCode: 0, StartedAt: '2026-01-01T00:00:00Z' },
    Mounts: [],
    NetworkSettings: { SandboxKey: '', Ports: {}, IPAddress: '', Gateway: '', MacAddress: '', Networks: Object.fromEntries(Object.entries(networks).map(([name, netId]) => [name, { NetworkID: netId }])) },
    Berth: {},
  } as unknown as ContainerRecord;
}

test('ps --filter network=: a network name of the container or a prefix of its id; alternatives', () => {
  const all = [container('one', { web: 'a'.repeat(64) }), container('two', { db: 'd'.repeat(64), web: 'a'.repeat(64) }), container('three', { bridge: 'b'.repeat(64) }), container('four', {})];
  const pick = (values: string[]) => all.filter(containerFilter({ network: values }, all)).map((r) => r.Id);
  assert.deepEqual(pick(['web']), ['one', 'two']);
  assert.deepEqual(pick(['ddd']), ['two']);
  assert.deepEqual(pick(['b'.repeat(64)]), ['three']);
  assert.deepEqual(pick(['db', 'bridge']), ['two', 'three']);
  assert.deepEqual(pick(['nope']), []);
  assert.deepEqual(all.filter(containerFilter({ network: ['web'], id: ['t'] }, all)).map((r) => r.Id), ['two'], 'and with the other keys');
});

test('ps Networks column: the names of the container\'s networks, comma-joined', () => {
  assert.equal(containerRow(container('x', { web: 'a', db: 'd' }), { noTrunc: false }).Networks, 'db,web');
  assert.equal(containerRow(container('x', {}), { noTrunc: false }).Networks, '');
});

function service(t: { after: (fn: () => void) => void }): { svc: NetworkService; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'berth-netcmd-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const store = new NetworkStore(root, { occupied: async () => [parseCidr('172.17.0.0/16')] });
  const unwired = async () => {
    throw new BerthError('EUNSUPPORTED', 'not wired in this test');
  };
  return { svc: new NetworkService({ store, connect: unwired, disconnect: unwired }), root };
}

const failsWith = async (p: Promise<unknown>, code: string, re: RegExp) =>
  assert.rejects(p, (e: unknown) => e instanceof BerthError && e.code === code && re.test(e.message) && !!e.hint);

test('service: create, list with bridge/host/none, inspect by name, id and prefix, rm, events', async (t) => {
  const { svc, root } = service(t);
  const web = await svc.create({ name: 'web', labels: { a: 'b' }, attachable: true, ipamDriver: 'default' });
  assert.deepEqual((await svc.list()).map((d) => d.Name), ['bridge', 'host', 'none', 'web']);
  assert.equal((await svc.inspect('web')).Id, web.id);
  assert.equal((await svc.inspect(web.id.slice(0, 8))).Name, 'web');
  assert.equal((await svc.inspect('host')).Driver, 'host');
  assert.equal((await svc.inspect(pseudoNetworkId(root, 'none'))).Name, 'none');
  assert.equal((await svc.inspect('bridge')).Options['com.docker.network.bridge.default_bridge'], 'true');
  assert.deepEqual((await svc.list({ type: ['custom'] })).map((d) => d.Name), ['web']);
  await failsWith(svc.inspect('ghost'), 'ENOT_FOUND', /network ghost not found/);
  assert.equal((await svc.remove('web')).id, web.id);
  await failsWith(svc.remove('web'), 'ENOT_FOUND', /network web not found/);
  const events = readFileSync(join(root, 'events.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> } });
  assert.deepEqual(events.map((e) => [e.Type, e.Action, e.Actor.ID, e.Actor.Attributes]), [
    ['network', 'create', web.id, { name: 'web', type: 'bridge' }],
    ['network', 'destroy', web.id, { name: 'web', type: 'bridge' }],
  ]);
});

test('service: refusals name what is wrong and change nothing', async (t) => {
  const { svc } = service(t);
  for (const name of ['bridge', 'host', 'none']) await failsWith(svc.create({ name }), 'EINVALID_ARGUMENT', new RegExp(`predefined ${name} network`));
  await failsWith(svc.create({ name: 'x', driver: 'overlay' }), 'EUNSUPPORTED', /network driver "overlay" is not supported: overlay networks span a swarm/);
  await failsWith(svc.create({ name: 'x', driver: 'macvlan' }), 'EUNSUPPORTED', /"macvlan" is not supported/);
  await failsWith(svc.create({ name: 'x', ipamDriver: 'dhcp' }), 'EUNSUPPORTED', /IPAM driver "dhcp" is not supported/);
  // An interface of the host is never adopted as a network's bridge (lo always exists).
  await failsWith(svc.create({ name: 'x', options: { 'com.docker.network.bridge.name': 'lo' } }), 'EEXISTS', /a network interface lo already exists on this host/);
  await svc.create({ name: 'web', ipam: [{ subnet: '10.9.0.0/16' }] });
  await failsWith(svc.create({ name: 'web' }), 'EEXISTS', /network with name web already exists/);
  await failsWith(svc.create({ name: 'x', ipam: [{ subnet: '10.9.3.0/24' }] }), 'EEXISTS', /--subnet 10.9.3.0\/24 overlaps network web's subnet 10.9.0.0\/16/);
  await failsWith(svc.create({ name: 'x', ipam: [{ subnet: '10.10.0.0/31' }] }), 'EINVALID_ARGUMENT', /--subnet 10.10.0.0\/31 is too small/);
  await failsWith(svc.create({ name: 'x', ipam: [{ subnet: '10.10.0.0/33' }] }), 'EINVALID_ARGUMENT', /invalid --subnet "10.10.0.0\/33"/);
  for (const name of ['bridge', 'host', 'none']) await failsWith(svc.remove(name), 'EINVALID_ARGUMENT', new RegExp(`^${name} is a pre-defined network and cannot be removed`));
  assert.deepEqual((await svc.list()).map((d) => d.Name), ['bridge', 'host', 'none', 'web']);
});

test('service: prune removes unused user networks matching the filter, never bridge/host/none or one in use', async (t) => {
  const { svc } = service(t);
  await svc.create({ name: 'keep', labels: { keep: 'yes' } });
  await svc.create({ name: 'used' });
  await svc.create({ name: 'idle' });
  await svc.store.connect('used', { containerId: 'c'.repeat(64), containerName: 'app' });
  assert.deepEqual(await svc.prune({ labels: [{ key: 'keep', negate: true }] }), ['idle']);
  assert.deepEqual(await svc.prune({ until: Date.parse('2000-01-01T00:00:00Z') }), [], 'until: only networks created before');
  assert.deepEqual((await svc.list()).map((d) => d.Name), ['bridge', 'host', 'keep', 'none', 'used']);
  assert.deepEqual(await svc.prune(), ['keep']);
  assert.equal(Object.keys((await svc.inspect('used')).Containers).length, 1);
  await failsWith(svc.remove('used'), 'EIN_USE', /network used is used by container app/);
  await svc.store.disconnect('used', 'c'.repeat(64));
  assert.deepEqual(await svc.prune(), ['used']);
  assert.deepEqual((await svc.list()).map((d) => d.Name), ['bridge', 'host', 'none']);
});
