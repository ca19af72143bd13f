/** `run`: create + start, and in the foreground wait for the exit status and delete. */
import type { RuntimeContext } from './context';
import { createContainer, type CreateOptions } from './create';
import { startContainer } from './start';
import { deleteContainer } from './kill-delete';

export async function runContainer(ctx: RuntimeContext, opts: CreateOptions & { detach: boolean; keep?: boolean }): Promise<number> {
  const { rec, handle } = await createContainer(ctx, { ...opts, foreground: !opts.detach });
  try {
    await startContainer(ctx, rec.id);
  } catch (e) {
    await deleteContainer(ctx, rec.id, true).catch(() => undefined);
    throw e;
  }
  if (opts.detach) return 0;
  // Signals sent to the CLI (e.g. by a supervisor) go to the container's init.
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(rec.pid, sig);
    } catch {
      /* gone */
    }
  };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  for (const s of sigs) process.on(s, forward);
  try {
    return await handle.wait();
  } finally {
    for (const s of sigs) process.off(s, forward);
    if (!opts.keep) await deleteContainer(ctx, rec.id, true);
  }
}
