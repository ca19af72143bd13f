/**
 * Start-or-join, update and leave: the engine's API to a network's resolver.
 *
 * Every change happens under the network's lock (`<runRoot>/dns/<id>.lock`), so concurrent
 * `run`s of containers on one network start exactly one resolver and lose no endpoint.
 * Liveness is the resolver's own flock on its pid file: held while it lives, released by the
 * kernel when it dies (even by kill -9), so a stale pid file is never mistaken for a resolver
 * and a reused pid is never signalled. Changes reach a running resolver through its state
 * file (it watches the directory); the engine never signals it except to stop it.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BerthError, errnoCode } from '../../core/errors';
import { writeFileAtomic } from '../../core/fs-atomic';
import { acquireLock, tryLock, type FileLock } from '../../core/lock';
import { isSameProcessAlive, waitForExit } from '../../runtime/process-info';
import { dnsRoot, READY_LINE, resolverPaths, type ResolverPaths } from './paths';
import {
  parseResolverState,
  STATE_VERSION,
  validateConfig,
  validateEndpoint,
  type DnsEndpoint,
  type ResolverConfig,
  type ResolverState,
} from './records';

/** How long a resolver may take to bind and say "ready" (a Node start is ~50 ms). */
const START_TIMEOUT_MS = 10_000;
/** How long a resolver may take to exit on SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 3_000;

export interface ResolverTarget {
  /** The run root (`/run/berth`). */
  runRoot: string;
  /** The network's id: names the resolver's directory. */
  networkKey: string;
  signal?: AbortSignal;
}

export interface StartOrJoinOptions extends ResolverTarget {
  /** The network's resolver settings (written on every join; see ResolverConfig). */
  config: ResolverConfig;
  containerId: string;
  endpoint: DnsEndpoint;
  /**
   * The network namespace the resolver serves from; default: the caller's (the host's).
   * For rootless networking (a namespace of its own, as podman runs aardvark-dns) and tests.
   */
  netnsPath?: string;
  /** The resolver's script; default: dist/berth-dns.js next to the bundle (or main.js under tsc). */
  resolverScript?: string;
}

export interface ResolverInfo {
  pid: number;
  /** True when this call started the resolver; false when it joined a running one. */
  started: boolean;
}

/** Adds (or replaces) the container's endpoint and makes sure the network's resolver runs. */
export async function startOrJoin(opts: StartOrJoinOptions): Promise<ResolverInfo> {
  validateConfig(opts.config);
  validateEndpoint(opts.endpoint, `endpoint of container ${opts.containerId}`);
  const paths = resolverPaths(opts.runRoot, opts.networkKey);
  return withNetworkLock(opts, paths, async () => {
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    const previous = await readState(paths);
    const endpoints = { ...(previous?.endpoints ?? {}), [opts.containerId]: opts.endpoint };
    await writeState(paths, { version: STATE_VERSION, config: opts.config, endpoints });
    const running = runningResolver(paths);
    if (running) return { pid: running.pid, started: false };
    try {
      return { pid: await spawnResolver(paths, opts), started: true };
    } catch (e) {
      // Nothing half-done stays: the endpoint goes, and with it the directory if it was the only one.
      delete endpoints[opts.containerId];
      if (Object.keys(endpoints).length) await writeState(paths, { version: STATE_VERSION, config: opts.config, endpoints });
      else await removeResolverFiles(paths);
      throw e;
    }
  });
}

/** Replaces a container's endpoint (renamed, alias added, connected to another address). */
export async function updateEndpoint(target: ResolverTarget & { containerId: string; endpoint: DnsEndpoint }): Promise<void> {
  validateEndpoint(target.endpoint, `endpoint of container ${target.containerId}`);
  const paths = resolverPaths(target.runRoot, target.networkKey);
  await withNetworkLock(target, paths, async () => {
    const state = await readState(paths);
    if (!state?.endpoints[target.containerId]) {
      throw new BerthError('ENOT_FOUND', `container ${target.containerId} has no name on the resolver of network ${target.networkKey}`, {
        hint: 'join it first (startOrJoin)',
      });
    }
    state.endpoints[target.containerId] = target.endpoint;
    await writeState(paths, state);
  });
}

