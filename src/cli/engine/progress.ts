/**
 * Renders pull/push progress events the way docker does.
 *  - TTY: one line per layer, redrawn in place (ANSI cursor movement) with a progress bar.
 *  - plain (pipes, CI logs): one line per state change, no byte counters, no escapes.
 * The reporter writes only to the stream it is given; tests pass a fake.
 */
import { shortDigest, type ProgressEvent } from '../../core/events';

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressReporter {
  handle(event: ProgressEvent): void;
}

export interface ReporterOptions {
  /** Redraw lines in place; default: `out.isTTY`. */
  tty?: boolean;
  /** Print nothing (pull -q prints the name itself when done). */
  quiet?: boolean;
}

export function createProgressReporter(out: ProgressOutput, opts: ReporterOptions = {}): ProgressReporter {
  if (opts.quiet) return { handle: () => undefined };
  return (opts.tty ?? out.isTTY === true) ? new TtyReporter(out) : new PlainReporter(out);
}

/** Human size as docker prints it (decimal units): 1.2MB. */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v}B` : `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}${units[u]}`;
}

export function progressBar(current: number, total: number, width = 50): string {
  if (total <= 0) return '';
  const filled = Math.min(width, Math.floor((current / total) * width));
  const head = filled < width && filled > 0 ? '>' : '';
  return `[${'='.repeat(Math.max(0, filled - (head ? 1 : 0)))}${head}${' '.repeat(width - filled)}]`;
}

/** The status text of a layer event, or undefined for events that are not about a layer. */
function layerStatus(e: ProgressEvent, withBytes: boolean): { id: string; text: string } | undefined {
  // docker lists a pushed image's layers only, not its config blob.
  if ('config' in e && e.config === true) return undefined;
  const bytes = (cur: number, tot: number): string => (withBytes ? ` ${progressBar(cur, tot)} ${formatBytes(cur)}/${formatBytes(tot)}` : '');
  switch (e.type) {
    case 'layer-waiting':
      return { id: e.digest, text: 'Waiting' };
    case 'layer-resumed':
      return { id: e.digest, text: `Resuming download at ${formatBytes(e.offset)} of ${formatBytes(e.total)}` };
    case 'layer-downloading':
      return { id: e.digest, text: `Downloading${bytes(e.current, e.total)}` };
    case 'layer-retrying':
      return { id: e.digest, text: `Retrying from ${formatBytes(e.offset)} (attempt ${e.attempt}): ${e.reason}` };
    case 'layer-verifying':
      return { id: e.digest, text: 'Verifying Checksum' };
    case 'layer-downloaded':
      return { id: e.digest, text: 'Download complete' };
    case 'layer-extracting':
      return { id: e.digest, text: 'Extracting' };
    case 'layer-complete':
      return { id: e.digest, text: 'Pull complete' };
    case 'layer-already-exists':
      return { id: e.digest, text: 'Already exists' };
    case 'blob-waiting':
      return { id: e.digest, text: 'Waiting' };
    case 'blob-pushing':
      return { id: e.digest, text: `Pushing${bytes(e.current, e.total)}` };
    case 'blob-mounted':
      return { id: e.digest, text: `Mounted from ${e.from}` };
    case 'blob-pushed':
      return { id: e.digest, text: 'Pushed' };
    case 'blob-already-exists':
      return { id: e.digest, text: 'Layer already exists' };
    case 'blob-retrying':
      return { id: e.digest, text: `Retrying (attempt ${e.attempt}): ${e.reason}` };
    default:
      return undefined;
  }
}

/** Lines that are not about one layer. */
function generalLine(e: ProgressEvent): string | undefined {
  switch (e.type) {
    case 'resolving':
      return `Pulling ${e.ref}`;
    case 'done':
      return `Digest: ${e.digest}\nStatus: ${e.upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${e.ref}`;
    case 'push-preparing':
      return `The push refers to ${e.ref}`;
    case 'manifest-pushed':
      return `${e.ref}: digest: ${e.digest} size: ${e.size}`;
    case 'warning':
      return `WARNING: ${e.message}`;
    default:
      return undefined;
  }
}

class PlainReporter implements ProgressReporter {
  private readonly last = new Map<string, string>();
  constructor(private readonly out: ProgressOutput) {}

  handle(e: ProgressEvent): void {
    const general = generalLine(e);
    if (general !== undefined) {
      this.out.write(`${general}\n`);
      return;
    }
    const s = layerStatus(e, false);
    if (!s || this.last.get(s.id) === s.text) return; // progress ticks repeat the state: print it once
    this.last.set(s.id, s.text);
    this.out.write(`${shortDigest(s.id)}: ${s.text}\n`);
  }
}

class TtyReporter implements ProgressReporter {
  /** Layer id → its line number (0 = first line printed by this reporter). */
  private readonly rows = new Map<string, number>();
  private readonly shown = new Map<string, string>();
  private lines = 0;
  constructor(private readonly out: ProgressOutput) {}

  handle(e: ProgressEvent): void {
    const general = generalLine(e);
    if (general !== undefined) {
      this.out.write(`${general}\n`);
      this.lines += general.split('\n').length;
      return;
    }
    const s = layerStatus(e, true);
    if (!s) return;
    const text = this.fit(`${shortDigest(s.id)}: ${s.text}`);
    if (this.shown.get(s.id) === text) return;
    this.shown.set(s.id, text);
    const row = this.rows.get(s.id);
    if (row === undefined) {
      this.rows.set(s.id, this.lines);
      this.lines++;
      this.out.write(`${text}\n`);
      return;
    }
    // Up to the layer's line, clear it, write, and back down to the line after the last.
    const up = this.lines - row;
    this.out.write(`\x1b[${up}A\r\x1b[2K${text}\x1b[${up}B\r`);
  }

  /** Longer lines would wrap and break the cursor arithmetic. */
  private fit(text: string): string {
    const cols = this.out.columns;
    return cols && text.length >= cols ? text.slice(0, Math.max(cols - 1, 10)) : text;
  }
}
