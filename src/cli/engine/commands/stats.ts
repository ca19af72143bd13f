/**
 * `stats [CONTAINER...]`: the live table redrawn in place every second (or one table with
 * --no-stream), docker's columns and units (binary for memory, decimal for I/O).
 */
import { Command } from 'commander';
import type { StatsRow } from '../../../engine/containers/stats-calc';
import { binarySize, humanSize } from '../../format/human';
import { formatRows } from '../../format/template';
import type { CliEnv } from '../env';

/** docker's stats row for templates (`--format '{{.Name}} {{.CPUPerc}}'`). */
export interface StatsTemplateRow {
  Container: string;
  Name: string;
  ID: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

export const STATS_HEADERS: Record<string, string> = {
  Container: 'CONTAINER', Name: 'NAME', ID: 'CONTAINER ID', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
};

const DEFAULT_STATS_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

export function statsTemplateRow(r: StatsRow, opts: { noTrunc: boolean; asGiven?: string }): StatsTemplateRow {
  const id = opts.noTrunc ? r.id : r.id.slice(0, 12);
  return {
    Container: opts.asGiven ?? id,
    Name: r.name,
    ID: id,
    CPUPerc: `${r.cpuPercent.toFixed(2)}%`,
    MemUsage: `${binarySize(r.memUsage)} / ${binarySize(r.memLimit)}`,
    MemPerc: `${r.memPercent.toFixed(2)}%`,
    NetIO: `${humanSize(r.netRx)} / ${humanSize(r.netTx)}`,
    BlockIO: `${humanSize(r.blkRead)} / ${humanSize(r.blkWrite)}`,
    PIDs: String(r.pids),
  };
}

/** Cursor home and clear screen: each round replaces the previous table, as docker redraws. */
const REDRAW = '\x1b[2J\x1b[H';

export function registerStatsCommand(program: Command, container: Command, env: CliEnv): void {
  const stats = (c: Command) =>
    c
      .argument('[containers...]')
      .option('-a, --all', 'all containers (default: running ones)')
      .option('--no-stream', 'print one table and exit')
      .option('--no-trunc', 'do not truncate ids')
      .option('--format <template>', "Go template, 'table TEMPLATE' or 'json'")
      .description('live resource usage of containers')
      .action(async (names: string[], o: { all?: boolean; stream: boolean; trunc: boolean; format?: string }) => {
        const engine = env.engine();
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        // Rows carry the name as the user typed it for {{.Container}}.
        const given = new Map<string, string>();
        for (const n of names) given.set((await engine.containers.get(n)).Id, n);
        try {
          for await (const rows of engine.stats(names, { ...(o.all ? { all: true } : {}), stream: o.stream, signal: abort.signal })) {
            const shown = rows.map((r) => statsTemplateRow(r, { noTrunc: !o.trunc, ...(given.has(r.id) ? { asGiven: given.get(r.id)! } : {}) }));
            const table = formatRows(o.format ?? DEFAULT_STATS_FORMAT, shown, { headers: STATS_HEADERS, typeName: '*formatter.statsContext' });
            env.out.write(o.stream ? `${REDRAW}${table}` : table);
          }
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      });
  stats(program.command('stats'));
  stats(container.command('stats'));
}
