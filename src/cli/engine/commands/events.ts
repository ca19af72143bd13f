/**
 * `events [--since T] [--until T] [--filter K=V]... [--format T]` (also `system events`):
 * recorded events from --since, then live ones until --until or until interrupted (SIGINT,
 * SIGTERM: exit status 0). Without --since only new events are shown, as docker does.
 */
import { Command } from 'commander';
import { parseEventFilters, matchEvent } from '../../../engine/events-query';
import type { EngineEvent } from '../../../engine/events';
import { toNs } from '../../../engine/shim';
import { Template } from '../../format/template';
import { collect } from '../../parse';
import type { CliEnv } from '../env';
import { eventMessage, formatEventLine } from '../event-format';
import { parseLogTime } from '../log-time';

export function registerEventsCommand(program: Command, system: Command, env: CliEnv): void {
  const events = (c: Command) =>
    c
      .option('--since <time>', 'events since this time (RFC 3339, unix seconds, or a duration ago: 10m)')
      .option('--until <time>', 'stop at this time')
      .option('-f, --filter <filter>', 'type=, event=, container=, image=, label=, volume=, network=, scope=', collect, [])
      .option('--format <template>', "Go template or 'json'")
      .description('engine events: container, image and volume lifecycle')
      .action(async (o: { since?: string; until?: string; filter: string[]; format?: string }) => {
        const filter = parseEventFilters(o.filter);
        const since = o.since ? toNs(parseLogTime('--since', o.since)) : undefined;
        const until = o.until ? toNs(parseLogTime('--until', o.until)) : undefined;
        const template = o.format && o.format !== 'json' ? new Template(o.format.replace(/\\t/g, '\t').replace(/\\n/g, '\n')) : undefined;
        const print = (e: EngineEvent) => {
          if (o.format === 'json') env.out.write(`${JSON.stringify(eventMessage(e))}\n`);
          else if (template) env.out.write(`${template.execute(eventMessage(e))}\n`);
          else env.out.write(formatEventLine(e));
        };
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          await env.engine().events.stream(
            { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}), accept: (e) => matchEvent(e, filter) },
            print,
            abort.signal,
          );
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      });
  events(program.command('events'));
  events(system.command('events'));
}
