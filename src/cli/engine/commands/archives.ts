/** save, load, import, image copy: moving images in and out of archives and transports. */
import { Command } from 'commander';
import { BerthError } from '../../../core/errors';
import { importInputFromArgument, parseImageLocation, type ArchiveFormat } from '../../../images/archive';
import { parseChanges } from '../../../images/config-changes';
import { recordDisplayName } from '../../../images/store';
import { collect } from '../../parse';
import type { CliEnv } from '../env';

export function registerArchiveCommands(program: Command, image: Command, env: CliEnv): void {
  const save = (cmd: Command) =>
    cmd
      .argument('<images...>', 'names or ids (a repository without a tag saves all its tags)')
      .option('-o, --output <file>', 'write to a file instead of stdout')
      .option('--format <format>', 'docker-archive (default) or oci-archive', 'docker-archive')
      .description('save images to a tar archive (docker load reads it)')
      .action(async (images: string[], o: { output?: string; format: string }) => {
        if (o.format !== 'docker-archive' && o.format !== 'oci-archive') {
          throw new BerthError('EINVALID_ARGUMENT', `invalid --format "${o.format}"`, { hint: 'use docker-archive or oci-archive' });
        }
        if (!o.output && process.stdout.isTTY) {
          throw new BerthError('EINVALID_ARGUMENT', 'cowardly refusing to save to a terminal', { hint: 'use -o FILE or redirect stdout' });
        }
        const target = o.output ? { path: o.output } : { stream: process.stdout };
        await env.engine().saveImages(images, target, { format: o.format as ArchiveFormat });
      });
  save(program.command('save'));
  save(image.command('save'));

  const load = (cmd: Command) =>
    cmd
      .option('-i, --input <file>', 'read from a file instead of stdin')
      .option('-q, --quiet', 'print only the loaded names')
      .option('--platform <os/arch>', 'platform to load from a multi-platform archive')
      .description('load images from a docker-archive or OCI archive (plain, gzip or zstd)')
      .action(async (o: { input?: string; quiet?: boolean; platform?: string }) => {
        if (!o.input && process.stdin.isTTY) {
          throw new BerthError('EINVALID_ARGUMENT', 'requested load from stdin, but stdin is empty', { hint: 'use -i FILE or pipe an archive in' });
        }
        const loaded = await env.engine().loadImages(o.input ? { path: o.input } : { stream: process.stdin }, o.platform ? { platform: o.platform } : {});
        for (const l of loaded) {
          if (l.names.length) for (const n of l.names) env.out.write(`Loaded image: ${recordDisplayName(n)}\n`);
          else env.out.write(`Loaded image ID: ${l.id}\n`);
        }
      });
  load(program.command('load'));
  load(image.command('load'));

  const imp = (cmd: Command) =>
    cmd
      .argument('<source>', 'rootfs tarball: a file, - for stdin, or an http(s) URL')
      .argument('[repository]', 'name for the image (REPOSITORY[:TAG])')
      .option('-c, --change <instruction>', 'Dockerfile instruction to apply (CMD, ENV, WORKDIR, ...)', collect, [])
      .option('-m, --message <text>', 'commit message')
      .option('--platform <os/arch>', 'platform of the image')
      .description('create an image from a root filesystem tarball')
      .action(async (source: string, repository: string | undefined, o: { change: string[]; message?: string; platform?: string }) => {
        const changes = parseChanges(o.change);
        const created = await env.engine().importImage(importInputFromArgument(source, process.stdin), {
          changes,
          ...(repository ? { name: repository } : {}),
          ...(o.message ? { message: o.message } : {}),
          ...(o.platform ? { platform: o.platform } : {}),
        });
        env.out.write(`${created.record.id}\n`);
      });
  imp(program.command('import'));
  imp(image.command('import'));

  image
    .command('copy')
    .alias('cp')
    .argument('<source>', 'docker://REF, oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF], berth:NAME')
    .argument('<destination>', 'same forms')
    .option('--platform <os/arch>', 'platform to copy from a multi-platform source')
    .option('-q, --quiet', 'print nothing but errors')
    .description('copy an image between registries, archives, layouts and the local store (as skopeo copy)')
    .action(async (src: string, dst: string, o: { platform?: string; quiet?: boolean }) => {
      parseImageLocation(src);
      parseImageLocation(dst);
      const r = await env.engine().copyImage(src, dst, o.platform ? { platform: o.platform } : {});
      if (!o.quiet) env.out.write(`Copied ${r.source} to ${r.destination} (${r.manifestDigest})\n`);
    });
}
