/**
 * What the verbs of `berth-runtime` get from the program that registers them: its own module
 * so that the command files and main.ts (which imports them) do not import each other.
 */
import type { RuntimeContext } from '../../runtime/context';
import type { RuntimeLog } from './log';

export interface CliEnv {
  ctx(): RuntimeContext;
  log(): RuntimeLog;
  /** Sets the process exit status (the CLI never calls process.exit while work is pending). */
  exit(code: number): void;
}
