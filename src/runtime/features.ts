/**
 * The OCI features document (`berth-runtime features`): what this runtime understands, so
 * that engines can decide before creating a container (runtime-spec features.md).
 */
import type { NamespaceType } from '../spec/types';
import { ALL_CAPABILITIES } from '../spec/capabilities';
import { NAMESPACE_TYPES, SECCOMP_FLAGS } from '../spec/schema';
import { SUPPORTED_ACTIONS, SUPPORTED_ARCHES, SUPPORTED_FLAGS, SUPPORTED_OPERATORS } from '../seccomp';
import { OCI_VERSION } from '../spec/state';

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks?: string[];
  mountOptions?: string[];
  annotations?: Record<string, string>;
  potentiallyUnsafeConfigAnnotations?: string[];
  linux?: LinuxFeatures;
}

export interface LinuxFeatures {
  namespaces?: NamespaceType[];
  capabilities?: string[];
  cgroup?: { v1?: boolean; v2?: boolean; systemd?: boolean; systemdUser?: boolean; rdma?: boolean };
  seccomp?: {
    enabled?: boolean;
    actions?: string[];
    operators?: string[];
    archs?: string[];
    knownFlags?: string[];
    supportedFlags?: string[];
  };
  apparmor?: { enabled?: boolean };
  selinux?: { enabled?: boolean };
  intelRdt?: { enabled?: boolean };
  mountExtensions?: { idmap?: { enabled?: boolean } };
  netDevices?: { enabled?: boolean };
}

export const HOOK_NAMES = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

/**
 * The mount options of the runtime-spec's list (config-linux.md, "Mount options") that
 * runtime/mount-options.ts turns into mount(2)/mount_setattr(2) flags, propagation or
 * bind/idmap requests, plus "tmpcopyup" (tmpfs filled from the image, done by berth-init);
 * anything else is passed to the filesystem as data (e.g. "size=64k").
 */
export const MOUNT_OPTIONS = [
  'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'idmap',
  'iversion', 'lazytime', 'loud', 'mand', 'noatime', 'nodev', 'nodiratime', 'noexec',
  'noiversion', 'nolazytime', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow',
  'private', 'ratime', 'rbind', 'rdev', 'rdiratime', 'relatime', 'remount', 'rexec', 'ridmap',
  'rnoatime', 'rnodev', 'rnodiratime', 'rnoexec', 'rnorelatime', 'rnostrictatime', 'rnosuid',
  'rnosymfollow', 'ro', 'rprivate', 'rrelatime', 'rro', 'rrw', 'rshared', 'rslave',
  'rstrictatime', 'rsuid', 'rsymfollow', 'runbindable', 'rw', 'shared', 'silent', 'slave',
  'strictatime', 'suid', 'symfollow', 'sync', 'tmpcopyup', 'unbindable',
];

export function runtimeFeatures(): Features {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: [...HOOK_NAMES],
    mountOptions: [...MOUNT_OPTIONS],
    linux: {
      namespaces: [...NAMESPACE_TYPES],
      capabilities: [...ALL_CAPABILITIES],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        // What src/seccomp compiles; knownFlags are the ones the spec defines.
        actions: [...SUPPORTED_ACTIONS],
        operators: [...SUPPORTED_OPERATORS],
        archs: [...SUPPORTED_ARCHES],
        knownFlags: [...SECCOMP_FLAGS],
        supportedFlags: [...SUPPORTED_FLAGS],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
    },
    annotations: { 'io.github.berth.runtime': 'berth-runtime' },
  };
}
