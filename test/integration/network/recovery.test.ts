/**
 * Crash safety of container networking, black-box: `kill -9` (the BERTH_CRASH_AT seam) of a
 * `run -d` on a user-defined network with a published port at each step of the network's
 * setup, of the shim of a networked container and of its exit command; then the next ordinary
 * command leaves nothing of the network behind — no namespace file, host veth, bridge, nft
 * table of the root, resolver process or IPAM endpoint — and the container is usable again,
 * its port reachable. And `system check`: network leftovers made by hand the way a crash makes
 * them are reported (stale-network, idle-bridge, unfinished-network) and repaired, while a
 * running container's network is never touched.
 *
 * Safety: the only host objects touched are the ones Berth makes for the test's own root (its
 * bridges, veths, nft table) and one bridge the test creates and removes itself; traffic goes
 * to 127.0.0.1 only.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { type BerthCli, importBusybox, engineSkip, cliPerTest, until, alive, sleep } from '../../helpers/cli';
import type { CrashStep } from '../../../src/core/crash-point';
import { Engine } from '../../../src/index';
import { NetworkStore, defaultBridgeFor } from '../../../src/network/store';
import type { NetworkRecord } from '../../../src/network/store-types';
import { hostVethName } from '../../../src/engine/network/container/paths';

const skip = engineSkip() || (spawnSync('nft', ['--version']).status !== 0 ? 'nft is not installed' : false);
const cli = cliPerTest();

/**
 * A user-defined network in the CLI's root, removed after the test (its host-wide subnet claim
 * with it). A test that failed half-way may leave the network of a container without a record,
 * which no `rm` reaches: the repair takes it down first.
 */
async function userNetwork(t: TestContext, b: BerthCli, name: string): Promise<NetworkRecord> {
  const store = new NetworkStore(b.root);
  // A /24 of its own in 10.200-249.x first: the default pools are shared by every root on the
  // host (other test files running at the same time hold networks too) and can run out.
  let net: NetworkRecord | undefined;
  for (let i = 0; i < 8 && !net; i++) net = await store.create({ name, ipam: [{ subnet: `10.${200 + randomInt(50)}.${randomInt(256)}.0/24` }] }).catch(() => undefined);
  net ??= await store.create({ name });
  t.after(async () => {
    const ids = b.containerIds();
    if (ids.length) b.run(['rm', '-f', '-v', ...ids]);
    b.run(['system', 'check', '--repair']);
    await store.remove(net.id).catch(() => undefined);
  });
  return net;
}

/**
 * What is left of networking for this root: namespace files, the host veths of `ids` on
 * `net`, `net`'s bridge, the root's nft table, resolver processes of the run root, `net`'s
 * IPAM endpoints. Empty when no container of the root runs.
 */
function networkLeft(b: BerthCli, net: NetworkRecord, ids: string[]): string[] {
  const out: string[] = [];
  const nsDir = join(b.runRoot, 'netns');
  for (const f of existsSync(nsDir) ? readdirSync(nsDir) : []) out.push(`netns file ${f}`);
  for (const id of ids) {
    const veth = hostVethName(id, net.id);
    if (existsSync(join('/sys/class/net', veth))) out.push(`veth ${veth} of ${id.slice(0, 12)}`);
  }
  if (existsSync(join('/sys/class/net', net.bridge))) out.push(`bridge ${net.bridge}`);
  // The root's table: `inet berth-<8 hex>` for a root other than /var/lib/berth (Engine's constructor).
  const table = `table inet ${defaultBridgeFor(b.root)}`;
  if (spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout.split('\n').includes(table)) out.push(table);
  const resolvers = spawnSync('pgrep', ['-f', `berth-dns ${b.runRoot}/`], { encoding: 'utf8' }).stdout.trim();
  if (resolvers) out.push(`resolver process ${resolvers.replace(/\n/g, ' ')}`);
  const epFile = join(b.root, 'networks', net.id, 'endpoints.json');
  const eps = existsSync(epFile) ? Object.keys((JSON.parse(readFileSync(epFile, 'utf8')) as { endpoints: Record<string, unknown> }).endpoints) : [];
  for (const id of eps) out.push(`IPAM endpoint of ${id.slice(0, 12)}`);
  return out;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** GET http://127.0.0.1:port/path, retried while the server comes up; undefined if it never answers. */
async function httpGet(port: number, path: string, ms = 15_000): Promise<string | undefined> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return await r.text();
    } catch {
      // not up yet
    }
  }
  return undefined;
}

