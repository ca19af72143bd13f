/**
 * Running a host program to its end without blocking the event loop (an API server serves
 * other clients meanwhile): what spawnSync did for the engine, awaited instead.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  /** null when it could not be run, or was killed by a signal. */
  status: number | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started (ENOENT: not installed). */
  error?: Error;
}

/** Runs `program` with `input` (if any) on its stdin; never rejects. */
export function runCommand(program: string, args: readonly string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(program, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ status: null, stdout: '', stderr: '', error: e instanceof Error ? e : new Error(String(e)) });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let error: Error | undefined;
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) => (error = e));
    // 'close' follows 'error' too when the program could not be started.
    child.once('close', (code) => resolve({ status: code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ...(error ? { error } : {}) }));
    if (input !== undefined) {
      child.stdin?.on('error', () => undefined); // it exited without reading: its status says why
      child.stdin?.end(input);
    }
  });
}
