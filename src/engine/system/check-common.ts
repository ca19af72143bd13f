/** Shapes and helpers shared by the checks of `system check` (check.ts, check-host.ts). */
import { join } from 'node:path';
import { tryLock } from '../../core/lock';
import type { ContainerRecord } from '../containers/record';
import { runPaths } from '../containers/runtime';
import type { RecordContext } from '../containers/context';
import { shimState } from '../shim';
import { pathExists } from '../../core/fs-exists';

export type ProblemKind =
  | 'stale-staging'
  | 'stale-name'
  | 'unfinished-create'
  | 'unfinished-start'
  | 'unfinished-removal'
  | 'lost-monitor'
  | 'stuck-restart'
  | 'missing-rootfs'
  | 'missing-volume'
  | 'orphan-snapshot'
  | 'stale-mount'
  | 'stale-runtime-state'
  | 'stale-run-dir'
  | 'orphan-cgroup'
  | 'unfinished-network'
  | 'stale-network'
  | 'idle-bridge';

export interface Problem {
  kind: ProblemKind;
  /** The object concerned (a name, id, path). */
  object: string;
  description: string;
  /** What --repair does (or did). */
  repair: string;
  repaired?: boolean;
  repairError?: string;
}

export interface CheckReport {
  problems: Problem[];
  /** Problems still there afterwards (all of them without --repair). */
  remaining: number;
}

/** A finding and how to repair it. */
export interface Finding {
  problem: Omit<Problem, 'repaired' | 'repairError'>;
  fix: () => Promise<void> | void;
  /** Container ids this finding covers (later checks skip them). */
  covers?: string[];
  /**
   * Repaired even without --repair: what any berth command repairs anyway (opening the
   * layer store removes unfinished unpacks, and the check itself opens it).
   */
  always?: boolean;
}

export interface CheckContext {
  engine: RecordContext;
  /** Ids already reported: later checks leave them alone. */
  covered: Set<string>;
}

export const isLive = (r: ContainerRecord): boolean => r.State.Status === 'running' || r.State.Status === 'paused';

/**
 * The shim is gone without leaving the exit status (killed, or the run root emptied). A shim
 * that wrote exit.json and ended is a normal exit that its exit command (or the next command)
 * is about to settle: no problem, however often a check runs in that window.
 */
export async function shimLost(engine: RecordContext, rec: ContainerRecord): Promise<boolean> {
  const { state } = await shimState(runPaths(engine.runRoot, rec.Id).dir, rec.Berth.shimPid ?? 0, rec.Berth.shimStartTime);
  return state === 'lost' || state === 'vanished';
}

/**
 * Runs `fn` unless another process holds the container's lock (then it is busy, not broken).
 * The lock is taken without waiting and held until `fn` has settled.
 */
export async function ifIdle(engine: RecordContext, id: string, fn: () => boolean | Promise<boolean>): Promise<boolean> {
  if (!(await pathExists(engine.containerStore.containerDir(id)))) return fn();
  const lock = tryLock(join(engine.containerStore.containerDir(id), 'lock'));
  if (!lock) return false;
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

