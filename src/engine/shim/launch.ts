/**
 * launchShim: start a container under a new berth-shim and return once it is created (its
 * process exists and waits to be started); `startMonitored` then lets it run.
 *
 * built-in: the runtime library's createContainer runs as usual (state, cgroup, hooks, the
 *   init protocol spoken from here), but berth-init is spawned by the shim (`launcher`), so
 *   the container process is re-parented to the shim when berth-init exits. We then tell the
 *   shim its pid. The container's stdio is the shim's: pipes, or for process.terminal the
 *   pty master, which the container sends to <dir>/console.sock.
 * external: the shim runs `RUNTIME --root R ... create` itself (conmon-style) and reads the
 *   pid file; a failure is reported with the runtime's own error from its --log.
 *
 * Whatever fails, nothing is left behind: the shim is told to give up (it kills what it
 * started and exits) and the runtime's half-made container is deleted.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { runCommand } from '../../core/command';
import type { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { BerthError } from '../../core/errors';
import { createContainer } from '../../runtime/create';
import { deleteContainer } from '../../runtime/kill-delete';
import type { RuntimeContext } from '../../runtime/context';
import { initBinaryPath, type InitLauncher } from '../../runtime/init-launcher';
import { readProcStat } from '../../runtime/process-info';
import { startContainer } from '../../runtime/start';
import { ShimProcess } from './control';
import { CONSOLE_SOCKET, CONTAINER_PID_FILE, EXIT_FILE, MAX_SOCKET_PATH, RUNTIME_LOG } from './paths';
import { notifyStarted } from './attach';
import { pathExists } from '../../core/fs-exists';

export interface LogOptions {
  /** json-file log path (absolute); rotated files are <path>.1, <path>.2, ... */
  path: string;
  /** Rotate when the file reaches this many bytes (default 10 MiB; 0: never). */
  maxSize?: number;
  /** Files kept, the current one included (default 3). */
  maxFiles?: number;
}

export interface HealthSchedule {
  /** Run for each check; it runs the test and records the result (the shim records nothing). */
  command: string[];
  intervalMs: number;
  /** Kill a check still running after this long (the command enforces the user's timeout;
   * pass more than that). */
  timeoutMs: number;
  startPeriodMs?: number;
  /** Interval during the start period (default: intervalMs). */
  startIntervalMs?: number;
}

export type ShimRuntime =
  | { kind: 'builtin'; ctx: RuntimeContext; noPivot?: boolean; noNewKeyring?: boolean }
  /** runc, crun or a path; `root` is its --root; `args` more global options (e.g. --systemd-cgroup). */
  | { kind: 'external'; binary: string; root: string; args?: string[] };

export interface LaunchShimOptions {
  id: string;
  /** The shim's directory (absolute, existing, private): sockets, exit.json, shim.pid, shim.log. */
  dir: string;
  /** OCI bundle; process.terminal in its config.json decides pipes or a pty. */
  bundle: string;
  runtime: ShimRuntime;
  /** null: no log (docker's --log-driver none). */
  log: LogOptions | null;
  /** Keep the container's stdin open for attach clients (docker -i). */
  stdin?: boolean;
  /** Close the container's stdin when the first attach client closes its stdin (docker run -i, attached). */
  stdinOnce?: boolean;
  /** Run (detached) after the container exited and exit.json is written. */
  exitCommand?: string[];
  health?: HealthSchedule;
  /** Environment of the shim and so of the exit and health commands and external runtimes. */
  env?: NodeJS.ProcessEnv;
}

export interface ShimLaunch {
  shimPid: number;
  /** Start time of the shim (clock ticks, /proc/PID/stat field 22): pid + this identify it. */
  shimStartTime: number;
  containerPid: number;
  containerStartTime: number | undefined;
  terminal: boolean;
}

/** How to start a launched container (the same runtime it was created with). */
export type StartRuntime =
  | { kind: 'builtin'; ctx: RuntimeContext }
  | { kind: 'external'; binary: string; root: string; args?: string[] };

