import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { BerthError } from '../../src/core/errors';
import { parseCidr } from '../../src/network/ipam/cidr';
import { defaultBridgeFor, NetworkStore } from '../../src/network/store';

function fresh(t: { after: (fn: () => void) => void }, occupied: string[] = []): { store: NetworkStore; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'berth-netstore-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return { store: new NetworkStore(root, { occupied: async () => occupied.map((c) => parseCidr(c)) }), root };
}

const failsWith = async (p: Promise<unknown>, code: string, re: RegExp) =>
  assert.rejects(p, (e: unknown) => e instanceof BerthError && e.code === code && re.test(e.message) && !!e.hint);

test('create, list, get (name, id, prefix) and remove', async (t) => {
  const { store, root } = fresh(t, ['172.17.0.0/16']);
  const a = await store.create({ name: 'web', labels: { tier: 'front' }, internal: true });
  assert.equal(a.subnets[0]!.subnet, '172.18.0.0/16');
  assert.equal(a.subnets[0]!.gateway, '172.18.0.1');
  assert.equal(a.bridge, `br-${a.id.slice(0, 12)}`);
  assert.equal(a.internal, true);
  assert.deepEqual(a.labels, { tier: 'front' });
  const b = await store.create({ name: 'db', ipam: [{ subnet: '10.20.0.0/24', gateway: '10.20.0.254', ipRange: '10.20.0.128/25' }], options: { 'com.docker.network.bridge.name': 'br-db' } });
  assert.equal(b.bridge, 'br-db');
  assert.deepEqual(b.subnets, [{ subnet: '10.20.0.0/24', gateway: '10.20.0.254', ipRange: '10.20.0.128/25' }]);
  // The next automatic subnet also avoids Berth's own networks.
  const c = await store.create({ name: 'c', enableIPv6: true });
  assert.equal(c.subnets[0]!.subnet, '172.19.0.0/16');
  assert.match(c.subnets[1]!.subnet, /^fd[0-9a-f]{2}:[0-9a-f:]+\/64$/);
  assert.deepEqual((await store.list()).map((n) => n.name).sort(), ['c', 'db', 'web']);
  assert.equal((await store.get('db')).id, b.id);
  assert.equal((await store.get(b.id)).name, 'db');
  assert.equal((await store.get(b.id.slice(0, 6))).name, 'db');
  await failsWith(store.get('nope'), 'ENOT_FOUND', /network nope not found/);
  assert.equal((await store.remove('web')).id, a.id);
  assert.ok(!existsSync(join(root, 'networks', a.id)));
  await failsWith(store.remove('web'), 'ENOT_FOUND', /network web not found/);
});

