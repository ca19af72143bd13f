/** create, start, run, kill, delete, exec. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { CliEnv } from './env';
import { collect, parseIntFlag, parseUser } from '../parse';
import { createContainer } from '../../runtime/create';
import { startContainer } from '../../runtime/start';
import { runContainer } from '../../runtime/run';
import { killContainer, deleteContainer } from '../../runtime/kill-delete';
import { execInContainer } from '../../runtime/exec';
import { pipeStdio } from '../../runtime/stdio-pipes';
import { parseSignal } from '../../runtime/signals';
import { validateProcess } from '../../spec/validate';
import { BerthError } from '../../core/errors';
import type { Capabilities, Process } from '../../spec/types';

interface CreateFlags {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  detach?: boolean;
  keep?: boolean;
}

function addCreateFlags(cmd: Command): Command {
  return cmd
    .option('-b, --bundle <dir>', 'path to the bundle (directory with config.json)', '.')
    .option('--pid-file <file>', 'write the container process id to this file')
    .option('--console-socket <path>', 'unix socket that receives the pty master (process.terminal)')
    .option('--preserve-fds <n>', 'pass N extra file descriptors (3..3+N-1) to the container', '0')
    .option('--no-pivot', 'do not use pivot_root (for a rootfs on ramfs)')
    .option('--no-new-keyring', 'keep the caller’s session keyring');
}

export function registerLifecycleCommands(program: Command, env: CliEnv): void {
  addCreateFlags(program.command('create').argument('<container-id>').description('create a container (it waits for `start`)')).action(
    async (id: string, f: CreateFlags) => {
      await createContainer(env.ctx(), createOpts(id, f));
    },
  );

  program
    .command('start')
    .argument('<container-id>')
    .description('start the user process of a created container')
    .action(async (id: string) => {
      await startContainer(env.ctx(), id);
    });

  addCreateFlags(program.command('run').argument('<container-id>').description('create and start a container; wait for it unless --detach'))
    .option('-d, --detach', 'do not wait for the container to exit')
    .option('--keep', 'do not delete the container after it exits')
    .action(async (id: string, f: CreateFlags) => {
      const code = await runContainer(env.ctx(), { ...createOpts(id, f), detach: f.detach === true, keep: f.keep === true });
      env.exit(code);
    });

  program
    .command('kill')
    .argument('<container-id>')
    .argument('[signal]', 'signal name or number', 'SIGTERM')
    .option('-a, --all', 'send the signal to every process in the container')
    .description('send a signal to the container init process (or to all its processes)')
    .action(async (id: string, sig: string, f: { all?: boolean }) => {
      await killContainer(env.ctx(), id, parseSignal(sig), f.all === true);
    });

  program
    .command('delete')
    .alias('rm')
    .argument('<container-id>')
    .option('-f, --force', 'kill the container first if it is still running')
    .description('delete a container and everything the runtime made for it')
    .action(async (id: string, f: { force?: boolean }) => {
      await deleteContainer(env.ctx(), id, f.force === true);
    });

  program
    .command('exec')
    .argument('<container-id>')
    .argument('[command...]')
    .option('-p, --process <file>', 'process.json describing the process (instead of a command)')
    .option('-d, --detach', 'do not wait for the process')
    .option('--pid-file <file>', 'write the process id to this file')
    .option('--console-socket <path>', 'unix socket that receives the pty master')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('--cwd <dir>', 'working directory inside the container')
    .option('-e, --env <VAR=value>', 'set an environment variable (repeatable)', collect, [])
    .option('-u, --user <uid[:gid]>', 'numeric user (and group) to run as')
    .option('-g, --additional-gids <gid>', 'additional group (repeatable)', collect, [])
    .option('-c, --cap <CAP_NAME>', 'add a capability (repeatable)', collect, [])
    .option('--no-new-privs', 'set no_new_privs for the process')
    .option('--preserve-fds <n>', 'pass N extra file descriptors', '0')
    .option('--process-label <label>', 'accepted for compatibility (no SELinux here)')
    .option('--apparmor <profile>', 'accepted for compatibility (no AppArmor here)')
    .option('--ignore-paused', 'exec into a paused container too (the process starts frozen)')
    .option('--cgroup <[controller[,controller]:]path>', 'run in this existing sub-cgroup of the container (repeatable)', collect, [])
    .passThroughOptions()
    .description('run a process inside a running container')
    .action(async (id: string, command: string[], f: ExecFlags) => {
      let code: number;
      let pipes: ReturnType<typeof pipeStdio> | undefined;
      try {
        const ctx = env.ctx();
        const process_ = f.process ? processFromFile(f.process) : processFromFlags(ctx.store.load(id).config.process, command, f);
        // As runc: a detached process inherits our stdio (its caller, e.g. containerd's shim,
        // hands us fds for it on purpose); a foreground one without a terminal gets pipes that
        // we relay (runc's setupProcessPipes), so our own fds never reach the container.
        pipes = !f.detach && !process_.terminal ? pipeStdio({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }) : undefined;
        const relay = pipes;
        code = await execInContainer(ctx, {
          id,
          process: process_,
          detach: f.detach === true,
          preserveFds: parseIntFlag('--preserve-fds', f.preserveFds ?? '0'),
          ignorePaused: f.ignorePaused === true,
          cgroups: f.cgroup,
          ...(f.pidFile ? { pidFile: f.pidFile } : {}),
          ...(f.consoleSocket ? { consoleSocket: f.consoleSocket } : {}),
          ...(relay ? { stdio: relay.fds, onStarted: () => relay.spawned() } : {}),
        });
      } catch (e) {
        // runc exits 255 when the process could not be run at all, so that callers can tell
        // that from any status (0..255 less one) the process itself returned.
        env.log().error(e);
        code = EXEC_FAILED;
      } finally {
        if (pipes) {
          await pipes.finish();
          process.stdin.destroy();
        }
      }
      env.exit(code);
    });
}

/** Exit status of `exec` when it could not run the process (runc's). */
const EXEC_FAILED = 255;