/** busybox httpd serving the container's /etc: GET /hostname answers its short id. */
const SERVE = ['httpd', '-f', '-p', '80', '-h', '/etc'];

/** `ps -a` (the next ordinary command after a crash): name -> [id, state]. */
function psAll(b: BerthCli): Map<string, [string, string]> {
  const ps = b.ok(['ps', '-a', '--no-trunc', '--format', '{{.Names}} {{.ID}} {{.State}}']);
  return new Map(ps.split('\n').filter(Boolean).map((l) => {
    const [name, id, state] = l.split(' ');
    return [name!, [id!, state!]];
  }));
}

/** Starts the container, checks that it serves on its published port and holds its network, then removes it. */
async function startsAndServes(b: BerthCli, net: NetworkRecord, name: string, id: string, port: number): Promise<void> {
  b.ok(['start', name]);
  assert.equal(await httpGet(port, '/hostname'), `${id.slice(0, 12)}\n`, `${name} answers on its published port ${port}`);
  assert.equal(b.ok(['port', name]).trim(), `80/tcp -> 0.0.0.0:${port}`);
  // The leak check sees a network that is up (so its silence elsewhere means something).
  const up = networkLeft(b, net, [id]);
  for (const kind of ['netns file', 'veth', 'bridge', 'table inet', 'resolver process', 'IPAM endpoint']) {
    assert.ok(up.some((l) => l.startsWith(kind)), `a running networked container has a ${kind}: ${up.join(', ')}`);
  }
  b.ok(['rm', '-f', name]);
  assert.deepEqual(networkLeft(b, net, [id]), [], `rm -f ${name} took its network down`);
}

const NET_STEPS: CrashStep[] = ['net:netns', 'net:links', 'net:firewall', 'net:dns', 'start:launched'];

for (const step of NET_STEPS) {
  test(`run -d --network NET -p killed at ${step}: the next ps -a takes the network down, the container starts with its port`, { skip }, async (t) => {
    const b = cli(t);
    const img = importBusybox(b);
    const net = await userNetwork(t, b, 'crashnet');
    const port = await freePort();
    const r = b.run(['run', '-d', '--name', 'victim', '--network', 'crashnet', '-p', `${port}:80`, img, ...SERVE], { env: { BERTH_CRASH_AT: step } });
    assert.equal(r.signal, 'SIGKILL', `run reached ${step} (exit ${r.code}: ${r.stderr})`);
    const [id, state] = psAll(b).get('victim') ?? [];
    assert.equal(state, 'created', 'a start killed before it let the process go is rolled back');
    assert.deepEqual(networkLeft(b, net, [id!]), [], `nothing of the network is left after ${step}`);
    assert.deepEqual(b.leaks(), []);
    await startsAndServes(b, net, 'victim', id!, port);
  });
}

test('run -d -p on the default network killed at net:firewall: its bridge and the nft table go with the next ps -a', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const port = await freePort();
  const r = b.run(['run', '-d', '--name', 'plain', '-p', `${port}:80`, img, ...SERVE], { env: { BERTH_CRASH_AT: 'net:firewall' } });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  const net = await new NetworkStore(b.root).get('bridge');
  assert.equal(net.bridge, defaultBridgeFor(b.root), "a test root's default network has a bridge of its own");
  const [id, state] = psAll(b).get('plain') ?? [];
  assert.equal(state, 'created');
  assert.deepEqual(networkLeft(b, net, [id!]), []);
  b.ok(['start', 'plain']);
  assert.equal(await httpGet(port, '/hostname'), `${id!.slice(0, 12)}\n`);
  assert.ok(existsSync(join('/sys/class/net', net.bridge)), 'the default bridge is up while the container runs');
  b.ok(['rm', '-f', 'plain']);
  assert.deepEqual(networkLeft(b, net, [id!]), []);
});

