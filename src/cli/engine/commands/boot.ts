/**
 * `system boot`: what contrib/berth-boot.service runs once the machine has started (podman's
 * podman-restart.service model): Berth has no daemon to start containers again after a reboot,
 * so this applies the restart policies then. Prints the name of each container it started;
 * one line on stderr per container that failed to start, and exit status 1 if any did.
 */
import { Command } from 'commander';
import { containerName } from '../../../engine/containers/record';
import type { CliEnv } from '../env';

export function registerBootCommand(system: Command, env: CliEnv): void {
  system
    .command('boot')
    .description('start the containers whose restart policy (always, unless-stopped) asks for it; run once at boot')
    .action(async () => {
      const { started, failed } = await env.engine().containers.boot();
      for (const rec of started) env.out.write(`${containerName(rec)}\n`);
      for (const { rec, error } of failed) env.err.write(`Error: starting container ${containerName(rec)}: ${error instanceof Error ? error.message : String(error)}\n`);
      if (failed.length) env.exit(1);
    });
}
