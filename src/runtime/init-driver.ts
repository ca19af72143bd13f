/**
 * Drives berth-init through its sync protocol. A launcher (init-launcher.ts) starts berth-init
 * ("P") with the caller's stdio, the preserved fds and one extra socketpair (the sync channel,
 * fd 3+N); P clone()s the container process ("C"). The frames (init-frames.ts) come in this
 * order:
 *
 *   Node -> P  PLAN   the encoded plan (plan.ts)
 *   P -> Node  PID    C's host pid            Node: id maps, onPid (cgroup), then GO
 *   Node -> C  GO
 *   C -> Node  HOOKS  mounts done, before pivot_root; Node: onCreateRuntime, then STATE
 *   Node -> C  STATE  the state JSON for createContainer/startContainer hooks
 *   C -> Node  SECCOMP  the filter's notification listener is on the listener socket; Node
 *                      forwards it to linux.seccomp.listenerPath, then SECCOMP_DONE
 *   Node -> C  SECCOMP_DONE
 *   C -> Node  READY  (create) set up and about to block on the exec fifo
 *   P/C -> Node ERROR "<step>: <detail>: <strerror> (ERRNO)", then exit 1
 *
 * The listener travels on its own socketpair (fd 4+N in P), not on the sync channel: libuv
 * reads the sync channel with read(2), which discards fds sent with SCM_RIGHTS.
 *
 * For exec there is no READY: the channel is close-on-exec in C, so EOF without ERROR means
 * execve succeeded. Whatever fails, no process is left behind: P and C are SIGKILLed before
 * the returned promise rejects. The protocol is the same whoever launched P.
 */
// closeSync stays for our ends of the listener socketpair: closing a socket fd does no I/O.
import { closeSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { BerthError } from '../core/errors';
import { compileSeccomp, SECCOMP_FILTER_FLAG_NEW_LISTENER } from '../seccomp';
import { sys } from '../sys';
import { encodePlan } from './plan';
import { buildPlan, idMapFiles, type PlanDeps, type PlanOptions, type SeccompProgram } from './plan-builder';
import { FRAME, FrameReader, frame, initErrorMessage, type Frame } from './init-frames';
import { initBinaryPath, sigkill, spawnInit, type InitLauncher, type LaunchedInit } from './init-launcher';

/** What the plan is built from (PlanOptions), and how to start and drive P. */
export interface InitOptions extends PlanOptions {
  /** fds 0..2 for the container (default: inherit ours). */
  stdio?: Array<'inherit' | number>;
  /**
   * P in a session of its own, out of the caller's process group: for callers that relay
   * the process's stdio and forward signals themselves (`InitHandle.signal`), so that a
   * ctrl-c at their terminal reaches the process once, through them. (C always leads its
   * own session, whatever P does.)
   */
  newSession?: boolean;
  /** Traces the sync protocol's steps (`--debug`). */
  debug?: (msg: string) => void;
  /** Precompiled linux.seccomp (e.g. cached by the engine); compiled with src/seccomp when absent. */
  seccomp?: SeccompProgram;
  /** Starts P; default: spawned by this process (`spawnInit`). */
  launcher?: InitLauncher;
}

export interface InitHandlers {
  /** C exists but has done nothing yet: put it in its cgroup here. */
  onPid(pid: number): Promise<void>;
  /** create: namespaces and mounts ready, before pivot_root; returns the state JSON for the
   * createContainer and startContainer hooks. */
  onCreateRuntime?(pid: number): Promise<string>;
  /**
   * The seccomp filter has a user-notification listener (SCMP_ACT_NOTIFY): hand `fd` to the
   * agent (linux.seccomp.listenerPath). The process waits until this resolves; the driver
   * closes its copy of `fd` afterwards. Required when the profile uses SCMP_ACT_NOTIFY.
   */
  onSeccompListener?(pid: number, fd: number): Promise<void>;
}

export interface InitHandle {
  /** Host pid of the container process. */
  pid: number;
  /** Foreground: the exit status (128+signo for a signal); otherwise 0 once P has exited. */
  wait(): Promise<number>;
  /** Foreground: passes a signal to the container process (through P) while it runs. */
  signal(sig: NodeJS.Signals): void;
}

function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);
}

