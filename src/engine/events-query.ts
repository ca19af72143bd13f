/**
 * Which events `berth events` shows: docker's `--filter` keys with docker's matching rules,
 * and the `--since`/`--until` window. Pure functions over recorded events.
 *
 * Rules (as the Docker daemon applies them): values of one key are alternatives, different
 * keys must all hold. `container`, `volume` and `network` match the actor's id or its name
 * attribute by prefix, which also restricts the output to that object type; `image` matches
 * an image id or name exactly (with or without its tag; for container events the container's
 * image); `label` needs every given KEY or KEY=VALUE among the actor's attributes; `event`
 * matches the action, and `exec_start`, `exec_create` or `health_status` without a colon also
 * match their detailed forms ("exec_start: sh -c ...", "health_status: healthy").
 */
import { BerthError } from '../core/errors';
import type { EngineEvent } from './event-types';

export const EVENT_FILTER_KEYS = ['type', 'event', 'container', 'image', 'label', 'volume', 'network', 'scope'] as const;
export type EventFilterKey = (typeof EVENT_FILTER_KEYS)[number];
export type EventFilter = Partial<Record<EventFilterKey, string[]>>;

const EVENT_TYPES = ['container', 'image', 'volume', 'network', 'builder', 'daemon', 'plugin'];
const DETAILED_ACTIONS = new Set(['exec_start', 'exec_create', 'health_status']);

/** Parses `--filter KEY=VALUE` values; errors name the bad one. */
export function parseEventFilters(values: readonly string[]): EventFilter {
  const out: EventFilter = {};
  for (const raw of values) {
    const i = raw.indexOf('=');
    if (i <= 0) throw new BerthError('EINVALID_ARGUMENT', `invalid filter "${raw}"`, { hint: 'use KEY=VALUE, e.g. --filter event=start' });
    const key = raw.slice(0, i) as EventFilterKey;
    const value = raw.slice(i + 1);
    if (!EVENT_FILTER_KEYS.includes(key)) {
      throw new BerthError('EINVALID_ARGUMENT', `invalid filter '${raw.slice(0, i)}'`, { hint: `event filters: ${EVENT_FILTER_KEYS.join(', ')}` });
    }
    if (key === 'type' && !EVENT_TYPES.includes(value)) {
      throw new BerthError('EINVALID_ARGUMENT', `invalid event type "${value}"`, { hint: `types: ${EVENT_TYPES.join(', ')}` });
    }
    (out[key] ??= []).push(value);
  }
  return out;
}

const stripTag = (name: string): string => {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? name.slice(0, colon) : name;
};

function byPrefix(values: string[] | undefined, ...candidates: Array<string | undefined>): boolean {
  if (!values?.length) return true;
  return values.some((v) => candidates.some((c) => c !== undefined && c.startsWith(v)));
}

function actionMatches(values: string[] | undefined, action: string): boolean {
  if (!values?.length) return true;
  return values.some((v) => v === action || (DETAILED_ACTIONS.has(v) && action.startsWith(`${v}:`)));
}

function imageMatches(values: string[] | undefined, e: EngineEvent): boolean {
  if (!values?.length) return true;
  const name = e.Actor.Attributes[e.Type === 'image' ? 'name' : 'image'];
  const candidates = [e.Actor.ID, name].filter((c): c is string => !!c);
  const forms = new Set(candidates.flatMap((c) => [c, stripTag(c)]));
  return values.some((v) => forms.has(v) || (!v.startsWith('sha256:') && forms.has(`sha256:${v}`)));
}

function labelsMatch(values: string[] | undefined, attrs: Record<string, string>): boolean {
  if (!values?.length) return true;
  return values.every((l) => {
    const i = l.indexOf('=');
    if (i < 0) return l in attrs;
    return attrs[l.slice(0, i)] === l.slice(i + 1);
  });
}

export function matchEvent(e: EngineEvent, f: EventFilter): boolean {
  const name = e.Actor.Attributes.name;
  const ofType = (t: string) => (e.Type === t ? [e.Actor.ID, name] : []);
  return (
    actionMatches(f.event, e.Action) &&
    (!f.type?.length || f.type.includes(e.Type)) &&
    (!f.scope?.length || f.scope.includes(e.scope)) &&
    byPrefix(f.container, ...ofType('container')) &&
    byPrefix(f.volume, ...ofType('volume')) &&
    byPrefix(f.network, ...ofType('network')) &&
    imageMatches(f.image, e) &&
    labelsMatch(f.label, e.Actor.Attributes)
  );
}

/** An event's time in nanoseconds since the epoch. */
export function eventTimeNs(e: EngineEvent): bigint {
  if (e.timeNano) return BigInt(Math.round(e.timeNano));
  return BigInt(e.time) * 1_000_000_000n;
}

export interface EventWindow {
  /** Nanoseconds since the epoch, inclusive. */
  since?: bigint;
  until?: bigint;
}

export function inWindow(e: EngineEvent, w: EventWindow): boolean {
  const t = eventTimeNs(e);
  return (w.since === undefined || t >= w.since) && (w.until === undefined || t <= w.until);
}
