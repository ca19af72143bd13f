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
    let delay = 1;
    const readByte = (): boolean => {
      try {
        return readSync(fd, buf, 0, 1, null) === 1;
      } catch (e) {
        if (errnoCode(e) !== 'EAGAIN') throw e;
        return false;
      }
    };
    for (;;) {
      if (readByte()) return;
      // Nothing yet: the writer has not reopened (or died), or is about to write. A process
      // found gone may still have written its byte first and then run and exited (`sh -c
      // 'exit 3'` takes a millisecond): the byte stays in the pipe, so look once more.
      if (!isSameProcessAlive(rec.pid, rec.pidStartTime) && !readByte()) {
        throw new BerthError('ESTATE', `container "${rec.id}" init process exited before it could be started`, {
          hint: `delete it (berth-runtime delete ${rec.id}) and check its configuration`,
        });
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 20);
    }
  } finally {
    closeSync(fd);
  }
}
