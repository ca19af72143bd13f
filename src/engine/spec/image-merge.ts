/**
 * How an image's config and the user's `run` options combine, by docker's rules: a new
 * `--entrypoint` drops the image's CMD too; the user's command replaces CMD; env entries are
 * merged by key with the user's winning; labels, exposed ports and volumes are unions; the
 * health check's fields override one by one and `--no-healthcheck` (Test ["NONE"]) disables it.
 */
import type { ContainerConfig, HealthConfig } from '../docker-types';

/** The `config` object of an OCI/docker image configuration (the fields the engine uses). */
export interface ImageRunConfig {
  // Any field may be null (Go's nil) as well as absent: configs reach here parsed (nulls
  // removed) but also from callers of the library API that pass what docker wrote.
  User?: string | null;
  ExposedPorts?: Record<string, object> | null;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string | null;
  Healthcheck?: HealthConfig | null;
  Shell?: string[] | null;
}

export function envKey(e: string): string {
  const i = e.indexOf('=');
  return i < 0 ? e : e.slice(0, i);
}

export function mergeEnv(base?: readonly string[] | null, over?: readonly string[] | null): string[] {
  const m = new Map<string, string>();
  for (const e of [...(base ?? []), ...(over ?? [])]) m.set(envKey(e), e);
  return [...m.values()];
}

function unionKeys<T>(a: Record<string, T> | null | undefined, b: Record<string, T> | null | undefined): Record<string, Record<string, never>> | undefined {
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
  if (!keys.size) return undefined;
  return Object.fromEntries([...keys].sort().map((k) => [k, {}]));
}

function mergeHealth(image: HealthConfig | null | undefined, user: HealthConfig | undefined): HealthConfig | undefined {
  if (!image && !user) return undefined;
  if (user?.Test && user.Test[0] === 'NONE') return { Test: ['NONE'] };
  const out: HealthConfig = {};
  for (const [k, v] of Object.entries(image ?? {}) as [keyof HealthConfig, never][]) if (v !== null && v !== undefined) out[k] = v;
  for (const [k, v] of Object.entries(user ?? {}) as [keyof HealthConfig, never][]) {
    if (v !== undefined && v !== 0 && !(Array.isArray(v) && (v as unknown[]).length === 0)) out[k] = v;
  }
  return out;
}

/**
 * `user.Entrypoint` / `user.Cmd` undefined means "not given"; an empty Entrypoint array means
 * `--entrypoint ""` (clear the image's).
 */
export function mergeImageConfig(image: ImageRunConfig | undefined, user: ContainerConfig): ContainerConfig {
  const img = image ?? {};
  const out: ContainerConfig = { ...user };
  const entrypointGiven = user.Entrypoint !== undefined;
  out.Entrypoint = entrypointGiven ? user.Entrypoint : (img.Entrypoint ?? undefined);
  if (user.Cmd !== undefined && user.Cmd.length > 0) out.Cmd = user.Cmd;
  else out.Cmd = entrypointGiven ? [] : (img.Cmd ?? undefined);
  if (!out.Entrypoint?.length) delete out.Entrypoint;
  if (!out.Cmd?.length) delete out.Cmd;
  out.Env = mergeEnv(img.Env, user.Env);
  if (!user.WorkingDir && img.WorkingDir) out.WorkingDir = img.WorkingDir;
  if (!user.User && img.User) out.User = img.User;
  if (!user.StopSignal && img.StopSignal) out.StopSignal = img.StopSignal;
  const labels = { ...(img.Labels ?? {}), ...(user.Labels ?? {}) };
  if (Object.keys(labels).length) out.Labels = labels;
  const exposed = unionKeys(img.ExposedPorts, user.ExposedPorts);
  if (exposed) out.ExposedPorts = exposed;
  const volumes = unionKeys(img.Volumes, user.Volumes);
  if (volumes) out.Volumes = volumes;
  const health = mergeHealth(img.Healthcheck, user.Healthcheck);
  if (health) out.Healthcheck = health;
  if (!user.Shell && img.Shell) out.Shell = img.Shell;
  return out;
}