test('start on two networks killed at net:dns next to a running container: the victim\'s part of both goes, the neighbour keeps its bridge, port and resolver', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const shared = await userNetwork(t, b, 'sharednet');
  const own = await userNetwork(t, b, 'ownnet');
  const neighbourPort = await freePort();
  const port = await freePort();
  const neighbour = b.ok(['run', '-d', '--name', 'neighbour', '--network', 'sharednet', '-p', `${neighbourPort}:80`, img, ...SERVE]).trim();
  // Made as an API client makes it (NetworkingConfig naming both networks), started by the CLI.
  const engine = new Engine({ root: b.root, runRoot: b.runRoot });
  try {
    await engine.containers.create({
      name: 'victim',
      image: img,
      config: { Cmd: SERVE, ExposedPorts: { '80/tcp': {} } },
      hostConfig: { NetworkMode: 'sharednet', PortBindings: { '80/tcp': [{ HostIp: '', HostPort: String(port) }] } },
      networkingConfig: { EndpointsConfig: { sharednet: {}, ownnet: {} } },
      pull: 'never',
    });
  } finally {
    engine.close();
  }
  const r = b.run(['start', 'victim'], { env: { BERTH_CRASH_AT: 'net:dns' } });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  const [id, state] = psAll(b).get('victim') ?? [];
  assert.equal(state, 'created');
  assert.deepEqual(networkLeft(b, own, [id!]), [
    `netns file ${neighbour}`,
    `table inet ${defaultBridgeFor(b.root)}`,
    `resolver process ${spawnSync('pgrep', ['-f', `berth-dns ${b.runRoot}/`], { encoding: 'utf8' }).stdout.trim()}`,
  ], "of the victim's own network nothing is left; the neighbour's namespace, the table and sharednet's resolver stay");
  const sharedLeft = networkLeft(b, shared, [id!]);
  assert.ok(sharedLeft.includes(`bridge ${shared.bridge}`), 'the shared bridge stays for the neighbour');
  assert.deepEqual(sharedLeft.filter((l) => l.includes(id!.slice(0, 12))), [], `nothing of the victim on sharednet: ${sharedLeft.join(', ')}`);
  assert.equal(await httpGet(neighbourPort, '/hostname'), `${neighbour.slice(0, 12)}\n`, 'the neighbour still serves');
  const lookup = b.run(['exec', 'neighbour', 'nslookup', 'victim']);
  assert.doesNotMatch(lookup.stdout, /^Name:/m, `the resolver does not know the victim: ${lookup.stdout}`);
  b.ok(['start', 'victim']);
  assert.equal(await httpGet(port, '/hostname'), `${id!.slice(0, 12)}\n`);
  const victimIp = b.ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "sharednet").IPAddress}}', 'victim']).trim();
  assert.match(victimIp, /^\d+\.\d+\.\d+\.\d+$/);
  assert.match(b.ok(['exec', 'neighbour', 'nslookup', 'victim']), new RegExp(`^Name:[\\s\\S]*Address: ${victimIp.replace(/\./g, '\\.')}$`, 'm'), 'started again, the victim resolves');
  assert.equal(b.ok(['exec', 'victim', 'ls', '/sys/class/net']).split('\n').filter((n) => n.startsWith('eth')).length, 2, 'one interface per network');
  b.ok(['rm', '-f', 'victim', 'neighbour']);
  assert.deepEqual([...networkLeft(b, shared, [id!, neighbour]), ...networkLeft(b, own, [id!])], []);
});

for (const step of ['rm:removing', 'rm:snapshot-removed', 'rm:record-removed'] as CrashStep[]) {
  test(`rm -f of a networked container killed at ${step}: the next ps -a finishes the removal and its network`, { skip }, async (t) => {
    const b = cli(t);
    const img = importBusybox(b);
    const net = await userNetwork(t, b, 'rmnet');
    const port = await freePort();
    const id = b.ok(['run', '-d', '--name', 'doomed', '--network', 'rmnet', '-p', `${port}:80`, img, ...SERVE]).trim();
    assert.equal(await httpGet(port, '/hostname'), `${id.slice(0, 12)}\n`);
    const r = b.run(['rm', '-f', 'doomed'], { env: { BERTH_CRASH_AT: step } });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    assert.equal(psAll(b).get('doomed'), undefined, 'ps -a no longer shows it');
    assert.deepEqual(networkLeft(b, net, [id]), []);
    assert.equal(b.ok(['system', 'check']), 'No problems found.\n');
    assert.deepEqual(b.residue({ volumes: false }), []);
  });
}

