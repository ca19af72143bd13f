/**
 * `Engine`: the library API that the `berth` CLI (and later the API server) are thin mappings
 * onto. One engine works over one state root (`/var/lib/berth`: content, images, layers,
 * containers, volumes) and one run root (`/run/berth`: what must not survive a reboot).
 *
 * Image operations go through `ImageService` plus the snapshotter, so that a pull unpacks
 * layers while downloading and a removal also collects the layers nothing uses any more.
 */
import { BerthError } from '../core/errors';
import { ImageService, type ServicePullOptions, type ServicePushOptions } from '../images/service';
import type { PushResult } from '../images/push';
import type { PullResult } from '../images/pull';
import { recordDisplayName, type ImageRecord } from '../images/store';
import type { SaveOptions, SavedImage } from '../images/archive/save';
import type { ArchiveTarget } from '../images/archive/tar-output';
import type { ArchiveInput, CopyOptions, CopyResult, ImportInput, ImportOptions, LoadOptions, LoadedImage } from '../images/archive';
import type { CreateImageOptions, CreatedImage } from '../images/create';
import type { GcReport } from '../content/gc';
import { openSnapshotter, SnapshotUnpackSink, type Snapshotter, type SnapshotterName } from '../snapshots';
import { ContainerStore } from './containers/store';
import { ContainerService } from './containers/service';
import type { ContainerContext } from './containers/context';
import { Runtimes } from './runtimes';
import { EventLog } from './events';
import { VolumeService } from './volumes/service';
import { NetworkStore } from '../network/store';
import { NetworkService } from './network/service';
import { ContainerNetworking } from './network/container';
import { DEFAULT_BRIDGE_DEVICE } from '../network/store-create';
import { TABLE_NAME } from '../network/nft/ruleset';
import type { Readable, Writable } from 'node:stream';
import type { Change } from '../snapshots/types';
import type { ContainerRecord } from './containers/record';
import { commitContainer, containerDiff, exportContainer, type CommitOptions } from './containers/commit';
import { publishedPorts, type PublishedPort } from './containers/ports';
import { statsStream, type StatsOptions } from './containers/stats';
import type { StatsRow } from './containers/stats-calc';
import { containerTop, type TopResult } from './containers/top';
import { updateContainerResources, type ContainerUpdate } from './containers/update';
import { copyFromContainer, copyToContainer, type ContainerCopyOptions, type ContainerCopyResult } from './copy/cp';
import { checkSystem, type CheckReport } from './system/check';
import { containerCounts, diskUsage, type ContainerCounts, type DiskUsageReport } from './system/df';
import { pruneContainers, pruneSystem, type ContainerPruneResult, type PruneFilter, type SystemPruneOptions, type SystemPruneResult } from './system/prune';
import * as query from './query';
import * as io from './io';
import { execInRunning, type ExecIo, type ExecRequest } from './containers/exec';
import type { LogEntry } from './shim';
import type { PreparedStart } from './containers/start';
import type { ImageSummary } from '../images/store';
import type { VolumeRecord } from './volumes/store';
import type { CreateRequest } from './containers/request';
import type { ContainerCreateOptions } from './create/options';
import { buildCreateRequest, type BuildOptions } from './create/request-builder';

export const DEFAULT_STATE_ROOT = '/var/lib/berth';
export const DEFAULT_RUN_ROOT = '/run/berth';

export interface EngineOptions {
  root?: string;
  runRoot?: string;
  /** overlay, copy, or auto (default: overlay where the kernel and filesystem allow it). */
  snapshotter?: SnapshotterName | 'auto';
  /** docker-compatible credentials file. */
  authFile?: string;
  insecureRegistries?: string[];
}

export interface ImageRemoval {
  untagged: string[];
  deleted: string[];
  gc: GcReport;
  layersRemoved: string[];
}

export class Engine {
  readonly root: string;
  readonly runRoot: string;
  readonly images: ImageService;
  readonly containerStore: ContainerStore;
  readonly containers: ContainerService;
  readonly volumes: VolumeService;
  /** Network definitions and their endpoints (under the state root). */
  readonly networkStore: NetworkStore;
  /** The `network` commands. */
  readonly networks: NetworkService;
  /** Containers' networks on the host (namespaces, links, firewall, resolvers). */
  readonly networking: ContainerNetworking;
  readonly events: EventLog;
  /** The OCI runtimes containers run under (runtimes.for(rec) picks a record's). */
  readonly runtimes: Runtimes;
  /** What container operations are given (never the Engine itself): built once, here. */
  readonly context: ContainerContext;
  private snapshotterInstance: Snapshotter | undefined;