export async function startInit(opts: InitOptions, handlers: InitHandlers): Promise<InitHandle> {
  const deps: PlanDeps = {};
  if (opts.seccomp) {
    const program = opts.seccomp;
    deps.compileSeccomp = () => program;
  } else if (opts.config.linux?.seccomp) {
    deps.compileSeccomp = (profile) => compileSeccomp(profile, opts.warn ? { warn: opts.warn } : {});
  }
  const plan = buildPlan(opts, deps);
  const maps = opts.mode === 'create' ? idMapFiles(opts.config) : undefined;
  const preserve = opts.preserveFds ?? 0;
  const syncFd = 3 + preserve;
  let listenerSock: [number, number] | undefined;
  if (plan.seccomp && plan.seccomp.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
    if (!handlers.onSeccompListener) {
      throw new BerthError('EINTERNAL', 'linux.seccomp uses SCMP_ACT_NOTIFY but the caller cannot forward the listener (no onSeccompListener)');
    }
    listenerSock = sys().socketpair();
    plan.seccompListenerSocket = syncFd + 1;
  }
  const encoded = encodePlan(plan);
  const debug = opts.debug ?? ((): void => {});

  if (opts.mode === 'create' && opts.execFifo) {
    // C reopens the fifo for writing after switching to the container's user (possibly a
    // non-root uid or a mapped root that is "other" to us): make it writable by anyone, as
    // its 0622 creation mode intended before the umask took its share.
    await chmod(opts.execFifo, 0o622);
  }
  let child: LaunchedInit;
  try {
    child = (opts.launcher ?? spawnInit)({
      syncFd,
      ...(listenerSock ? { listenerFd: listenerSock[1] } : {}),
      ...(opts.stdio ? { stdio: opts.stdio } : {}),
      preserveFds: preserve,
      foreground: opts.foreground ?? false,
      ...(opts.newSession ? { newSession: true } : {}),
    });
  } catch (e) {
    if (listenerSock) closeSync(listenerSock[0]);
    throw e;
  } finally {
    // P has its own copy now (or was not started): ours would keep the pair open forever.
    if (listenerSock) closeSync(listenerSock[1]);
  }
  const closeListenerSock = (): void => {
    if (listenerSock) closeSync(listenerSock[0]);
    listenerSock = undefined;
  };
  debug(`${opts.mode}: started ${initBinaryPath()} with a ${encoded.length}-byte plan on sync fd ${syncFd}`);
  const exited = child.exited;
  const sock = child.sync;
  const reader = new FrameReader(sock);
  let cpid: number | undefined;

  const fail = async (message: string, cause?: unknown): Promise<never> => {
    sigkill(cpid);
    child.kill();
    sock.destroy();
    closeListenerSock();
    await exited;
    if (cause instanceof BerthError) throw cause;
    throw new BerthError('EINIT', message, { ...(cause !== undefined ? { cause } : {}), hint: hintFor(message) });
  };
  const expect = async (what: string): Promise<Frame> => {
    const f = await reader.next();
    if (f === null) {
      const ex = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
      if (ex?.error) return fail(`cannot run ${initBinaryPath()}: ${ex.error.message}`, ex.error);
      const how = ex ? (ex.code !== null ? `with status ${ex.code}` : `on signal ${ex.signal}`) : 'its channel';
      return fail(`berth-init exited ${how} while waiting for ${what}`);
    }
    if (f.type === FRAME.ERROR) return fail(initErrorMessage(f.payload));
    return f;
  };

  /** C loaded a filter with a listener and sent it on the listener socket: pass it on. */
  const forwardListener = async (pid: number): Promise<void> => {
    if (!listenerSock || !handlers.onSeccompListener) return fail('sync: unexpected SECCOMP frame (no listener was asked for)');
    const { fd } = sys().recvFd(listenerSock[0]);
    try {
      await handlers.onSeccompListener(pid, fd);
    } finally {
      closeSync(fd);
    }
    sock.write(frame(FRAME.SECCOMP_DONE));
  };

  try {
    sock.write(frame(FRAME.PLAN, encoded));
    const pidFrame = await expect('the container pid');
    if (pidFrame.type !== FRAME.PID || pidFrame.payload.length !== 4) return await fail(`sync: expected PID, got frame ${pidFrame.type}`);
    cpid = pidFrame.payload.readUInt32LE(0);
    debug(`${opts.mode}: container process is host pid ${cpid}`);
    if (maps) {
      // Written from here, in the parent user namespace, before C does anything as root.
      await writeFile(`/proc/${cpid}/uid_map`, maps.uidMap);
      await writeFile(`/proc/${cpid}/gid_map`, maps.gidMap);
    }
    await handlers.onPid(cpid);
    sock.write(frame(FRAME.GO));
    debug(`${opts.mode}: pid ${cpid} is in its cgroup, told it to go on`);
    if (opts.mode === 'create') {
      for (;;) {
        const f = await expect('the container to be ready');
        if (f.type === FRAME.READY) {
          debug('create: the container is set up and waits on the exec fifo');
          break;
        }
        if (f.type === FRAME.SECCOMP) {
          debug('seccomp: forwarding the notification listener');
          await forwardListener(cpid);
          continue;
        }
        if (f.type !== FRAME.HOOKS) return await fail(`sync: unexpected frame ${f.type}`);
        debug('create: mounts are done; running the prestart and createRuntime hooks');
        const state = handlers.onCreateRuntime ? await handlers.onCreateRuntime(cpid) : '{}';
        sock.write(frame(FRAME.STATE, state));
      }
    } else {
      for (;;) {
        const f = await reader.next();
        if (f === null) {
          debug('exec: the process reached execve');
          break;
        }
        if (f.type === FRAME.ERROR) return await fail(initErrorMessage(f.payload));
        if (f.type !== FRAME.SECCOMP) return await fail(`sync: unexpected frame ${f.type} from the exec process`);
        await forwardListener(cpid);
      }
    }
  } catch (e) {
    if (e instanceof BerthError && e.code === 'EINIT') throw e;
    return fail(e instanceof Error ? e.message : String(e), e);
  }

  // Success: the CLI may exit while the container lives on.
  sock.destroy();
  closeListenerSock();
  if (!opts.foreground) child.release();
  const pid = cpid;
  return {
    pid,
    wait: async () => {
      const ex = await exited;
      return opts.foreground ? exitStatus(ex.code, ex.signal) : 0;
    },
    signal: (sig) => {
      if (opts.foreground) child.signal?.(sig);
    },
  };
}

function hintFor(message: string): string | undefined {
  if (/^mount: .*open source/.test(message)) return 'check that the mount source exists on the host';
  if (/^exec: .*not found/.test(message) || /^exec: .*\(ENOENT\)/.test(message)) return 'check process.args[0] and PATH in process.env';
  if (/^cwd: /.test(message)) return 'process.cwd must be a directory inside the container';
  if (/berth-init: |cannot run /.test(message)) return 'build the native programs: npm run install';
  if (/setresuid\(0\)|setresgid\(0\)/.test(message)) return 'map container uid/gid 0 in linux.uidMappings/gidMappings';
  return undefined;
}