test('kill -9 of the shim of a networked container: the next command records the exit and takes the network down', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const net = await userNetwork(t, b, 'shimnet');
  const port = await freePort();
  const id = b.ok(['run', '-d', '--name', 'unmonitored', '--network', 'shimnet', '-p', `${port}:80`, img, ...SERVE]).trim();
  assert.equal(await httpGet(port, '/hostname'), `${id.slice(0, 12)}\n`);
  const shimPid = Number(readFileSync(join(b.runRoot, 'c', id, 'shim.pid'), 'utf8').split(' ')[0]);
  process.kill(shimPid, 'SIGKILL');
  assert.ok(await until(() => !alive(shimPid)));
  assert.deepEqual(psAll(b).get('unmonitored'), [id, 'exited']);
  assert.equal(b.ok(['inspect', '-f', '{{.State.ExitCode}}', 'unmonitored']).trim(), '255');
  assert.deepEqual(networkLeft(b, net, [id]), [], 'the exit settled by ps took the network down');
  await startsAndServes(b, net, 'unmonitored', id, port);
});

test("the exit command of a networked container killed at cleanup:runtime-deleted: the next command settles the exit and takes the network down", { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const net = await userNetwork(t, b, 'exitnet');
  const port = await freePort();
  // The variable reaches the shim's exit command (`container cleanup`) through the environment.
  const id = b.ok(['run', '-d', '--name', 'brief', '--network', 'exitnet', '-p', `${port}:80`, img, ...SERVE], { env: { BERTH_CRASH_AT: 'cleanup:runtime-deleted' } }).trim();
  assert.equal(await httpGet(port, '/hostname'), `${id.slice(0, 12)}\n`);
  const shimPid = Number(readFileSync(join(b.runRoot, 'c', id, 'shim.pid'), 'utf8').split(' ')[0]);
  b.ok(['kill', 'brief']);
  // The shim ends once its exit command was killed; then the next command settles the exit.
  assert.ok(await until(() => !alive(shimPid)), 'the shim ended');
  assert.deepEqual(psAll(b).get('brief'), [id, 'exited']);
  assert.deepEqual(networkLeft(b, net, [id]), [], 'the settled exit took the network down');
  await startsAndServes(b, net, 'brief', id, port);
});

const kinds = (out: string) => out.split('\n').filter((l) => /^[a-z-]+: /.test(l)).map((l) => l.slice(0, l.indexOf(':'))).sort();

test('system check right after a start killed at net:dns: the unfinished start is reported and its repair takes the network down', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const net = await userNetwork(t, b, 'checknet');
  const port = await freePort();
  const r = b.run(['run', '-d', '--name', 'halfnet', '--network', 'checknet', '-p', `${port}:80`, img, ...SERVE], { env: { BERTH_CRASH_AT: 'net:dns' } });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  // No other command before the check: any of them would finish the start's rollback.
  const found = b.run(['system', 'check']);
  assert.equal(found.code, 1, found.stdout + found.stderr);
  assert.deepEqual(kinds(found.stdout), ['unfinished-start'], 'the start owns its network: one row, not a stale-network too');
  assert.match(found.stdout, /unfinished-start: container halfnet \([0-9a-f]{12}\) was being started/);
  const id = readdirSync(join(b.runRoot, 'netns'))[0]!;
  assert.ok(networkLeft(b, net, [id]).length > 0, 'a check without --repair changes nothing');
  const repaired = b.run(['system', 'check', '--repair']);
  assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
  assert.deepEqual(networkLeft(b, net, [id]), []);
  assert.equal(b.ok(['system', 'check']), 'No problems found.\n');
  assert.deepEqual(psAll(b).get('halfnet'), [id, 'created']);
  await startsAndServes(b, net, 'halfnet', id, port);
});

