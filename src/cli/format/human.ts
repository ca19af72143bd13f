/**
 * Human-readable sizes and durations exactly as docker prints them (go-units): decimal
 * units with three significant digits ("4.26MB", "123B"), and "About an hour ago" style
 * relative times.
 */
const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** Go's %.4g: up to 4 significant digits, no trailing zeros. */
function g4(n: number): string {
  return String(Number(n.toPrecision(4)));
}

/** docker's HumanSizeWithPrecision(size, 3): "1.23kB", "4.26MB". */
export function humanSize(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < DECIMAL_UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${String(Number(v.toPrecision(3)))}${DECIMAL_UNITS[i]}`;
}

/** docker's BytesSize (binary units, as `docker stats` uses): "1.5MiB". */
export function binarySize(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < BINARY_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${g4(v)}${BINARY_UNITS[i]}`;
}

/** go-units HumanDuration: "Less than a second", "About a minute", "3 hours", "2 weeks". */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** "5 minutes ago" for a past instant (docker's CREATED column). */
export function timeAgo(when: Date | string | number, now: number = Date.now()): string {
  const t = typeof when === 'number' ? when : new Date(when).getTime();
  return `${humanDuration(Math.max(0, now - t))} ago`;
}
