/** `pause`, `resume` and `update`: operations on a live container's cgroup. */
import { BerthError } from '../core/errors';
import type { LinuxResources } from '../spec/types';
import { containerCgroup, type RuntimeContext } from './context';
import { containerStatus } from './status';
import { effectiveResources, mergeResources } from './resources';

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
    const linux = (rec.config.linux ??= {});
    const before = linux.resources ?? {};
    const merged = mergeResources(before, resources);
    if (resources.devices?.length) {
      // Device rules of an update add to the container's rules (a deny rule denies that device,
      // not everything else too); a container that had none started from "allow all".
      merged.devices = [...(before.devices?.length ? before.devices : [{ allow: true, access: 'rwm' }]), ...resources.devices];
      const whole = effectiveResources({ ...rec.config, linux: { ...linux, resources: merged } });
      containerCgroup(ctx, rec).apply({ ...resources, devices: whole?.devices ?? merged.devices });
    } else {
      containerCgroup(ctx, rec).apply(resources);
    }
    linux.resources = merged;
    ctx.store.save(rec);
  });
}
