/**
 * Names between containers, black-box: on a user-defined network two containers reach each
 * other by name and by --network-alias (busybox wget and nslookup), also one that joins
 * later and one that was renamed; on the default bridge names do not resolve (docker's
 * semantics) but `--link web:alias` works through /etc/hosts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpdScript, netEnv, netSkip } from '../helpers/net-env';

const skip = netSkip();

test('a user network: by name and by alias, one joining later, a renamed one by its new name', { skip }, async (t) => {
  const env = netEnv(t, 'names-user');
  env.ok(['network', 'create', 'appnet']);
  env.ok(['run', '-d', '--name', 'web', '--network', 'appnet', '--network-alias', 'www', env.img, 'sh', '-c', httpdScript('web by name')]);
  env.ok(['run', '-d', '--name', 'client', '--network', 'appnet', env.img, 'sleep', '1000']);

  for (const name of ['web', 'www', 'web.dns.berth']) {
    const r = await env.execUntil('client', `timeout 3 wget -O- http://${name}/`);
    assert.equal(r.code, 0, `wget http://${name}/: ${r.stderr}`);
    assert.equal(r.stdout, 'web by name\n');
  }
  const webIp = env.ok(['inspect', '-f', '{{.NetworkSettings.Networks.appnet.IPAddress}}', 'web']).trim();
  const ns = await env.execUntil('client', 'nslookup web');
  assert.equal(ns.code, 0, ns.stderr);
  assert.ok(ns.stdout.includes(webIp), `nslookup web answers ${webIp}:\n${ns.stdout}`);
  const missing = env.b.run(['exec', 'client', 'nslookup', 'nosuchpeer']);
  assert.notEqual(missing.code, 0, 'an unknown name does not resolve');

  // Joins after the resolver started: seen at once by the others, and sees them.
  env.ok(['run', '-d', '--name', 'late', '--network', 'appnet', env.img, 'sleep', '1000']);
  assert.equal((await env.execUntil('late', 'timeout 3 wget -O- http://www/')).stdout, 'web by name\n');
  const lateIp = env.ok(['inspect', '-f', '{{.NetworkSettings.Networks.appnet.IPAddress}}', 'late']).trim();
  assert.ok((await env.execUntil('client', 'nslookup late')).stdout.includes(lateIp));

  // Renamed: its new name resolves, its old one no longer does.
  env.ok(['rename', 'web', 'site']);
  assert.equal((await env.execUntil('client', 'timeout 3 wget -O- http://site/')).stdout, 'web by name\n');
  const old = await env.execUntil('client', '! nslookup web >/dev/null 2>&1');
  assert.equal(old.code, 0, 'the old name stops resolving');
  assert.equal((await env.execUntil('client', 'timeout 3 wget -O- http://www/')).stdout, 'web by name\n', 'the alias stays');

  await env.assertNoLeaks({ removeNetworks: true });
});

test('the default bridge: names do not resolve, --link web:alias does through /etc/hosts', { skip }, async (t) => {
  const env = netEnv(t, 'names-default');
  env.ok(['run', '-d', '--name', 'web', env.img, 'sh', '-c', httpdScript('linked web')]);
  env.ok(['run', '-d', '--name', 'plain', env.img, 'sleep', '1000']);
  env.ok(['run', '-d', '--name', 'linked', '--link', 'web:backend', env.img, 'sleep', '1000']);
  const webIp = env.ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'web']).trim();
  assert.match(webIp, /^\d+\.\d+\.\d+\.\d+$/);

  // The address itself is reachable from a peer on the bridge; the name is not.
  assert.equal((await env.execUntil('plain', `timeout 3 wget -O- http://${webIp}/`)).stdout, 'linked web\n');
  const byName = env.b.run(['exec', 'plain', 'timeout', '3', 'wget', '-O-', 'http://web/']);
  assert.notEqual(byName.code, 0, 'no name resolution on the default bridge');

  const hosts = env.ok(['exec', 'linked', 'cat', '/etc/hosts']);
  assert.match(hosts, new RegExp(`^${webIp.replace(/\./g, '\\.')}\\s+.*\\bbackend\\b`, 'm'), hosts);
  for (const name of ['backend', 'web']) {
    const r = await env.execUntil('linked', `timeout 3 wget -O- http://${name}/`);
    assert.equal(r.stdout, 'linked web\n', `--link: ${name} reaches web (${r.stderr})`);
  }
  await env.assertNoLeaks();
});
