/**
 * The OCI state document (`berth-runtime state`, and what hooks read on stdin).
 */
import type { ContainerState } from './types';

/** The runtime-spec version Berth implements and writes into the documents it produces. */
export const OCI_VERSION = '1.2.0';

export function stateDocument(s: {
  id: string;
  status: ContainerState['status'];
  bundle: string;
  pid?: number | undefined;
  annotations?: Record<string, string> | undefined;
}): ContainerState {
  const st: ContainerState = { ociVersion: OCI_VERSION, id: s.id, status: s.status, bundle: s.bundle };
  // The spec requires pid while the process exists (created, running, paused); once stopped
  // the number may already belong to another process, so it is left out.
  if (s.pid !== undefined && s.pid > 0 && s.status !== 'stopped') st.pid = s.pid;
  if (s.annotations && Object.keys(s.annotations).length > 0) st.annotations = { ...s.annotations };
  return st;
}
