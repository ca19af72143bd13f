/**
 * Writes a docker-archive as `docker save` (up to Docker 24) does, which `docker load`,
 * skopeo's `docker-archive:` and podman read:
 *
 *   <chain-id hex>/layer.tar   one uncompressed tar per layer stack, shared between images
 *   <chain-id hex>/VERSION     "1.0"
 *   <chain-id hex>/json        legacy v1 layer metadata (id, parent), for old readers
 *   <config hex>.json          the image config (its digest is the IMAGE ID)
 *   manifest.json              [{Config, RepoTags, Layers}] per image
 *   repositories               {repo: {tag: top layer id}}, the legacy name index
 *
 * Layer directories are named by chain id (not diff_id), so the v1 `parent` chain is
 * consistent even when the same layer content sits at different depths in two images.
 */
import { Readable } from 'node:stream';
import type { ArchiveEvent } from '../../core/events';
import { parseDigest } from '../../content/digest';
import type { TarWriter } from '../../tar/writer';
import { familiarName, familiarString, parseReference } from '../reference';
import { layerTar } from './layer-tar';
import type { ImageSource, SourceImage } from './source';
import { makeTempDir } from './temp';
import { writeTar, type ArchiveTarget } from './tar-output';

export interface ArchiveImage {
  image: SourceImage;
  /** Normalized references to list in RepoTags (empty: the image is saved by id). */
  names: string[];
}

export interface WriteArchiveOptions {
  /** Scratch space root (`<root>/tmp`). */
  tmpRoot: string;
  onEvent?: (e: ArchiveEvent) => void;
}

export async function addTarFile(w: TarWriter, name: string, data: Buffer | string): Promise<void> {
  const bytes = Buffer.from(data);
  await w.add({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: bytes.length }, Readable.from([bytes]));
}

export async function addTarDir(w: TarWriter, name: string): Promise<void> {
  await w.add({ name, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0 });
}

const hexOf = (digest: string): string => parseDigest(digest).hex;

export async function writeDockerArchive(target: ArchiveTarget, source: ImageSource, images: readonly ArchiveImage[], opts: WriteArchiveOptions): Promise<void> {
  const emit = opts.onEvent ?? (() => undefined);
  const scratch = await makeTempDir(opts.tmpRoot);
  try {
    await writeTar(target, async (w) => {
      const written = new Set<string>();
      const manifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
      const repositories: Record<string, Record<string, string>> = {};
      const configsWritten = new Set<string>();
      for (const { image, names } of images) {
        const layerPaths: string[] = [];
        for (const [i, layer] of image.layers.entries()) {
          const id = hexOf(layer.chainId);
          layerPaths.push(`${id}/layer.tar`);
          if (written.has(id)) continue;
          written.add(id);
          emit({ type: 'blob-copying', digest: layer.descriptor.digest, size: layer.descriptor.size });
          const tar = await layerTar(source, layer, scratch.path);
          await addTarDir(w, id);
          await addTarFile(w, `${id}/VERSION`, '1.0');
          const parent = i > 0 ? hexOf(image.layers[i - 1]!.chainId) : undefined;
          const created = image.config.parsed.created ?? '1970-01-01T00:00:00Z';
          await addTarFile(w, `${id}/json`, JSON.stringify({ id, ...(parent ? { parent } : {}), created, os: image.config.parsed.os }));
          await w.add({ name: `${id}/layer.tar`, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: tar.size }, await tar.open());
          emit({ type: 'blob-copied', digest: layer.descriptor.digest });
        }
        const configName = `${hexOf(image.config.descriptor.digest)}.json`;
        if (!configsWritten.has(configName)) {
          configsWritten.add(configName);
          await addTarFile(w, configName, image.config.bytes);
        }
        const tags = names.map((n) => parseReference(n)).filter((r) => r.tag !== undefined);
        manifest.push({ Config: configName, RepoTags: tags.length ? tags.map((r) => familiarString(r)) : null, Layers: layerPaths });
        const top = image.layers.length ? hexOf(image.layers[image.layers.length - 1]!.chainId) : undefined;
        if (top) for (const r of tags) (repositories[familiarName(r)] ??= {})[r.tag!] = top;
      }
      await addTarFile(w, 'manifest.json', JSON.stringify(manifest));
      if (Object.keys(repositories).length) await addTarFile(w, 'repositories', JSON.stringify(repositories));
    });
  } finally {
    await scratch.remove();
  }
  for (const { image, names } of images) emit({ type: 'image-written', ref: names[0] ?? image.config.descriptor.digest, id: image.config.descriptor.digest, digest: image.manifest.descriptor.digest });
}
