/**
 * `berth-runtime`: the OCI runtime command line, compatible with runc's so that dockerd
 * (`--add-runtime`), podman (`--runtime`) and containerd's runc shim (`BinaryName`) can use
 * it. This file only parses; every verb calls the runtime library.
 */
import { Command, CommanderError } from 'commander';
import { StateStore, DEFAULT_STATE_ROOT } from '../../runtime/state-store';
import type { RuntimeContext } from '../../runtime/context';
import { RuntimeLog, writeStderr, type LogFormat } from './log';
import { registerLifecycleCommands } from './lifecycle-commands';
import { registerInfoCommands } from './info-commands';
import { restoreCallerEnv } from '../caller-env';

export const VERSION = '0.1.0';

interface GlobalOpts {
  root: string;
  log?: string;
  logFormat: LogFormat;
  debug?: boolean;
  systemdCgroup?: boolean;
}

export interface CliEnv {
  ctx(): RuntimeContext;
  log(): RuntimeLog;
  /** Sets the process exit status (the CLI never calls process.exit while work is pending). */
  exit(code: number): void;
}

function main(argv: string[]): void {
  const program = new Command('berth-runtime');
  program
    .description('Berth OCI runtime (runc-compatible)')
    .version(`berth-runtime version ${VERSION}\nspec: 1.2.0`, '-v, --version')
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
      return { store: new StateStore(o.root), warn: (m) => l.warn(m), systemdCgroup: o.systemdCgroup === true };
    },
    exit(code) {
      process.exitCode = code;
    },
  };
  registerLifecycleCommands(program, env);
  registerInfoCommands(program, env);

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
