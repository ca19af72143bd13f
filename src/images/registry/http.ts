/**
 * The HTTP layer under the registry client, on Node's http/https (no client library):
 * one request at a time with redirects, bounded body reads, and retries with exponential
 * backoff on connection errors and 5xx/429 (never on other 4xx: those will not change).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, errnoCode } from '../../core/errors';

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  /** A buffer, or a stream factory (called again if the request is retried). */
  body?: Buffer | (() => Readable);
  signal?: AbortSignal;
  /** Follow redirects (GET/HEAD of blobs are often redirected to storage). Default true. */
  followRedirects?: boolean;
  /** TLS certificate verification; off only for registries configured as insecure. */
  verifyTls?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  /** Final URL after redirects. */
  url: URL;
}

const MAX_REDIRECTS = 5;
/** A connection that sends nothing for this long is treated as broken (and retried). */
const IDLE_TIMEOUT_MS = 60_000;

export class HttpTransport {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly insecureAgent = new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false });

  constructor(readonly userAgent = 'berth/0.1') {}

  async send(req: HttpRequest): Promise<HttpResponse> {
    let url = req.url;
    let headers = { ...(req.headers ?? {}) };
    for (let hop = 0; ; hop++) {
      const res = await this.sendOnce({ ...req, url, headers });
      const location = res.headers.location;
      if (req.followRedirects !== false && [301, 302, 303, 307, 308].includes(res.status) && location && hop < MAX_REDIRECTS) {
        res.body.resume();
        const next = new URL(location, url);
        // Credentials are for the registry, not for the storage it redirects to.
        if (next.host !== url.host) {
          const { authorization: _dropped, ...rest } = headers;
          headers = rest;
        }
        url = next;
        continue;
      }
      return res;
    }
  }

  private sendOnce(req: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const isHttps = req.url.protocol === 'https:';
      const agent = isHttps ? (req.verifyTls === false ? this.insecureAgent : this.httpsAgent) : this.httpAgent;
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...(req.headers ?? {}) };
      if (Buffer.isBuffer(req.body)) headers['content-length'] = String(req.body.length);
      const request = (isHttps ? https : http).request(req.url, { method: req.method, headers, agent, ...(req.signal ? { signal: req.signal } : {}) }, (res) => {
        res.setTimeout(IDLE_TIMEOUT_MS, () => res.destroy(Object.assign(new Error('connection idle for too long'), { code: 'ETIMEDOUT' })));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url: req.url });
      });
      request.setTimeout(IDLE_TIMEOUT_MS, () => request.destroy(Object.assign(new Error('connection timed out'), { code: 'ETIMEDOUT' })));
      request.on('error', reject);
      if (req.body === undefined) request.end();
      else if (Buffer.isBuffer(req.body)) request.end(req.body);
      else {
        const src = req.body();
        src.on('error', (e) => request.destroy(e));
        src.pipe(request);
      }
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.insecureAgent.destroy();
  }
}

/** Reads a whole response body, refusing more than `maxBytes` (manifests, tokens, errors). */
export async function readBody(res: HttpResponse, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (declared > maxBytes) {
    res.body.destroy();
    throw new BerthError('ELIMIT', `${what} is ${declared} bytes, over the ${maxBytes}-byte limit`);
  }
  return readStream(res.body, maxBytes, what);
}

/** Reads a stream whole, refusing more than `maxBytes`. */
export async function readStream(stream: Readable, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      stream.destroy();
      throw new BerthError('ELIMIT', `${what} is over the ${maxBytes}-byte limit`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Discards a response body we do not need, so the connection can be reused. */
export function drain(res: HttpResponse): void {
  res.body.resume();
}

const RETRYABLE_ERRNOS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Whether an error is a broken connection worth retrying (not a cancellation, not a protocol error). */
export function isConnectionError(e: unknown): boolean {
  if (e instanceof BerthError) return e.code === 'ENETWORK';
  const code = errnoCode(e);
  if (code && RETRYABLE_ERRNOS.has(code)) return true;
  return e instanceof Error && /socket hang up|aborted|premature close/i.test(e.message) && (e as { name?: string }).name !== 'AbortError';
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** First backoff; doubles per attempt (with jitter), capped at 10 s. */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 250 };

export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const exp = Math.min(policy.baseDelayMs * 2 ** (attempt - 1), 10_000);
  return exp / 2 + Math.random() * (exp / 2);
}

/** Sleeps, but wakes with EABORTED if the signal fires. */
export async function sleepOrAbort(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch (e) {
    throw new BerthError('EABORTED', 'cancelled', { cause: e });
  }
}

/**
 * Sends with retries: connection errors and retryable statuses go round again after a
 * backoff (honouring Retry-After up to 30 s); the last retryable response is returned as is
 * so that the caller turns it into an error naming what it was doing.
 */
export async function sendWithRetry(
  transport: HttpTransport,
  req: HttpRequest,
  policy: RetryPolicy,
  onRetry?: (attempt: number, reason: string) => void,
): Promise<HttpResponse> {
  for (let attempt = 0; ; attempt++) {
    if (req.signal?.aborted) throw new BerthError('EABORTED', `cancelled: ${req.method} ${req.url.href}`, { cause: req.signal.reason });
    let reason: string;
    let delay: number | undefined;
    try {
      const res = await transport.send(req);
      if (!isRetryableStatus(res.status) || attempt >= policy.retries) return res;
      reason = `HTTP ${res.status}`;
      const after = Number(res.headers['retry-after']);
      if (Number.isFinite(after) && after >= 0) delay = Math.min(after * 1000, 30_000);
      drain(res);
    } catch (e) {
      if (req.signal?.aborted) throw new BerthError('EABORTED', `cancelled: ${req.method} ${req.url.href}`, { cause: e });
      if (!isConnectionError(e) || attempt >= policy.retries) {
        throw new BerthError('ENETWORK', `${req.method} ${req.url.href} failed: ${(e as Error).message}`, {
          cause: e,
          hint: 'check that the registry is reachable (address, port, proxy, firewall)',
        });
      }
      reason = (e as Error).message;
    }
    onRetry?.(attempt + 1, reason);
    await sleepOrAbort(delay ?? backoffDelay(policy, attempt + 1), req.signal);
  }
}
