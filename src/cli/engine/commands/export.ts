/**
 * `export [-o FILE] CONTAINER`: a tar of the container's root file system; a terminal on
 * stdout is refused, and -o writes a temporary file renamed when complete.
 */
import { Command } from 'commander';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { BerthError } from '../../../core/errors';
import type { CliEnv } from '../env';

export function registerExportCommand(program: Command, container: Command, env: CliEnv): void {
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
