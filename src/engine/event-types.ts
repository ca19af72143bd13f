/** The shape of one line of the engine's event log (events.ts writes them, events-query.ts filters them). */
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
