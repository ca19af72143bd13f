/**
 * docker's json-file log entries, as berth-shim writes them (native/shim/log.c):
 * `{"log":"text\n","stream":"stdout","time":"2024-05-01T10:00:00.123456789Z"}`. A "log"
 * without the trailing newline is a partial entry (a piece of a line longer than 16 KiB, or
 * the unterminated end of a stream). Times are kept as bigint nanoseconds since the epoch:
 * a double cannot hold them exactly, and since/until compare them exactly.
 */
import { BerthError } from '../../core/errors';

export type LogStream = 'stdout' | 'stderr';

export interface LogEntry {
  stream: LogStream;
  /** The time as written (RFC 3339, nanoseconds, trailing zeros trimmed). */
  time: string;
  timeNs: bigint;
  /** The text, with its newline unless partial; prefixed "<time> " when asked for timestamps. */
  line: string;
  partial: boolean;
}

/** Date | nanoseconds | unix seconds (number, or a string such as "1714557600.5") | RFC 3339. */
export type LogTime = Date | bigint | number | string;

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 time with up to nanosecond precision; undefined if it is not one. */
export function parseRfc3339Ns(s: string): bigint | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

export function toNs(t: LogTime): bigint {
  if (typeof t === 'bigint') return t;
  if (t instanceof Date) return BigInt(t.getTime()) * 1_000_000n;
  if (typeof t === 'number') {
    if (!Number.isFinite(t)) throw badTime(String(t));
    return unixSecondsNs(t.toFixed(9));
  }
  if (/^\d+(\.\d{1,9})?$/.test(t)) return unixSecondsNs(t);
  const ns = parseRfc3339Ns(t);
  if (ns !== undefined) return ns;
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw badTime(t);
  return BigInt(ms) * 1_000_000n;
}

function unixSecondsNs(s: string): bigint {
  const [sec, frac = ''] = s.split('.');
  return BigInt(sec!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
}

function badTime(t: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', `invalid time "${t}"`, { hint: 'use RFC 3339 (2024-05-01T10:00:00Z) or unix seconds (1714557600.5)' });
}

/** docker's `logs --timestamps` format: RFC 3339 with exactly nine fraction digits. */
export function formatFixedNs(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(sec) * 1000).toISOString().slice(0, 19)}.${frac}Z`;
}

/** One line of a json-file log (without its newline); undefined for a line that is not one. */
export function parseLogLine(line: Buffer | string): LogEntry | undefined {
  let j: unknown;
  try {
    j = JSON.parse(typeof line === 'string' ? line : line.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!j || typeof j !== 'object') return undefined;
  const { log, stream, time } = j as { log?: unknown; stream?: unknown; time?: unknown };
  if (typeof log !== 'string' || (stream !== 'stdout' && stream !== 'stderr') || typeof time !== 'string') return undefined;
  const timeNs = parseRfc3339Ns(time);
  if (timeNs === undefined) return undefined;
  return { stream, time, timeNs, line: log, partial: !log.endsWith('\n') };
}
