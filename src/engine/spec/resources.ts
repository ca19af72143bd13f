/**
 * HostConfig resource fields (`--memory`, `--cpus`, `--pids-limit`, `--device`, ...) turned
 * into OCI `linux.resources` and `linux.devices`, with docker's defaults: every device denied
 * except the standard nodes, swap twice the memory limit when only `--memory` is given, and
 * `--cpus` as a quota over a 100 ms period.
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, errnoCode } from '../../core/errors';
import type { Device, DeviceRule, LinuxResources } from '../../spec/types';
import type { DeviceMapping, HostConfig } from '../docker-types';

const CPU_PERIOD_US = 100_000;

/** Docker's default device cgroup: deny all, then the nodes every container needs. */
function defaultDeviceRules(): DeviceRule[] {
  const c = (major: number | null, minor: number | null, access = 'rwm'): DeviceRule => ({ allow: true, type: 'c', major, minor, access });
  return [
    { allow: false, access: 'rwm' },
    c(null, null, 'm'), // mknod of any char device (writes still denied)
    { allow: true, type: 'b', major: null, minor: null, access: 'm' },
    c(1, 3), // null
    c(1, 5), // zero
    c(1, 7), // full
    c(1, 8), // random
    c(1, 9), // urandom
    c(5, 0), // tty
    c(5, 1), // console
    c(5, 2), // ptmx
    c(136, null), // pts/*
    c(10, 200), // net/tun
  ];
}

function invalid(message: string, hint?: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', message, hint ? { hint } : {});
}

/** `--device-cgroup-rule 'c 1:3 mr'`. */
export function parseDeviceCgroupRule(rule: string): DeviceRule {
  const m = /^([acb])\s+(\*|\d+):(\*|\d+)\s+([rwm]{1,3})$/.exec(rule.trim());
  if (!m) throw invalid(`invalid device cgroup rule "${rule}"`, "use TYPE MAJOR:MINOR ACCESS, e.g. 'c 1:3 rwm' or 'b 8:* r'");
  const num = (s: string) => (s === '*' ? null : Number(s));
  return { allow: true, type: m[1] as 'a' | 'c' | 'b', major: num(m[2]!), minor: num(m[3]!), access: m[4]! };
}

/** `--device /dev/fuse[:/dev/fuse[:rwm]]`: the node to create and the rule allowing it. */
export async function deviceFromHost(map: DeviceMapping): Promise<{ device: Device; rule: DeviceRule }> {
  let st;
  try {
    st = await stat(map.PathOnHost);
  } catch (e) {
    throw invalid(`--device ${map.PathOnHost}: ${errnoCode(e) === 'ENOENT' ? 'no such file on the host' : String(e)}`, 'give the path of a device node on the host, e.g. /dev/fuse');
  }
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) throw invalid(`--device ${map.PathOnHost} is not a device node`, 'give a character or block device such as /dev/fuse');
  const { major, minor } = rdevParts(st.rdev);
  const access = map.CgroupPermissions || 'rwm';
  if (!/^[rwm]{1,3}$/.test(access)) throw invalid(`--device ${map.PathOnHost}: invalid permissions "${access}"`, 'use a combination of r, w and m');
  return {
    device: { type, path: map.PathInContainer || map.PathOnHost, major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid },
    rule: { allow: true, type, major, minor, access },
  };
}

function rdevParts(rdev: number): { major: number; minor: number } {
  const r = BigInt(rdev);
  return { major: Number((r >> 8n) & 0xfffn) | Number((r >> 32n) & ~0xfffn), minor: Number(r & 0xffn) | Number((r >> 12n) & ~0xffn) };
}

/** Directories of /dev that are mounts of their own in a container (or runtime bookkeeping). */
const SKIP_DEV_DIRS = new Set(['pts', 'shm', 'mqueue', 'fd', '.lxc', '.lxd-mounts', '.udev']);

/**
 * `--privileged`: every device node of the host, at its host path (as docker and runc's
 * HostDevices do). Symlinks and the console are left out; /dev/console is the container's.
 */
export async function privilegedDevices(devDir = '/dev'): Promise<Device[]> {
  const out: Device[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      let st;
      try {
        st = await lstat(path);
      } catch {
        continue; // gone while we looked
      }
      const inside = `/dev${rel}/${name}`;
      if (st.isDirectory()) {
        if (!(rel === '' && SKIP_DEV_DIRS.has(name))) await walk(path, `${rel}/${name}`);
        continue;
      }
      if (inside === '/dev/console') continue;
      const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
      if (!type) continue;
      out.push({ type, path: inside, ...rdevParts(st.rdev), fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
    }
  };
  await walk(devDir, '');
  return out;
}

export function buildResources(hc: HostConfig, devices: { rule: DeviceRule }[]): LinuxResources {
  const res: LinuxResources = {};
  res.devices = hc.Privileged
    ? [{ allow: true, access: 'rwm' }]
    : [...defaultDeviceRules(), ...devices.map((d) => d.rule), ...(hc.DeviceCgroupRules ?? []).map(parseDeviceCgroupRule)];

  const memory: NonNullable<LinuxResources['memory']> = {};
  if (hc.Memory && hc.Memory > 0) {
    memory.limit = hc.Memory;
    // docker: without --memory-swap the container may use as much swap as memory.
    if (hc.MemorySwap === undefined || hc.MemorySwap === 0) memory.swap = hc.Memory * 2;
  }
  if (hc.MemorySwap !== undefined && hc.MemorySwap !== 0) {
    if (hc.MemorySwap > 0 && hc.Memory && hc.MemorySwap < hc.Memory) {
      throw invalid('--memory-swap must be larger than or equal to --memory', 'set --memory-swap to the total of memory and swap, or -1 for unlimited swap');
    }
    if (hc.MemorySwap > 0 && !hc.Memory) throw invalid('--memory-swap needs --memory as well');
    memory.swap = hc.MemorySwap;
  }
  if (hc.MemoryReservation) memory.reservation = hc.MemoryReservation;
  if (hc.MemorySwappiness !== undefined && hc.MemorySwappiness !== null && hc.MemorySwappiness >= 0) memory.swappiness = hc.MemorySwappiness;
  if (hc.OomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) res.memory = memory;

  const cpu: NonNullable<LinuxResources['cpu']> = {};
  if (hc.NanoCpus && hc.NanoCpus > 0) {
    if (hc.CpuQuota || hc.CpuPeriod) throw invalid('--cpus cannot be combined with --cpu-quota or --cpu-period');
    cpu.period = CPU_PERIOD_US;
    cpu.quota = Math.round((hc.NanoCpus * CPU_PERIOD_US) / 1e9);
  }
  if (hc.CpuQuota) cpu.quota = hc.CpuQuota;
  if (hc.CpuPeriod) cpu.period = hc.CpuPeriod;
  if (hc.CpuShares) cpu.shares = hc.CpuShares;
  if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (hc.CpusetMems) cpu.mems = hc.CpusetMems;
  if (Object.keys(cpu).length) res.cpu = cpu;

  if (hc.PidsLimit && hc.PidsLimit > 0) res.pids = { limit: hc.PidsLimit };
  if (hc.BlkioWeight) res.blockIO = { weight: hc.BlkioWeight };
  return res;
}
