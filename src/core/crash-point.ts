/**
 * A test seam for crash safety: with `BERTH_CRASH_AT=<step>` in the environment, the process
 * SIGKILLs itself when it reaches that step — exactly `kill -9` at that point, without any
 * race against a test's timer. Multi-step operations name the points between their steps;
 * the crash tests (test/integration/crash-safety.test.ts) kill the CLI at each one and check
 * that the next command finds a consistent state and that nothing leaks.
 *
 * `BERTH_CRASH_AT=step@N` crashes at the N-th time the step is reached in this process
 * (for steps inside loops). Processes started by the engine inherit the environment, so the
 * shim's exit command (`container cleanup`) can be crashed the same way.
 *
 * Outside tests the variable is unset and each point costs one property lookup.
 */
export type CrashStep =
  | 'create:dir'
  | 'create:recorded'
  | 'create:snapshot-dir'
  | 'create:named'
  | 'create:snapshot'
  | 'create:volume'
  | 'start:mounted'
  | 'runtime:cgroup-created'
  | 'start:launched'
  | 'start:recorded'
  | 'runtime:released'
  | 'start:released'
  | 'stop:signalled'
  | 'pause:frozen'
  | 'unpause:thawed'
  | 'rm:removing'
  | 'rm:snapshot-removed'
  | 'rm:record-removed'
  | 'cleanup:runtime-deleted'
  | 'cleanup:begin'
  | 'cleanup:settled'
  | 'restart:waiting'
  | 'net:netns'
  | 'net:links'
  | 'net:firewall'
  | 'net:dns';

const counts = new Map<string, number>();

export function crashPoint(step: CrashStep): void {
  const want = process.env.BERTH_CRASH_AT;
  if (!want) return;
  const [name, nth] = want.split('@');
  if (name !== step) return;
  const n = (counts.get(step) ?? 0) + 1;
  counts.set(step, n);
  if (n === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
}
