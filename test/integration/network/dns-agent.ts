/**
 * A helper the DNS tests run inside a network namespace (through nsenter): a DNS client
 * independent of the resolver's code paths (only dns-packet), a fake upstream, and a latency
 * probe. Commands print one JSON line.
 *   query SERVER NAME TYPE [tcp]   -> {rcode, answers: [{type, data}], tc}
 *   upstream ADDRESS PORT          -> prints {"ready":true}; answers every A query with 192.0.2.99
 *   bench SERVER NAME COUNT        -> {p50, p90, p99, max} in microseconds
 *   await SERVER NAME IP           -> {polling:true}, then {seenAt: epoch ms} once NAME answers IP
 *   garbage SERVER                 -> sends malformed packets over UDP and TCP; {replies: n}
 */
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import * as dnsPacket from 'dns-packet';

function query(server: string, name: string, type: string, tcp: boolean): Promise<Buffer> {
  const q = dnsPacket.encode({ type: 'query', id: Math.floor(Math.random() * 65535), flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name }] });
  if (tcp) {
    return new Promise((resolve, reject) => {
      const s = connect({ host: server, port: 53 }, () => s.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q])));
      let buf = Buffer.alloc(0);
      s.on('data', (c) => {
        buf = Buffer.concat([buf, c]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          s.destroy();
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        }
      });
      s.on('error', reject);
      setTimeout(() => reject(new Error('timeout')), 5000).unref();
    });
  }
  return new Promise((resolve, reject) => {
    const s = createSocket(server.includes(':') ? 'udp6' : 'udp4');
    const t = setTimeout(() => {
      s.close();
      reject(new Error('timeout'));
    }, 5000);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(q, 53, server);
  });
}

async function main(): Promise<void> {
  const [cmd, ...a] = process.argv.slice(2);
  if (cmd === 'query') {
    const p = dnsPacket.decode(await query(a[0]!, a[1]!, a[2]!, a[3] === 'tcp'));
    const answers = (p.answers ?? []).map((x) => ({ type: x.type, data: 'data' in x ? x.data : undefined }));
    const h = p as unknown as { rcode: string; flag_tc: boolean };
    console.log(JSON.stringify({ rcode: h.rcode, answers, tc: h.flag_tc }));
  } else if (cmd === 'upstream') {
    const port = Number(a[1]);
    const respond = (msg: Buffer) => {
      const q = dnsPacket.decode(msg);
      return dnsPacket.encode({
        type: 'response',
        id: q.id ?? 0,
        flags: dnsPacket.RECURSION_AVAILABLE,
        questions: q.questions ?? [],
        answers: (q.questions ?? []).filter((x) => x.type === 'A').map((x) => ({ type: 'A' as const, name: x.name, ttl: 60, data: '192.0.2.99' })),
      });
    };
    const udp = createSocket('udp4');
    udp.on('message', (m, r) => udp.send(respond(m), r.port, r.address));
    udp.bind(port, a[0]!, () => {
      createServer((s) => {
        let buf = Buffer.alloc(0);
        s.on('data', (c) => {
          buf = Buffer.concat([buf, c]);
          if (buf.length >= 2 + buf.readUInt16BE(0)) {
            const r = respond(buf.subarray(2, 2 + buf.readUInt16BE(0)));
            s.end(Buffer.concat([Buffer.from([r.length >> 8, r.length & 255]), r]));
          }
        });
      }).listen(port, a[0]!, () => console.log(JSON.stringify({ ready: true })));
    });
  } else if (cmd === 'bench') {
    const n = Number(a[2]);
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      await query(a[0]!, a[1]!, 'A', false);
      times.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    times.sort((x, y) => x - y);
    const at = (f: number) => Math.round(times[Math.min(times.length - 1, Math.floor(f * times.length))]!);
    console.log(JSON.stringify({ p50: at(0.5), p90: at(0.9), p99: at(0.99), max: Math.round(times[times.length - 1]!) }));
  } else if (cmd === 'garbage') {
    const packets = [Buffer.alloc(0), Buffer.from([1]), Buffer.alloc(12, 0xff), Buffer.from('0001010000010000000000000377', 'hex'), Buffer.alloc(600, 0x41)];
    const s = createSocket('udp4');
    let replies = 0;
    s.on('message', () => replies++);
    for (const p of packets) s.send(p, 53, a[0]!);
    const t = connect({ host: a[0]!, port: 53 }, () => t.end(Buffer.from([0xff, 0xff, 1, 2, 3])));
    t.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 300));
    s.close();
    console.log(JSON.stringify({ replies }));
  } else if (cmd === 'await') {
    console.log(JSON.stringify({ polling: true }));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`${a[1]} never answered ${a[2]}`);
      const p = dnsPacket.decode(await query(a[0]!, a[1]!, 'A', false));
      if ((p.answers ?? []).some((x) => 'data' in x && x.data === a[2])) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    console.log(JSON.stringify({ seenAt: Date.now() }));
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
