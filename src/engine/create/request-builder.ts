/**
 * From a front end's `ContainerCreateOptions` (docker-style strings) to the engine's
 * `CreateRequest` (docker's Config / HostConfig): one translation that `berth run`, the API
 * server's convenience paths and compose all use, so the same text means the same container.
 * Every value is parsed here and the request is checked (`validateCreateRequest`), so a bad
 * option fails before anything is pulled or created.
 */
import { readFile } from 'node:fs/promises';
import { BerthError } from '../../core/errors';
import { parseBytes, parseIntFlag } from '../../core/units';
import type { ContainerConfig, EndpointRequest, HealthConfig, HostConfig, MountSpec, NetworkingConfig } from '../docker-types';
import { CONTAINER_NAME_RE } from '../containers/names';
import type { CreateRequest } from '../containers/request';
import { parseDeviceFlag, parseMountFlag, parseTmpfsFlag, parseVolumeFlag } from '../parse/mounts';
import { parseExpose, parsePublish } from '../parse/ports';
import {
  invalidFlag, parseCpus, parseDuration, parseEnvEntry, parseExtraHost, parseKeyValue, parseLabel, parseRestartPolicy,
  parseUlimit, readEnvFile,
} from '../parse/values';
import type { ContainerCreateOptions, HealthcheckOptions } from './options';
import { isUserDefinedNetwork, macAddressProblem, staticAddressProblem, validateCreateRequest, type FieldNames } from './validate';

export interface BuildOptions {
  /**
   * The front end's names for the options and request fields (`memory` → `--memory`,
   * `HostConfig.Memory` → `-m/--memory`), for messages in its words; default: the names.
   */
  names?: FieldNames;
  /** Where "KEY" alone in `env` and env files takes its value from (the caller's environment). */
  callerEnv?: NodeJS.ProcessEnv;
  /** CPUs of this host, for the NanoCpus check. */
  hostCpus?: number;
}

const SIGNAL_RE = /^(SIG)?[A-Z0-9]+(\+\d+)?$|^\d+$/;

const LOG_DRIVERS = ['json-file', 'none', 'k8s-file', 'local'];
const LOG_OPTS_PASSED = ['compress', 'labels', 'env', 'tag', 'mode'];

/** Parses the option values with messages naming each option as the front end does. */
class OptionParser {
  constructor(private readonly names: FieldNames) {}

  name(option: string): string {
    return this.names[option] ?? option;
  }

  bytes(option: string, v: string | undefined): number | undefined {
    return v === undefined ? undefined : parseBytes(this.name(option), v);
  }

  int(option: string, v: string | undefined, min = 0, max?: number): number | undefined {
    if (v === undefined) return undefined;
    const n = parseIntFlag(this.name(option), v, min);
    if (max !== undefined && n > max) throw invalidFlag(this.name(option), v, `an integer from ${min} to ${max}`);
    return n;
  }

  keyValues(option: string, list: readonly string[] | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    for (const s of list ?? []) {
      const [k, v] = parseKeyValue(this.name(option), s);
      out[k] = v;
    }
    return out;
  }

  healthcheck(h: HealthcheckOptions | undefined): HealthConfig | undefined {
    if (!h) return undefined;
    if (h.disable) {
      if (h.cmd) throw new BerthError('EINVALID_ARGUMENT', `${this.name('healthcheck.disable')} conflicts with ${this.name('healthcheck.cmd')}`, { hint: 'use one of them' });
      return { Test: ['NONE'] };
    }
    const ns = (option: string, v: string | undefined) => (v === undefined ? undefined : parseDuration(this.name(option), v) * 1e6);
    const out: HealthConfig = {};
    if (h.cmd) out.Test = ['CMD-SHELL', h.cmd];
    const interval = ns('healthcheck.interval', h.interval);
    const timeout = ns('healthcheck.timeout', h.timeout);
    const start = ns('healthcheck.startPeriod', h.startPeriod);
    const startInterval = ns('healthcheck.startInterval', h.startInterval);
    const retries = this.int('healthcheck.retries', h.retries);
    if (interval !== undefined) out.Interval = interval;
    if (timeout !== undefined) out.Timeout = timeout;
    if (start !== undefined) out.StartPeriod = start;
    if (startInterval !== undefined) out.StartInterval = startInterval;
    if (retries !== undefined) out.Retries = retries;
    return Object.keys(out).length ? out : undefined;
  }

