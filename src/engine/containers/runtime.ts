/**
 * Where a container's run-time pieces live and how the engine talks to its OCI runtime.
 *   <runRoot>/c/<id>/            the shim's directory: attach.sock, console.sock, exit.json, shim.pid
 *   <runRoot>/c/<id>/bundle/     config.json (root.path points at the mounted rootfs)
 *   <runRoot>/runtime/           the built-in runtime's state (`berth-runtime --root` of it lists them)
 * The run root is volatile (tmpfs under /run): after a reboot nothing there is stale.
 */
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DEFAULT_MOUNT_ROOT, pruneEmptyLevel } from '../../cgroups';
import { BerthError } from '../../core/errors';
import type { RuntimeContext } from '../../runtime/context';
import { StateStore } from '../../runtime/state-store';
import { pauseContainer, resumeContainer } from '../../runtime/control';
import { deleteContainer, killContainer } from '../../runtime/kill-delete';
import { containerStatus } from '../../runtime/status';
import { resolveBinary, type ShimRuntime, type StartRuntime } from '../shim';
import type { ContainerRecord } from './record';

export interface RunPaths {
  dir: string;
  bundle: string;
}

export function runPaths(runRoot: string, id: string): RunPaths {
  const dir = join(runRoot, 'c', id);
  return { dir, bundle: join(dir, 'bundle') };
}

export function builtinContext(runRoot: string, warn: (m: string) => void = () => undefined): RuntimeContext {
  return { store: new StateStore(join(runRoot, 'runtime')), warn, systemdCgroup: false };
}

/** The external runtimes' own state roots, per runtime, under the run root. */
export function externalRoot(runRoot: string, binary: string): string {
  return join(runRoot, 'runtimes', binary.replace(/[^A-Za-z0-9_.-]/g, '_'));
}

export function isBuiltin(rec: ContainerRecord): boolean {
  return rec.Berth.runtime === 'berth' || rec.Berth.runtime === '';
}

export function shimRuntime(runRoot: string, rec: ContainerRecord, warn: (m: string) => void): ShimRuntime {
  if (isBuiltin(rec)) return { kind: 'builtin', ctx: builtinContext(runRoot, warn) };
  const binary = resolveBinary(rec.Berth.runtime);
  return { kind: 'external', binary, root: externalRoot(runRoot, binary) };
}

export function startRuntime(runRoot: string, rec: ContainerRecord, warn: (m: string) => void): StartRuntime {
  const rt = shimRuntime(runRoot, rec, warn);
  return rt.kind === 'builtin' ? { kind: 'builtin', ctx: rt.ctx } : rt;
}

/** Sends a signal to the container's init (or to all its processes). */
export async function signalContainer(runRoot: string, rec: ContainerRecord, signal: number, all = false): Promise<void> {
  if (isBuiltin(rec)) {
    await killContainer(builtinContext(runRoot), rec.Id, signal, all);
    return;
  }
  const binary = resolveBinary(rec.Berth.runtime);
  spawnSync(binary, ['--root', externalRoot(runRoot, binary), 'kill', ...(all ? ['--all'] : []), rec.Id, String(signal)], { stdio: 'ignore' });
}

/**
 * Freezes (`pause`) or thaws (`resume`) every process of the container: the runtime library
 * for berth-runtime, the external runtime's own `pause`/`resume` command otherwise (runc and
 * crun take the same command line). A refusal is reported with the runtime's own words.
 */
export async function freezeContainer(runRoot: string, rec: ContainerRecord, action: 'pause' | 'resume'): Promise<void> {
  if (isBuiltin(rec)) {
    await (action === 'pause' ? pauseContainer : resumeContainer)(builtinContext(runRoot), rec.Id);
    return;
  }
  const binary = resolveBinary(rec.Berth.runtime);
  const r = spawnSync(binary, ['--root', externalRoot(runRoot, binary), action, rec.Id], { encoding: 'utf8' });
  if (r.status !== 0) {
    const said = `${r.stderr ?? ''}`.trim().split('\n').pop() || (r.error ? r.error.message : `exit status ${r.status}`);
    throw new BerthError('ECGROUP', `${basename(binary)} ${action} ${rec.Id.slice(0, 12)} failed: ${said}`, {
      hint: action === 'pause' ? 'the runtime needs the freezer cgroup controller; check that it is mounted' : 'check the container with: berth inspect',
    });
  }
}

/** The cgroup under which containers without --cgroup-parent run (docker: /docker). */
export const DEFAULT_CGROUP_PARENT = '/berth';

/**
 * Removes the runtime's container (killing what is left of it), its cgroup and state; the
 * engine's own parent cgroup goes with the last container in it (a user's --cgroup-parent stays).
 */
export async function deleteRuntimeContainer(runRoot: string, rec: ContainerRecord): Promise<void> {
  if (isBuiltin(rec)) {
    await deleteContainer(builtinContext(runRoot), rec.Id, true);
  } else {
    const binary = resolveBinary(rec.Berth.runtime);
    spawnSync(binary, ['--root', externalRoot(runRoot, binary), 'delete', '--force', rec.Id], { stdio: 'ignore' });
  }
  if (!rec.HostConfig.CgroupParent) pruneEmptyLevel(DEFAULT_CGROUP_PARENT, DEFAULT_MOUNT_ROOT);
}

/**
 * Whether the runtime has the container frozen: what tells a pause or unpause killed between
 * the freezer and the record from a clean state (the record says running, the cgroup is
 * frozen, or the reverse). False when the runtime does not know the container.
 */
export function runtimeFrozen(runRoot: string, rec: ContainerRecord): boolean {
  if (isBuiltin(rec)) {
    const ctx = builtinContext(runRoot);
    if (!ctx.store.exists(rec.Id)) return false;
    return containerStatus(ctx, ctx.store.load(rec.Id)) === 'paused';
  }
  const binary = resolveBinary(rec.Berth.runtime);
  const r = spawnSync(binary, ['--root', externalRoot(runRoot, binary), 'state', rec.Id], { encoding: 'utf8' });
  try {
    return (JSON.parse(r.stdout) as { status?: string }).status === 'paused';
  } catch {
    return false;
  }
}

/**
 * Whether the container's process was released (runs, or ran) rather than created and still
 * waiting to be started: what tells a start killed after release (finish it) from one
 * killed before (roll it back). Unknown containers count as not started.
 */
export function runtimeStarted(runRoot: string, rec: ContainerRecord): boolean {
  if (isBuiltin(rec)) {
    const ctx = builtinContext(runRoot);
    if (!ctx.store.exists(rec.Id)) return false;
    const status = containerStatus(ctx, ctx.store.load(rec.Id));
    return status === 'running' || status === 'paused';
  }
  const binary = resolveBinary(rec.Berth.runtime);
  const r = spawnSync(binary, ['--root', externalRoot(runRoot, binary), 'state', rec.Id], { encoding: 'utf8' });
  let state: { status?: string; pid?: number };
  try {
    state = JSON.parse(r.stdout) as { status?: string; pid?: number };
  } catch {
    return false;
  }
  if (state.status === 'running' || state.status === 'paused') return true;
  if (state.status !== 'created' || !state.pid) return false;
  // Like ours, runc and crun mark a container started only after its init went on to execve:
  // an init that no longer runs the runtime's own executable (a memfd copy or the binary) did.
  try {
    const exe = readlinkSync(`/proc/${state.pid}/exe`);
    return !exe.startsWith('/memfd:') && !exe.startsWith(binary) && !exe.includes(basename(binary));
  } catch {
    return false;
  }
}
