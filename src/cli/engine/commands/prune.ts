/**
 * `container prune` and `system prune` with docker's warnings, confirmation and report
 * ("Deleted Containers:", ..., "Total reclaimed space: 1.2kB"); `--dry-run` lists what
 * would go and removes nothing.
 */
import { Command } from 'commander';
import { toNs } from '../../../engine/shim';
import { parsePruneFilters } from '../../../engine/system/prune';
import { humanSize } from '../../format/human';
import { collect } from '../../parse';
import type { CliEnv } from '../env';
import { parseLogTime } from '../log-time';
import { confirm } from '../prompt';

const untilMs = (text: string) => Number(toNs(parseLogTime('--filter until', text)) / 1_000_000n);

function section(env: CliEnv, title: string, lines: string[]): void {
  if (lines.length) env.out.write(`${title}\n${lines.map((l) => `${l}\n`).join('')}\n`);
}

export function registerPruneCommands(container: Command, system: Command, env: CliEnv): void {
  container
    .command('prune')
    .option('-f, --force', 'do not ask for confirmation')
    .option('--filter <filter>', 'until=TIMESTAMP|DURATION, label=KEY[=VALUE], label!=KEY[=VALUE]', collect, [])
    .option('--dry-run', 'list what would be removed and remove nothing')
    .description('remove all stopped containers')
    .action(async (o: { force?: boolean; filter: string[]; dryRun?: boolean }) => {
      const filter = parsePruneFilters(o.filter, untilMs);
      if (!o.force && !o.dryRun && !(await confirm(env, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] '))) return;
      const r = await env.engine().pruneContainers({ filter, ...(o.dryRun ? { dryRun: true } : {}) });
      section(env, o.dryRun ? 'Would delete Containers:' : 'Deleted Containers:', r.deleted);
      env.out.write(`Total ${o.dryRun ? 'reclaimable' : 'reclaimed'} space: ${humanSize(r.reclaimed)}\n`);
    });

  system
    .command('prune')
    .option('-a, --all', 'remove all unused images, not just dangling ones')
    .option('--volumes', 'also remove anonymous volumes no container uses')
    .option('-f, --force', 'do not ask for confirmation')
    .option('--filter <filter>', 'until=..., label=... (applied to containers; label also to volumes)', collect, [])
    .option('--dry-run', 'list what would be removed and remove nothing')
    .description('remove stopped containers, unused networks, unused images and layers (and with --volumes, unused anonymous volumes)')
    .action(async (o: { all?: boolean; volumes?: boolean; force?: boolean; filter: string[]; dryRun?: boolean }) => {
      const filter = parsePruneFilters(o.filter, untilMs);
      if (!o.force && !o.dryRun) {
        const items = [
          'all stopped containers',
          'all networks not used by at least one container',
          ...(o.volumes ? ['all anonymous volumes not used by at least one container'] : []),
          o.all ? 'all images without at least one container associated to them' : 'all dangling images',
          'all unpacked layers no image or container needs',
        ];
        const question = `WARNING! This will remove:\n${items.map((i) => `  - ${i}\n`).join('')}\nAre you sure you want to continue? [y/N] `;
        if (!(await confirm(env, question))) return;
      }
      const r = await env.engine().pruneSystem({ filter, ...(o.all ? { all: true } : {}), ...(o.volumes ? { volumes: true } : {}), ...(o.dryRun ? { dryRun: true } : {}) });
      const would = o.dryRun ? 'Would delete' : 'Deleted';
      section(env, `${would} Containers:`, r.containers);
      section(env, `${would} Networks:`, r.networks);
      section(env, `${would} Volumes:`, r.volumes);
      section(env, `${would} Images:`, [...r.images.untagged.map((u) => `untagged: ${u}`), ...r.images.deleted.map((d) => `deleted: ${d}`)]);
      section(env, `${would} Layers:`, r.layers);
      env.out.write(`Total ${o.dryRun ? 'reclaimable' : 'reclaimed'} space: ${humanSize(r.reclaimed)}\n`);
    });
}
