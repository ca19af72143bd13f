/**
 * The checks docker's daemon makes on a create request, made by the engine's create for
 * every front end (the CLI, the API server, compose) before anything is pulled or written,
 * so that a refused container leaves nothing behind.
 *
 * Messages name the request's fields (`HostConfig.Memory`); a front end with its own names
 * for them passes `flags` (field → its name, e.g. `-m/--memory`) and gets its own wording,
 * which is how the CLI keeps docker's CLI messages.
 */
import { availableParallelism } from 'node:os';
import { BerthError } from '../../core/errors';
import { invalidFlag } from '../parse/values';
import type { CreateRequest } from '../containers/request';
import type { EndpointRequest } from '../docker-types';
import { CONTAINER_NAME_RE } from '../containers/names';
import { parseAddress } from '../../network/ipam/cidr';

/** Field of the request → the front end's name for it. */
export type FieldNames = Readonly<Record<string, string>>;

export interface ValidateOptions {
  flags?: FieldNames;
  /** CPUs of this host (NanoCpus may not ask for more); default: what Node sees. */
  hostCpus?: number;
}

/** The kernel cannot hold a container in less (docker's daemon refuses it with these words). */
export const MIN_MEMORY = 6 * 1024 * 1024;

/** OOM score adjustments the kernel accepts. */
const OOM_SCORE_RANGE = [-1000, 1000] as const;

/**
 * Refuses what docker refuses; returns docker's warnings for what it accepts but ignores
 * (the caller passes them on, as docker's create returns them beside the id).
 */
