/**
 * `create`: everything a container needs before it can start, in an order that can be
 * rolled back at every step: image (pulled when the policy says so), merged configuration,
 * a checked OCI spec (so bad flags fail now, not at start), the record and its name, the
 * writable snapshot, and volumes (with image content copied into new ones).
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BerthError, errnoCode } from '../../core/errors';
import { crashPoint } from '../../core/crash-point';
import type { FileLock } from '../../core/lock';
import type { PullEvent } from '../../core/events';
import { readImageConfig } from '../../images/history';
import type { ImageRecord } from '../../images/store';
import type { NamespaceType } from '../../spec/types';
import type { CreateRequest } from './request';
import type { ContainerContext, RecordContext } from './context';
import { mergeImageConfig, type ImageRunConfig } from '../spec/image-merge';
import { buildOciSpec, processArgs } from '../spec/oci';
import { copyUp } from '../volumes/copy-up';
import { planMounts, volumeNeeds } from './mounts';
import { initialState, type ContainerRecord } from './record';
import { newContainerId } from './store';
import { recoverContainer } from './recover';
import { rollbackCreate } from './teardown';
import { CONTAINER_NAME_RE, randomName } from './names';
import { discardUnsupported } from '../spec/discard';
import { cgroupSupport } from '../../cgroups';
import { validateCreateRequest } from '../create/validate';
import { networksAtCreate } from '../network/container/create';

/** What create uses: the images, and what taking back a half-made container needs. */
export type CreateContext = RecordContext & Pick<ContainerContext, 'images' | 'imageForRun' | 'pullImage'>;

export interface CreateOptions {
  onPullEvent?: (e: PullEvent) => void;
  /** Settings dropped because this host cannot honour them (docker's create warnings). */
  onWarning?: (message: string) => void;
}

/** Paths of a container's files in the state root. */
export function containerFiles(ctx: Pick<ContainerContext, 'containerStore'>, id: string): { dir: string; log: string; hosts: string; hostname: string; resolvConf: string } {
  const dir = ctx.containerStore.containerDir(id);
  return { dir, log: join(dir, `${id}-json.log`), hosts: join(dir, 'hosts'), hostname: join(dir, 'hostname'), resolvConf: join(dir, 'resolv.conf') };
}

async function imageFor(ctx: Pick<ContainerContext, 'images' | 'imageForRun' | 'pullImage'>, req: CreateRequest, opts: CreateOptions): Promise<{ image?: ImageRecord; run: ImageRunConfig | undefined }> {
  if (req.rootfs) {
    let st;
    try {
      st = await stat(req.rootfs);
    } catch (e) {
      throw new BerthError('EINVALID_ARGUMENT', `--rootfs ${req.rootfs}: ${errnoCode(e) === 'ENOENT' ? 'no such directory' : String(e)}`, { hint: 'give the path of an exploded root filesystem' });
    }
    if (!st.isDirectory()) throw new BerthError('EINVALID_ARGUMENT', `--rootfs ${req.rootfs} is not a directory`, { hint: 'give the path of an exploded root filesystem' });
    return { run: undefined };
  }
  const ref = req.image!;
  const image = await ctx.imageForRun(ref, req.pull, (r) =>
    ctx.pullImage(r, { ...(req.platform ? { platform: req.platform } : {}), ...(opts.onPullEvent ? { onEvent: opts.onPullEvent } : {}) }),
  );
  const config = await readImageConfig(ctx.images.content, image);
  return { image, run: (config.config ?? undefined) as ImageRunConfig | undefined };
}

