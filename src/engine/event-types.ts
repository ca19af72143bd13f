/**
 * The shape of an engine event (docker's events API message), shared by the event log
 * (events.ts) and the filters over it (events-query.ts), which import each other otherwise.
 */
export type EventType = 'container' | 'image' | 'volume' | 'network' | 'builder';

export interface EngineEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  /** Audit: who caused it. */
  user?: { uid: number; name: string; pid: number };
}
