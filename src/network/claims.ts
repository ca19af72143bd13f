/**
 * Subnets and bridge names claimed by Berth networks of *every* state root on this host, so
 * that two roots (a user's projects with their own `--root`, the test suite's temporary roots)
 * never pick the same automatic subnet: a network's bridge — and so its route — exists only
 * while a container runs on it, so the host's routes alone do not show a network at rest.
 *
 * One file per network in a host-wide directory under /run (claims go with a reboot, as the
 * bridges do; a root's networks claim again when they are next listed). A claim whose
 * network no longer exists (its root deleted without `network rm`) is stale: readers ignore
 * and delete it. Creation holds the directory's lock across "read the claims, pick, claim".
 */
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../core/errors';
import { pathExists } from '../core/fs-exists';
import { writeFileAtomic } from '../core/fs-atomic';
import { type FileLock, acquireLock } from '../core/lock';
import { type Cidr, parseCidr } from './ipam/cidr';
import type { NetworkRecord } from './store-types';

export const HOST_CLAIMS_DIR = '/run/berth-subnets';

interface Claim {
  /** The network's directory in its root (<root>/networks/<id>): the claim lives while it does. */
  networkDir: string;
  subnets: string[];
  bridge: string;
}

export class SubnetClaims {
  constructor(readonly dir: string) {}

  async lock(): Promise<FileLock> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    return acquireLock(join(this.dir, 'lock'));
  }

  async claim(net: NetworkRecord, networkDir: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    const claim: Claim = { networkDir, subnets: net.subnets.map((s) => s.subnet), bridge: net.bridge };
    await writeFileAtomic(join(this.dir, `${net.id}.json`), `${JSON.stringify(claim)}\n`);
  }

  async release(id: string): Promise<void> {
    await rm(join(this.dir, `${id}.json`), { force: true });
  }

  /** The live claims (stale ones deleted on the way). */
  async live(): Promise<Array<{ id: string; subnets: Cidr[]; bridge: string }>> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw e;
    }
    const out: Array<{ id: string; subnets: Cidr[]; bridge: string }> = [];
    for (const name of names) {
      if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
      let claim: Claim;
      try {
        claim = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as Claim;
      } catch {
        continue;
      }
      if (!(await pathExists(join(claim.networkDir, 'network.json')))) {
        await rm(join(this.dir, name), { force: true });
        continue;
      }
      out.push({ id: name.slice(0, 64), subnets: claim.subnets.map((s) => parseCidr(s)), bridge: claim.bridge });
    }
    return out;
  }
}
