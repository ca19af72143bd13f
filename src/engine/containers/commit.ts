/**
 * A container's file system as data: `diff` (what it changed, from the snapshotter),
 * `commit` (those changes as a new layer on its image, with the container's configuration
 * as the new image's run defaults) and `export` (its whole root file system as a tar).
 *
 * commit pauses a running container (unless told not to) while its changes are read, so the
 * layer is a consistent picture; no changes make no layer, only a history entry, as docker
 * does. export reads the snapshot's own mount (never /proc/PID/root, which would add the
 * container's volumes, /proc and /sys).
 */
import { mkdir, rmdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError } from '../../core/errors';
import { exportRootfs } from '../../images/archive/export';
import { parseChanges, type RunConfig } from '../../images/config-changes';
import type { CreatedImage } from '../../images/create';
import type { ImageRecord } from '../../images/store';
import type { Change } from '../../snapshots/types';
import type { ContainerConfig } from '../docker-types';
import type { ContainerContext, RecordContext } from './context';
import { getContainer } from './lookup';
import { pauseContainer, unpauseContainer } from './pause';
import { mountTempDir, releaseTempMount } from '../copy/root';
import { containerEventAttributes } from './event-attrs';
import { containerName, type ContainerRecord } from './record';

function snapshotKeyOf(rec: ContainerRecord, doing: string): string {
  if (!rec.Berth.snapshotKey) {
    throw new BerthError('EUNSUPPORTED', `cannot ${doing} container ${containerName(rec)}: it runs from --rootfs ${rec.Berth.rootfs ?? ''}, not from a snapshot`, { hint: 'the files are in that directory on the host' });
  }
  return rec.Berth.snapshotKey;
}

/**
 * Files the ctx bind-mounts over (start creates them in the writable layer when the
 * image lacks them). Writes from inside the container go to the mounted files, so a change
 * recorded here is only ever our placeholder: hidden, as docker's init layer hides them.
 */
const MOUNT_PLACEHOLDERS = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);

export function userChanges(changes: readonly Change[]): Change[] {
  const kept = changes.filter((c) => !(c.kind !== 'D' && MOUNT_PLACEHOLDERS.has(c.path)));
  const hidden = kept.length !== changes.length;
  // The directory that only changed because a placeholder was created in it.
  return kept.filter((c) => !(hidden && c.path === '/etc' && c.kind === 'C' && !kept.some((o) => o.path.startsWith('/etc/'))));
}

export async function containerDiff(ctx: RecordContext, query: string): Promise<Change[]> {
  const rec = await getContainer(ctx, query);
  return userChanges(await ctx.snapshotter.diff(snapshotKeyOf(rec, 'diff')));
}

/** The run defaults a commit records: the container's (already merged with its image's). */
export function runConfigOf(c: ContainerConfig): RunConfig {
  const out: RunConfig = {};
  if (c.User) out.User = c.User;
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length) out.ExposedPorts = c.ExposedPorts;
  if (c.Env?.length) out.Env = c.Env;
  if (c.Entrypoint?.length) out.Entrypoint = c.Entrypoint;
  if (c.Cmd?.length) out.Cmd = c.Cmd;
  if (c.Volumes && Object.keys(c.Volumes).length) out.Volumes = c.Volumes;
  if (c.WorkingDir) out.WorkingDir = c.WorkingDir;
  if (c.Labels && Object.keys(c.Labels).length) out.Labels = c.Labels;
  if (c.StopSignal) out.StopSignal = c.StopSignal;
  const extra = out as Record<string, unknown>;
  if (c.Healthcheck?.Test?.length) extra.Healthcheck = c.Healthcheck;
  if (c.Shell?.length) extra.Shell = c.Shell;
  return out;
}

export interface CommitOptions {
  /** REPOSITORY[:TAG] for the new image; without it the image is known by id only. */
  reference?: string;
  comment?: string;
  author?: string;
  /** `--change` instructions as typed. */
  changes?: string[];
  /** Freeze a running container while its changes are read (default true). */
  pause?: boolean;
}

export async function commitContainer(ctx: RecordContext & Pick<ContainerContext, 'images' | 'createImage'>, query: string, opts: CommitOptions = {}): Promise<CreatedImage> {
  const changes = parseChanges(opts.changes ?? []);
  const rec = await getContainer(ctx, query);
  const key = snapshotKeyOf(rec, 'commit');
  let base: ImageRecord | undefined;
  if (rec.Image) {
    try {
      base = await ctx.images.resolve(rec.Image);
    } catch (e) {
      throw new BerthError('ENOT_FOUND', `the image of container ${containerName(rec)} (${rec.Image}) is no longer present`, { cause: e, hint: 'load or pull that image again, or export the container instead' });
    }
  }
  const pause = opts.pause !== false && rec.State.Status === 'running' && ctx.runtimes.for(rec).pausesForCommit;
  if (pause) await pauseContainer(ctx, rec.Id);
  let created: CreatedImage;
  try {
    const changed = userChanges(await ctx.snapshotter.diff(key)).length > 0;
    const layerHistory = { ...(opts.author ? { author: opts.author } : {}), ...(opts.comment ? { comment: opts.comment } : {}) };
    const archive = changed ? ctx.snapshotter.exportChanges(key) : undefined;
    // createImage hashes the stream itself; a failure surfaces there, not through this promise.
    archive?.result.catch(() => undefined);
    created = await ctx.createImage({
      ...(base ? { base } : {}),
      layers: archive ? [{ tar: archive.tar }] : [],
      history: [{ ...layerHistory, ...(changed ? {} : { empty_layer: true }) }],
      runConfig: runConfigOf(rec.Config),
      changes,
      ...(opts.comment ? { comment: opts.comment } : {}),
      ...(opts.author ? { author: opts.author } : {}),
      ...(opts.reference ? { name: opts.reference } : {}),
    });
  } finally {
    if (pause) await unpauseContainer(ctx, rec.Id).catch(() => undefined);
  }
  await ctx.events.emit('container', 'commit', rec.Id, containerEventAttributes(rec, { comment: opts.comment ?? '', imageID: created.record.id, imageRef: opts.reference ?? '' }));
  return created;
}

/** Writes the container's root file system as a tar to `out` (docker export). */
export async function exportContainer(ctx: RecordContext, query: string, out: Writable): Promise<void> {
  const rec = await getContainer(ctx, query);
  const run = async (root: string) => pipeline(exportRootfs(root), out, { end: false });
  if (rec.Berth.rootfs) await run(rec.Berth.rootfs);
  else if (rec.State.Running && rec.State.Status !== 'restarting') {
    // The host mount of a running container's snapshot, made by start.
    await run(ctx.snapshotter.mountPoint(snapshotKeyOf(rec, 'export')));
  } else {
    await ctx.containerStore.withLock(rec.Id, async (fresh) => {
      const key = snapshotKeyOf(fresh, 'export');
      if (fresh.State.Running) throw new BerthError('ESTATE', `container ${containerName(fresh)} started while the export was being prepared`, { hint: 'retry the export' });
      const target = join(mountTempDir(ctx.runRoot), `${fresh.Id.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
      await mkdir(target, { recursive: true, mode: 0o700 });
      try {
        await ctx.snapshotter.mount(key, target);
      } catch (e) {
        await rmdir(target);
        throw e;
      }
      try {
        await run(target);
      } finally {
        await releaseTempMount(ctx, key, target);
      }
    });
  }
  await ctx.events.emit('container', 'export', rec.Id, containerEventAttributes(rec));
}
