/**
 * A real pseudo-terminal around a command, for testing what a user at a terminal sees:
 * `berth run -it`, `exec -it`, `attach`, detach keys, ctrl-c, window sizes.
 *
 * Node has no pty API and we take no native npm dependency for tests, so a small python3
 * program is the bridge: it forks the command on a new pty (its controlling terminal, so
 * TIOCSWINSZ on the master sends it SIGWINCH exactly as a terminal emulator's resize does),
 * passes our writes to the master, and reports output and the exit status as JSON lines.
 * The matching (`expect`) happens here, so tests read like a terminal session.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export const ptyAvailable: boolean = spawnSync('python3', ['-c', 'import pty, termios, fcntl, select, json'], { stdio: 'ignore' }).status === 0;

const BRIDGE = String.raw`
import os, sys, pty, json, select, fcntl, termios, struct, base64, signal
rows, cols = int(sys.argv[1]), int(sys.argv[2])
argv = sys.argv[3:]
pid, master = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
def emit(o):
    sys.stdout.write(json.dumps(o) + '\n'); sys.stdout.flush()
status = None
master_open = True
stdin_open = True
while True:
    fds = ([master] if master_open else []) + ([0] if stdin_open else [])
    r, _, _ = select.select(fds, [], [], 0.05)
    if master in r:
        try:
            d = os.read(master, 65536)
        except OSError:
            d = b''
        if d: emit({'ev': 'data', 'b64': base64.b64encode(d).decode()})
        else: master_open = False
    if 0 in r:
        line = sys.stdin.readline()
        if not line:
            stdin_open = False
            if status is None: os.kill(pid, signal.SIGKILL)
            continue
        c = json.loads(line)
        if c['op'] == 'write': os.write(master, base64.b64decode(c['b64']))
        elif c['op'] == 'resize': fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', c['rows'], c['cols'], 0, 0))
        elif c['op'] == 'kill': os.kill(pid, c['sig'])
    if status is None:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid: status = st
    # The command is gone and the master has nothing more (or nobody else holds the slave).
    if status is not None and (not master_open or not r):
        emit({'ev': 'exit', 'code': os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
              'signal': os.WTERMSIG(status) if os.WIFSIGNALED(status) else None})
        break
`;

export interface PtyExit {
  code: number | null;
  signal: number | null;
}

export class PtySession {
  private buf = '';
  /** Index in `buf` up to which `expect` has consumed. */
  private pos = 0;
  private waiters: Array<() => void> = [];
  private exitInfo: PtyExit | undefined;
  private readonly proc: ChildProcess;
  readonly exited: Promise<PtyExit>;

  constructor(argv: string[], opts: { rows?: number; cols?: number; env?: NodeJS.ProcessEnv } = {}) {
    this.proc = spawn('python3', ['-c', BRIDGE, String(opts.rows ?? 24), String(opts.cols ?? 80), ...argv], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, TERM: 'xterm', ...(opts.env ?? {}) },
    });
    this.exited = new Promise((resolve) => {
      const lines = createInterface({ input: this.proc.stdout! });
      lines.on('line', (l) => {
        const m = JSON.parse(l) as { ev: string; b64?: string; code?: number | null; signal?: number | null };
        if (m.ev === 'data') this.buf += Buffer.from(m.b64!, 'base64').toString('utf8');
        else if (m.ev === 'exit') {
          this.exitInfo = { code: m.code ?? null, signal: m.signal ?? null };
          resolve(this.exitInfo);
        }
        this.notify();
      });
      this.proc.once('exit', () => {
        if (!this.exitInfo) {
          this.exitInfo = { code: null, signal: null };
          resolve(this.exitInfo);
        }
        this.notify();
      });
    });
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  private send(cmd: Record<string, unknown>): void {
    if (this.proc.stdin?.writable) this.proc.stdin.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Types into the terminal (bytes as given: "\x03" is ctrl-c, "\x10\x11" ctrl-p ctrl-q). */
  write(data: string): void {
    this.send({ op: 'write', b64: Buffer.from(data).toString('base64') });
  }

  /** Resizes the terminal: the kernel sends SIGWINCH to the command. */
  resize(rows: number, cols: number): void {
    this.send({ op: 'resize', rows, cols });
  }

  signal(sig: number): void {
    this.send({ op: 'kill', sig });
  }

  /** Everything the terminal showed. */
  get output(): string {
    return this.buf;
  }

  /**
   * Waits until the output after the last match contains `pattern`; returns the text up to
   * and including the match. The timeout only turns a hang into a readable failure.
   */
  async expect(pattern: RegExp | string, timeoutMs = 30_000): Promise<string> {
    const re = typeof pattern === 'string' ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : pattern;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.buf.slice(this.pos);
      const m = re.exec(rest);
      if (m) {
        const upTo = this.pos + m.index + m[0].length;
        const text = this.buf.slice(this.pos, upTo);
        this.pos = upTo;
        return text;
      }
      if (this.exitInfo) throw new Error(`terminal: ${re} never appeared; the command exited (${JSON.stringify(this.exitInfo)}); output:\n${JSON.stringify(rest)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`terminal: ${re} did not appear; output after the last match:\n${JSON.stringify(rest)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The command's exit; kills it (and fails) if it does not come. */
  async wait(timeoutMs = 30_000): Promise<PtyExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === 'timeout') {
      this.close();
      throw new Error(`terminal: the command did not exit; output:\n${JSON.stringify(this.buf.slice(this.pos))}`);
    }
    return r;
  }

  /** Ends the session (the command is killed if it still runs). */
  close(): void {
    this.proc.stdin?.end();
    if (this.proc.exitCode === null) setTimeout(() => this.proc.kill('SIGKILL'), 2000).unref();
  }
}
