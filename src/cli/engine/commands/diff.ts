/** `diff CONTAINER`: the A/C/D lines of what a container changed in its image's file system. */
import { Command } from 'commander';
import type { CliEnv } from '../env';

export function registerDiffCommand(program: Command, container: Command, env: CliEnv): void {
  const diff = (c: Command) =>
    c
      .argument('<container>')
      .description("files a container added (A), changed (C) or deleted (D) in its image's file system")
      .action(async (name: string) => {
        const changes = await env.engine().diff(name);
        env.out.write(changes.map((ch) => `${ch.kind} ${ch.path}\n`).join(''));
      });
  diff(program.command('diff'));
  diff(container.command('diff'));
}
