/**
 * The per-network resolver on real namespaces: a "host" namespace with a bridge (the resolver
 * runs there, as in the real host's), containers on veth pairs querying it, names added,
 * renamed and removed while it runs, forwarding to a fake upstream on the host namespace's
 * loopback (what a systemd-resolved host looks like), and nothing left after the last leave.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_NAMES, leave, resolverPaths, resolverStatus, startOrJoin, updateEndpoint, type ResolverConfig } from '../../../src/network/dns';
import { isSameProcessAlive } from '../../../src/runtime/process-info';
import { missingTools } from '../../helpers/host';
import { makeTestNet, type TestNet } from './dns-netns';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : missingTools([['unshare', 'util-linux'], ['nsenter', 'util-linux'], ['ip', 'iproute2']]);

function config(net: TestNet, over: Partial<ResolverConfig> = {}): ResolverConfig {
  return {
    network: 'dnstest',
    listen: [net.gateway4, net.gateway6],
    port: 53,
    domain: 'dns.berth',
    forward: true,
    upstreams: ['127.0.0.1:5353'],
    hostResolvConf: '/nonexistent/resolv.conf',
    staticNames: [{ names: HOST_NAMES, ipv4: [net.gateway4], ipv6: [net.gateway6] }],
    ...over,
  };
}

/** Polls until `fn` holds (a change reaches the resolver through inotify, asynchronously). */
async function eventually(fn: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await fn()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const addrs = (r: { answers: Array<{ data: string }> }) => r.answers.map((a) => a.data).sort();

test('a network resolver answers names, aliases, AAAA and PTR, forwards the rest, follows joins and renames, and leaves nothing', { skip, timeout: 120_000 }, async (t) => {
  const net = await makeTestNet('names');
  const runRoot = mkdtempSync(join(tmpdir(), 'berth-dns-run-'));
  const key = 'net0names';
  let pid = 0;
  t.after(async () => {
    if (pid && isSameProcessAlive(pid, undefined)) process.kill(pid, 'SIGKILL');
    await net.cleanup();
    rmSync(runRoot, { recursive: true, force: true });
  });
  const web = await net.addContainer(2);
  const client = await net.addContainer(3);
  await net.agentServer(net.host, 'upstream', '127.0.0.1', '5353');
  const target = { runRoot, networkKey: key, config: config(net), netnsPath: net.host };

  const first = await startOrJoin({ ...target, containerId: 'c-web', endpoint: { names: ['web', 'frontend'], ipv4: [web.ipv4], ipv6: [web.ipv6] } });
  assert.equal(first.started, true);
  pid = first.pid;
  // Concurrent starts on the same network: one resolver, every endpoint kept.
  const joined = await Promise.all(
    [4, 5, 6].map((n) => startOrJoin({ ...target, containerId: `c-${n}`, endpoint: { names: [`peer${n}`], ipv4: [`10.77.0.${n}`], ipv6: [] } })),
  );
  assert.deepEqual(joined.map((j) => j.started), [false, false, false]);
  assert.deepEqual(joined.map((j) => j.pid), [pid, pid, pid]);
  assert.deepEqual((await resolverStatus(runRoot, key))?.endpoints.sort(), ['c-4', 'c-5', 'c-6', 'c-web']);

  const q = (name: string, type = 'A', ...extra: string[]) => net.agent(client.ns, 'query', net.gateway4, name, type, ...extra);
  assert.deepEqual(addrs(await q('web')), [web.ipv4]);
  assert.deepEqual(addrs(await q('WEB.dns.berth.')), [web.ipv4], 'case-insensitive, with the domain');
  assert.deepEqual(addrs(await q('frontend')), [web.ipv4], 'an alias');
  assert.deepEqual(addrs(await q('web', 'AAAA')), ['fd77::2']);
  assert.deepEqual(addrs(await net.agent(client.ns, 'query', net.gateway6, 'peer5', 'A')), ['10.77.0.5'], 'over IPv6 too');
  assert.deepEqual(addrs(await q('peer4', 'AAAA')), [], 'a known name without IPv6 is NODATA, not forwarded');
  assert.equal((await q('peer4', 'AAAA')).rcode, 'NOERROR');
  assert.deepEqual(addrs(await q('2.0.77.10.in-addr.arpa', 'PTR')), ['web.dns.berth']);
  assert.deepEqual(addrs(await q('host.docker.internal')), [net.gateway4]);
  assert.equal((await q('nobody.dns.berth')).rcode, 'NXDOMAIN', 'our domain is ours alone');
  assert.deepEqual(addrs(await q('example.org')), ['192.0.2.99'], 'forwarded to the loopback upstream of the host namespace');
  assert.deepEqual(addrs(await q('example.org', 'A', 'tcp')), ['192.0.2.99'], 'forwarded over TCP');
  assert.deepEqual(addrs(await q('web', 'A', 'tcp')), [web.ipv4], 'answered over TCP');
  // An independent client: busybox's nslookup.
  const ns = await net.nsexec(client.ns, 'busybox', 'nslookup', 'frontend', net.gateway4);
  assert.match(ns, /Address:\s*10\.77\.0\.2/);

  // A container that joins later resolves as soon as its endpoint is written.
  await startOrJoin({ ...target, containerId: 'c-late', endpoint: { names: ['late'], ipv4: ['10.77.0.9'], ipv6: [] } });
  const joinMs = await eventually(async () => addrs(await q('late')).includes('10.77.0.9'), 'the late container');
  // A rename: the new name answers, the old one is no longer ours (so it is forwarded).
  await updateEndpoint({ runRoot, networkKey: key, containerId: 'c-web', endpoint: { names: ['www'], ipv4: [web.ipv4], ipv6: [web.ipv6] } });
  const renameMs = await eventually(async () => addrs(await q('www')).includes(web.ipv4), 'the new name');
  assert.deepEqual(addrs(await q('web')), ['192.0.2.99']);
  t.diagnostic(`a join was answered within ${joinMs} ms, a rename within ${renameMs} ms (each probe starts a client process: upper bounds)`);

  // Measurements: the resolver's memory and the latency of local and forwarded answers.
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  const local = await net.agent(client.ns, 'bench', net.gateway4, 'www', '2000');
  const forwarded = await net.agent(client.ns, 'bench', net.gateway4, 'example.org', '1000');
  t.diagnostic(`resolver RSS ${(rssKiB / 1024).toFixed(1)} MiB; local answer us ${JSON.stringify(local)}; forwarded us ${JSON.stringify(forwarded)}`);

  // Leaves: the resolver stays while any container is left, and goes with the last.
  for (const id of ['c-4', 'c-5', 'c-6', 'c-late']) assert.deepEqual(await leave({ runRoot, networkKey: key, containerId: id }), { stopped: false });
  assert.ok(isSameProcessAlive(pid, undefined));
  assert.deepEqual(await leave({ runRoot, networkKey: key, containerId: 'c-web' }), { stopped: true });
  assert.equal(isSameProcessAlive(pid, undefined), false, 'the resolver process is gone');
  assert.equal(existsSync(resolverPaths(runRoot, key).dir), false);
  assert.equal(existsSync(resolverPaths(runRoot, key).lock), false);
  assert.deepEqual(readdirSync(join(runRoot, 'dns')), []);
  assert.deepEqual(await leave({ runRoot, networkKey: key, containerId: 'c-web' }), { stopped: true }, 'leaving twice is harmless');
});
