/**
 * Spawning berth-shim and the engine's end of its control channel. The shim is spawned
 * detached (own session), with /dev/null as stdin and <dir>/shim.log as stdout/stderr, the
 * control channel as fd 3 and whatever the mode needs after it (built-in: berth-init's sync
 * channel as fd 4, the seccomp listener socket as fd 5). The channel lives only while the
 * container is created: SPAWNED, INIT_EXIT and MONITORING (or ERROR) come from the shim, PID
 * goes to it; closing it before MONITORING tells the shim to kill what it started and exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import type { Socket } from 'node:net';
import { FrameReader } from '../../runtime/init-frames';
import type { InitExit } from '../../runtime/init-launcher';
import { CTL_ERROR, CTL_INIT_EXIT, CTL_MONITORING, CTL_PID, CTL_SPAWNED, controlFrame } from './protocol';
import { SHIM_LOG, shimBinaryPath } from './paths';

export type MonitorResult = { pid: number } | { error: string };

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function signalName(n: number): NodeJS.Signals | null {
  for (const [name, num] of Object.entries(osConstants.signals)) if (num === n) return name as NodeJS.Signals;
  return null;
}

export class ShimProcess {
  readonly child: ChildProcess;
  /** pid of berth-init's first stage / the runtime's create, once the shim started it. */
  readonly initPid: Promise<number | undefined>;
  /** That process's exit (or the shim's failure, as `error`). Never rejects. */
  readonly initExit: Promise<InitExit>;
  /** The shim holds the container (its pid), or gave up (its message). Never rejects. */
  readonly monitoring: Promise<MonitorResult>;
  /** The shim process itself has exited (it does once the container has, or on failure). */
  readonly exited: Promise<number | null>;
  private readonly control: Socket;
  private spawnError: Error | undefined;
  private shimError: string | undefined;

  constructor(args: string[], extraStdio: Array<'pipe' | number>, env: NodeJS.ProcessEnv, dir: string) {
    // Synchronous: the built-in runtime's launcher callback, which constructs this, must
    // return at once (it hands back the sync socket); one open of a local file.
    const log = openSync(join(dir, SHIM_LOG), 'a', 0o600);
    try {
      this.child = spawn(shimBinaryPath(), args, {
        stdio: ['ignore', log, log, 'pipe', ...extraStdio],
        detached: true,
        env,
        argv0: 'berth-shim',
      });
    } finally {
      closeSync(log);
    }
    this.child.once('error', (e) => (this.spawnError = e));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.once('error', () => resolve(null));
    });
    this.control = this.child.stdio[3] as Socket;
    const spawned = deferred<number | undefined>();
    const initExit = deferred<InitExit>();
    const monitoring = deferred<MonitorResult>();
    this.initPid = spawned.promise;
    this.initExit = initExit.promise;
    this.monitoring = monitoring.promise;
    const reader = new FrameReader(this.control);
    void (async () => {
      for (;;) {
        const f = await reader.next();
        if (!f) break;
        if (f.type === CTL_SPAWNED && f.payload.length === 4) spawned.resolve(f.payload.readUInt32LE(0));
        else if (f.type === CTL_INIT_EXIT && f.payload.length === 8) {
          const code = f.payload.readInt32LE(0);
          const sig = f.payload.readInt32LE(4);
          initExit.resolve(sig ? { code: null, signal: signalName(sig) } : { code, signal: null });
        } else if (f.type === CTL_MONITORING && f.payload.length === 4) monitoring.resolve({ pid: f.payload.readUInt32LE(0) });
        else if (f.type === CTL_ERROR) this.shimError = f.payload.toString('utf8');
      }
      // EOF: whatever has not arrived will not (the first resolve wins).
      const why = this.failure();
      spawned.resolve(undefined);
      initExit.resolve({ code: null, signal: null, error: new Error(why) });
      monitoring.resolve({ error: why });
    })();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Why the shim gave up, as well as we know. */
  failure(): string {
    if (this.spawnError) return `cannot run ${shimBinaryPath()}: ${this.spawnError.message}`;
    if (this.shimError) return this.shimError;
    return 'berth-shim closed its control channel (see shim.log in the container directory)';
  }

  /** Built-in mode: the engine learned the container's pid from berth-init. */
  sendPid(pid: number): void {
    const p = Buffer.alloc(4);
    p.writeUInt32LE(pid, 0);
    this.control.write(controlFrame(CTL_PID, p));
  }

  /** The container is handed over: the shim lives on without us. */
  release(): void {
    this.control.destroy();
    for (const s of this.child.stdio) s?.destroy();
    this.child.unref();
  }

  /** Create failed: the shim kills whatever it started and exits; resolves once it has. */
  async abort(): Promise<void> {
    this.control.destroy();
    for (const s of this.child.stdio) s?.destroy();
    await this.exited;
  }
}
