/**
 * An external OCI runtime binary (runc, crun, or a path), driven through the command line
 * runc and crun share, with its own state root per binary under <runRoot>/runtimes. Every
 * command runs as a child process the engine awaits: an API server's event loop goes on
 * serving others meanwhile.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BerthError } from '../../core/errors';
import { pipeStdio, type PipedStdio } from '../../runtime/stdio-pipes';
import type { LinuxResources, Process } from '../../spec/types';
import { resolveBinary, type ShimRuntime } from '../shim';
import { runCommand, type CommandResult } from '../../core/command';
import { execStreams } from './exec-streams';
import type { CapturedExec, ExecIo, ExecRequest, OciRuntime, OciState } from './types';

/** The external runtimes' own state roots, per runtime, under the run root. */
export function externalRoot(runRoot: string, binary: string): string {
  return join(runRoot, 'runtimes', binary.replace(/[^A-Za-z0-9_.-]/g, '_'));
}

export class ExternalRuntime implements OciRuntime {
  readonly pausesForCommit = false;

  /** `name` as the record has it (runc, crun, a path): looked up in PATH when used. */
  constructor(readonly name: string, private readonly runRoot: string) {}

  /** The binary and its --root: resolved at each use, so a runtime installed later is found. */
  private where(): { binary: string; root: string } {
    const binary = resolveBinary(this.name);
    return { binary, root: externalRoot(this.runRoot, binary) };
  }

  private async run(args: readonly string[], input?: string): Promise<CommandResult & { binary: string }> {
    const { binary, root } = this.where();
    return { ...(await runCommand(binary, ['--root', root, ...args], input !== undefined ? { input } : {})), binary };
  }

  shim(): ShimRuntime {
    return { kind: 'external', ...this.where() };
  }

  async kill(id: string, signal: number, all = false): Promise<void> {
    // As `docker kill` of a container that has just ended: not an error here.
    await this.run(['kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }

  pause(id: string): Promise<void> {
    return this.freeze(id, 'pause');
  }

  resume(id: string): Promise<void> {
    return this.freeze(id, 'resume');
  }

  /** runc and crun take the same pause/resume command line; a refusal is told in their words. */
  private async freeze(id: string, action: 'pause' | 'resume'): Promise<void> {
    const r = await this.run([action, id]);
    if (r.status !== 0) {
      const said = r.stderr.trim().split('\n').pop() || (r.error ? r.error.message : `exit status ${r.status}`);
      throw new BerthError('ECGROUP', `${basename(r.binary)} ${action} ${id.slice(0, 12)} failed: ${said}`, {
        hint: action === 'pause' ? 'the runtime needs the freezer cgroup controller; check that it is mounted' : 'check the container with: berth inspect',
      });
    }
  }

  async delete(id: string): Promise<void> {
    // Unknown to the runtime (never created, deleted already): nothing to do.
    await this.run(['delete', '--force', id]);
  }

  async state(id: string): Promise<OciState | undefined> {
    const r = await this.run(['state', id]);
    try {
      const s = JSON.parse(r.stdout) as { status?: unknown; pid?: unknown };
      if (typeof s.status !== 'string') return undefined;
      return { status: s.status, ...(typeof s.pid === 'number' ? { pid: s.pid } : {}) };
    } catch {
      return undefined;
    }
  }

  async started(id: string): Promise<boolean> {
    const state = await this.state(id);
    if (state?.status === 'running' || state?.status === 'paused') return true;
    if (state?.status !== 'created' || !state.pid) return false;
    // Like ours, runc and crun mark a container started only after its init went on to execve:
    // an init that no longer runs the runtime's own executable (a memfd copy or the binary) did.
    const { binary } = this.where();
    try {
      const exe = await readlink(`/proc/${state.pid}/exe`);
      return !exe.startsWith('/memfd:') && !exe.startsWith(binary) && !exe.includes(basename(binary));
    } catch {
      return false;
    }
  }

  async update(id: string, resources: LinuxResources): Promise<void> {
    const r = await this.run(['update', '--resources', '-', id], JSON.stringify(resources));
    if (r.status !== 0) throw new BerthError('ECGROUP', `${r.binary} update failed: ${(r.stderr || r.error?.message || '').trim()}`);
  }

  /**
   * runc/crun: `RUNTIME exec -p process.json`. They pass their stdio through to the process, so
   * without a terminal it gets our pipes (runtime/stdio-pipes.ts), never our own fds. With -t the
   * runtime makes the pty itself and relays it to our terminal (its foreground mode: raw mode,
   * size and resizes from our terminal; the process gets only the pty); runc only sends a pty
   * master to a console socket for detached processes, whose exit status we could not then
   * collect. Detach keys are therefore not available here.
   */
  async exec(id: string, proc: Process, req: ExecRequest, io: ExecIo): Promise<number> {
    if (req.detach) return this.execProcess(id, proc, { detach: true, stdio: ['ignore', 'ignore', 'ignore'] });
    // The runtime stays in our process group here (it needs our terminal): it gets our
    // signals as we do, and forwards them.
    if (req.tty) return this.execProcess(id, proc, { stdio: ['inherit', 'inherit', 'inherit'], tty: true });
    const stdio = pipeStdio(execStreams(req, io));
    try {
      return await this.execProcess(id, proc, { stdio: stdio.fds, pipes: stdio, ...(io.onStarted ? { onStarted: io.onStarted } : {}) });
    } finally {
      await stdio.finish();
    }
  }

  execCaptured(id: string, proc: Process, opts: CapturedExec): Promise<number> {
    return this.execProcess(id, proc, { stdio: opts.pipes.fds, pipes: opts.pipes, pidFile: opts.pidFile });
  }

  /**
   * Runs `proc` through `exec -p process.json`; its exit status (128 when killed by a signal).
   * With `tty` the runtime gives the process a terminal relayed to our stdio.
   */
  private async execProcess(
    id: string,
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
    const { binary, root } = this.where();
    const dir = await mkdtemp(join(tmpdir(), 'berth-exec-'));
    try {
      const file = join(dir, 'process.json');
      await writeFile(file, JSON.stringify({ ...proc, terminal: opts.tty === true }));
      const args = [
        '--root', root, 'exec',
        ...(opts.detach ? ['-d'] : []),
        ...(opts.pidFile ? ['--pid-file', opts.pidFile] : []),
        ...(opts.tty ? ['-t'] : []),
        '-p', file, id,
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
      await rm(dir, { recursive: true, force: true });
    }
  }
}
