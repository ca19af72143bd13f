/**
 * How docker shows a container in `ps`: the STATUS sentence ("Up 2 minutes (healthy)",
 * "Exited (0) 3 seconds ago"), the quoted, truncated COMMAND, the PORTS list, the short id.
 */
import type { ContainerRecord } from '../../engine/containers/record';
import { humanDuration, humanSize } from '../format/human';

export function shortContainerId(id: string): string {
  return id.slice(0, 12);
}

export function statusText(rec: ContainerRecord, now = Date.now()): string {
  const s = rec.State;
  const since = (iso: string) => humanDuration(Math.max(0, now - Date.parse(iso)));
  switch (s.Status) {
    case 'created':
      return 'Created';
    case 'running':
    case 'paused': {
      let text = `Up ${since(s.StartedAt)}`;
      if (s.Status === 'paused') text += ' (Paused)';
      const h = s.Health?.Status;
      if (h === 'healthy' || h === 'unhealthy') text += ` (${h})`;
      else if (h === 'starting') text += ' (health: starting)';
      return text;
    }
    case 'restarting':
      return `Restarting (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
    case 'exited':
      return `Exited (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
  }
}

/** docker's COMMAND column: the command line in quotes, cut at 20 characters with "…". */
export function commandText(rec: ContainerRecord, noTrunc: boolean): string {
  const cmd = [rec.Path, ...rec.Args].join(' ');
  const chars = [...cmd];
  return `"${noTrunc || chars.length <= 20 ? cmd : `${chars.slice(0, 19).join('')}…`}"`;
}

export function portsText(rec: ContainerRecord): string {
  const out: string[] = [];
  for (const [port, bindings] of Object.entries(rec.NetworkSettings.Ports ?? {})) {
    if (!bindings?.length) {
      out.push(port);
      continue;
    }
    for (const b of bindings) {
      const ip = b.HostIp.includes(':') ? `[${b.HostIp}]` : b.HostIp || '0.0.0.0';
      out.push(`${ip}:${b.HostPort}->${port}`);
    }
  }
  return out.join(', ');
}

/** The row `ps --format` templates see (docker's field names). */
export interface ContainerRow {
  ID: string;
  Image: string;
  Command: string;
  CreatedAt: string;
  RunningFor: string;
  Ports: string;
  State: string;
  Status: string;
  Size: string;
  Names: string;
  Labels: string;
  Mounts: string;
  Networks: string;
}

export const CONTAINER_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS',
  State: 'STATE', Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS', Mounts: 'MOUNTS', Networks: 'NETWORKS',
};

export function containerRow(rec: ContainerRecord, opts: { noTrunc: boolean; size?: { rw: number; rootfs: number }; now?: number }): ContainerRow {
  const now = opts.now ?? Date.now();
  const image = rec.Config.Image ?? (rec.Image ? rec.Image.slice(7, 19) : rec.Berth.rootfs ?? '');
  return {
    ID: opts.noTrunc ? rec.Id : shortContainerId(rec.Id),
    Image: image,
    Command: commandText(rec, opts.noTrunc),
    CreatedAt: rec.Created,
    RunningFor: `${humanDuration(Math.max(0, now - Date.parse(rec.Created)))} ago`,
    Ports: portsText(rec),
    State: rec.State.Status,
    Status: statusText(rec, now),
    Size: opts.size ? `${humanSize(opts.size.rw)} (virtual ${humanSize(opts.size.rootfs)})` : '',
    Names: rec.Name.replace(/^\//, ''),
    Labels: Object.entries(rec.Config.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
    Mounts: rec.Mounts.map((m) => m.Name ?? m.Source).join(','),
    // docker: the names of the networks the container is on (sorted here, so the output is stable).
    Networks: Object.keys(rec.NetworkSettings?.Networks ?? {}).sort().join(','),
  };
}
