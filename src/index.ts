/**
 * Library entry point: `import { Engine } from 'berth'`. The `berth` CLI is a thin mapping
 * onto these same objects, so a TypeScript program can pull images and run containers
 * without a daemon and without spawning the CLI.
 */
export { Engine, DEFAULT_STATE_ROOT, DEFAULT_RUN_ROOT, type EngineOptions } from './engine/engine';
export type { CreateRequest } from './engine/containers/request';
export type { ContainerRecord, ContainerState } from './engine/containers/record';
export type { ContainerConfig, HostConfig } from './engine/docker-types';
export { execInRunning, type ExecRequest } from './engine/containers/exec';
export { readLogs, attach } from './engine/shim';
export { ImageService } from './images/service';
export { BerthError, isBerthError, type ErrorCode } from './core/errors';
export type { RuntimeConfig, ContainerState as OciState } from './spec/types';
export { compileSeccomp, defaultSeccompProfile } from './seccomp';
