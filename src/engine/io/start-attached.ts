/**
 * Starting a prepared container with the caller attached from its first byte (`run` without
 * -d, `start -a`, and the API's attach-then-start): attach before the process is released,
 * release, wait, read the exit status, and apply --rm once the caller has read it.
 */
import type { Readable, Writable } from 'node:stream';
import { BerthError } from '../../core/errors';
import type { FileLock } from '../../core/lock';
import type { ContainerRecord } from '../containers/record';
import { attach, readExit, type ResizeHook } from '../shim';

export interface StartAttachedIo {
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  detachKeys?: string;
  onResize?: ResizeHook;
  /**
   * Attached, the process about to be released: a front end starts forwarding signals here
   * (the container may print, and the user answer with ctrl-c, before release returns).
   */
  onAttached?: () => void;
}

export interface StartAttachedOptions {
  tty: boolean;
  /** Remove the container once its exit status is read (--rm). */
  rm: boolean;
  /** What a failure to release becomes (the CLI gives it the exit status docker gives). */
  releaseFailed?: (e: unknown) => unknown;
}

/** A container prepared to start (containers/start's PreparedStart): its id and shim directory. */
export interface Prepared {
  rec: { Id: string };
  dir: string;
}

/** What it needs of the container service. */
export interface StartAttachedContext<P extends Prepared> {
  release(prepared: P): Promise<ContainerRecord>;
  holdExit(id: string): FileLock | undefined;
  releaseExit(id: string, hold: FileLock | undefined): Promise<void>;
  waitExit(id: string): Promise<ContainerRecord | undefined>;
  remove(id: string, opts: { force: boolean; volumes: boolean }): Promise<unknown>;
}

/** The exit status (0 when the caller detached). */
export async function startAttached<P extends Prepared>(ctx: StartAttachedContext<P>, prepared: P, io: StartAttachedIo, opts: StartAttachedOptions): Promise<{ detached: boolean; exitCode: number }> {
  let attached: (() => void) | undefined;
  const attachedOnce = new Promise<void>((r) => (attached = r));
  const session = attach(prepared.dir, {
    ...(io.stdin ? { stdin: io.stdin } : {}),
    stdout: io.stdout,
    stderr: io.stderr,
    tty: opts.tty,
    ...(io.detachKeys !== undefined ? { detachKeys: io.detachKeys } : {}),
    ...(io.onResize ? { onResize: io.onResize } : {}),
    onAttached: () => attached?.(),
  });
  // Before the process runs: with --rm, whoever settles its exit (the shim's exit command,
  // any `ps`) leaves the container to us until we have read its exit status.
  const exitHold = opts.rm ? ctx.holdExit(prepared.rec.Id) : undefined;
  try {
    await Promise.race([attachedOnce, session]);
    io.onAttached?.();
    try {
      await ctx.release(prepared);
    } catch (e) {
      throw opts.releaseFailed ? opts.releaseFailed(e) : e;
    }
    const { detached } = await session;
    if (detached) return { detached: true, exitCode: 0 };
    // The shim closes attach clients after writing exit.json: read it now, as with --rm the
    // container (and this file) may be removed before we look again.
    const exit = await readExit(prepared.dir);
    let code: number;
    try {
      const done = await ctx.waitExit(prepared.rec.Id);
      code = done?.State.ExitCode ?? exit?.exitCode ?? 0;
    } catch (e) {
      if (!(e instanceof BerthError && e.code === 'ENOT_FOUND' && exit)) throw e;
      code = exit.exitCode;
    }
    if (opts.rm) await ctx.remove(prepared.rec.Id, { force: true, volumes: true }).catch(() => undefined);
    return { detached: false, exitCode: code };
  } finally {
    await ctx.releaseExit(prepared.rec.Id, exitHold);
  }
}
