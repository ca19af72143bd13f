/**
 * What happens when a container's process is gone. The shim runs `berth container cleanup ID`
 * after writing exit.json; any other command that finds a container recorded as running but
 * whose shim has finished (or was killed) does the same bookkeeping, so a killed CLI, shim or
 * cleanup never leaves a container that claims to run:
 *   - the exit status comes from exit.json, or is 255 when the shim was lost (then whatever
 *     is left of the container is killed first) or when the run root was emptied (a reboot:
 *     nothing is left to kill or to read);
 *   - the runtime container (process, cgroup, state) is deleted and the rootfs unmounted;
 *   - the record becomes "exited" and a `die` event is logged.
 * `--rm` and the restart policy are applied by whoever settles, in the same hold of the
 * container's lock (recover.ts: settleLocked; restart.ts) — except after a reboot, where the
 * policy is `berth system boot`'s to apply, as docker applies it when its daemon starts.
 */
import { BerthError, isDiskFull } from '../../core/errors';
import { crashPoint } from '../../core/crash-point';
import type { ContainerContext } from './context';
import { readExit, recordLostExit, shimState, type ExitInfo } from '../shim';
import { containerEventAttributes } from './event-attrs';
import { withStatus, type ContainerRecord } from './record';
import { runPaths } from './runtime';
import { deleteRuntimeContainer, releaseNetwork, unmountRootfs } from './teardown';

/** Running or paused: a process should exist ("restarting" was settled already). */
function isLive(rec: ContainerRecord): boolean {
  return rec.State.Status === 'running' || rec.State.Status === 'paused';
}

/**
 * Whether the record says running but the process has ended (settled here if so): false, or
 * how it ended — `vanished` when the run root was emptied under it (a reboot).
 */
export async function settleExit(ctx: Pick<ContainerContext, 'runRoot' | 'runtimes' | 'snapshotter' | 'events' | 'networking'>, rec: ContainerRecord): Promise<false | 'exited' | 'vanished'> {
  if (!isLive(rec) || !rec.Berth.shimPid) return false;
  const { dir } = runPaths(ctx.runRoot, rec.Id);
  const st = await shimState(dir, rec.Berth.shimPid, rec.Berth.shimStartTime);
  if (st.state === 'running') return false;
  let exit = st.state === 'exited' ? st.exit : undefined;
  if (st.state === 'vanished') {
    // Its run directory went with the run root: no exit.json to write (nor a directory to
    // write it in), the record below is what every later reader sees.
    exit = { exitCode: 255, signal: 0, exitedAt: new Date().toISOString(), oomKilled: false, lost: true };
  } else if (!exit) {
    // The monitor died without recording an exit: the container has nobody holding its
    // output or reaping it. Kill it and record 255, as the shim's documented rule says.
    await deleteRuntimeContainer(ctx, rec).catch(() => undefined);
    exit = (await readExit(dir)) ?? (await lostExit(dir));
  }
  await deleteRuntimeContainer(ctx, rec).catch((e: unknown) => {
    throw new BerthError('ECGROUP', `cleaning up container ${rec.Id.slice(0, 12)}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  });
  crashPoint('cleanup:runtime-deleted');
  await releaseNetwork(ctx, rec);
  await unmountRootfs(ctx, rec);
  rec.State = {
    ...withStatus(rec.State, 'exited'),
    Pid: 0,
    ExitCode: exit.exitCode,
    OOMKilled: exit.oomKilled,
    FinishedAt: exit.exitedAt || new Date().toISOString(),
    ...(st.state === 'vanished'
      ? { Error: 'the machine was restarted (or the run root emptied) while the container ran; exit status unknown' }
      : exit.lost
        ? { Error: 'the container monitor (berth-shim) was killed; exit status unknown' }
        : {}),
  };
  await ctx.events.emit('container', 'die', rec.Id, containerEventAttributes(rec, { exitCode: String(exit.exitCode) }));
  return st.state === 'vanished' ? 'vanished' : 'exited';
}

/** Records exit 255 for a lost monitor; on a full disk only in memory (the next settle writes it). */
async function lostExit(dir: string): Promise<ExitInfo> {
  try {
    return await recordLostExit(dir);
  } catch (e) {
    if (!isDiskFull(e)) throw e;
    return { exitCode: 255, signal: 0, exitedAt: new Date().toISOString(), oomKilled: false, lost: true };
  }
}

/** docker's restart rules, given how the container ended. */
export function shouldRestart(rec: ContainerRecord): boolean {
  const p = rec.HostConfig.RestartPolicy;
  if (!p || rec.Berth.stoppedByUser) return false;
  switch (p.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return rec.State.ExitCode !== 0 && (!p.MaximumRetryCount || rec.RestartCount < p.MaximumRetryCount);
    default:
      return false;
  }
}

/** Backoff before restart number `n` (docker: 100 ms doubling, at most a minute). */
export function restartDelayMs(rec: ContainerRecord): number {
  const ran = Date.parse(rec.State.FinishedAt) - Date.parse(rec.State.StartedAt);
  // A container that ran a while starts the backoff over.
  const n = ran > 10_000 ? 0 : rec.RestartCount;
  return Math.min(60_000, 100 * 2 ** n);
}
