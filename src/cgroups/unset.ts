/**
 * Which resource values mean "not set". runc reads a zero in most numeric fields as "leave the
 * kernel's value alone" (its Go structs cannot tell an absent field from a zero one), and the
 * engines that drive it rely on that: dockerd 20.10 sends `blockIO.weight: 0`, `cpu.shares: 0`
 * and `pids.limit: 0` for every container that sets none of them. Treating those zeros as values
 * makes a plain `docker run` fail on a host without the file (no BFQ: no blkio.weight), or
 * demand a controller nobody asked for. Every manager path goes through `withoutUnset` first,
 * so the writers below it only ever see values that are meant.
 *
 * Field by field, as runc's fs/fs2 managers decide:
 *   memory: limit, reservation, swap, kernel, kernelTCP 0 = unset; swappiness -1 = unset;
 *           disableOOMKiller false = unset
 *   cpu:    shares, quota, period, realtimeRuntime, realtimePeriod 0 = unset; cpus, mems "" = unset
 *           (burst and idle are pointers in runc: 0 is a value there and here)
 *   pids:   limit 0 = unset (negative = unlimited)
 *   blockIO: weight, leafWeight 0 = unset; a weightDevice entry's weight/leafWeight 0 = unset
 *           (throttle rates of 0 are values: "remove the limit")
 *   network: classID 0 = unset
 *   hugepageLimits, network.priorities, rdma, unified, devices: every entry is a value
 */
import type { LinuxResources } from '../spec/types';

type Obj = Record<string, unknown>;

/** A copy of `obj` without the keys whose value `isUnset` says is the "not set" value. */
function prune<T extends object>(obj: T | undefined, isUnset: Record<string, (v: unknown) => boolean>): T | undefined {
  if (!obj) return undefined;
  const out: Obj = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null) continue;
    if (isUnset[k]?.(v)) continue;
    out[k] = v;
  }
  return Object.keys(out).length ? (out as T) : undefined;
}

const zero = (v: unknown) => v === 0;
const minusOne = (v: unknown) => v === -1;
const falsy = (v: unknown) => v === false;
const empty = (v: unknown) => v === '';
const noEntries = (v: unknown) => Array.isArray(v) && v.length === 0;

/** `res` with every "not set" value removed, and groups left empty by that removed too. */
export function withoutUnset(res: LinuxResources): LinuxResources {
  const out: LinuxResources = {};
  const memory = prune(res.memory, { limit: zero, reservation: zero, swap: zero, kernel: zero, kernelTCP: zero, swappiness: minusOne, disableOOMKiller: falsy });
  if (memory) out.memory = memory;
  const cpu = prune(res.cpu, { shares: zero, quota: zero, period: zero, realtimeRuntime: zero, realtimePeriod: zero, cpus: empty, mems: empty });
  if (cpu) out.cpu = cpu;
  if (res.pids && res.pids.limit !== 0 && res.pids.limit !== undefined && res.pids.limit !== null) out.pids = res.pids;
  if (res.blockIO) {
    const weightDevice = (res.blockIO.weightDevice ?? [])
      .map((d) => prune(d, { weight: zero, leafWeight: zero }))
      .filter((d): d is NonNullable<typeof d> => d !== undefined && (d.weight !== undefined || d.leafWeight !== undefined));
    const blockIO = prune(
      { ...res.blockIO, weightDevice },
      { weight: zero, leafWeight: zero, weightDevice: noEntries, throttleReadBpsDevice: noEntries, throttleWriteBpsDevice: noEntries, throttleReadIOPSDevice: noEntries, throttleWriteIOPSDevice: noEntries },
    );
    if (blockIO) out.blockIO = blockIO;
  }
  if (res.hugepageLimits?.length) out.hugepageLimits = res.hugepageLimits;
  const network = prune(res.network, { classID: zero, priorities: noEntries });
  if (network) out.network = network;
  if (res.rdma && Object.keys(res.rdma).length) out.rdma = res.rdma;
  if (res.unified && Object.keys(res.unified).length) out.unified = res.unified;
  if (res.devices?.length) out.devices = res.devices;
  return out;
}
