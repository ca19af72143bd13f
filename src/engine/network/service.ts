/**
 * `network` commands over the engine: user-defined networks (create, ls, inspect, rm, prune)
 * from the NetworkStore, and connecting or disconnecting a container, which the container
 * side does (it holds the container's lock and sets up or takes down the live endpoint).
 */
import type { EndpointRequest } from '../docker-types';
import type { NetworkStore } from '../../network/store';

export interface NetworkServiceDeps {
  store: NetworkStore;
  /** Connects a container (running or not) to a network; live when it runs. */
  connect(network: string, container: string, req: EndpointRequest): Promise<void>;
  /** Disconnects it; `force` also when the container is gone or the endpoint half-made. */
  disconnect(network: string, container: string, force: boolean): Promise<void>;
}

export class NetworkService {
  readonly store: NetworkStore;

  constructor(private readonly deps: NetworkServiceDeps) {
    this.store = deps.store;
  }

  async connect(network: string, container: string, req: EndpointRequest = {}): Promise<void> {
    await this.deps.connect(network, container, req);
  }

  async disconnect(network: string, container: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.deps.disconnect(network, container, opts.force === true);
  }
}
