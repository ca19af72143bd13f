/**
 * Forwarding of the queries that are not the network's names to upstream name servers.
 * Each UDP query gets its own socket (a fresh random source port, so an off-path attacker
 * must guess port and id to spoof an answer) and the answer must come from the server asked
 * and carry the query's id. Servers are tried in order; the first answer wins.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { canonicalIP, type ServerAddress } from './records';

/** Per upstream: a stub (glibc: 5 s, 2 attempts) should still see our SERVFAIL in time. */
export const UPSTREAM_TIMEOUT_MS = 2000;

export async function forwardUdp(query: Buffer, upstreams: ServerAddress[], timeoutMs = UPSTREAM_TIMEOUT_MS): Promise<Buffer | undefined> {
  for (const server of upstreams) {
    const answer = await askUdp(query, server, timeoutMs).catch(() => undefined);
    if (answer) return answer;
  }
  return undefined;
}

export async function forwardTcp(query: Buffer, upstreams: ServerAddress[], timeoutMs = UPSTREAM_TIMEOUT_MS): Promise<Buffer | undefined> {
  for (const server of upstreams) {
    const answer = await askTcp(query, server, timeoutMs).catch(() => undefined);
    if (answer) return answer;
  }
  return undefined;
}

function askUdp(query: Buffer, server: ServerAddress, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket(server.family === 6 ? 'udp6' : 'udp4');
    const done = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      sock.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('error', () => done(undefined));
    sock.on('message', (msg, rinfo) => {
      // Anything else on this port is a stray or a spoof: keep waiting for the real answer.
      if (rinfo.port !== server.port || !sameAddress(rinfo.address, server.address)) return;
      if (msg.length < 12 || msg.readUInt16BE(0) !== query.readUInt16BE(0)) return;
      done(msg);
    });
    sock.send(query, server.port, server.address, (err) => {
      if (err) done(undefined);
    });
  });
}

function askTcp(query: Buffer, server: ServerAddress, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: server.address, port: server.port });
    let buf = Buffer.alloc(0);
    const done = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('error', () => done(undefined));
    sock.on('close', () => done(undefined));
    sock.on('connect', () => sock.write(frame(query)));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
  });
}

/** A DNS message with the two-byte length TCP puts in front of it (RFC 1035 4.2.2). */
export function frame(message: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(message.length);
  return Buffer.concat([len, message]);
}

function sameAddress(a: string, b: string): boolean {
  return canonicalIP(a.split('%')[0]!) === canonicalIP(b.split('%')[0]!);
}
