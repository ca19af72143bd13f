/**
 * `network create / ls / inspect / rm / prune / connect / disconnect` with docker's flags,
 * columns, filters, `--format`, prompts and messages. The engine's NetworkService does the
 * work; this module turns flags into its requests and renders what it returns.
 */
import { Command } from 'commander';
import { BerthError, isBerthError } from '../../../core/errors';
import type { EndpointRequest } from '../../../engine/docker-types';
import { NETWORK_HEADERS, networkRow } from '../../../engine/query/networks';
import { parseKeyValue, parseLabel } from '../../../engine/parse/values';
import { toNs } from '../../../engine/shim';
import { parsePruneFilters } from '../../../engine/system/prune';
import { contains, formatCidr, overlaps, parseAddress, parseCidr, within } from '../../../network/ipam/cidr';
import { formatRows } from '../../format/template';
import { collect } from '../../parse';
import type { CliEnv } from '../env';
import { eachOf } from '../each';
import { filterArgsFromFlags } from '../filter-flags';
import { parseLogTime } from '../log-time';
import { confirm } from '../prompt';

export interface IpamEntry {
  subnet: string;
  gateway?: string;
  ipRange?: string;
}

/**
 * docker's CLI pairing of `--subnet`, `--gateway` and `--ip-range` (each repeatable): every
 * gateway and range goes to the subnet that contains it, at most one of each per subnet.
 */
export function ipamFromFlags(subnets: readonly string[], gateways: readonly string[], ranges: readonly string[]): IpamEntry[] {
  if (subnets.length < gateways.length || subnets.length < ranges.length) {
    throw new BerthError('EINVALID_ARGUMENT', 'every --ip-range or --gateway must have a corresponding --subnet', {
      hint: 'give the subnet they belong to, e.g. --subnet 172.30.0.0/16 --gateway 172.30.0.1',
    });
  }
  const entries = subnets.map((text) => ({ cidr: parseCidr(text, '--subnet'), entry: { subnet: text } as IpamEntry }));
  for (const [i, a] of entries.entries()) {
    const clash = entries.slice(0, i).find((b) => overlaps(a.cidr, b.cidr));
    if (clash) {
      throw new BerthError('EINVALID_ARGUMENT', `--subnet ${a.entry.subnet} overlaps --subnet ${clash.entry.subnet}`, { hint: 'give subnets that do not overlap (at most one IPv4 and one IPv6)' });
    }
  }
  for (const text of ranges) {
    const range = parseCidr(text, '--ip-range');
    const home = entries.find((e) => within(range, e.cidr));
    if (!home) throw new BerthError('EINVALID_ARGUMENT', `no matching subnet for --ip-range ${text}`, { hint: 'give a range inside one of the --subnet values' });
    if (home.entry.ipRange !== undefined) {
      throw new BerthError('EINVALID_ARGUMENT', `cannot configure multiple ranges (${text}, ${home.entry.ipRange}) on the same subnet (${formatCidr(home.cidr)})`, { hint: 'give one --ip-range per --subnet' });
    }
    home.entry.ipRange = text;
  }
  for (const text of gateways) {
    const addr = parseAddress(text);
    if (!addr) throw new BerthError('EINVALID_ARGUMENT', `invalid --gateway "${text}": not an IP address`, { hint: 'e.g. --gateway 172.30.0.1' });
    const home = entries.find((e) => contains(e.cidr, addr.family, addr.value));
    if (!home) throw new BerthError('EINVALID_ARGUMENT', `no matching subnet for --gateway ${text}`, { hint: 'give a gateway inside one of the --subnet values' });
    if (home.entry.gateway !== undefined) {
      throw new BerthError('EINVALID_ARGUMENT', `cannot configure multiple gateways (${text}, ${home.entry.gateway}) for the same subnet (${formatCidr(home.cidr)})`, { hint: 'give one --gateway per --subnet' });
    }
    home.entry.gateway = text;
  }
  return entries.map((e) => e.entry);
}

interface CreateFlags {
  driver: string;
  subnet: string[];
  gateway: string[];
  ipRange: string[];
  internal?: boolean;
  label: string[];
  opt: string[];
  ipv6?: boolean;
  attachable?: boolean;
  ipamDriver: string;
  ipamOpt: string[];
  auxAddress: string[];
  scope?: string;
  ingress?: boolean;
  configOnly?: boolean;
  configFrom?: string;
}

