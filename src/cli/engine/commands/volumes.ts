/** volume create / ls / inspect / rm / prune, with docker's flags and output. */
import { Command } from 'commander';
import { BerthError } from '../../../core/errors';
import { volumeFilter } from '../../../engine/query';
import { parseKeyValue, parseLabel } from '../../../engine/parse/values';
import { humanSize } from '../../format/human';
import { formatRows } from '../../format/template';
import { collect } from '../../parse';
import type { CliEnv } from '../env';
import { confirm } from '../prompt';
import { eachOf } from '../each';
import { filterArgsFromFlags } from '../filter-flags';

export function registerVolumeCommands(program: Command, env: CliEnv): void {
  const volume = program.command('volume').description('manage volumes');
  volume
    .command('create')
    .argument('[name]', 'volume name (random when omitted)')
    .option('--name <name>', 'volume name')
    .option('-d, --driver <driver>', 'volume driver (local)', 'local')
    .option('-l, --label <KEY=VALUE>', 'metadata', collect, [])
    .option('-o, --opt <KEY=VALUE>', 'driver options', collect, [])
    .description('create a volume')
    .action(async (name: string | undefined, o: { name?: string; driver: string; label: string[]; opt: string[] }) => {
      if (o.driver !== 'local') throw new BerthError('EINVALID_ARGUMENT', `volume driver "${o.driver}" is not available`, { hint: 'use the local driver' });
      if (name && o.name && name !== o.name) throw new BerthError('EINVALID_ARGUMENT', `conflicting names "${name}" and --name "${o.name}"`);
      const labels = Object.fromEntries(o.label.map(parseLabel));
      const opts = Object.fromEntries(o.opt.map((x) => parseKeyValue('--opt', x)));
      env.out.write(`${(await env.engine().volumes.create(name ?? o.name, labels, opts)).Name}\n`);
    });
  volume
    .command('ls')
    .alias('list')
    .option('-f, --filter <filter>', 'dangling=true|false, name=, label=, driver=', collect, [])
    .option('--format <template>', "Go template, 'table TEMPLATE' or 'json'")
    .option('-q, --quiet', 'only names')
    .description('list volumes')
    .action(async (o: { filter: string[]; format?: string; quiet?: boolean }) => {
      const vols = await env.engine().listVolumes(filterArgsFromFlags(o.filter, 'invalid-value'));
      if (o.quiet) return void env.out.write(vols.map((v) => `${v.Name}\n`).join(''));
      const rows = vols.map((v) => ({ Name: v.Name, Driver: v.Driver, Mountpoint: v.Mountpoint, Scope: v.Scope, CreatedAt: v.CreatedAt, Labels: Object.entries(v.Labels).map(([k, x]) => `${k}=${x}`).join(',') }));
      env.out.write(formatRows(o.format ?? 'table {{.Driver}}\t{{.Name}}', rows, { headers: { Name: 'VOLUME NAME', Driver: 'DRIVER', Mountpoint: 'MOUNTPOINT', Scope: 'SCOPE', CreatedAt: 'CREATED', Labels: 'LABELS' }, typeName: '*formatter.volumeContext' }));
    });
  volume
    .command('inspect')
    .argument('<names...>')
    .option('-f, --format <template>', 'Go template')
    .description('detailed information on volumes (JSON)')
    .action(async (names: string[], o: { format?: string }) => {
      const docs = [];
      for (const n of names) docs.push(await env.engine().inspectVolume(n));
      env.out.write(o.format ? formatRows(o.format, docs, { headers: {} }) : `${JSON.stringify(docs, null, 4)}\n`);
    });
  volume
    .command('rm')
    .alias('remove')
    .argument('<names...>')
    .option('-f, --force', 'also remove volumes of stopped containers; ignore missing ones')
    .description('remove volumes')
    .action((names: string[], o: { force?: boolean }) =>
      eachOf(env, names, async (n) => {
        if (await env.engine().volumes.remove(n, { force: o.force === true })) env.out.write(`${n}\n`);
      }),
    );
  volume
    .command('prune')
    .option('-a, --all', 'all unused volumes, not just anonymous ones')
    .option('-f, --force', 'do not ask for confirmation')
    .option('--filter <filter>', 'label=...', collect, [])
    .option('--dry-run', 'list what would be removed and remove nothing')
    .description('remove unused volumes')
    .action(async (o: { all?: boolean; force?: boolean; filter: string[]; dryRun?: boolean }) => {
      if (!o.force && !o.dryRun) {
        const what = o.all ? 'all local volumes not used by at least one container' : 'anonymous local volumes not used by at least one container';
        if (!(await confirm(env, `WARNING! This will remove ${what}.\nAre you sure you want to continue? [y/N] `))) return;
      }
      const r = await env.engine().volumes.prune({ all: o.all === true, dryRun: o.dryRun === true, filter: volumeFilter(filterArgsFromFlags(o.filter, 'invalid-value')) });
      if (r.deleted.length) env.out.write(`${o.dryRun ? 'Would delete' : 'Deleted'} Volumes:\n${r.deleted.join('\n')}\n\n`);
      env.out.write(`Total ${o.dryRun ? 'reclaimable' : 'reclaimed'} space: ${humanSize(r.reclaimed)}\n`);
    });
  for (const c of [volume, ...volume.commands]) c.exitOverride();
}
