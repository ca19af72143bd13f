/**
 * Coexistence with dockerd on the same host: a private dockerd in the host's namespace with
 * its iptables on (it sets the FORWARD policy to DROP and adds its DOCKER chains; its bridge
 * takes 10.251.0.1/24), then a Berth container's published port still answers on 127.0.0.1
 * and the host's address, and two Berth containers on a user network still talk. After Berth
 * removed its containers and dockerd stopped, the host's iptables are exactly as dockerd's own
 * teardown leaves them: nothing of Berth's remains, nothing of the host's was removed. The
 * test then takes dockerd's additions away again (helpers/net-dockerd.ts).
 * Skipped when dockerd is not installed or another dockerd already runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, hostAddress, httpGet, httpGetWhenUp } from '../helpers/net-client';
import { HostDockerd, hostDockerdSkip, iptablesSave } from '../helpers/net-dockerd';
import { httpdScript, netEnv, netSkip } from '../helpers/net-env';
import { rootFirewallNames } from '../helpers/net-leaks';

const skip = netSkip() || hostDockerdSkip();

test('with dockerd running (FORWARD policy DROP): published ports answer, containers talk; iptables left as dockerd leaves them', { skip, timeout: 240_000 }, async (t) => {
  const env = netEnv(t, 'dockerd-coexist');
  const dockerd = new HostDockerd();
  t.after(async () => {
    await dockerd.stop();
    const problems = await dockerd.undo();
    if (problems.length) t.diagnostic(`could not undo all of dockerd's iptables changes:\n  ${problems.join('\n  ')}`);
  });
  await dockerd.start();
  if (dockerd.forceForwardDrop()) t.diagnostic('IP forwarding was on already, so dockerd kept FORWARD ACCEPT: the test set DROP as dockerd does elsewhere');
  assert.match(iptablesSave(4).join('\n'), /^:FORWARD DROP/m, 'the FORWARD policy is DROP');

  const port = await freePort();
  env.ok(['network', 'create', 'withdocker']);
  env.ok(['run', '-d', '--name', 'web', '--network', 'withdocker', '-p', `${port}:80`, env.img, 'sh', '-c', httpdScript('berth beside dockerd')]);
  env.ok(['run', '-d', '--name', 'client', '--network', 'withdocker', env.img, 'sleep', '1000']);
  env.ok(['run', '-d', '--name', 'onbridge', '-p', '80', env.img, 'sh', '-c', httpdScript('default bridge beside dockerd')]);

  assert.equal((await httpGetWhenUp('127.0.0.1', port)).body, 'berth beside dockerd\n');
  const host = hostAddress();
  if (host) assert.equal((await httpGet(host, port)).body, 'berth beside dockerd\n', 'through the host address (forwarded, past the DROP policy)');
  const r = await env.execUntil('client', 'timeout 3 wget -O- http://web/');
  assert.equal(r.stdout, 'berth beside dockerd\n', `container to container past the DROP policy: ${r.stderr}`);
  const onBridgePort = Number(env.ok(['port', 'onbridge', '80']).trim().split(':').pop());
  assert.equal((await httpGetWhenUp('127.0.0.1', onBridgePort)).body, 'default bridge beside dockerd\n');

  const ours = [rootFirewallNames(env.b.root).iptablesChain, ...env.leaks.noteNetworks().map((n) => n.bridge)];
  assert.ok(iptablesSave(4).some((l) => l.includes(ours[0]!)), `with dockerd's DROP policy, this root's chain ${ours[0]} lets its bridges through`);
  await env.assertNoLeaks({ removeNetworks: true });
  const whileDockerd = iptablesSave(4).join('\n');
  for (const word of ours) assert.ok(!whileDockerd.includes(word), `Berth's iptables additions (${word}) went with its last container:\n${whileDockerd}`);

  await dockerd.stop();
  for (const family of [4, 6] as const) {
    const d = dockerd.diff(family);
    const berthish = (s: string) => ours.some((word) => s.includes(word));
    assert.deepEqual(d.removedRules, [], `IPv${family}: no rule of the host's was removed`);
    assert.deepEqual(d.removedChains, [], `IPv${family}: no chain of the host's was removed`);
    assert.deepEqual([...d.addedRules, ...d.addedChains].filter(berthish), [], `IPv${family}: nothing of Berth's remains`);
    // Other roots (tests running beside this one) may have their own chain in DOCKER-USER now.
    const notDockers = [...d.addedRules, ...d.addedChains, ...d.changedPolicies].filter((s) => !/DOCKER|docker0|BERTH-FWD-|^filter FORWARD ACCEPT -> DROP$/.test(s));
    assert.deepEqual(notDockers, [], `IPv${family}: every addition left is dockerd's`);
  }
});
