/**
 * One interface for every OCI runtime a container can run under (libpod's OCIRuntime shape):
 * the built-in runtime (the in-process runtime library, src/runtime/) and an external runtime
 * binary (runc, crun, a path). The engine asks `Runtimes.for(rec)` for a record's runtime and
 * never looks at which kind it got.
 */
import type { Readable, Writable } from 'node:stream';
import type { PipedStdio } from '../../runtime/stdio-pipes';
import type { LinuxResources, Process } from '../../spec/types';
import type { ResizeHook, ShimRuntime } from '../shim';

/** What `RUNTIME state ID` says, reduced to what the engine reads. */
export interface OciState {
  /** created, running, paused or stopped (the OCI runtime spec's statuses). */
  status: string;
  pid?: number;
}

export interface ExecRequest {
  cmd: string[];
  env?: string[];
  user?: string;
  workdir?: string;
  tty?: boolean;
  interactive?: boolean;
  detach?: boolean;
  privileged?: boolean;
  /** With tty: the terminal's size before the process runs (no race with a later resize). */
  consoleSize?: { rows: number; cols: number };
}

export interface ExecIo {
  /** Relayed to the process with `interactive` (its stdin ends when this ends). */
  stdin?: Readable;
  stdout: Writable;
  /** Without a terminal (default: stdout). */
  stderr?: Writable;
  onResize?: ResizeHook;
  detachKeys?: string;
  /**
   * The process runs: `signal` passes a signal on to it until it exits (the CLI forwards
   * ctrl-c and the like, since the process is not in its process group). Not for `detach`.
   */
  onStarted?: (proc: { signal(sig: NodeJS.Signals): void }) => void;
}

/** A process whose output is captured through pipes (a health check). */
export interface CapturedExec {
  /** Made by the caller; the process gets their child ends. */
  pipes: PipedStdio;
  /** Receives the process's host pid, so that a caller can kill it (a timeout). */
  pidFile: string;
}

export interface OciRuntime {
  /** `berth` for the built-in runtime, else the name or path the container was created with. */
  readonly name: string;
  /**
   * Whether `commit` freezes a running container of this runtime while it reads its changes
   * (the built-in runtime's containers; an external runtime's have been committed live).
   */
  readonly pausesForCommit: boolean;
  /** How berth-shim creates and starts the container with this runtime (shim/launch.ts). */
  shim(warn: (message: string) => void): ShimRuntime;
  /** A signal to the container's init, or with `all` to every process of it. */
  kill(id: string, signal: number, all?: boolean): Promise<void>;
  /** Freezes every process (the freezer cgroup); refusals come with the runtime's own words. */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Removes the container, killing what is left of it; its cgroup and state go too. */
  delete(id: string): Promise<void>;
  /** The runtime's view of the container; undefined when it does not know it. */
  state(id: string): Promise<OciState | undefined>;
  /**
   * Whether the container's process was released (runs, or ran) rather than created and
   * still waiting to be started. Unknown containers count as not started.
   */
  started(id: string): Promise<boolean>;
  /** `exec`: another process in the running container, relayed to `io`; its exit status. */
  exec(id: string, proc: Process, req: ExecRequest, io: ExecIo): Promise<number>;
  /** A process without a terminal whose output goes to the given pipes; its exit status. */
  execCaptured(id: string, proc: Process, opts: CapturedExec): Promise<number>;
  /** New limits written to the running container's cgroup. */
  update(id: string, resources: LinuxResources, warn: (message: string) => void): Promise<void>;
}

/** Whether the runtime has the container frozen (false when it does not know it). */
export async function runtimeFrozen(runtime: OciRuntime, id: string): Promise<boolean> {
  return (await runtime.state(id))?.status === 'paused';
}
