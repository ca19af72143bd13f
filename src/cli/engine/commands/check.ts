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
      const fixed = n - report.remaining;
      if (!n) env.out.write('No problems found.\n');
      else {
        const hint = report.remaining > 0 && !o.repair ? '; run berth system check --repair to repair them' : '';
        env.out.write(`${n} problem${n === 1 ? '' : 's'} found${fixed ? `, ${fixed} repaired` : ''}${hint}.\n`);
      }
      if (report.remaining > 0) env.exit(1);
    });
}
