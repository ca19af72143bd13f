/** Library entry point: `import { ... } from 'berth'`. */
export { BerthError } from './core/errors';
export type { RuntimeConfig, ContainerState } from './spec/types';
