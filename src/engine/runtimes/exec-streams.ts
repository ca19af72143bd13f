import type { Readable, Writable } from 'node:stream';
import type { ExecIo, ExecRequest } from './types';

/** What the pipes of a non-terminal exec are relayed to. */
export function execStreams(req: ExecRequest, io: ExecIo): { stdin?: Readable; stdout: Writable; stderr: Writable } {
  return { ...(req.interactive && io.stdin ? { stdin: io.stdin } : {}), stdout: io.stdout, stderr: io.stderr ?? io.stdout };
}
