/**
 * `exec`: another process in a running container, configured like its init (capabilities,
 * seccomp, masked paths come from the container's generated config.json) with the user's
 * command, env, user, working directory and terminal. The caller relays the process's stdio
 * itself (no shim): pipes for plain exec (runtime/stdio-pipes.ts), a pty master received on a console
 * socket for `-t`, /dev/null for `-d` (as containerd's null IO). No fd of ours reaches the
 * process, and it leads a session of its own (berth-init; runc and crun do the same): neither
 * our terminal nor our process group is within its reach.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../core/errors';
import type { Process, RuntimeConfig } from '../../spec/types';
import { envKey, mergeEnv } from '../spec/image-merge';
import { resolveUser } from '../spec/user';
import { computeCapabilities } from '../spec/capabilities';
import type { ExecIo, ExecRequest } from '../runtimes';
import type { ContainerContext, RecordContext } from './context';
import { containerEventAttributes } from './event-attrs';
import { getContainer } from './lookup';
import { containerName, type ContainerRecord } from './record';
import { runPaths } from './runtime';

export type { ExecIo, ExecRequest } from '../runtimes';

async function containerConfig(ctx: Pick<ContainerContext, 'runRoot'>, rec: ContainerRecord): Promise<RuntimeConfig> {
  try {
    return JSON.parse(await readFile(join(runPaths(ctx.runRoot, rec.Id).bundle, 'config.json'), 'utf8')) as RuntimeConfig;
  } catch (e) {
    throw new BerthError('ESTATE', `container ${containerName(rec)} has no runtime configuration (is it running?)`, { cause: e });
  }
}

/**
 * The exec's environment as docker builds it: the container's, with TERM=xterm when the
 * exec has a terminal — and only then: a `run -t` container's TERM=xterm describes its own
 * terminal, not this process's — unless the container's configuration sets TERM itself;
 * the exec's own variables last.
 */
export function execEnv(containerEnv: string[], configEnv: string[], tty: boolean, extra: string[]): string[] {
  const userTerm = configEnv.some((e) => envKey(e) === 'TERM');
  const base = userTerm ? containerEnv : containerEnv.filter((e) => envKey(e) !== 'TERM');
  return mergeEnv(tty && !userTerm ? [...base, 'TERM=xterm'] : base, extra);
}

export async function execProcess(ctx: Pick<ContainerContext, 'runRoot'>, rec: ContainerRecord, req: ExecRequest): Promise<Process> {
  const base = (await containerConfig(ctx, rec)).process!;
  const user = req.user ? await resolveUser(`/proc/${rec.State.Pid}/root`, req.user) : undefined;
  const caps = req.privileged ? computeCapabilities({ privileged: true }) : undefined;
  return {
    ...base,
    terminal: req.tty === true,
    ...(req.tty && req.consoleSize ? { consoleSize: { height: req.consoleSize.rows, width: req.consoleSize.cols } } : {}),
    args: req.cmd,
    env: execEnv(base.env ?? [], rec.Config.Env ?? [], req.tty === true, req.env ?? []),
    cwd: req.workdir || base.cwd,
    ...(user ? { user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) } } : {}),
    ...(caps ? { capabilities: { bounding: caps, effective: caps, permitted: caps } } : {}),
    ...(req.privileged ? { noNewPrivileges: false } : {}),
  };
}

/** Runs the exec; the exit status (0 for a detached exec once it started). */
export async function execInRunning(ctx: RecordContext, query: string, req: ExecRequest, io: ExecIo): Promise<number> {
  const rec = await getContainer(ctx, query);
  if (!rec.State.Running) throw new BerthError('ESTATE', `container ${containerName(rec)} is not running`, { hint: 'start it first' });
  if (rec.State.Paused) throw new BerthError('ESTATE', `container ${containerName(rec)} is paused, unpause the container before exec`);
  if (!req.cmd.length) throw new BerthError('EINVALID_ARGUMENT', 'exec needs a command', { hint: 'berth exec CONTAINER COMMAND [ARG...]' });
  const proc = await execProcess(ctx, rec, req);
  await ctx.events.emit('container', `exec_start: ${req.cmd.join(' ')}`, rec.Id, containerEventAttributes(rec));
  return ctx.runtimes.for(rec).exec(rec.Id, proc, req, io);
}