export function validateCreateRequest(req: CreateRequest, opts: ValidateOptions = {}): string[] {
  const flags = opts.flags ?? {};
  const hc = req.hostConfig;

  if (req.name !== undefined && !CONTAINER_NAME_RE.test(req.name)) {
    if (flags.name) throw invalidFlag(flags.name, req.name, 'letters, digits, _ . - (at least two characters, starting with a letter or digit)');
    throw new BerthError('EINVALID_ARGUMENT', `invalid container name "${req.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, { hint: 'choose a name such as web-1' });
  }

  const restart = hc.RestartPolicy;
  if (hc.AutoRemove && restart && restart.Name !== 'no' && restart.Name !== '') {
    const policy = restart.Name === 'on-failure' && restart.MaximumRetryCount ? `on-failure:${restart.MaximumRetryCount}` : restart.Name;
    const rm = flags['HostConfig.AutoRemove'] ?? 'HostConfig.AutoRemove';
    const policyName = flags['HostConfig.RestartPolicy'] ?? 'HostConfig.RestartPolicy';
    throw new BerthError('EINVALID_ARGUMENT', `${rm} conflicts with ${policyName} ${policy}`, { hint: 'a container removed on exit cannot be restarted; drop one of them' });
  }

  const oom = hc.OomScoreAdj ?? 0;
  if (oom < OOM_SCORE_RANGE[0] || oom > OOM_SCORE_RANGE[1]) {
    throw invalidFlag(flags['HostConfig.OomScoreAdj'] ?? 'HostConfig.OomScoreAdj', String(oom), 'an integer from -1000 to 1000');
  }

  checkLimits(req, flags, opts.hostCpus ?? availableParallelism());
  return checkNetworking(req, flags);
}

/** docker's daemon-side resource checks (its words, so that scripts matching them keep working). */
function checkLimits(req: CreateRequest, flags: FieldNames, cpus: number): void {
  const hc = req.hostConfig;
  const giveAtLeast = (field: string) => (flags[field] ? `give ${flags[field]} 6m or more` : `set ${field} to ${MIN_MEMORY} (6MB) or more`);
  if (hc.Memory && hc.Memory > 0 && hc.Memory < MIN_MEMORY) {
    throw new BerthError('EINVALID_ARGUMENT', 'Minimum memory limit allowed is 6MB', { hint: giveAtLeast('HostConfig.Memory') });
  }
  if (hc.MemoryReservation && hc.MemoryReservation > 0 && hc.MemoryReservation < MIN_MEMORY) {
    throw new BerthError('EINVALID_ARGUMENT', 'Minimum memory reservation allowed is 6MB', { hint: giveAtLeast('HostConfig.MemoryReservation') });
  }
  if (hc.NanoCpus && hc.NanoCpus > cpus * 1e9) {
    const flag = flags['HostConfig.NanoCpus'];
    throw new BerthError('EINVALID_ARGUMENT', `Range of CPUs is from 0.01 to ${cpus.toFixed(2)}, as there are only ${cpus} CPUs available`, {
      hint: flag ? `give ${flag} ${cpus} or less` : `set HostConfig.NanoCpus to ${cpus * 1e9} or less`,
    });
  }
}

/** docker's network modes that are not networks of their own (NetworkMode.IsUserDefined is false). */
const BUILTIN_MODES = ['bridge', 'default', 'host', 'none'];

/** A user-defined network (docker's IsUserDefined): not bridge/default/host/none/container:X. */
export function isUserDefinedNetwork(mode: string): boolean {
  return !BUILTIN_MODES.includes(mode) && !mode.startsWith('container:');
}

/** Modes whose network namespace is not the container's own (another container's, the host's). */
function sharesNamespace(mode: string): boolean {
  return mode === 'host' || mode.startsWith('container:');
}

/** Why `text` is not a usable static address of `family`, or undefined when it is one. */
export function staticAddressProblem(family: 4 | 6, text: string): string | undefined {
  const addr = parseAddress(text);
  if (!addr || addr.family !== family) return `not an IPv${family} address`;
  if (addr.value === 0n) return 'the unspecified address cannot be a container\'s';
  return undefined;
}

/** Why `text` is not a usable MAC address for a container's interface, or undefined. */
export function macAddressProblem(text: string): string | undefined {
  if (!/^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(text)) return 'not a MAC address (six hex pairs, e.g. 02:42:ac:11:00:02)';
  // The kernel refuses a multicast address on an ethernet device (EADDRNOTAVAIL at start).
  if (parseInt(text.slice(0, 2), 16) & 1) return 'a multicast address (the first octet is odd); a container needs a unicast one';
  return undefined;
}

/**
 * docker's network-mode rules (runconfig's validateNetMode and the daemon's endpoint checks),
 * in its words. Whether a user-defined network exists is the engine's question at create.
 */
function checkNetworking(req: CreateRequest, flags: FieldNames): string[] {
  const name = (field: string) => flags[field] ?? field;
  const refuse = (message: string, hint: string) => new BerthError('EINVALID_ARGUMENT', message, { hint });
  const hc = req.hostConfig;
  const cfg = req.config;
  const mode = hc.NetworkMode || 'bridge';
  const modeName = name('HostConfig.NetworkMode');
  const endpoints = req.networkingConfig?.EndpointsConfig ?? {};

  if (mode === 'container:' || (mode.startsWith('container:') && !mode.slice('container:'.length).trim())) {
    throw refuse('Invalid network mode: invalid container format container:<name|id>', `give ${modeName} container:NAME with the name or id of a container`);
  }
  if (!mode.trim()) throw refuse('no name set for network', `give ${modeName} a network name`);

  // bridge and default are one network; every other endpoint key is another network to join.
  const same = (a: string, b: string) => a === b || (['bridge', 'default'].includes(a) && ['bridge', 'default'].includes(b));
  const joined = [mode, ...Object.keys(endpoints).filter((k) => !same(k, mode))];
  if (joined.length > 1) {
    if (joined.some(sharesNamespace)) {
      throw refuse('container sharing network namespace with another container or host cannot be connected to any other network', `give ${modeName} host or container:NAME alone`);
    }
    if (joined.includes('none')) {
      throw refuse('container cannot be connected to multiple networks with one of the networks in private (none) mode', `give ${modeName} none alone`);
    }
    if (joined.some(isUserDefinedNetwork) && !joined.every(isUserDefinedNetwork)) {
      throw refuse('conflicting options: cannot attach both user-defined and non-user-defined network-modes', `give ${modeName} either the default bridge or user-defined networks`);
    }
  }

  const warnings: string[] = [];
  const publishes = Object.keys(hc.PortBindings ?? {}).length > 0;
  const ports = `${name('HostConfig.PortBindings')} and ${name('HostConfig.PublishAllPorts')}`;
  if ((mode === 'none' || mode.startsWith('container:')) && (publishes || hc.PublishAllPorts)) {
    throw refuse('conflicting options: port publishing and the container type network mode', `drop ${ports}: with ${modeName} ${mode} there are no ports of the container's own to publish`);
  }
  if (mode === 'host' && publishes) warnings.push('Published ports are discarded when using host network mode');

  const hasLinks = (hc.Links?.length ?? 0) > 0;
  if (mode.startsWith('container:')) {
    // The other container's namespace comes with its host name, resolver and hosts file.
    const shared = (message: string, field: string) => refuse(message, `drop ${name(field)}: with ${modeName} ${mode} it comes from that container`);
    if (cfg.Hostname) throw shared('conflicting options: hostname and the network mode', 'Config.Hostname');
    if (hasLinks) throw shared("conflicting options: container type network can't be used with links. This would result in undefined behavior", 'HostConfig.Links');
    const dns = (['HostConfig.Dns', 'HostConfig.DnsSearch', 'HostConfig.DnsOptions'] as const).find((f) => (hc[f.slice('HostConfig.'.length) as 'Dns' | 'DnsSearch' | 'DnsOptions']?.length ?? 0) > 0);
    if (dns) throw shared('conflicting options: dns and the network mode', dns);
    if ((hc.ExtraHosts?.length ?? 0) > 0) throw shared('conflicting options: custom host-to-IP mapping and the network mode', 'HostConfig.ExtraHosts');
    if (Object.keys(cfg.ExposedPorts ?? {}).length > 0) throw shared('conflicting options: port exposing and the container type network mode', 'Config.ExposedPorts');
  }
  if (mode === 'host' && hasLinks) {
    throw refuse("conflicting options: host type networking can't be used with links. This would result in undefined behavior", `drop ${name('HostConfig.Links')}: the host's network has no container links`);
  }

  for (const [network, ep] of Object.entries(endpoints)) checkEndpoint(network, ep, mode, name);
  return warnings;
}

/** One EndpointsConfig entry: well-formed addresses, and what only user-defined networks offer. */
function checkEndpoint(network: string, ep: EndpointRequest, mode: string, name: (field: string) => string): void {
  const refuse = (message: string, hint: string) => new BerthError('EINVALID_ARGUMENT', message, { hint });
  const on = `network ${network}`;
  const v4 = ep.IPAMConfig?.IPv4Address ?? '';
  const v6 = ep.IPAMConfig?.IPv6Address ?? '';
  const mac = ep.MacAddress ?? '';
  const checks: Array<[string, string, string | undefined]> = [
    [v4, 'EndpointSettings.IPAMConfig.IPv4Address', v4 ? staticAddressProblem(4, v4) : undefined],
    [v6, 'EndpointSettings.IPAMConfig.IPv6Address', v6 ? staticAddressProblem(6, v6) : undefined],
    [mac, 'EndpointSettings.MacAddress', mac ? macAddressProblem(mac) : undefined],
  ];
  for (const [value, field, problem] of checks) {
    if (problem) throw refuse(`invalid value "${value}" for ${name(field)} on ${on}: ${problem}`, `give ${name(field)} ${field.endsWith('MacAddress') ? 'a MAC address such as 02:42:ac:11:00:02' : field.endsWith('IPv4Address') ? 'an IPv4 address such as 172.20.0.5' : 'an IPv6 address such as fd00::5'}`);
  }
  if (mac && sharesNamespace(network)) {
    throw refuse('conflicting options: mac-address and the network mode', `drop ${name('EndpointSettings.MacAddress')}: with ${name('HostConfig.NetworkMode')} ${mode} the interfaces are not the container's own`);
  }
  if (isUserDefinedNetwork(network)) return;
  const create = `create a network (network create NAME) and give ${name('HostConfig.NetworkMode')} NAME`;
  if ((ep.Aliases?.length ?? 0) > 0) throw refuse('network-scoped aliases are only supported for user-defined networks', `${create}, or drop ${name('EndpointSettings.Aliases')}`);
  if ((ep.Links?.length ?? 0) > 0) throw refuse('links are only supported for user-defined networks', `${create}, or use HostConfig.Links on the default bridge`);
  if (v4 || v6) {
    const which = v4 ? name('EndpointSettings.IPAMConfig.IPv4Address') : name('EndpointSettings.IPAMConfig.IPv6Address');
    throw refuse('user specified IP address is supported on user defined networks only', `${create} --subnet ..., or drop ${which}`);
  }
}

