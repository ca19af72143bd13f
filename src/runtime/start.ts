/**
 * `start`: release a created container by opening its exec fifo for reading. berth-init is
 * blocked in open(O_WRONLY) on that fifo; once our reader exists it writes one byte and goes
 * on to execve. We open non-blocking and poll, so that a container whose init died after
 * `create` yields an error instead of a `start` that hangs forever.
 */
import { closeSync, openSync, readSync, unlinkSync, constants as fsc } from 'node:fs';
import { BerthError, errnoCode } from '../core/errors';
import { crashPoint } from '../core/crash-point';
import type { RuntimeContext } from './context';
import { isSameProcessAlive } from './process-info';
import { containerStatus, stateOf } from './status';
import { runHooksBestEffort } from './hooks';
import type { ContainerRecord } from './state-store';

export async function startContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const rec = await ctx.store.withLock(id, async () => {
    const rec = ctx.store.load(id);
    ctx.debug?.(`start ${id}: init is pid ${rec.pid}; opening the exec fifo`);
    const status = containerStatus(ctx, rec);
    if (status !== 'created') {
      throw new BerthError('ESTATE', `cannot start container "${id}": it is ${status}, not created`, {
        hint: status === 'stopped' ? `delete it (berth-runtime delete ${id}) and create it again` : undefined,
      });
    }
    await releaseFifo(ctx, rec);
    crashPoint('runtime:released');
    rec.started = true;
    ctx.store.save(rec);
    try {
      unlinkSync(ctx.store.fifoPath(id));
    } catch {
      /* already gone */
    }
    return rec;
  });
  await runHooksBestEffort(rec.config.hooks, 'poststart', JSON.stringify(stateOf(ctx, rec, 'running')), ctx.warn);
}

async function releaseFifo(ctx: RuntimeContext, rec: ContainerRecord): Promise<void> {
  const fd = openSync(ctx.store.fifoPath(rec.id), fsc.O_RDONLY | fsc.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(1);
    const outcome = await awaitRelease({
      readByte: () => {
        try {
          return readSync(fd, buf, 0, 1, null) === 1;
        } catch (e) {
          if (errnoCode(e) !== 'EAGAIN') throw e;
          return false;
        }
      },
      alive: () => isSameProcessAlive(rec.pid, rec.pidStartTime),
    });
    if (outcome === 'exited') {
      throw new BerthError('ESTATE', `container "${rec.id}" init process exited before it could be started`, {
        hint: `delete it (berth-runtime delete ${rec.id}) and check its configuration`,
      });
    }
  } finally {
    closeSync(fd);
  }
}

export interface ReleaseProbe {
  /** Reads the fifo (our reader is open): true once berth-init's byte has been taken. */
  readByte(): boolean;
  /** The init process (pid and start time) still exists. */
  alive(): boolean;
  /** Waits between looks (default: a timer, 1 ms doubling up to 20 ms). */
  sleep?(ms: number): Promise<void>;
}

/**
 * Whether the init went on to execve ('started', it wrote its byte) or ended without ever
 * writing it ('exited'). The process's liveness is looked at before the fifo, each round:
 * a process found gone has written whatever it will ever write, so an empty fifo after that
 * is proof, whenever the process died and however slowly we look. Each byte is read once and
 * a read that gets it is the answer (the previous loop read "once more" after finding the
 * process gone and, when that read got the byte, went round again and reported the exit).
 */
export async function awaitRelease(probe: ReleaseProbe): Promise<'started' | 'exited'> {
  const sleep = probe.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let delay = 1;
  for (;;) {
    const gone = !probe.alive();
    if (probe.readByte()) return 'started';
    if (gone) return 'exited';
    // Nothing yet: the writer has not reopened the fifo, or is about to write.
    await sleep(delay);
    delay = Math.min(delay * 2, 20);
  }
}
