/**
 * Nothing of the networking outlives what needs it: after `rm`, after a start that failed
 * (a command that does not exist, started on a user network with a published port), and after
 * `kill -9` of the CLI in the middle of `run -d` at each networking step (BERTH_CRASH_AT, no
 * timing: src/core/crash-point.ts) followed by `berth ps -a`, the next command, which
 * reconciles. Checked each time: no stray bridge or veth, no element in Berth's nft table, no
 * netns file or mount, no resolver process, no firewall or IPAM entry; and the name and the
 * address can be used again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, httpGetWhenUp } from '../helpers/net-client';
import { networksOnDisk } from '../helpers/net-leaks';
import { httpdScript, netEnv, netSkip } from '../helpers/net-env';

const skip = netSkip();

/** The networking steps of a start, in order (the crash points the container side names). */
const NET_STEPS = ['net:netns', 'net:links', 'net:firewall', 'net:dns'] as const;

test('after rm of containers on the default bridge and a user network, nothing is left', { skip }, async (t) => {
  const env = netEnv(t, 'leaks-rm');
  const port = await freePort();
  env.ok(['network', 'create', 'leaknet']);
  env.ok(['run', '-d', '--name', 'aa', '--network', 'leaknet', '-p', `${port}:80`, env.img, 'sh', '-c', httpdScript('aa')]);
  env.ok(['run', '-d', '--name', 'bb', '--network', 'leaknet', env.img, 'sleep', '1000']);
  env.ok(['run', '-d', '--name', 'cc', env.img, 'sleep', '1000']);
  await httpGetWhenUp('127.0.0.1', port);
  const bridges = env.leaks.bridgesNow();
  const nets = networksOnDisk(env.b.root);
  for (const name of ['bridge', 'leaknet']) {
    const br = nets.find((n) => n.name === name)?.bridge;
    assert.ok(br && bridges.includes(br), `network ${name}'s bridge ${br} exists while containers run: ${bridges.join(' ')}`);
  }
  // A stopped container keeps nothing either (docker: its endpoint goes at stop).
  env.ok(['stop', '-t', '1', 'bb']);
  assert.deepEqual(networksOnDisk(env.b.root).find((n) => n.name === 'leaknet')?.endpoints.length, 1, 'only the running container holds an address');
  await env.assertNoLeaks({ removeNetworks: true });
});

test('after a failed start (no such command) on a user network with a published port, nothing is left', { skip }, async (t) => {
  const env = netEnv(t, 'leaks-failed');
  const port = await freePort();
  env.ok(['network', 'create', 'failnet']);
  const r = env.b.run(['run', '-d', '--name', 'broken', '--network', 'failnet', '-p', `${port}:80`, env.img, '/no/such/command']);
  assert.notEqual(r.code, 0, 'the start fails');
  assert.deepEqual(await env.leaks.settledLeaks(), [], 'the failed start undid its networking');
  // The same name, port and network work right after.
  env.ok(['rm', '-f', 'broken']);
  env.ok(['run', '-d', '--name', 'broken', '--network', 'failnet', '-p', `${port}:80`, env.img, 'sh', '-c', httpdScript('second try')]);
  assert.equal((await httpGetWhenUp('127.0.0.1', port)).body, 'second try\n');
  await env.assertNoLeaks({ removeNetworks: true });
});

for (const step of NET_STEPS) {
  test(`run -d killed at ${step}: the next command (ps -a) reconciles, nothing is left, the address is free again`, { skip }, async (t) => {
    const env = netEnv(t, `leaks-${step.replace(':', '-')}`);
    const port = await freePort();
    env.ok(['network', 'create', '--subnet', '10.252.250.0/29', 'crashnet']);
    const args = ['run', '-d', '--name', 'victim', '--network', 'crashnet', '--ip', '10.252.250.2', '-p', `${port}:80`, env.img, 'sh', '-c', httpdScript('after the crash')];
    const r = env.b.run(args, { env: { BERTH_CRASH_AT: step } });
    assert.equal(r.signal, 'SIGKILL', `berth run reached ${step} (exit ${r.code}, stderr: ${r.stderr})`);

    const ps = env.b.run(['ps', '-a', '--format', '{{.Names}} {{.State}}']);
    assert.equal(ps.code, 0, ps.stderr);
    assert.doesNotMatch(ps.stdout, /running/, 'the killed start did not leave a running container');
    assert.deepEqual(await env.leaks.settledLeaks(), [], `after ${step} and ps -a`);

    // The static address and the port are free: the same run succeeds.
    if (ps.stdout.includes('victim')) env.ok(['rm', '-f', 'victim']);
    env.ok(args);
    assert.equal((await httpGetWhenUp('127.0.0.1', port)).body, 'after the crash\n');
    assert.equal(env.ok(['inspect', '-f', '{{.NetworkSettings.Networks.crashnet.IPAddress}}', 'victim']).trim(), '10.252.250.2');
    await env.assertNoLeaks({ removeNetworks: true });
  });
}

test('kill -9 of a running container\'s processes and rm -f: its networking goes', { skip }, async (t) => {
  const env = netEnv(t, 'leaks-kill');
  env.ok(['network', 'create', 'killnet']);
  env.ok(['run', '-d', '--name', 'killed', '--network', 'killnet', env.img, 'sleep', '1000']);
  const pid = Number(env.ok(['inspect', '-f', '{{.State.Pid}}', 'killed']).trim());
  assert.ok(pid > 0);
  process.kill(pid, 'SIGKILL');
  // The shim notices the exit; the container's endpoint is released without a further command.
  const deadline = Date.now() + 10_000;
  while (env.ok(['inspect', '-f', '{{.State.Status}}', 'killed']).trim() === 'running' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await env.leaks.settledLeaks(), [], 'a container that died released its networking');
  await env.assertNoLeaks({ removeNetworks: true });
});