export async function launchShim(options: LaunchShimOptions): Promise<ShimLaunch> {
  const env = options.env ?? process.env;
  // The shim execs by path and wants absolute ones: resolve here, where errors can be told.
  const opts: LaunchShimOptions = {
    ...options,
    dir: resolve(options.dir),
    bundle: resolve(options.bundle),
    ...(options.log ? { log: { ...options.log, path: resolve(options.log.path) } } : {}),
    ...(options.exitCommand?.length ? { exitCommand: absoluteArgv(options.exitCommand, env) } : {}),
    ...(options.health ? { health: { ...options.health, command: absoluteArgv(options.health.command, env) } } : {}),
  };
  if (!(await pathExists(opts.dir))) {
    throw new BerthError('ENOT_FOUND', `shim directory ${opts.dir} does not exist`, { hint: 'create the container directory first (mode 0700)' });
  }
  // A new run: what a previous run of this container left must not be mistaken for ours
  // (a restart relaunches in the same directory once the old exit.json has been read).
  for (const f of [EXIT_FILE, CONTAINER_PID_FILE, RUNTIME_LOG]) await rm(join(opts.dir, f), { force: true });
  const terminal = await bundleTerminal(opts.bundle);
  if (terminal) {
    const sock = join(opts.dir, CONSOLE_SOCKET);
    if (Buffer.byteLength(sock) > MAX_SOCKET_PATH) {
      throw new BerthError('EINVALID_ARGUMENT', `container directory ${opts.dir} is too long for a console socket path (${sock})`, {
        hint: `keep the directory under ${MAX_SOCKET_PATH - CONSOLE_SOCKET.length - 1} bytes (a shorter --root)`,
      });
    }
  }
  const args = commonArgs(opts, terminal);
  return opts.runtime.kind === 'builtin'
    ? launchBuiltin(opts, opts.runtime, terminal, args, env)
    : launchExternal(opts, opts.runtime, terminal, args, env);
}

function absoluteArgv(argv: string[], env: NodeJS.ProcessEnv): string[] {
  return [resolveBinary(argv[0]!, env), ...argv.slice(1)];
}

function ms(n: number, what: string): string {
  if (!Number.isFinite(n) || n < 1) throw new BerthError('EINVALID_ARGUMENT', `health check ${what} must be at least 1 ms (got ${n})`);
  return String(Math.round(n));
}

