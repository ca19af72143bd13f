/**
 * `--user` / image `User` resolution as docker does it: "name", "uid", "name:group",
 * "uid:gid", looked up in the container's own /etc/passwd and /etc/group. A numeric uid need
 * not exist in passwd; a name must. Supplementary groups are the groups that list the user,
 * plus `--group-add` entries.
 */
import { BerthError } from '../../core/errors';
import { readFileInRoot } from './root-files';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const isNumeric = (s: string) => /^\d+$/.test(s);

function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#') || !isNumeric(f[2]!) || !isNumeric(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' });
  }
  return out;
}

function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || line.startsWith('#') || !isNumeric(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

function noEntry(what: string, name: string, file: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', `unable to find ${what} ${name}: no matching entries in ${file} file`, {
    hint: `use a numeric id, or add ${name} to the image's /etc/${file}`,
  });
}

export async function resolveUser(rootfs: string, spec: string | undefined, groupAdd: string[] = []): Promise<ResolvedUser> {
  const passwd = parsePasswd(await readFileInRoot(rootfs, '/etc/passwd'));
  const groups = parseGroup(await readFileInRoot(rootfs, '/etc/group'));
  const [userPart, groupPart] = (spec || '0').split(':', 2) as [string, string | undefined];

  let entry: PasswdEntry | undefined;
  let uid: number;
  if (isNumeric(userPart)) {
    uid = Number(userPart);
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw noEntry('user', userPart, 'passwd');
    uid = entry.uid;
  }
  if (uid > 0xfffffffe) throw new BerthError('EINVALID_ARGUMENT', `uid ${uid} is out of range`);

  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== '') gid = lookupGroup(groups, groupPart);

  // Supplementary groups only come from /etc/group when the user was not given an explicit
  // group, as docker does (an explicit group means "exactly this group").
  const extra = new Set<number>();
  if (groupPart === undefined && entry) {
    for (const g of groups) if (g.members.includes(entry.name) && g.gid !== gid) extra.add(g.gid);
  }
  for (const g of groupAdd) extra.add(lookupGroup(groups, g));
  return { uid, gid, additionalGids: [...extra], home: entry?.home ?? '/' };
}

function lookupGroup(groups: GroupEntry[], name: string): number {
  if (isNumeric(name)) return Number(name);
  const g = groups.find((x) => x.name === name);
  if (!g) throw noEntry('group', name, 'group');
  return g.gid;
}
