/**
 * Driver for bench/shim-memory.sh (bundled by esbuild there, not part of the build):
 *   start N STATE ROOTFS   launch N idle busybox containers under berth-shim (built-in
 *                          runtime), one bundle each over one shared read-only rootfs, and
 *                          print the shims' pids, one a line
 *   stop STATE             kill and delete them all
 * BERTH_NATIVE_DIR chooses the native programs (e.g. a dynamically linked shim).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchShim, startMonitored } from '../src/engine/shim';
import { StateStore } from '../src/runtime/state-store';
import { deleteContainer } from '../src/runtime/kill-delete';
import { defaultSpec } from '../src/spec/default-spec';
import type { RuntimeContext } from '../src/runtime/context';

async function main(): Promise<void> {
  const [cmd, a, b, c] = process.argv.slice(2);
  if (cmd === 'start') {
    const n = Number(a);
    const state = b!;
    const rootfs = c!;
    const ctx: RuntimeContext = { store: new StateStore(join(state, 'runtime')), warn: () => undefined, systemdCgroup: false };
    for (let i = 0; i < n; i++) {
      const id = `bench-shim-${i}`;
      const bundle = join(state, 'bundles', id);
      const dir = join(state, 'containers', id);
      mkdirSync(bundle, { recursive: true });
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const cfg = defaultSpec();
      cfg.root = { path: rootfs, readonly: true };
      cfg.process!.terminal = false;
      cfg.process!.args = ['sleep', '100000'];
      cfg.linux!.cgroupsPath = `/berth-bench/${id}`;
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(cfg));
      const l = await launchShim({ id, dir, bundle, runtime: { kind: 'builtin', ctx }, log: { path: join(dir, 'ctr.log') } });
      await startMonitored(dir, id, { kind: 'builtin', ctx });
      process.stdout.write(`${l.shimPid}\n`);
    }
  } else if (cmd === 'stop') {
    const state = a!;
    const ctx: RuntimeContext = { store: new StateStore(join(state, 'runtime')), warn: () => undefined, systemdCgroup: false };
    let ids: string[] = [];
    try {
      ids = readdirSync(join(state, 'runtime'));
    } catch {
      /* nothing started */
    }
    for (const id of ids) await deleteContainer(ctx, id, true).catch(() => undefined);
  } else {
    throw new Error('usage: shim-driver start N STATE ROOTFS | stop STATE');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`shim-driver: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
