/**
 * Restart policies without a daemon. The decision is taken by whoever settles an exit (the
 * shim's exit command, or any command that noticed first — a lost shim runs no exit command),
 * in the same hold of the container's lock as the settle, so a `stop` or `rm` either comes
 * before it (and the policy sees stoppedByUser) or after it (and finds "restarting", which it
 * cancels under the same lock). The record then says "restarting" with the time the backoff
 * ends (Berth.restartAt).
 *
 * The backoff is waited out by one detached process, which holds the container's
 * restart.lock from before it looks at the record until the new run was let go (or the
 * restart was cancelled): the shim's exit command, or a `berth container cleanup --takeover`
 * started by the command that settled. "restarting" with restart.lock free was therefore left
 * by a killed process (the exit command killed in its backoff): the next command that
 * notices starts a new waiter (recover.ts), `system check` reports it, and after a reboot it
 * reads "exited" (berth system boot applies the policy then).
 */
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import type { ContainerContext } from './context';
import { restartDelayMs, shouldRestart } from './exit';
import { withStatus, type ContainerRecord } from './record';
import { runPaths } from './runtime';
import { berthCommand } from './start';

/** Under the container's lock, right after a settle: applies the policy to the record. */
export function planRestart(rec: ContainerRecord): boolean {
  if (!shouldRestart(rec)) return false;
  rec.State = withStatus(rec.State, 'restarting');
  rec.Berth.restartAt = new Date(Date.now() + restartDelayMs(rec)).toISOString();
  return true;
}

/** Takes a planned restart back (stop, rm, a reboot): the record reads exited again. */
export function cancelRestart(rec: ContainerRecord): void {
  if (rec.State.Status === 'restarting') rec.State = withStatus(rec.State, 'exited');
  delete rec.Berth.restartAt;
}

/** "restarting", and nobody waits out the backoff (restart.lock is free). */
export function restartAbandoned(ctx: Pick<ContainerContext, 'containerStore'>, rec: ContainerRecord): boolean {
  if (rec.State.Status !== 'restarting') return false;
  const lock = ctx.containerStore.tryLock(rec.Id, 'restart.lock');
  if (!lock) return false;
  lock.release();
  return true;
}

/**
 * Whether the run root was emptied since the container last ran (a reboot): the run
 * directory of its last run outlives the run until the next start, except across a reboot.
 */
export async function runDirGone(ctx: Pick<ContainerContext, 'runRoot'>, rec: ContainerRecord): Promise<boolean> {
  return access(runPaths(ctx.runRoot, rec.Id).dir).then(
    () => false,
    () => true,
  );
}

/**
 * Starts the process that waits out the backoff, detached like the shim's exit command. When
 * another one holds restart.lock already (the exit command came after all), it just ends.
 */
export function spawnRestarter(ctx: Pick<ContainerContext, 'root' | 'runRoot'>, id: string): void {
  const [node, ...args] = berthCommand(ctx);
  const child = spawn(node!, [...args, 'container', 'cleanup', '--takeover', id], { detached: true, stdio: 'ignore', cwd: '/' });
  child.on('error', () => undefined);
  child.unref();
}
