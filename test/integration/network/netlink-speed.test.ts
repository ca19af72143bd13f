/**
 * What one container's network costs: a bridge with its address, a veth pair into the
 * container's namespace, eth0's address, up, and the default route. Done 20 times with
 * rtnetlink from TypeScript and 20 times with iproute2 (one `ip` per step, as a shell script
 * would, and two `ip -batch` runs), in namespaces the test makes; medians are reported as
 * test diagnostics. The netns files live under /run/netns (where `ip -n NAME` looks), with
 * names of this test's own, and are removed afterwards, as is /run/netns if the test made it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Rtnetlink, AF_INET } from '../../../src/network/netlink';
import { createNetns, removeNetns } from '../../../src/network/netns';
import { run, skipReason } from './helpers';

const skip = skipReason(['ip']);
const ROUNDS = 20;
const NETNS_DIR = '/run/netns';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** `ip -n NS -batch -` with `lines` on stdin. */
function ipBatch(ns: string, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['-n', ns, '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch: ${err}`))));
    p.stdin.end(lines.join('\n') + '\n');
  });
}

async function ip(args: string[]): Promise<void> {
  const r = await run('ip', args);
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

test(`one container's bridge + veth + addresses + route: rtnetlink vs ip (median of ${ROUNDS})`, { skip }, async (t) => {
  const madeDir = !existsSync(NETNS_DIR);
  mkdirSync(NETNS_DIR, { recursive: true });
  const tag = `berth-speed-${process.pid}`;
  const made: string[] = [];
  const ns = async (name: string): Promise<{ name: string; path: string; ms: number }> => {
    const path = `${NETNS_DIR}/${tag}-${name}`;
    made.push(path);
    const t0 = performance.now();
    await createNetns(path);
    return { name: `${tag}-${name}`, path, ms: performance.now() - t0 };
  };
  t.after(async () => {
    for (const p of made) await removeNetns(p).catch(() => undefined);
    if (madeDir) {
      try {
        rmdirSync(NETNS_DIR);
      } catch {
        /* someone else's namespace files arrived meanwhile: theirs to remove */
      }
    }
  });
  const host = await ns('host');
  const times = { netns: [] as number[], rtnetlink: [] as number[], ipSteps: [] as number[], ipBatch: [] as number[] };

  for (let i = 0; i < ROUNDS; i++) {
    const net = (k: number): { br: string; veth: string; gw: string; ip: string } => ({ br: `brs${i}x${k}`, veth: `vs${i}x${k}`, gw: `10.${130 + k}.${i}.1`, ip: `10.${130 + k}.${i}.2` });
    const methods: Array<[keyof typeof times, (c: { name: string; path: string }, n: ReturnType<typeof net>) => Promise<void>]> = [
      [
        'rtnetlink',
        async (c, n) => {
          const h = await Rtnetlink.open(host.path);
          const br = await h.createBridge(n.br, { mtu: 1500 });
          await h.addAddress(br.index, `${n.gw}/24`);
          await h.setLink(br.index, { up: true });
          const v = await h.createVeth(n.veth, { peerName: 'eth0', peerNetns: c.path, mtu: 1500 });
          await h.setLink(v.index, { master: br.index, up: true });
          const ct = await Rtnetlink.open(c.path);
          const eth0 = await ct.requireLink('eth0');
          await ct.addAddress(eth0.index, `${n.ip}/24`);
          await ct.setLink(eth0.index, { up: true });
          await ct.addRoute({ gateway: n.gw });
          await Promise.all([h.close(), ct.close()]);
        },
      ],
      [
        'ipSteps',
        async (c, n) => {
          await ip(['-n', host.name, 'link', 'add', n.br, 'mtu', '1500', 'type', 'bridge']);
          await ip(['-n', host.name, 'addr', 'add', `${n.gw}/24`, 'dev', n.br]);
          await ip(['-n', host.name, 'link', 'set', n.br, 'up']);
          await ip(['-n', host.name, 'link', 'add', n.veth, 'mtu', '1500', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', c.name]);
          await ip(['-n', host.name, 'link', 'set', n.veth, 'master', n.br, 'up']);
          await ip(['-n', c.name, 'addr', 'add', `${n.ip}/24`, 'dev', 'eth0']);
          await ip(['-n', c.name, 'link', 'set', 'eth0', 'up']);
          await ip(['-n', c.name, 'route', 'add', 'default', 'via', n.gw]);
        },
      ],
      [
        'ipBatch',
        async (c, n) => {
          await ipBatch(host.name, [
            `link add ${n.br} mtu 1500 type bridge`,
            `addr add ${n.gw}/24 dev ${n.br}`,
            `link set ${n.br} up`,
            `link add ${n.veth} mtu 1500 type veth peer name eth0 netns ${c.name}`,
            `link set ${n.veth} master ${n.br} up`,
          ]);
          await ipBatch(c.name, [`addr add ${n.ip}/24 dev eth0`, 'link set eth0 up', `route add default via ${n.gw}`]);
        },
      ],
    ];
    // Rotate the order each round so that no method always runs on a warmer cache.
    for (let k = 0; k < methods.length; k++) {
      const [label, fn] = methods[(i + k) % methods.length]!;
      const c = await ns(`c${i}-${label}`);
      times.netns.push(c.ms);
      const n = net(k);
      const t0 = performance.now();
      await fn(c, n);
      times[label].push(performance.now() - t0);
      // The result is the same whichever way it was made.
      const ct = await Rtnetlink.open(c.path);
      try {
        const eth0 = await ct.requireLink('eth0');
        assert.ok(eth0.up, `${label}: eth0 up`);
        assert.ok((await ct.listAddresses({ index: eth0.index, family: AF_INET })).some((a) => a.address === n.ip));
        assert.ok((await ct.listRoutes(AF_INET)).some((r) => r.dst === undefined && r.gateway === n.gw));
      } finally {
        await ct.close();
      }
      const h = await Rtnetlink.open(host.path);
      await h.deleteLink(n.veth);
      await h.deleteLink(n.br);
      await h.close();
      await removeNetns(c.path);
    }
  }
  const fmt = (xs: number[]): string => `${median(xs).toFixed(2)} ms (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`;
  t.diagnostic(`createNetns (netns file + loopback up): median ${fmt(times.netns)}`);
  t.diagnostic(`rtnetlink (2 sockets, 9 requests + 2 lookups): median ${fmt(times.rtnetlink)}`);
  t.diagnostic(`ip, one command per step (8 ip processes): median ${fmt(times.ipSteps)}`);
  t.diagnostic(`ip -batch (2 ip processes): median ${fmt(times.ipBatch)}`);
  t.diagnostic(`ratio ip steps / rtnetlink: ${(median(times.ipSteps) / median(times.rtnetlink)).toFixed(1)}x; ip -batch / rtnetlink: ${(median(times.ipBatch) / median(times.rtnetlink)).toFixed(1)}x`);
});