/**
 * Removes the container's endpoint; with the last one the resolver stops and its files go.
 * Leaving twice, or leaving a network without a resolver, is not an error (stop and rm both
 * call it, and a crash may have done half of it).
 */
export async function leave(target: ResolverTarget & { containerId: string }): Promise<{ stopped: boolean }> {
  const paths = resolverPaths(target.runRoot, target.networkKey);
  return withNetworkLock(target, paths, async () => {
    const state = await readState(paths).catch(() => undefined);
    if (state) {
      delete state.endpoints[target.containerId];
      if (Object.keys(state.endpoints).length) {
        await writeState(paths, state);
        return { stopped: false };
      }
    }
    await stopResolver(paths);
    await removeResolverFiles(paths);
    return { stopped: true };
  });
}

/**
 * Keeps only the endpoints of containers `isLive` accepts, restarts nothing, and stops the
 * resolver if none is left (system check --repair, and the next command after a crash).
 * Returns the ids removed.
 */
export async function reconcile(target: ResolverTarget & { isLive: (containerId: string) => boolean }): Promise<string[]> {
  const paths = resolverPaths(target.runRoot, target.networkKey);
  return withNetworkLock(target, paths, async () => {
    const state = await readState(paths).catch(() => undefined);
    const dead = Object.keys(state?.endpoints ?? {}).filter((id) => !target.isLive(id));
    if (state && dead.length < Object.keys(state.endpoints).length) {
      for (const id of dead) delete state.endpoints[id];
      if (dead.length) await writeState(paths, state);
      return dead;
    }
    await stopResolver(paths);
    await removeResolverFiles(paths);
    return dead;
  });
}

export interface ResolverStatus {
  networkKey: string;
  running: boolean;
  pid?: number;
  endpoints: string[];
}

/** What is there for one network (undefined: nothing at all). Read-only, takes no lock. */
export async function resolverStatus(runRoot: string, networkKey: string): Promise<ResolverStatus | undefined> {
  const paths = resolverPaths(runRoot, networkKey);
  if (!existsSync(paths.dir)) return undefined;
  const state = await readState(paths).catch(() => undefined);
  const running = runningResolver(paths);
  return { networkKey, running: !!running, ...(running ? { pid: running.pid } : {}), endpoints: Object.keys(state?.endpoints ?? {}) };
}

/** Every network that has resolver files (for system check to compare with the networks it knows). */
export async function listResolverKeys(runRoot: string): Promise<string[]> {
  const names = await readdir(dnsRoot(runRoot)).catch((e: unknown) => {
    if (errnoCode(e) === 'ENOENT') return [] as string[];
    throw e;
  });
  return [...new Set(names.filter((n) => !n.startsWith('.')).map((n) => n.replace(/\.lock$/, '')))].sort();
}

