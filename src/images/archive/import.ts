/**
 * `import`: a root filesystem tarball (plain, gzip or zstd; from a file, a stream such as
 * stdin, or an http(s) URL) becomes a one-layer image, as `docker import` makes it: the
 * (decompressed) tarball is the layer, so its diff_id is the tarball's digest. `--change`
 * instructions set the run defaults, `-m` the commit message. The layer contents are checked
 * by the snapshots unpacker (hostile entries refused) when a sink is given.
 */
import http from 'node:http';
import https from 'node:https';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { BerthError } from '../../core/errors';
import type { ArchiveEvent } from '../../core/events';
import type { ConfigChange } from '../config-changes';
import { createImage, type CreatedImage, type ImageStores } from '../create';
import type { LayerBlobCompression } from '../layer-blob';
import { parsePlatform, type Platform } from '../platform';
import type { UnpackSink } from '../unpack-sink';
import { decompressed, inputCompression, peek } from './input';

export type ImportInput = { path: string } | { url: string } | { stream: Readable; label?: string };

export interface ImportOptions {
  /** Name to record the image under (default none: `<none>:<none>`, known by id). */
  name?: string;
  changes?: readonly ConfigChange[];
  /** Commit message (`-m`). */
  message?: string;
  /** The image's platform (default: the host's). */
  platform?: Platform | string;
  compression?: LayerBlobCompression;
  sink?: UnpackSink;
  signal?: AbortSignal;
  onEvent?: (e: ArchiveEvent) => void;
}

/** The CLI's SOURCE argument: `-` is stdin, http(s):// a URL, anything else a file. */
export function importInputFromArgument(arg: string, stdin: Readable = process.stdin): ImportInput {
  if (arg === '-') return { stream: stdin, label: '-' };
  if (/^https?:\/\//i.test(arg)) return { url: arg };
  return { path: arg };
}

const MAX_REDIRECTS = 5;

/** GET `url`, following redirects; resolves with the body of a 200 answer. */
function download(url: string, signal: AbortSignal | undefined, redirects = 0): Promise<Readable> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new BerthError('EINVALID_ARGUMENT', `"${url}" is not a valid URL`));
      return;
    }
    const get = u.protocol === 'https:' ? https.get : http.get;
    const req = get(u, { ...(signal ? { signal } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) {
          reject(new BerthError('ENETWORK', `import from ${url}: more than ${MAX_REDIRECTS} redirects`));
          return;
        }
        download(new URL(res.headers.location, u).href, signal, redirects + 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        reject(new BerthError(status === 404 ? 'ENOT_FOUND' : 'ENETWORK', `import from ${url}: the server answered ${status} ${res.statusMessage ?? ''}`.trim()));
        return;
      }
      resolve(res);
    });
    req.on('error', (e) => reject(new BerthError('ENETWORK', `import from ${url} failed: ${e.message}`, { cause: e })));
  });
}

async function openInput(input: ImportInput, signal: AbortSignal | undefined): Promise<{ stream: Readable; label: string }> {
  if ('url' in input) return { stream: await download(input.url, signal), label: input.url };
  if ('path' in input) {
    const stream = createReadStream(input.path);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (e) => reject(new BerthError('ENOT_FOUND', `cannot open ${input.path}: ${e.message}`, { cause: e })));
    });
    return { stream, label: input.path };
  }
  return { stream: input.stream, label: input.label ?? '-' };
}

/** Whether `block` is a tar header (its checksum matches), the test `file` and tar use. */
function isTarHeader(block: Buffer): boolean {
  if (block.length < 512) return false;
  const want = Number.parseInt(block.toString('ascii', 148, 156).replace(/\0.*$/, '').trim(), 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return Number.isFinite(want) && want === sum;
}

export async function importRootfs(stores: ImageStores, input: ImportInput, opts: ImportOptions = {}): Promise<CreatedImage> {
  const { stream: raw, label } = await openInput(input, opts.signal);
  const what = `import source ${label}`;
  try {
    const { head, stream } = await peek(raw, 8);
    const tarStream = decompressed(stream, inputCompression(head, what), what);
    const checked = await peek(tarStream, 512);
    if (!isTarHeader(checked.head)) {
      checked.stream.destroy();
      throw new BerthError('EBAD_ARCHIVE', `${what} is not a tar archive`, { hint: 'import takes a root filesystem tarball (tar, tar.gz or tar.zst)' });
    }
    const platform = typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
    return await createImage(stores, {
      layers: [{ tar: checked.stream }],
      history: [{ created_by: '', comment: opts.message ?? `Imported from ${label}` }],
      ...(opts.message ? { comment: opts.message } : {}),
      ...(opts.changes ? { changes: opts.changes } : {}),
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      ...(platform ? { platform } : {}),
      ...(opts.compression ? { compression: opts.compression } : {}),
      ...(opts.sink ? { sink: opts.sink } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
  } finally {
    raw.destroy();
  }
}
