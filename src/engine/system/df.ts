/**
 * `system df` and the counts of `info`: how much disk images, containers and volumes take
 * and how much of it a prune could give back.
 *   - images: blob bytes (config + layers) per image; "shared" is what other images also
 *     use; reclaimable is what no image in use by a container needs;
 *   - containers: the size of each writable layer; reclaimable: those of stopped ones;
 *   - volumes: bytes under each volume; reclaimable: those no container uses.
 */
import type { ImageSummary } from '../../images/store';
import type { ContainerRecord } from '../containers/record';
import type { ContainerContext, RecordContext } from '../containers/context';
import { listContainers } from '../containers/lookup';
import type { VolumeRecord } from '../volumes/store';
import { directorySize } from '../volumes/service';

export interface ContainerCounts {
  total: number;
  running: number;
  paused: number;
  stopped: number;
}

export function containerCounts(list: readonly ContainerRecord[]): ContainerCounts {
  const running = list.filter((r) => r.State.Status === 'running' || r.State.Status === 'restarting').length;
  const paused = list.filter((r) => r.State.Status === 'paused').length;
  return { total: list.length, running, paused, stopped: list.length - running - paused };
}

export interface ImageUsage {
  summary: ImageSummary;
  size: number;
  sharedSize: number;
  uniqueSize: number;
  /** Containers created from it. */
  containers: number;
}

export interface ContainerUsage {
  rec: ContainerRecord;
  /** Writable layer, bytes. */
  size: number;
  /** Volumes it mounts. */
  localVolumes: number;
}

export interface VolumeUsage {
  volume: VolumeRecord;
  size: number;
  /** Containers using it. */
  links: number;
}

export interface Totals {
  count: number;
  active: number;
  size: number;
  reclaimable: number;
}

export interface DiskUsageReport {
  images: ImageUsage[];
  containers: ContainerUsage[];
  volumes: VolumeUsage[];
  totals: { images: Totals; containers: Totals; volumes: Totals; buildCache: Totals };
}

const blobsOf = (s: ImageSummary): Set<string> => new Set(s.records.flatMap((r) => [r.config.digest, ...r.layers.map((l) => l.digest)]));

export async function diskUsage(engine: RecordContext & Pick<ContainerContext, 'images'>): Promise<DiskUsageReport> {
  const containers = await listContainers(engine);
  const summaries = await engine.images.list();
  const blobSize = new Map<string, number>();
  for (const s of summaries) {
    for (const r of s.records) {
      blobSize.set(r.config.digest, r.config.size);
      for (const l of r.layers) blobSize.set(l.digest, l.size);
    }
  }
  const users = new Map<string, number>();
  for (const s of summaries) for (const d of blobsOf(s)) users.set(d, (users.get(d) ?? 0) + 1);
  const sum = (ds: Iterable<string>) => [...ds].reduce((n, d) => n + (blobSize.get(d) ?? 0), 0);

  const images: ImageUsage[] = summaries.map((s) => {
    const blobs = blobsOf(s);
    const size = sum(blobs);
    const shared = sum([...blobs].filter((d) => (users.get(d) ?? 0) > 1));
    return { summary: s, size, sharedSize: shared, uniqueSize: size - shared, containers: containers.filter((c) => c.Image === s.id).length };
  });
  const activeBlobs = new Set(images.filter((i) => i.containers > 0).flatMap((i) => [...blobsOf(i.summary)]));
  const allBlobs = new Set(images.flatMap((i) => [...blobsOf(i.summary)]));

  const containerUsage: ContainerUsage[] = [];
  for (const rec of containers) {
    const size = rec.Berth.snapshotKey ? (await engine.snapshotter.usage({ key: rec.Berth.snapshotKey }).catch(() => ({ size: 0 }))).size : 0;
    containerUsage.push({ rec, size, localVolumes: rec.Mounts.filter((m) => m.Type === 'volume').length });
  }
  const running = (c: ContainerRecord) => c.State.Running;

  const usage = await engine.volumes.usage();
  const volumes: VolumeUsage[] = [];
  for (const v of await engine.volumes.list()) volumes.push({ volume: v, size: await directorySize(v.Mountpoint), links: usage.get(v.Name)?.length ?? 0 });

  return {
    images,
    containers: containerUsage,
    volumes,
    totals: {
      images: { count: images.length, active: images.filter((i) => i.containers > 0).length, size: sum(allBlobs), reclaimable: sum([...allBlobs].filter((d) => !activeBlobs.has(d))) },
      containers: {
        count: containerUsage.length,
        active: containerUsage.filter((c) => running(c.rec)).length,
        size: containerUsage.reduce((n, c) => n + c.size, 0),
        reclaimable: containerUsage.filter((c) => !running(c.rec)).reduce((n, c) => n + c.size, 0),
      },
      volumes: {
        count: volumes.length,
        active: volumes.filter((v) => v.links > 0).length,
        size: volumes.reduce((n, v) => n + v.size, 0),
        reclaimable: volumes.filter((v) => v.links === 0).reduce((n, v) => n + v.size, 0),
      },
      buildCache: { count: 0, active: 0, size: 0, reclaimable: 0 },
    },
  };
}
