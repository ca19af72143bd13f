/**
 * bin/berth and bin/berth-runtime start Node without the caller's NODE_OPTIONS (so that it
 * cannot change how the tool runs) and hand the value over in BERTH_CALLER_NODE_OPTIONS.
 * Putting it back makes process.env the caller's environment again, for what copies from it:
 * `run -e NODE_OPTIONS` (docker copies the caller's value), env files with bare names.
 */
export const CALLER_NODE_OPTIONS = 'BERTH_CALLER_NODE_OPTIONS';

export function restoreCallerEnv(env: NodeJS.ProcessEnv = process.env): void {
  const saved = env[CALLER_NODE_OPTIONS];
  if (saved === undefined) return;
  env.NODE_OPTIONS = saved;
  delete env[CALLER_NODE_OPTIONS];
}

