/**
 * Where an archive goes: a file (written to a temporary name next to it, fsync'd, and
 * renamed into place only when complete, so a failed save never leaves a truncated archive
 * under the name) or a stream the caller owns (stdout; it is not ended here).
 */
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { fsyncDir, tempPathFor } from '../../core/fs-atomic';
import { TarWriter } from '../../tar/writer';

export type ArchiveTarget = { path: string } | { stream: Writable };

/** Runs `produce` against a tar writer whose bytes go to `target`. */
export async function writeTar(target: ArchiveTarget, produce: (w: TarWriter) => Promise<void>): Promise<void> {
  const w = new TarWriter();
  // A failed produce destroys the writer with its error, which the caller gets by rejection.
  w.stream.on('error', () => undefined);
  if ('stream' in target) {
    const piped = new Promise<void>((resolve, reject) => {
      w.stream.on('end', resolve);
      w.stream.on('error', reject);
      // A failing destination (EPIPE) stops the producer instead of leaving it waiting for 'drain'.
      target.stream.on('error', (e) => {
        w.destroy(e);
        reject(e);
      });
    });
    w.stream.pipe(target.stream, { end: false });
    try {
      await produce(w);
      w.finish();
    } catch (e) {
      w.destroy(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
    await piped;
    return;
  }
  const tmp = tempPathFor(target.path);
  const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
  const done = finished(out);
  done.catch(() => undefined); // observed below
  out.on('error', (e) => w.destroy(e)); // disk full: stop the producer instead of waiting for 'drain'
  w.stream.pipe(out);
  try {
    await produce(w);
    w.finish();
    await done;
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target.path);
    await fsyncDir(dirname(target.path));
  } catch (e) {
    w.destroy(e instanceof Error ? e : new Error(String(e)));
    out.destroy();
    await done.catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
