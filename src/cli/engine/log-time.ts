/**
 * Times for `logs --since/--until` and `events --since/--until` as docker accepts them: RFC
 * 3339, unix seconds (with fraction), or a duration before now ("10m", "1h30m").
 */
import { toNs, type LogTime } from '../../engine/shim';
import { parseDuration } from '../../engine/parse/values';

export function parseLogTime(flag: string, text: string): LogTime {
  if (/^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)/.test(text) && !/^\d+(\.\d+)?$/.test(text)) {
    const ago = parseDuration(flag, text);
    return BigInt(Math.round(Date.now() - ago)) * 1_000_000n;
  }
  return toNs(text);
}
