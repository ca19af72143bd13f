/**
 * `network connect` / `network disconnect` of a container, under its lock (the caller's): the
 * record's NetworkSettings.Networks gains or loses the entry (what a stopped container will be
 * on at its next start), and a running container is attached or detached live.
 */
import { BerthError } from '../../core/errors';
import type { NetworkRecord } from '../../network/store-types';
import type { EndpointRequest } from '../docker-types';
import { fillNetworkSettings } from '../network/container/settings';
import { isSpecialMode, networkKey, requestedEndpoint } from '../network/container/plan';
import type { ContainerContext } from './context';
import { containerName, type ContainerRecord } from './record';

function entryKey(rec: ContainerRecord, net: NetworkRecord): string | undefined {
  return Object.keys(rec.NetworkSettings.Networks).find((k) => k === net.name || rec.NetworkSettings.Networks[k]!.NetworkID === net.id);
}

export async function connectLocked(ctx: Pick<ContainerContext, 'networking'>, rec: ContainerRecord, net: NetworkRecord, req: EndpointRequest): Promise<void> {
  const mode = networkKey(rec.HostConfig.NetworkMode);
  if (isSpecialMode(mode)) {
    throw new BerthError('EINVALID_ARGUMENT', `container ${containerName(rec)} runs with network mode ${mode}: it cannot be connected to network ${net.name}`, {
      hint: 'only containers on bridge networks can join other networks',
    });
  }
  if (entryKey(rec, net)) {
    throw new BerthError('EEXISTS', `endpoint with name ${containerName(rec)} already exists in network ${net.name}`, { hint: 'it is connected already' });
  }
  if (net.isDefault && (req.Aliases?.length || req.IPAMConfig?.IPv4Address || req.IPAMConfig?.IPv6Address)) {
    throw new BerthError('EINVALID_ARGUMENT', 'network-scoped aliases and static addresses are only supported on user-defined networks', { hint: 'connect to a network made with berth network create' });
  }
  rec.NetworkSettings.Networks[net.name] = requestedEndpoint({ ...req, NetworkID: net.id });
  if (req.MacAddress) (rec.Berth.requestedMacs ??= {})[net.name] = req.MacAddress.toLowerCase();
  if (!rec.State.Running) return;
  await ctx.networking.connectLive(rec, net, req);
  const endpoints = await ctx.networking.attachedEndpoints(rec.Id);
  const ports = endpoints.flatMap((e) => e.endpoint.ports ?? []);
  fillNetworkSettings(rec, { netnsPath: ctx.networking.netnsPath(rec.Id), endpoints, ports });
}

export async function disconnectLocked(ctx: Pick<ContainerContext, 'networking'>, rec: ContainerRecord, net: NetworkRecord): Promise<void> {
  const key = entryKey(rec, net);
  if (!key) {
    throw new BerthError('ENOT_FOUND', `container ${containerName(rec)} is not connected to network ${net.name}`, { hint: 'berth inspect -f "{{json .NetworkSettings.Networks}}" shows its networks' });
  }
  if (rec.State.Running) await ctx.networking.disconnectLive(rec, net);
  delete rec.NetworkSettings.Networks[key];
  delete rec.Berth.requestedMacs?.[key];
  // docker: a container disconnected from its NetworkMode network keeps the mode (it restarts on none of it).
}
