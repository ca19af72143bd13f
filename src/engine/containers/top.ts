/**
 * `top`: the host's `ps` output restricted to the container's processes, as docker does it
 * (the daemon runs ps, not the container, so an image without ps works). The arguments are
 * ps's own (`-ef` by default, giving UID PID PPID C STIME TTY TIME CMD); the container's pids
 * are passed with `-q` so ps prints only those, and when the arguments do not combine with
 * `-q` (BSD-style ones such as `aux` with some options) ps runs without it and the lines are
 * filtered by the PID column.
 */
import { BerthError } from '../../core/errors';
import { runCommand } from '../../core/command';
import type { RecordContext } from './context';
import { getContainer } from './lookup';
import { containerProcesses, requireRunning } from './cgroup';
import { containerEventAttributes } from './event-attrs';

/** docker's ContainerTopResponse. */
export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

/**
 * Splits ps output into titles and rows: every column but the last is one whitespace-free
 * field, the last (the command) takes the rest of the line. Only rows whose PID is in `pids`.
 */
export function parsePsOutput(text: string, pids: readonly number[]): TopResult {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidColumn = titles.indexOf('PID');
  if (pidColumn < 0) {
    throw new BerthError('EINVALID_ARGUMENT', `ps output has no PID column (titles: ${titles.join(' ')})`, { hint: 'include the pid in the ps options, e.g. -o pid,comm' });
  }
  const wanted = new Set(pids);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < titles.length) continue;
    const row = [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
    if (wanted.has(Number(row[pidColumn]))) processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

export async function containerTop(ctx: RecordContext, query: string, psArgs: readonly string[] = []): Promise<TopResult> {
  const rec = await getContainer(ctx, query);
  requireRunning(rec, 'list its processes');
  const pids = await containerProcesses(ctx.runRoot, rec);
  const args = psArgs.length ? [...psArgs] : ['-ef'];
  let r = await runCommand('ps', [...args, '-q', pids.join(',')]);
  if (r.error || r.status !== 0) r = await runCommand('ps', args);
  if (r.error) throw new BerthError('ENOT_FOUND', `cannot run ps: ${r.error.message}`, { hint: 'install procps on the host' });
  if (r.status !== 0) {
    throw new BerthError('EINVALID_ARGUMENT', `ps ${args.join(' ')} failed (exit status ${r.status}): ${r.stderr.trim()}`, { hint: 'pass options your ps accepts, e.g. berth top CONTAINER -o pid,user,args' });
  }
  const result = parsePsOutput(r.stdout, pids);
  await ctx.events.emit('container', 'top', rec.Id, containerEventAttributes(rec));
  return result;
}
