/**
 * `load`: every image of an archive (docker-archive, or an OCI layout in a tar — oci-archive
 * and newer docker saves; plain, gzip or zstd; from a file or a stream) into the local store,
 * under the names the archive gives them (or by id alone). All or nothing: records are
 * written only once every blob and layer of every image is verified and stored.
 */
import { BerthError } from '../../core/errors';
import type { ArchiveEvent } from '../../core/events';
import type { ImageStores } from '../create';
import { parsePlatform, type Platform } from '../platform';
import type { UnpackSink } from '../unpack-sink';
import { TarFiles } from './files';
import { archiveFile, type ArchiveInput } from './input';
import { writeToLocal, type LoadedImage } from './local-dest';
import { openArchive } from './open';
import type { ImageSource } from './source';
import { makeTempDir } from './temp';

export interface LoadOptions {
  /** Unpacks the layers so the images can run at once. */
  sink?: UnpackSink;
  /** For multi-platform entries of an OCI archive (default: the host's). */
  platform?: Platform | string;
  signal?: AbortSignal;
  onEvent?: (e: ArchiveEvent) => void;
}

export async function loadImages(deps: ImageStores & { tmpRoot: string }, input: ArchiveInput, opts: LoadOptions = {}): Promise<LoadedImage[]> {
  const what = 'path' in input ? `archive ${input.path}` : 'archive from the input stream';
  const scratch = await makeTempDir(deps.tmpRoot);
  let source: ImageSource | undefined;
  try {
    opts.onEvent?.({ type: 'reading', source: what });
    const files = await TarFiles.open(await archiveFile(input, scratch.path, what), what);
    try {
      const platform = typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
      source = await openArchive(files, platform ? { platform } : {});
    } finally {
      if (!source) await files.close();
    }
    const s = source;
    if (s.images.length === 0) throw new BerthError('EBAD_ARCHIVE', `${what} holds no images Berth can load`, { hint: 'its index lists only artifacts or other kinds of content' });
    return await writeToLocal(deps, s, s.images.map((image) => ({ image, names: image.names })), {
      ...(opts.sink ? { sink: opts.sink } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
  } finally {
    await source?.close();
    await scratch.remove();
  }
}
