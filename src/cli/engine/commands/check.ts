/**
 * `system check [--repair]`: one line per problem found (and what was done about it), then
 * a summary. Exit status 1 while problems remain (without --repair: whenever there are any).
 */
import { Command } from 'commander';
import type { CliEnv } from '../env';

export function registerCheckCommand(system: Command, env: CliEnv): void {
  system
    .command('check')
    .option('--repair', 'repair what is found')
    .description('find (and repair) what killed berth processes left inconsistent: names, records, snapshots, runtime state, cgroups, mounts, staging directories')
    .action(async (o: { repair?: boolean }) => {
      const report = await env.engine().checkSystem({ repair: o.repair === true });
      for (const p of report.problems) {
        const outcome = p.repaired ? `repaired: ${p.repair}` : p.repairError ? `NOT repaired (${p.repair}): ${p.repairError}` : `repair: ${p.repair}`;
        env.out.write(`${p.kind}: ${p.description} [${outcome}]\n`);
      }
      const n = report.problems.length;
      if (!n) env.out.write('No problems found.\n');
      else if (o.repair) env.out.write(`${n} problem${n === 1 ? '' : 's'} found, ${n - report.remaining} repaired.\n`);
      else env.out.write(`${n} problem${n === 1 ? '' : 's'} found; run berth system check --repair to repair them.\n`);
      if (report.remaining > 0) env.exit(1);
    });
}
