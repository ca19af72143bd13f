/**
 * Runs a program to completion without blocking the event loop: the asynchronous
 * counterpart of spawnSync for the few tools the engine runs (external OCI runtimes, ps).
 * An API server keeps serving other clients while the program runs.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  /** The exit status, or null when a signal ended it (or it never started). */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started (ENOENT, EACCES, ...). */
  error?: Error;
}

export interface CommandOptions {
  /** Written to the program's stdin, which is then closed. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Throw away the output instead of collecting it (stdio 'ignore'). */
  discardOutput?: boolean;
}

/** Never rejects: a failure to start is reported in `error`, as spawnSync does. */
export function runCommand(file: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let error: Error | undefined;
    const child = spawn(file, args, {
      stdio: [opts.input !== undefined ? 'pipe' : 'ignore', opts.discardOutput ? 'ignore' : 'pipe', opts.discardOutput ? 'ignore' : 'pipe'],
      ...(opts.env ? { env: opts.env } : {}),
    });
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) => (error = e));
    if (opts.input !== undefined) {
      // A program that exits without reading its input closes the pipe: not our failure.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(opts.input);
    }
    child.once('close', (status, signal) => {
      resolve({
        status: error ? null : status,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ...(error ? { error } : {}),
      });
    });
  });
}
