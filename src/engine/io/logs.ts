/**
 * A container's output as entries (stream, time, line), read from its json-file log and,
 * when following, until the container exits: what `berth logs` prints and what the API's
 * `GET /containers/{id}/logs` frames. The checks come before the first entry, so that a
 * front end can refuse (or send its headers) before it streams anything.
 */
import { BerthError } from '../../core/errors';
import type { ContainerRecord } from '../containers/record';
import { runPaths } from '../containers/runtime';
import { readLogs, type LogEntry, type LogTime } from '../shim';

export interface ContainerLogsOptions {
  /** Keep reading until the container exits (only while it runs). */
  follow?: boolean;
  /** Prefix each line with its time, docker's fixed nine-digit format. */
  timestamps?: boolean;
  since?: LogTime;
  until?: LogTime;
  /** Only the last n entries. */
  tail?: number;
  /** Streams to include (both by default). */
  stdout?: boolean;
  stderr?: boolean;
  signal?: AbortSignal;
}

/** `query` is how the caller named the container (for the message). */
export function containerLogs(runRoot: string, rec: ContainerRecord, query: string, opts: ContainerLogsOptions = {}): AsyncGenerator<LogEntry> {
  if (!rec.LogPath) {
    throw new BerthError('EUNSUPPORTED', `container ${query} was created with HostConfig.LogConfig.Type none: there are no logs to read`);
  }
  return readLogs(rec.LogPath, {
    follow: opts.follow === true && rec.State.Running,
    timestamps: opts.timestamps === true,
    ...(opts.since !== undefined ? { since: opts.since } : {}),
    ...(opts.until !== undefined ? { until: opts.until } : {}),
    ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
    ...(opts.stdout !== undefined ? { stdout: opts.stdout } : {}),
    ...(opts.stderr !== undefined ? { stderr: opts.stderr } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    untilExit: runPaths(runRoot, rec.Id).dir,
    ...(rec.Berth.shimPid ? { shim: { pid: rec.Berth.shimPid, ...(rec.Berth.shimStartTime ? { startTime: rec.Berth.shimStartTime } : {}) } } : {}),
  });
}
