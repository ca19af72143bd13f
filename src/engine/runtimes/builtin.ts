/**
 * The built-in runtime: the runtime library (src/runtime/) called in-process, with its state
 * under <runRoot>/runtime (`berth-runtime --root` of it lists the containers).
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RuntimeContext } from '../../runtime/context';
import { pauseContainer, resumeContainer, updateContainer } from '../../runtime/control';
import { execInContainer } from '../../runtime/exec';
import { deleteContainer, killContainer } from '../../runtime/kill-delete';
import { StateStore } from '../../runtime/state-store';
import { containerStatus } from '../../runtime/status';
import { pipeStdio } from '../../runtime/stdio-pipes';
import type { LinuxResources, Process } from '../../spec/types';
import { listenConsole, proxyConsole, type ShimRuntime } from '../shim';
import { execStreams } from './exec-streams';
import type { CapturedExec, ExecIo, ExecRequest, OciRuntime, OciState } from './types';

/** The name a record gives the built-in runtime (an empty name, from older records, too). */
export const BUILTIN_RUNTIME = 'berth';

export function builtinContext(runRoot: string, warn: (m: string) => void = () => undefined): RuntimeContext {
  return { store: new StateStore(join(runRoot, 'runtime')), warn, systemdCgroup: false };
}

/** How long a terminal exec waits for its pty master after the process ended. */
const MASTER_AFTER_EXIT_MS = 2000;

/** `p`, or `dflt` if it has not settled after `ms`. */
function within<T>(p: Promise<T>, ms: number, dflt: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(dflt), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export class BuiltinRuntime implements OciRuntime {
  readonly name = BUILTIN_RUNTIME;
  readonly pausesForCommit = true;

  constructor(private readonly runRoot: string) {}

  private context(warn?: (m: string) => void): RuntimeContext {
    return builtinContext(this.runRoot, warn);
  }

  shim(warn: (message: string) => void): ShimRuntime {
    return { kind: 'builtin', ctx: this.context(warn) };
  }

  kill(id: string, signal: number, all = false): Promise<void> {
    return killContainer(this.context(), id, signal, all);
  }

  pause(id: string): Promise<void> {
    return pauseContainer(this.context(), id);
  }

  resume(id: string): Promise<void> {
    return resumeContainer(this.context(), id);
  }

  delete(id: string): Promise<void> {
    return deleteContainer(this.context(), id, true);
  }

  async state(id: string): Promise<OciState | undefined> {
    const ctx = this.context();
    if (!ctx.store.exists(id)) return undefined;
    const rec = ctx.store.load(id);
    return { status: containerStatus(ctx, rec), pid: rec.pid };
  }

  async started(id: string): Promise<boolean> {
    const status = (await this.state(id))?.status;
    return status === 'running' || status === 'paused';
  }

  update(id: string, resources: LinuxResources, warn: (message: string) => void): Promise<void> {
    return updateContainer(this.context(warn), id, resources);
  }

  execCaptured(id: string, proc: Process, opts: CapturedExec): Promise<number> {
    return execInContainer(this.context(), { id, process: proc, detach: false, pidFile: opts.pidFile, stdio: opts.pipes.fds, onStarted: () => opts.pipes.spawned() });
  }

  async exec(id: string, proc: Process, req: ExecRequest, io: ExecIo): Promise<number> {
    const ctx = this.context();
    if (req.detach) {
      // Nobody reads or writes for a detached process: /dev/null, as containerd gives docker's.
      const devNull = await open('/dev/null', 'r+');
      try {
        return await execInContainer(ctx, { id, process: { ...proc, terminal: false }, detach: true, stdio: [devNull.fd, devNull.fd, devNull.fd], newSession: true });
      } finally {
        await devNull.close();
      }
    }
    const started = (p: { signal(sig: NodeJS.Signals): void }): void => io.onStarted?.({ signal: p.signal });
    if (!req.tty) {
      const stdio = pipeStdio(execStreams(req, io));
      let code: number;
      try {
        code = await execInContainer(ctx, { id, process: proc, detach: false, stdio: stdio.fds, newSession: true, onStarted: (p) => {
          stdio.spawned();
          started(p);
        } });
      } finally {
        await stdio.finish();
      }
      return code;
    }
    const dir = await mkdtemp(join(tmpdir(), 'berth-exec-'));
    const receiver = await listenConsole(join(dir, 'console.sock'));
    // berth-init's first stage needs no stdio here (errors come on its sync channel): our own
    // fds stay out of the container's namespaces altogether.
    const nul = await open('/dev/null', 'r+');
    try {
      const status = execInContainer(ctx, { id, process: proc, detach: false, consoleSocket: receiver.path, stdio: [nul.fd, nul.fd, nul.fd], newSession: true, onStarted: started });
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
      await nul.close();
      await receiver.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
}