  logConfig(driver: string | undefined, opts: readonly string[] | undefined): HostConfig['LogConfig'] {
    const type = driver ?? 'json-file';
    if (!LOG_DRIVERS.includes(type)) throw invalidFlag(this.name('logDriver'), type, 'json-file or none');
    const config: Record<string, string> = {};
    const option = this.name('logOpts');
    for (const o of opts ?? []) {
      const [k, v] = parseKeyValue(option, o);
      if (k === 'max-size') parseBytes(`${option} max-size`, v);
      else if (k === 'max-file') parseIntFlag(`${option} max-file`, v, 1);
      else if (!LOG_OPTS_PASSED.includes(k)) throw invalidFlag(option, o, 'max-size=10m, max-file=3');
      config[k] = v;
    }
    return { Type: type === 'k8s-file' || type === 'local' ? 'json-file' : type, Config: config };
  }

  cgroupnsMode(v: string | undefined): HostConfig['CgroupnsMode'] {
    if (v === undefined) return '';
    if (v === 'host' || v === 'private') return v;
    throw invalidFlag(this.name('cgroupns'), v, 'private or host');
  }
}

/** KEY=VALUE lines of a label file (blank lines and # comments skipped). */
async function readLabelFile(path: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    if (line.trim() && !line.trim().startsWith('#')) out.push(parseLabel(line.trim()));
  }
  return out;
}

