/**
 * Where berth-runtime reports: stderr, and the `--log` file when given, in `--log-format`
 * text or json. containerd's runc shim and conmon read the last json "error" line of that
 * file to tell the user why a create failed, so errors always reach it.
 * Writes are synchronous on raw fds: touching process.stderr would switch a pipe we share
 * with the container to non-blocking mode.
 */
import { appendFileSync, writeSync } from 'node:fs';
import { isBerthError } from '../../core/errors';

export type LogFormat = 'text' | 'json';

export class RuntimeLog {
  constructor(
    private readonly file: string | undefined,
    private readonly format: LogFormat,
    private readonly debugEnabled: boolean,
  ) {}

  private toFile(level: string, msg: string): void {
    if (!this.file) return;
    const time = new Date().toISOString();
    const line = this.format === 'json' ? JSON.stringify({ level, msg, time }) + '\n' : textLine(level, msg, time);
    try {
      appendFileSync(this.file, line);
    } catch {
      /* the log is best effort; stderr still gets the message */
    }
  }

  warn(msg: string): void {
    this.toFile('warning', msg);
    if (!this.file) writeStderr(`berth-runtime: warning: ${msg}\n`);
  }

  /**
   * As runc: with --log the debug lines go to that file only (stderr stays the container's
   * or the caller's), otherwise to stderr in the text format.
   */
  debug(msg: string): void {
    if (!this.debugEnabled) return;
    if (this.file) this.toFile('debug', msg);
    else writeStderr(textLine('debug', msg));
  }

  error(e: unknown): void {
    const msg = e instanceof Error ? e.message : String(e);
    const hint = isBerthError(e) ? e.hint : undefined;
    this.toFile('error', hint ? `${msg} (hint: ${hint})` : msg);
    writeStderr(`berth-runtime: ${msg}\n${hint ? `hint: ${hint}\n` : ''}`);
    if (this.debugEnabled && e instanceof Error && e.stack) writeStderr(`${e.stack}\n`);
  }
}

/** logrus's text format, which runc writes and tools grep (`level=debug`). */
function textLine(level: string, msg: string, time = new Date().toISOString()): string {
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

export function writeStderr(s: string): void {
  try {
    writeSync(2, s);
  } catch {
    /* nowhere left to report */
  }
}

export function writeStdout(s: string): void {
  const buf = Buffer.from(s);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (e) {
      if ((e as { code?: string }).code === 'EAGAIN') continue;
      throw e;
    }
  }
}
