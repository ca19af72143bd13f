/**
 * A bridge network built with rtnetlink only, entirely inside namespaces the test makes: a
 * "host" namespace with the bridge, two "container" namespaces each joined to it by a veth
 * pair whose peer is created in the container as eth0. Traffic flows (IPv4, IPv6, TCP), the
 * kernel reports what was asked for, errors name what failed, and removal leaves nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Rtnetlink, AF_INET, AF_INET6, type Link } from '../../../src/network/netlink';
import { NUD_PERMANENT } from '../../../src/network/netlink/constants';
import { removeNetns } from '../../../src/network/netns';
import { BerthError } from '../../../src/core/errors';
import { hostLinkNames, inNetns, netnsScratch, serveInNetns, skipReason, waitFor } from './helpers';

const skip = skipReason(['nsenter', 'busybox']);

const SUBNET4 = '10.123.0';
const SUBNET6 = 'fd00:123::';
const MTU = 1450;

interface Container {
  ns: string;
  nl: Rtnetlink;
  hostEnd: Link;
  eth0: Link;
  ip4: string;
  ip6: string;
  mac: string;
}

test('bridge + veth pairs into two namespaces: addresses, routes, traffic, then nothing left', { skip }, async (t) => {
  const { ns } = netnsScratch(t, 'bridge');
  const hostNs = await ns('host');
  const host = await Rtnetlink.open(hostNs);
  const opened: Rtnetlink[] = [host];
  t.after(async () => {
    for (const nl of opened) await nl.close().catch(() => undefined);
  });

  // The network: a bridge with the gateway addresses.
  const br = await host.createBridge('br-test0', { mtu: MTU, mac: '02:42:0a:7b:00:01' });
  await host.addAddress(br.index, `${SUBNET4}.1/24`);
  await host.addAddress(br.index, `${SUBNET6}1/64`, { nodad: true });
  await host.setLink(br.index, { up: true });

  // Two containers.
  const containers: Container[] = [];
  for (const n of [2, 3]) {
    const cns = await ns(`c${n}`);
    const mac = `02:42:0a:7b:00:0${n}`;
    const hostEnd = await host.createVeth(`vtest${n}`, { peerName: 'eth0', peerNetns: cns, mtu: MTU, peerMac: mac });
    await host.setLink(hostEnd.index, { master: br.index, up: true });
    const nl = await Rtnetlink.open(cns);
    opened.push(nl);
    const eth0 = await nl.requireLink('eth0');
    const ip4 = `${SUBNET4}.${n}`;
    const ip6 = `${SUBNET6}${n}`;
    await nl.addAddress(eth0.index, `${ip4}/24`);
    await nl.addAddress(eth0.index, `${ip6}/64`, { nodad: true });
    await nl.setLink(eth0.index, { up: true });
    await nl.addRoute({ gateway: `${SUBNET4}.1` });
    await nl.addRoute({ gateway: `${SUBNET6}1` });
    containers.push({ ns: cns, nl, hostEnd, eth0, ip4, ip6, mac });
  }
  const [c2, c3] = containers as [Container, Container];

  // What the kernel reports.
  const hostLinks = await host.listLinks();
  for (const c of containers) {
    const h = hostLinks.find((l) => l.index === c.hostEnd.index)!;
    assert.equal(h.master, br.index, `${h.name} is attached to the bridge`);
    assert.equal(h.kind, 'veth');
    assert.equal(h.mtu, MTU);
    const e = await c.nl.requireLink('eth0');
    assert.equal(e.mac, c.mac);
    assert.equal(e.mtu, MTU);
    assert.ok(e.up);
    assert.equal(e.kind, 'veth');
    assert.equal(await host.getLink('eth0'), undefined, 'no eth0 ever appears on the host side');
    const routes = await c.nl.listRoutes(AF_INET);
    assert.ok(routes.some((r) => r.dst === undefined && r.gateway === `${SUBNET4}.1` && r.oif === e.index), JSON.stringify(routes));
    const routes6 = await c.nl.listRoutes(AF_INET6);
    assert.ok(routes6.some((r) => r.dst === undefined && r.gateway === `${SUBNET6}1`), JSON.stringify(routes6));
    const addrs = await c.nl.listAddresses({ index: e.index });
    assert.ok(addrs.some((a) => a.address === c.ip4 && a.prefixLen === 24 && a.family === AF_INET));
    assert.ok(addrs.some((a) => a.address === c.ip6 && a.prefixLen === 64 && a.family === AF_INET6));
  }
  assert.equal((await host.requireLink(br.index)).mac, '02:42:0a:7b:00:01');

  // Traffic: container to container across the bridge, to the gateway, both families.
  const ping = async (from: Container, to: string, six = false): Promise<void> => {
    const r = await inNetns(from.ns, ['busybox', six ? 'ping6' : 'ping', '-c', '1', '-W', '3', to]);
    assert.equal(r.code, 0, `ping ${to} from ${from.ip4}: ${r.stdout}${r.stderr}`);
  };
  // Bridge ports go through listening/learning only with STP on; with it off they forward at once.
  await ping(c2, c3.ip4);
  await ping(c3, `${SUBNET4}.1`);
  await ping(c2, c3.ip6, true);
  await ping(c3, `${SUBNET6}1`, true);

  // TCP: busybox httpd in c3, wget from c2.
  const www = mkdtempSync(join(tmpdir(), 'berth-netlink-www-'));
  t.after(() => rmSync(www, { recursive: true, force: true }));
  writeFileSync(join(www, 'index.html'), 'hello through the bridge\n');
  serveInNetns(t, c3.ns, ['busybox', 'httpd', '-f', '-p', `${c3.ip4}:8080`, '-h', www]);
  let body = '';
  await waitFor('httpd in c3', async () => {
    // No -q and no -T: Debian's busybox 1.35 wget segfaults with either; inNetns' own timeout
    // bounds the attempt instead.
    const r = await inNetns(c2.ns, ['busybox', 'wget', '-O', '-', `http://${c3.ip4}:8080/`], 3000);
    body = r.stdout;
    return r.code === 0;
  });
  assert.equal(body, 'hello through the bridge\n');

  // A permanent neighbour entry, then gone.
  await c2.nl.setNeighbour(c2.eth0.index, c3.ip4, c3.mac);
  const neigh = (await c2.nl.listNeighbours(AF_INET)).find((x) => x.address === c3.ip4);
  assert.equal(neigh?.mac, c3.mac);
  assert.equal(neigh?.state, NUD_PERMANENT);
  await c2.nl.deleteNeighbour(c2.eth0.index, c3.ip4);
  assert.ok(!(await c2.nl.listNeighbours(AF_INET)).some((x) => x.address === c3.ip4 && x.state === NUD_PERMANENT));

  // Changes: route and address removal, MTU, down/up, rename (needs the link down; taking
  // it down also drops its IPv4 routes, so the route goes first).
  await c2.nl.deleteRoute({ gateway: `${SUBNET4}.1` });
  await assert.rejects(c2.nl.deleteRoute({ gateway: `${SUBNET4}.1` }), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND');
  assert.ok(!(await c2.nl.listRoutes(AF_INET)).some((r) => r.dst === undefined));
  await c2.nl.deleteAddress(c2.eth0.index, `${c2.ip4}/24`);
  assert.ok(!(await c2.nl.listAddresses({ index: c2.eth0.index })).some((a) => a.address === c2.ip4));
  await c2.nl.setLink(c2.eth0.index, { mtu: 1400 });
  assert.equal((await c2.nl.requireLink(c2.eth0.index)).mtu, 1400);
  await c2.nl.setLink(c2.eth0.index, { up: false });
  assert.equal((await c2.nl.requireLink(c2.eth0.index)).up, false);
  await c2.nl.setLink(c2.eth0.index, { name: 'eth9' });
  assert.equal((await c2.nl.requireLink(c2.eth0.index)).name, 'eth9');
  await c2.nl.setLink(c2.eth0.index, { name: 'eth0', up: true });

  // Errors name the operation and the interface or address.
  await assert.rejects(c3.nl.addAddress(c3.eth0.index, `${c3.ip4}/24`), (e: unknown) => e instanceof BerthError && e.code === 'EEXISTS' && e.message.includes(`${c3.ip4}/24`) && /EEXIST/.test(e.message));
  await assert.rejects(host.createVeth('vtest2', { peerName: 'eth0' }), (e: unknown) => e instanceof BerthError && e.code === 'EEXISTS' && e.message.includes('vtest2'));
  await assert.rejects(host.deleteLink('nosuch0'), (e: unknown) => e instanceof BerthError && e.code === 'ENOT_FOUND' && e.message.includes('nosuch0'));
  await assert.rejects(c3.nl.addRoute({ dst: '10.200.0.0/16', gateway: '10.99.0.1' }), (e: unknown) => e instanceof BerthError && /ENETUNREACH/.test(e.message) && e.message.includes('10.99.0.1'));
  await assert.rejects(host.setLink(br.index, { master: br.index }), (e: unknown) => e instanceof BerthError && e.message.includes(`#${br.index}`));

  // Removal: deleting the host end takes eth0 with it; then the bridge; then the namespaces.
  for (const c of containers) {
    assert.equal(await host.deleteLinkIfExists(c.hostEnd.index), true);
    assert.deepEqual((await c.nl.listLinks()).map((l) => l.name), ['lo'], 'eth0 went with its peer');
  }
  assert.equal(await host.deleteLinkIfExists(c2.hostEnd.index), false, 'idempotent');
  await host.deleteLink(br.index);
  assert.deepEqual((await host.listLinks()).map((l) => l.name), ['lo']);
  for (const nl of opened) await nl.close();
  for (const c of containers) await removeNetns(c.ns);
  await removeNetns(hostNs);
  // Only the test's own names: another test file's containers add and remove veths meanwhile.
  const mine = ['br-test0', 'vtest2', 'vtest3'];
  assert.deepEqual((await hostLinkNames()).filter((n) => mine.includes(n)), [], 'nothing of the test in the host namespace');
});