test('bad input is refused with one clear error and nothing written', async (t) => {
  const { store, root } = fresh(t);
  await store.create({ name: 'taken', ipam: [{ subnet: '10.30.0.0/16' }] });
  const before = readdirSync(join(root, 'networks')).sort();
  await failsWith(store.create({ name: 'taken' }), 'EEXISTS', /network with name taken already exists/);
  await failsWith(store.create({ name: 'x', ipam: [{ subnet: '10.30.5.0/24' }] }), 'EEXISTS', /subnet 10.30.5.0\/24 overlaps network taken's subnet 10.30.0.0\/16/);
  await failsWith(store.create({ name: 'x', ipam: [{ subnet: '10.31.0.1/16' }] }), 'EINVALID_ARGUMENT', /host bits set/);
  await failsWith(store.create({ name: 'x', ipam: [{ subnet: 'ten/8' }] }), 'EINVALID_ARGUMENT', /invalid --subnet "ten\/8"/);
  await failsWith(store.create({ name: 'x', ipam: [{ subnet: '10.31.0.0/16', gateway: '10.32.0.1' }] }), 'EINVALID_ARGUMENT', /--gateway 10.32.0.1 is not an address inside subnet 10.31.0.0\/16/);
  await failsWith(store.create({ name: 'x', ipam: [{ subnet: '10.31.0.0/16', ipRange: '10.32.0.0/24' }] }), 'EINVALID_ARGUMENT', /--ip-range 10.32.0.0\/24 is not inside subnet/);
  await failsWith(store.create({ name: 'x', ipam: [{ gateway: '10.31.0.1' }] }), 'EINVALID_ARGUMENT', /need a --subnet/);
  await failsWith(store.create({ name: 'x', ipam: [{ subnet: '10.31.0.0/31' }] }), 'EINVALID_ARGUMENT', /too small/);
  await failsWith(store.create({ name: 'x', ipam: [{ subnet: '10.31.0.0/16' }, { subnet: '10.40.0.0/16' }] }), 'EINVALID_ARGUMENT', /more than one IPv4 --subnet/);
  await failsWith(store.create({ name: 'bad name!' }), 'EINVALID_ARGUMENT', /invalid network name/);
  await failsWith(store.create({ name: 'host' }), 'EINVALID_ARGUMENT', /reserved/);
  await failsWith(store.create({ name: 'x', driver: 'overlay' }), 'EUNSUPPORTED', /driver "overlay"/);
  await failsWith(store.create({ name: 'x', options: { 'com.docker.network.bridge.name': 'much-too-long-name' } }), 'EINVALID_ARGUMENT', /bridge.name/);
  assert.deepEqual(readdirSync(join(root, 'networks')).sort(), before);
});

test('the default bridge network is made once, named bridge on a bridge of its root, avoiding host routes', async (t) => {
  const { store } = fresh(t, ['172.17.0.0/16', '172.18.0.0/15']);
  const d = await store.ensureDefault();
  assert.equal(d.name, 'bridge');
  // berth0 belongs to /var/lib/berth; another root's default network has a bridge of its own.
  assert.match(d.bridge, /^berth-[0-9a-f]{8}$/);
  assert.equal(defaultBridgeFor('/var/lib/berth'), 'berth0');
  assert.notEqual(defaultBridgeFor('/tmp/a'), defaultBridgeFor('/tmp/b'));
  assert.equal(d.isDefault, true);
  assert.equal(d.subnets[0]!.subnet, '172.20.0.0/16');
  assert.equal((await store.ensureDefault()).id, d.id);
  await failsWith(store.create({ name: 'bridge' }), 'EINVALID_ARGUMENT', /reserved/);
});

test('connect allocates addresses, static ones are checked, disconnect releases them', async (t) => {
  const { store } = fresh(t);
  await store.create({ name: 'n', ipam: [{ subnet: '10.50.0.0/24' }, { subnet: 'fd00:50::/64' }] });
  const one = await store.connect('n', { containerId: 'c1'.padEnd(64, '0'), containerName: 'one', aliases: ['db'] });
  assert.equal(one.created, true);
  assert.equal(one.endpoint.ipv4, '10.50.0.2');
  assert.equal(one.endpoint.ipv6, 'fd00:50::2');
  assert.equal(one.endpoint.mac, '02:42:0a:32:00:02');
  assert.deepEqual(one.endpoint.aliases, ['db']);
  // Connecting again is idempotent: same endpoint, same address.
  const again = await store.connect('n', { containerId: 'c1'.padEnd(64, '0'), containerName: 'one' });
  assert.equal(again.created, false);
  assert.equal(again.endpoint.endpointId, one.endpoint.endpointId);
  const two = await store.connect('n', { containerId: 'c2'.padEnd(64, '0'), containerName: 'two', ipv4: '10.50.0.77', mac: '02:AA:BB:CC:DD:EE' });
  assert.equal(two.endpoint.ipv4, '10.50.0.77');
  assert.equal(two.endpoint.staticIPv4, true);
  assert.equal(two.endpoint.mac, '02:aa:bb:cc:dd:ee');
  await failsWith(store.connect('n', { containerId: 'c3'.padEnd(64, '0'), containerName: 'three', ipv4: '10.50.0.77' }), 'EEXISTS', /10.50.0.77 is already used on network n by container two/);
  await failsWith(store.connect('n', { containerId: 'c3'.padEnd(64, '0'), containerName: 'three', ipv4: '10.51.0.7' }), 'EINVALID_ARGUMENT', /outside network n's subnet/);
  await failsWith(store.connect('n', { containerId: 'c3'.padEnd(64, '0'), containerName: 'three', mac: 'zz' }), 'EINVALID_ARGUMENT', /--mac-address/);
  await failsWith(store.remove('n'), 'EIN_USE', /network n is used by containers one, two/);
  assert.equal((await store.disconnect('n', 'c1'.padEnd(64, '0')))?.ipv4, '10.50.0.2');
  assert.equal(await store.disconnect('n', 'c1'.padEnd(64, '0')), undefined);
  const three = await store.connect('n', { containerId: 'c3'.padEnd(64, '0'), containerName: 'three' });
  assert.equal(three.endpoint.ipv4, '10.50.0.2', 'a released address is reused');
  await failsWith(store.connect('v4only', { containerId: 'x', containerName: 'x' }), 'ENOT_FOUND', /v4only/);
});

test('published ports are listed across networks; reconcile removes half-made networks', async (t) => {
  const { store, root } = fresh(t);
  await store.create({ name: 'a', ipam: [{ subnet: '10.60.0.0/24' }] });
  await store.connect('a', { containerId: 'c1', containerName: 'web', ports: [{ protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 }] });
  assert.deepEqual(await store.publishedPorts(), [{ network: 'a', containerId: 'c1', containerName: 'web', port: { protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 } }]);
  mkdirSync(join(root, 'networks', `.new-${'e'.repeat(64)}`));
  mkdirSync(join(root, 'networks', `.gone-${'f'.repeat(64)}`));
  assert.deepEqual((await store.reconcile()).sort(), [`.gone-${'f'.repeat(64)}`, `.new-${'e'.repeat(64)}`]);
  assert.deepEqual((await store.list()).map((n) => n.name), ['a']);
});

test('two state roots never pick the same automatic subnet: networks are claimed host-wide', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'berth-claims-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const claimsDir = join(base, 'claims');
  const a = new NetworkStore(join(base, 'a'), { occupied: async () => [], claimsDir });
  const b = new NetworkStore(join(base, 'b'), { occupied: async () => [], claimsDir });
  const [da, db] = await Promise.all([a.ensureDefault(), b.ensureDefault()]);
  assert.notEqual(da.subnets[0]!.subnet, db.subnets[0]!.subnet);
  assert.notEqual(da.bridge, db.bridge);
  // A root deleted without `network rm` leaves a stale claim: ignored, and its subnet free again.
  rmSync(join(base, 'a'), { recursive: true, force: true });
  const c = new NetworkStore(join(base, 'c'), { occupied: async () => [], claimsDir });
  assert.equal((await c.ensureDefault()).subnets[0]!.subnet, da.subnets[0]!.subnet);
  await b.remove(db.id).catch(() => undefined);
});
