/**
 * Writes OCI image layouts: into a directory (`oci:DIR[:REF]`) or as a tar (`oci-archive:`,
 * `save --format oci-archive`). Blobs are written as the source has them (same digests, so
 * the manifest is kept byte for byte); an image reached through an index is written as its
 * platform manifest alone, so every layout written is complete.
 *
 * Directory: a new one is assembled under a temporary name and renamed into place; into an
 * existing layout, each blob goes to a temporary name and is renamed when verified, and
 * index.json is replaced atomically last (an entry with the same ref name is replaced, as
 * skopeo does), so readers never see an entry whose blobs are missing.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BerthError, errnoCode } from '../../core/errors';
import type { ArchiveEvent } from '../../core/events';
import { fsyncDir, writeFileAtomic } from '../../core/fs-atomic';
import type { Descriptor } from '../manifest';
import { MediaType } from '../media-types';
import { addTarDir, addTarFile } from './docker-archive-write';
import { DirFiles } from './files';
import { REF_NAME_ANNOTATION, blobPath, readLayoutIndex } from './oci-layout-read';
import { openVerified, type ImageSource, type SourceImage } from './source';
import { writeTar, type ArchiveTarget } from './tar-output';

export interface LayoutImage {
  image: SourceImage;
  /** Annotations of its index.json entry (ref name, containerd image name). */
  annotations: Record<string, string>;
}

const LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' });

/** Every blob an image needs in a layout, with in-memory bytes where we have them. */
function blobsOf(image: SourceImage): { descriptor: Descriptor; bytes?: Buffer }[] {
  return [
    ...image.layers.map((l) => ({ descriptor: l.descriptor })),
    { descriptor: image.config.descriptor, bytes: image.config.bytes },
    { descriptor: image.manifest.descriptor, bytes: image.manifest.bytes },
  ];
}

function indexEntry(li: LayoutImage): Descriptor {
  const m = li.image.manifest.descriptor;
  return { mediaType: m.mediaType, digest: m.digest, size: m.size, ...(Object.keys(li.annotations).length ? { annotations: li.annotations } : {}) };
}

function indexJson(manifests: Descriptor[]): string {
  return JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests });
}

/** `oci-archive:`: the layout as a tar (oci-layout, index.json, blobs/...). */
export async function writeOciArchive(target: ArchiveTarget, source: ImageSource, images: readonly LayoutImage[], opts: { onEvent?: (e: ArchiveEvent) => void } = {}): Promise<void> {
  const emit = opts.onEvent ?? (() => undefined);
  await writeTar(target, async (w) => {
    await addTarFile(w, 'oci-layout', LAYOUT_FILE);
    await addTarFile(w, 'index.json', indexJson(images.map(indexEntry)));
    const dirs = new Set<string>();
    const written = new Set<string>();
    for (const li of images) {
      for (const b of blobsOf(li.image)) {
        const d = b.descriptor;
        if (written.has(d.digest)) continue;
        written.add(d.digest);
        const path = blobPath(d.digest);
        for (const dir of ['blobs', dirname(path)]) {
          if (dirs.has(dir)) continue;
          dirs.add(dir);
          await addTarDir(w, dir);
        }
        if (b.bytes) {
          await addTarFile(w, path, b.bytes);
          continue;
        }
        emit({ type: 'blob-copying', digest: d.digest, size: d.size });
        await w.add({ name: path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: d.size }, await openVerified(source, d));
        emit({ type: 'blob-copied', digest: d.digest });
      }
    }
  });
  for (const li of images) emit({ type: 'image-written', ref: li.annotations[REF_NAME_ANNOTATION] ?? li.image.manifest.descriptor.digest, id: li.image.config.descriptor.digest, digest: li.image.manifest.descriptor.digest });
}

/** `oci:DIR`: writes the images into a layout directory (created if missing). */
export async function writeOciLayoutDir(dir: string, source: ImageSource, images: readonly LayoutImage[], opts: { onEvent?: (e: ArchiveEvent) => void } = {}): Promise<void> {
  const emit = opts.onEvent ?? (() => undefined);
  const existing = await layoutState(dir);
  const root = existing === 'absent' ? join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`) : dir;
  const added: string[] = [];
  try {
    if (existing !== 'layout') {
      await mkdir(root, { recursive: true, mode: 0o755 });
      await writeFileAtomic(join(root, 'oci-layout'), LAYOUT_FILE, 0o644);
      // An empty directory that gets no index.json must not be left looking like a layout.
      if (existing === 'empty') added.push(join(root, 'oci-layout'));
    }
    let manifests: Descriptor[] = existing === 'layout' ? (await readLayoutIndex(new DirFiles(dir, `OCI layout ${dir}`))).manifests : [];
    for (const li of images) {
      for (const b of blobsOf(li.image)) {
        const path = join(root, blobPath(b.descriptor.digest));
        if (await isFile(path)) {
          emit({ type: 'blob-skipped', digest: b.descriptor.digest });
          continue;
        }
        await writeBlobFile(path, source, b.descriptor, b.bytes, emit);
        added.push(path);
      }
      const ref = li.annotations[REF_NAME_ANNOTATION];
      if (ref !== undefined) manifests = manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== ref);
      manifests.push(indexEntry(li));
    }
    await writeFileAtomic(join(root, 'index.json'), indexJson(manifests), 0o644);
    if (existing === 'absent') {
      await rename(root, dir);
      await fsyncDir(dirname(dir));
    }
  } catch (e) {
    if (existing === 'absent') await rm(root, { recursive: true, force: true });
    else for (const p of added) await rm(p, { force: true });
    throw e;
  }
  for (const li of images) emit({ type: 'image-written', ref: li.annotations[REF_NAME_ANNOTATION] ?? li.image.manifest.descriptor.digest, id: li.image.config.descriptor.digest, digest: li.image.manifest.descriptor.digest });
}

async function layoutState(dir: string): Promise<'absent' | 'empty' | 'layout'> {
  let entries: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new BerthError('EEXISTS', `${dir} exists and is not a directory`, { hint: 'oci:DIR needs a directory (an OCI layout, an empty one, or none)' });
    entries = await readdir(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return 'absent';
    throw e;
  }
  if (entries.length === 0) return 'empty';
  if (entries.includes('oci-layout')) return 'layout';
  throw new BerthError('EEXISTS', `${dir} is a directory that is neither empty nor an OCI image layout`, { hint: 'give a new or empty directory, or an existing layout' });
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
}

/** One blob: written to a temporary name, renamed once its digest checked out. */
async function writeBlobFile(path: string, source: ImageSource, d: Descriptor, bytes: Buffer | undefined, emit: (e: ArchiveEvent) => void): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = join(dirname(path), `.tmp-${basename(path)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    if (bytes) await writeFile(tmp, bytes, { flag: 'wx', mode: 0o644 });
    else {
      emit({ type: 'blob-copying', digest: d.digest, size: d.size });
      await pipeline(await openVerified(source, d), createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
      emit({ type: 'blob-copied', digest: d.digest });
    }
    const fh = await open(tmp, 'r');
    try {
      await fh.sync(); // the rename must not publish data a crash could still lose
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
