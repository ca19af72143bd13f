/**
 * `exec`: another process in a running container, configured like its init (capabilities,
 * seccomp, masked paths come from the container's generated config.json) with the user's
 * command, env, user, working directory and terminal. The caller relays the process's stdio
 * itself (no shim): pipes for plain exec (runtime/stdio-pipes.ts), a pty master received on a console
 * socket for `-t`, /dev/null for `-d` (as containerd's null IO). No fd of ours reaches the
 * process, and it leads a session of its own (berth-init; runc and crun do the same): neither
 * our terminal nor our process group is within its reach.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { openSync, readFileSync, closeSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { BerthError } from '../../core/errors';
import { execInContainer } from '../../runtime/exec';
import type { Process, RuntimeConfig } from '../../spec/types';
import type { Engine } from '../engine';
import { envKey, mergeEnv } from '../spec/image-merge';
import { resolveUser } from '../spec/user';
import { computeCapabilities } from '../spec/capabilities';
import { listenConsole, proxyConsole, resolveBinary, type ResizeHook } from '../shim';
import { containerEventAttributes } from './event-attrs';
import { containerName, type ContainerRecord } from './record';
import { builtinContext, externalRoot, isBuiltin, runPaths } from './runtime';
import { pipeStdio, type PipedStdio } from '../../runtime/stdio-pipes';

export interface ExecRequest {
  cmd: string[];
  env?: string[];
  user?: string;
  workdir?: string;
  tty?: boolean;
  interactive?: boolean;
  detach?: boolean;
  privileged?: boolean;
  /** With tty: the terminal's size before the process runs (no race with a later resize). */
  consoleSize?: { rows: number; cols: number };
}

export interface ExecIo {
  /** Relayed to the process with `interactive` (its stdin ends when this ends). */
  stdin?: Readable;
  stdout: Writable;
  /** Without a terminal (default: stdout). */
  stderr?: Writable;
  onResize?: ResizeHook;
  detachKeys?: string;
  /**
   * The process runs: `signal` passes a signal on to it until it exits (the CLI forwards
   * ctrl-c and the like, since the process is not in its process group). Not for `detach`.
   */
  onStarted?: (proc: { signal(sig: NodeJS.Signals): void }) => void;
}

function containerConfig(engine: Engine, rec: ContainerRecord): RuntimeConfig {
  try {
    return JSON.parse(readFileSync(join(runPaths(engine.runRoot, rec.Id).bundle, 'config.json'), 'utf8')) as RuntimeConfig;
  } catch (e) {
    throw new BerthError('ESTATE', `container ${containerName(rec)} has no runtime configuration (is it running?)`, { cause: e });
  }
}

/**
 * The exec's environment as docker builds it: the container's, with TERM=xterm when the
 * exec has a terminal — and only then: a `run -t` container's TERM=xterm describes its own
 * terminal, not this process's — unless the container's configuration sets TERM itself;
 * the exec's own variables last.
 */
export function execEnv(containerEnv: string[], configEnv: string[], tty: boolean, extra: string[]): string[] {
  const userTerm = configEnv.some((e) => envKey(e) === 'TERM');
  const base = userTerm ? containerEnv : containerEnv.filter((e) => envKey(e) !== 'TERM');
  return mergeEnv(tty && !userTerm ? [...base, 'TERM=xterm'] : base, extra);
}

export async function execProcess(engine: Engine, rec: ContainerRecord, req: ExecRequest): Promise<Process> {
  const base = containerConfig(engine, rec).process!;
  const user = req.user ? await resolveUser(`/proc/${rec.State.Pid}/root`, req.user) : undefined;
  const caps = req.privileged ? computeCapabilities({ privileged: true }) : undefined;
  return {
    ...base,
    terminal: req.tty === true,
    ...(req.tty && req.consoleSize ? { consoleSize: { height: req.consoleSize.rows, width: req.consoleSize.cols } } : {}),
    args: req.cmd,
    env: execEnv(base.env ?? [], rec.Config.Env ?? [], req.tty === true, req.env ?? []),
    cwd: req.workdir || base.cwd,
    ...(user ? { user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) } } : {}),
    ...(caps ? { capabilities: { bounding: caps, effective: caps, permitted: caps } } : {}),
    ...(req.privileged ? { noNewPrivileges: false } : {}),
  };
}

