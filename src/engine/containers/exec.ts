/**
 * `exec`: another process in a running container, configured like its init (capabilities,
 * seccomp, masked paths come from the container's generated config.json) with the user's
 * command, env, user, working directory and terminal. The CLI holds the process's stdio
 * itself (no shim): its own stdio for plain exec, a pty master received on a console socket
 * for `-t`, /dev/null for `-d`.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { openSync, readFileSync, closeSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { BerthError } from '../../core/errors';
import { execInContainer } from '../../runtime/exec';
import type { Process, RuntimeConfig } from '../../spec/types';
import type { Engine } from '../engine';
import { mergeEnv } from '../spec/image-merge';
import { resolveUser } from '../spec/user';
import { computeCapabilities } from '../spec/capabilities';
import { listenConsole, proxyConsole, resolveBinary, type ResizeHook } from '../shim';
import { containerEventAttributes } from './event-attrs';
import { containerName, type ContainerRecord } from './record';
import { builtinContext, externalRoot, isBuiltin, runPaths } from './runtime';

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
  stdin?: NodeJS.ReadableStream & { fd?: number };
  stdout: NodeJS.WritableStream;
  onResize?: ResizeHook;
  detachKeys?: string;
}

function containerConfig(engine: Engine, rec: ContainerRecord): RuntimeConfig {
  try {
    return JSON.parse(readFileSync(join(runPaths(engine.runRoot, rec.Id).bundle, 'config.json'), 'utf8')) as RuntimeConfig;
  } catch (e) {
    throw new BerthError('ESTATE', `container ${containerName(rec)} has no runtime configuration (is it running?)`, { cause: e });
  }
}

export function execProcess(engine: Engine, rec: ContainerRecord, req: ExecRequest): Process {
  const base = containerConfig(engine, rec).process!;
  const user = req.user ? resolveUser(`/proc/${rec.State.Pid}/root`, req.user) : undefined;
  const caps = req.privileged ? computeCapabilities({ privileged: true }) : undefined;
  return {
    ...base,
    terminal: req.tty === true,
    ...(req.tty && req.consoleSize ? { consoleSize: { height: req.consoleSize.rows, width: req.consoleSize.cols } } : {}),
    args: req.cmd,
    env: mergeEnv(base.env, req.env ?? []),
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
  const proc = execProcess(engine, rec, req);
  engine.events.emit('container', `exec_start: ${req.cmd.join(' ')}`, rec.Id, containerEventAttributes(rec));
  if (!isBuiltin(rec)) return execExternal(engine, rec, proc, req);

  const ctx = builtinContext(engine.runRoot);
  const devNull = () => openSync('/dev/null', 'r+');
  if (req.detach) {
    const fd = devNull();
    try {
      return await execInContainer(ctx, { id: rec.Id, process: { ...proc, terminal: false }, detach: true, stdio: [fd, fd, fd] });
    } finally {
      closeSync(fd);
    }
  }
  if (!req.tty) {
    const nul = req.interactive ? undefined : devNull();
    try {
      return await execInContainer(ctx, { id: rec.Id, process: proc, detach: false, stdio: [nul ?? 'inherit', 'inherit', 'inherit'] });
    } finally {
      if (nul !== undefined) closeSync(nul);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'berth-exec-'));
  const receiver = await listenConsole(join(dir, 'console.sock'));
  try {
    const status = execInContainer(ctx, { id: rec.Id, process: proc, detach: false, consoleSocket: receiver.path });
    const master = await Promise.race([receiver.master, status.then(() => -1)]);
    if (master < 0) return await status;
    const proxy = proxyConsole(master, {
      ...(req.interactive && io.stdin ? { stdin: io.stdin as unknown as import('node:stream').Readable } : {}),
      stdout: io.stdout as unknown as import('node:stream').Writable,
      ...(io.onResize ? { onResize: io.onResize } : {}),
      ...(io.detachKeys !== undefined ? { detachKeys: io.detachKeys } : {}),
    });
    const first = await Promise.race([status.then((s) => ({ s })), proxy.then((p) => ({ p }))]);
    if ('p' in first && first.p.detached) return 0;
    const code = await status;
    await proxy;
    return code;
  } finally {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * runc/crun: `RUNTIME exec -p process.json`, with our stdio. With -t the runtime makes the pty
 * itself and relays it to our terminal (its foreground mode: raw mode, size and resizes from
 * our terminal); runc only sends a pty master to a console socket for detached processes,
 * whose exit status we could not then collect. Detach keys are therefore not available here.
 */
async function execExternal(engine: Engine, rec: ContainerRecord, proc: Process, req: ExecRequest): Promise<number> {
  const tty = req.tty === true && !req.detach;
  const stdio: StdioOptions = [(req.interactive || tty) && !req.detach ? 'inherit' : 'ignore', req.detach ? 'ignore' : 'inherit', req.detach ? 'ignore' : 'inherit'];
  return execExternalProcess(engine, rec, proc, { detach: req.detach === true, stdio, tty });
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
  opts: { detach?: boolean; stdio: StdioOptions; pidFile?: string; tty?: boolean },
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
    const child = spawn(binary, args, { stdio: opts.stdio });
    return await new Promise<number>((resolve) => {
      child.once('error', () => resolve(127));
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
