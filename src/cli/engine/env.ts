/**
 * What every `berth` command gets: the engine (created on first use from the global options),
 * the output streams, and the exit status setter. Commands return or print their output here;
 * errors propagate to main.ts, the one place that renders them.
 */
import { Engine, type EngineOptions } from '../../engine/engine';

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliEnv {
  engine(): Engine;
  readonly out: Output;
  readonly err: Output;
  /** Sets the process exit status (commands never call process.exit while work is pending). */
  exit(code: number): void;
}

/** A warning line on stderr (docker's "WARNING: ..." form): the command goes on. */
export function warning(env: CliEnv, message: string): void {
  env.err.write(`WARNING: ${message}\n`);
}

export interface GlobalOptions {
  root?: string;
  runroot?: string;
  storageDriver?: string;
  debug?: boolean;
}

export function engineOptionsFrom(g: GlobalOptions, env: NodeJS.ProcessEnv = process.env): EngineOptions {
  const driver = g.storageDriver ?? env.BERTH_STORAGE_DRIVER;
  return {
    ...(g.root ?? env.BERTH_ROOT ? { root: g.root ?? env.BERTH_ROOT } : {}),
    ...(g.runroot ?? env.BERTH_RUNROOT ? { runRoot: g.runroot ?? env.BERTH_RUNROOT } : {}),
    // docker and podman call the copy snapshotter "vfs"
    ...(driver ? { snapshotter: driver === 'vfs' ? 'copy' : driver === 'overlay2' ? 'overlay' : (driver as EngineOptions['snapshotter']) } : {}),
  };
}
