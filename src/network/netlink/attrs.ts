/**
 * Netlink attributes (struct rtattr / struct nlattr: u16 length, u16 type, payload, padded to
 * 4 bytes). Integers are in host byte order, which on every architecture Berth runs on
 * (x86_64, arm64) is little-endian; addresses are raw network-order bytes.
 */
import { NLA_TYPE_MASK } from './constants';

const ALIGN = 4;
export const align = (n: number): number => (n + ALIGN - 1) & ~(ALIGN - 1);

/** One attribute: header, payload, zero padding up to the next 4-byte boundary. */
export function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  if (len > 0xffff) throw new RangeError(`netlink attribute ${type} too long (${payload.length} bytes)`);
  const out = Buffer.alloc(align(len));
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

/** A nested attribute: its payload is the concatenation of `children`. */
export function nested(type: number, children: Buffer[]): Buffer {
  return attr(type, Buffer.concat(children));
}

export function u8(type: number, v: number): Buffer {
  return attr(type, Buffer.from([v & 0xff]));
}

export function u32(type: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return attr(type, b);
}

/** A NUL-terminated string (IFLA_IFNAME, IFLA_INFO_KIND, IFA_LABEL). */
export function str(type: number, v: string): Buffer {
  return attr(type, Buffer.concat([Buffer.from(v, 'utf8'), Buffer.from([0])]));
}

/** A string without its NUL, as iproute2 sends IFLA_INFO_KIND (the kernel compares with nla_strcmp). */
export function bytes(type: number, v: string): Buffer {
  return attr(type, Buffer.from(v, 'utf8'));
}

/** Decoded attributes: the flag bits (nested, byte order) stripped from each type. */
export type Attrs = Map<number, Buffer>;

/**
 * Parses a run of attributes. A later duplicate replaces an earlier one (rtnetlink sends each
 * type once in what Berth reads). Truncated or malformed input throws: it would mean a
 * decoder bug, never a kernel answer to trust partially.
 */
export function parseAttrs(buf: Buffer): Attrs {
  const out: Attrs = new Map();
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    if (len < 4 || off + len > buf.length) throw new RangeError(`malformed netlink attribute at offset ${off} (length ${len}, ${buf.length} bytes)`);
    out.set(type, buf.subarray(off + 4, off + len));
    off += align(len);
  }
  return out;
}

export function readU32(a: Attrs, type: number): number | undefined {
  const b = a.get(type);
  return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
}

export function readU8(a: Attrs, type: number): number | undefined {
  const b = a.get(type);
  return b && b.length >= 1 ? b.readUInt8(0) : undefined;
}

/** A NUL-terminated string attribute (the NUL and anything after it dropped). */
export function readStr(a: Attrs, type: number): string | undefined {
  const b = a.get(type);
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}
