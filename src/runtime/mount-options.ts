/**
 * OCI mount `options` strings -> what berth-init does with them: mount(2) flags, propagation
 * changes, recursive attributes (mount_setattr), bind/idmap requests, and the remaining
 * filesystem-specific data string ("mode=755,size=65536k"). The option list is the one in the
 * runtime spec (config-linux.md, "Mount options").
 */
import { BerthError } from '../core/errors';

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_REMOUNT = 0x20;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOSYMFOLLOW = 0x100;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_SILENT = 0x8000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_I_VERSION = 0x800000;
export const MS_STRICTATIME = 0x1000000;
export const MS_LAZYTIME = 0x2000000;

export const MOUNT_ATTR_RDONLY = 0x1n;
export const MOUNT_ATTR_NOSUID = 0x2n;
export const MOUNT_ATTR_NODEV = 0x4n;
export const MOUNT_ATTR_NOEXEC = 0x8n;
export const MOUNT_ATTR__ATIME = 0x70n;
export const MOUNT_ATTR_RELATIME = 0x0n;
export const MOUNT_ATTR_NOATIME = 0x10n;
export const MOUNT_ATTR_STRICTATIME = 0x20n;
export const MOUNT_ATTR_NODIRATIME = 0x80n;
export const MOUNT_ATTR_NOSYMFOLLOW = 0x200000n;

/** Options that set (`set: true`) or clear a mount(2) flag. */
const FLAG_OPTIONS: Record<string, { flag: number; set: boolean }> = {
  ro: { flag: MS_RDONLY, set: true },
  rw: { flag: MS_RDONLY, set: false },
  nosuid: { flag: MS_NOSUID, set: true },
  suid: { flag: MS_NOSUID, set: false },
  nodev: { flag: MS_NODEV, set: true },
  dev: { flag: MS_NODEV, set: false },
  noexec: { flag: MS_NOEXEC, set: true },
  exec: { flag: MS_NOEXEC, set: false },
  sync: { flag: MS_SYNCHRONOUS, set: true },
  async: { flag: MS_SYNCHRONOUS, set: false },
  dirsync: { flag: MS_DIRSYNC, set: true },
  remount: { flag: MS_REMOUNT, set: true },
  mand: { flag: MS_MANDLOCK, set: true },
  nomand: { flag: MS_MANDLOCK, set: false },
  atime: { flag: MS_NOATIME, set: false },
  noatime: { flag: MS_NOATIME, set: true },
  diratime: { flag: MS_NODIRATIME, set: false },
  nodiratime: { flag: MS_NODIRATIME, set: true },
  relatime: { flag: MS_RELATIME, set: true },
  norelatime: { flag: MS_RELATIME, set: false },
  strictatime: { flag: MS_STRICTATIME, set: true },
  nostrictatime: { flag: MS_STRICTATIME, set: false },
  iversion: { flag: MS_I_VERSION, set: true },
  noiversion: { flag: MS_I_VERSION, set: false },
  lazytime: { flag: MS_LAZYTIME, set: true },
  nolazytime: { flag: MS_LAZYTIME, set: false },
  silent: { flag: MS_SILENT, set: true },
  loud: { flag: MS_SILENT, set: false },
  nosymfollow: { flag: MS_NOSYMFOLLOW, set: true },
  symfollow: { flag: MS_NOSYMFOLLOW, set: false },
};

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
};

