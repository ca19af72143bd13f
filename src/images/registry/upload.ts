/**
 * Push-side requests of the distribution spec: cross-repository mounts, blob uploads
 * (monolithic PUT, or chunked PATCHes with Content-Range then a closing PUT ?digest=) and
 * manifest PUTs by tag or digest.
 */
import { Readable } from 'node:stream';
import { BerthError } from '../../core/errors';
import { digestOf } from '../../content/digest';
import { drain, readBody, type HttpResponse } from './http';
import { pushScope, pullScope, type RegistryClient, type Repository } from './client';

export type UploadStart = { mounted: true } | { mounted: false; location: URL };

/**
 * Starts an upload session; with `mountFrom` (a repository of the same registry holding the
 * blob) asks the registry to mount the blob instead, which needs no data transfer (201).
 * Registries that cannot mount answer 202 with an ordinary upload session.
 */
export async function startUpload(client: RegistryClient, repo: Repository, digest: string, mountFrom?: Repository, signal?: AbortSignal): Promise<UploadStart> {
  const what = `upload of blob ${digest} to ${repo.domain}/${repo.path}`;
  let path = `/v2/${repo.path}/blobs/uploads/`;
  const scopes = [pushScope(repo)];
  if (mountFrom && mountFrom.domain === repo.domain && mountFrom.path !== repo.path) {
    path += `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom.path)}`;
    scopes.push(pullScope(mountFrom));
  }
  const res = await client.request(repo.domain, scopes, { method: 'POST', path, headers: { 'content-length': '0' }, ...(signal ? { signal } : {}) }, what);
  if (res.status === 201) {
    drain(res);
    return { mounted: true };
  }
  if (res.status !== 202) throw await client.responseError(res, what, repo.domain);
  drain(res);
  return { mounted: false, location: locationOf(res, what) };
}

export interface UploadSource {
  digest: string;
  size: number;
  /** Opens the blob's bytes from `offset` (called again when a request is retried). */
  open(offset: number): Readable;
}

export interface UploadOptions {
  /** Upload in PATCH chunks of this many bytes; 0 or undefined: one monolithic PUT. */
  chunkSize?: number;
  signal?: AbortSignal;
  onProgress?: (sent: number) => void;
  onRetry?: (attempt: number, reason: string) => void;
}

/** Uploads a blob into an open session and closes it with its digest. */
export async function uploadBlob(client: RegistryClient, repo: Repository, location: URL, src: UploadSource, opts: UploadOptions = {}): Promise<void> {
  const what = `upload of blob ${src.digest} to ${repo.domain}/${repo.path}`;
  const scopes = [pushScope(repo)];
  const signal = opts.signal ? { signal: opts.signal } : {};
  if (!opts.chunkSize || src.size <= opts.chunkSize) {
    const url = withDigest(location, src.digest);
    const res = await client.request(repo.domain, scopes, {
      method: 'PUT',
      url,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(src.size) },
      body: () => countProgress(src.open(0), 0, opts.onProgress),
      ...signal,
    }, what, opts.onRetry);
    await expectCreated(client, res, what, repo);
    return;
  }
  let loc = location;
  for (let offset = 0; offset < src.size; ) {
    const end = Math.min(offset + opts.chunkSize, src.size);
    const chunk = await readRange(src.open(offset), end - offset);
    const res = await client.request(repo.domain, scopes, {
      method: 'PATCH',
      url: loc,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(chunk.length), 'content-range': `${offset}-${end - 1}` },
      body: chunk,
      ...signal,
    }, what, opts.onRetry);
    if (res.status !== 202) throw await client.responseError(res, what, repo.domain);
    drain(res);
    loc = locationOf(res, what);
    offset = end;
    opts.onProgress?.(offset);
  }
  const res = await client.request(repo.domain, scopes, { method: 'PUT', url: withDigest(loc, src.digest), headers: { 'content-length': '0' }, ...signal }, what);
  await expectCreated(client, res, what, repo);
}

/** PUTs a manifest under a tag or digest; returns the digest the registry reports (checked). */
export async function putManifest(client: RegistryClient, repo: Repository, reference: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<string> {
  const what = `manifest ${repo.domain}/${repo.path}:${reference}`;
  const res = await client.request(repo.domain, [pushScope(repo)], {
    method: 'PUT',
    path: `/v2/${repo.path}/manifests/${reference}`,
    headers: { 'content-type': mediaType },
    body: bytes,
    ...(signal ? { signal } : {}),
  }, what);
  if (res.status !== 201 && res.status !== 200) throw await client.responseError(res, what, repo.domain);
  drain(res);
  const digest = digestOf(bytes);
  const reported = res.headers['docker-content-digest'];
  if (typeof reported === 'string' && reported.startsWith('sha256:') && reported !== digest) {
    throw new BerthError('EDIGEST', `registry ${repo.domain} stored ${what} under digest ${reported}, but its content hashes to ${digest}`);
  }
  return digest;
}

async function expectCreated(client: RegistryClient, res: HttpResponse, what: string, repo: Repository): Promise<void> {
  if (res.status !== 201 && res.status !== 204 && res.status !== 200) throw await client.responseError(res, what, repo.domain);
  await readBody(res, 64 * 1024, what).catch(() => undefined);
}

function locationOf(res: HttpResponse, what: string): URL {
  const loc = res.headers.location;
  if (!loc) throw new BerthError('EREGISTRY', `${what}: the registry sent no upload location`);
  return new URL(loc, res.url);
}

function withDigest(location: URL, digest: string): URL {
  const u = new URL(location.href);
  u.searchParams.set('digest', digest);
  return u;
}

async function readRange(stream: Readable, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    const need = length - have;
    chunks.push(c.length > need ? c.subarray(0, need) : c);
    have += Math.min(c.length, need);
    if (have >= length) break;
  }
  stream.destroy();
  return Buffer.concat(chunks);
}

function countProgress(src: Readable, base: number, onProgress?: (sent: number) => void): Readable {
  if (!onProgress) return src;
  let sent = base;
  src.on('data', (c: Buffer) => {
    sent += c.length;
    onProgress(sent);
  });
  return src;
}
