/**
 * Where a container's run-time pieces live.
 *   <runRoot>/c/<id>/            the shim's directory: attach.sock, console.sock, exit.json, shim.pid
 *   <runRoot>/c/<id>/bundle/     config.json (root.path points at the mounted rootfs)
 *   <runRoot>/runtime/           the built-in runtime's state (`berth-runtime --root` of it lists them)
 *   <runRoot>/runtimes/<binary>/ an external runtime's state (its --root)
 * The run root is volatile (tmpfs under /run): after a reboot nothing there is stale.
 * How the engine talks to the runtimes themselves: ../runtimes/.
 */
import { join } from 'node:path';

export { builtinContext } from '../runtimes/builtin';

export interface RunPaths {
  dir: string;
  bundle: string;
}

export function runPaths(runRoot: string, id: string): RunPaths {
  const dir = join(runRoot, 'c', id);
  return { dir, bundle: join(dir, 'bundle') };
}

/** The cgroup under which containers without --cgroup-parent run (docker: /docker). */
export const DEFAULT_CGROUP_PARENT = '/berth';
