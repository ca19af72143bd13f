/**
 * `berth image inspect`: the ImageInspect document of the Docker Engine API (Id, RepoTags,
 * RepoDigests, Created, Config, Architecture, Os, Size, RootFS, ...), so templates written
 * for docker (`{{.Config.Cmd}}`, `{{.RootFS.Layers}}`) work unchanged.
 */
import type { Engine } from '../../engine/engine';
import { familiarString, parseReference } from '../../images/reference';

export async function imageInspectDocument(engine: Engine, query: string): Promise<Record<string, unknown>> {
  const { record, config, names } = await engine.images.inspect(query);
  const summaries = await engine.images.list();
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
    Size: summary?.unpackedSize ?? summary?.size ?? 0,
    GraphDriver: { Name: engine.snapshotter.name, Data: null },
    RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: record.recordedAt },
  };
}
