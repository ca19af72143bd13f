/**
 * Opens an image archive whatever its kind: a docker-archive (`manifest.json`), an OCI
 * layout in a tar (`oci-layout` + `index.json`: oci-archive, and what `docker save` writes
 * since Docker 25, which has both). When both are present the OCI index is read (it keeps
 * the manifests and their digests) and manifest.json's RepoTags are added as names.
 */
import { BerthError } from '../../core/errors';
import type { Platform } from '../platform';
import { readDockerArchive, readManifestJson, repoTagNames } from './docker-archive-read';
import type { LayoutFiles } from './files';
import { readOciLayout } from './oci-layout-read';
import { archivePath } from './paths';
import type { ImageSource } from './source';

export interface OpenArchiveOptions {
  /** Selects one image (docker-archive: a RepoTag or @N; OCI: a ref name or image name). */
  ref?: string;
  platform?: Platform;
}

/** The archive's images; the source owns `files` (closed by its close(), or here on failure). */
export async function openArchive(files: LayoutFiles, opts: OpenArchiveOptions = {}): Promise<ImageSource> {
  try {
    return await open(files, opts);
  } catch (e) {
    await files.close();
    throw e;
  }
}

async function open(files: LayoutFiles, opts: OpenArchiveOptions): Promise<ImageSource> {
  const oci = (await files.exists('oci-layout')) && (await files.exists('index.json'));
  const docker = await files.exists('manifest.json');
  if (oci && !(docker && opts.ref?.startsWith('@'))) {
    const source = await readOciLayout(files, { ...(opts.ref !== undefined ? { ref: opts.ref } : {}), ...(opts.platform ? { platform: opts.platform } : {}) });
    if (docker) {
      // Docker 25+ saves: the OCI index carries containerd names; manifest.json the RepoTags.
      const byConfig = new Map<string, string[]>();
      for (const e of await readManifestJson(files)) {
        const m = /^blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(archivePath(e.Config, files.what));
        if (m) byConfig.set(`${m[1]}:${m[2]}`, repoTagNames(e, files.what));
      }
      for (const img of source.images) {
        const tags = byConfig.get(img.config.descriptor.digest) ?? [];
        img.names = [...new Set([...img.names, ...tags])];
      }
    }
    return source;
  }
  if (docker) return readDockerArchive(files, opts.ref !== undefined ? { ref: opts.ref } : {});
  if (await files.exists('repositories')) {
    throw new BerthError('EUNSUPPORTED', `${files.what} is a legacy (pre-Docker 1.10) image archive without manifest.json, which Berth does not read`, {
      hint: 'load it into a docker and save it again, or copy it with skopeo',
    });
  }
  throw new BerthError('EBAD_ARCHIVE', `${files.what} is neither a docker-archive (manifest.json) nor an OCI image layout (oci-layout, index.json)`);
}
