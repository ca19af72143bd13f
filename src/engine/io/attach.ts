/**
 * Attaching to a running container's stdio through its shim, holding its exit status for
 * the attached caller (a --rm container is removed only once the caller has read it): what
 * `berth attach` does and what the API's `POST /containers/{id}/attach` will do.
 */
import type { Readable, Writable } from 'node:stream';
import { BerthError } from '../../core/errors';
import type { FileLock } from '../../core/lock';
import type { ContainerRecord } from '../containers/record';
import { runPaths } from '../containers/runtime';
import { attach, type ResizeHook } from '../shim';

export interface ContainerAttachIo {
  /** Relayed to the container's stdin (when it was created with stdin open). */
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  detachKeys?: string;
  onResize?: ResizeHook;
}

/** What attach needs of the engine: its run root and the exit-status hold of the container service. */
export interface AttachContext {
  runRoot: string;
  holdExit(id: string): FileLock | undefined;
  releaseExit(id: string, hold: FileLock | undefined): Promise<void>;
  waitExit(id: string): Promise<ContainerRecord | undefined>;
}

export interface AttachResult {
  /** The caller detached with the detach keys; the container runs on. */
  detached: boolean;
  /** When not detached: the container's exit code. */
  exitCode?: number;
}

export async function attachContainer(ctx: AttachContext, rec: ContainerRecord, io: ContainerAttachIo): Promise<AttachResult> {
  if (!rec.State.Running) throw new BerthError('ESTATE', 'you cannot attach to a stopped container, start it first');
  // Its exit status is ours to read even with --rm (see holdExit).
  const hold = ctx.holdExit(rec.Id);
  try {
    const r = await attach(runPaths(ctx.runRoot, rec.Id).dir, {
      ...(io.stdin && rec.Config.OpenStdin ? { stdin: io.stdin } : {}),
      stdout: io.stdout,
      stderr: io.stderr,
      tty: rec.Config.Tty === true,
      ...(io.detachKeys !== undefined ? { detachKeys: io.detachKeys } : {}),
      ...(io.onResize ? { onResize: io.onResize } : {}),
    });
    if (r.detached) return { detached: true };
    const done = await ctx.waitExit(rec.Id);
    return { detached: false, exitCode: done?.State.ExitCode ?? 0 };
  } finally {
    await ctx.releaseExit(rec.Id, hold);
  }
}
