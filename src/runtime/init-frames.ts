/**
 * The wire format of berth-init's sync channel: frames of {u32 type, u32 len, payload},
 * little-endian, in both directions. Only the encoding lives here; which frame comes when is
 * the driver's business (init-driver.ts). The frame types must match `enum frame_type` in
 * native/init/init.h (checked by test/unit/native-constants.test.ts). The shim's control
 * channel (src/engine/shim/protocol.ts) uses the same framing, so the same reader reads both.
 */
import type { Socket } from 'node:net';

export const FRAME = {
  /** Node -> P: the encoded plan (plan.ts). */
  PLAN: 1,
  /** P -> Node: u32 host pid of C. */
  PID: 2,
  /** Node -> C: id maps written, cgroup joined; go on. */
  GO: 3,
  /** C -> Node: mounts done, before pivot_root: run prestart/createRuntime. */
  HOOKS: 4,
  /** Node -> C: the state JSON for the createContainer/startContainer hooks. */
  STATE: 5,
  /** C -> Node: created; now blocking on the exec fifo. */
  READY: 6,
  /** P or C -> Node: "<step>: <detail>: <strerror> (ERRNO)", then exit 1. */
  ERROR: 7,
  /** C -> Node: the seccomp listener fd was sent on the listener socket. */
  SECCOMP: 8,
  /** Node -> C: the listener has been handed to the agent. */
  SECCOMP_DONE: 9,
} as const;

/** Length of a frame header: u32 type, u32 payload length. */
const HEADER = 8;

export function frame(type: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const hdr = Buffer.alloc(HEADER);
  hdr.writeUInt32LE(type, 0);
  hdr.writeUInt32LE(body.length, 4);
  return Buffer.concat([hdr, body]);
}

export interface Frame {
  type: number;
  payload: Buffer;
}

/** Turns the socket's byte stream into a queue of frames; `next()` yields null at EOF. */
export class FrameReader {
  private buf = Buffer.alloc(0);
  private readonly frames: Frame[] = [];
  private ended = false;
  private waiter: (() => void) | undefined;

  constructor(sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= HEADER) {
        const len = this.buf.readUInt32LE(4);
        if (this.buf.length < HEADER + len) break;
        this.frames.push({ type: this.buf.readUInt32LE(0), payload: this.buf.subarray(HEADER, HEADER + len) });
        this.buf = this.buf.subarray(HEADER + len);
      }
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    sock.on('end', end);
    sock.on('close', end);
    sock.on('error', end);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async next(): Promise<Frame | null> {
    for (;;) {
      const f = this.frames.shift();
      if (f) return f;
      if (this.ended) return null;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }
}

/**
 * The text of an ERROR frame. berth-init reports "<step>: <detail>: <strerror> (<ERRNO>)"
 * with C's capitalised strerror. We lower-case the errno text to read as Go's (and so runc's)
 * does, because callers match it: the docker CLI picks exit status 127 or 126 for a failed
 * start by a case-sensitive search for "no such file or directory" / "permission denied" in
 * the runtime's error.
 */
export function initErrorMessage(payload: Buffer): string {
  return payload.toString('utf8').replace(/: ([A-Z])([^:()]*) \((E[A-Z0-9]+)\)$/, (_m, first: string, rest: string, name: string) => `: ${first.toLowerCase()}${rest} (${name})`);
}
