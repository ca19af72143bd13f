/**
 * Netns files (src/network/netns.ts, native/sys/netns.c): made without moving the test
 * process, loopback up, removed idempotently, sysctls and netlink sockets inside them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createNetns, getNetnsSysctl, isNetnsMounted, removeNetns, setNetnsSysctl, withNetns } from '../../../src/network/netns';
import { Rtnetlink } from '../../../src/network/netlink';
import { BerthError } from '../../../src/core/errors';
import { hostLinkNames, inNetns, netnsScratch, serveInNetns, skipReason, waitFor } from './helpers';

const skip = skipReason(['nsenter', 'busybox']);

/** The netns of every thread of this process (they must all stay in the host's). */
function threadNetns(): Set<string> {
  return new Set(readdirSync('/proc/self/task').map((tid) => readlinkSync(`/proc/self/task/${tid}/ns/net`)));
}

test('createNetns makes a namespace held by a bind mount, loopback up, without moving any thread of the caller', { skip }, async (t) => {
  const before = threadNetns();
  const hostLinks = await hostLinkNames();
  const { ns } = netnsScratch(t, 'netns-create');
  const a = await ns('a');
  assert.ok(await isNetnsMounted(a));
  assert.notEqual(statSync(a).ino, statSync('/proc/self/ns/net').ino, 'a namespace of its own');
  assert.deepEqual(threadNetns(), before, 'no thread of the test process changed namespace');
  await withNetns(a, async (nl) => {
    const links = await nl.listLinks();
    assert.deepEqual(links.map((l) => l.name), ['lo']);
    assert.ok(links[0]!.up, 'loopback is up');
    const addrs = await nl.listAddresses();
    assert.ok(addrs.some((x) => x.address === '127.0.0.1'));
  });
  const ping = await inNetns(a, ['busybox', 'ping', '-c', '1', '-W', '2', '127.0.0.1']);
  assert.equal(ping.code, 0, `ping 127.0.0.1 inside: ${ping.stdout}${ping.stderr}`);
  assert.deepEqual(threadNetns(), before);
  // Another test file's containers add and remove their bridges and veths meanwhile: those aside.
  const gained = (await hostLinkNames()).filter((n) => !hostLinks.includes(n) && !/^(veth|berth|br-)/.test(n));
  assert.deepEqual(gained, [], 'the host gained no link');
});

test('createNetns refuses a live namespace file, reuses a plain leftover file; removeNetns is idempotent', { skip }, async (t) => {
  const { dir, ns } = netnsScratch(t, 'netns-idem');
  const a = await ns('a');
  await assert.rejects(createNetns(a), (e: unknown) => e instanceof BerthError && e.code === 'EEXISTS' && e.message.includes(a));
  const leftover = join(dir, 'left');
  writeFileSync(leftover, ''); // what a crash between "create the file" and "mount on it" leaves
  await createNetns(leftover);
  assert.ok(await isNetnsMounted(leftover));
  await removeNetns(a);
  assert.equal(existsSync(a), false);
  await removeNetns(a); // again: nothing to do
  await removeNetns(join(dir, 'never-made'));
  await removeNetns(leftover);
  assert.deepEqual(readdirSync(dir), []);
});

test('a netlink socket stays in the namespace it was opened in; errors name the namespace file', { skip }, async (t) => {
  const { dir, ns } = netnsScratch(t, 'netns-sock');
  const [a, b] = await Promise.all([ns('a'), ns('b')]);
  const nlA = await Rtnetlink.open(a);
  const nlB = await Rtnetlink.open(b);
  try {
    await nlA.createBridge('bra');
    await nlB.createBridge('brb');
    assert.deepEqual((await nlA.listLinks()).map((l) => l.name), ['lo', 'bra']);
    assert.deepEqual((await nlB.listLinks()).map((l) => l.name), ['lo', 'brb']);
    assert.equal(await nlA.getLink('brb'), undefined);
  } finally {
    await nlA.close();
    await nlB.close();
  }
  await assert.rejects(Rtnetlink.open(join(dir, 'missing')), (e: unknown) => e instanceof BerthError && e.message.includes(join(dir, 'missing')));
  writeFileSync(join(dir, 'plain'), '');
  await assert.rejects(Rtnetlink.open(join(dir, 'plain')), /setns/);
});

