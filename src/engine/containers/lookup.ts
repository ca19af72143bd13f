/**
 * Finding containers: a record by query (full id, unique id prefix or name) or all of them,
 * each brought up to date first (recover.ts: what killed processes left, ended processes
 * settled, --rm applied). Operations import this rather than going through the Engine.
 */
import { BerthError } from '../../core/errors';
import type { RecordContext } from './context';
import type { ContainerRecord } from './record';
import { reconcile } from './recover';
import { noSuchContainer } from './store';

/** The record, brought up to date; ENOT_FOUND when there is no such container (any more). */
export async function getContainer(ctx: RecordContext, query: string): Promise<ContainerRecord> {
  const r = await reconcile(ctx, await ctx.containerStore.resolve(query));
  if (r.gone) throw noSuchContainer(query);
  return r.rec;
}

/** Every container, brought up to date, newest first. */
export async function listContainers(ctx: RecordContext): Promise<ContainerRecord[]> {
  await ctx.containerStore.sweep();
  const out: ContainerRecord[] = [];
  for (const r of await ctx.containerStore.list()) {
    let x;
    try {
      x = await reconcile(ctx, r);
    } catch (e) {
      // Removed by another command between the listing and this look: not listed.
      if (e instanceof BerthError && e.code === 'ENOT_FOUND') continue;
      throw e;
    }
    if (!x.gone) out.push(x.rec);
  }
  return out.sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
}
