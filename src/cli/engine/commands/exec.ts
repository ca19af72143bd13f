/** `exec`: run a command in a running container (-i -t -d -e -u -w --privileged). */
import { Command } from 'commander';
import { runHealthCheck } from '../../../engine/containers/health';
import { parseEnvEntry, readEnvFile } from '../../../engine/parse/values';
import { rawTerminal } from '../../../engine/shim';
import { collect } from '../../parse';
import type { CliEnv } from '../env';
import { ExitStatusError, PROXIED, terminalSize } from './run';

interface ExecFlags {
  interactive?: boolean;
  tty?: boolean;
  detach?: boolean;
  env: string[];
  envFile: string[];
  user?: string;
  workdir?: string;
  privileged?: boolean;
  detachKeys?: string;
}

export function registerExecCommand(program: Command, container: Command, env: CliEnv): void {
  const exec = (c: Command) =>
    c
      .argument('<container>')
      .argument('<command...>')
      .passThroughOptions()
      .option('-i, --interactive', 'keep stdin open')
      .option('-t, --tty', 'allocate a pseudo-terminal')
      .option('-d, --detach', 'run in the background')
      .option('-e, --env <KEY=VALUE>', 'set an environment variable', collect, [])
      .option('--env-file <file>', 'read environment variables from a file', collect, [])
      .option('-u, --user <user[:group]>', 'user to run as')
      .option('-w, --workdir <dir>', 'working directory')
      .option('--privileged', 'all capabilities for this process')
      .option('--detach-keys <keys>', 'key sequence to detach')
      .description('run a command in a running container')
      .action(async (name: string, cmd: string[], f: ExecFlags) => {
        const envs: string[] = [];
        for (const file of f.envFile) envs.push(...readEnvFile(file));
        for (const e of f.env) {
          const v = parseEnvEntry(e);
          if (v !== undefined) envs.push(v);
        }
        const term = f.tty && !f.detach && process.stdin.isTTY ? rawTerminal() : undefined;
        const size = f.tty ? terminalSize() : undefined;
        // The process has a session of its own: what a signal to us means for it (ctrl-c at
        // our terminal, a supervisor's TERM) we pass on, as `run` does.
        let forward: ((sig: NodeJS.Signals) => void) | undefined;
        try {
          const code = await env.engine().exec(
            name,
            {
              cmd,
              env: envs,
              ...(f.user ? { user: f.user } : {}),
              ...(f.workdir ? { workdir: f.workdir } : {}),
              tty: f.tty === true,
              interactive: f.interactive === true,
              detach: f.detach === true,
              privileged: f.privileged === true,
              ...(size ? { consoleSize: size } : {}),
            },
            {
              stdin: process.stdin,
              stdout: process.stdout,
              stderr: process.stderr,
              ...(term ? { onResize: term.onResize } : {}),
              ...(f.detachKeys !== undefined ? { detachKeys: f.detachKeys } : {}),
              onStarted: (p) => {
                forward = (sig) => p.signal(sig);
                for (const s of PROXIED) process.on(s, forward);
              },
            },
          );
          env.exit(code);
        } catch (e) {
          // docker: 126 for a command that cannot be invoked, 127 for one not found
          const msg = e instanceof Error ? e.message : String(e);
          if (/^exec: .*no such file or directory/im.test(msg) || /not found in PATH/.test(msg)) throw new ExitStatusError(127, e);
          if (/^exec: .*permission denied/im.test(msg)) throw new ExitStatusError(126, e);
          throw e;
        } finally {
          if (forward) for (const s of PROXIED) process.off(s, forward);
          term?.restore();
          if (f.interactive) process.stdin.pause();
        }
      });
  exec(program.command('exec'));
  exec(container.command('exec'));
}

/** `healthcheck run`: what berth-shim runs on the container's schedule (as podman's). */
export function registerHealthcheckCommand(program: Command, env: CliEnv): void {
  const hc = program.command('healthcheck').description('container health checks');
  hc.command('run')
    .argument('<container>')
    .description('run the health check of a container once; exit 0 when healthy')
    .action(async (name: string) => {
      const r = await runHealthCheck(env.engine(), name);
      env.out.write(`${r.status}\n`);
      env.exit(r.status === 'unhealthy' || r.exitCode !== 0 ? 1 : 0);
    });
  hc.exitOverride();
  for (const c of hc.commands) c.exitOverride();
}
