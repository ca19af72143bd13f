/**
 * One NETLINK_ROUTE socket, bound to the network namespace it was opened in, and the
 * request/reply protocol over it: sequence numbers, ACKs, dumps, errors.
 *
 * The addon only creates the socket (inside a namespace when asked, native/sys/netns.c);
 * datagrams go through Node's fs.read/fs.write on the fd, i.e. libuv's thread pool, so the
 * event loop never blocks. Every request asks for an answer (an ACK, or DONE for a dump) and
 * the socket has a receive timeout, so a read never waits forever. Requests on one socket run
 * one at a time, in call order: replies then never interleave. A pool thread is held only
 * while the kernel answers (well under a millisecond per request, more when the rtnl lock is
 * contended), so even many concurrent container setups do not starve other fs work.
 */
import { close as closeCb, read as readCb, write as writeCb } from 'node:fs';
import { promisify } from 'node:util';
import { sys, type Sys } from '../../sys';
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from './constants';
import { requestError, socketError, type Operation } from './errors';
import { decodeError, decodeMessages, encodeMessage, type NlMessage } from './message';

const read = promisify(readCb);
const write = promisify(writeCb);
const close = promisify(closeCb);

/**
 * Large enough for any one datagram: the kernel fills a dump reply up to 32 KiB (or a page
 * when the buffer is smaller), and a datagram larger than the buffer would be truncated.
 */
const RECV_BUFFER = 64 * 1024;

export class NetlinkSocket {
  private seq: number;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly buf = Buffer.alloc(RECV_BUFFER);
  private closed = false;

  private constructor(
    readonly fd: number,
    /** The netns file this socket works in, or null for the caller's own. */
    readonly netns: string | null,
  ) {
    // Start anywhere: a stale reply from an earlier socket user can then not match by chance.
    this.seq = Math.floor(Math.random() * 0x7fffffff);
  }

  /** A socket working in the netns file `nsPath` (null: the calling process's netns). */
  static async open(nsPath: string | null = null, s: Sys = sys()): Promise<NetlinkSocket> {
    try {
      return new NetlinkSocket(await s.netnsOpenNetlink(nsPath), nsPath);
    } catch (e) {
      throw socketError({ op: 'open rtnetlink in', subject: nsPath ?? 'the host network namespace' }, 'open', e);
    }
  }

  /**
   * Sends one request (header built here from `type`, `flags` and `parts`) and waits for its
   * end. Returns the data messages that came back (for a GET without DUMP, the one object;
   * for a NEW/DEL, none). A kernel error becomes a BerthError naming `what`.
   */
  request(type: number, flags: number, parts: Buffer[], what: Operation): Promise<NlMessage[]> {
    const run = (): Promise<NlMessage[]> => this.exchange(type, flags, parts, what);
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** A dump request (NLM_F_DUMP): every object of the kind. */
  dump(type: number, parts: Buffer[], what: Operation): Promise<NlMessage[]> {
    return this.request(type, NLM_F_DUMP, parts, what);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await close(this.fd);
  }

  private async exchange(type: number, flags: number, parts: Buffer[], what: Operation): Promise<NlMessage[]> {
    if (this.closed) throw socketError(what, 'send', new Error('the netlink socket is closed'));
    const isDump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    this.seq = (this.seq + 1) >>> 0 || 1;
    const seq = this.seq;
    // A dump ends with NLMSG_DONE; everything else is asked for an ACK so that it always ends.
    const msg = encodeMessage(type, flags | NLM_F_REQUEST | (isDump ? 0 : NLM_F_ACK), seq, parts);
    try {
      await write(this.fd, msg, 0, msg.length, null);
    } catch (e) {
      throw socketError(what, 'send', e);
    }
    const replies: NlMessage[] = [];
    for (;;) {
      let n: number;
      try {
        ({ bytesRead: n } = await read(this.fd, this.buf, 0, this.buf.length, null));
      } catch (e) {
        throw socketError(what, 'receive', e);
      }
      for (const m of decodeMessages(this.buf.subarray(0, n))) {
        if (m.seq !== seq) continue; // a late answer to an earlier, abandoned request
        if (m.type === NLMSG_ERROR) {
          const err = decodeError(m);
          if (err.errno !== 0) throw requestError(what, err.errno, err.message);
          return replies; // the ACK
        }
        if (m.type === NLMSG_DONE) {
          // A dump's end; it carries an int error too (e.g. a dump that could not finish).
          const errno = m.payload.length >= 4 ? -m.payload.readInt32LE(0) : 0;
          if (errno > 0) throw requestError(what, errno);
          return replies;
        }
        if (m.type === NLMSG_NOOP) continue;
        if (m.type === NLMSG_OVERRUN) throw socketError(what, 'receive', new Error('netlink overrun (messages lost)'));
        replies.push(m);
      }
    }
  }
}
