/**
 * berth-shim's wire formats (native/shim/PROTOCOL.md), as pure functions:
 *
 * - the control channel (engine <-> shim while creating): {u32 type, u32 len} little-endian,
 *   as on berth-init's sync channel, so the same FrameReader reads both;
 * - attach socket messages (client -> shim): {u8 type, 3 zero bytes, u32 len big-endian},
 *   the layout of docker's stream frames, so one parser shape serves both directions;
 * - docker's multiplexed stream frames (shim -> client without a terminal): {u8 stream
 *   (1 stdout, 2 stderr), 0, 0, 0, u32 len big-endian} + payload, passed through unchanged
 *   to docker API clients.
 */
import { BerthError } from '../../core/errors';

export const CTL_SPAWNED = 1;
export const CTL_INIT_EXIT = 2;
export const CTL_PID = 3;
export const CTL_MONITORING = 4;
export const CTL_ERROR = 5;

export const MSG_HELLO = 1;
export const MSG_STDIN = 2;
export const MSG_STDIN_CLOSE = 3;
export const MSG_RESIZE = 4;
export const MSG_STARTED = 5;
/** shim -> client, once, in reply to HELLO: 1 payload byte of ACK_* flags. */
export const MSG_ATTACHED = 0x80;

export const WANT_STDOUT = 1;
export const WANT_STDERR = 2;
export const WANT_STDIN = 4;
export const ACK_TTY = 1;
export const ACK_STDIN = 2;
/** Length of the ATTACHED frame (header + flags byte). */
export const ATTACHED_LEN = 9;

export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;

export function controlFrame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const hdr = Buffer.alloc(8);
  hdr.writeUInt32LE(type, 0);
  hdr.writeUInt32LE(payload.length, 4);
  return Buffer.concat([hdr, payload]);
}

/** A frame with docker's 8-byte header: type/stream byte, three zeros, big-endian length. */
export function muxFrame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const hdr = Buffer.alloc(8);
  hdr[0] = type;
  hdr.writeUInt32BE(payload.length, 4);
  return Buffer.concat([hdr, payload]);
}

export interface Streams {
  stdout?: boolean;
  stderr?: boolean;
  stdin?: boolean;
}

export function helloMessage(s: Streams): Buffer {
  const flags = (s.stdout ? WANT_STDOUT : 0) | (s.stderr ? WANT_STDERR : 0) | (s.stdin ? WANT_STDIN : 0);
  return muxFrame(MSG_HELLO, Buffer.from([1, flags]));
}

export function resizeMessage(rows: number, cols: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt16BE(clampSize(rows), 0);
  p.writeUInt16BE(clampSize(cols), 2);
  return muxFrame(MSG_RESIZE, p);
}

function clampSize(n: number): number {
  return Math.max(0, Math.min(65535, Math.floor(n)));
}

export interface Attached {
  tty: boolean;
  /** The shim takes our stdin (it was asked for and the container has stdin open). */
  stdin: boolean;
}

export function parseAttached(buf: Buffer): Attached {
  if (buf.length !== ATTACHED_LEN || buf[0] !== MSG_ATTACHED || buf.readUInt32BE(4) !== 1) {
    throw new BerthError('EINTERNAL', `attach socket: expected the ATTACHED reply, got ${buf.toString('hex')}`);
  }
  const flags = buf[8]!;
  return { tty: (flags & ACK_TTY) !== 0, stdin: (flags & ACK_STDIN) !== 0 };
}

export interface StreamChunk {
  /** 1 stdout, 2 stderr (0 stdin and 3 system error exist in docker's framing too). */
  stream: number;
  data: Buffer;
}

/** Splits docker's multiplexed stream back into chunks; frames may arrive cut anywhere. */
export class StreamDemuxer {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): StreamChunk[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: StreamChunk[] = [];
    let off = 0;
    while (this.buf.length - off >= 8) {
      const stream = this.buf[off]!;
      if (stream > 3 || this.buf[off + 1] !== 0 || this.buf[off + 2] !== 0 || this.buf[off + 3] !== 0) {
        throw new BerthError('EINTERNAL', `stream framing: bad header ${this.buf.subarray(off, off + 8).toString('hex')}`);
      }
      const len = this.buf.readUInt32BE(off + 4);
      if (this.buf.length - off - 8 < len) break;
      out.push({ stream, data: this.buf.subarray(off + 8, off + 8 + len) });
      off += 8 + len;
    }
    this.buf = this.buf.subarray(off);
    return out;
  }

  /** Bytes of an incomplete frame still held. */
  get pending(): number {
    return this.buf.length;
  }
}
