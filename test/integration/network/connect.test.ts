/**
 * `network connect` and `network disconnect` of a running container, live: it gets an eth1 on
 * the second network and reaches a container there (by address and by name), inspect and
 * `network inspect` follow, and disconnect takes the interface and the reachability away while
 * the container keeps running on its first network.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpdScript, netEnv, netSkip } from '../helpers/net-env';

const skip = netSkip();

const containersOf = (env: ReturnType<typeof netEnv>, net: string): string[] => {
  const doc = JSON.parse(env.ok(['network', 'inspect', net])) as Array<{ Containers: Record<string, { Name: string }> }>;
  return Object.values(doc[0]!.Containers).map((c) => c.Name).sort();
};

test('connect a running container: eth1 on the other network reaches it; disconnect live takes it away', { skip }, async (t) => {
  const env = netEnv(t, 'connect-live');
  env.ok(['network', 'create', 'front']);
  env.ok(['network', 'create', 'back']);
  env.ok(['run', '-d', '--name', 'db', '--network', 'back', env.img, 'sh', '-c', httpdScript('from back')]);
  env.ok(['run', '-d', '--name', 'app', '--network', 'front', env.img, 'sleep', '1000']);
  const dbIp = env.ok(['inspect', '-f', '{{.NetworkSettings.Networks.back.IPAddress}}', 'db']).trim();

  const before = env.ok(['exec', 'app', 'ip', '-o', 'link']);
  assert.doesNotMatch(before, /\beth1\b/);
  const apart = env.b.run(['exec', 'app', 'timeout', '2', 'wget', '-O-', `http://${dbIp}/`]);
  assert.notEqual(apart.code, 0, `the networks are apart, yet ${dbIp} answered: ${apart.stdout}${apart.stderr}\nroutes: ${env.ok(['exec', 'app', 'ip', 'route'])}`);

  env.ok(['network', 'connect', '--alias', 'appalias', 'back', 'app']);
  const appBackIp = env.ok(['inspect', '-f', '{{.NetworkSettings.Networks.back.IPAddress}}', 'app']).trim();
  assert.match(appBackIp, /^\d+\.\d+\.\d+\.\d+$/);
  const eth1 = env.ok(['exec', 'app', 'ip', '-4', '-o', 'addr', 'show', 'eth1']);
  assert.ok(eth1.includes(`${appBackIp}/`), eth1);
  assert.equal((await env.execUntil('app', `timeout 3 wget -O- http://${dbIp}/`)).stdout, 'from back\n');
  assert.ok((await env.execUntil('db', 'nslookup appalias')).stdout.includes(appBackIp), 'the alias given at connect resolves');
  assert.deepEqual(containersOf(env, 'back'), ['app', 'db']);
  assert.deepEqual(Object.keys(JSON.parse(env.ok(['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'app'])) as object).sort(), ['back', 'front']);

  env.ok(['network', 'disconnect', 'back', 'app']);
  assert.doesNotMatch(env.ok(['exec', 'app', 'ip', '-o', 'link']), /\beth1\b/, 'eth1 is gone');
  assert.notEqual(env.b.run(['exec', 'app', 'timeout', '2', 'wget', '-O-', `http://${dbIp}/`]).code, 0, 'back is unreachable again');
  assert.deepEqual(containersOf(env, 'back'), ['db']);
  assert.equal(env.ok(['inspect', '-f', '{{.State.Status}}', 'app']).trim(), 'running', 'the container keeps running');
  assert.deepEqual(env.ok(['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', 'app']).trim(), 'front');

  // Connecting twice, or disconnecting what is not connected, is one clear error.
  const again = env.b.run(['network', 'disconnect', 'back', 'app']);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /not connected|is not/i, again.stderr);

  await env.assertNoLeaks({ removeNetworks: true });
});

test('--network a --network b at run: one interface per network, both reachable', { skip }, async (t) => {
  const env = netEnv(t, 'connect-two');
  env.ok(['network', 'create', 'neta']);
  env.ok(['network', 'create', 'netb']);
  env.ok(['run', '-d', '--name', 'srva', '--network', 'neta', env.img, 'sh', '-c', httpdScript('a')]);
  env.ok(['run', '-d', '--name', 'srvb', '--network', 'netb', env.img, 'sh', '-c', httpdScript('b')]);
  env.ok(['run', '-d', '--name', 'both', '--network', 'neta', '--network', 'netb', env.img, 'sleep', '1000']);
  const links = env.ok(['exec', 'both', 'ip', '-o', 'link']);
  assert.match(links, /\beth0\b/);
  assert.match(links, /\beth1\b/);
  assert.equal((await env.execUntil('both', 'timeout 3 wget -O- http://srva/')).stdout, 'a\n');
  assert.equal((await env.execUntil('both', 'timeout 3 wget -O- http://srvb/')).stdout, 'b\n');
  await env.assertNoLeaks({ removeNetworks: true });
});

test('a container connected to a second network resolves the names of that network too', { skip }, async (t) => {
  const env = netEnv(t, 'connect-names');
  env.ok(['network', 'create', 'first']);
  env.ok(['network', 'create', 'second']);
  env.ok(['run', '-d', '--name', 'db', '--network', 'second', env.img, 'sh', '-c', httpdScript('from second')]);
  env.ok(['run', '-d', '--name', 'app', '--network', 'first', env.img, 'sleep', '1000']);
  env.ok(['network', 'connect', 'second', 'app']);
  const r = await env.execUntil('app', 'timeout 3 wget -O- http://db/');
  assert.equal(r.stdout, 'from second\n', `by name on the joined network: ${r.stderr}`);
  await env.assertNoLeaks({ removeNetworks: true });
});
