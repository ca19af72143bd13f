/**
 * docker's behaviour for commands over several objects (`rm a b c`, `volume rm x y`): each is
 * tried, successes are printed, each failure is reported on stderr, and the exit status is 1
 * if any failed — one bad name does not stop the others.
 */
import { isBerthError } from '../../core/errors';
import type { CliEnv } from './env';

export async function eachOf<T>(env: CliEnv, items: T[], fn: (item: T) => Promise<void> | void): Promise<void> {
  let failed = false;
  for (const item of items) {
    try {
      await fn(item);
    } catch (e) {
      failed = true;
      if (isBerthError(e)) env.err.write(`Error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
      else env.err.write(`Error: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  if (failed) env.exit(1);
}
