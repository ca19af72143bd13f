/**
 * Facts about host processes read from /proc. A container's init pid alone is not an
 * identity: pids are reused, so records also keep the process start time (field 22 of
 * /proc/PID/stat, in clock ticks since boot) and every liveness check compares both.
 */
import { readFileSync } from 'node:fs';

export interface ProcStat {
  state: string;
  startTime: number;
}

export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
  return { state: rest[0] ?? '?', startTime: Number(rest[19]) };
}

/** True when `pid` is alive (not a zombie) and is the same process that started at `startTime`. */
export function isSameProcessAlive(pid: number, startTime: number | undefined): boolean {
  const st = readProcStat(pid);
  if (!st) return false;
  if (st.state === 'Z' || st.state === 'X') return false;
  return startTime === undefined || st.startTime === startTime;
}

/** Waits until the process is gone (or a zombie); returns false on timeout. */
export async function waitForExit(pid: number, startTime: number | undefined, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  while (Date.now() < deadline) {
    if (!isSameProcessAlive(pid, startTime)) return true;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
  return !isSameProcessAlive(pid, startTime);
}
