/**
 * The network modes, observed from inside the containers: an `--internal` network (peers
 * reach each other, the host's own address does not answer them while a normal network's
 * container does reach it), `--network none` (loopback only), `--network host` (the host's
 * interfaces) and `--network container:web` (web's interfaces and its loopback services).
 * The only host address contacted is the host's own, where this test listens itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostAddress, hostListener } from '../helpers/net-client';
import { hostLinks } from '../helpers/net-leaks';
import { httpdScript, netEnv, netSkip } from '../helpers/net-env';

const skip = netSkip();

test('--internal: peers reach each other, not the host address; a normal network does reach it', { skip }, async (t) => {
  const env = netEnv(t, 'modes-internal');
  const host = hostAddress();
  if (!host) return t.skip('the host has no non-loopback IPv4 address to test against');
  const listener = await hostListener(host, 'host-listener\n');
  t.after(listener.stop);
  const port = listener.port;

  env.ok(['network', 'create', '--internal', 'sealed']);
  env.ok(['network', 'create', 'open']);
  env.ok(['run', '-d', '--name', 'in1', '--network', 'sealed', env.img, 'sh', '-c', httpdScript('inside')]);
  env.ok(['run', '-d', '--name', 'in2', '--network', 'sealed', env.img, 'sleep', '1000']);
  env.ok(['run', '-d', '--name', 'out', '--network', 'open', env.img, 'sleep', '1000']);

  const probe = `nc -w 2 ${host} ${port} </dev/null`;
  assert.equal((await env.execUntil('out', probe)).stdout, 'host-listener\n', 'control: a normal network reaches the host address');
  const sealed = env.b.run(['exec', 'in2', 'sh', '-c', probe]);
  assert.ok(sealed.code !== 0 || !sealed.stdout.includes('host-listener'), `an internal network has no way out: ${sealed.stdout}`);
  assert.doesNotMatch(env.ok(['exec', 'in2', 'ip', 'route']), /^default/m, 'no default route on an internal network');
  assert.equal(JSON.parse(env.ok(['network', 'inspect', '-f', '{{json .Internal}}', 'sealed'])), true);
  assert.equal((await env.execUntil('in2', 'timeout 3 wget -O- http://in1/')).stdout, 'inside\n', 'peers on an internal network talk');
  await env.assertNoLeaks({ removeNetworks: true });
});

test('--network none: loopback only', { skip }, async (t) => {
  const env = netEnv(t, 'modes-none');
  const links = env.ok(['run', '--rm', '--network', 'none', env.img, 'sh', '-c', 'ip -o link | cut -d: -f2 | tr -d " "']);
  assert.equal(links, 'lo\n');
  env.ok(['run', '-d', '--name', 'none1', '--network', 'none', env.img, 'sleep', '1000']);
  assert.deepEqual(Object.keys(JSON.parse(env.ok(['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'none1'])) as object), ['none']);
  assert.equal(env.ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'none1']).trim(), '');
  await env.assertNoLeaks();
});

test('--network host: the host\'s interfaces', { skip }, async (t) => {
  const env = netEnv(t, 'modes-host');
  const inside = env.ok(['run', '--rm', '--network', 'host', env.img, 'sh', '-c', 'ip -o link | cut -d: -f2 | tr -d " " | cut -d@ -f1']).split('\n').filter(Boolean);
  const hostNames = new Set(hostLinks().map((l) => l.ifname));
  assert.ok(inside.includes('lo'));
  for (const name of ['eth0'].filter((n) => hostNames.has(n))) assert.ok(inside.includes(name), `the host's ${name} is seen: ${inside.join(' ')}`);
  assert.ok(inside.every((n) => hostNames.has(n) || /^(veth|br-|berth)/.test(n)), `only host links (${inside.join(' ')})`);
  const host = hostAddress();
  if (host) assert.match(env.ok(['run', '--rm', '--network', 'host', env.img, 'ip', '-4', '-o', 'addr']), new RegExp(host.replace(/\./g, '\\.')));
  await env.assertNoLeaks();
});

test('--network container:web: web\'s interfaces, and its loopback services', { skip }, async (t) => {
  const env = netEnv(t, 'modes-container');
  env.ok(['network', 'create', 'shared']);
  env.ok(['run', '-d', '--name', 'web', '--network', 'shared', env.img, 'sh', '-c', httpdScript('shared stack')]);
  const webAddrs = (await env.execUntil('web', 'ip -4 -o addr | tr -s " " | cut -d" " -f2,4')).stdout;
  assert.match(webAddrs, /eth0 \d+\.\d+\.\d+\.\d+\/\d+/);
  env.ok(['run', '-d', '--name', 'side', '--network', 'container:web', env.img, 'sleep', '1000']);
  assert.equal(env.ok(['exec', 'side', 'sh', '-c', 'ip -4 -o addr | tr -s " " | cut -d" " -f2,4']), webAddrs, 'the same interfaces and addresses');
  assert.equal((await env.execUntil('side', 'timeout 3 wget -O- http://127.0.0.1/')).stdout, 'shared stack\n', "web's server on the shared loopback");
  await env.assertNoLeaks({ removeNetworks: true });
});
