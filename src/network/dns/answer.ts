/**
 * Decides what to do with one query: answer it from the network's name table, or forward it
 * upstream. Pure (packets in, packets out) so every case is unit-tested without sockets.
 */
import * as dnsPacket from 'dns-packet';
import type { Answer, Packet, Question } from 'dns-packet';
import { type NameTable, normalizeName } from './records';

/**
 * TTL of the names the resolver answers. Short, because containers come, go and are renamed;
 * not zero, because a few stub resolvers treat 0 as "do not use" rather than "do not cache".
 */
export const LOCAL_TTL = 5;

// rcodes (RFC 1035 4.1.1)
export const NOERROR = 0;
export const FORMERR = 1;
export const SERVFAIL = 2;
export const NXDOMAIN = 3;
export const NOTIMP = 4;
export const REFUSED = 5;

export type Decision = { kind: 'answer'; response: Buffer } | { kind: 'forward' } | { kind: 'drop' };

export interface DecideOptions {
  /** Whether names that are not ours may be forwarded (false on --internal networks). */
  forward: boolean;
}

/** Decodes `query` and decides; a packet too short to carry an id is dropped (nobody to tell). */
export function decide(query: Buffer, table: NameTable, opts: DecideOptions): Decision {
  if (query.length < 12) return { kind: 'drop' };
  // Bit 15 set: a response sent to us. Answering responses is how reflection loops start.
  if (query[2]! & 0x80) return { kind: 'drop' };
  let packet: Packet;
  try {
    packet = dnsPacket.decode(query);
  } catch {
    return { kind: 'answer', response: errorResponse(query, FORMERR) };
  }
  const opcode = (query[2]! >> 3) & 0xf;
  if (opcode !== 0) return { kind: 'answer', response: errorResponse(query, NOTIMP) };
  const questions = packet.questions ?? [];
  if (questions.length !== 1) return { kind: 'answer', response: errorResponse(query, FORMERR) };
  const q = questions[0]!;
  const local = answerLocally(q, table);
  if (local) return { kind: 'answer', response: encodeResponse(packet, q, local.rcode, local.answers) };
  if (!opts.forward) return { kind: 'answer', response: encodeResponse(packet, q, REFUSED, []) };
  return { kind: 'forward' };
}

interface LocalAnswer {
  rcode: number;
  answers: Answer[];
}

/** The answer for a name of ours; undefined when the name is not ours (forward it). */
export function answerLocally(q: Question, table: NameTable): LocalAnswer | undefined {
  if (q.class !== 'IN' && q.class !== undefined) return undefined;
  const qname = normalizeName(q.name);
  if (q.type === 'PTR') {
    const targets = table.reverse.get(qname);
    if (!targets) return undefined;
    return { rcode: NOERROR, answers: targets.map((data) => ({ type: 'PTR', class: 'IN', name: q.name, ttl: LOCAL_TTL, data })) };
  }
  const suffix = `.${table.domain}`;
  const bare = qname.endsWith(suffix) ? qname.slice(0, -suffix.length) : qname;
  const entry = table.forward.get(bare) ?? table.forward.get(qname);
  if (!entry) {
    // Our own domain is ours alone: an unknown name under it does not exist anywhere.
    if (qname === table.domain || qname.endsWith(suffix)) return { rcode: NXDOMAIN, answers: [] };
    return undefined;
  }
  const answers: Answer[] = [];
  // dns-packet decodes type 255 as 'ANY', which its typings do not list.
  const type: string = q.type;
  if (type === 'A' || type === 'ANY') {
    for (const data of entry.ipv4) answers.push({ type: 'A', class: 'IN', name: q.name, ttl: LOCAL_TTL, data });
  }
  if (type === 'AAAA' || type === 'ANY') {
    for (const data of entry.ipv6) answers.push({ type: 'AAAA', class: 'IN', name: q.name, ttl: LOCAL_TTL, data });
  }
  // A known name without records of this type is NODATA (NOERROR, no answers), never a
  // forward: the outside world must not get to answer for a container's name.
  return { rcode: NOERROR, answers };
}

function encodeResponse(query: Packet, q: Question, rcode: number, answers: Answer[]): Buffer {
  const rd = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags: rd | dnsPacket.RECURSION_AVAILABLE | (rcode === REFUSED ? 0 : dnsPacket.AUTHORITATIVE_ANSWER) | rcode,
    questions: [q],
    answers,
  });
}

/** An error response built from the raw header alone (the query may not decode). */
export function errorResponse(query: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  query.copy(out, 0, 0, 2); // id
  const rd = query.length > 2 ? query[2]! & 0x01 : 0;
  out[2] = 0x80 | (query.length > 2 ? query[2]! & 0x78 : 0) | rd; // QR, opcode echoed, RD
  out[3] = 0x80 | (rcode & 0xf); // RA, rcode
  return out;
}

/** SERVFAIL for a query whose upstreams all failed, keeping its question so stubs match it. */
export function servfail(query: Buffer): Buffer {
  try {
    const packet = dnsPacket.decode(query);
    const q = packet.questions?.[0];
    if (q) return encodeResponse(packet, q, SERVFAIL, []);
  } catch {
    /* fall through to the bare header */
  }
  return errorResponse(query, SERVFAIL);
}

/**
 * Fits a UDP response into what the client can take (512 bytes, or its EDNS size): when it
 * does not fit, the header alone with TC set tells the client to retry over TCP.
 */
export function fitUdp(response: Buffer, query: Buffer): Buffer {
  const limit = Math.max(512, ednsSize(query));
  if (response.length <= limit) return response;
  const out = Buffer.from(response.subarray(0, 12));
  out[2] = out[2]! | 0x02; // TC
  out.writeUInt16BE(0, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(0, 10);
  return out;
}

function ednsSize(query: Buffer): number {
  try {
    const opt = dnsPacket.decode(query).additionals?.find((a) => a.type === 'OPT');
    return opt && 'udpPayloadSize' in opt ? Number(opt.udpPayloadSize) : 0;
  } catch {
    return 0;
  }
}