async function withNetworkLock<T>(target: ResolverTarget, paths: ResolverPaths, fn: () => Promise<T>): Promise<T> {
  await mkdir(dnsRoot(target.runRoot), { recursive: true, mode: 0o700 });
  const lock: FileLock = await acquireLock(paths.lock, target.signal ? { signal: target.signal } : {});
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

async function readState(paths: ResolverPaths): Promise<ResolverState | undefined> {
  let text: string;
  try {
    text = await readFile(paths.state, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  return parseResolverState(text, paths.state);
}

async function writeState(paths: ResolverPaths, state: ResolverState): Promise<void> {
  await writeFileAtomic(paths.state, JSON.stringify(state, null, 1) + '\n', 0o644);
}

/** The resolver holding the pid file's lock, or undefined when none lives. */
function runningResolver(paths: ResolverPaths): { pid: number; startTime: number } | undefined {
  if (!existsSync(paths.pid)) return undefined;
  const probe = tryLock(paths.pid);
  if (probe) {
    probe.release();
    return undefined;
  }
  const [pid, startTime] = readFileSync(paths.pid, 'utf8').trim().split(' ').map(Number);
  // Held but not yet written: the resolver is between its lock and its pid line (it writes
  // both before "ready", and its starter holds our lock, so only a dying starter shows this).
  return { pid: pid || 0, startTime: startTime || 0 };
}

async function stopResolver(paths: ResolverPaths): Promise<void> {
  // Removing the state file alone stops it (it watches); the signal makes it prompt.
  await rm(paths.state, { force: true });
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    const running = runningResolver(paths);
    if (!running) return;
    if (running.pid > 0 && isSameProcessAlive(running.pid, running.startTime || undefined)) {
      try {
        process.kill(running.pid, sig);
      } catch (e) {
        if (errnoCode(e) !== 'ESRCH') throw e;
      }
    }
    if (await waitUnlocked(paths, STOP_TIMEOUT_MS)) {
      // The lock goes with the last thread's files, a moment before the process is gone:
      // "nothing left" includes the process, so wait for that too.
      if (running.pid > 0) await waitForExit(running.pid, running.startTime || undefined, STOP_TIMEOUT_MS);
      return;
    }
  }
  throw new BerthError('ESTATE', `the DNS resolver in ${paths.dir} did not stop`, { hint: 'run `berth system check --repair`' });
}

async function waitUnlocked(paths: ResolverPaths, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; Date.now() < deadline; delay = Math.min(delay * 2, 50)) {
    if (!runningResolver(paths)) return true;
    await new Promise((r) => setTimeout(r, delay));
  }
  return !runningResolver(paths);
}

/** Called with the network lock held: the lock file goes too (lock.ts copes with that). */
async function removeResolverFiles(paths: ResolverPaths): Promise<void> {
  await rm(paths.dir, { recursive: true, force: true });
  await rm(paths.lock, { force: true });
}

export function defaultResolverScript(): string {
  // Bundled (dist/index.js, dist/berth.js): the resolver is dist/berth-dns.js. Under tsc
  // (out/src/network/dns/lifecycle.js, the tests): main.js beside this file.
  return basename(__filename) === 'lifecycle.js' ? join(__dirname, 'main.js') : join(__dirname, 'berth-dns.js');
}

async function spawnResolver(paths: ResolverPaths, opts: StartOrJoinOptions): Promise<number> {
  const script = opts.resolverScript ?? defaultResolverScript();
  const node = [process.execPath, script, '--dir', paths.dir];
  // nsenter execs the resolver in place (same pid), once per network, not per container.
  const [cmd, ...args] = opts.netnsPath ? ['nsenter', `--net=${opts.netnsPath}`, '--', ...node] : node;
  const logFd = openSync(paths.log, 'a', 0o600);
  let child;
  try {
    // cwd '/': a long-lived process must not hold the caller's directory (or its mount) busy.
    // The environment is the minimum: PATH for nsenter, and where the native addon is if overridden.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
    if (process.env.BERTH_NATIVE_DIR) env.BERTH_NATIVE_DIR = process.env.BERTH_NATIVE_DIR;
    child = spawn(cmd!, args, { detached: true, cwd: '/', stdio: ['ignore', 'pipe', logFd], env });
  } finally {
    closeSync(logFd);
  }
  const failed = (why: string, cause?: unknown) =>
    new BerthError('ENETWORK', `the DNS resolver of network ${opts.config.network} did not start: ${why}`, {
      hint: `the resolver binds port ${opts.config.port} on ${opts.config.listen.join(', ')}; check that nothing else holds it`,
      cause,
    });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(failed(`no answer in ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(failed(e.message, e));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(failed(lastLogLine(paths) ?? `exited with ${signal ?? `status ${code}`}`));
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(`${READY_LINE}\n`)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.removeAllListeners('exit');
  child.stdout!.destroy();
  child.unref();
  return child.pid!;
}

function lastLogLine(paths: ResolverPaths): string | undefined {
  try {
    return readFileSync(paths.log, 'utf8').trim().split('\n').pop() || undefined;
  } catch {
    return undefined;
  }
}
