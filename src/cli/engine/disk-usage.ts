/**
 * `system df` as docker prints it: the summary table (TYPE TOTAL ACTIVE SIZE RECLAIMABLE,
 * reclaimable with its whole percentage), or with -v one table per kind of object.
 */
import type { DiskUsageReport, Totals } from '../../engine/system/df';
import { humanSize, timeAgo } from '../format/human';
import { formatRows } from '../format/template';
import { commandText, shortContainerId, statusText } from './container-format';

const SUMMARY_HEADERS = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };
const SUMMARY_FORMAT = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';

function summaryRow(type: string, t: Totals): Record<string, string> {
  const pct = t.size > 0 ? ` (${Math.floor((t.reclaimable * 100) / t.size)}%)` : '';
  return { Type: type, TotalCount: String(t.count), Active: String(t.active), Size: humanSize(t.size), Reclaimable: `${humanSize(t.reclaimable)}${pct}` };
}

function table(format: string, headers: Record<string, string>, rows: Record<string, string>[]): string {
  return formatRows(`table ${format}`, rows, { headers });
}

export function renderDiskUsage(du: DiskUsageReport, opts: { format?: string; verbose?: boolean }, now = Date.now()): string {
  const summary = [
    summaryRow('Images', du.totals.images),
    summaryRow('Containers', du.totals.containers),
    summaryRow('Local Volumes', du.totals.volumes),
    summaryRow('Build Cache', du.totals.buildCache),
  ];
  if (!opts.verbose || opts.format) return formatRows(opts.format ?? SUMMARY_FORMAT, summary, { headers: SUMMARY_HEADERS });

  const images = du.images.flatMap((i) => {
    const base = {
      ID: i.summary.id.slice(7, 19),
      CreatedSince: i.summary.created ? timeAgo(i.summary.created, now) : 'N/A',
      Size: humanSize(i.size),
      SharedSize: humanSize(i.sharedSize),
      UniqueSize: humanSize(i.uniqueSize),
      Containers: String(i.containers),
    };
    if (!i.summary.repoTags.length) return [{ ...base, Repository: '<none>', Tag: '<none>' }];
    return i.summary.repoTags.map((t) => ({ ...base, Repository: t.slice(0, t.lastIndexOf(':')), Tag: t.slice(t.lastIndexOf(':') + 1) }));
  });
  const containers = du.containers.map((c) => ({
    ID: shortContainerId(c.rec.Id),
    Image: c.rec.Config.Image ?? c.rec.Berth.rootfs ?? '',
    Command: commandText(c.rec, false),
    LocalVolumes: String(c.localVolumes),
    Size: humanSize(c.size),
    RunningFor: timeAgo(c.rec.Created, now),
    Status: statusText(c.rec, now),
    Names: c.rec.Name.replace(/^\//, ''),
  }));
  const volumes = du.volumes.map((v) => ({ Name: v.volume.Name, Links: String(v.links), Size: humanSize(v.size) }));
  return [
    'Images space usage:\n\n',
    table('{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}', {
      Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', CreatedSince: 'CREATED', Size: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', Containers: 'CONTAINERS',
    }, images),
    '\nContainers space usage:\n\n',
    table('{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}', {
      ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', LocalVolumes: 'LOCAL VOLUMES', Size: 'SIZE', RunningFor: 'CREATED', Status: 'STATUS', Names: 'NAMES',
    }, containers),
    '\nLocal Volumes space usage:\n\n',
    table('{{.Name}}\t{{.Links}}\t{{.Size}}', { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' }, volumes),
    `\nBuild cache usage: ${humanSize(du.totals.buildCache.size)}\n\n`,
    table('{{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}', {
      ID: 'CACHE ID', CacheType: 'CACHE TYPE', Size: 'SIZE', CreatedSince: 'CREATED', LastUsedSince: 'LAST USED', UsageCount: 'USAGE', Shared: 'SHARED',
    }, []),
  ].join('');
}
