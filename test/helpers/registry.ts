/**
 * Test fixtures around a real registry: Debian's docker-registry (distribution v2) started on
 * 127.0.0.1 with a free port and a temp storage directory, open, with htpasswd basic auth, or
 * with bearer-token auth served by a small token server (RS256 JWTs with an x5c header,
 * signed by a key/cert made with openssl). Every process and directory is removed by stop().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT` — a reference domain. */
  domain: string;
  port: number;
  dir: string;
  /** Requests the token server saw (token auth only). */
  tokenRequests: { scope: string[]; user: string | undefined }[];
  stop(): Promise<void>;
}

export type RegistryAuth =
  | { kind: 'none' }
  | { kind: 'htpasswd'; users: Record<string, string> }
  /** Token auth; anonymous users may pull repositories under `public/`. */
  | { kind: 'token'; users: Record<string, string> };

/** Makes a self-signed key and certificate with openssl; returns their paths. */
export function makeCert(dir: string, name: string, cn: string): { key: string; cert: string } {
  const key = join(dir, `${name}-key.pem`);
  const cert = join(dir, `${name}-cert.pem`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { key, cert };
}

export async function startRegistry(auth: RegistryAuth = { kind: 'none' }, opts: { tls?: boolean } = {}): Promise<RunningRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const tokenRequests: RunningRegistry['tokenRequests'] = [];
  let authYaml = '';
  let tokenServer: http.Server | undefined;
  if (auth.kind === 'htpasswd') {
    const lines = Object.entries(auth.users).map(([u, p]) => {
      const r = spawnSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
      return r.stdout.trim();
    });
    writeFileSync(join(dir, 'htpasswd'), lines.join('\n') + '\n');
    authYaml = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (auth.kind === 'token') {
    const { key: keyFile, cert: certFile } = makeCert(dir, 'token', 'berth-test-token');
    const started = await startTokenServer(readFileSync(keyFile, 'utf8'), readFileSync(certFile, 'utf8'), auth.users, tokenRequests);
    tokenServer = started.server;
    authYaml = `auth:\n  token:\n    realm: http://127.0.0.1:${started.port}/token\n    service: berth-test-registry\n    issuer: berth-test-issuer\n    rootcertbundle: ${certFile}\n`;
  }
  let tlsYaml = '';
  if (opts.tls) {
    const { key, cert } = makeCert(dir, 'tls', '127.0.0.1');
    tlsYaml = `  tls:\n    certificate: ${cert}\n    key: ${key}\n`;
  }
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${tlsYaml}${authYaml}`;
  writeFileSync(join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (tokenServer) await new Promise((r) => tokenServer!.close(r));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/v2/`, child, () => stderr);
  } catch (e) {
    await stop();
    throw e;
  }
  return { domain: `127.0.0.1:${port}`, port, dir, tokenRequests, stop };
}

/** Polls until the registry answers (any status); fails if the process exits first. */
async function waitForHttp(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const get = url.startsWith('https:') ? (u: string, cb: (res: http.IncomingMessage) => void) => https.get(u, { rejectUnauthorized: false }, cb) : http.get;
      const req = get(url, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer at ${url}: ${stderr()}`);
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/** A token server as the distribution spec describes: GET /token?service=&scope=... */
async function startTokenServer(keyPem: string, certPem: string, users: Record<string, string>, log: RunningRegistry['tokenRequests']): Promise<{ server: http.Server; port: number }> {
  const key = createPrivateKey(keyPem);
  const certDer = new X509Certificate(certPem).raw;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let user: string | undefined;
    const authz = req.headers.authorization;
    if (authz?.startsWith('Basic ')) {
      const [u, ...rest] = Buffer.from(authz.slice(6), 'base64').toString().split(':');
      if (!u || users[u] !== rest.join(':')) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
      user = u;
    }
    const scopes = url.searchParams.getAll('scope');
    log.push({ scope: scopes, user });
    const access = scopes.flatMap((s) => {
      const [type, name, actions] = s.split(':');
      if (type !== 'repository' || !name || !actions) return [];
      const wanted = actions.split(',');
      const granted = user ? wanted : name.startsWith('public/') ? wanted.filter((a) => a === 'pull') : [];
      return [{ type, name, actions: granted }];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: 'berth-test-issuer',
      sub: user ?? '',
      aud: url.searchParams.get('service') ?? '',
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('RSA-SHA256', Buffer.from(input), key))}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * An HTTP proxy in front of a registry whose behaviour a test changes per request: `hook`
 * may answer a request itself (return true) or let it through, optionally rewriting the
 * upstream response body with `transform`.
 */
export interface ProxyRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

export interface ProxyHooks {
  /** Change request headers before forwarding (e.g. drop Range). */
  request?(req: ProxyRequest): void;
  /**
   * Handle the upstream response: return undefined to pass it through unchanged, or a
   * function that writes the answer itself.
   */
  response?(req: ProxyRequest, upstream: http.IncomingMessage, res: http.ServerResponse): boolean;
}

export interface RunningProxy {
  domain: string;
  hooks: ProxyHooks;
  /** Every request seen: method, path, range header. */
  seen: { method: string; path: string; range: string | undefined }[];
  /** Highest number of blob GETs in flight at once. */
  maxConcurrentBlobGets: number;
  stop(): Promise<void>;
}

export async function startProxy(upstreamPort: number): Promise<RunningProxy> {
  const proxy: RunningProxy = { domain: '', hooks: {}, seen: [], maxConcurrentBlobGets: 0, stop: async () => undefined };
  let blobGets = 0;
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const preq: ProxyRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: { ...req.headers } };
    proxy.hooks.request?.(preq);
    proxy.seen.push({ method: preq.method, path: preq.path, range: typeof preq.headers.range === 'string' ? preq.headers.range : undefined });
    const isBlobGet = preq.method === 'GET' && preq.path.includes('/blobs/sha');
    if (isBlobGet) {
      blobGets++;
      proxy.maxConcurrentBlobGets = Math.max(proxy.maxConcurrentBlobGets, blobGets);
      res.on('close', () => blobGets--);
    }
    const headers = { ...preq.headers, host: `127.0.0.1:${upstreamPort}` };
    const up = http.request({ host: '127.0.0.1', port: upstreamPort, method: preq.method, path: preq.path, headers }, (upstream) => {
      if (proxy.hooks.response?.(preq, upstream, res)) return;
      // Redirects and Location headers point at the upstream: rewrite them to the proxy.
      const h = { ...upstream.headers };
      if (typeof h.location === 'string') h.location = h.location.replace(`127.0.0.1:${upstreamPort}`, proxy.domain);
      res.writeHead(upstream.statusCode ?? 502, h);
      upstream.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  proxy.domain = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  };
  return proxy;
}
