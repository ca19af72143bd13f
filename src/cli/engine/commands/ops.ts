/**
 * The container and system commands beyond the lifecycle: top, stats, update, port, cp,
 * diff, commit, export, container prune, system prune/check/boot/events, events. Registered
 * after the system commands (they add to `system`).
 */
import { Command } from 'commander';
import type { CliEnv } from '../env';
import { registerBootCommand } from './boot';
import { registerCheckCommand } from './check';
import { registerCpCommand } from './cp';
import { registerDiffCommitExportCommands } from './diff-commit-export';
import { registerEventsCommand } from './events';
import { registerPruneCommands } from './prune';
import { registerTopStatsCommands } from './top-stats';
import { registerUpdatePortCommands } from './update-port';

export function registerOpsCommands(program: Command, container: Command, env: CliEnv): void {
  const system = program.commands.find((c) => c.name() === 'system') ?? program.command('system').description('manage Berth');
  const before = new Set([...program.commands, ...container.commands, ...system.commands]);
  registerTopStatsCommands(program, container, env);
  registerUpdatePortCommands(program, container, env);
  registerCpCommand(program, container, env);
  registerDiffCommitExportCommands(program, container, env);
  registerPruneCommands(container, system, env);
  registerEventsCommand(program, system, env);
  registerCheckCommand(system, env);
  registerBootCommand(system, env);
  // Errors go through main.ts's renderer, never commander's process.exit.
  for (const c of [...program.commands, ...container.commands, ...system.commands]) if (!before.has(c)) c.exitOverride();
}
