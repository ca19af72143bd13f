/**
 * `image copy SRC DST` between transports (transport.ts): one image, read from any source
 * (registry, OCI layout or archive, docker-archive, local store) and written to any
 * destination, blobs streamed from one to the other with their digests checked on the way.
 * Blobs keep their bytes (and so the manifest its digest) except where a destination format
 * demands otherwise: a docker-archive holds uncompressed layers, and a docker-archive source
 * has no manifest (one is made up, see docker-archive-read.ts). A multi-platform source
 * gives the manifest of one platform (the host's, or `platform`), which is what is written.
 */
import { BerthError } from '../../core/errors';
import type { ArchiveEvent } from '../../core/events';
import { imageNameFor, type ImageStores } from '../create';
import { parsePlatform, type Platform } from '../platform';
import type { RegistryClient } from '../registry/client';
import { recordReference } from '../store';
import type { UnpackSink } from '../unpack-sink';
import { writeDockerArchive } from './docker-archive-write';
import { DirFiles, TarFiles } from './files';
import { archiveFile } from './input';
import { writeToLocal } from './local-dest';
import { localSource } from './local-source';
import { REF_NAME_ANNOTATION, readOciLayout } from './oci-layout-read';
import { writeOciArchive, writeOciLayoutDir } from './oci-layout-write';
import { openArchive } from './open';
import { writeToRegistry } from './registry-dest';
import { registrySource } from './registry-source';
import type { ImageSource, SourceImage } from './source';
import { makeTempDir, type TempDir } from './temp';
import { formatImageLocation, parseImageLocation, type ImageLocation } from './transport';

/** What archive operations need besides the stores: a registry client and scratch space. */
export interface ArchiveDeps extends ImageStores {
  client: RegistryClient;
  /** Scratch directory root (`<root>/tmp`). */
  tmpRoot: string;
}

export interface CopyOptions {
  /** For multi-platform sources (default: the host's). */
  platform?: Platform | string;
  /** Unpacks layers when the destination is the local store. */
  sink?: UnpackSink;
  signal?: AbortSignal;
  onEvent?: (e: ArchiveEvent) => void;
}

export interface CopyResult {
  source: string;
  destination: string;
  /** Config digest (IMAGE ID). */
  id: string;
  /** Digest of the manifest written (what a registry or layout now holds). */
  manifestDigest: string;
}

export async function imageCopy(deps: ArchiveDeps, src: string | ImageLocation, dst: string | ImageLocation, opts: CopyOptions = {}): Promise<CopyResult> {
  const from = typeof src === 'string' ? parseImageLocation(src) : src;
  const to = typeof dst === 'string' ? parseImageLocation(dst) : dst;
  const platform = typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
  const run = async (): Promise<CopyResult> => {
    const scratch = await makeTempDir(deps.tmpRoot);
    let source: ImageSource | undefined;
    try {
      opts.onEvent?.({ type: 'reading', source: formatImageLocation(from) });
      source = await openSource(deps, from, scratch, platform, opts.signal);
      if (source.images.length !== 1) {
        throw new BerthError('EINVALID_ARGUMENT', `${formatImageLocation(from)} holds ${source.images.length} images; name the one to copy`, {
          hint: from.transport === 'docker-archive' ? 'append :NAME:TAG or :@N to the archive path' : 'append :REF to the path',
        });
      }
      const image = source.images[0]!;
      const manifestDigest = await writeDestination(deps, to, source, image, opts);
      return { source: formatImageLocation(from), destination: formatImageLocation(to), id: image.config.descriptor.digest, manifestDigest };
    } finally {
      await source?.close();
      await scratch.remove();
    }
  };
  // Reading the local store: a lease keeps GC from deleting the blobs while they stream.
  return from.transport === 'berth' ? deps.content.withLease(run, opts.signal ? { signal: opts.signal } : {}) : run();
}

async function openSource(deps: ArchiveDeps, loc: ImageLocation, scratch: TempDir, platform: Platform | undefined, signal: AbortSignal | undefined): Promise<ImageSource> {
  const plat = platform ? { platform } : {};
  switch (loc.transport) {
    case 'docker':
      return registrySource(deps.client, loc.reference, { ...plat, ...(signal ? { signal } : {}) });
    case 'oci':
      return readOciLayout(new DirFiles(loc.path, `OCI layout ${loc.path}`), { ...plat, ...(loc.ref !== undefined ? { ref: loc.ref } : {}) });
    case 'oci-archive':
    case 'docker-archive': {
      const what = `${loc.transport} ${loc.path}`;
      const files = await TarFiles.open(await archiveFile({ path: loc.path }, scratch.path, what), what);
      try {
        const ref = loc.ref !== undefined ? { ref: loc.ref } : {};
        return loc.transport === 'oci-archive' ? await readOciLayout(files, { ...plat, ...ref }) : await openArchive(files, { ...plat, ...ref });
      } catch (e) {
        await files.close();
        throw e;
      }
    }
    case 'berth': {
      const record = await deps.images.resolve(loc.name);
      const ref = recordReference(record.name);
      return localSource(deps, [{ record, names: ref?.tag ? [record.name] : [] }]);
    }
  }
}

async function writeDestination(deps: ArchiveDeps, loc: ImageLocation, source: ImageSource, image: SourceImage, opts: CopyOptions): Promise<string> {
  const ev = opts.onEvent ? { onEvent: opts.onEvent } : {};
  switch (loc.transport) {
    case 'docker':
      return (await writeToRegistry(deps.client, loc.reference, source, image, { ...ev, ...(opts.signal ? { signal: opts.signal } : {}) })).digest;
    case 'oci':
      await writeOciLayoutDir(loc.path, source, [{ image, annotations: loc.ref !== undefined ? { [REF_NAME_ANNOTATION]: loc.ref } : {} }], ev);
      return image.manifest.descriptor.digest;
    case 'oci-archive':
      await writeOciArchive({ path: loc.path }, source, [{ image, annotations: loc.ref !== undefined ? { [REF_NAME_ANNOTATION]: loc.ref } : {} }], ev);
      return image.manifest.descriptor.digest;
    case 'docker-archive':
      await writeDockerArchive({ path: loc.path }, source, [{ image, names: loc.ref !== undefined ? [imageNameFor(loc.ref)] : [] }], { tmpRoot: deps.tmpRoot, ...ev });
      return image.manifest.descriptor.digest;
    case 'berth':
      await writeToLocal(deps, source, [{ image, names: [imageNameFor(loc.name)] }], { ...ev, ...(opts.sink ? { sink: opts.sink } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
      return image.manifest.descriptor.digest;
  }
}
