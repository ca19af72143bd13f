/**
 * `pause` and `unpause`: every process of a running container frozen or thawed (the freezer
 * cgroup, through the container's OCI runtime), then the record brought in line.
 */
import { BerthError } from '../../core/errors';
import { crashPoint } from '../../core/crash-point';
import { runtimeFrozen } from '../runtimes';
import type { RecordContext } from './context';
import { containerEventAttributes } from './event-attrs';
import { getContainer } from './lookup';
import { withStatus } from './record';

export async function pauseContainer(ctx: RecordContext, query: string): Promise<void> {
  const rec = await getContainer(ctx, query);
  if (rec.State.Restarting) throw new BerthError('ESTATE', `container ${rec.Id} is restarting, wait until the container is running`, { hint: 'only running containers can be paused' });
  if (!rec.State.Running) throw new BerthError('ESTATE', `container ${rec.Id} is not running`, { hint: 'only running containers can be paused' });
  if (rec.State.Paused) throw new BerthError('ESTATE', `container ${rec.Id} is already paused`);
  const runtime = ctx.runtimes.for(rec);
  // Frozen already by a pause killed before it recorded it: only the record is missing.
  if (!(await runtimeFrozen(runtime, rec.Id))) await runtime.pause(rec.Id);
  crashPoint('pause:frozen');
  await ctx.containerStore.update(rec.Id, (r) => (r.State = withStatus(r.State, 'paused')));
  await ctx.events.emit('container', 'pause', rec.Id, containerEventAttributes(rec));
}

export async function unpauseContainer(ctx: RecordContext, query: string): Promise<void> {
  const rec = await getContainer(ctx, query);
  const runtime = ctx.runtimes.for(rec);
  // The record and the freezer disagree when a pause or unpause was killed between the two:
  // the freezer is the truth about the processes, the record is brought in line.
  const frozen = rec.State.Running && (await runtimeFrozen(runtime, rec.Id));
  if (!rec.State.Paused && !frozen) throw new BerthError('ESTATE', `container ${rec.Id} is not paused`);
  if (frozen) await runtime.resume(rec.Id);
  crashPoint('unpause:thawed');
  await ctx.containerStore.update(rec.Id, (r) => (r.State = withStatus(r.State, 'running')));
  await ctx.events.emit('container', 'unpause', rec.Id, containerEventAttributes(rec));
}
