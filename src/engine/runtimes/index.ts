/**
 * Which OCI runtime runs a container: the two kinds are listed here, and `for(rec)` is the one
 * place that picks between them (nothing registers itself by being imported).
 */
import { BUILTIN_RUNTIME, BuiltinRuntime } from './builtin';
import { ExternalRuntime } from './external';
import type { OciRuntime } from './types';

export { BUILTIN_RUNTIME, BuiltinRuntime, builtinContext } from './builtin';
export { ExternalRuntime, externalRoot } from './external';
export { runtimeFrozen, type CapturedExec, type ExecIo, type ExecRequest, type OciRuntime, type OciState } from './types';

/** Whether a record's runtime name means the built-in runtime (older records have ''). */
export function isBuiltinName(name: string): boolean {
  return name === BUILTIN_RUNTIME || name === '';
}

export class Runtimes {
  readonly builtin: BuiltinRuntime;

  constructor(private readonly runRoot: string) {
    this.builtin = new BuiltinRuntime(runRoot);
  }

  /** The runtime a container was created with (HostConfig.Runtime, recorded as Berth.runtime). */
  for(rec: { Berth: { runtime: string } }): OciRuntime {
    const name = rec.Berth.runtime;
    return isBuiltinName(name) ? this.builtin : new ExternalRuntime(name, this.runRoot);
  }
}
