/**
 * What container operations work with, as containerd's services declare what they require:
 * each operation takes a `Pick<ContainerContext, ...>` of the members it uses, so its
 * dependencies show in its signature. The Engine builds one context and hands it (never
 * itself) to ContainerService and the operations. The member names are the Engine's own.
 *
 * This module imports no operation: operations import it, never the reverse.
 */
import type { CreatedImage, CreateImageOptions } from '../../images/create';
import type { PullResult } from '../../images/pull';
import type { ImageService, ServicePullOptions } from '../../images/service';
import type { ImageRecord } from '../../images/store';
import type { Snapshotter } from '../../snapshots';
import type { EventLog } from '../events';
import type { Runtimes } from '../runtimes';
import type { VolumeService } from '../volumes/service';
import type { ContainerNetworking } from '../network/container';
import type { ContainerStore } from './store';

export type PullPolicy = 'always' | 'missing' | 'never';

export interface ContainerContext {
  /** The state root: the commands the shim runs (exit command, health checks) are given it. */
  readonly root: string;
  /** The run root (volatile): run directories, bundles, runtimes' state. */
  readonly runRoot: string;
  readonly containerStore: ContainerStore;
  /** This root's snapshotter (opened on first use). */
  readonly snapshotter: Snapshotter;
  readonly events: EventLog;
  readonly volumes: VolumeService;
  /** Picks the OCI runtime of a record. */
  readonly runtimes: Runtimes;
  /** A container's networks: set up at start, taken down at stop (network/container). */
  readonly networking: ContainerNetworking;
  /** Images: resolving references, reading configs (content). */
  readonly images: ImageService;
  /** Pulls and unpacks into the snapshotter, with the pull's events. */
  pullImage(reference: string, opts?: Omit<ServicePullOptions, 'sink'>): Promise<PullResult[]>;
  /** The image a container would run, pulled per the policy. */
  imageForRun(reference: string, policy: PullPolicy, pull: (ref: string) => Promise<PullResult[]>): Promise<ImageRecord>;
  /** A new image from layers on a base (commit), unpacked into the snapshotter. */
  createImage(opts: Omit<CreateImageOptions, 'sink'>): Promise<CreatedImage>;
}

/**
 * What bringing a record up to date needs (lookup, recovery, exit settling, removal, the
 * restart policy's waiter): everything but the images.
 */
export type RecordContext = Pick<ContainerContext, 'root' | 'runRoot' | 'containerStore' | 'snapshotter' | 'volumes' | 'events' | 'runtimes' | 'networking'>;