/** Runs the exec; the exit status (0 for a detached exec once it started). */
export async function execInRunning(engine: Engine, query: string, req: ExecRequest, io: ExecIo): Promise<number> {
  const rec = await engine.containers.get(query);
  if (!rec.State.Running) throw new BerthError('ESTATE', `container ${containerName(rec)} is not running`, { hint: 'start it first' });
  if (rec.State.Paused) throw new BerthError('ESTATE', `container ${containerName(rec)} is paused, unpause the container before exec`);
  if (!req.cmd.length) throw new BerthError('EINVALID_ARGUMENT', 'exec needs a command', { hint: 'berth exec CONTAINER COMMAND [ARG...]' });
  const proc = await execProcess(engine, rec, req);
  await engine.events.emit('container', `exec_start: ${req.cmd.join(' ')}`, rec.Id, containerEventAttributes(rec));
  if (!isBuiltin(rec)) return execExternal(engine, rec, proc, req, io);

  const ctx = builtinContext(engine.runRoot);
  if (req.detach) {
    // Nobody reads or writes for a detached process: /dev/null, as containerd gives docker's.
    const fd = openSync('/dev/null', 'r+');
    try {
      return await execInContainer(ctx, { id: rec.Id, process: { ...proc, terminal: false }, detach: true, stdio: [fd, fd, fd], newSession: true });
    } finally {
      closeSync(fd);
    }
  }
  const started = (p: { signal(sig: NodeJS.Signals): void }): void => io.onStarted?.({ signal: p.signal });
  if (!req.tty) {
    const stdio = pipeStdio(execStreams(req, io));
    let code: number;
    try {
      code = await execInContainer(ctx, { id: rec.Id, process: proc, detach: false, stdio: stdio.fds, newSession: true, onStarted: (p) => {
        stdio.spawned();
        started(p);
      } });
    } finally {
      await stdio.finish();
    }
    return code;
  }
  const dir = mkdtempSync(join(tmpdir(), 'berth-exec-'));
  const receiver = await listenConsole(join(dir, 'console.sock'));
  // berth-init's first stage needs no stdio here (errors come on its sync channel): our own
  // fds stay out of the container's namespaces altogether.
  const nul = openSync('/dev/null', 'r+');
  try {
    const status = execInContainer(ctx, { id: rec.Id, process: proc, detach: false, consoleSocket: receiver.path, stdio: [nul, nul, nul], newSession: true, onStarted: started });
    // berth-init sends the master before execve, so a process that ran has sent it, even
    // one that has already ended (its output waits in the pty): take it before looking at
    // the status, or a quick command's output is lost. Only a process killed before it got
    // its terminal has none: that wait is bounded.
    const master = await Promise.race([receiver.master, status.then(() => within(receiver.master, MASTER_AFTER_EXIT_MS, -1))]);
    if (master < 0) return await status;
    const proxy = proxyConsole(master, {
      ...(req.interactive && io.stdin ? { stdin: io.stdin } : {}),
      stdout: io.stdout,
      ...(io.onResize ? { onResize: io.onResize } : {}),
      ...(io.detachKeys !== undefined ? { detachKeys: io.detachKeys } : {}),
    });
    const first = await Promise.race([status.then((s) => ({ s })), proxy.then((p) => ({ p }))]);
    if ('p' in first && first.p.detached) return 0;
    const code = await status;
    await proxy;
    return code;
  } finally {
    closeSync(nul);
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const MASTER_AFTER_EXIT_MS = 2000;

/** `p`, or `dflt` if it has not settled after `ms`. */
function within<T>(p: Promise<T>, ms: number, dflt: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(dflt), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** What the pipes of a non-terminal exec are relayed to. */
function execStreams(req: ExecRequest, io: ExecIo): { stdin?: Readable; stdout: Writable; stderr: Writable } {
  return { ...(req.interactive && io.stdin ? { stdin: io.stdin } : {}), stdout: io.stdout, stderr: io.stderr ?? io.stdout };
}

/**
 * runc/crun: `RUNTIME exec -p process.json`. They pass their stdio through to the process, so
 * without a terminal it gets our pipes (runtime/stdio-pipes.ts), never our own fds. With -t the
 * runtime makes the pty itself and relays it to our terminal (its foreground mode: raw mode,
 * size and resizes from our terminal; the process gets only the pty); runc only sends a pty
 * master to a console socket for detached processes, whose exit status we could not then
 * collect. Detach keys are therefore not available here.
 */
async function execExternal(engine: Engine, rec: ContainerRecord, proc: Process, req: ExecRequest, io: ExecIo): Promise<number> {
  if (req.detach) return execExternalProcess(engine, rec, proc, { detach: true, stdio: ['ignore', 'ignore', 'ignore'] });
  // The runtime stays in our process group here (it needs our terminal): it gets our
  // signals as we do, and forwards them.
  if (req.tty) return execExternalProcess(engine, rec, proc, { stdio: ['inherit', 'inherit', 'inherit'], tty: true });
  const stdio = pipeStdio(execStreams(req, io));
  try {
    return await execExternalProcess(engine, rec, proc, { stdio: stdio.fds, pipes: stdio, ...(io.onStarted ? { onStarted: io.onStarted } : {}) });
  } finally {
    await stdio.finish();
  }
}

/**
 * Runs `proc` in the container through its external runtime's `exec -p process.json` (runc's and
 * crun's command line); its exit status (128 when killed by a signal). With `tty` the runtime
 * gives the process a terminal relayed to our stdio. `pidFile` receives the
 * process's host pid, for callers that may have to kill it (health check timeouts).
 */
export async function execExternalProcess(
  engine: Engine,
  rec: ContainerRecord,
  proc: Process,
  opts: {
    detach?: boolean;
    stdio: StdioOptions;
    pidFile?: string;
    tty?: boolean;
    /** `stdio` are these pipes' child ends: closed here once the runtime was started. */
    pipes?: PipedStdio;
    /** The runtime runs: `signal` reaches it (runc and crun pass signals on to the process). */
    onStarted?: (proc: { signal(sig: NodeJS.Signals): void }) => void;
  },
): Promise<number> {
  const binary = resolveBinary(rec.Berth.runtime);
  const dir = mkdtempSync(join(tmpdir(), 'berth-exec-'));
  try {
    const file = join(dir, 'process.json');
    writeFileSync(file, JSON.stringify({ ...proc, terminal: opts.tty === true }));
    const args = [
      '--root', externalRoot(engine.runRoot, binary), 'exec',
      ...(opts.detach ? ['-d'] : []),
      ...(opts.pidFile ? ['--pid-file', opts.pidFile] : []),
      ...(opts.tty ? ['-t'] : []),
      '-p', file, rec.Id,
    ];
    // Without a terminal in its own session, like our berth-init: signals reach it through
    // onStarted only (once), not from our terminal as well.
    const child = spawn(binary, args, { stdio: opts.stdio, detached: opts.tty !== true });
    opts.pipes?.spawned();
    const exited = new Promise<number>((resolve) => {
      child.once('error', () => resolve(127));
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
    if (child.pid !== undefined) {
      opts.onStarted?.({
        signal: (sig) => {
          if (child.exitCode === null && child.signalCode === null) child.kill(sig);
        },
      });
    }
    return await exited;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
