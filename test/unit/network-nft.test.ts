import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addElements, deleteElements, dropTable, networkElements, portElements, script, skeleton } from '../../src/network/nft/ruleset';
import { berthChainRestore, dockerDropIn, forwardDrops } from '../../src/network/nft/docker-user';

test('the skeleton declares only objects of table inet berth and rewrites only its own chains', () => {
  const lines = skeleton();
  assert.equal(lines[0], 'add table inet berth');
  for (const l of lines) assert.match(l, /^(add|flush) (table|set|map|chain|rule) inet berth( |$)/, l);
  assert.ok(!lines.some((l) => /\b(iptables|ip filter|ip nat|flush ruleset|delete)\b/.test(l)), 'never touches other tables');
  // Every chain is flushed before its fixed rules are added, so applying twice changes nothing.
  const firstRule = lines.findIndex((l) => l.startsWith('add rule'));
  assert.ok(lines.slice(firstRule).every((l) => l.startsWith('add rule')));
  assert.deepEqual(lines.filter((l) => l.startsWith('flush')), [
    'flush chain inet berth published',
    'flush chain inet berth prerouting',
    'flush chain inet berth output',
    'flush chain inet berth postrouting',
    'flush chain inet berth forward',
  ]);
  assert.ok(lines.includes('add chain inet berth output { type nat hook output priority -100; policy accept; }'));
  assert.ok(lines.includes('add rule inet berth postrouting oifname @bridges ip saddr 127.0.0.0/8 masquerade'));
  assert.ok(lines.includes('add rule inet berth forward oifname @bridges drop'));
});

test('network elements: bridge, hairpin, NAT only when not internal', () => {
  const net = { id: 'x', bridge: 'br-abc', internal: false, subnets: ['172.18.0.0/16', 'fd00:1::/64'] };
  assert.equal(
    script(addElements(networkElements(net))),
    [
      'add element inet berth bridges { "br-abc" }',
      'add element inet berth pairs { "br-abc" . "br-abc" }',
      'add element inet berth nat4 { 172.18.0.0/16 }',
      'add element inet berth hairpin4 { 172.18.0.0/16 . "br-abc" }',
      'add element inet berth nat6 { fd00:1::/64 }',
      'add element inet berth hairpin6 { fd00:1::/64 . "br-abc" }',
      '',
    ].join('\n'),
  );
  const internal = networkElements({ ...net, internal: true, subnets: ['10.1.0.0/24'] }).map((e) => `${e.set} ${e.text}`);
  assert.deepEqual(internal, ['bridges "br-abc"', 'pairs "br-abc" . "br-abc"', 'internal "br-abc"', 'hairpin4 10.1.0.0/24 . "br-abc"']);
  assert.throws(() => networkElements({ ...net, bridge: 'br x; flush ruleset' }), /bad interface name/);
});

test("port elements follow docker's host-IP families", () => {
  const els = portElements({
    ipv4: '172.18.0.2',
    ipv6: 'fd00:1::2',
    ports: [
      { protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 },
      { protocol: 'udp', hostIp: '0.0.0.0', hostPort: 53, containerPort: 5353 },
      { protocol: 'sctp', hostIp: '::', hostPort: 9, containerPort: 9 },
      { protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 9090, containerPort: 80 },
      { protocol: 'tcp', hostIp: 'fd00::5', hostPort: 9091, containerPort: 81 },
    ],
  }).map((e) => `${e.set} { ${e.text} }`);
  assert.deepEqual(els, [
    'dnat4any { tcp . 8080 : 172.18.0.2 . 80 }',
    'dnat6any { tcp . 8080 : fd00:1::2 . 80 }',
    'dnat4any { udp . 53 : 172.18.0.2 . 5353 }',
    'dnat6any { sctp . 9 : fd00:1::2 . 9 }',
    'dnat4 { 127.0.0.1 . tcp . 9090 : 172.18.0.2 . 80 }',
    'dnat6 { fd00::5 . tcp . 9091 : fd00:1::2 . 81 }',
  ]);
  // Without an IPv6 address the container publishes on IPv4 only.
  assert.equal(portElements({ ipv4: '10.0.0.2', ports: [{ protocol: 'tcp', hostIp: '', hostPort: 1, containerPort: 2 }] }).length, 1);
});

test('deletion is idempotent (add then delete) and the table drop works whether or not it exists', () => {
  assert.deepEqual(deleteElements([{ set: 'bridges', text: '"br-a"' }]), ['add element inet berth bridges { "br-a" }', 'delete element inet berth bridges { "br-a" }']);
  assert.deepEqual(dropTable(), ['add table inet berth', 'delete table inet berth']);
});

test("dockerd's DROP policy is recognised from iptables -S, and BERTH-FORWARD is written whole", () => {
  const docker = '-P INPUT ACCEPT\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n-N DOCKER\n-N DOCKER-USER\n-A FORWARD -j DOCKER-USER\n';
  assert.equal(dockerDropIn(docker), true);
  assert.equal(dockerDropIn(docker.replace('FORWARD DROP', 'FORWARD ACCEPT')), false);
  assert.equal(dockerDropIn('-P FORWARD DROP\n'), false, 'a DROP policy without dockerd is the admin\'s: left alone');
  assert.equal(forwardDrops('-P FORWARD DROP'), true);
  assert.equal(
    berthChainRestore(['br-b', 'berth0', 'br-b']),
    [
      '*filter',
      ':BERTH-FORWARD - [0:0]',
      '-A BERTH-FORWARD -i berth0 -j ACCEPT',
      '-A BERTH-FORWARD -o berth0 -j ACCEPT',
      '-A BERTH-FORWARD -i br-b -j ACCEPT',
      '-A BERTH-FORWARD -o br-b -j ACCEPT',
      'COMMIT',
      '',
    ].join('\n'),
  );
  assert.equal(berthChainRestore([]), '*filter\n:BERTH-FORWARD - [0:0]\nCOMMIT\n');
  assert.throws(() => berthChainRestore(['x -j DROP']), /bad interface name/);
});
