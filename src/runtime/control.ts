/** `pause`, `resume` and `update`: operations on a live container's cgroup. */
import { BerthError } from '../core/errors';
import type { LinuxResources } from '../spec/types';
import { containerCgroup, type RuntimeContext } from './context';
import { containerStatus } from './status';
import { mergeResources } from './resources';

export async function pauseContainer(ctx: RuntimeContext, id: string): Promise<void> {
  await ctx.store.withLock(id, async () => {
    const rec = ctx.store.load(id);
    const status = containerStatus(ctx, rec);
    if (status !== 'running' && status !== 'created') {
      throw new BerthError('ESTATE', `cannot pause container "${id}": it is ${status}`);
    }
    await containerCgroup(ctx, rec).freeze();
  });
}

export async function resumeContainer(ctx: RuntimeContext, id: string): Promise<void> {
  await ctx.store.withLock(id, async () => {
    const rec = ctx.store.load(id);
    const status = containerStatus(ctx, rec);
    if (status !== 'paused') {
      throw new BerthError('ESTATE', `cannot resume container "${id}": it is ${status}, not paused`);
    }
    await containerCgroup(ctx, rec).thaw();
  });
}

export async function updateContainer(ctx: RuntimeContext, id: string, resources: LinuxResources): Promise<void> {
  await ctx.store.withLock(id, async () => {
    const rec = ctx.store.load(id);
    const status = containerStatus(ctx, rec);
    if (status === 'stopped') throw new BerthError('ESTATE', `cannot update container "${id}": it is stopped`);
    containerCgroup(ctx, rec).apply(resources);
    const linux = (rec.config.linux ??= {});
    linux.resources = mergeResources(linux.resources ?? {}, resources);
    ctx.store.save(rec);
  });
}
