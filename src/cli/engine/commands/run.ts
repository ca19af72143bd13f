/**
 * `run` and `create`, and the attached half of `run`/`start -a`: attach to the shim before
 * the process is released (so not a byte of output is missed), proxy signals, put our
 * terminal in raw mode for -t, detach on ctrl-p ctrl-q, and exit with the container's status.
 * Exit statuses as docker's: 125 when the engine fails, 126/127 when the command cannot be
 * run, otherwise the container's own.
 */
import { Command } from 'commander';
import { writeFileSync, existsSync } from 'node:fs';
import { BerthError } from '../../../core/errors';
import type { ContainerRecord } from '../../../engine/containers/record';
import type { PreparedStart } from '../../../engine/containers/start';
import { startFailureCode } from '../../../engine/containers/start';
import { rawTerminal, type TerminalSession } from '../../../engine/shim';
import { familiarString, parseReference } from '../../../images/reference';
import { addContainerOptions, createRequestFromFlags, type ContainerFlags } from '../container-options';
import { warning, type CliEnv } from '../env';
import { createProgressReporter } from '../progress';

/** Errors before the container's process ran exit 125; failures to exec it 126/127. */
export class ExitStatusError extends Error {
  constructor(
    readonly status: number,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** Our terminal's size, when stdout is one (for -t: the container's pty starts with it). */
export function terminalSize(): { rows: number; cols: number } | undefined {
  const out = process.stdout;
  return out.isTTY && out.rows && out.columns ? { rows: out.rows, cols: out.columns } : undefined;
}

export const PROXIED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Starts a prepared container attached to our stdio (the engine attaches before release);
 * our part is the terminal and forwarding signals. The exit status (0 when detached).
 */
export async function runAttached(
  env: CliEnv,
  prepared: PreparedStart,
  opts: { stdin: boolean; tty: boolean; detachKeys?: string; sigProxy: boolean; rm: boolean },
): Promise<number> {
  const engine = env.engine();
  let term: TerminalSession | undefined;
  if (opts.tty && process.stdin.isTTY) term = rawTerminal();
  const forward = (sig: NodeJS.Signals) => {
    void engine.containers.kill(prepared.rec.Id, sig).catch(() => undefined);
  };
  try {
    const r = await engine.startAttached(
      prepared,
      {
        ...(opts.stdin ? { stdin: process.stdin } : {}),
        stdout: process.stdout,
        stderr: process.stderr,
        ...(opts.detachKeys !== undefined ? { detachKeys: opts.detachKeys } : {}),
        ...(term ? { onResize: term.onResize } : {}),
        // Before release: an unhandled SIGINT would kill us instead of reaching the container.
        onAttached: () => {
          if (opts.sigProxy && !opts.tty) for (const s of PROXIED) process.on(s, forward);
        },
      },
      { tty: opts.tty, rm: opts.rm, releaseFailed: (e) => new ExitStatusError(startFailureCode(e), e) },
    );
    return r.exitCode;
  } finally {
    for (const s of PROXIED) process.off(s, forward);
    term?.restore();
    if (opts.stdin) process.stdin.pause();
  }
}

async function createFromFlags(env: CliEnv, f: ContainerFlags, args: string[]): Promise<ContainerRecord> {
  if (f.cidfile && existsSync(f.cidfile)) {
    throw new BerthError('EEXISTS', `container ID file found, make sure the other container isn't running or delete ${f.cidfile}`);
  }
  const req = await createRequestFromFlags(f, args);
  const size = f.tty ? terminalSize() : undefined;
  // docker records it too (inspect shows it); each start then uses the size of its own terminal
  if (size) req.hostConfig.ConsoleSize = [size.rows, size.cols];
  const reporter = createProgressReporter(env.err, { quiet: f.quiet === true });
  let announced = false;
  const rec = await env.engine().containers.create(req, {
    onWarning: (m) => warning(env, m),
    onPullEvent: (e) => {
      // docker says so only when it pulls because the image is missing, not for --pull always
      if (!announced && req.image && req.pull !== 'always') {
        announced = true;
        env.err.write(`Unable to find image '${familiarString(parseReference(req.image))}' locally\n`);
      }
      reporter.handle(e);
    },
  });
  if (f.cidfile) writeFileSync(f.cidfile, rec.Id);
  return rec;
}

export function registerRunCommands(program: Command, container: Command, env: CliEnv): void {
  const run = (cmd: Command) =>
    addContainerOptions(cmd.helpOption('--help').argument('[image-and-command...]', 'IMAGE [COMMAND] [ARG...]').passThroughOptions())
      .description('create and start a container (attached unless -d)')
      .action(async (args: string[], f: ContainerFlags) => {
        let rec: ContainerRecord;
        try {
          rec = await createFromFlags(env, f, args);
        } catch (e) {
          throw new ExitStatusError(125, e);
        }
        const engine = env.engine();
        if (f.detach) {
          try {
            await engine.containers.start(rec.Id, { onWarning: (m) => warning(env, m) });
          } catch (e) {
            throw new ExitStatusError(startFailureCode(e) === 128 ? 125 : startFailureCode(e), e);
          }
          env.out.write(`${rec.Id}\n`);
          return;
        }
        let prepared: PreparedStart | undefined;
        try {
          const size = f.tty ? terminalSize() : undefined;
          prepared = await engine.containers.prepare(rec.Id, { ...(size ? { consoleSize: size } : {}), onWarning: (m) => warning(env, m) });
        } catch (e) {
          if (f.rm) await engine.containers.remove(rec.Id, { force: true, volumes: true }).catch(() => undefined);
          throw new ExitStatusError(startFailureCode(e) === 128 ? 125 : startFailureCode(e), e);
        }
        if (!prepared) return;
        try {
          const code = await runAttached(env, prepared, {
            stdin: f.interactive === true,
            tty: f.tty === true,
            ...(f.detachKeys !== undefined ? { detachKeys: f.detachKeys } : {}),
            sigProxy: f.sigProxy !== false,
            rm: f.rm === true,
          });
          env.exit(code);
        } catch (e) {
          if (f.rm) await engine.containers.remove(rec.Id, { force: true, volumes: true }).catch(() => undefined);
          throw e;
        }
      });
  run(program.command('run'));
  run(container.command('run'));

  const create = (cmd: Command) =>
    addContainerOptions(cmd.helpOption('--help').argument('[image-and-command...]', 'IMAGE [COMMAND] [ARG...]').passThroughOptions())
      .description('create a container without starting it')
      .action(async (args: string[], f: ContainerFlags) => {
        const rec = await createFromFlags(env, f, args);
        env.out.write(`${rec.Id}\n`);
      });
  create(program.command('create'));
  create(container.command('create'));
}
