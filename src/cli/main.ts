/**
 * `berth`: the docker-compatible engine CLI. This file only wires: global options, the
 * command modules (listed explicitly), and the one place where errors are rendered —
 * "Error: <what failed>" plus a hint line, exit status 1 (125 for `run`, as docker).
 */
import { CommanderError } from 'commander';
import { BerthCommand } from './command';
import { diskFullError, isBerthError } from '../core/errors';
import { Engine } from '../engine/engine';
import { engineOptionsFrom, type CliEnv, type GlobalOptions } from './engine/env';
import { registerImageCommands } from './engine/commands/images';
import { registerSystemCommands } from './engine/commands/system';
import { registerVolumeCommands } from './engine/commands/volumes';
import { registerNetworkCommands } from './engine/commands/network';
import { registerArchiveCommands } from './engine/commands/archives';
import { registerContainerCommands } from './engine/commands/containers';
import { registerRunCommands, ExitStatusError } from './engine/commands/run';
import { registerExecCommand, registerHealthcheckCommand } from './engine/commands/exec';
import { registerInspectCommands } from './engine/commands/inspect';
import { registerTopCommand } from './engine/commands/top';
import { registerStatsCommand } from './engine/commands/stats';
import { registerUpdateCommand } from './engine/commands/update';
import { registerPortCommand } from './engine/commands/port';
import { registerCpCommand } from './engine/commands/cp';
import { registerDiffCommand } from './engine/commands/diff';
import { registerCommitCommand } from './engine/commands/commit';
import { registerExportCommand } from './engine/commands/export';
import { registerPruneCommands } from './engine/commands/prune';
import { registerEventsCommand } from './engine/commands/events';
import { registerCheckCommand } from './engine/commands/check';
import { registerBootCommand } from './engine/commands/boot';
import { restoreCallerEnv } from './caller-env';

export const VERSION = '0.1.0';

function render(e: unknown, debug: boolean): string {
  // A full disk is reported the same way wherever it surfaced (a write deep in a library).
  e = diskFullError(e);
  if (isBerthError(e)) {
    let s = `Error: ${e.message}\n`;
    if (e.hint) s += `hint: ${e.hint}\n`;
    if (debug && e.cause instanceof Error && e.cause.stack) s += `cause: ${e.cause.stack}\n`;
    return s;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return debug && err.stack ? `Error: ${err.stack}\n` : `Error: ${err.message}\n`;
}

/** `berth logs x | head`: the reader went away; stop quietly, as docker does. */
function quietOnBrokenPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

/**
 * The program with every command. `makeEnv` gets the program, to read the global options
 * from when the engine is first needed (tests pass an env of their own).
 */
export function buildProgram(makeEnv: (program: BerthCommand) => CliEnv): BerthCommand {
  const program = new BerthCommand('berth')
    .description('Berth: a daemonless, docker-compatible container engine')
    .version(`berth version ${VERSION}`, '-v, --version')
    .option('--root <dir>', 'state directory (default /var/lib/berth, or $BERTH_ROOT)')
    .option('--runroot <dir>', 'run-time state directory (default /run/berth, or $BERTH_RUNROOT)')
    .option('--storage-driver <name>', 'snapshotter: overlay or copy (vfs); default: overlay where it works')
    .option('-D, --debug', 'print error causes and stack traces')
    .enablePositionalOptions()
    .exitOverride();
  const env = makeEnv(program);
  const image = program.command('image').description('manage images');
  const container = program.command('container').description('manage containers');
  registerImageCommands(program, image, env);
  registerArchiveCommands(program, image, env);
  registerRunCommands(program, container, env);
  registerContainerCommands(program, container, env);
  registerExecCommand(program, container, env);
  registerHealthcheckCommand(program, env);
  registerInspectCommands(program, container, env);
  registerVolumeCommands(program, env);
  registerNetworkCommands(program, env);
  registerSystemCommands(program, env, VERSION);
  registerTopCommand(program, container, env);
  registerStatsCommand(program, container, env);
  registerUpdateCommand(program, container, env);
  registerPortCommand(program, container, env);
  registerCpCommand(program, container, env);
  registerDiffCommand(program, container, env);
  registerCommitCommand(program, container, env);
  registerExportCommand(program, container, env);
  // `system` exists once the system commands are registered; these add to it.
  const system = program.commands.find((c) => c.name() === 'system')!;
  registerPruneCommands(container, system, env);
  registerEventsCommand(program, system, env);
  registerCheckCommand(system, env);
  registerBootCommand(system, env);
  // Subcommands fail the same way as the program (no process.exit from commander).
  for (const c of [image, container, system, ...program.commands, ...image.commands, ...container.commands, ...system.commands]) c.exitOverride();
  return program;
}

async function main(argv: string[]): Promise<void> {
  quietOnBrokenPipe(process.stdout);
  quietOnBrokenPipe(process.stderr);
  let engine: Engine | undefined;
  const program = buildProgram((p) => ({
    engine() {
      engine ??= new Engine(engineOptionsFrom(p.opts<GlobalOptions>()));
      return engine;
    },
    out: process.stdout,
    err: process.stderr,
    exit(code) {
      process.exitCode = code;
    },
  }));

  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    if (e instanceof ExitStatusError) {
      process.stderr.write(render(e.cause, program.opts<GlobalOptions>().debug === true));
      process.exitCode = e.status;
      return;
    }
    process.stderr.write(render(e, program.opts<GlobalOptions>().debug === true));
    process.exitCode = 1;
  } finally {
    engine?.close();
  }
}

// Only as the entry point (bin/berth): tests import buildProgram.
if (require.main === module) {
  restoreCallerEnv();
  void main(process.argv);
}
