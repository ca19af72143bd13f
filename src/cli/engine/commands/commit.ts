/** `commit [-a] [-c]... [-m] [-p] CONTAINER [REPO[:TAG]]`: prints the new image id. */
import { Command } from 'commander';
import { parseChanges } from '../../../images/config-changes';
import { collect } from '../../parse';
import type { CliEnv } from '../env';

export function registerCommitCommand(program: Command, container: Command, env: CliEnv): void {
  const commit = (c: Command) =>
    c
      .argument('<container>')
      .argument('[repository]', 'REPOSITORY[:TAG] for the new image')
      .option('-a, --author <author>', 'author (e.g. "Jane Doe <jane@example.com>")')
      .option('-c, --change <instruction>', 'Dockerfile instruction to apply (CMD, ENV, WORKDIR, ...)', collect, [])
      .option('-m, --message <text>', 'commit message')
      // A boolean (default true) as docker's: --pause=false, -p=false or --no-pause.
      .option('-p, --pause', 'pause the container while committing (default true)', true)
      .option('--no-pause', 'do not pause')
      .description("create an image from a container's changes")
      .action(async (name: string, repository: string | undefined, o: { author?: string; change: string[]; message?: string; pause: boolean }) => {
        parseChanges(o.change); // refuse a bad --change before any work
        const created = await env.engine().commit(name, {
          changes: o.change,
          pause: o.pause,
          ...(o.author ? { author: o.author } : {}),
          ...(o.message ? { comment: o.message } : {}),
          ...(repository ? { reference: repository } : {}),
        });
        env.out.write(`${created.record.id}\n`);
      });
  commit(program.command('commit'));
  commit(container.command('commit'));
}