test('sysctls are read and written inside the namespace, not the host', { skip }, async (t) => {
  const { ns } = netnsScratch(t, 'netns-sysctl');
  const a = await ns('a');
  // An interface that exists only inside the namespace: a mistake can fail, never touch the host.
  await withNetns(a, (nl) => nl.createBridge('bsysctl0'));
  assert.equal(existsSync('/proc/sys/net/ipv4/conf/bsysctl0'), false);
  await setNetnsSysctl(a, 'net.ipv4.conf.bsysctl0.route_localnet', '1');
  assert.equal(await getNetnsSysctl(a, 'net/ipv4/conf/bsysctl0/route_localnet'), '1');
  await setNetnsSysctl(a, 'net.ipv4.conf.bsysctl0.route_localnet', '0');
  assert.equal(await getNetnsSysctl(a, 'net.ipv4.conf.bsysctl0.route_localnet'), '0');
  await assert.rejects(setNetnsSysctl(a, 'net.ipv4.conf.nosuchif0.forwarding', '1'), (e: unknown) => e instanceof BerthError && /nosuchif0/.test(e.message));
  await assert.rejects(setNetnsSysctl(a, 'kernel.hostname', 'x'), /invalid network sysctl/);
});

test('twenty namespaces made and removed concurrently are all distinct and all gone', { skip }, async (t) => {
  const { dir, ns } = netnsScratch(t, 'netns-many');
  const paths = await Promise.all(Array.from({ length: 20 }, (_, i) => ns(`n${i}`)));
  assert.equal(new Set(paths.map((p) => statSync(p).ino)).size, 20);
  await Promise.all(paths.map((p) => removeNetns(p)));
  assert.deepEqual(readdirSync(dir), []);
});

test('dumps that span many datagrams, and concurrent requests on one socket, come back whole and in order', { skip }, async (t) => {
  const { ns } = netnsScratch(t, 'netns-dump');
  const a = await ns('a');
  await withNetns(a, async (nl) => {
    const names = Array.from({ length: 120 }, (_, i) => `bd${i}`);
    // Issued all at once: the socket runs them one after another, each gets its own answer.
    const made = await Promise.all(names.map((n) => nl.createBridge(n, { mtu: 1400 + (names.indexOf(n) % 50) })));
    assert.deepEqual(made.map((l) => l.name), names);
    made.forEach((l, i) => assert.equal(l.mtu, 1400 + (i % 50)));
    // ~120 links of >1 KiB each: the kernel splits the dump over several datagrams.
    const links = await nl.listLinks();
    assert.equal(links.length, 121);
    assert.deepEqual(new Set(links.map((l) => l.name)), new Set(['lo', ...names]));
    const got = await Promise.all([nl.getLink('bd7'), nl.getLink('nosuch0'), nl.getLink(made[3]!.index)]);
    assert.equal(got[0]?.index, made[7]!.index);
    assert.equal(got[1], undefined);
    assert.equal(got[2]?.name, 'bd3');
  });
});

test('removeNetns while a process is inside: the file goes at once, the namespace (and the veth) when the process leaves', { skip }, async (t) => {
  const { ns } = netnsScratch(t, 'netns-inside');
  const [h, c] = await Promise.all([ns('h'), ns('c')]);
  await withNetns(h, async (host) => {
    await host.createVeth('vin0', { peerName: 'eth0', peerNetns: c });
    const proc = serveInNetns(t, c, ['busybox', 'sleep', '60']);
    await waitFor('the process to be in the namespace', async () => proc.pid !== undefined && readlinkSync(`/proc/${proc.pid}/ns/net`) !== readlinkSync('/proc/self/ns/net'));
    await removeNetns(c);
    assert.equal(existsSync(c), false);
    assert.ok(await host.getLink('vin0'), 'the namespace lives on while a process is in it');
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
    // The kernel destroys the namespace asynchronously; its eth0 takes the host end with it.
    await waitFor('the veth to go with the namespace', async () => (await host.getLink('vin0')) === undefined, 10_000);
  });
});
