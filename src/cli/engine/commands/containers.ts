/**
 * Container lifecycle commands with docker's flags, output and exit codes: start, stop,
 * restart, kill, rm, ps, logs, wait, pause, unpause, rename, attach, and the hidden
 * `container cleanup` the shim runs when a container exits.
 */
import { Command } from 'commander';
import { BerthError } from '../../../core/errors';
import { rawTerminal } from '../../../engine/shim';
import { formatRows } from '../../format/template';
import { collect, parseIntFlag } from '../../parse';
import { CONTAINER_HEADERS, containerRow } from '../container-format';
import { eachOf } from '../each';
import { filterArgsFromFlags } from '../filter-flags';
import { inFlagWords } from '../flag-words';
import { warning, type CliEnv } from '../env';
import { runAttached, ExitStatusError, terminalSize } from './run';
import { startFailureCode } from '../../../engine/containers/start';
import { parseLogTime } from '../log-time';

export function registerContainerCommands(program: Command, container: Command, env: CliEnv): void {
  const both = (name: string, setup: (c: Command) => Command, alias?: string) => {
    setup(program.command(name));
    const sub = setup(container.command(name));
    if (alias) sub.alias(alias);
  };

  both('start', (c) =>
    c
      .argument('<containers...>')
      .option('-a, --attach', 'attach stdout/stderr and forward signals')
      .option('-i, --interactive', "attach the container's stdin")
      .option('--detach-keys <keys>', 'key sequence to detach')
      .description('start stopped containers')
      .action(async (names: string[], o: { attach?: boolean; interactive?: boolean; detachKeys?: string }) => {
        const engine = env.engine();
        if (o.attach || o.interactive) {
          if (names.length > 1) throw new BerthError('EINVALID_ARGUMENT', 'you cannot start and attach multiple containers at once');
          let prepared;
          try {
            const size = terminalSize();
            prepared = await engine.containers.prepare(names[0]!, { ...(size ? { consoleSize: size } : {}), onWarning: (m) => warning(env, m) });
          } catch (e) {
            throw new ExitStatusError(startFailureCode(e), e);
          }
          if (!prepared) return;
          const code = await runAttached(env, prepared, {
            stdin: o.interactive === true,
            tty: prepared.rec.Config.Tty === true,
            ...(o.detachKeys !== undefined ? { detachKeys: o.detachKeys } : {}),
            sigProxy: true,
            rm: prepared.rec.HostConfig.AutoRemove === true,
          });
          env.exit(code);
          return;
        }
        await eachOf(env, names, async (n) => {
          await engine.containers.start(n, { onWarning: (m) => warning(env, m) });
          env.out.write(`${n}\n`);
        });
      }),
  );

  both('stop', (c) =>
    c
      .argument('<containers...>')
      .option('-t, --time <seconds>', 'seconds to wait before killing (default: the container\'s stop timeout, 10)')
      .option('-s, --signal <signal>', 'signal to send (default: the image\'s STOPSIGNAL or SIGTERM)')
      .description('stop running containers (stop signal, then SIGKILL after the timeout)')
      .action(async (names: string[], o: { time?: string; signal?: string }) => {
        const t = o.time === undefined ? undefined : parseIntFlag('--time', o.time, -1);
        await eachOf(env, names, async (n) => {
          if (o.signal) await env.engine().containerStore.update((await env.engine().containerStore.resolve(n)).Id, (r) => (r.Config.StopSignal = o.signal));
          const r = await env.engine().containers.stop(n, t);
          if (r.killed) env.err.write(`${r.killed}\n`);
          env.out.write(`${n}\n`);
        });
      }),
  );

  both('restart', (c) =>
    c
      .argument('<containers...>')
      .option('-t, --time <seconds>', 'seconds to wait before killing')
      .description('restart containers')
      .action(async (names: string[], o: { time?: string }) => {
        const t = o.time === undefined ? undefined : parseIntFlag('--time', o.time, -1);
        await eachOf(env, names, async (n) => {
          await env.engine().containers.restart(n, t);
          env.out.write(`${n}\n`);
        });
      }),
  );

  both('kill', (c) =>
    c
      .argument('<containers...>')
      .option('-s, --signal <signal>', 'signal to send', 'KILL')
      .description('send a signal to running containers')
      .action(async (names: string[], o: { signal: string }) => {
        await eachOf(env, names, async (n) => {
          await env.engine().containers.kill(n, o.signal);
          env.out.write(`${n}\n`);
        });
      }),
  );

  both(
    'rm',
    (c) =>
      c
        .argument('<containers...>')
        .option('-f, --force', 'kill a running container first')
        .option('-v, --volumes', 'also remove anonymous volumes')
        .option('-l, --link', 'accepted for compatibility')
        .description('remove containers')
        .action(async (names: string[], o: { force?: boolean; volumes?: boolean }) => {
          await eachOf(env, names, async (n) => {
            await env.engine().containers.remove(n, { force: o.force === true, volumes: o.volumes === true });
            env.out.write(`${n}\n`);
          });
        }),
    'remove',
  );

  const ps = (c: Command) =>
    c
      .option('-a, --all', 'show all containers (default: running)')
      .option('-q, --quiet', 'only ids')
      .option('-l, --latest', 'only the latest created container')
      .option('-n, --last <n>', 'the n last created containers')
      .option('-s, --size', 'show sizes')
      .option('-f, --filter <filter>', 'id, name, label, status, exited, ancestor, before, since, volume, health, network', collect, [])
      .option('--format <template>', "Go template, 'table TEMPLATE' or 'json'")
      .option('--no-trunc', 'do not truncate output')
      .description('list containers')
      .action(async (o: { all?: boolean; quiet?: boolean; latest?: boolean; last?: string; size?: boolean; filter: string[]; format?: string; trunc: boolean }) => {
        const n = o.latest ? 1 : o.last !== undefined ? parseIntFlag('--last', o.last, 0) : undefined;
        const shown = await env.engine().listContainers({
          filters: filterArgsFromFlags(o.filter, 'refuse'),
          ...(o.all ? { all: true } : {}),
          ...(n !== undefined ? { limit: n } : {}),
          ...(o.size && !o.quiet ? { size: true } : {}),
        });
        if (o.quiet) return void env.out.write(shown.map(({ record: r }) => `${o.trunc ? r.Id.slice(0, 12) : r.Id}\n`).join(''));
        const rows = shown.map(({ record, size }) => containerRow(record, { noTrunc: !o.trunc, ...(size ? { size } : {}) }));
        const format =
          o.format ??
          (o.size
            ? 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}'
            : 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}');
        env.out.write(formatRows(format, rows, { headers: CONTAINER_HEADERS, typeName: '*formatter.ContainerContext' }));
      });
  ps(program.command('ps'));
  ps(container.command('ls').alias('list').alias('ps'));

  both('logs', (c) =>
    c
      .argument('<container>')
      .option('-f, --follow', 'follow the output until the container exits')
      .option('-t, --timestamps', 'show timestamps')
      .option('--since <time>', 'only since this time (RFC 3339, unix seconds, or relative: 10m)')
      .option('--until <time>', 'only until this time')
      .option('-n, --tail <n>', 'only the last n lines ("all" for all)', 'all')
      .option('--details', 'accepted for compatibility')
      .description("a container's output")
      .action(async (name: string, o: { follow?: boolean; timestamps?: boolean; since?: string; until?: string; tail: string }) => {
        const tail = o.tail === 'all' ? undefined : parseIntFlag('--tail', o.tail, 0);
        let entries;
        try {
          entries = await env.engine().logs(name, {
            follow: o.follow === true,
            timestamps: o.timestamps === true,
            ...(o.since ? { since: parseLogTime('--since', o.since) } : {}),
            ...(o.until ? { until: parseLogTime('--until', o.until) } : {}),
            ...(tail !== undefined ? { tail } : {}),
          });
        } catch (e) {
          throw inFlagWords(e, { 'HostConfig.LogConfig.Type': '--log-driver' });
        }
        for await (const entry of entries) {
          (entry.stream === 'stderr' ? process.stderr : process.stdout).write(entry.line);
        }
      }),
  );

  both('wait', (c) =>
    c
      .argument('<containers...>')
      .description('block until containers stop, then print their exit codes')
      .action(async (names: string[]) => {
        await eachOf(env, names, async (n) => {
          env.out.write(`${await env.engine().containers.wait(n)}\n`);
        });
      }),
  );

  both('pause', (c) =>
    c
      .argument('<containers...>')
      .description('freeze all processes of containers')
      .action(async (names: string[]) => eachOf(env, names, async (n) => {
        await env.engine().containers.pause(n);
        env.out.write(`${n}\n`);
      })),
  );
  both('unpause', (c) =>
    c
      .argument('<containers...>')
      .description('thaw paused containers')
      .action(async (names: string[]) => eachOf(env, names, async (n) => {
        await env.engine().containers.unpause(n);
        env.out.write(`${n}\n`);
      })),
  );
  both('rename', (c) =>
    c
      .argument('<container>')
      .argument('<new-name>')
      .description('rename a container')
      .action(async (name: string, newName: string) => env.engine().containers.rename(name, newName)),
  );

  both('attach', (c) =>
    c
      .argument('<container>')
      .option('--no-stdin', 'do not attach stdin')
      .option('--detach-keys <keys>', 'key sequence to detach (default ctrl-p,ctrl-q)')
      .option('--sig-proxy', 'accepted for compatibility', true)
      .description("attach to a running container's input and output")
      .action(async (name: string, o: { stdin: boolean; detachKeys?: string }) => {
        const engine = env.engine();
        const rec = await engine.containers.get(name);
        const term = rec.State.Running && rec.Config.Tty === true && process.stdin.isTTY ? rawTerminal() : undefined;
        try {
          const r = await engine.attach(rec.Id, {
            ...(o.stdin ? { stdin: process.stdin } : {}),
            stdout: process.stdout,
            stderr: process.stderr,
            ...(o.detachKeys !== undefined ? { detachKeys: o.detachKeys } : {}),
            ...(term ? { onResize: term.onResize } : {}),
          });
          if (!r.detached) env.exit(r.exitCode ?? 0);
        } finally {
          term?.restore();
          process.stdin.pause();
        }
      }),
  );

  // What berth-shim runs when a container exits (docker has no such command; podman does).
  container
    .command('cleanup', { hidden: true })
    .argument('<container>')
    .option('--takeover', 'only wait out a restart backoff nobody else waits out')
    .description('settle an exited container: record its status, tear down, restart or remove it')
    .action(async (id: string, o: { takeover?: boolean }) => {
      // Our cwd may be the shim's directory, which a restart replaces.
      process.chdir('/');
      await env.engine().containers.cleanup(id, { takeover: o.takeover === true });
    });
}
