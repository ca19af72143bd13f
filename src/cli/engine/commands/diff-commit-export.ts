/**
 * `diff CONTAINER` (A/C/D lines), `commit [-a] [-c]... [-m] [-p] CONTAINER [REPO[:TAG]]`
 * (prints the new image id) and `export [-o FILE] CONTAINER` (a tar of the root file system;
 * a terminal on stdout is refused, and -o writes a temporary file renamed when complete).
 */
import { Command } from 'commander';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { BerthError } from '../../../core/errors';
import { parseChanges } from '../../../images/config-changes';
import { collect } from '../../parse';
import type { CliEnv } from '../env';

export function registerDiffCommitExportCommands(program: Command, container: Command, env: CliEnv): void {
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

  const exp = (c: Command) =>
    c
      .argument('<container>')
      .option('-o, --output <file>', 'write to a file instead of stdout')
      .description("export a container's root file system as a tar archive")
      .action(async (name: string, o: { output?: string }) => {
        const engine = env.engine();
        if (!o.output) {
          if (process.stdout.isTTY) throw new BerthError('EINVALID_ARGUMENT', 'cowardly refusing to save to a terminal', { hint: 'use the -o flag or redirect stdout' });
          await engine.exportContainer(name, process.stdout);
          return;
        }
        const tmp = `${o.output}.berth-${process.pid}.tmp`;
        const out = createWriteStream(tmp);
        try {
          await engine.exportContainer(name, out);
          out.end();
          await finished(out);
          renameSync(tmp, o.output);
        } catch (e) {
          out.destroy();
          rmSync(tmp, { force: true });
          throw e;
        }
      });
  exp(program.command('export'));
  exp(container.command('export'));
}
