/**
 * A tiny HTTP and UDP client for the networking tests, over node:net and node:dgram (no curl
 * on the test's own side of a check, so a failure says which layer did not answer). Also the
 * addresses a test may send to — loopback and the host's own addresses — and free host ports.
 * Safety: callers only ever pass 127.0.0.1, the host's own addresses or addresses on Berth's
 * bridges; nothing here picks a destination by itself.
 */
import { spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { createSocket } from 'node:dgram';
import { networkInterfaces } from 'node:os';

export interface HttpAnswer {
  status: number;
  body: string;
}

/** GET http://host:port/path with HTTP/1.0 (busybox httpd closes after answering); rejects on timeout. */
export function httpGet(host: string, port: number, path = '/', timeoutMs = 5000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let raw = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no HTTP answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('connect', () => s.write(`GET ${path} HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    s.on('data', (d) => (raw += d.toString('utf8')));
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`HTTP to ${host}:${port}: ${e.message}`));
    });
    s.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      if (!m) return reject(new Error(`not an HTTP answer from ${host}:${port}: ${JSON.stringify(raw.slice(0, 200))}`));
      const split = raw.indexOf('\r\n\r\n');
      resolve({ status: Number(m[1]), body: split >= 0 ? raw.slice(split + 4) : '' });
    });
  });
}

/** Retries `httpGet` until it answers (a container's server takes a moment to listen). */
export async function httpGetWhenUp(host: string, port: number, path = '/', withinMs = 10_000): Promise<HttpAnswer> {
  const end = Date.now() + withinMs;
  for (;;) {
    try {
      return await httpGet(host, port, path, 2000);
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Sends `message` to host:port over UDP, resending every 300 ms (the server may not listen
 * yet, and UDP has no connect to wait for), and resolves with the first datagram back.
 */
export function udpAsk(host: string, port: number, message: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const send = () => sock.send(message, port, host, () => undefined);
    const resend = setInterval(send, 300);
    const timer = setTimeout(() => finish(new Error(`no UDP answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err: Error | null, text?: string) => {
      clearInterval(resend);
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(text!);
    };
    sock.on('message', (m) => finish(null, m.toString('utf8')));
    sock.on('error', (e) => finish(e));
    send();
  });
}

/** A TCP port free on every host address right now (the kernel's pick; closed before return). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '0.0.0.0', () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** `count` consecutive TCP ports that are free now (for a published range). */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * 20_000);
    const held: Array<ReturnType<typeof createServer>> = [];
    let ok = true;
    for (let p = first; p < first + count && ok; p++) {
      const srv = createServer();
      ok = await new Promise<boolean>((r) => {
        srv.once('error', () => r(false));
        srv.listen(p, '0.0.0.0', () => r(true));
      });
      if (ok) held.push(srv);
    }
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    if (ok) return first;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/**
 * The host's own IPv4 address on its uplink (eth0 when it has one, otherwise the first
 * non-loopback interface that is not one of Berth's bridges or veths), or undefined.
 */
export function hostAddress(): string | undefined {
  const ifs = networkInterfaces();
  const v4 = (name: string) => ifs[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  if (v4('eth0')) return v4('eth0');
  for (const name of Object.keys(ifs).sort()) {
    if (/^(lo|berth|br-|veth|docker)/.test(name)) continue;
    const a = v4(name);
    if (a) return a;
  }
  return undefined;
}

/**
 * A TCP server answering every connection with `text`, in a child process: the tests drive
 * the CLI with spawnSync, which blocks this process's event loop, so a server in it would
 * not answer while a container waits for it. Listens on `host` (the host's own address);
 * resolves with the port and a stop function that ends the child by its pid.
 */
export function hostListener(host: string, text: string): Promise<{ port: number; stop: () => void }> {
  const script = `const s=require('net').createServer(c=>c.end(${JSON.stringify(text)}));s.listen(0,${JSON.stringify(host)},()=>process.stdout.write(s.address().port+'\\n'))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve({ port: Number(out.trim()), stop });
    });
    child.once('exit', (code) => reject(new Error(`the listener on ${host} exited (${code}) before listening`)));
  });
}
