/**
 * Containers under berth-shim for the shim tests, driven through the TypeScript client
 * directly (no engine yet): a private runtime state root, a busybox bundle named after the
 * test (traceable leaks), a private shim directory, and a cleanup that kills and deletes
 * everything and checks that no shim process is left.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeConfig } from '../../src/spec/types';
import { StateStore } from '../../src/runtime/state-store';
import type { RuntimeContext } from '../../src/runtime/context';
import { deleteContainer } from '../../src/runtime/kill-delete';
import { initBinaryPath } from '../../src/runtime/init-launcher';
import { launchShim, startMonitored, type LaunchShimOptions, type ShimLaunch, type StartRuntime } from '../../src/engine/shim/launch';
import { readExit, shimAlive, type ExitInfo } from '../../src/engine/shim/exit';
import { shimBinaryPath } from '../../src/engine/shim/paths';
import { busyboxAvailable, tempDir } from './rootfs';
import { makeBundle, type Bundle } from './bundle';

export function shimSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!busyboxAvailable()) return 'busybox-static not installed';
  for (const p of [initBinaryPath(), shimBinaryPath()]) if (!existsSync(p)) return `${p} missing: run npm run install`;
  return undefined;
}

export function findRunc(): string | undefined {
  for (const p of ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc']) if (existsSync(p)) return p;
  return undefined;
}

export interface ShimCase {
  id: string;
  bundle: Bundle;
  /** The shim's directory (a test may point it elsewhere before launching). */
  dir: string;
  logPath: string;
  ctx: RuntimeContext;
  /** For external mode: runc's --root. */
  runcRoot: string;
  start: StartRuntime;
  launch(extra?: Partial<LaunchShimOptions>): Promise<ShimLaunch>;
  /** Starts the launched container (and tells the shim). */
  run(): Promise<void>;
  launched?: ShimLaunch;
  /** Polls for exit.json (the shim writes it once the container's output is drained). */
  waitExit(timeoutMs?: number): Promise<ExitInfo>;
  readLog(): Array<{ log: string; stream: string; time: string }>;
  cleanup(): Promise<void>;
}

let seq = 0;

/**
 * `name` names the container and its directories; `mutate` edits the OCI config (args,
 * terminal, namespaces...); `external` runs it with runc instead of berth-init.
 */
export function shimCase(name: string, mutate?: (cfg: RuntimeConfig, b: Bundle) => void, external?: { runc: string }): ShimCase {
  const id = `${name}-${process.pid}-${seq++}`;
  const bundle = makeBundle(id, mutate);
  const t = tempDir(`shim-${name}`);
  const dir = join(t.path, 'c');
  mkdirSync(dir, { mode: 0o700 });
  const stateRoot = join(t.path, 'state');
  const runcRoot = join(t.path, 'runc');
  const ctx: RuntimeContext = { store: new StateStore(stateRoot), warn: () => undefined, systemdCgroup: false };
  const start: StartRuntime = external ? { kind: 'external', binary: external.runc, root: runcRoot } : { kind: 'builtin', ctx };
  const c: ShimCase = {
    id,
    bundle,
    dir,
    logPath: join(dir, 'ctr.log'),
    ctx,
    runcRoot,
    start,
    async launch(extra = {}) {
      c.launched = await launchShim({
        id,
        dir: c.dir,
        bundle: bundle.dir,
        runtime: external ? { kind: 'external', binary: external.runc, root: runcRoot } : { kind: 'builtin', ctx },
        log: { path: c.logPath },
        ...extra,
      });
      return c.launched;
    },
    async run() {
      await startMonitored(c.dir, id, start);
    },
    async waitExit(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const e = await readExit(c.dir);
        if (e) return e;
        if (Date.now() > deadline) throw new Error(`${id}: no exit.json within ${timeoutMs} ms; shim.log: ${shimLog(c.dir)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    readLog() {
      if (!existsSync(c.logPath)) return [];
      return readFileSync(c.logPath, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { log: string; stream: string; time: string });
    },
    async cleanup() {
      const l = c.launched;
      if (l && shimAlive(l.shimPid, l.shimStartTime)) {
        try {
          process.kill(l.shimPid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      if (external) {
        spawnSync(external.runc, ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore' });
      } else if (ctx.store.exists(id) || existsSync(ctx.store.dir(id))) {
        await deleteContainer(ctx, id, true);
      }
      // a create that died half-way leaves its cgroup to the engine's GC: remove it here
      for (const ctrl of readdirSync('/sys/fs/cgroup')) {
        const cg = join('/sys/fs/cgroup', ctrl, bundle.cgroupsPath);
        if (existsSync(cg)) {
          try {
            rmdirSync(cg);
          } catch {
            /* still in use: the leak check of the suite will name it */
          }
        }
      }
      rmSync(t.path, { recursive: true, force: true });
      bundle.cleanup();
    },
  };
  return c;
}

export function shimLog(dir: string): string {
  const p = join(dir, 'shim.log');
  return existsSync(p) ? readFileSync(p, 'utf8') : '(none)';
}

/** Polls `fn` until it returns a value other than undefined (throws after timeoutMs). */
export async function eventually<T>(what: string, fn: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