/**
 * runc's checkpoint/restore verbs exist so that `-h` and probes find them, and say plainly
 * that this runtime has no CRIU support instead of "No help topic".
 */
export function registerUnsupportedCommands(program: Command): void {
  for (const [verb, what] of [
    ['checkpoint', 'checkpoint a running container (not supported: no CRIU integration)'],
    ['restore', 'restore a container from a checkpoint (not supported: no CRIU integration)'],
  ] as const) {
    program
      .command(verb)
      .argument('<container-id>')
      .allowUnknownOption()
      .description(what)
      .action(() => {
        throw new BerthError('EUNSUPPORTED', `${verb} is not supported by berth-runtime`, {
          hint: 'checkpoint/restore needs CRIU, which berth-runtime does not drive; use runc for it',
        });
      });
  }
}

function createOpts(id: string, f: CreateFlags) {
  return {
    id,
    bundle: f.bundle,
    preserveFds: parseIntFlag('--preserve-fds', f.preserveFds ?? '0'),
    // commander turns --no-pivot into pivot=false.
    noPivot: (f as { pivot?: boolean }).pivot === false,
    noNewKeyring: (f as { newKeyring?: boolean }).newKeyring === false,
    ...(f.pidFile ? { pidFile: f.pidFile } : {}),
    ...(f.consoleSocket ? { consoleSocket: f.consoleSocket } : {}),
  };
}

interface ExecFlags {
  process?: string;
  detach?: boolean;
  pidFile?: string;
  consoleSocket?: string;
  tty?: boolean;
  cwd?: string;
  env: string[];
  user?: string;
  additionalGids: string[];
  cap: string[];
  newPrivs?: boolean;
  preserveFds?: string;
  ignorePaused?: boolean;
  cgroup: string[];
}

function processFromFile(path: string): Process {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new BerthError('EINVALID_ARGUMENT', `cannot read --process ${path}: ${e instanceof Error ? e.message : String(e)}`, {
      hint: 'pass a JSON file shaped like the "process" object of config.json',
    });
  }
  return validateProcess(json, path);
}

/** runc semantics: start from the container's own process and override what the flags say. */
function processFromFlags(base: Process | undefined, command: string[], f: ExecFlags): Process {
  if (command.length === 0) {
    throw new BerthError('EINVALID_ARGUMENT', 'exec needs a command or --process', {
      hint: 'e.g. berth-runtime exec ID sh -c "echo hi"',
    });
  }
  const p: Process = base ? structuredClone(base) : { user: { uid: 0, gid: 0 }, cwd: '/' };
  p.args = command;
  p.terminal = f.tty === true;
  delete p.consoleSize;
  if (f.cwd) p.cwd = f.cwd;
  if (f.env.length) p.env = [...(p.env ?? []), ...f.env];
  if (f.user) {
    const u = parseUser(f.user);
    p.user = { ...p.user, uid: u.uid, gid: u.gid ?? p.user.gid };
  }
  if (f.additionalGids.length) {
    p.user.additionalGids = f.additionalGids.map((g) => parseIntFlag('--additional-gids', g));
  }
  if (f.newPrivs === false) p.noNewPrivileges = true;
  if (f.cap.length) {
    const caps: Capabilities = p.capabilities ?? {};
    for (const set of ['bounding', 'effective', 'permitted'] as const) {
      caps[set] = [...new Set([...(caps[set] ?? []), ...f.cap])];
    }
    p.capabilities = caps;
  }
  return validateProcess(p, '--process flags');
}