export async function buildCreateRequest(o: ContainerCreateOptions, opts: BuildOptions = {}): Promise<CreateRequest> {
  const p = new OptionParser(opts.names ?? {});
  const callerEnv = opts.callerEnv ?? process.env;
  if (!o.image && !o.rootfs) throw new BerthError('EINVALID_ARGUMENT', 'an image is required', { hint: `give ${p.name('image')} or ${p.name('rootfs')}` });
  const image = o.rootfs ? undefined : o.image;
  const cmd = o.command ?? [];

  const envList: string[] = [];
  // `await` also takes a reader that returns at once (the env-file reader may be either).
  for (const file of o.envFiles ?? []) envList.push(...(await readEnvFile(file, callerEnv)));
  for (const e of o.env ?? []) {
    const v = parseEnvEntry(e, callerEnv);
    if (v !== undefined) envList.push(v);
  }
  const labels: Record<string, string> = {};
  for (const file of o.labelFiles ?? []) for (const [k, v] of await readLabelFile(file)) labels[k] = v;
  for (const l of o.labels ?? []) {
    const [k, v] = parseLabel(l);
    labels[k] = v;
  }

  const networking = networkingFor(o, p);
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: NonNullable<HostConfig['PortBindings']> = {};
  for (const spec of o.publish ?? []) {
    const parsed = parsePublish(spec);
    for (const e of parsed.exposed) exposed[e] = {};
    for (const [k, v] of Object.entries(parsed.bindings)) bindings[k] = [...(bindings[k] ?? []), ...v];
  }
  for (const e of o.expose ?? []) for (const k of parseExpose(e)) exposed[k] = {};

  const binds: string[] = [];
  const mounts: MountSpec[] = [];
  const volumes: Record<string, Record<string, never>> = {};
  for (const v of o.volumes ?? []) {
    const m = parseVolumeFlag(v);
    if (m.Source === undefined) volumes[m.Target] = {};
    // A relative source ("./data") is recorded resolved, as docker records it.
    else binds.push(v.startsWith('.') ? `${m.Source}:${v.split(':').slice(1).join(':')}` : v);
  }
  for (const m of o.mounts ?? []) mounts.push(parseMountFlag(m));
  const tmpfs: Record<string, string> = {};
  for (const t of o.tmpfs ?? []) {
    const [target, tmpfsOpts] = parseTmpfsFlag(t);
    tmpfs[target] = tmpfsOpts;
  }
  const sysctls = p.keyValues('sysctls', o.sysctls);
  const annotations = p.keyValues('annotations', o.annotations);
  if (o.stopSignal !== undefined && !SIGNAL_RE.test(o.stopSignal.toUpperCase())) {
    throw invalidFlag(p.name('stopSignal'), o.stopSignal, 'a signal name or number, e.g. SIGTERM, QUIT or 15');
  }
  for (const a of o.attach ?? []) if (!['stdin', 'stdout', 'stderr'].includes(a.toLowerCase())) throw invalidFlag(p.name('attach'), a, 'stdin, stdout or stderr');
  const cpus = o.cpus === undefined ? undefined : parseCpus(o.cpus);
  const memorySwap = p.bytes('memorySwap', o.memorySwap);
  const pids = o.pidsLimit === undefined ? undefined : parseIntFlag(p.name('pidsLimit'), o.pidsLimit, -1);
  const healthcheck = p.healthcheck(o.healthcheck);
  const restart = o.restart ? parseRestartPolicy(o.restart) : { Name: 'no' as const, MaximumRetryCount: 0 };
  if (o.entrypoint !== undefined && o.entrypoint.includes('\0')) throw invalidFlag(p.name('entrypoint'), o.entrypoint, 'a command');

  const config: ContainerConfig = {
    Hostname: o.hostname ?? '',
    Domainname: o.domainname ?? '',
    User: o.user ?? '',
    AttachStdin: o.interactive === true && !o.detach,
    AttachStdout: !o.detach,
    AttachStderr: !o.detach,
    Tty: o.tty === true,
    OpenStdin: o.interactive === true,
    StdinOnce: o.interactive === true && !o.detach,
    Env: envList,
    ...(cmd.length ? { Cmd: cmd } : {}),
    ...(image ? { Image: image } : {}),
    WorkingDir: o.workdir ?? '',
    ...(o.entrypoint !== undefined ? { Entrypoint: o.entrypoint === '' ? [] : [o.entrypoint] } : {}),
    Labels: labels,
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    ...(Object.keys(volumes).length ? { Volumes: volumes } : {}),
    ...(o.stopSignal ? { StopSignal: o.stopSignal } : {}),
    ...(o.stopTimeout !== undefined ? { StopTimeout: parseIntFlag(p.name('stopTimeout'), o.stopTimeout, -1) } : {}),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
  };
  const hostConfig: HostConfig = {
    Binds: binds,
    LogConfig: p.logConfig(o.logDriver, o.logOpts),
    NetworkMode: networking.mode,
    ...(networking.links.length ? { Links: networking.links } : {}),
    PortBindings: bindings,
    RestartPolicy: restart,
    AutoRemove: o.autoRemove === true,
    VolumesFrom: o.volumesFrom ?? [],
    Mounts: mounts,
    CapAdd: o.capAdd ?? [],
    CapDrop: o.capDrop ?? [],
    CgroupnsMode: p.cgroupnsMode(o.cgroupns),
    Dns: o.dns ?? [],
    DnsOptions: o.dnsOptions ?? [],
    DnsSearch: o.dnsSearch ?? [],
    ExtraHosts: (o.extraHosts ?? []).map(parseExtraHost),
    GroupAdd: o.groupAdd ?? [],
    IpcMode: o.ipc ?? 'private',
    PidMode: o.pid ?? '',
    UTSMode: o.uts ?? '',
    UsernsMode: o.userns ?? '',
    Privileged: o.privileged === true,
    PublishAllPorts: o.publishAll === true,
    ReadonlyRootfs: o.readOnly === true,
    SecurityOpt: o.securityOpt ?? [],
    Tmpfs: tmpfs,
    ShmSize: p.bytes('shmSize', o.shmSize) ?? 64 * 1024 * 1024,
    Sysctls: sysctls,
    Runtime: o.runtime ?? 'berth',
    ...(Object.keys(annotations).length ? { Annotations: annotations } : {}),
    CpuShares: p.int('cpuShares', o.cpuShares, 2) ?? 0,
    Memory: p.bytes('memory', o.memory) ?? 0,
    CgroupParent: o.cgroupParent ?? '',
    BlkioWeight: p.int('blkioWeight', o.blkioWeight, 10, 1000) ?? 0,
    CpuPeriod: p.int('cpuPeriod', o.cpuPeriod, 1000) ?? 0,
    CpuQuota: p.int('cpuQuota', o.cpuQuota, 1000) ?? 0,
    CpusetCpus: o.cpusetCpus ?? '',
    CpusetMems: o.cpusetMems ?? '',
    Devices: (o.devices ?? []).map(parseDeviceFlag),
    DeviceCgroupRules: o.deviceCgroupRules ?? [],
    MemoryReservation: p.bytes('memoryReservation', o.memoryReservation) ?? 0,
    MemorySwap: memorySwap ?? 0,
    MemorySwappiness: o.memorySwappiness === undefined ? null : (p.int('memorySwappiness', o.memorySwappiness, 0, 100) ?? null),
    NanoCpus: cpus ?? 0,
    OomKillDisable: o.oomKillDisable === true,
    OomScoreAdj: o.oomScoreAdj === undefined ? 0 : parseIntFlag(p.name('oomScoreAdj'), o.oomScoreAdj, -1000),
    Init: o.init === true ? true : null,
    PidsLimit: pids ?? null,
    Ulimits: (o.ulimits ?? []).map(parseUlimit),
  };
  const req: CreateRequest = {
    ...(o.name !== undefined ? { name: o.name.replace(/^\//, '') } : {}),
    ...(image ? { image } : {}),
    ...(o.rootfs ? { rootfs: o.rootfs } : {}),
    config,
    hostConfig,
    pull: o.pull ?? 'missing',
    ...(o.platform ? { platform: o.platform } : {}),
    networkingConfig: networking.networkingConfig,
  };
  validateCreateRequest(req, { ...(opts.names ? { flags: opts.names } : {}), ...(opts.hostCpus !== undefined ? { hostCpus: opts.hostCpus } : {}) });
  return req;
}

/** One network to join, as docker's CLI holds it before it becomes an EndpointsConfig entry. */
interface Attachment {
  network: string;
  aliases: string[];
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  links: string[];
  driverOpts: Record<string, string>;
}

const EXAMPLE_IPV4 = '172.20.0.5';
const EXAMPLE_IPV6 = 'fd00::5';
const EXAMPLE_MAC = '02:42:ac:11:00:02';

/** An option's value that must be a static address or a MAC (`problem` from validation's shared checks; `example` a right one). */
function checkedValue(option: string, value: string, problem: string | undefined, example: string): string {
  if (problem) throw new BerthError('EINVALID_ARGUMENT', `invalid value "${value}" for ${option}: ${problem}`, { hint: `e.g. ${example}` });
  return value;
}

const ADVANCED_NETWORK = 'NAME, or name=NET[,alias=A][,ip=IPv4][,ip6=IPv6][,mac-address=MAC][,driver-opt=KEY=VALUE]';

/** docker's test for its advanced --network form: a WORD=WORD field somewhere (unanchored, as docker's). */
const ADVANCED_RE = /\w=\w/;

/** Comma-separated fields with docker's CSV quoting ("a,b" in double quotes, "" for a quote). */
function csvFields(text: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') (out.push(field), (field = ''));
    else field += c;
  }
  out.push(field);
  return out;
}

/**
 * `--network NAME` or docker's advanced form. Keys are case-insensitive as docker's; values
 * keep their case (docker lowercases them too, which breaks network names with capitals).
 */
function parseAttachment(value: string, option: string): Attachment {
  const bad = (why: string) => new BerthError('EINVALID_ARGUMENT', `invalid ${option} "${value}": ${why}`, { hint: `accepted: ${ADVANCED_NETWORK}` });
  const a: Attachment = { network: value, aliases: [], links: [], driverOpts: {} };
  if (ADVANCED_RE.test(value)) {
    a.network = '';
    for (const field of csvFields(value)) {
      const eq = field.indexOf('=');
      const key = eq > 0 ? field.slice(0, eq).trim().toLowerCase() : '';
      const val = field.slice(eq + 1).trim();
      if (!key) throw bad(`field "${field}" is not KEY=VALUE`);
      if (key === 'name') a.network = val;
      else if (key === 'alias') a.aliases.push(val);
      else if (key === 'ip') a.ipv4 = checkedValue(`${option} ip`, val, staticAddressProblem(4, val), `${option} name=NET,ip=${EXAMPLE_IPV4}`);
      else if (key === 'ip6') a.ipv6 = checkedValue(`${option} ip6`, val, staticAddressProblem(6, val), `${option} name=NET,ip6=${EXAMPLE_IPV6}`);
      else if (key === 'mac-address') a.mac = checkedValue(`${option} mac-address`, val, macAddressProblem(val), `${option} name=NET,mac-address=${EXAMPLE_MAC}`);
      else if (key === 'driver-opt') {
        const [k, v] = val.split(/=(.*)/s);
        if (!k?.trim() || v === undefined) throw bad(`driver-opt "${val}" is not KEY=VALUE`);
        a.driverOpts[k.trim().toLowerCase()] = v.trim();
      } else if (key === 'link-local-ip' || key === 'gw-priority') throw bad(`"${key}" is not supported by Berth`);
      else throw bad(`unknown key "${key}"`);
    }
    if (!a.network) throw bad('network name not specified (name=NET)');
  }
  if (!a.network.trim()) throw bad('no name set for network');
  return a;
}

/** `--link NAME[:ALIAS]` as docker's API carries it: "NAME:ALIAS" (the alias defaults to the name). */
function parseLink(value: string, option: string): string {
  const parts = value.split(':');
  const target = parts[0]!.replace(/^\//, '');
  const alias = (parts[1] ?? target).replace(/^\//, '');
  // The target is a container's name or id; the alias a host name (one character is enough).
  if (parts.length > 2 || !CONTAINER_NAME_RE.test(target) || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(alias)) {
    throw invalidFlag(option, value, 'NAME[:ALIAS], a container name and an optional alias, e.g. db or db:database');
  }
  return `${target}:${alias}`;
}

/**
 * A link as docker stores it in HostConfig.Links ("/db:/web/database") once the container's
 * name is known; "db:database", "db" and the stored form itself are accepted.
 */
export function storedLink(link: string, containerName: string): string {
  const [target = '', alias = target] = link.split(':');
  const self = containerName.replace(/^\//, '');
  return `/${target.replace(/^\//, '')}:/${self}/${alias.replace(/^\/[^/]*\//, '').replace(/^\//, '')}`;
}


/**
 * docker CLI 28's network options: the first --network is HostConfig.NetworkMode and takes
 * --network-alias, --ip, --ip6, --mac-address and (on a user-defined network) --link; every
 * network gets an EndpointsConfig entry. host/none/container:X as the mode get one only when
 * something was asked of them, so that validation refuses it in docker's words.
 */
function networkingFor(o: ContainerCreateOptions, p: OptionParser): { mode: string; links: string[]; networkingConfig: NetworkingConfig } {
  const networksName = p.name('networks');
  const attachments = (o.networks ?? []).map((v) => parseAttachment(v, networksName));
  const first = attachments[0] ?? { network: 'bridge', aliases: [], links: [], driverOpts: {} };
  if (!attachments.length) attachments.push(first);

  const conflict = (option: string, perNetwork: string) =>
    new BerthError('EINVALID_ARGUMENT', `conflicting options: cannot specify both ${p.name(option)} and per-network ${perNetwork}`, { hint: `give it once: ${p.name(option)} or in ${networksName}` });
  if (o.networkAliases?.length) {
    if (first.aliases.length) throw conflict('networkAliases', 'alias');
    first.aliases = [...o.networkAliases];
  }
  if (o.ipv4Address !== undefined) {
    if (first.ipv4 !== undefined) throw conflict('ipv4Address', 'IPv4 address');
    first.ipv4 = checkedValue(p.name('ipv4Address'), o.ipv4Address, staticAddressProblem(4, o.ipv4Address), `${p.name('ipv4Address')} ${EXAMPLE_IPV4}`);
  }
  if (o.ipv6Address !== undefined) {
    if (first.ipv6 !== undefined) throw conflict('ipv6Address', 'IPv6 address');
    first.ipv6 = checkedValue(p.name('ipv6Address'), o.ipv6Address, staticAddressProblem(6, o.ipv6Address), `${p.name('ipv6Address')} ${EXAMPLE_IPV6}`);
  }
  if (o.macAddress !== undefined) {
    if (first.mac !== undefined) throw conflict('macAddress', 'MAC address');
    first.mac = checkedValue(p.name('macAddress'), o.macAddress, macAddressProblem(o.macAddress), `${p.name('macAddress')} ${EXAMPLE_MAC}`);
  }
  const links = (o.links ?? []).map((l) => parseLink(l, p.name('links')));
  // On a user-defined network a link is an alias of the endpoint; on the default bridge a legacy link.
  const legacyLinks = isUserDefinedNetwork(first.network) ? ((first.links = links), []) : links;

  const endpoints: Record<string, EndpointRequest> = {};
  for (const a of attachments) {
    if (endpoints[a.network]) {
      throw new BerthError('EINVALID_ARGUMENT', `network "${a.network}" is specified multiple times`, { hint: `give each network once to ${networksName}` });
    }
    const ep: EndpointRequest = {
      ...(a.aliases.length ? { Aliases: a.aliases } : {}),
      ...(a.links.length ? { Links: a.links } : {}),
      ...(a.ipv4 !== undefined || a.ipv6 !== undefined ? { IPAMConfig: { ...(a.ipv4 !== undefined ? { IPv4Address: a.ipv4 } : {}), ...(a.ipv6 !== undefined ? { IPv6Address: a.ipv6 } : {}) } } : {}),
      ...(a.mac !== undefined ? { MacAddress: a.mac.toLowerCase().replace(/-/g, ':') } : {}),
      ...(Object.keys(a.driverOpts).length ? { DriverOpts: a.driverOpts } : {}),
    };
    // host/none/container:X as the mode need no entry (they are not networks) unless asked for something.
    const modeOnly = a === first && (['host', 'none'].includes(a.network) || a.network.startsWith('container:'));
    if (!modeOnly || Object.keys(ep).length) endpoints[a.network] = ep;
  }
  return { mode: first.network, links: legacyLinks, networkingConfig: { EndpointsConfig: endpoints } };
}