async function bundleTerminal(bundle: string): Promise<boolean> {
  try {
    const cfg = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { process?: { terminal?: boolean } };
    return cfg.process?.terminal === true;
  } catch (e) {
    throw new BerthError('EINVALID_CONFIG', `cannot read ${join(bundle, 'config.json')}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

function commonArgs(opts: LaunchShimOptions, terminal: boolean): string[] {
  const a = ['--id', opts.id, '--dir', opts.dir, '--control-fd', '3'];
  if (opts.log) {
    a.push('--log-path', opts.log.path);
    const { maxSize, maxFiles } = opts.log;
    if (maxSize !== undefined) {
      if (!Number.isInteger(maxSize) || maxSize < 0) throw new BerthError('EINVALID_ARGUMENT', `log max-size must be a whole number of bytes (got ${maxSize})`);
      a.push('--log-max-size', String(maxSize));
    }
    if (maxFiles !== undefined) {
      if (!Number.isInteger(maxFiles) || maxFiles < 1) throw new BerthError('EINVALID_ARGUMENT', `log max-file must be at least 1 (got ${maxFiles})`);
      a.push('--log-max-files', String(maxFiles));
    }
  }
  if (terminal) a.push('--terminal');
  if (opts.stdin) a.push('--stdin');
  if (opts.stdin && opts.stdinOnce) a.push('--stdin-once');
  for (const arg of opts.exitCommand ?? []) a.push('--exit-command', arg);
  if (opts.health) {
    const h = opts.health;
    for (const arg of h.command) a.push('--health-cmd', arg);
    a.push('--health-interval', ms(h.intervalMs, 'interval'), '--health-timeout', ms(h.timeoutMs, 'timeout'));
    if (h.startPeriodMs) a.push('--health-start-period', ms(h.startPeriodMs, 'start period'));
    if (h.startIntervalMs) a.push('--health-start-interval', ms(h.startIntervalMs, 'start interval'));
  }
  return a;
}

function launched(shim: ShimProcess, containerPid: number, terminal: boolean): ShimLaunch {
  const shimPid = shim.pid!;
  return {
    shimPid,
    shimStartTime: readProcStat(shimPid)?.startTime ?? 0,
    containerPid,
    containerStartTime: readProcStat(containerPid)?.startTime,
    terminal,
  };
}

async function launchBuiltin(
  opts: LaunchShimOptions,
  rt: Extract<ShimRuntime, { kind: 'builtin' }>,
  terminal: boolean,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<ShimLaunch> {
  let shim: ShimProcess | undefined;
  const launcher: InitLauncher = (req) => {
    if (req.preserveFds !== 0 || req.stdio || req.foreground) {
      throw new BerthError('EINTERNAL', 'berth-shim starts berth-init without preserved fds, caller stdio or foreground mode');
    }
    const extra: Array<'pipe' | number> = ['pipe'];
    const shimArgs = [...args, '--init', initBinaryPath(), '--sync-fd', '4'];
    if (req.listenerFd !== undefined) {
      extra.push(req.listenerFd);
      shimArgs.push('--seccomp-listener-fd', '5');
    }
    const s = new ShimProcess(shimArgs, extra, env, opts.dir);
    shim = s;
    return {
      sync: s.child.stdio[4] as Socket,
      exited: s.initExit,
      kill: () => {
        void s.initPid.then((pid) => {
          if (pid) killQuietly(pid);
        });
      },
      // the shim is released once it holds the container (below), not when berth-init is done
      release: () => undefined,
    };
  };
  let created = false;
  try {
    const { handle } = await createContainer(rt.ctx, {
      id: opts.id,
      bundle: opts.bundle,
      ...(terminal ? { consoleSocket: join(opts.dir, CONSOLE_SOCKET) } : {}),
      ...(rt.noPivot ? { noPivot: true } : {}),
      ...(rt.noNewKeyring ? { noNewKeyring: true } : {}),
      launcher,
    });
    created = true;
    const s = shim!;
    s.sendPid(handle.pid);
    const m = await s.monitoring;
    if ('error' in m) throw new BerthError('EINIT', `berth-shim: ${m.error}`, { hint: `see ${join(opts.dir, 'shim.log')}` });
    s.release();
    return launched(s, m.pid, terminal);
  } catch (e) {
    await shim?.abort();
    if (created) await deleteContainer(rt.ctx, opts.id, true).catch(() => undefined);
    throw e;
  }
}

async function launchExternal(
  opts: LaunchShimOptions,
  rt: Extract<ShimRuntime, { kind: 'external' }>,
  terminal: boolean,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<ShimLaunch> {
  const binary = resolveBinary(rt.binary, env);
  rt = { ...rt, binary };
  const runtimeLog = join(opts.dir, RUNTIME_LOG);
  const globals = ['--root', rt.root, '--log', runtimeLog, '--log-format', 'json', ...(rt.args ?? [])];
  const shimArgs = [...args, '--runtime', rt.binary, '--bundle', opts.bundle];
  for (const g of globals) shimArgs.push('--runtime-arg', g);
  const shim = new ShimProcess(shimArgs, [], env, opts.dir);
  const m = await shim.monitoring;
  if ('error' in m) {
    const ex = await shim.initExit;
    await shim.abort();
    await runCommand(rt.binary, ['--root', rt.root, ...(rt.args ?? []), 'delete', '--force', opts.id], { discardOutput: true, env });
    const detail = (await lastRuntimeError(runtimeLog)) ?? m.error;
    const status = ex.code !== null ? ` (status ${ex.code})` : '';
    throw new BerthError('EINIT', `${rt.binary} create failed${status}: ${detail}`, { hint: `see ${runtimeLog} and ${join(opts.dir, 'shim.log')}` });
  }
  shim.release();
  return launched(shim, m.pid, terminal);
}

/** The runtime's last error from its JSON --log (runc and crun write {"level","msg"} lines). */
async function lastRuntimeError(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const j = JSON.parse(line) as { level?: string; msg?: string };
      if (j.level === 'error' && j.msg) last = j.msg;
    } catch {
      last = line.trim();
    }
  }
  return last;
}

/**
 * Lets a launched container run: the runtime's start (the exec fifo, or `RUNTIME start`),
 * then STARTED to the shim, which begins the health checks. Attach first if the output
 * matters from its first byte (as `docker run` does).
 */
export async function startMonitored(dir: string, id: string, rt: StartRuntime): Promise<void> {
  if (rt.kind === 'builtin') {
    await startContainer(rt.ctx, id);
  } else {
    const r = await runCommand(resolveBinary(rt.binary), ['--root', rt.root, ...(rt.args ?? []), 'start', id]);
    if (r.error || r.status !== 0) {
      const why = r.error ? r.error.message : (r.stderr.trim() || `exit status ${r.status}`);
      throw new BerthError('EINIT', `${rt.binary} start ${id} failed: ${why}`);
    }
  }
  await notifyStarted(dir);
}

/**
 * runc, crun: looked up in PATH (the shim execs by path, and the engine should know which).
 * Synchronous: a few access(2) checks of PATH entries, answered from the dentry cache (no
 * waiting on another process); the external runtime resolves its binary at each use with it.
 */
export function resolveBinary(name: string, env: NodeJS.ProcessEnv = process.env): string {
  if (name.includes('/')) return name;
  for (const dir of (env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  throw new BerthError('ENOT_FOUND', `OCI runtime "${name}" not found in PATH`, { hint: `install ${name} or give its full path` });
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
