/**
 * How `berth events` prints an event, as docker does: one line
 *   2024-05-01T10:00:00.000000000Z container start <id> (image=busybox, name=web)
 * with the time in the local zone (Go's RFC3339Nano with all nine digits; "Z" for UTC) and
 * the attributes sorted by key; or, with --format, a template over docker's event message
 * (`.Type`, `.Action`, `.Actor.ID`, `.Actor.Attributes`, `.Time`, `.TimeNano`, `.Scope`, and
 * the old `.Status`, `.ID`, `.From`), whose JSON form has docker's field names.
 */
import type { EngineEvent } from '../../engine/events';
import { eventTimeNs } from '../../engine/events-query';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `2006-01-02T15:04:05.000000000Z07:00` for `ns` since the epoch, at `offsetMinutes` east of UTC. */
export function formatEventTime(ns: bigint, offsetMinutes: number): string {
  const sec = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  const local = new Date(Number(sec) * 1000 + offsetMinutes * 60_000);
  const date = `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
  const time = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}.${frac.toString().padStart(9, '0')}`;
  if (offsetMinutes === 0) return `${date}T${time}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${date}T${time}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** Minutes east of UTC of the local zone at that instant (what Go's time.Local gives). */
export function localOffsetMinutes(ns: bigint): number {
  const minutes = -new Date(Number(ns / 1_000_000n)).getTimezoneOffset();
  return minutes === 0 ? 0 : minutes; // never -0
}

export function formatEventLine(e: EngineEvent, offsetMinutes?: number): string {
  const ns = eventTimeNs(e);
  const when = formatEventTime(ns, offsetMinutes ?? localOffsetMinutes(ns));
  const attrs = Object.keys(e.Actor.Attributes)
    .sort()
    .map((k) => `${k}=${e.Actor.Attributes[k]}`);
  return `${when} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs.length ? ` (${attrs.join(', ')})` : ''}\n`;
}

/** docker's events.Message: Go field names for templates, JSON tags for `json`. */
export interface EventMessage {
  Status: string;
  ID: string;
  From: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  Scope: string;
  Time: number;
  TimeNano: number;
}

export function eventMessage(e: EngineEvent): EventMessage {
  // The pre-1.22 fields docker still fills for container and image events.
  const legacy = e.Type === 'container' || e.Type === 'image';
  const msg: EventMessage = {
    Status: legacy ? e.Action : '',
    ID: legacy ? e.Actor.ID : '',
    From: e.Type === 'container' ? (e.Actor.Attributes.image ?? '') : '',
    Type: e.Type,
    Action: e.Action,
    Actor: { ID: e.Actor.ID, Attributes: { ...e.Actor.Attributes } },
    Scope: e.scope,
    Time: e.time,
    TimeNano: e.timeNano,
  };
  // Not enumerable: templates see the Go fields only, `{{json .}}` gets docker's JSON.
  Object.defineProperty(msg, 'toJSON', { enumerable: false, value: () => eventJson(msg) });
  return msg;
}

/** The JSON docker prints for an event (its field tags). */
export function eventJson(msg: EventMessage): Record<string, unknown> {
  return {
    ...(msg.Status ? { status: msg.Status } : {}),
    ...(msg.ID ? { id: msg.ID } : {}),
    ...(msg.From ? { from: msg.From } : {}),
    Type: msg.Type,
    Action: msg.Action,
    Actor: msg.Actor,
    scope: msg.Scope,
    time: msg.Time,
    timeNano: msg.TimeNano,
  };
}
