/**
 * Device rules on cgroup v1 with the fewest writes from what the cgroup has now (devices.list)
 * to what the rules ask for, as runc's devices emulator does. The plain way ("deny all", then
 * every rule) leaves a moment in which the container may open nothing at all, not even
 * /dev/null: a running container whose rules are re-applied by `update` sees EPERM at random.
 * A write of "a" (a full reset) is only made when the default policy has to change, or when
 * the cgroup allows everything (devices.list cannot list what an allow-all cgroup denies).
 *
 * The kernel's model: a default (allow or deny) plus exceptions keyed by type, major and minor
 * (a wildcard is a key of its own), each with a subset of rwm. A rule of the default's kind
 * takes permissions away from the exception with exactly its key; any rule of type `a` resets.
 */
import { readCgroupFile, writeCgroupFile } from './files';
import { type NormalizedDeviceRule, normalizeDeviceRule } from './devices';
import type { DeviceRule } from '../spec/types';

export interface DeviceState {
  defaultAllow: boolean;
  /** "c 1:3" -> permissions ("rwm" subset, in that order). */
  exceptions: Map<string, string>;
}

const PERMS = 'rwm';
const union = (a: string, b: string) => [...PERMS].filter((p) => a.includes(p) || b.includes(p)).join('');
const minus = (a: string, b: string) => [...PERMS].filter((p) => a.includes(p) && !b.includes(p)).join('');
const keyOf = (r: Pick<NormalizedDeviceRule, 'type' | 'major' | 'minor'>) => `${r.type} ${r.major ?? '*'}:${r.minor ?? '*'}`;

/** The state devices.list describes: "a *:* rwm" alone means allow-all, else deny plus the lines. */
export function parseDevicesList(text: string): DeviceState {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.some((l) => l.startsWith('a '))) return { defaultAllow: true, exceptions: new Map() };
  const exceptions = new Map<string, string>();
  for (const line of lines) {
    const m = /^([bc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(line);
    if (m) exceptions.set(`${m[1]} ${m[2]}:${m[3]}`, union(exceptions.get(`${m[1]} ${m[2]}:${m[3]}`) ?? '', m[4]!));
  }
  return { defaultAllow: false, exceptions };
}

/** What the kernel does with one write of `rule`. */
export function applyRule(state: DeviceState, rule: NormalizedDeviceRule): void {
  if (rule.type === 'a') {
    state.defaultAllow = rule.allow;
    state.exceptions.clear();
    return;
  }
  const key = keyOf(rule);
  const current = state.exceptions.get(key) ?? '';
  const next = rule.allow !== state.defaultAllow ? union(current, rule.access) : minus(current, rule.access);
  if (next) state.exceptions.set(key, next);
  else state.exceptions.delete(key);
}

/** The state `rules` produce from "deny all", the starting point of every OCI rule list. */
export function targetState(rules: NormalizedDeviceRule[]): DeviceState {
  const state: DeviceState = { defaultAllow: false, exceptions: new Map() };
  for (const r of rules) applyRule(state, r);
  return state;
}

/** The writes (file and line) that take `from` to `to`. */
export function transition(from: DeviceState, to: DeviceState): Array<{ file: 'devices.allow' | 'devices.deny'; line: string }> {
  const out: Array<{ file: 'devices.allow' | 'devices.deny'; line: string }> = [];
  const fileFor = (allow: boolean) => (allow ? 'devices.allow' : 'devices.deny');
  let old = from.exceptions;
  if (from.defaultAllow || from.defaultAllow !== to.defaultAllow) {
    out.push({ file: fileFor(to.defaultAllow), line: 'a *:* rwm' });
    old = new Map();
  }
  const sorted = (m: Map<string, string>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // Take away first what the target no longer has, then add what it gains: while the update
  // runs, a device is only ever less allowed if it ends up less allowed.
  for (const [key, perms] of sorted(old)) {
    const dropped = minus(perms, to.exceptions.get(key) ?? '');
    if (dropped) out.push({ file: fileFor(to.defaultAllow), line: `${key} ${dropped}` });
  }
  for (const [key, perms] of sorted(to.exceptions)) {
    const gained = minus(perms, old.get(key) ?? '');
    if (gained) out.push({ file: fileFor(!to.defaultAllow), line: `${key} ${gained}` });
  }
  return out;
}

/** Brings the cgroup's device rules to what `rules` describe, with the minimal transition. */
export function applyDevicesV1(dir: string, rules: DeviceRule[]): void {
  const normalized = rules.map(normalizeDeviceRule);
  const target = targetState(normalized);
  const current = parseDevicesList(readCgroupFile(dir, 'devices.list'));
  for (const w of transition(current, target)) writeCgroupFile(dir, w.file, w.line);
}