  constructor(readonly options: EngineOptions = {}) {
    this.root = options.root ?? DEFAULT_STATE_ROOT;
    this.runRoot = options.runRoot ?? DEFAULT_RUN_ROOT;
    this.images = new ImageService({
      root: this.root,
      ...(options.authFile ? { authFile: options.authFile } : {}),
      ...(options.insecureRegistries ? { insecureRegistries: options.insecureRegistries } : {}),
    });
    this.containerStore = new ContainerStore(this.root);
    this.events = new EventLog(this.root);
    this.volumes = new VolumeService(
      this.root,
      () => this.containerStore.list(),
      (action, name) => this.events.emit('volume', action, name, { driver: 'local' }),
    );
    this.runtimes = new Runtimes(this.runRoot);
    this.networkStore = new NetworkStore(this.root);
    // One nft table per state root, as one default bridge: roots never touch each other's.
    const tableName = this.networkStore.defaultBridge === DEFAULT_BRIDGE_DEVICE ? TABLE_NAME : this.networkStore.defaultBridge;
    this.networking = new ContainerNetworking({ runRoot: this.runRoot, store: this.networkStore, tableName });
    this.context = this.buildContext();
    this.containers = new ContainerService(this.context);
    this.networks = new NetworkService({
      store: this.networkStore,
      events: this.events,
      removed: (net) => this.networking.removeIdleBridge(net),
      connect: (network, container, req) => this.containers.connectNetwork(network, container, req),
      disconnect: (network, container, force) => this.containers.disconnectNetwork(network, container, force),
    });
  }

  private buildContext(): ContainerContext {
    const engine = this;
    return {
      root: this.root,
      runRoot: this.runRoot,
      containerStore: this.containerStore,
      // opened on first use, as the engine's own
      get snapshotter() {
        return engine.snapshotter;
      },
      events: this.events,
      volumes: this.volumes,
      runtimes: this.runtimes,
      networking: this.networking,
      images: this.images,
      pullImage: (reference, opts) => this.pullImage(reference, opts),
      imageForRun: (reference, policy, pull) => this.imageForRun(reference, policy, pull),
      createImage: (opts) => this.createImage(opts),
    };
  }

  /** The snapshotter of this root, opened on first use. */
  get snapshotter(): Snapshotter {
    this.snapshotterInstance ??= openSnapshotter(this.root, { snapshotter: this.options.snapshotter ?? 'auto' });
    return this.snapshotterInstance;
  }

  /** Releases connections and handles; the engine may be used again afterwards. */
  close(): void {
    this.images.close();
  }

  /** Pulls and unpacks (layers are extracted while they download). */
  async pullImage(reference: string, opts: Omit<ServicePullOptions, 'sink'> = {}): Promise<PullResult[]> {
    const results = await this.images.pull(reference, { ...opts, sink: new SnapshotUnpackSink(this.snapshotter) });
    for (const r of results) {
      const name = recordDisplayName(r.record.name);
      await this.events.emit('image', 'pull', name, { name });
    }
    return results;
  }

  async pushImage(name: string, opts: ServicePushOptions = {}): Promise<PushResult> {
    const r = await this.images.push(name, opts);
    const shown = recordDisplayName((await this.images.resolve(name)).name);
    await this.events.emit('image', 'push', shown, { name: shown });
    return r;
  }

  /** A sink that unpacks layers into this root's snapshotter (images are runnable at once). */
  unpackSink(): SnapshotUnpackSink {
    return new SnapshotUnpackSink(this.snapshotter);
  }

  async loadImages(input: ArchiveInput, opts: Omit<LoadOptions, 'sink'> = {}): Promise<LoadedImage[]> {
    const loaded = await this.images.load(input, { ...opts, sink: this.unpackSink() });
    for (const l of loaded) await this.events.emit('image', 'load', l.id, { name: l.names[0] ? recordDisplayName(l.names[0]) : l.id });
    return loaded;
  }

  async importImage(input: ImportInput, opts: Omit<ImportOptions, 'sink'> = {}): Promise<CreatedImage> {
    const created = await this.images.import(input, { ...opts, sink: this.unpackSink() });
    await this.events.emit('image', 'import', created.record.id, { name: recordDisplayName(created.record.name) });
    return created;
  }

  async tagImage(source: string, target: string): Promise<ImageRecord> {
    const rec = await this.images.tag(source, target);
    await this.events.emit('image', 'tag', rec.id, { name: recordDisplayName(rec.name) });
    return rec;
  }

