/**
 * Published ports, black-box through the CLI as docker users type it: busybox httpd behind
 * `-p HOSTPORT:80` fetched from the host on 127.0.0.1 and on the host's own address (with our
 * client and with curl), `-p 127.0.0.1::80` with `berth port`, `-P` for an image's EXPOSE,
 * a port range, UDP (busybox nc -u, or a tiny static responder where busybox lacks it), inspect's NetworkSettings.Ports, and hairpin (a
 * container fetching its own published port through the host's address and its gateway).
 * Traffic goes only to loopback, the host's own address and addresses on Berth's bridges.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxImageTar } from '../../helpers/rootfs';
import { freePort, freePortRange, hostAddress, httpGet, httpGetWhenUp, udpAsk } from '../helpers/net-client';
import { httpdScript, netEnv, netSkip } from '../helpers/net-env';
import { udpServer } from '../helpers/net-udp';
import { networksOnDisk } from '../helpers/net-leaks';

const skip = netSkip();
const curl = spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;

test('-p HOSTPORT:80: busybox httpd answers on 127.0.0.1 and the host address, curl too; inspect shows the binding', { skip }, async (t) => {
  const env = netEnv(t, 'publish-http');
  const port = await freePort();
  env.ok(['run', '-d', '--name', 'web', '-p', `${port}:80`, env.img, 'sh', '-c', httpdScript('hello from web')]);

  const local = await httpGetWhenUp('127.0.0.1', port);
  assert.equal(local.status, 200);
  assert.equal(local.body, 'hello from web\n');

  const host = hostAddress();
  if (host) {
    const viaHost = await httpGet(host, port);
    assert.equal(viaHost.body, 'hello from web\n', `through the host's own address ${host}`);
  } else t.diagnostic('the host has no non-loopback IPv4 address: only 127.0.0.1 checked');

  if (curl) {
    const c = spawnSync('curl', ['-sS', '--max-time', '5', `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    assert.equal(c.stdout, 'hello from web\n');
  } else t.diagnostic('curl is not installed: skipped the curl fetch');

  const ports = JSON.parse(env.ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'web'])) as Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
  assert.deepEqual(Object.keys(ports), ['80/tcp']);
  assert.ok(ports['80/tcp']!.some((b) => b.HostPort === String(port) && (b.HostIp === '0.0.0.0' || b.HostIp === '')), JSON.stringify(ports));
  assert.match(env.ok(['port', 'web']), new RegExp(`^80/tcp -> 0\\.0\\.0\\.0:${port}$`, 'm'));
  assert.match(env.ok(['ps', '--format', '{{.Ports}}']), new RegExp(`0\\.0\\.0\\.0:${port}->80/tcp`));

  await env.assertNoLeaks();
  await assert.rejects(httpGet('127.0.0.1', port, '/', 1500), 'nothing answers once the container is gone');
});

test('-p 127.0.0.1::80: an ephemeral port on loopback only, reported by `berth port`', { skip }, async (t) => {
  const env = netEnv(t, 'publish-ephemeral');
  env.ok(['run', '-d', '--name', 'eph', '-p', '127.0.0.1::80', env.img, 'sh', '-c', httpdScript('ephemeral')]);
  const line = env.ok(['port', 'eph', '80']).trim();
  const m = /^127\.0\.0\.1:(\d+)$/.exec(line);
  assert.ok(m, `berth port eph 80 printed ${JSON.stringify(line)}`);
  const port = Number(m[1]);
  assert.ok(port >= 1024 && port <= 65535);
  assert.equal((await httpGetWhenUp('127.0.0.1', port)).body, 'ephemeral\n');
  const host = hostAddress();
  if (host) await assert.rejects(httpGet(host, port, '/', 1500), 'bound to 127.0.0.1 only: the host address does not answer');
  assert.equal(env.ok(['port', 'eph']).trim(), `80/tcp -> 127.0.0.1:${port}`);
  await env.assertNoLeaks();
});

test('-P publishes every EXPOSEd port of the image on a free host port', { skip }, async (t) => {
  const env = netEnv(t, 'publish-all');
  const dir = mkdtempSync(join(tmpdir(), 'berth-expose-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tar = makeBusyboxImageTar(join(dir, 'rootfs.tar'));
  env.ok(['import', '-c', 'EXPOSE 80/tcp 9000/udp', '-c', 'CMD ["sh"]', tar, 'exposed:test']);
  env.ok(['run', '-d', '--name', 'all', '-P', 'exposed:test', 'sh', '-c', httpdScript('published by -P')]);
  const lines = env.ok(['port', 'all']).trim().split('\n').sort();
  assert.equal(lines.length >= 2, true, lines.join('\n'));
  const tcp = lines.find((l) => l.startsWith('80/tcp -> 0.0.0.0:'));
  assert.ok(tcp, lines.join('\n'));
  assert.ok(lines.some((l) => /^9000\/udp -> 0\.0\.0\.0:\d+$/.test(l)), lines.join('\n'));
  const port = Number(tcp.split(':').pop());
  assert.equal((await httpGetWhenUp('127.0.0.1', port)).body, 'published by -P\n');
  await env.assertNoLeaks();
});

test('a published port range maps each host port to its container port', { skip }, async (t) => {
  const env = netEnv(t, 'publish-range');
  const first = await freePortRange(3);
  const script = [81, 82, 83].map((p) => `mkdir -p /w${p} && echo port${p} > /w${p}/index.html && httpd -p ${p} -h /w${p}`).join(' && ') + ' && exec sleep 1000';
  env.ok(['run', '-d', '--name', 'range', '-p', `${first}-${first + 2}:81-83`, env.img, 'sh', '-c', script]);
  for (let i = 0; i < 3; i++) assert.equal((await httpGetWhenUp('127.0.0.1', first + i)).body, `port${81 + i}\n`);
  const ports = JSON.parse(env.ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'range'])) as Record<string, Array<{ HostPort: string }>>;
  assert.deepEqual(Object.keys(ports).sort(), ['81/tcp', '82/tcp', '83/tcp']);
  assert.equal(ports['82/tcp']![0]!.HostPort, String(first + 1));
  await env.assertNoLeaks();
});

test('UDP through a published port: a datagram from the host is answered from inside', { skip }, async (t) => {
  const env = netEnv(t, 'publish-udp');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'berth-udp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const server = udpServer(dir, 5353);
  if ('reason' in server) return t.skip(server.reason);
  env.ok(['run', '-d', '--name', 'udp', '-p', `${port}:5353/udp`, ...server.volumes, env.img, ...server.command]);
  const answer = await udpAsk('127.0.0.1', port, 'ping\n', 10_000);
  assert.equal(answer, server.expect('ping\n'));
  const host = hostAddress();
  if (host) assert.equal(await udpAsk(host, port, 'via host\n', 5000), server.expect('via host\n'));
  assert.ok(env.ok(['port', 'udp', '5353/udp']).split('\n').includes(`0.0.0.0:${port}`), 'berth port names the UDP binding');
  await env.assertNoLeaks();
});

test('hairpin: a container fetches its own published port through the host address and the gateway', { skip }, async (t) => {
  const env = netEnv(t, 'publish-hairpin');
  const port = await freePort();
  env.ok(['network', 'create', 'hairnet']);
  env.ok(['run', '-d', '--name', 'hair', '--network', 'hairnet', '-p', `${port}:80`, env.img, 'sh', '-c', httpdScript('hairpin')]);
  await httpGetWhenUp('127.0.0.1', port);
  const gateway = env.ok(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}', 'hair']).trim();
  assert.match(gateway, /^\d+\.\d+\.\d+\.\d+$/);
  const targets = [gateway, hostAddress()].filter((a): a is string => a !== undefined);
  for (const addr of targets) {
    const r = await env.execUntil('hair', `timeout 3 wget -O- http://${addr}:${port}/`);
    assert.equal(r.code, 0, `wget ${addr}:${port} from inside: ${r.stderr}`);
    assert.equal(r.stdout, 'hairpin\n');
  }
  // And from a second container on the same network, through the same addresses.
  env.ok(['run', '-d', '--name', 'peer', '--network', 'hairnet', env.img, 'sleep', '1000']);
  for (const addr of targets) assert.equal((await env.execUntil('peer', `timeout 3 wget -O- http://${addr}:${port}/`)).stdout, 'hairpin\n');
  await env.assertNoLeaks({ removeNetworks: true });
});

test('the default bridge: a published port answers and the container reaches the host address', { skip }, async (t) => {
  const env = netEnv(t, 'publish-default');
  const port = await freePort();
  env.ok(['run', '-d', '--name', 'dflt', '-p', `${port}:80`, env.img, 'sh', '-c', httpdScript('default bridge')]);
  assert.equal((await httpGetWhenUp('127.0.0.1', port)).body, 'default bridge\n');
  const nets = env.ok(['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.IPAddress}}{{end}}', 'dflt']).trim();
  assert.match(nets, /^bridge \d+\.\d+\.\d+\.\d+$/);
  assert.match(env.ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'dflt']).trim(), /^\d+\.\d+\.\d+\.\d+$/);
  const defaultBridge = networksOnDisk(env.b.root).find((n) => n.name === 'bridge')?.bridge;
  assert.ok(defaultBridge && env.leaks.bridgesNow().includes(defaultBridge), `the default network has its bridge (${defaultBridge}) while a container uses it`);
  await env.assertNoLeaks();
});
