/** A container's streams for every front end: its logs, attaching to it, exec in it. */
export { containerLogs, type ContainerLogsOptions } from './logs';
export { attachContainer, type AttachContext, type AttachResult, type ContainerAttachIo } from './attach';
export { startAttached, type StartAttachedContext, type StartAttachedIo, type StartAttachedOptions } from './start-attached';
