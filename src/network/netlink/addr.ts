/**
 * Address text <-> the raw bytes netlink carries: IPv4 (4 bytes), IPv6 (16 bytes), CIDR
 * prefixes and Ethernet MACs. Strict: anything malformed is a BerthError naming the value.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { BerthError } from '../../core/errors';
import { AF_INET, AF_INET6 } from './constants';

export interface IpBytes {
  family: typeof AF_INET | typeof AF_INET6;
  bytes: Buffer;
}

export interface Prefix extends IpBytes {
  prefixLen: number;
}

function invalid(what: string, value: string, hint: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', `invalid ${what} "${value}"`, { hint });
}

/** "10.1.2.3" or "fd00::1" to its family and network-order bytes. */
export function parseIp(text: string): IpBytes {
  if (isIPv4(text)) return { family: AF_INET, bytes: Buffer.from(text.split('.').map(Number)) };
  if (!isIPv6(text)) throw invalid('IP address', text, 'give a dotted IPv4 address (10.88.0.2) or an IPv6 address (fd00::2)');
  let s = text;
  const bytes = Buffer.alloc(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups first.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const q = v4[1]!.split('.').map(Number);
    s = s.slice(0, v4.index) + `${((q[0]! << 8) | q[1]!).toString(16)}:${((q[2]! << 8) | q[3]!).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  return { family: AF_INET6, bytes };
}

/** Network-order bytes to text (IPv6 in RFC 5952 form: lower case, longest zero run as ::). */
export function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let bestStart = -1;
  let bestLen = 1; // a single zero group is not shortened (RFC 5952 4.2.2)
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** "10.88.0.2/16" (or a bare address, taken as a host prefix) to its bytes and length. */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  const max = ip.family === AF_INET ? 32 : 128;
  if (slash < 0) return { ...ip, prefixLen: max };
  const lenText = text.slice(slash + 1);
  const prefixLen = Number(lenText);
  if (!/^\d{1,3}$/.test(lenText) || prefixLen > max) {
    throw invalid('prefix', text, `the prefix length after "/" is 0 to ${max} for ${ip.family === AF_INET ? 'IPv4' : 'IPv6'}`);
  }
  return { ...ip, prefixLen };
}

/** "02:42:ac:11:00:02" to 6 bytes. */
export function parseMac(text: string): Buffer {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) {
    throw invalid('MAC address', text, 'give six hex bytes separated by colons, e.g. 02:42:ac:11:00:02');
  }
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function formatMac(bytes: Buffer): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}