  async saveImages(queries: string[], target: ArchiveTarget, opts: SaveOptions = {}): Promise<SavedImage[]> {
    const saved = await this.images.save(queries, target, opts);
    for (const s of saved) await this.events.emit('image', 'save', s.id, { name: s.names[0] ? recordDisplayName(s.names[0]) : s.id });
    return saved;
  }

  /** Image id of every name (display form), to report untag events after a removal. */
  private async imageIdsByName(): Promise<Map<string, string>> {
    return new Map((await this.images.images.list()).map((r) => [recordDisplayName(r.name), r.id]));
  }

  private async emitRemovals(before: Map<string, string>, untagged: string[], deleted: string[]): Promise<void> {
    for (const name of untagged) await this.events.emit('image', 'untag', before.get(name) ?? name, { name });
    for (const id of deleted) await this.events.emit('image', 'delete', id, { name: id });
  }

  copyImage(src: string, dst: string, opts: Omit<CopyOptions, 'sink'> = {}): Promise<CopyResult> {
    return this.images.copy(src, dst, { ...opts, sink: this.unpackSink() });
  }

  createImage(opts: Omit<CreateImageOptions, 'sink'>): Promise<CreatedImage> {
    return this.images.createImage({ ...opts, sink: this.unpackSink() });
  }

  /** Whether a container uses the image (removal then needs force). */
  async imageInUse(id: string): Promise<boolean> {
    return (await this.containerStore.list()).some((c) => c.Image === id);
  }

  async removeImages(queries: string[], opts: { force?: boolean } = {}): Promise<ImageRemoval> {
    const before = await this.imageIdsByName();
    const r = await this.images.remove(queries, { ...opts, inUse: (id) => this.imageInUse(id) });
    await this.emitRemovals(before, r.untagged, r.deleted);
    return { ...r, layersRemoved: await this.collectLayers() };
  }

  async pruneImages(opts: { all?: boolean; dryRun?: boolean } = {}): Promise<{ deleted: string[]; untagged: string[]; gc: GcReport; layersRemoved: string[] }> {
    const before = await this.imageIdsByName();
    const r = await this.images.prune({ ...opts, inUse: (id) => this.imageInUse(id) });
    const gone = new Set(r.deleted);
    const untagged = [...before].filter(([name, id]) => gone.has(id) && name !== id).map(([name]) => name);
    if (!opts.dryRun) await this.emitRemovals(before, untagged, r.deleted);
    return { ...r, untagged, layersRemoved: opts.dryRun ? [] : await this.collectLayers() };
  }

  /** Removes unpacked layers that no image needs (containers keep theirs: the snapshotter refuses). */
  async collectLayers(): Promise<string[]> {
    const roots = new Set<string>();
    for (const rec of await this.images.images.list()) for (const l of rec.layers) roots.add(l.chainId);
    return this.snapshotter.gc(roots);
  }

  // --- operations on containers and the system (docker's top/stats/update/port/cp/diff/
  // commit/export/prune/df/events/system check); the CLI maps one command onto each.

  /** `top`: the host's ps output for the container's processes. */
  top(query: string, psArgs: readonly string[] = []): Promise<TopResult> {
    return containerTop(this.context, query, psArgs);
  }

  /** `stats`: rows per sampling round (see containers/stats.ts). */
  stats(queries: readonly string[], opts: StatsOptions = {}): AsyncGenerator<StatsRow[]> {
    return statsStream(this.context, queries, opts);
  }

  /** `update`: new limits, applied to the running cgroup and recorded. */
  update(query: string, changes: ContainerUpdate): Promise<{ rec: ContainerRecord; warnings: string[] }> {
    return updateContainerResources(this.context, query, changes);
  }

  /** `port`: published ports recorded for the container (one private port, or all). */
  async ports(query: string, privatePort?: string): Promise<PublishedPort[]> {
    return publishedPorts(await this.containers.get(query), privatePort);
  }

  copyFromContainer(query: string, srcPath: string, dest: { path: string } | { stream: Writable }, opts: ContainerCopyOptions = {}): Promise<ContainerCopyResult> {
    return copyFromContainer(this, query, srcPath, dest, opts);
  }

  copyToContainer(query: string, src: { path: string } | { stream: Readable }, destPath: string, opts: ContainerCopyOptions = {}): Promise<ContainerCopyResult> {
    return copyToContainer(this, query, src, destPath, opts);
  }

  diff(query: string): Promise<Change[]> {
    return containerDiff(this.context, query);
  }

  commit(query: string, opts: CommitOptions = {}): Promise<CreatedImage> {
    return commitContainer(this.context, query, opts);
  }

