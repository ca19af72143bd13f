/**
 * Our own terminal while attached to a container's: raw mode (keys such as ctrl-c and the
 * detach keys go to the container instead of acting on us), the window size sent at the
 * start and on every SIGWINCH (Node turns it into 'resize' on the output stream), and the
 * original mode restored on every way out, process exit included.
 *
 * Output post-processing is switched off as well: libuv's raw mode keeps ONLCR, which would
 * turn the container's "\r\n" into "\r\r\n" and its bare "\n" (cursor down, as full-screen
 * programs use it) into a new line. The container's own terminal already did that work.
 */
import { sys } from '../../sys';
import type { ResizeHook } from './attach';

export interface TerminalSession {
  /** Input is a terminal (raw mode was set). */
  readonly raw: boolean;
  size(): { rows: number; cols: number } | undefined;
  /** For `attach({ onResize })` and `proxyConsole({ onResize })`. */
  onResize: ResizeHook;
  /** Back to the mode we found; safe to call more than once. */
  restore(): void;
}

type TtyIn = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown; isRaw?: boolean };
type TtyOut = NodeJS.WritableStream & { fd?: number; isTTY?: boolean; rows?: number; columns?: number; on(ev: 'resize', fn: () => void): unknown; off(ev: 'resize', fn: () => void): unknown };

export function rawTerminal(input: TtyIn = process.stdin, output: TtyOut = process.stdout as TtyOut): TerminalSession {
  const raw = input.isTTY === true && typeof input.setRawMode === 'function';
  const wasRaw = input.isRaw === true;
  if (raw) input.setRawMode!(true);
  const outFd = raw && output.isTTY && typeof output.fd === 'number' ? output.fd : undefined;
  const outputProcessing = (on: boolean): void => {
    if (outFd === undefined) return;
    try {
      sys().setOutputProcessing(outFd, on);
    } catch {
      /* a terminal that went away, or no addon: cosmetic only */
    }
  };
  outputProcessing(false);
  let restored = false;
  const listeners = new Set<() => void>();
  const restore = (): void => {
    if (restored) return;
    restored = true;
    for (const l of listeners) output.off('resize', l);
    listeners.clear();
    process.off('exit', restore);
    outputProcessing(true);
    if (raw) input.setRawMode!(wasRaw);
  };
  process.once('exit', restore);
  const size = (): { rows: number; cols: number } | undefined =>
    output.isTTY && output.rows && output.columns ? { rows: output.rows, cols: output.columns } : undefined;
  return {
    raw,
    size,
    onResize: (send) => {
      const push = (): void => {
        const s = size();
        if (s) send(s.rows, s.cols);
      };
      push();
      output.on('resize', push);
      listeners.add(push);
      return () => {
        output.off('resize', push);
        listeners.delete(push);
      };
    },
    restore,
  };
}
