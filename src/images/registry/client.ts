/**
 * OCI distribution spec client: manifests and blobs of one registry's repositories, with
 * authentication (auth.ts), retries (http.ts) and errors that name the reference and the
 * registry. Push-side uploads live in upload.ts.
 *
 * Endpoints: docker.io is served by registry-1.docker.io. Loopback registries (localhost,
 * 127.0.0.0/8, ::1) and registries configured as insecure are tried over HTTPS without
 * certificate checks first, then over plain HTTP (as docker does). All others use HTTPS
 * with verification.
 */
import type { Readable } from 'node:stream';
import { BerthError } from '../../core/errors';
import { digestOf, parseDigest } from '../../content/digest';
import { ACCEPT_MANIFESTS } from '../media-types';
import { MAX_MANIFEST_BYTES } from '../manifest';
import { registryHost, type ImageReference } from '../reference';
import { Authorizer, loginHint } from './auth';
import type { CredentialStore, Credentials } from './credentials';
import { DEFAULT_RETRY, HttpTransport, drain, readBody, sendWithRetry, type HttpRequest, type HttpResponse, type RetryPolicy } from './http';

export interface RegistryClientOptions {
  credentials?: CredentialStore;
  /** Registries (host[:port]) that may be reached without TLS verification or over plain HTTP. */
  insecureRegistries?: string[];
  retry?: Partial<RetryPolicy>;
  userAgent?: string;
  /** Credentials to use for one registry regardless of the store (login verification). */
  override?: { registry: string; credentials: Credentials };
}

/** A repository in a registry: the part of a reference that requests address. */
export type Repository = Pick<ImageReference, 'domain' | 'path'>;

export interface FetchedManifest {
  bytes: Buffer;
  /** Content-Type the registry sent. */
  contentType: string | undefined;
  digest: string;
}

export interface BlobResponse {
  stream: Readable;
  /** Offset of the first byte of `stream`: the requested offset (206) or 0 (server ignored Range). */
  start: number;
  /** Total size of the blob, if the server said. */
  total: number | undefined;
}

interface Endpoint {
  origin: string;
  verifyTls: boolean;
}

const MAX_ERROR_BODY_BYTES = 64 * 1024;