async function pickName(ctx: Pick<ContainerContext, 'containerStore'>, requested: string | undefined): Promise<string> {
  if (requested !== undefined) {
    if (!CONTAINER_NAME_RE.test(requested)) {
      throw new BerthError('EINVALID_ARGUMENT', `invalid container name "${requested}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, { hint: 'choose a name such as web-1' });
    }
    return requested;
  }
  for (let i = 0; i < 20; i++) {
    const n = randomName();
    try {
      await ctx.containerStore.resolve(n);
    } catch {
      return n;
    }
  }
  return `${randomName()}_${Date.now() % 1000}`;
}

/**
 * container:NAME modes: the other container must exist now (docker checks at create); its
 * namespaces are looked up at each start, when it must be running. Stand-in paths here.
 */
async function joinedAtCreate(ctx: Pick<ContainerContext, 'containerStore'>, req: CreateRequest): Promise<Partial<Record<NamespaceType, string>>> {
  const hc = req.hostConfig;
  const out: Partial<Record<NamespaceType, string>> = {};
  const modes: Array<[NamespaceType, string | undefined]> = [['pid', hc.PidMode], ['ipc', hc.IpcMode], ['uts', hc.UTSMode], ['network', hc.NetworkMode]];
  for (const [type, mode] of modes) {
    if (!mode?.startsWith('container:')) continue;
    await ctx.containerStore.resolve(mode.slice('container:'.length));
    out[type] = `/proc/self/ns/${type}`;
  }
  return out;
}

export async function createContainer(ctx: CreateContext, req: CreateRequest, opts: CreateOptions = {}): Promise<ContainerRecord> {
  validateCreateRequest(req);
  const { image, run } = await imageFor(ctx, req, opts);
  const config = mergeImageConfig(run, req.config);
  if (req.image) config.Image = req.image;
  const args = processArgs(config);
  const id = newContainerId();
  const name = await pickName(ctx, req.name);
  // docker drops what the kernel cannot limit (no BFQ: no blkio weight) with a warning and
  // records the zero; the runtime, like runc, would refuse it.
  for (const w of discardUnsupported(req.hostConfig, cgroupSupport())) opts.onWarning?.(w);
  // Build the spec once now, with stand-in paths, so that invalid options fail at create.
  await buildOciSpec({
    id, config, hostConfig: req.hostConfig, rootfs: '/', user: { uid: 0, gid: 0, additionalGids: [], home: '/' },
    cgroupsPath: '/berth/check', cgroupV2: false, seccomp: undefined, joinNamespaces: await joinedAtCreate(ctx, req),
  });
  const networks = await networksAtCreate(ctx.networking.store, req.hostConfig, req.networkingConfig, req.config.MacAddress);
  const files = containerFiles(ctx, id);
  const rec: ContainerRecord = {
    Id: id,
    Name: `/${name}`,
    Created: new Date().toISOString(),
    Path: args[0]!,
    Args: args.slice(1),
    State: initialState(),
    Image: image?.id ?? '',
    ResolvConfPath: files.resolvConf,
    HostnamePath: files.hostname,
    HostsPath: files.hosts,
    LogPath: req.hostConfig.LogConfig?.Type === 'none' ? '' : files.log,
    RestartCount: 0,
    Driver: req.rootfs ? 'rootfs' : ctx.snapshotter.name,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    Config: config,
    HostConfig: req.hostConfig,
    Mounts: [],
    NetworkSettings: networks.settings,
    Berth: {
      ...(Object.keys(networks.requestedMacs).length ? { requestedMacs: networks.requestedMacs } : {}),
      runtime: req.hostConfig.Runtime || 'berth',
      ...(req.rootfs ? { rootfs: resolve(req.rootfs) } : { snapshotKey: id }),
      ...(image ? { chainId: image.layers[image.layers.length - 1]?.chainId } : {}),
      ...(req.image ? { imageRef: req.image } : {}),
      anonymousVolumes: {},
      creating: { volumes: [] },
    },
  };
  const lock = await beginRecord(ctx, rec, req.name === undefined);
  try {
    if (rec.Berth.snapshotKey) await ctx.snapshotter.prepare(id, rec.Berth.chainId, { container: id });
    crashPoint('create:snapshot');
    const needs = volumeNeeds(config, req.hostConfig);
    let rootfs: string | undefined;
    try {
      for (const need of needs) {
        // The name goes into the record before the volume exists, so that a killed create
        // leaves a record naming everything it may have made (and nothing unnamed).
        const name = need.name ?? randomBytes(32).toString('hex');
        const fresh = need.name === undefined || !(await ctx.volumes.store.get(name));
        if (need.name === undefined) rec.Berth.anonymousVolumes![need.target] = name;
        else if (fresh) rec.Berth.creating!.volumes.push(name);
        if (fresh) await ctx.containerStore.save(rec);
        const { volume, created } = await ctx.volumes.ensure(name, { anonymous: need.name === undefined });
        crashPoint('create:volume');
        if (created && !need.noCopy) {
          rootfs ??= rec.Berth.rootfs ?? (await ctx.snapshotter.mount(id));
          await copyUp(rootfs, need.target, volume.Mountpoint);
        }
      }
    } finally {
      if (rootfs && rec.Berth.snapshotKey) await ctx.snapshotter.unmount(id);
    }
    rec.Mounts = (await planMounts(rec, rec.Berth.anonymousVolumes ?? {}, ctx.volumes.store, (n) => ctx.containerStore.resolve(n))).map((m) => m.point);
    delete rec.Berth.creating;
    await ctx.containerStore.save(rec);
    return rec;
  } catch (e) {
    await rollbackCreate(ctx, rec);
    throw e;
  } finally {
    lock.release();
  }
}

/**
 * Records the container and claims its name. A conflict with a container whose own create
 * was killed half-way is not a conflict: that one is taken back first (once).
 */
async function beginRecord(ctx: RecordContext, rec: ContainerRecord, generatedName: boolean): Promise<FileLock> {
  // A generated name is free when drawn but may be claimed by a parallel create before we
  // claim it: draw again (the clash is ours to avoid, not the user's). A given name conflicts.
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.containerStore.begin(rec);
    } catch (e) {
      if (!(e instanceof BerthError && e.code === 'EEXISTS')) throw e;
      if (generatedName && attempt < 20) {
        rec.Name = `/${attempt < 10 ? randomName() : `${randomName()}_${randomBytes(2).toString('hex')}`}`;
        continue;
      }
      if (generatedName) throw e;
      const owner = await resolveQuiet(ctx, rec.Name);
      if (!owner?.Berth.creating || !(await recoverContainer(ctx, owner)).removed) throw e;
      return await ctx.containerStore.begin(rec);
    }
  }
}

async function resolveQuiet(ctx: Pick<ContainerContext, 'containerStore'>, name: string): Promise<ContainerRecord | undefined> {
  try {
    return await ctx.containerStore.resolve(name);
  } catch {
    return undefined;
  }
}

