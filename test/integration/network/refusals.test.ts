/**
 * Bad input and held resources, through the CLI: each is one clear error naming what is
 * wrong, and nothing is left behind (no running container, no rule, no netns file, no
 * resolver, no address allocated): a host port held by another process (refused before the
 * container starts, naming the port and the holder's pid), a malformed -p, an unknown
 * --network, and --ip outside the network's subnet or already taken.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { netEnv, netSkip } from '../helpers/net-env';

const skip = netSkip();

/** A /24 under 10.252.0.0/16 unlikely to be used by a concurrent test's root. */
const randomSubnet = () => `10.252.${10 + Math.floor(Math.random() * 240)}`;

test('a host port held by another listener is refused before start, naming the port and the holder; nothing is left', { skip }, async (t) => {
  const env = netEnv(t, 'refuse-held');
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '0.0.0.0', r));
  t.after(() => holder.close());
  const port = (holder.address() as AddressInfo).port;

  const r = env.b.run(['run', '-d', '--name', 'late', '-p', `${port}:80`, env.img, 'sleep', '1000']);
  assert.notEqual(r.code, 0, 'the run is refused');
  assert.match(r.stderr, new RegExp(`\\b${port}/tcp\\b`), `the message names the port: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`\\b${process.pid}\\b`), `the message names the holder's pid ${process.pid}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  // Docker leaves the container created (its start failed); it must not run, and nothing of a network remains.
  assert.equal(env.b.run(['ps', '-q']).stdout.trim(), '', 'no container runs');
  const state = env.b.run(['inspect', '-f', '{{.State.Status}}', 'late']);
  if (state.code === 0) assert.match(state.stdout.trim(), /^(created|exited)$/);
  assert.deepEqual(await env.leaks.settledLeaks(), [], 'a failed start leaves nothing');
  await env.assertNoLeaks();
});

test('a malformed -p is one clear error and creates nothing', { skip }, (t) => {
  const env = netEnv(t, 'refuse-p');
  for (const spec of ['80:abc', '99999:80', '8080:80/tcpx', '1.2.3:80:80', '90-80:80', '8080-8081:80-82']) {
    const r = env.b.run(['run', '-d', '-p', spec, env.img, 'true']);
    assert.notEqual(r.code, 0, `-p ${spec} is refused`);
    assert.ok(r.stderr.includes(spec) || r.stderr.includes(spec.split(':')[0]!), `the message names the bad spec ${spec}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.equal(env.b.run(['ps', '-aq']).stdout.trim(), '', 'no container was created');
  assert.deepEqual(env.leaks.leaks(), []);
});

test('an unknown --network is refused, naming it, and creates nothing', { skip }, async (t) => {
  const env = netEnv(t, 'refuse-net');
  for (const cmd of ['run', 'create']) {
    const r = env.b.run([cmd, '--network', 'nosuchnet', env.img, 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /nosuchnet/, r.stderr);
    assert.match(r.stderr, /not found|no such network|does not exist/i, r.stderr);
  }
  assert.equal(env.b.run(['ps', '-aq']).stdout.trim(), '', 'no container was created');
  await env.assertNoLeaks();
});

test('--ip outside the subnet, or taken, is refused naming the address; the first holder keeps it', { skip }, async (t) => {
  const env = netEnv(t, 'refuse-ip');
  const net = randomSubnet();
  env.ok(['network', 'create', '--subnet', `${net}.0/24`, 'ipnet']);

  const outside = env.b.run(['run', '-d', '--network', 'ipnet', '--ip', '10.253.1.5', env.img, 'sleep', '1000']);
  assert.notEqual(outside.code, 0);
  assert.match(outside.stderr, /10\.253\.1\.5/, outside.stderr);
  assert.match(outside.stderr, new RegExp(`${net.replace(/\./g, '\\.')}\\.0/24|subnet`), `names the subnet: ${outside.stderr}`);

  env.ok(['run', '-d', '--name', 'first', '--network', 'ipnet', '--ip', `${net}.10`, env.img, 'sleep', '1000']);
  assert.equal(env.ok(['inspect', '-f', '{{.NetworkSettings.Networks.ipnet.IPAddress}}', 'first']).trim(), `${net}.10`);
  const taken = env.b.run(['run', '-d', '--name', 'second', '--network', 'ipnet', '--ip', `${net}.10`, env.img, 'sleep', '1000']);
  assert.notEqual(taken.code, 0);
  assert.match(taken.stderr, new RegExp(`${net.replace(/\./g, '\\.')}\\.10`), taken.stderr);
  assert.match(taken.stderr, /already used|in use|taken|allocated/i, taken.stderr);

  assert.deepEqual(env.b.run(['ps', '--format', '{{.Names}}']).stdout.trim(), 'first', 'only the first runs');
  assert.equal((await env.execUntil('first', 'ip -4 -o addr show eth0')).stdout.includes(`${net}.10/24`), true, 'the holder keeps its address');
  const inspect = JSON.parse(env.ok(['network', 'inspect', 'ipnet'])) as Array<{ Containers: Record<string, { Name: string; IPv4Address: string }> }>;
  assert.deepEqual(Object.values(inspect[0]!.Containers).map((c) => `${c.Name} ${c.IPv4Address}`), [`first ${net}.10/24`]);
  await env.assertNoLeaks({ removeNetworks: true });
});
