// Berth's nftables rules applied for real, inside namespaces the test creates (never the host's):
//
//   X "another host" 192.0.2.2 --vx-- H "the host" 192.0.2.1 (route_localnet, ip_forward)
//                                        br-t 10.123.0.1/24 --+-- C1 10.123.0.2 (publishes 8080->80, udp 5353->53, 127.0.0.1:9090->80)
//                                                             +-- C2 10.123.0.3
//                                        br-i 10.124.0.1/24 ----- C3 10.124.0.2 (internal network)
//
// It proves DNAT from another host, from the host's 127.0.0.1, hairpin (to itself and from a
// neighbour), outbound masquerade, that unpublished ports and internal networks stay closed,
// and that the table is gone after the last container is detached.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { NftFirewall } from '../../../src/network/nft/firewall';
import type { FirewallNetwork } from '../../../src/network/nft/ruleset';
import { missingTools } from '../../helpers/host';
import { TestNetns, veth } from './netns';

const skip = process.getuid?.() !== 0 ? 'needs root' : missingTools([['nft', 'nftables'], ['ip', 'iproute2'], ['nsenter', 'util-linux'], ['unshare', 'util-linux']]);

const net: FirewallNetwork = { id: 'n'.repeat(64), bridge: 'br-t', internal: false, subnets: ['10.123.0.0/24'] };
const dualNet: FirewallNetwork = { ...net, subnets: ['10.123.0.0/24', 'fd00:123::/64'] };
const internalNet: FirewallNetwork = { id: 'i'.repeat(64), bridge: 'br-i', internal: true, subnets: ['10.124.0.0/24'] };

/** iptables inside the test's "host" namespace (never the real host's). */
function iptablesIn(ns: TestNetns) {
  return {
    v4: { iptables: [...ns.enter(), 'iptables'], restore: [...ns.enter(), 'iptables-restore'] },
    v6: { iptables: [...ns.enter(), 'ip6tables'], restore: [...ns.enter(), 'ip6tables-restore'] },
  };
}

let H: TestNetns, X: TestNetns, C1: TestNetns, C2: TestNetns, C3: TestNetns;
let fw: NftFirewall;
let stateDir: string;
const all: TestNetns[] = [];

before(async () => {
  if (skip) return;
  stateDir = mkdtempSync(join(tmpdir(), 'berth-fw-'));
  for (const name of ['H', 'X', 'C1', 'C2', 'C3']) all.push(await TestNetns.create(name));
  [H, X, C1, C2, C3] = all as [TestNetns, TestNetns, TestNetns, TestNetns, TestNetns];
  H.sh('sysctl -qw net.ipv4.ip_forward=1');
  veth(H, 'vx', X);
  H.sh('ip addr add 192.0.2.1/24 dev vx');
  // X knows the way to the containers' subnet (a router would): so only the firewall keeps it out.
  X.sh('ip addr add 192.0.2.2/24 dev eth0 && ip route add 10.123.0.0/24 via 192.0.2.1');
  for (const [br, gw] of [['br-t', '10.123.0.1/24'], ['br-i', '10.124.0.1/24']] as const) {
    H.sh(`ip link add ${br} type bridge && ip addr add ${gw} dev ${br} && ip link set ${br} up && sysctl -qw net.ipv4.conf.${br}.route_localnet=1`);
  }
  for (const [ns, port, br, addr, gw] of [
    [C1, 'vc1', 'br-t', '10.123.0.2/24', '10.123.0.1'],
    [C2, 'vc2', 'br-t', '10.123.0.3/24', '10.123.0.1'],
    [C3, 'vc3', 'br-i', '10.124.0.2/24', '10.124.0.1'],
  ] as const) {
    veth(H, port, ns);
    H.sh(`ip link set ${port} master ${br} && ip link set ${port} type bridge_slave hairpin on`);
    ns.sh(`ip addr add ${addr} dev eth0 && ip route add default via ${gw}`);
  }
  // IPv6 beside IPv4 (nodad: usable at once): fd00:2::/64 outside, fd00:123::/64 on br-t.
  H.sh('sysctl -qw net.ipv6.conf.all.forwarding=1 && ip -6 addr add fd00:2::1/64 dev vx nodad && ip -6 addr add fd00:123::1/64 dev br-t nodad');
  X.sh('ip -6 addr add fd00:2::2/64 dev eth0 nodad && ip -6 route add fd00:123::/64 via fd00:2::1');
  C1.sh('ip -6 addr add fd00:123::2/64 dev eth0 nodad && ip -6 route add default via fd00:123::1');
  await C1.serve('c1', [80, 53]);
  await X.serve('x', [7000]);
  fw = new NftFirewall({ stateDir, nft: [...H.enter(), 'nft'], dockerUser: iptablesIn(H) });
});