/** Options docker has for swarm or plug-in IPAM, refused with the reason rather than ignored. */
function refuseUnavailable(o: CreateFlags): void {
  const refuse = (flag: string, why: string) => {
    throw new BerthError('EUNSUPPORTED', `${flag} is not supported: ${why}`, { hint: `omit ${flag}` });
  };
  if (o.ingress) refuse('--ingress', 'the routing mesh belongs to swarm mode');
  if (o.configOnly || o.configFrom !== undefined) refuse(o.configOnly ? '--config-only' : '--config-from', 'configuration-only networks belong to swarm mode');
  if (o.scope !== undefined && o.scope !== 'local') refuse(`--scope ${o.scope}`, 'Berth networks are local to this host');
  if (o.auxAddress.length > 0) refuse('--aux-address', 'the default IPAM driver reserves no auxiliary addresses here');
  if (o.ipamOpt.length > 0) refuse('--ipam-opt', 'the default IPAM driver takes no options');
}

const untilMs = (text: string) => Number(toNs(parseLogTime('--filter until', text)) / 1_000_000n);

export function registerNetworkCommands(program: Command, env: CliEnv): void {
  const network = program.command('network').description('manage networks');

  network
    .command('create')
    .argument('<name>', 'network name')
    .option('-d, --driver <driver>', 'network driver (bridge)', 'bridge')
    .option('--subnet <CIDR>', 'subnet in CIDR format (one IPv4, one IPv6)', collect, [])
    .option('--gateway <IP>', 'gateway of its subnet', collect, [])
    .option('--ip-range <CIDR>', 'allocate container addresses from this sub-range of its subnet', collect, [])
    .option('--internal', 'no access to or from outside the network')
    .option('--label <KEY=VALUE>', 'metadata', collect, [])
    .option('-o, --opt <KEY=VALUE>', 'driver options (com.docker.network.bridge.name=...)', collect, [])
    .option('--ipv6', 'give containers IPv6 addresses too')
    .option('--attachable', 'accepted for docker compatibility (every network is attachable)')
    .option('--ipam-driver <driver>', 'IP address management driver (default)', 'default')
    .option('--ipam-opt <KEY=VALUE>', 'IPAM driver options (none supported)', collect, [])
    .option('--aux-address <NAME=IP>', 'auxiliary addresses (not supported)', collect, [])
    .option('--scope <scope>', "network's scope (local)")
    .option('--ingress', 'swarm routing mesh (not supported)')
    .option('--config-only', 'configuration-only network (not supported)')
    .option('--config-from <network>', 'copy the configuration of a network (not supported)')
    .description('create a network')
    .action(async (name: string, o: CreateFlags) => {
      refuseUnavailable(o);
      const ipam = ipamFromFlags(o.subnet, o.gateway, o.ipRange);
      const rec = await env.engine().networks.create({
        name,
        driver: o.driver,
        ipamDriver: o.ipamDriver,
        ...(ipam.length ? { ipam } : {}),
        internal: o.internal === true,
        enableIPv6: o.ipv6 === true,
        labels: Object.fromEntries(o.label.map(parseLabel)),
        options: Object.fromEntries(o.opt.map((x) => parseKeyValue('--opt', x))),
        attachable: o.attachable === true,
      });
      env.out.write(`${rec.id}\n`);
    });

  network
    .command('ls')
    .alias('list')
    .option('-f, --filter <filter>', 'driver=, id=, label=, name=, scope=, type=custom|builtin, dangling=true|false', collect, [])
    .option('--format <template>', "Go template, 'table', 'table TEMPLATE' or 'json'")
    .option('--no-trunc', 'do not truncate the ids')
    .option('-q, --quiet', 'only the network ids')
    .description('list networks')
    .action(async (o: { filter: string[]; format?: string; trunc: boolean; quiet?: boolean }) => {
      const docs = await env.engine().networks.list(filterArgsFromFlags(o.filter, 'invalid-value'));
      const rows = docs.map((d) => networkRow(d, { noTrunc: !o.trunc }));
      if (o.quiet) return void env.out.write(rows.map((r) => `${r.ID}\n`).join(''));
      const format = o.format === undefined || o.format === 'table' ? 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}' : o.format;
      env.out.write(formatRows(format, rows, { headers: NETWORK_HEADERS, typeName: '*formatter.networkContext' }));
    });

  network
    .command('inspect')
    .argument('<networks...>')
    .option('-f, --format <template>', "Go template, or 'json'")
    .option('-v, --verbose', 'accepted for docker compatibility (no swarm details to add)')
    .description('detailed information on networks (JSON)')
    .action(async (names: string[], o: { format?: string }) => {
      // docker's: print the documents found, then one error per name that was not.
      const docs = [];
      const errors: string[] = [];
      for (const n of names) {
        try {
          docs.push(await env.engine().networks.inspect(n));
        } catch (e) {
          if (!isBerthError(e) || e.code !== 'ENOT_FOUND') throw e;
          errors.push(`Error: ${e.message}\n`);
        }
      }
      if (o.format === undefined || o.format === 'json') env.out.write(`${JSON.stringify(docs, null, 4)}\n`);
      else env.out.write(formatRows(o.format, docs, { headers: {} }));
      if (errors.length) {
        env.err.write(errors.join(''));
        env.exit(1);
      }
    });

  network
    .command('rm')
    .alias('remove')
    .argument('<networks...>')
    .option('-f, --force', 'do not fail when a network does not exist')
    .description('remove networks')
    .action((names: string[], o: { force?: boolean }) =>
      eachOf(env, names, async (n) => {
        try {
          await env.engine().networks.remove(n);
        } catch (e) {
          if (o.force && isBerthError(e) && e.code === 'ENOT_FOUND') return;
          throw e;
        }
        env.out.write(`${n}\n`);
      }),
    );

  network
    .command('prune')
    .option('-f, --force', 'do not ask for confirmation')
    .option('--filter <filter>', 'until=TIMESTAMP|DURATION, label=KEY[=VALUE], label!=KEY[=VALUE]', collect, [])
    .description('remove all networks no container is on')
    .action(async (o: { force?: boolean; filter: string[] }) => {
      const filter = parsePruneFilters(o.filter, untilMs);
      if (!o.force && !(await confirm(env, 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] '))) return;
      const deleted = await env.engine().networks.prune(filter);
      if (deleted.length) env.out.write(`Deleted Networks:\n${deleted.map((n) => `${n}\n`).join('')}\n`);
    });

  network
    .command('connect')
    .argument('<network>')
    .argument('<container>')
    .option('--alias <alias>', 'network-scoped alias for the container', collect, [])
    .option('--ip <address>', 'IPv4 address (e.g. 172.30.100.104)')
    .option('--ip6 <address>', 'IPv6 address (e.g. 2001:db8::33)')
    .option('--link <container:alias>', 'link to another container', collect, [])
    .option('--link-local-ip <address>', 'link-local address', collect, [])
    .option('--driver-opt <KEY=VALUE>', 'driver options for the network', collect, [])
    .description('connect a container to a network')
    .action(async (net: string, container: string, o: { alias: string[]; ip?: string; ip6?: string; link: string[]; linkLocalIp: string[]; driverOpt: string[] }) => {
      const ipam = { ...(o.ip ? { IPv4Address: o.ip } : {}), ...(o.ip6 ? { IPv6Address: o.ip6 } : {}), ...(o.linkLocalIp.length ? { LinkLocalIPs: o.linkLocalIp } : {}) };
      const req: EndpointRequest = {
        ...(Object.keys(ipam).length ? { IPAMConfig: ipam } : {}),
        ...(o.alias.length ? { Aliases: o.alias } : {}),
        ...(o.link.length ? { Links: o.link } : {}),
        ...(o.driverOpt.length ? { DriverOpts: Object.fromEntries(o.driverOpt.map((x) => parseKeyValue('--driver-opt', x))) } : {}),
      };
      await env.engine().networks.connect(net, container, req);
    });

  network
    .command('disconnect')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'also when the container is gone or its endpoint half-made')
    .description('disconnect a container from a network')
    .action(async (net: string, container: string, o: { force?: boolean }) => {
      await env.engine().networks.disconnect(net, container, { force: o.force === true });
    });

  for (const c of [network, ...network.commands]) c.exitOverride();
}
