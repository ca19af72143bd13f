/**
 * IPv6 between containers: `network create --ipv6 --subnet fd00:b37:NNNN::/64`, two
 * containers with an address each from it, reaching each other over IPv6 by address and by
 * name (AAAA from the network's resolver). Skipped, saying why, when the kernel has no IPv6.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { httpdScript, netEnv, netSkip } from '../helpers/net-env';

function ipv6Skip(): string | false {
  const base = netSkip();
  if (base) return base;
  if (!existsSync('/proc/net/if_inet6')) return 'the kernel has no IPv6 (/proc/net/if_inet6 is missing)';
  const off = '/proc/sys/net/ipv6/conf/all/disable_ipv6';
  if (existsSync(off) && readFileSync(off, 'utf8').trim() === '1') return 'IPv6 is disabled (net.ipv6.conf.all.disable_ipv6=1)';
  return false;
}

const skip = ipv6Skip();

test('--ipv6 network: container to container over IPv6, by address and by name', { skip }, async (t) => {
  const env = netEnv(t, 'ipv6');
  // A ULA /64 of its own (the host's fd00::/64 on eth0 must not be touched or overlapped).
  const prefix = `fd00:b37:${(0x1000 + Math.floor(Math.random() * 0xe000)).toString(16)}:`;
  env.ok(['network', 'create', '--ipv6', '--subnet', `${prefix}:/64`, 'v6net']);
  const doc = JSON.parse(env.ok(['network', 'inspect', 'v6net'])) as Array<{ EnableIPv6: boolean; IPAM: { Config: Array<{ Subnet: string }> } }>;
  assert.equal(doc[0]!.EnableIPv6, true);
  assert.ok(doc[0]!.IPAM.Config.some((c) => c.Subnet === `${prefix}:/64`), JSON.stringify(doc[0]!.IPAM));

  env.ok(['run', '-d', '--name', 'six', '--network', 'v6net', env.img, 'sh', '-c', httpdScript('over ipv6')]);
  env.ok(['run', '-d', '--name', 'peer6', '--network', 'v6net', env.img, 'sleep', '1000']);
  const addr = env.ok(['inspect', '-f', '{{.NetworkSettings.Networks.v6net.GlobalIPv6Address}}', 'six']).trim();
  assert.ok(addr.startsWith(prefix), `an address from ${prefix}:/64: ${addr}`);
  assert.ok(env.ok(['exec', 'six', 'ip', '-6', '-o', 'addr', 'show', 'eth0']).includes(`${addr}/64`));

  const ping = await env.execUntil('peer6', `ping6 -c 1 -W 2 ${addr}`);
  assert.equal(ping.code, 0, `ping6 ${addr}: ${ping.stdout}${ping.stderr}`);
  assert.equal((await env.execUntil('peer6', `timeout 3 wget -O- 'http://[${addr}]/'`)).stdout, 'over ipv6\n');
  const ns = await env.execUntil('peer6', 'nslookup -type=AAAA six');
  assert.ok(ns.stdout.includes(addr), `AAAA for six:\n${ns.stdout}${ns.stderr}`);
  await env.assertNoLeaks({ removeNetworks: true });
});
