/**
 * Netlink message framing and the four rtnetlink header structs Berth uses, encoded and
 * decoded byte by byte. Layouts (linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h,
 * linux/neighbour.h), all host (little-endian) order:
 *   nlmsghdr  16: u32 len, u16 type, u16 flags, u32 seq, u32 pid
 *   ifinfomsg 16: u8 family, u8 pad, u16 type, s32 index, u32 flags, u32 change
 *   ifaddrmsg  8: u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index
 *   rtmsg     12: u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags
 *   ndmsg     12: u8 family, u8 pad1, u16 pad2, s32 ifindex, u16 state, u8 flags, u8 type
 *   nlmsgerr  20: s32 error (-errno, 0 = ACK), then the request's nlmsghdr (CAP_ACK: no payload)
 */
import { align, parseAttrs, readStr, type Attrs } from './attrs';
import {
  IFADDRMSG_LEN,
  IFINFOMSG_LEN,
  NDMSG_LEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_LEN,
  NLMSG_HDRLEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  RTMSG_LEN,
} from './constants';

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Everything after the 16-byte header (a copy, safe to keep). */
  payload: Buffer;
}

/** A whole message: header (length filled in) followed by `parts`, each already padded. */
export function encodeMessage(type: number, flags: number, seq: number, parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const out = Buffer.alloc(NLMSG_HDRLEN + body.length);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE(type, 4);
  out.writeUInt16LE(flags, 6);
  out.writeUInt32LE(seq >>> 0, 8);
  out.writeUInt32LE(0, 12); // to the kernel
  body.copy(out, NLMSG_HDRLEN);
  return out;
}

/** Splits one datagram into its messages. */
export function decodeMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) throw new RangeError(`malformed netlink message at offset ${off} (length ${len}, datagram ${buf.length} bytes)`);
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: Buffer.from(buf.subarray(off + NLMSG_HDRLEN, off + len)),
    });
    off += align(len);
  }
  return out;
}

export interface IfInfoMsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}

export function encodeIfInfo(m: Partial<IfInfoMsg>): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(m.family ?? 0, 0);
  b.writeUInt16LE(m.type ?? 0, 2);
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt32LE((m.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((m.change ?? 0) >>> 0, 12);
  return b;
}

export function decodeIfInfo(p: Buffer): { msg: IfInfoMsg; attrs: Attrs } {
  need(p, IFINFOMSG_LEN, 'ifinfomsg');
  return {
    msg: { family: p.readUInt8(0), type: p.readUInt16LE(2), index: p.readInt32LE(4), flags: p.readUInt32LE(8), change: p.readUInt32LE(12) },
    attrs: parseAttrs(p.subarray(IFINFOMSG_LEN)),
  };
}

export interface IfAddrMsg {
  family: number;
  prefixLen: number;
  flags: number;
  scope: number;
  index: number;
}

export function encodeIfAddr(m: IfAddrMsg): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(m.family, 0);
  b.writeUInt8(m.prefixLen, 1);
  b.writeUInt8(m.flags & 0xff, 2);
  b.writeUInt8(m.scope, 3);
  b.writeUInt32LE(m.index, 4);
  return b;
}

export function decodeIfAddr(p: Buffer): { msg: IfAddrMsg; attrs: Attrs } {
  need(p, IFADDRMSG_LEN, 'ifaddrmsg');
  return {
    msg: { family: p.readUInt8(0), prefixLen: p.readUInt8(1), flags: p.readUInt8(2), scope: p.readUInt8(3), index: p.readUInt32LE(4) },
    attrs: parseAttrs(p.subarray(IFADDRMSG_LEN)),
  };
}

export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

export function encodeRt(m: RtMsg): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  [m.family, m.dstLen, m.srcLen, m.tos, m.table, m.protocol, m.scope, m.type].forEach((v, i) => b.writeUInt8(v, i));
  b.writeUInt32LE(m.flags >>> 0, 8);
  return b;
}

export function decodeRt(p: Buffer): { msg: RtMsg; attrs: Attrs } {
  need(p, RTMSG_LEN, 'rtmsg');
  const [family, dstLen, srcLen, tos, table, protocol, scope, type] = Array.from(p.subarray(0, 8)) as [number, number, number, number, number, number, number, number];
  return { msg: { family, dstLen, srcLen, tos, table, protocol, scope, type, flags: p.readUInt32LE(8) }, attrs: parseAttrs(p.subarray(RTMSG_LEN)) };
}

export interface NdMsg {
  family: number;
  index: number;
  state: number;
  flags: number;
  type: number;
}

export function encodeNd(m: NdMsg): Buffer {
  const b = Buffer.alloc(NDMSG_LEN);
  b.writeUInt8(m.family, 0);
  b.writeInt32LE(m.index, 4);
  b.writeUInt16LE(m.state, 8);
  b.writeUInt8(m.flags, 10);
  b.writeUInt8(m.type, 11);
  return b;
}

export function decodeNd(p: Buffer): { msg: NdMsg; attrs: Attrs } {
  need(p, NDMSG_LEN, 'ndmsg');
  return {
    msg: { family: p.readUInt8(0), index: p.readInt32LE(4), state: p.readUInt16LE(8), flags: p.readUInt8(10), type: p.readUInt8(11) },
    attrs: parseAttrs(p.subarray(NDMSG_LEN)),
  };
}

export interface NlError {
  /** A positive errno; 0 for an ACK. */
  errno: number;
  /** The kernel's extended-ack message ("Invalid MTU ..."), when it sent one. */
  message?: string;
}

/** The payload of an NLMSG_ERROR message (also an ACK, errno 0). */
export function decodeError(m: NlMessage): NlError {
  need(m.payload, 4, 'nlmsgerr');
  const errno = -m.payload.readInt32LE(0) || 0; // never -0
  if (!(m.flags & NLM_F_ACK_TLVS)) return { errno };
  // The TLVs follow the echoed request: just its header with CAP_ACK, the whole request without.
  let off = NLMSGERR_LEN;
  if (!(m.flags & NLM_F_CAPPED) && m.payload.length >= NLMSGERR_LEN) off = 4 + m.payload.readUInt32LE(4);
  if (off > m.payload.length) return { errno };
  const message = readStr(parseAttrs(m.payload.subarray(align(off))), NLMSGERR_ATTR_MSG);
  return message ? { errno, message } : { errno };
}

function need(p: Buffer, len: number, what: string): void {
  if (p.length < len) throw new RangeError(`truncated ${what}: ${p.length} of ${len} bytes`);
}
