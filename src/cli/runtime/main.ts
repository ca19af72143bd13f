/**
 * `berth-runtime`: the OCI runtime command line, compatible with runc's so that dockerd
 * (`--add-runtime`), podman (`--runtime`) and containerd's runc shim (`BinaryName`) can use
 * it. This file only parses; every verb calls the runtime library.
 */
import { Command, CommanderError, type Help } from 'commander';
import { StateStore, DEFAULT_STATE_ROOT } from '../../runtime/state-store';
import { RuntimeLog, writeStderr, type LogFormat } from './log';
import { registerLifecycleCommands, registerUnsupportedCommands } from './lifecycle-commands';
import { registerInfoCommands } from './info-commands';
import type { CliEnv } from './env';
import { restoreCallerEnv } from '../caller-env';
import { OCI_VERSION } from '../../spec/state';
import { BerthError } from '../../core/errors';

export const VERSION = '0.1.0';

/** Set by the bundler (scripts/build.mjs) to the checkout's commit; absent under plain tsc. */
declare const BERTH_BUILD_COMMIT: string | undefined;

/**
 * `--version` as runc prints it, since tools parse it (docker info's runc version, runc's own
 * version.bats): the name and version, the commit, then the spec version on its own line.
 */
export function versionText(): string {
  const commit = typeof BERTH_BUILD_COMMIT === 'string' && BERTH_BUILD_COMMIT ? BERTH_BUILD_COMMIT : 'unknown';
  return `berth-runtime version ${VERSION}\ncommit: ${commit}\nspec: ${OCI_VERSION}`;
}

/** runc exits 3 for a command it does not know (urfave/cli's "No help topic"). */
const EXIT_UNKNOWN_COMMAND = 3;

/** Global options that take a value, to find the command word before commander sees argv. */
const GLOBAL_WITH_VALUE = new Set(['--root', '--log', '--log-format', '--rootless', '--criu']);

/**
 * The command word of argv (after node and the script), skipping global options; `help X`
 * yields X. Undefined when there is none (bare `berth-runtime`, `--help`, `--version`).
 */
export function commandWord(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1];
    if (a.startsWith('-')) {
      if (GLOBAL_WITH_VALUE.has(a)) i++;
      continue;
    }
    if (a === 'help') return args.slice(i + 1).find((x) => !x.startsWith('-'));
    return a;
  }
  return undefined;
}

/**
 * Help in runc's layout (NAME, USAGE, COMMANDS/OPTIONS sections), because scripts and tests
 * written for runc look at its first lines: "NAME:" then "   runc kill - ...".
 */
function formatRuncHelp(cmd: Command, helper: Help): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  const out: string[] = ['NAME:', `   ${names.join(' ')} - ${helper.commandDescription(cmd)}`, '', 'USAGE:', `   ${helper.commandUsage(cmd)}`];
  const width = helper.padWidth(cmd, helper);
  const section = (title: string, rows: Array<[string, string]>) => {
    if (rows.length === 0) return;
    out.push('', `${title}:`, ...rows.map(([term, desc]) => `   ${term.padEnd(width + 2)}${desc}`.trimEnd()));
  };
  section('COMMANDS', helper.visibleCommands(cmd).map((c) => [helper.subcommandTerm(c), helper.subcommandDescription(c)]));
  section('ARGUMENTS', helper.visibleArguments(cmd).map((a) => [helper.argumentTerm(a), helper.argumentDescription(a)]));
  section(cmd.parent ? 'OPTIONS' : 'GLOBAL OPTIONS', helper.visibleOptions(cmd).map((o) => [helper.optionTerm(o), helper.optionDescription(o)]));
  return out.join('\n') + '\n';
}

interface GlobalOpts {
  root: string;
  log?: string;
  logFormat: LogFormat;
  debug?: boolean;
  systemdCgroup?: boolean;
}

function main(argv: string[]): void {
  const program = new Command('berth-runtime');
  program
    .description('Berth OCI runtime (runc-compatible)')
    .version(versionText(), '-v, --version')
    .option('--root <dir>', 'directory for container state', process.env.BERTH_RUNTIME_ROOT ?? DEFAULT_STATE_ROOT)
    .option('--log <file>', 'also write log messages to this file')
    .option('--log-format <format>', 'log file format: text or json', 'text')
    .option('--debug', 'verbose logging')
    .option('--systemd-cgroup', 'cgroupsPath is in systemd form (slice:prefix:name); accepted for compatibility')
    .option('--rootless <value>', 'accepted for runc compatibility (auto, true, false)')
    .option('--criu <path>', 'accepted for runc compatibility; checkpointing is not supported')
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  // Inherited by every command registered below.
  program.configureHelp({ formatHelp: formatRuncHelp });

  let log: RuntimeLog | undefined;
  const env: CliEnv = {
    log() {
      if (!log) {
        const o = program.opts<GlobalOpts>();
        const fmt = o.logFormat === 'json' ? 'json' : 'text';
        log = new RuntimeLog(o.log, fmt, o.debug === true);
      }
      return log;
    },
    ctx() {
      const o = program.opts<GlobalOpts>();
      const l = env.log();
      return { store: new StateStore(o.root), warn: (m) => l.warn(m), debug: (m) => l.debug(m), systemdCgroup: o.systemdCgroup === true };
    },
    exit(code) {
      process.exitCode = code;
    },
  };
  registerLifecycleCommands(program, env);
  registerInfoCommands(program, env);
  registerUnsupportedCommands(program);

  // Checked before commander parses: it would print the top-level help for `foo -h` and
  // exit 0, where runc (and tools relying on it) say "No help topic" and exit 3.
  const word = commandWord(argv.slice(2));
  if (word !== undefined && !program.commands.some((c) => c.name() === word || c.aliases().includes(word))) {
    env.log().error(
      new BerthError('EINVALID_ARGUMENT', `No help topic for '${word}'`, { hint: 'run berth-runtime --help for the list of commands' }),
    );
    process.exitCode = EXIT_UNKNOWN_COMMAND;
    return;
  }

  program.parseAsync(argv).catch((e: unknown) => {
    if (e instanceof CommanderError) {
      // Commander already printed help/version or the usage error.
      process.exitCode = e.exitCode;
      return;
    }
    env.log().error(e);
    process.exitCode = 1;
  });
}

restoreCallerEnv();
try {
  main(process.argv);
} catch (e) {
  if (!(e instanceof CommanderError)) {
    writeStderr(`berth-runtime: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  } else {
    process.exitCode = e.exitCode;
  }
}
