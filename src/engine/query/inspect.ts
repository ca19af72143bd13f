/**
 * The inspect documents of containers, images and volumes in the Docker Engine API's shapes
 * (ContainerInspectResponse, ImageInspect, Volume): `berth inspect` prints them, and the API
 * server returns them as they are, so templates written for docker (`{{.Config.Cmd}}`,
 * `{{.RootFS.Layers}}`, `{{.State.Status}}`) work on both.
 */
import { familiarString, parseReference } from '../../images/reference';
import type { ImageService } from '../../images/service';
import type { Snapshotter } from '../../snapshots/types';
import type { ContainerRecord } from '../containers/record';
import type { VolumeRecord } from '../volumes/store';
import { imageSize } from './image-filters';

/** The record as docker shows it (without the engine's private section). */
export function containerInspectDocument(rec: ContainerRecord): Record<string, unknown> {
  const { Berth: _engineOnly, ...doc } = rec;
  void _engineOnly;
  return { ...doc, RestartCount: rec.RestartCount, ExecIDs: null, SizeRw: undefined };
}

/** What the image document reads: the image service, and the snapshotter for GraphDriver. */
export interface ImageInspectSources {
  images: Pick<ImageService, 'inspect' | 'list'>;
  snapshotter: Pick<Snapshotter, 'name'>;
}

export async function imageInspectDocument(from: ImageInspectSources, query: string): Promise<Record<string, unknown>> {
  const { record, config, names } = await from.images.inspect(query);
  const summaries = await from.images.list();
  const summary = summaries.find((s) => s.id === record.id);
  const repoTags = names.filter((n) => parseReference(n, { defaultTag: false }).tag !== undefined).map((n) => familiarString(parseReference(n)));
  const run = config.config ?? {};
  return {
    Id: record.id,
    RepoTags: repoTags,
    RepoDigests: summary?.repoDigests ?? [],
    Parent: '',
    Comment: config.history?.[config.history.length - 1]?.comment ?? '',
    Created: config.created ?? '',
    DockerVersion: '',
    Author: config.author ?? '',
    Config: {
      Hostname: '',
      Domainname: '',
      User: run.User ?? '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ExposedPorts: run.ExposedPorts ?? null,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: run.Env ?? null,
      Cmd: run.Cmd ?? null,
      Image: '',
      Volumes: run.Volumes ?? null,
      WorkingDir: run.WorkingDir ?? '',
      Entrypoint: run.Entrypoint ?? null,
      OnBuild: null,
      Labels: run.Labels ?? null,
      ...(run.StopSignal ? { StopSignal: run.StopSignal } : {}),
    },
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    Size: summary ? imageSize(summary) : 0,
    GraphDriver: { Name: from.snapshotter.name, Data: null },
    RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: record.recordedAt },
  };
}

/** The volume as docker shows it (without the engine's Anonymous mark). */
export function volumeInspectDocument(v: VolumeRecord): Record<string, unknown> {
  return { CreatedAt: v.CreatedAt, Driver: v.Driver, Labels: v.Labels, Mountpoint: v.Mountpoint, Name: v.Name, Options: v.Options, Scope: v.Scope };
}
