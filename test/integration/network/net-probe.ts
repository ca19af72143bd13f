// A tiny TCP/UDP server and client run inside a test network namespace (through nsenter):
//   serve NAME PORT...   answers every TCP connection and UDP datagram with "NAME <peer address>"
//   tcp HOST PORT / udp HOST PORT   prints the answer, exit 1 when none came within 2 s
// Only loopback and the addresses of the test's own namespaces are ever used.
import { createServer, connect } from 'node:net';
import { createSocket } from 'node:dgram';

const [mode, ...args] = process.argv.slice(2);
const peer = (a: string | undefined) => (a ?? '?').replace(/^::ffff:/, '');

if (mode === 'serve') {
  const [name, ...ports] = args;
  for (const port of ports.map(Number)) {
    createServer((s) => {
      s.end(`${name} ${peer(s.remoteAddress)}\n`);
      s.on('error', () => undefined);
    }).listen(port, '::');
    const u = createSocket({ type: 'udp6', ipv6Only: false });
    u.on('message', (_m, r) => u.send(`${name} ${peer(r.address)}\n`, r.port, r.address));
    u.bind(port, '::');
  }
  process.stdout.write('ready\n');
} else if (mode === 'tcp' || mode === 'udp') {
  const [host, portText] = args;
  const port = Number(portText);
  const timer = setTimeout(() => process.exit(1), 2000);
  const done = (text: string) => {
    clearTimeout(timer);
    process.stdout.write(text);
    process.exit(0);
  };
  if (mode === 'tcp') {
    let buf = '';
    const s = connect({ host: host!, port });
    s.on('data', (d) => (buf += d.toString()));
    s.on('end', () => done(buf));
    s.on('error', () => process.exit(1));
  } else {
    const u = createSocket(host!.includes(':') ? 'udp6' : 'udp4');
    u.on('message', (m) => done(m.toString()));
    u.send('ping', port, host!);
  }
} else {
  process.stderr.write('usage: serve NAME PORT... | tcp HOST PORT | udp HOST PORT\n');
  process.exit(2);
}
