/**
 * Runs the `berth` CLI of this checkout against a private state root, for black-box tests
 * of commands, flags, output and exit codes.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO = join(__dirname, '..', '..', '..');
export const BERTH = join(REPO, 'bin', 'berth');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class BerthCli {
  readonly root: string;
  readonly runRoot: string;
  constructor(name: string) {
    const safe = name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 32);
    this.root = mkdtempSync(join(tmpdir(), `berth-cli-${safe}-`));
    this.runRoot = join(this.root, 'run');
  }

  run(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
    const r: SpawnSyncReturns<string> = spawnSync(BERTH, ['--root', this.root, '--runroot', this.runRoot, ...args], {
      encoding: 'utf8',
      input: opts.input ?? '',
      env: { ...process.env, ...(opts.env ?? {}) },
      timeout: opts.timeoutMs ?? 120_000,
    });
    return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs and fails the test with the full output when the exit status is not 0. */
  ok(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): string {
    const r = this.run(args, opts);
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