/** Recursive attribute options (applied with mount_setattr(AT_RECURSIVE)). */
const RECURSIVE_OPTIONS: Record<string, { set: bigint; clr: bigint }> = {
  rro: { set: MOUNT_ATTR_RDONLY, clr: 0n },
  rrw: { set: 0n, clr: MOUNT_ATTR_RDONLY },
  rnosuid: { set: MOUNT_ATTR_NOSUID, clr: 0n },
  rsuid: { set: 0n, clr: MOUNT_ATTR_NOSUID },
  rnodev: { set: MOUNT_ATTR_NODEV, clr: 0n },
  rdev: { set: 0n, clr: MOUNT_ATTR_NODEV },
  rnoexec: { set: MOUNT_ATTR_NOEXEC, clr: 0n },
  rexec: { set: 0n, clr: MOUNT_ATTR_NOEXEC },
  rnodiratime: { set: MOUNT_ATTR_NODIRATIME, clr: 0n },
  rdiratime: { set: 0n, clr: MOUNT_ATTR_NODIRATIME },
  rnosymfollow: { set: MOUNT_ATTR_NOSYMFOLLOW, clr: 0n },
  rsymfollow: { set: 0n, clr: MOUNT_ATTR_NOSYMFOLLOW },
  // The atime mode is one field: changing it must clear the whole field (the kernel insists).
  rnoatime: { set: MOUNT_ATTR_NOATIME, clr: MOUNT_ATTR__ATIME },
  rstrictatime: { set: MOUNT_ATTR_STRICTATIME, clr: MOUNT_ATTR__ATIME },
  rrelatime: { set: MOUNT_ATTR_RELATIME, clr: MOUNT_ATTR__ATIME },
  // "not noatime/strictatime/relatime" all mean: back to the default, relatime.
  ratime: { set: MOUNT_ATTR_RELATIME, clr: MOUNT_ATTR__ATIME },
  rnostrictatime: { set: MOUNT_ATTR_RELATIME, clr: MOUNT_ATTR__ATIME },
  rnorelatime: { set: MOUNT_ATTR_RELATIME, clr: MOUNT_ATTR__ATIME },
};

export interface ParsedMountOptions {
  /** mount(2) flags to set (MS_BIND/MS_REC included for bind/rbind). */
  flags: number;
  /** Propagation changes in the order given (MS_REC set for the r-variants). */
  propagation: number[];
  /** Recursive mount attributes. */
  attrSet: bigint;
  attrClr: bigint;
  bind: boolean;
  idmap: boolean;
  recursiveIdmap: boolean;
  /** "tmpcopyup" (runc extension): a tmpfs that starts with a copy of the image's directory. */
  copyUp: boolean;
  /** Filesystem-specific options, comma-joined, or undefined. */
  data: string | undefined;
}

/**
 * Parses a mount's `options`. `where` names the mount for error messages
 * (e.g. `mounts[3] (/data)`).
 */
export function parseMountOptions(options: readonly string[] | undefined, where: string): ParsedMountOptions {
  const r: ParsedMountOptions = { flags: 0, propagation: [], attrSet: 0n, attrClr: 0n, bind: false, idmap: false, recursiveIdmap: false, copyUp: false, data: undefined };
  const data: string[] = [];
  for (const opt of options ?? []) {
    const flag = FLAG_OPTIONS[opt];
    if (flag) {
      if (flag.set) r.flags |= flag.flag;
      else r.flags &= ~flag.flag;
      continue;
    }
    const prop = PROPAGATION_OPTIONS[opt];
    if (prop !== undefined) {
      r.propagation.push(prop);
      continue;
    }
    const rec = RECURSIVE_OPTIONS[opt];
    if (rec) {
      r.attrSet = (r.attrSet & ~rec.clr & ~rec.set) | rec.set;
      r.attrClr = (r.attrClr & ~rec.set) | rec.clr;
      continue;
    }
    switch (opt) {
      case 'defaults':
        continue;
      case 'bind':
        r.bind = true;
        r.flags |= MS_BIND;
        continue;
      case 'rbind':
        r.bind = true;
        r.flags |= MS_BIND | MS_REC;
        continue;
      case 'idmap':
        r.idmap = true;
        continue;
      case 'ridmap':
        r.idmap = true;
        r.recursiveIdmap = true;
        continue;
      case 'tmpcopyup':
        r.copyUp = true;
        continue;
      case '':
        throw new BerthError('EINVALID_CONFIG', `${where}: empty mount option`, { hint: 'remove the empty string from "options"' });
      default:
        data.push(opt);
    }
  }
  // mount -o "nostrictatime" etc. leave the default; MS_RELATIME and friends are exclusive
  if (data.length) r.data = data.join(',');
  return r;
}
