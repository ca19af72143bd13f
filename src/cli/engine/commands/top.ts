/**
 * `top CONTAINER [ps OPTIONS]`: the container's processes as host ps columns, aligned like
 * docker's (tabwriter, minimum width 20).
 */
import { Command } from 'commander';
import { alignColumns } from '../../format/table';
import type { CliEnv } from '../env';

export function registerTopCommand(program: Command, container: Command, env: CliEnv): void {
  const top = (c: Command) =>
    c
      .argument('<container>')
      .argument('[ps-options...]', 'options for ps (default -ef)')
      .passThroughOptions()
      .allowUnknownOption()
      .description('show the running processes of a container (host ps output)')
      .action(async (name: string, psArgs: string[]) => {
        const r = await env.engine().top(name, psArgs);
        env.out.write(alignColumns([r.Titles.join('\t'), ...r.Processes.map((p) => p.join('\t'))], 20));
      });
  top(program.command('top'));
  top(container.command('top'));
}
