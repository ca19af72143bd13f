/**
 * `inspect` (any object: container, image, volume, network, by name or id) and `container inspect`:
 * docker's JSON documents, or `-f TEMPLATE` per object.
 */
import { Command } from 'commander';
import { BerthError, isBerthError } from '../../../core/errors';
import { formatRows } from '../../format/template';
import { eachOf } from '../each';
import type { CliEnv } from '../env';
import { containerAnatomy } from '../../../engine/anatomy/collect';
import { renderAnatomy } from '../anatomy-format';

async function inspectAny(env: CliEnv, query: string, type: string | undefined): Promise<Record<string, unknown>> {
  const engine = env.engine();
  const tryIt = async <T>(fn: () => Promise<T> | T): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (e) {
      if (isBerthError(e) && e.code === 'ENOT_FOUND') return undefined;
      throw e;
    }
  };
  if (!type || type === 'container') {
    const c = await tryIt(() => engine.inspectContainer(query));
    if (c) return c;
  }
  if (!type || type === 'image') {
    const i = await tryIt(() => engine.inspectImage(query));
    if (i) return i;
  }
  if (!type || type === 'volume') {
    const v = await tryIt(() => engine.inspectVolume(query));
    if (v) return v;
  }
  if (!type || type === 'network') {
    const n = await tryIt(() => engine.networks.inspect(query));
    if (n) return n as unknown as Record<string, unknown>;
  }
  throw new BerthError('ENOT_FOUND', `No such object: ${query}`, { hint: 'give a container, image, volume or network name or id' });
}

/** `--anatomy`: the running container as the kernel shows it (text, or --format json). */
async function anatomy(env: CliEnv, names: string[], format: string | undefined): Promise<void> {
  if (format !== undefined && format !== 'json') {
    throw new BerthError('EINVALID_ARGUMENT', `--anatomy takes no template (got --format ${format})`, { hint: 'use --format json for the data, or no --format for the text' });
  }
  const width = env.out.columns && env.out.columns > 60 ? env.out.columns : 100;
  await eachOf(env, names, async (n) => {
    const a = await containerAnatomy(env.engine(), n);
    env.out.write(format === 'json' ? `${JSON.stringify(a, null, 2)}\n` : renderAnatomy(a, width));
  });
}

export function registerInspectCommands(program: Command, container: Command, env: CliEnv): void {
  const run = async (names: string[], o: { format?: string; type?: string; anatomy?: boolean }, type?: string) => {
    if (o.anatomy) return anatomy(env, names, o.format);
    const docs: Record<string, unknown>[] = [];
    let failed = false;
    for (const n of names) {
      try {
        docs.push(await inspectAny(env, n, type ?? o.type));
      } catch (e) {
        failed = true;
        env.err.write(`Error: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
    if (o.format) env.out.write(formatRows(o.format, docs, { headers: {} }));
    else env.out.write(`${JSON.stringify(docs, null, 4)}\n`);
    if (failed) env.exit(1);
  };
  program
    .command('inspect')
    .argument('<names...>')
    .option('-f, --format <template>', 'Go template applied to each object')
    .option('--type <type>', 'container, image, volume or network')
    .option('-s, --size', 'accepted for compatibility')
    .option('--anatomy', 'how a running container is made: namespaces, cgroups, mounts, capabilities, seccomp (from the kernel)')
    .description('low-level information on containers, images, volumes or networks (JSON)')
    .action((names: string[], o: { format?: string; type?: string; anatomy?: boolean }) => run(names, o));
  container
    .command('inspect')
    .argument('<containers...>')
    .option('-f, --format <template>', 'Go template applied to each container')
    .option('-s, --size', 'accepted for compatibility')
    .option('--anatomy', 'how a running container is made (see berth inspect --anatomy)')
    .description('low-level information on containers (JSON)')
    .action((names: string[], o: { format?: string; anatomy?: boolean }) => run(names, o, 'container'));
}