test('system check: the network of a container whose record is gone, an idle bridge and unfinished network directories are reported and repaired; a running container is never', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const net = await userNetwork(t, b, 'sharednet');
  const idle = await userNetwork(t, b, 'idlenet');
  const keeperPort = await freePort();
  const lostPort = await freePort();
  const keeper = b.ok(['run', '-d', '--name', 'keeper', '--network', 'sharednet', '-p', `${keeperPort}:80`, img, ...SERVE]).trim();
  const lost = b.ok(['run', '-d', '--name', 'lost', '--network', 'sharednet', '-p', `${lostPort}:80`, img, ...SERVE]).trim();
  assert.equal(await httpGet(lostPort, '/hostname'), `${lost.slice(0, 12)}\n`);
  const lostPid = Number(b.ok(['inspect', '-f', '{{.State.Pid}}', 'lost']));
  const ipOf = (name: string) => b.ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "sharednet").IPAddress}}', name]).trim();
  const keeperIp = ipOf('keeper');
  const lostIp = ipOf('lost');
  for (const ip of [keeperIp, lostIp]) assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  assert.match(b.ok(['exec', 'keeper', 'nslookup', 'lost']), new RegExp(`Address: ${lostIp.replace(/\./g, '\\.')}\\b`), 'the resolver knows the lost container before');
  b.containerIds(); // remember the ids for the leak checks
  // What a crash mid-`rm -f` leaves: the processes gone, the record and name gone, the network up.
  const shimPid = Number(readFileSync(join(b.runRoot, 'c', lost, 'shim.pid'), 'utf8').split(' ')[0]);
  process.kill(shimPid, 'SIGKILL');
  process.kill(lostPid, 'SIGKILL');
  assert.ok(await until(() => !alive(shimPid) && !alive(lostPid)));
  rmSync(join(b.root, 'containers', lost), { recursive: true });
  rmSync(join(b.root, 'names', 'lost'));
  // A stop killed between releasing the last endpoint and removing the bridge leaves it up.
  assert.equal(spawnSync('ip', ['link', 'add', idle.bridge, 'type', 'bridge']).status, 0, `ip link add ${idle.bridge}`);
  t.after(() => void spawnSync('ip', ['link', 'del', idle.bridge]));
  // A network create and a network rm killed half-way.
  const newDir = join(b.root, 'networks', `.new-${randomBytes(32).toString('hex')}`);
  const goneDir = join(b.root, 'networks', `.gone-${randomBytes(32).toString('hex')}`);
  mkdirSync(newDir);
  mkdirSync(goneDir);

  const found = b.run(['system', 'check']);
  assert.equal(found.code, 1, found.stdout + found.stderr);
  assert.deepEqual(kinds(found.stdout), ['idle-bridge', 'orphan-snapshot', 'stale-network', 'stale-run-dir', 'stale-runtime-state', 'unfinished-network', 'unfinished-network']);
  assert.match(found.stdout, new RegExp(`stale-network: container ${lost.slice(0, 12)} \\(it has no record\\) still holds network state .* \\[repair: take its network down\\]`));
  assert.match(found.stdout, new RegExp(`idle-bridge: bridge ${idle.bridge} of network idlenet is up though no container is on the network \\[repair: remove the bridge\\]`));
  assert.match(found.stdout, /unfinished-network: network directory \.new-[0-9a-f]{64} was left by a network create or rm that was killed/);
  assert.match(found.stdout, /unfinished-network: network directory \.gone-[0-9a-f]{64}/);
  assert.ok(!found.stdout.includes(keeper.slice(0, 12)), `the running container is not reported:\n${found.stdout}`);
  assert.ok(existsSync(join('/sys/class/net', hostVethName(lost, net.id))), 'a check without --repair changes nothing');

  const repaired = b.run(['system', 'check', '--repair']);
  assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
  assert.match(repaired.stdout, /7 problems found, 7 repaired\.\n$/);
  assert.equal(b.ok(['system', 'check']), 'No problems found.\n', 'one --repair was enough');
  assert.ok(!existsSync(join('/sys/class/net', idle.bridge)), 'the idle bridge went');
  assert.ok(!existsSync(newDir) && !existsSync(goneDir));
  // The lost container's part is gone; the keeper's network is intact and serves.
  const left = networkLeft(b, net, [keeper, lost]);
  assert.ok(!left.some((l) => l.includes(lost.slice(0, 12))), `nothing of the lost container: ${left.join(', ')}`);
  assert.ok(!readdirSync(join(b.runRoot, 'netns')).includes(lost));
  assert.equal(await httpGet(keeperPort, '/hostname'), `${keeper.slice(0, 12)}\n`, 'the running container still serves on its port');
  // The resolver forgot the lost container and still answers for the keeper.
  assert.ok(!b.run(['exec', 'keeper', 'nslookup', 'lost']).stdout.includes(lostIp), 'the lost container no longer resolves');
  assert.match(b.ok(['exec', 'keeper', 'nslookup', 'keeper']), new RegExp(`Address: ${keeperIp.replace(/\./g, '\\.')}\\b`), "the keeper's resolver still answers");
  b.ok(['rm', '-f', 'keeper']);
  assert.deepEqual(networkLeft(b, net, [keeper, lost]), []);
  assert.deepEqual(b.residue(), []);
});
