/**
 * The engine's side of berth-shim, the per-container monitor (native/shim, PROTOCOL.md):
 * launch a container under a shim, start it, attach to it, read its logs and how it ended.
 */
export { launchShim, startMonitored, resolveBinary, type LaunchShimOptions, type ShimLaunch, type ShimRuntime, type StartRuntime, type LogOptions, type HealthSchedule } from './launch';
export { attach, openAttach, notifyStarted, type AttachOptions, type AttachConnection, type ResizeHook } from './attach';
export { readExit, shimAlive, shimState, recordLostExit, readShimPid, type ExitInfo, type ShimState } from './exit';
export { readLogs, logFiles, type ReadLogsOptions } from './logs';
export { parseLogLine, formatFixedNs, toNs, type LogEntry, type LogStream, type LogTime } from './log-format';
export { rawTerminal, type TerminalSession } from './terminal';
export { listenConsole, proxyConsole, type ConsoleReceiver, type ConsoleProxyOptions } from './console';
export { DEFAULT_DETACH_KEYS, DetachKeyMatcher, parseDetachKeys } from './detach-keys';
export { StreamDemuxer, type StreamChunk } from './protocol';
export { shimBinaryPath, ATTACH_SOCKET, CONSOLE_SOCKET, EXIT_FILE, SHIM_LOG, SHIM_PID_FILE } from './paths';
