/**
 * One networking test's world: a Berth CLI on its own state root and run root with a busybox
 * image, a leak watch taken before its first command, and a clean-up that runs after the
 * test whether it passed or not (containers, then user networks, then leftovers, then roots).
 * A test ends with `await env.assertNoLeaks()` after removing what it ran.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { BerthCli, engineSkip, importBusybox, until } from '../../helpers/cli';
import { NetLeakWatch, networksOnDisk } from './net-leaks';

export interface NetEnv {
  b: BerthCli;
  img: string;
  leaks: NetLeakWatch;
  /** `berth` with these arguments; fails the test with the output unless it exits 0. */
  ok(args: string[]): string;
  /** Removes every container, then checks nothing networking is left (networks kept unless asked). */
  assertNoLeaks(opts?: { removeNetworks?: boolean }): Promise<void>;
  /** Polls a shell command inside a running container until it exits 0; its last output. */
  execUntil(container: string, script: string, ms?: number): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Why the networking tests cannot run here, or false. */
export function netSkip(): string | false {
  const engine = engineSkip();
  if (engine) return engine;
  for (const tool of ['/usr/sbin/nft', '/usr/bin/nsenter']) {
    if (!existsSync(tool) && !existsSync(tool.replace('/usr', ''))) return `${tool.split('/').pop()} is not installed`;
  }
  return false;
}

export function netEnv(t: TestContext, label: string, opts: { image?: string; changes?: string[] } = {}): NetEnv {
  const b = new BerthCli(`net-${label}`);
  const leaks = new NetLeakWatch(b);
  t.after(() => {
    const ids = b.run(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    if (ids.length) b.run(['rm', '-f', '-v', ...ids]);
    for (const n of networksOnDisk(b.root)) if (n.name !== 'bridge') b.run(['network', 'rm', n.name]);
    leaks.scrub();
    b.cleanup();
  });
  const img = importBusybox(b, opts.image ?? 'busybox:test');
  const env: NetEnv = {
    b,
    img,
    leaks,
    ok: (args) => b.ok(args),
    async assertNoLeaks(o = {}) {
      const ids = b.run(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
      if (ids.length) b.ok(['rm', '-f', '-v', ...ids]);
      leaks.noteNetworks();
      if (o.removeNetworks) {
        for (const n of networksOnDisk(b.root)) if (n.name !== 'bridge') b.ok(['network', 'rm', n.name]);
      }
      assert.deepEqual(await leaks.settledLeaks({ networksRemoved: o.removeNetworks === true }), [], 'nothing of the networking is left');
    },
    async execUntil(container, script, ms = 10_000) {
      let last = { code: -1, stdout: '', stderr: '' };
      await until(() => {
        last = b.run(['exec', container, 'sh', '-c', script], { timeoutMs: 15_000 });
        return last.code === 0;
      }, ms);
      return last;
    },
  };
  return env;
}

/** `sh -c` text that serves "$1" with busybox httpd on port 80 from /www. */
export function httpdScript(body: string, port = 80): string {
  return `mkdir -p /www && echo ${JSON.stringify(body)} > /www/index.html && exec httpd -f -p ${port} -h /www`;
}
