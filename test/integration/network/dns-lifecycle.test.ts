/**
 * The resolver's lifecycle on real namespaces: how fast a join is seen, recovery after a
 * kill -9, a port that is taken, an --internal network, reconcile, and a resolver that
 * stops by itself when its files are removed under it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { leave, reconcile, resolverPaths, resolverStatus, startOrJoin, updateEndpoint, type ResolverConfig } from '../../../src/network/dns';
import { waitForExit, isSameProcessAlive } from '../../../src/runtime/process-info';
import { missingTools } from '../../helpers/host';
import { AGENT, makeTestNet, type TestNet } from './dns-netns';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : missingTools([['unshare', 'util-linux'], ['nsenter', 'util-linux'], ['ip', 'iproute2']]);

function config(net: TestNet, over: Partial<ResolverConfig> = {}): ResolverConfig {
  return { network: 'life', listen: [net.gateway4], port: 53, domain: 'dns.berth', forward: true, upstreams: ['127.0.0.1:5353'], hostResolvConf: '/nonexistent', staticNames: [], ...over };
}

async function setup(t: { after: (fn: () => Promise<void>) => void }, label: string) {
  const net = await makeTestNet(label);
  const runRoot = mkdtempSync(join(tmpdir(), 'berth-dns-run-'));
  const pids: number[] = [];
  t.after(async () => {
    for (const pid of pids) if (isSameProcessAlive(pid, undefined)) process.kill(pid, 'SIGKILL');
    await net.cleanup();
    rmSync(runRoot, { recursive: true, force: true });
  });
  const client = await net.addContainer(3);
  await net.agentServer(net.host, 'upstream', '127.0.0.1', '5353');
  return { net, runRoot, pids, client };
}

test('a joining container is seen within milliseconds; a kill -9 resolver is restarted by the next join', { skip, timeout: 60_000 }, async (t) => {
  const { net, runRoot, pids, client } = await setup(t, 'crash');
  const target = { runRoot, networkKey: 'net1', config: config(net), netnsPath: net.host };
  const first = await startOrJoin({ ...target, containerId: 'a', endpoint: { names: ['alpha'], ipv4: ['10.77.0.10'], ipv6: [] } });
  pids.push(first.pid);

  // A client polling in its namespace sees the new name this long after the state file is written.
  const poll = spawn('nsenter', [`--net=${client.ns}`, '--', process.execPath, AGENT, 'await', net.gateway4, 'beta', '10.77.0.10'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => void poll.kill('SIGKILL'));
  const lines = createInterface({ input: poll.stdout! })[Symbol.asyncIterator]();
  assert.deepEqual(JSON.parse((await lines.next()).value as string), { polling: true });
  const t0 = Date.now();
  await updateEndpoint({ runRoot, networkKey: 'net1', containerId: 'a', endpoint: { names: ['alpha', 'beta'], ipv4: ['10.77.0.10'], ipv6: [] } });
  const t1 = Date.now();
  const seenAt = (JSON.parse((await lines.next()).value as string) as { seenAt: number }).seenAt;
  t.diagnostic(`updateEndpoint took ${t1 - t0} ms (lock, fsync'd write); the change was answered ${seenAt - t1} ms after it returned`);
  assert.ok(seenAt - t0 < 1000);

  process.kill(first.pid, 'SIGKILL');
  assert.ok(await waitForExit(first.pid, undefined, 2000));
  // The leader shows as a zombie while its other threads still exit and hold its files (the
  // lock): liveness is the lock, so it is the lock that is waited for.
  const deadline = Date.now() + 3000;
  while ((await resolverStatus(runRoot, 'net1'))?.running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal((await resolverStatus(runRoot, 'net1'))?.running, false, 'a dead resolver is seen as dead (its lock is gone)');
  const again = await startOrJoin({ ...target, containerId: 'b', endpoint: { names: ['gamma'], ipv4: ['10.77.0.12'], ipv6: [] } });
  pids.push(again.pid);
  assert.equal(again.started, true);
  assert.notEqual(again.pid, first.pid);
  const q = (name: string) => net.agent(client.ns, 'query', net.gateway4, name, 'A');
  assert.deepEqual((await q('alpha')).answers, [{ type: 'A', data: '10.77.0.10' }], 'the endpoints from before the crash are served');
  assert.deepEqual((await q('gamma')).answers, [{ type: 'A', data: '10.77.0.12' }]);

  // reconcile drops what is not alive, and stops the resolver with the last.
  assert.deepEqual(await reconcile({ runRoot, networkKey: 'net1', isLive: (id) => id === 'b' }), ['a']);
  assert.deepEqual((await resolverStatus(runRoot, 'net1'))?.endpoints, ['b']);
  assert.deepEqual(await reconcile({ runRoot, networkKey: 'net1', isLive: () => false }), ['b']);
  assert.equal(isSameProcessAlive(again.pid, undefined), false);
  assert.equal(await resolverStatus(runRoot, 'net1'), undefined);
  assert.deepEqual(readdirSync(join(runRoot, 'dns')), []);
});

test('a taken port is one clear error and leaves nothing; an --internal network answers names but forwards nothing', { skip, timeout: 60_000 }, async (t) => {
  const { net, runRoot, pids, client } = await setup(t, 'busy');
  // Something else already serves DNS on the gateway (another engine's resolver, say).
  const squatter = await net.agentServer(net.host, 'upstream', net.gateway4, '53');
  const target = { runRoot, networkKey: 'busy1', config: config(net), netnsPath: net.host };
  await assert.rejects(
    startOrJoin({ ...target, containerId: 'a', endpoint: { names: ['alpha'], ipv4: ['10.77.0.10'], ipv6: [] } }),
    (e: Error & { code?: string; hint?: string }) => e.code === 'ENETWORK' && /10\.77\.0\.1:53/.test(e.message) && /EADDRINUSE/.test(e.message) && /port 53/.test(e.hint ?? ''),
  );
  assert.equal(existsSync(resolverPaths(runRoot, 'busy1').dir), false, 'no directory left');
  assert.equal(existsSync(resolverPaths(runRoot, 'busy1').lock), false, 'no lock file left');

  squatter.kill('SIGKILL');
  await new Promise((r) => squatter.once('exit', r));
  const internal = { runRoot, networkKey: 'int1', config: config(net, { forward: false }), netnsPath: net.host };
  const r = await startOrJoin({ ...internal, containerId: 'a', endpoint: { names: ['alpha'], ipv4: ['10.77.0.10'], ipv6: [] } });
  pids.push(r.pid);
  const ask = (name: string) => net.agent(client.ns, 'query', net.gateway4, name, 'A');
  assert.deepEqual((await ask('alpha')).answers, [{ type: 'A', data: '10.77.0.10' }]);
  assert.equal((await ask('example.org')).rcode, 'REFUSED', 'an internal network has no way out, for names too');
  // Malformed packets get FORMERR or nothing, and the resolver keeps serving.
  const garbage = await net.agent(client.ns, 'garbage', net.gateway4);
  assert.ok(garbage.replies >= 1 && garbage.replies <= 3, `replies to malformed packets: ${garbage.replies}`);
  assert.deepEqual((await ask('alpha')).answers, [{ type: 'A', data: '10.77.0.10' }]);

  // Its files removed under it (a repair, rm -rf of the run root): it stops by itself.
  rmSync(resolverPaths(runRoot, 'int1').dir, { recursive: true, force: true });
  assert.ok(await waitForExit(r.pid, undefined, 3000), 'the resolver exits when its state is gone');
  assert.deepEqual(await leave({ runRoot, networkKey: 'int1', containerId: 'a' }), { stopped: true });
  assert.deepEqual(readdirSync(join(runRoot, 'dns')), []);
});
