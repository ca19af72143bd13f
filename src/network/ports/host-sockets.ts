/**
 * Which ports the host's own processes hold, read from /proc/net/{tcp,tcp6,udp,udp6} (and
 * sctp's endpoint list when the module is loaded), and which process holds a socket (its
 * inode found among /proc/PID/fd links). A DNATed published port would silently shadow such a
 * listener, so the engine refuses the port before the container starts and names the holder.
 * Only reading: the tables of the caller's network namespace (the host's, for the engine).
 */
import { readFile, readdir, readlink } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import type { Family } from '../ipam/cidr';
import type { PortProtocol } from './publish';

export interface HostSocket {
  protocol: PortProtocol;
  family: Family;
  /** The bound address as a bigint (IPv4-mapped IPv6 addresses are reported as IPv4). */
  address: bigint;
  wildcard: boolean;
  port: number;
  inode: number;
}

const TCP_LISTEN = '0A';

/** Parses one /proc/net/{tcp,udp}{,6} table: TCP listeners and every bound UDP socket. */
export function parseSocketTable(text: string, protocol: 'tcp' | 'udp', family: Family): HostSocket[] {
  const out: HostSocket[] = [];
  const little = endianness() === 'LE';
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [addrHex, portHex] = f[1]!.split(':');
    if (!addrHex || !portHex) continue;
    if (protocol === 'tcp' && f[3] !== TCP_LISTEN) continue;
    const port = parseInt(portHex, 16);
    if (port === 0) continue;
    let fam: Family = family;
    let address = hexAddress(addrHex, little);
    // ::ffff:a.b.c.d is an IPv4 socket seen through an IPv6 one.
    if (family === 6 && address >> 32n === 0xffffn) {
      fam = 4;
      address &= 0xffffffffn;
    }
    out.push({ protocol, family: fam, address, wildcard: address === 0n, port, inode: Number(f[9]) });
  }
  return out;
}

/** /proc/net/sctp/eps: "ENDPT SOCK STY SST HBKT LPORT UID INODE LADDRS" (addresses in text). */
export function parseSctpEndpoints(text: string): HostSocket[] {
  const out: HostSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 9) continue;
    const port = Number(f[5]);
    const inode = Number(f[7]);
    // Multi-homed endpoints list several addresses; a wildcard bind shows 0.0.0.0 or ::.
    out.push({ protocol: 'sctp', family: f[8]!.includes(':') ? 6 : 4, address: 0n, wildcard: true, port, inode });
  }
  return out;
}

/** Every port held on this network namespace's addresses (missing tables are skipped). */
export async function hostSockets(procNet = '/proc/net'): Promise<HostSocket[]> {
  const out: HostSocket[] = [];
  for (const [file, proto, fam] of [
    ['tcp', 'tcp', 4],
    ['tcp6', 'tcp', 6],
    ['udp', 'udp', 4],
    ['udp6', 'udp', 6],
  ] as const) {
    const text = await readFile(join(procNet, file), 'utf8').catch(() => undefined);
    if (text) out.push(...parseSocketTable(text, proto, fam));
  }
  const sctp = await readFile(join(procNet, 'sctp', 'eps'), 'utf8').catch(() => undefined);
  if (sctp) out.push(...parseSctpEndpoints(sctp));
  return out;
}

export interface SocketHolder {
  pid: number;
  /** The process name (/proc/PID/comm). */
  command: string;
}

/** The processes holding socket `inode` (by their fd links); empty when none is visible. */
export async function socketHolders(inode: number, proc = '/proc'): Promise<SocketHolder[]> {
  const target = `socket:[${inode}]`;
  const out: SocketHolder[] = [];
  const pids = (await readdir(proc).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n));
  for (const pid of pids) {
    const fds = await readdir(join(proc, pid, 'fd')).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await readlink(join(proc, pid, 'fd', fd)).catch(() => '');
      if (link !== target) continue;
      const command = (await readFile(join(proc, pid, 'comm'), 'utf8').catch(() => '?')).trim();
      out.push({ pid: Number(pid), command });
      break;
    }
  }
  return out;
}

function hexAddress(hex: string, little: boolean): bigint {
  // The kernel prints each 32-bit word of the address in host byte order.
  let value = 0n;
  for (let i = 0; i < hex.length; i += 8) {
    const bytes = hex.slice(i, i + 8).match(/../g)!.map((b) => parseInt(b, 16));
    if (little) bytes.reverse();
    for (const b of bytes) value = (value << 8n) | BigInt(b);
  }
  return value;
}