export function isLoopbackHost(domain: string): boolean {
  const host = domain.startsWith('[') ? domain.slice(0, domain.indexOf(']') + 1) : domain.replace(/:\d+$/, '');
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export class RegistryClient {
  readonly transport: HttpTransport;
  readonly retry: RetryPolicy;
  private readonly auth: Authorizer;
  private readonly endpoints = new Map<string, Promise<Endpoint>>();
  private readonly insecure: Set<string>;

  constructor(readonly options: RegistryClientOptions = {}) {
    this.transport = new HttpTransport(options.userAgent);
    this.retry = { ...DEFAULT_RETRY, ...(options.retry ?? {}) };
    this.auth = new Authorizer(this.transport, options.credentials, this.retry, options.override);
    this.insecure = new Set(options.insecureRegistries ?? []);
  }

  close(): void {
    this.transport.close();
  }

  /** `GET /v2/`: checks that the registry speaks the distribution API (and our credentials, if any). */
  async ping(domain: string, signal?: AbortSignal): Promise<void> {
    const res = await this.request(domain, [], { method: 'GET', path: '/v2/', ...(signal ? { signal } : {}) }, `registry ${domain}`);
    if (res.status !== 200) throw await this.responseError(res, `registry ${domain}`, domain);
    drain(res);
  }

  /** Fetches a manifest or index by tag or digest, checking it against its digest. */
  async getManifest(repo: Repository, reference: string, what: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const res = await this.request(repo.domain, [pullScope(repo)], {
      method: 'GET',
      path: `/v2/${repo.path}/manifests/${reference}`,
      headers: { accept: ACCEPT_MANIFESTS.join(', ') },
      ...(signal ? { signal } : {}),
    }, what);
    if (res.status !== 200) throw await this.responseError(res, what, repo.domain);
    const bytes = await readBody(res, MAX_MANIFEST_BYTES, `manifest of ${what}`);
    const byDigest = reference.includes(':');
    const headerDigest = typeof res.headers['docker-content-digest'] === 'string' ? res.headers['docker-content-digest'] : undefined;
    const expected = byDigest ? reference : headerDigest;
    const algorithm = expected ? parseDigestSafe(expected) : 'sha256';
    const actual = digestOf(bytes, algorithm);
    if (expected && actual !== expected) {
      throw new BerthError('EDIGEST', `manifest of ${what} from registry ${repo.domain} does not match its digest: expected ${expected}, got ${actual}`, {
        hint: 'the registry (or something between it and Berth) sent different content; nothing was stored',
      });
    }
    const contentType = typeof res.headers['content-type'] === 'string' ? res.headers['content-type'] : undefined;
    return { bytes, contentType, digest: actual };
  }

  /** `HEAD` of a manifest: its digest and media type, or undefined if the registry has no such tag. */
  async headManifest(repo: Repository, reference: string, what: string, signal?: AbortSignal): Promise<{ digest: string | undefined; contentType: string | undefined } | undefined> {
    const res = await this.request(repo.domain, [pullScope(repo)], {
      method: 'HEAD',
      path: `/v2/${repo.path}/manifests/${reference}`,
      headers: { accept: ACCEPT_MANIFESTS.join(', ') },
      ...(signal ? { signal } : {}),
    }, what);
    drain(res);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await this.responseError(res, what, repo.domain);
    const d = res.headers['docker-content-digest'];
    const ct = res.headers['content-type'];
    return { digest: typeof d === 'string' ? d : undefined, contentType: typeof ct === 'string' ? ct : undefined };
  }

  /**
   * Opens a blob from `offset` with a Range request. Servers may ignore Range and send the
   * whole blob (200): `start` then is 0 and the caller skips what it has.
   */
  async openBlob(repo: Repository, digest: string, offset: number, signal?: AbortSignal, onRetry?: (attempt: number, reason: string) => void): Promise<BlobResponse> {
    const what = `blob ${digest} of ${repo.domain}/${repo.path}`;
    const headers: Record<string, string> = {};
    if (offset > 0) headers['range'] = `bytes=${offset}-`;
    const res = await this.request(repo.domain, [pullScope(repo)], { method: 'GET', path: `/v2/${repo.path}/blobs/${digest}`, headers, ...(signal ? { signal } : {}) }, what, onRetry);
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
      if (!m || Number(m[1]) !== offset) {
        res.body.destroy();
        throw new BerthError('EREGISTRY', `registry ${repo.domain} answered a range request for ${what} from byte ${offset} with Content-Range "${res.headers['content-range'] ?? ''}"`);
      }
      return { stream: res.body, start: offset, total: m[3] === '*' ? undefined : Number(m[3]) };
    }
    if (res.status === 200) {
      const len = Number(res.headers['content-length'] ?? NaN);
      return { stream: res.body, start: 0, total: Number.isFinite(len) ? len : undefined };
    }
    throw await this.responseError(res, what, repo.domain);
  }

  /** All tags of a repository (following `Link` pagination), for `pull --all-tags`. */
  async listTags(repo: Repository, signal?: AbortSignal): Promise<string[]> {
    const what = `tags of ${repo.domain}/${repo.path}`;
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repo.path}/tags/list?n=1000`;
    for (let page = 0; path && page < 1000; page++) {
      const res: HttpResponse = await this.request(repo.domain, [pullScope(repo)], { method: 'GET', path, ...(signal ? { signal } : {}) }, what);
      if (res.status !== 200) throw await this.responseError(res, what, repo.domain);
      const body = JSON.parse((await readBody(res, 16 * 1024 * 1024, what)).toString('utf8')) as { tags?: unknown };
      if (Array.isArray(body.tags)) tags.push(...body.tags.filter((t): t is string => typeof t === 'string'));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(String(res.headers.link ?? ''));
      path = link?.[1];
    }
    return tags;
  }

  /** Whether the repository has the blob (HEAD). */
  async hasBlob(repo: Repository, digest: string, signal?: AbortSignal, scopes = [pushScope(repo)]): Promise<boolean> {
    const what = `blob ${digest} of ${repo.domain}/${repo.path}`;
    const res = await this.request(repo.domain, scopes, { method: 'HEAD', path: `/v2/${repo.path}/blobs/${digest}`, ...(signal ? { signal } : {}) }, what);
    drain(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await this.responseError(res, what, repo.domain);
  }

  /** Verifies that the registry accepts the client's credentials (for `login`). */
  async checkLogin(domain: string, signal?: AbortSignal): Promise<void> {
    await this.ping(domain, signal);
  }

  /**
   * Sends a request to a registry, authenticating as it asks: a 401 is answered once with the
   * challenge's credentials or token; a second 401 (or a 403) becomes EAUTH naming the
   * registry and `berth login`. Other statuses are returned for the caller to interpret.
   */
  async request(
    domain: string,
    scopes: string[],
    req: Omit<HttpRequest, 'url' | 'verifyTls'> & { path?: string; url?: URL },
    what: string,
    onRetry?: (attempt: number, reason: string) => void,
  ): Promise<HttpResponse> {
    const ep = await this.endpoint(domain, req.signal);
    const url = req.url ?? new URL(req.path ?? '/v2/', ep.origin);
    for (let round = 0; ; round++) {
      const headers = { ...(req.headers ?? {}) };
      // Credentials go to the registry only, not to an upload location on another host.
      const authz = url.host === new URL(ep.origin).host ? await this.auth.authorization(domain, scopes, ep.verifyTls, req.signal) : undefined;
      if (authz) headers['authorization'] = authz;
      const res = await sendWithRetry(this.transport, { ...req, url, headers, verifyTls: ep.verifyTls }, this.retry, onRetry);
      if (res.status === 401 && round === 0) {
        drain(res);
        if (await this.auth.challenged(domain, headerString(res.headers['www-authenticate']), scopes, authz !== undefined)) continue;
        throw await this.auth.unauthorizedError(domain, what, 401);
      }
      if (res.status === 401 || res.status === 403) {
        const detail = await errorDetail(res);
        const err = await this.auth.unauthorizedError(domain, what, res.status);
        if (detail) err.message += ` (${detail})`;
        throw err;
      }
      return res;
    }
  }

  /** The error for an unexpected response, naming what was asked and of which registry. */
  async responseError(res: HttpResponse, what: string, domain: string): Promise<BerthError> {
    const detail = await errorDetail(res);
    const suffix = detail ? ` (${detail})` : '';
    if (res.status === 404) {
      return new BerthError('ENOT_FOUND', `${what}: not found in registry ${domain}${suffix}`, {
        hint: `check the name and tag; if the repository is private, ${loginHint(domain)}`,
      });
    }
    if (res.status === 401 || res.status === 403) return this.auth.unauthorizedError(domain, what, res.status);
    return new BerthError('EREGISTRY', `${what}: registry ${domain} answered HTTP ${res.status}${suffix}`);
  }

  /** Base URL of a registry (decided once per client). */
  endpoint(domain: string, signal?: AbortSignal): Promise<Endpoint> {
    let p = this.endpoints.get(domain);
    if (!p) {
      p = this.resolveEndpoint(domain, signal);
      this.endpoints.set(domain, p);
      p.catch(() => this.endpoints.delete(domain));
    }
    return p;
  }

  private async resolveEndpoint(domain: string, signal?: AbortSignal): Promise<Endpoint> {
    const host = registryHost(domain);
    const insecure = isLoopbackHost(domain) || this.insecure.has(domain) || this.insecure.has(host.replace(/:\d+$/, ''));
    if (!insecure) return { origin: `https://${host}`, verifyTls: true };
    // Loopback or configured insecure (as docker): HTTPS without certificate verification if
    // the registry speaks TLS at all, else plain HTTP.
    try {
      const res = await this.transport.send({ method: 'GET', url: new URL(`https://${host}/v2/`), verifyTls: false, ...(signal ? { signal } : {}) });
      drain(res);
      return { origin: `https://${host}`, verifyTls: false };
    } catch (e) {
      if (signal?.aborted) throw new BerthError('EABORTED', `cancelled while contacting registry ${domain}`, { cause: e });
      return { origin: `http://${host}`, verifyTls: false };
    }
  }
}

export function pullScope(repo: Repository): string {
  return `repository:${repo.path}:pull`;
}

export function pushScope(repo: Repository): string {
  return `repository:${repo.path}:pull,push`;
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

function parseDigestSafe(d: string): 'sha256' | 'sha512' {
  try {
    return parseDigest(d).algorithm;
  } catch {
    return 'sha256';
  }
}

/** The registry's own explanation from an OCI error body (`{"errors":[{"code","message"}]}`). */
async function errorDetail(res: HttpResponse): Promise<string> {
  let body: Buffer;
  try {
    body = await readBody(res, MAX_ERROR_BODY_BYTES, 'error response');
  } catch {
    return '';
  }
  if (body.length === 0) return '';
  try {
    const json = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    const parts = (json.errors ?? []).map((e) => [e.code, e.message].filter((x) => typeof x === 'string').join(': ')).filter(Boolean);
    if (parts.length) return parts.join('; ');
  } catch {
    /* not JSON: fall through */
  }
  return body.toString('utf8').trim().slice(0, 200);
}
