/**
 * `inspect --anatomy` as one screen of text: a section per mechanism, the kernel's values
 * with a short reading next to them (shared or new namespace, "64 MiB", "docker's default
 * set"), long lists wrapped to the terminal width.
 */
import type { ContainerAnatomy } from '../../engine/anatomy/collect';
import { describeLimit } from '../../engine/anatomy/cgroups';
import { humanBytes } from '../../engine/anatomy/decode';

const LABEL = 18;

function row(label: string, text: string): string {
  return `  ${label.padEnd(LABEL)}${text}\n`;
}

/** Words joined by spaces, wrapped under the label column. */
function wrap(words: string[], width: number): string {
  const lines: string[] = [];
  let line = '';
  const room = Math.max(30, width - LABEL - 2);
  for (const w of words) {
    if (line && line.length + 1 + w.length > room) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${' '.repeat(LABEL + 2)}`);
}

const short = (caps: string[]) => caps.map((c) => c.replace(/^CAP_/, ''));
const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

function capabilities(a: ContainerAnatomy, width: number): string {
  const c = a.security.capabilities;
  let s = row('effective', `${c.effective.length}: ${wrap(short(c.effective), width - 4)}`);
  const { added, dropped } = a.capabilityDelta;
  const delta = [...added.map((x) => `+${x.replace(/^CAP_/, '')}`), ...dropped.map((x) => `-${x.replace(/^CAP_/, '')}`)];
  s += row('', delta.length ? `docker's default set ${wrap(delta, width - 22)}` : "= docker's default set");
  for (const set of ['permitted', 'bounding', 'inheritable', 'ambient'] as const) {
    const v = c[set];
    s += row(set, v.length === 0 ? 'none' : sameSet(v, c.effective) ? '= effective' : `${v.length}: ${wrap(short(v), width - 4)}`);
  }
  return s;
}

function seccomp(a: ContainerAnatomy): string {
  const s = a.seccomp;
  const mode = ['disabled', 'strict', 'filter'][s.mode]!;
  const kernel = `${mode}${s.filters !== undefined ? `, ${s.filters} filter${s.filters === 1 ? '' : 's'}` : ''}`;
  if (s.profile === 'unconfined') return row('seccomp', `${kernel}; profile: unconfined`);
  const name = s.profile === 'default' ? "Berth's default profile" : `custom profile ${s.file}`;
  const arches = s.architectures.map((x) => x.replace(/^SCMP_ARCH_/, '').toLowerCase()).join(',');
  return row('seccomp', `${kernel}; ${name}`) + row('', `default action ${s.defaultAction ?? '?'}; ${s.rules} rules over ${s.syscalls} syscall names${arches ? `; ${arches}` : ''}`);
}

function idMap(label: string, map: { inside: number; outside: number; count: number }[]): string {
  return row(label, map.map((m) => `${m.inside}->${m.outside} (${m.count})`).join(', ') || '(none)');
}

export function renderAnatomy(a: ContainerAnatomy, width = 100): string {
  let s = `${a.name}  id ${a.id.slice(0, 12)}  pid ${a.pid}  runtime ${a.runtime}\n`;

  s += `\n${'NAMESPACES'.padEnd(LABEL + 2)}${'container'.padEnd(12)}${'host'.padEnd(12)}\n`;
  for (const n of a.namespaces) {
    if (n.container === undefined) continue;
    s += row(n.type, `${String(n.container).padEnd(12)}${String(n.host ?? '?').padEnd(12)}${n.shared ? 'shared with the host' : 'new'}`);
  }

  s += '\nCGROUPS\n';
  for (const c of a.cgroups) {
    const label = c.version === 2 ? 'v2' : `v1 ${c.controllers.join(',')}`;
    const extra = c.version === 2 ? `  (controllers: ${c.controllers.join(' ') || 'none'})` : '';
    s += row(label, `${c.dir ?? `${c.path} (hierarchy not mounted here)`}${extra}`);
    for (const l of c.limits) s += row('', `${l.file} = ${describeLimit(l)}`);
  }

  s += '\nROOT FILESYSTEM\n';
  if (!a.rootfs) s += row('/', '(not found in mountinfo)');
  else {
    s += row('/', `${a.rootfs.fstype} from ${a.rootfs.source}, ${a.rootfs.readOnly ? 'read-only' : 'read-write'}`);
    if (a.rootfs.upperdir) s += row('upper', a.rootfs.upperdir);
    a.rootfs.layers.forEach((l, i) => {
      const what = l.chainId ? `${l.chainId.slice(0, 19)}  diff ${l.diffId?.slice(0, 19) ?? '?'}  ${l.size !== undefined ? humanBytes(l.size) : ''}` : l.dir;
      s += row(i === 0 ? 'layers' : '', `${what}${i === 0 && a.rootfs!.layers.length > 1 ? '  (top)' : ''}`);
    });
  }

  s += '\nMOUNTS\n';
  const cgroupMounts = a.mounts.filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2');
  for (const m of a.mounts) {
    if (cgroupMounts.includes(m)) continue;
    const ro = m.options.includes('ro') ? 'ro' : 'rw';
    const src = m.fstype === 'overlay' || m.root === '/' ? m.source : m.root;
    s += row(m.target, `${m.fstype} ${src} ${ro}`);
  }
  if (cgroupMounts.length) {
    s += row('cgroup mounts', wrap(cgroupMounts.map((m) => `${m.target.replace('/sys/fs/cgroup/', '')}${m.options.includes('ro') ? '' : '(rw)'}`), width));
  }
  if (a.masked.length) s += row('masked', wrap(a.masked, width));
  if (a.readonlyPaths.length) s += row('read-only', wrap(a.readonlyPaths, width));

  s += '\nCAPABILITIES\n';
  s += capabilities(a, width);

  s += '\nSECURITY\n';
  s += seccomp(a);
  s += row('no_new_privs', a.security.noNewPrivs ? '1 (setuid binaries cannot gain privileges)' : '0');
  const [ru, eu, su, fu] = a.security.uids;
  const [rg, eg] = a.security.gids;
  s += row('user', `uid ${eu} (real ${ru}, saved ${su}, fs ${fu}), gid ${eg} (real ${rg}), groups ${a.security.groups.join(',') || 'none'}`);
  if (a.idMaps.identity) s += row('id maps', 'identity (no user namespace: uid 0 inside is uid 0 outside)');
  else s += idMap('uid map', a.idMaps.uid) + idMap('gid map', a.idMaps.gid);

  s += '\nMONITOR\n';
  if (!a.shim) s += row('berth-shim', '(none recorded)');
  else {
    const mem = [a.shim.rssKiB !== undefined ? `RSS ${a.shim.rssKiB} KiB` : '', a.shim.pssKiB !== undefined ? `PSS ${a.shim.pssKiB} KiB` : ''].filter(Boolean).join(', ');
    s += row('berth-shim', `pid ${a.shim.pid}${mem ? `, ${mem}` : ', not running'}`);
  }
  return s;
}
