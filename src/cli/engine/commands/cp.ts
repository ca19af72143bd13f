/**
 * `cp [-a] [-L] [-q] CONTAINER:SRC DEST | SRC CONTAINER:DEST`, with `-` for a tar stream on
 * stdout (as source) or stdin (as destination), as docker's cp. "Successfully copied ..." is
 * printed on a terminal only (docker's progress is suppressed without one, and by -q).
 */
import { Command } from 'commander';
import { BerthError } from '../../../core/errors';
import { splitCopyArgument } from '../../../engine/copy/paths';
import { humanSize } from '../../format/human';
import type { CliEnv } from '../env';

export function registerCpCommand(program: Command, container: Command, env: CliEnv): void {
  const cp = (c: Command) =>
    c
      .argument('<source>', 'CONTAINER:PATH, a host path, or - (a tar on stdin)')
      .argument('<destination>', 'CONTAINER:PATH, a host path, or - (a tar on stdout)')
      .option('-a, --archive', 'keep uid/gid and setuid bits of the source')
      .option('-L, --follow-link', 'follow a symlink named as the source')
      .option('-q, --quiet', 'no progress message')
      .description('copy files between a container and the host')
      .action(async (source: string, destination: string, o: { archive?: boolean; followLink?: boolean; quiet?: boolean }) => {
        const src = source === '-' ? undefined : splitCopyArgument(source);
        const dst = destination === '-' ? undefined : splitCopyArgument(destination);
        if (src && dst) throw new BerthError('EINVALID_ARGUMENT', 'copying between containers is not supported', { hint: 'copy to the host first, then into the other container' });
        if (!src && !dst) throw new BerthError('EINVALID_ARGUMENT', 'must specify at least one container source', { hint: 'berth cp CONTAINER:SRC DEST, or berth cp SRC CONTAINER:DEST' });
        const opts = { ...(o.archive ? { archive: true } : {}), ...(o.followLink ? { followLink: true } : {}) };
        const engine = env.engine();
        let bytes: number;
        let warnings: string[];
        let where: string;
        if (src) {
          const r = await engine.copyFromContainer(src.container, src.path, destination === '-' ? { stream: process.stdout } : { path: destination }, opts);
          ({ bytes, warnings } = r);
          where = destination;
        } else {
          if (source === '-' && process.stdin.isTTY) throw new BerthError('EINVALID_ARGUMENT', 'cp - expects a tar archive on stdin, not a terminal', { hint: 'tar -c FILES | berth cp - CONTAINER:DIR' });
          const r = await engine.copyToContainer(dst!.container, source === '-' ? { stream: process.stdin } : { path: source }, dst!.path, opts);
          ({ bytes, warnings } = r);
          where = destination;
        }
        for (const w of warnings) env.err.write(`WARNING: ${w}\n`);
        if (!o.quiet && env.err.isTTY && destination !== '-') env.err.write(`Successfully copied ${humanSize(bytes)} to ${where}\n`);
      });
  cp(program.command('cp'));
  cp(container.command('cp'));
}
