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
import { CONTAINER_NAME_RE } from '../containers/names';

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

/** docker's built-in network modes; Berth has no user-defined networks yet. */
const BUILTIN_NETWORKS = ['bridge', 'default', 'host', 'none'];

export function validateCreateRequest(req: CreateRequest, opts: ValidateOptions = {}): void {
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
  checkNetwork(hc.NetworkMode ?? 'bridge', flags);
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

/**
 * A name other than docker's built-in modes names a network that does not exist (there are
 * no user-defined networks yet), refused as docker refuses it: nothing may claim to be on it.
 */
function checkNetwork(mode: string, flags: FieldNames): void {
  if (BUILTIN_NETWORKS.includes(mode) || mode.startsWith('container:') || mode !== '') return;
  const flag = flags['HostConfig.NetworkMode'];
  throw new BerthError('ENOT_FOUND', `network ${mode} not found`, {
    hint: flag ? `use ${flag} bridge, host, none or container:NAME` : 'set HostConfig.NetworkMode to bridge, host, none or container:NAME',
  });
}
