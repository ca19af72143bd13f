/**
 * Helpers for the network namespace tests. Safety: every namespace a test uses is made by
 * the test (netns files in a scratch directory of its own under /run) and removed when the
 * test ends, pass or fail; commands that send traffic run inside those namespaces through
 * nsenter; the host's (init) namespace is only ever listed, never changed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createNetns, removeNetns } from '../../../src/network/netns';
import { Rtnetlink } from '../../../src/network/netlink';
import { BUSYBOX } from '../../helpers/rootfs';
import { findTool } from '../../helpers/host';

/** Why the namespace tests cannot run here, or false. */
export function skipReason(tools: string[] = []): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  if (!existsSync('/proc/self/ns/net')) return 'the kernel has no network namespaces';
  for (const t of tools) {
    if (t === 'busybox' ? !existsSync(BUSYBOX) : !findTool(t)) return `${t} is not installed`;
  }
  return false;
}

/**
 * A scratch directory for netns files, under /run (tmpfs, like the engine's run root). Every
 * namespace made through `ns()` is removed after the test, then the directory itself.
 */
export function netnsScratch(t: TestContext, label: string): { dir: string; ns: (name: string) => Promise<string> } {
  const dir = mkdtempSync(join('/run', `berth-test-${label}-`));
  const made: string[] = [];
  t.after(async () => {
    for (const p of made) await removeNetns(p).catch(() => undefined);
    for (const name of readdirSync(dir)) await removeNetns(join(dir, name)).catch(() => undefined);
    rmdirSync(dir);
  });
  return {
    dir,
    ns: async (name: string) => {
      const p = join(dir, name);
      made.push(p);
      await createNetns(p);
      return p;
    },
  };
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command (argv, no shell) with a timeout; never rejects. */
export function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | null) ?? 1 : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

/** A command inside the namespace file `nsPath` (only its network namespace is entered). */
export function inNetns(nsPath: string, args: string[], timeoutMs = 10_000): Promise<Result> {
  return run('nsenter', [`--net=${nsPath}`, '--', ...args], timeoutMs);
}

/** A long-running command inside `nsPath`, killed (by its pid) after the test. */
export function serveInNetns(t: TestContext, nsPath: string, args: string[]): ChildProcess {
  const child = spawn('nsenter', [`--net=${nsPath}`, '--', ...args], { stdio: 'ignore' });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** The names of the host's links (read only: a leak check compares them before and after). */
export async function hostLinkNames(): Promise<string[]> {
  const nl = await Rtnetlink.open(null);
  try {
    return (await nl.listLinks()).map((l) => l.name).sort();
  } finally {
    await nl.close();
  }
}

/** Polls `check` until it is true (or throws after `ms`). */
export async function waitFor(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
