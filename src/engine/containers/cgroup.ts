/**
 * The cgroup of a running container, whichever runtime runs it: its path comes from the
 * config.json the engine wrote into the bundle at start (built-in runtime, runc and crun
 * all honour linux.cgroupsPath), so top, stats and update read and write the same
 * directories the runtime created.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../core/errors';
import { cgroupManager, type CgroupManager } from '../../cgroups';
import type { RuntimeConfig } from '../../spec/types';
import { containerName, type ContainerRecord } from './record';
import { runPaths } from './runtime';

/** The generated OCI configuration of the current run. */
export async function runningConfig(runRoot: string, rec: ContainerRecord): Promise<RuntimeConfig> {
  try {
    return JSON.parse(await readFile(join(runPaths(runRoot, rec.Id).bundle, 'config.json'), 'utf8')) as RuntimeConfig;
  } catch (e) {
    throw new BerthError('ESTATE', `container ${containerName(rec)} has no runtime configuration (is it running?)`, { cause: e });
  }
}

export async function containerCgroup(runRoot: string, rec: ContainerRecord, warn: (m: string) => void = () => undefined): Promise<CgroupManager> {
  const cgroupsPath = (await runningConfig(runRoot, rec)).linux?.cgroupsPath;
  return cgroupManager({ id: rec.Id, warn, ...(cgroupsPath !== undefined ? { cgroupsPath } : {}) });
}

/** Every process of a running container (its cgroup, or at least its init). */
export async function containerProcesses(runRoot: string, rec: ContainerRecord): Promise<number[]> {
  const cg = await containerCgroup(runRoot, rec);
  const pids = cg.exists() ? cg.pids() : [];
  if (rec.State.Pid > 0) pids.push(rec.State.Pid);
  return [...new Set(pids)].sort((a, b) => a - b);
}

export function requireRunning(rec: ContainerRecord, doing: string): void {
  if (!rec.State.Running || rec.State.Status === 'restarting') {
    throw new BerthError('ESTATE', `container ${rec.Id} is not running`, { hint: `start it first (berth start ${containerName(rec)}) to ${doing}` });
  }
}