  exportContainer(query: string, out: Writable): Promise<void> {
    return exportContainer(this.context, query, out);
  }

  pruneContainers(opts: { filter?: PruneFilter; dryRun?: boolean } = {}): Promise<ContainerPruneResult> {
    return pruneContainers(this, opts);
  }

  pruneSystem(opts: SystemPruneOptions = {}): Promise<SystemPruneResult> {
    return pruneSystem(this, opts);
  }

  diskUsage(): Promise<DiskUsageReport> {
    return diskUsage(this);
  }

  async containerCounts(): Promise<ContainerCounts> {
    return containerCounts(await this.containers.list());
  }

  checkSystem(opts: { repair?: boolean } = {}): Promise<CheckReport> {
    return checkSystem(this, opts);
  }

  /** The image a container would run: by name, id or digest; pulled when missing unless `never`. */
  async imageForRun(reference: string, policy: 'always' | 'missing' | 'never', pull: (ref: string) => Promise<PullResult[]>): Promise<ImageRecord> {
    if (policy !== 'always') {
      try {
        return await this.images.resolve(reference);
      } catch (e) {
        if (!(e instanceof BerthError && e.code === 'ENOT_FOUND') || policy === 'never') throw e;
      }
    }
    const [result] = await pull(reference);
    if (!result) throw new BerthError('EINTERNAL', `pull of ${reference} returned no image`);
    return result.record;
  }

  // ---- One surface for every front end: the CLI, the API server and compose call these and
  // ---- get the same records and documents (podman's ContainerEngine is the model).

  /** `ps` / `GET /containers/json`: docker's filters, running ones unless `all`, sizes on request. */
  async listContainers(opts: query.ContainerListOptions = {}): Promise<query.ContainerListEntry[]> {
    return query.listContainers(await this.containers.list(), (rec) => query.containerSize(this.snapshotter, rec), opts);
  }

  /** `images` / `GET /images/json`: the summaries docker's image filters leave. */
  async listImages(filters?: query.FilterArgs): Promise<ImageSummary[]> {
    return query.listImages(await this.images.list(), filters);
  }

  /** `volume ls` / `GET /volumes`: the volumes docker's volume filters leave. */
  async listVolumes(filters?: query.FilterArgs): Promise<VolumeRecord[]> {
    return await this.volumes.list(query.volumeFilter(filters));
  }

  /** `container inspect` / `GET /containers/{id}/json`. */
  async inspectContainer(name: string): Promise<Record<string, unknown>> {
    return query.containerInspectDocument(await this.containers.get(name));
  }

  /** `image inspect` / `GET /images/{name}/json`. */
  inspectImage(name: string): Promise<Record<string, unknown>> {
    return query.imageInspectDocument(this, name);
  }

  /** `volume inspect` / `GET /volumes/{name}`. */
  async inspectVolume(name: string): Promise<Record<string, unknown>> {
    return query.volumeInspectDocument(await this.volumes.inspect(name));
  }

  /** `logs` / `GET /containers/{id}/logs`: refused (no log) before the first entry is read. */
  async logs(name: string, opts: io.ContainerLogsOptions = {}): Promise<AsyncGenerator<LogEntry>> {
    return io.containerLogs(this.runRoot, await this.containers.get(name), name, opts);
  }

  /** `attach` / `POST /containers/{id}/attach`: until the caller detaches or the container exits. */
  async attach(name: string, stdio: io.ContainerAttachIo): Promise<io.AttachResult> {
    const c = this.containers;
    const ctx: io.AttachContext = { runRoot: this.runRoot, holdExit: (id) => c.holdExit(id), releaseExit: (id, hold) => c.releaseExit(id, hold), waitExit: (id) => c.waitExit(id) };
    return io.attachContainer(ctx, await c.get(name), stdio);
  }

  /** `exec` / `POST /containers/{id}/exec` + start: the process's exit code (0 when detached). */
  exec(name: string, req: ExecRequest, stdio: ExecIo): Promise<number> {
    return execInRunning(this, name, req, stdio);
  }

  /** `run` / `start -a`: a prepared container started with the caller attached from its first byte. */
  startAttached(prepared: PreparedStart, stdio: io.StartAttachedIo, opts: io.StartAttachedOptions): Promise<{ detached: boolean; exitCode: number }> {
    return io.startAttached(this.containers, prepared, stdio, opts);
  }

  /** From a front end's docker-style options (CLI flags, compose's short syntax, the API's) to a checked create request. */
  buildCreateRequest(options: ContainerCreateOptions, opts: BuildOptions = {}): Promise<CreateRequest> {
    return buildCreateRequest(options, opts);
  }
}