after(() => {
  for (const ns of all) ns.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

test('published ports, masquerade, hairpin and isolation work in the kernel; teardown is complete', { skip }, async (t) => {
  await fw.attach({
    containerId: 'c1',
    containerName: 'c1',
    networks: [net],
    published: {
      ipv4: '10.123.0.2',
      ports: [
        { protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 },
        { protocol: 'udp', hostIp: '', hostPort: 5353, containerPort: 53 },
        { protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 9090, containerPort: 80 },
      ],
    },
  });
  await fw.attach({ containerId: 'c2', containerName: 'c2', networks: [net] });
  await fw.attach({ containerId: 'c3', containerName: 'c3', networks: [internalNet] });

  await t.test('from another host, TCP and UDP, source address kept', () => {
    assert.deepEqual(X.probe(['tcp', '192.0.2.1', '8080']), { ok: true, out: 'c1 192.0.2.2' });
    assert.deepEqual(X.probe(['udp', '192.0.2.1', '5353']), { ok: true, out: 'c1 192.0.2.2' });
  });
  await t.test('from the host on 127.0.0.1 (route_localnet + masquerade) and on its own address', () => {
    assert.deepEqual(H.probe(['tcp', '127.0.0.1', '8080']), { ok: true, out: 'c1 10.123.0.1' });
    assert.deepEqual(H.probe(['tcp', '127.0.0.1', '9090']), { ok: true, out: 'c1 10.123.0.1' });
    assert.equal(H.probe(['tcp', '192.0.2.1', '8080']).out.split(' ')[0], 'c1');
  });
  await t.test('a port published on 127.0.0.1 only is not reachable from another host', () => {
    assert.equal(X.probe(['tcp', '192.0.2.1', '9090']).ok, false);
  });
  await t.test('hairpin: a neighbour and the container itself through the host address', () => {
    assert.deepEqual(C2.probe(['tcp', '192.0.2.1', '8080']), { ok: true, out: 'c1 10.123.0.1' });
    assert.deepEqual(C1.probe(['tcp', '192.0.2.1', '8080']), { ok: true, out: 'c1 10.123.0.1' });
    assert.deepEqual(C2.probe(['tcp', '10.123.0.1', '8080']), { ok: true, out: 'c1 10.123.0.1' });
  });
  await t.test('outbound connections are masqueraded behind the host', () => {
    assert.deepEqual(C1.probe(['tcp', '192.0.2.2', '7000']), { ok: true, out: 'x 192.0.2.1' });
  });
  await t.test('unpublished container ports are closed to other hosts', () => {
    assert.equal(X.probe(['tcp', '10.123.0.2', '80']).ok, false);
  });
  await t.test('an internal network has no way out and networks are isolated from each other', () => {
    assert.equal(C3.probe(['tcp', '192.0.2.2', '7000']).ok, false);
    assert.equal(C3.probe(['tcp', '10.123.0.2', '80']).ok, false);
    assert.equal(C1.probe(['tcp', '10.124.0.2', '80']).ok, false);
  });
  await t.test('a second container cannot publish the same host port', async () => {
    await assert.rejects(
      fw.attach({ containerId: 'c2b', containerName: 'c2b', networks: [net], published: { ipv4: '10.123.0.3', ports: [{ protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80 }] } }),
      /host port 127.0.0.1:8080\/tcp is already published by container c1/,
    );
  });
  await t.test('detaching removes exactly what each container needed; the last takes the table', async () => {
    assert.equal(await fw.detach('c1'), true);
    assert.equal(X.probe(['tcp', '192.0.2.1', '8080']).ok, false, 'the DNAT went with c1');
    const listed = H.sh('nft list table inet berth');
    assert.match(listed, /"br-t"/, 'c2 still uses br-t');
    assert.doesNotMatch(listed, /10\.123\.0\.2/);
    assert.deepEqual((await fw.attached()).sort(), ['c2', 'c3']);
    assert.equal(await fw.detach('c3'), true);
    assert.doesNotMatch(H.sh('nft list table inet berth'), /"br-i"/);
    assert.equal(await fw.detach('c2'), true);
    assert.equal(await fw.detach('c2'), false);
    assert.equal(H.sh('nft list tables').trim(), '', 'no table left behind');
  });
});

test('reconcile after a crash removes the rules of dead containers and the table', { skip }, async () => {
  await fw.attach({ containerId: 'dead', containerName: 'dead', networks: [net], published: { ipv4: '10.123.0.2', ports: [{ protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 }] } });
  // A crash after the state write but with the rules half gone: reconcile still finishes the job.
  H.sh('nft delete element inet berth dnat4any { tcp . 8080 : 10.123.0.2 . 80 }');
  assert.deepEqual(await fw.reconcile(() => false), ['dead']);
  assert.equal(H.sh('nft list tables').trim(), '');
});

test("dockerd's iptables FORWARD policy DROP: Berth's bridges pass through DOCKER-USER, and only while in use", { skip }, async (t) => {
  // What dockerd does on start (iptables backend), done inside the test's host namespace.
  H.sh('iptables -w -P FORWARD DROP && iptables -w -N DOCKER-USER && iptables -w -A DOCKER-USER -j RETURN && iptables -w -I FORWARD -j DOCKER-USER');
  t.after(() => H.sh('iptables -w -P FORWARD ACCEPT; iptables -w -F FORWARD; iptables -w -F DOCKER-USER; iptables -w -X DOCKER-USER; true'));
  const published = { ipv4: '10.123.0.2', ports: [{ protocol: 'tcp' as const, hostIp: '', hostPort: 8080, containerPort: 80 }] };
  const c1 = { containerId: 'c1', containerName: 'c1', networks: [net], published };

  // Without the DOCKER-USER rule, the nft accept cannot save the packet: the control case.
  const blindDir = mkdtempSync(join(tmpdir(), 'berth-fw-'));
  t.after(() => rmSync(blindDir, { recursive: true, force: true }));
  const blind = new NftFirewall({ stateDir: blindDir, nft: [...H.enter(), 'nft'], dockerUser: false });
  await blind.attach(c1);
  assert.equal(X.probe(['tcp', '192.0.2.1', '8080']).ok, false, 'DROP policy blocks the DNATed flow');
  await blind.detach('c1');

  await fw.attach(c1);
  assert.deepEqual(X.probe(['tcp', '192.0.2.1', '8080']), { ok: true, out: 'c1 192.0.2.2' });
  assert.deepEqual(C1.probe(['tcp', '192.0.2.2', '7000']), { ok: true, out: 'x 192.0.2.1' });
  assert.match(H.sh('iptables -w -S DOCKER-USER'), /^-A DOCKER-USER -j BERTH-FORWARD$/m);
  assert.match(H.sh('iptables -w -S BERTH-FORWARD'), /-A BERTH-FORWARD -i br-t -j ACCEPT\n-A BERTH-FORWARD -o br-t -j ACCEPT/);
  // Attaching again does not add a second jump.
  await fw.attach({ ...c1, containerId: 'c2', containerName: 'c2', published: undefined });
  assert.equal(H.sh('iptables -w -S DOCKER-USER').match(/BERTH-FORWARD/g)?.length, 1);
  // Berth's own drops still hold: unpublished ports stay closed although iptables accepts the bridge.
  assert.equal(X.probe(['tcp', '10.123.0.2', '80']).ok, false);
  await fw.detach('c2');
  await fw.detach('c1');
  assert.doesNotMatch(H.sh('iptables -w -S'), /BERTH-FORWARD/);
  assert.equal(H.sh('nft list tables'), 'table ip filter\n', "only dockerd's (iptables-nft) table is left");
});

test('IPv6: published ports DNAT from another host and outbound traffic is masqueraded', { skip }, async () => {
  await fw.attach({ containerId: 'v6', containerName: 'v6', networks: [dualNet], published: { ipv4: '10.123.0.2', ipv6: 'fd00:123::2', ports: [{ protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 }, { protocol: 'udp', hostIp: '', hostPort: 5353, containerPort: 53 }] } });
  try {
    assert.deepEqual(X.probe(['tcp', 'fd00:2::1', '8080']), { ok: true, out: 'c1 fd00:2::2' });
    assert.deepEqual(X.probe(['udp', 'fd00:2::1', '5353']), { ok: true, out: 'c1 fd00:2::2' });
    assert.deepEqual(X.probe(['tcp', '192.0.2.1', '8080']), { ok: true, out: 'c1 192.0.2.2' });
    assert.deepEqual(C1.probe(['tcp', 'fd00:2::2', '7000']), { ok: true, out: 'x fd00:2::1' });
    assert.equal(X.probe(['tcp', 'fd00:123::2', '80']).ok, false, 'unpublished IPv6 ports stay closed');
  } finally {
    await fw.detach('v6');
  }
  assert.equal(H.sh('nft list tables').includes('inet berth'), false);
});

test('cost of one transaction: attach and detach of a container with two published ports', { skip }, async (t) => {
  const times: { attach: number[]; detach: number[] } = { attach: [], detach: [] };
  // A first container keeps the table (the common case: not the first nor the last on the host).
  await fw.attach({ containerId: 'keep', containerName: 'keep', networks: [net] });
  for (let i = 0; i < 15; i++) {
    const c = { containerId: `t${i}`, containerName: `t${i}`, networks: [net], published: { ipv4: '10.123.0.3', ports: [{ protocol: 'tcp' as const, hostIp: '', hostPort: 20000 + i, containerPort: 80 }, { protocol: 'udp' as const, hostIp: '', hostPort: 20000 + i, containerPort: 53 }] } };
    let t0 = performance.now();
    await fw.attach(c);
    times.attach.push(performance.now() - t0);
    t0 = performance.now();
    await fw.detach(c.containerId);
    times.detach.push(performance.now() - t0);
  }
  await fw.detach('keep');
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  t.diagnostic(`nft attach median ${median(times.attach).toFixed(1)} ms, detach median ${median(times.detach).toFixed(1)} ms (includes nsenter, and the iptables -S probe)`);
  assert.ok(median(times.attach) < 2000);
});
