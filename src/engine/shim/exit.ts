/**
 * How a monitored container ended, and whether its monitor still runs.
 *
 * The shim writes exit.json (temp + fsync + rename) after the container's output is drained
 * and the log closed, and before it runs the exit command. A shim that is not running (its
 * pid is gone or belongs to another process: pid + start time) while exit.json is missing
 * was killed or crashed: the container is "lost". The engine's rule for a lost container
 * (PROTOCOL.md): kill whatever is left of it through its runtime (berth: deleteContainer
 * with force; external: `RUNTIME delete --force`), then record exit code 255 with
 * `recordLostExit`, so every later reader agrees, and run its usual cleanup.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../../core/errors';
import { writeFileAtomic } from '../../core/fs-atomic';
import { isSameProcessAlive } from '../../runtime/process-info';
import { EXIT_FILE, SHIM_PID_FILE } from './paths';
import { pathExists } from '../../core/fs-exists';

export interface ExitInfo {
  /** The exit status, or 128 + signal number. */
  exitCode: number;
  /** The signal that killed the container process, or 0. */
  signal: number;
  /** RFC 3339 with nanoseconds (UTC). */
  exitedAt: string;
  /** The container's memory cgroup OOM-killed a process while it ran (best effort). */
  oomKilled: boolean;
  /** The container process's pid (written by the shim). */
  pid?: number;
  /** Written by the engine for a lost container, not by a shim. */
  lost?: boolean;
}

/** The exit record, or undefined while the container runs (or if its shim was lost). */
export async function readExit(dir: string): Promise<ExitInfo | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, EXIT_FILE), 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  const j = JSON.parse(text) as Partial<ExitInfo>;
  const info: ExitInfo = {
    exitCode: Number(j.exitCode ?? 255),
    signal: Number(j.signal ?? 0),
    exitedAt: String(j.exitedAt ?? ''),
    oomKilled: j.oomKilled === true,
  };
  if (typeof j.pid === 'number') info.pid = j.pid;
  if (j.lost === true) info.lost = true;
  return info;
}

/** True while the shim with this pid and start time (see launchShim) runs. */
export function shimAlive(pid: number, startTime: number | undefined): boolean {
  return pid > 0 && isSameProcessAlive(pid, startTime);
}

/**
 * `vanished`: the shim is gone and so is its directory, which it never removes itself: the run
 * root was emptied — a reboot (it is a tmpfs), or a user clearing it. Nothing of that run is
 * left to kill or to read.
 */
export type ShimState = { state: 'running' } | { state: 'exited'; exit: ExitInfo } | { state: 'lost' } | { state: 'vanished' };

export async function shimState(dir: string, pid: number, startTime: number | undefined): Promise<ShimState> {
  const first = await readExit(dir);
  if (first) return { state: 'exited', exit: first };
  if (shimAlive(pid, startTime)) return { state: 'running' };
  // It may have written exit.json and exited between the two looks.
  const second = await readExit(dir);
  if (second) return { state: 'exited', exit: second };
  return (await pathExists(dir)) ? { state: 'lost' } : { state: 'vanished' };
}

/** Records exit code 255 for a container whose shim died without writing exit.json. */
export async function recordLostExit(dir: string, when: Date = new Date()): Promise<ExitInfo> {
  const info: ExitInfo = { exitCode: 255, signal: 0, exitedAt: when.toISOString(), oomKilled: false, lost: true };
  await writeFileAtomic(join(dir, EXIT_FILE), JSON.stringify(info) + '\n');
  return info;
}

/** The shim's own record of itself (written at its start), for an engine that lost track. */
export async function readShimPid(dir: string): Promise<{ pid: number; startTime: number } | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, SHIM_PID_FILE), 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  const [pid, start] = text.trim().split(/\s+/).map(Number);
  if (!pid || !Number.isFinite(pid)) return undefined;
  return { pid, startTime: start ?? 0 };
}
