/**
 * The receiving end of a runtime's `--console-socket`: a unix socket that accepts one
 * connection, takes the pty master the runtime sends with SCM_RIGHTS and reads it until the
 * container side closes. Node cannot receive file descriptors over a unix socket, so a few
 * lines of Python do it (python3 is on every Debian machine; tests skip without it).
 */
import { spawn, spawnSync } from 'node:child_process';

export const pythonAvailable: boolean = spawnSync('python3', ['-c', 'import socket; socket.recv_fds'], { stdio: 'ignore' }).status === 0;

const RECEIVER = [
  'import socket, sys, os',
  's = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); print("ready", flush=True)',
  'c, _ = s.accept(); msg, fds, _, _ = socket.recv_fds(c, 1024, 1)',
  'if len(sys.argv) > 2: os.write(fds[0], sys.argv[2].encode())',
  'out = b""',
  'while True:',
  '  try: d = os.read(fds[0], 4096)',
  '  except OSError: break',
  '  if not d: break',
  '  out += d',
  'sys.stdout.write("fds=%d\\n" % len(fds) + out.decode(errors="replace"))',
].join('\n');

export interface ConsoleReceiver {
  /** Resolves with "fds=N\n" followed by everything read from the pty master. */
  output: Promise<string>;
  stop(): void;
}

/**
 * Listens on `socketPath` (resolves once it is bound). `input`, when given, is typed into the
 * terminal right after the pty master arrives.
 */
export async function receiveConsole(socketPath: string, input?: string): Promise<ConsoleReceiver> {
  const py = spawn('python3', ['-c', RECEIVER, socketPath, ...(input !== undefined ? [input] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  py.stdout.setEncoding('utf8');
  let out = '';
  await new Promise<void>((resolve, reject) => {
    py.once('error', reject);
    py.stdout.once('data', (d: string) => {
      out += d.replace(/^ready\n/, '');
      resolve();
    });
  });
  py.stdout.on('data', (d: string) => (out += d));
  const output = new Promise<string>((resolve) => py.once('exit', () => resolve(out)));
  return {
    output,
    stop: () => {
      if (py.exitCode === null) py.kill('SIGKILL');
    },
  };
}
