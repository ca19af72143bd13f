/**
 * `cp` black-box on real containers (running and stopped, both directions, tar streams,
 * ownership with and without -a, -L), its errors, and its safety: a hostile container's
 * symlinks (to /, to ../../.., to /etc) and a path swapped for a symlink in the middle of a
 * copy must never make cp read or write a host file.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Engine } from '../../src/engine/engine';
import { BerthCli, BERTH, importBusybox, engineSkip } from '../helpers/cli';

const skip = engineSkip();
const clis: BerthCli[] = [];
const dirs: string[] = [];
after(() => {
  clis.forEach((c) => c.cleanup());
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});
function cli(t: { name: string }): BerthCli {
  const c = new BerthCli(t.name);
  clis.push(c);
  return c;
}
function hostDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-cp-'));
  dirs.push(d);
  return d;
}
const unique = () => `berth-cp-${randomBytes(6).toString('hex')}`;

test('cp: files and directories both ways with a running container; docker\'s landing rules', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'box', img, 'sh', '-c', 'mkdir -p /data/sub && echo one > /data/a && echo two > /data/sub/b && sleep 1000']);
  for (let i = 0; i < 100 && b.run(['exec', 'box', 'test', '-e', '/data/sub/b']).code !== 0; i++) spawnSync('sleep', ['0.05']);
  const h = hostDir();
  b.ok(['cp', 'box:/data/a', h]);
  assert.equal(readFileSync(join(h, 'a'), 'utf8'), 'one\n', 'into an existing directory under its own name');
  b.ok(['cp', 'box:/data/a', join(h, 'renamed')]);
  assert.equal(readFileSync(join(h, 'renamed'), 'utf8'), 'one\n', 'a new name');
  writeFileSync(join(h, 'existing'), 'old contents that are longer');
  b.ok(['cp', 'box:/data/a', join(h, 'existing')]);
  assert.equal(readFileSync(join(h, 'existing'), 'utf8'), 'one\n', 'an existing file is overwritten');
  b.ok(['cp', 'box:/data', h]);
  assert.equal(readFileSync(join(h, 'data', 'sub', 'b'), 'utf8'), 'two\n', 'a directory into a directory');
  b.ok(['cp', 'box:/data', join(h, 'copy')]);
  assert.equal(readFileSync(join(h, 'copy', 'sub', 'b'), 'utf8'), 'two\n', 'a directory to a new name');
  mkdirSync(join(h, 'contents'));
  b.ok(['cp', 'box:/data/.', join(h, 'contents')]);
  assert.ok(existsSync(join(h, 'contents', 'a')) && existsSync(join(h, 'contents', 'sub', 'b')), '"/." copies the contents');

  writeFileSync(join(h, 'up.txt'), 'from the host\n');
  mkdirSync(join(h, 'tree', 'deep'), { recursive: true });
  writeFileSync(join(h, 'tree', 'deep', 'f'), 'deep\n');
  b.ok(['cp', join(h, 'up.txt'), 'box:/tmp/']);
  b.ok(['cp', join(h, 'up.txt'), 'box:/tmp/other-name']);
  b.ok(['cp', join(h, 'tree'), 'box:/tmp']);
  b.ok(['cp', join(h, 'tree') + '/.', 'box:/data']);
  assert.equal(b.ok(['exec', 'box', 'cat', '/tmp/up.txt', '/tmp/other-name', '/tmp/tree/deep/f', '/data/deep/f']), 'from the host\nfrom the host\ndeep\ndeep\n');

  const tar = spawnSync(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'cp', 'box:/data/sub', '-']);
  assert.equal(tar.status, 0, tar.stderr.toString());
  const listing = spawnSync('tar', ['-tvf', '-'], { input: tar.stdout, encoding: 'utf8' }).stdout;
  assert.match(listing, /^d.* sub\/$/m);
  assert.match(listing, /^-.* sub\/b$/m);
  const packed = spawnSync('tar', ['-C', h, '-cf', '-', 'tree'], { maxBuffer: 1 << 24 }).stdout;
  const put = b.run(['cp', '-', 'box:/root'], { input: packed });
  assert.equal(put.code, 0, put.stderr);
  assert.equal(b.ok(['exec', 'box', 'cat', '/root/tree/deep/f']), 'deep\n');

  const missing = b.run(['cp', 'box:/nope', h]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Error: Could not find the file \/nope in container box$/m);
  const noDir = b.run(['cp', join(h, 'up.txt'), 'box:/does/not/exist/']);
  assert.equal(noDir.code, 1);
  assert.match(noDir.stderr, /Could not find the file|does not exist/);
  const dirToFile = b.run(['cp', 'box:/data', join(h, 'existing')]);
  assert.equal(dirToFile.code, 1);
  assert.match(dirToFile.stderr, /cannot copy a directory to a file/);
  assert.match(b.run(['cp', 'box:/a', 'box:/b']).stderr, /copying between containers is not supported/);
  assert.match(b.run(['cp', join(h, 'a'), join(h, 'b')]).stderr, /must specify at least one container/);
  const notDir = b.run(['cp', '-', 'box:/data/a'], { input: packed });
  assert.equal(notDir.code, 1);
  assert.match(notDir.stderr, /is not a directory/);
  assert.equal(b.run(['cp', join(h, 'nothing-here'), 'box:/tmp']).code, 1);
  const ghost = b.run(['cp', 'ghost:/etc', h]);
  assert.equal(ghost.code, 1);
  assert.match(ghost.stderr, /No such container: ghost/);
});

test('cp: ownership and setuid bits with and without -a; -L follows a symlink source', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'own', img, 'sh', '-c', 'echo s > /suid && chown 1234:5678 /suid && chmod 4755 /suid && ln -s /etc/passwd /lnk && sleep 1000']);
  for (let i = 0; i < 100 && b.run(['exec', 'own', 'test', '-L', '/lnk']).code !== 0; i++) spawnSync('sleep', ['0.05']);
  const h = hostDir();
  b.ok(['cp', 'own:/suid', join(h, 'plain')]);
  const plain = statSync(join(h, 'plain'));
  assert.deepEqual([plain.uid, plain.gid, plain.mode & 0o7777], [0, 0, 0o755], 'the invoking user owns it; no setuid on the host');
  b.ok(['cp', '-a', 'own:/suid', join(h, 'kept')]);
  const kept = statSync(join(h, 'kept'));
  assert.deepEqual([kept.uid, kept.gid, kept.mode & 0o7777], [1234, 5678, 0o4755], '-a keeps ids and mode');

  writeFileSync(join(h, 'mine'), 'x');
  chownSync(join(h, 'mine'), 4321, 8765);
  chmodSync(join(h, 'mine'), 0o640);
  b.ok(['cp', join(h, 'mine'), 'own:/tmp/root-owned']);
  b.ok(['cp', '-a', join(h, 'mine'), 'own:/tmp/id-kept']);
  assert.equal(b.ok(['exec', 'own', 'stat', '-c', '%u:%g %a', '/tmp/root-owned', '/tmp/id-kept']), '0:0 640\n4321:8765 640\n');

  b.ok(['cp', 'own:/lnk', join(h, 'link')]);
  assert.equal(readlinkSync(join(h, 'link')), '/etc/passwd', 'a symlink is copied as a symlink');
  b.ok(['cp', '-L', 'own:/lnk', join(h, 'followed')]);
  assert.ok(lstatSync(join(h, 'followed')).isFile());
  assert.match(readFileSync(join(h, 'followed'), 'utf8'), /^root:x:0:0:root:\/root:\/bin\/sh\nnobody/, '-L copies the container\'s file');
});

test('cp: a stopped container (its snapshot mounted for the copy) and its volume', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['create', '--name', 'cold', '-v', 'coldvol:/vol', img]);
  const h = hostDir();
  writeFileSync(join(h, 'in.txt'), 'stopped\n');
  b.ok(['cp', join(h, 'in.txt'), 'cold:/etc/']);
  b.ok(['cp', join(h, 'in.txt'), 'cold:/vol/']);
  const volPath = b.ok(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'coldvol']).trim();
  assert.equal(readFileSync(join(volPath, 'in.txt'), 'utf8'), 'stopped\n', 'a path under a volume goes to the volume');
  b.ok(['cp', 'cold:/etc/in.txt', join(h, 'back.txt')]);
  assert.equal(readFileSync(join(h, 'back.txt'), 'utf8'), 'stopped\n');
  assert.equal(b.ok(['run', '--rm', '--volumes-from', 'cold', img, 'cat', '/vol/in.txt']), 'stopped\n');
  assert.ok(b.ok(['diff', 'cold']).split('\n').includes('A /etc/in.txt'));
  assert.equal(b.ok(['start', '-a', 'cold']), '', 'it still starts (its shell sees no input and ends)');
  b.containerIds();
  assert.deepEqual(b.leaks(), [], 'the temporary mounts are gone');
  assert.deepEqual(existsSync(join(b.runRoot, 'mnt')) ? readdirSync(join(b.runRoot, 'mnt')) : [], []);
});

test('cp: a stopped container\'s /etc/hostname, /etc/hosts and /etc/resolv.conf are the ones it ran with (as docker)', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const h = hostDir();
  const seen = b.ok(['run', '--name', 'ran', '--hostname', 'cold-host', '--add-host', 'extra.example:10.1.2.3', '--dns', '10.9.9.9', img, 'cat', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);
  assert.match(seen, /^cold-host\n/);
  const files = ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf'].map((f) => {
    const tar = spawnSync(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'cp', `ran:${f}`, '-']);
    assert.equal(tar.status, 0, tar.stderr.toString());
    return spawnSync('tar', ['-xOf', '-'], { input: tar.stdout, encoding: 'utf8' }).stdout;
  });
  assert.equal(files.join(''), seen, 'cp of the stopped container shows what the container saw');
  assert.match(files[1]!, /10\.1\.2\.3\textra\.example/);
  assert.match(files[2]!, /nameserver 10\.9\.9\.9/);
  b.ok(['cp', 'ran:/etc/hostname', join(h, 'hostname')]);
  assert.equal(readFileSync(join(h, 'hostname'), 'utf8'), 'cold-host\n');
  // Regenerated at every start: a copy into them would be lost, so it is refused.
  const into = b.run(['cp', join(h, 'hostname'), 'ran:/etc/hostname']);
  assert.equal(into.code, 1);
  assert.match(into.stderr, /^Error: \/etc\/hostname is mounted read-only: cannot copy into \/etc\/hostname of ran$/m);
  assert.doesNotMatch(b.ok(['diff', 'ran']), /\/etc\/host/);
  assert.deepEqual(existsSync(join(b.runRoot, 'mnt')) ? readdirSync(join(b.runRoot, 'mnt')) : [], []);
});

test('cp: hostile symlinks inside the container never reach host files (running and stopped)', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const marker = unique();
  const hostSecretDir = hostDir();
  writeFileSync(join(hostSecretDir, 'secret'), 'HOST SECRET\n');
  writeFileSync(join('/tmp', marker), 'HOST FILE\n');
  dirs.push(join('/tmp', marker));
  const script = [
    'ln -s / /evil', 'ln -s ../../.. /up', 'ln -s /etc /hostetc', `ln -s ${hostSecretDir} /abs`,
    'echo container > /etc/marker', 'mknod /dev-node c 1 3', 'sleep 1000',
  ].join(' && ');
  b.ok(['run', '-d', '--name', 'evil', img, 'sh', '-c', script]);
  for (let i = 0; i < 100 && b.run(['exec', 'evil', 'test', '-e', '/dev-node']).code !== 0; i++) spawnSync('sleep', ['0.05']);
  const h = hostDir();
  const check = (name: string, round: string) => {
    // Reads: never the host's file.
    const up = b.run(['cp', `${name}:/up/tmp/${marker}`, join(h, 'x')]);
    assert.equal(up.code, 1, 'the host /tmp is not reachable through ../../..');
    assert.match(up.stderr, /Could not find the file/);
    assert.equal(b.run(['cp', `${name}:/abs/secret`, join(h, 'x')]).code, 1, 'an absolute symlink to a host directory resolves in the container');
    b.ok(['cp', `${name}:/evil/etc/marker`, join(h, `${round}-marker`)]);
    assert.equal(readFileSync(join(h, `${round}-marker`), 'utf8'), 'container\n');
    b.ok(['cp', '-L', `${name}:/hostetc`, join(h, `${round}-etc`)]);
    assert.ok(existsSync(join(h, `${round}-etc`, 'marker')), '-L on /etc -> the container\'s /etc');
    // Writes: never onto the host.
    const file = join(h, 'payload');
    writeFileSync(file, 'payload\n');
    const w1 = unique();
    b.ok(['cp', file, `${name}:/evil/tmp/${w1}`]);
    assert.ok(!existsSync(join('/tmp', w1)), 'not written to the host /tmp');
    const w2 = unique();
    b.ok(['cp', file, `${name}:/up/${w2}`]);
    assert.ok(!existsSync(join('/', w2)), 'not written to the host /');
    const w3 = unique();
    mkdirSync(join(h, 'tarsrc'), { recursive: true });
    symlinkSync('/', join(h, 'tarsrc', 'a'));
    writeFileSync(join(h, 'tarsrc', w3), 'via tar\n');
    // A tar whose second entry goes through its first, a symlink to /.
    const tarFile = join(h, 'hostile.tar');
    spawnSync('tar', ['-C', join(h, 'tarsrc'), '-cf', tarFile, 'a']);
    spawnSync('tar', ['-C', join(h, 'tarsrc'), '--transform', `s|^${w3}$|a/${w3}|`, '-rf', tarFile, w3]);
    const r = b.run(['cp', '-', `${name}:/tmp`], { input: readFileSync(tarFile) });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(join('/', w3)), 'a tar entry through a symlink to / stays in the container');
    assert.ok(!existsSync(join('/tmp', w3)));
    rmSync(join(h, 'tarsrc'), { recursive: true, force: true });
    return [w1, w2, w3];
  };
  const [w1, w2, w3] = check('evil', 'running');
  assert.equal(b.ok(['exec', 'evil', 'cat', `/tmp/${w1}`, `/${w2}`, `/tmp/${w3}`]), 'payload\npayload\nvia tar\n', 'the writes landed inside the container (the archive confined to its destination)');
  const dev = b.run(['cp', 'evil:/dev-node', join(h, 'dev-node')]);
  assert.equal(dev.code, 0);
  assert.match(dev.stderr, /WARNING: skipped device node/);
  assert.ok(!existsSync(join(h, 'dev-node')), 'no device node is created on the host');
  b.ok(['stop', '-t', '0', 'evil']);
  const [s1, s2, s3] = check('evil', 'stopped');
  const diff = b.ok(['diff', 'evil']).split('\n');
  for (const p of [`A /tmp/${s1}`, `A /${s2}`, `A /tmp/${s3}`]) assert.ok(diff.includes(p), `${p} in the stopped container's layer`);
  assert.equal(readFileSync(join(hostSecretDir, 'secret'), 'utf8'), 'HOST SECRET\n');
  b.ok(['rm', 'evil']);
  b.containerIds();
  assert.deepEqual(b.leaks(), []);
});

test('cp: a directory swapped for a symlink in the middle of a copy (deterministic race)', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'race', img, 'sh', '-c', 'mkdir /data && echo container > /data/secret && sleep 1000']);
  for (let i = 0; i < 100 && b.run(['exec', 'race', 'test', '-e', '/data/secret']).code !== 0; i++) spawnSync('sleep', ['0.05']);
  const pid = Number(b.ok(['inspect', '-f', '{{.State.Pid}}', 'race']));
  const rootfs = `/proc/${pid}/root`;
  const hostSecrets = hostDir();
  writeFileSync(join(hostSecrets, 'secret'), 'HOST\n');
  // What an attacker inside the container does once cp has checked the path: /data becomes a
  // symlink to a host directory (absolute, as a naive host-side walk would follow it).
  const swap = () => {
    renameSync(join(rootfs, 'data'), join(rootfs, 'data.old'));
    symlinkSync(hostSecrets, join(rootfs, 'data'));
  };
  const unswap = () => {
    unlinkSync(join(rootfs, 'data'));
    renameSync(join(rootfs, 'data.old'), join(rootfs, 'data'));
  };
  const engine = new Engine({ root: b.root, runRoot: b.runRoot });
  t.after(() => engine.close());
  const h = hostDir();
  await engine.copyFromContainer('race', '/data/secret', { path: join(h, 'got') }, { afterResolve: swap });
  assert.equal(readFileSync(join(h, 'got'), 'utf8'), 'container\n', 'the file of the directory that was resolved, not the host\'s');
  unswap();
  await engine.copyFromContainer('race', '/data', { path: join(h, 'tree') }, { afterResolve: swap });
  assert.equal(readFileSync(join(h, 'tree', 'secret'), 'utf8'), 'container\n');
  unswap();
  const payload = join(h, 'payload');
  writeFileSync(payload, 'written\n');
  const name = unique();
  await engine.copyToContainer('race', { path: payload }, `/data/${name}`, { afterResolve: swap });
  assert.ok(!existsSync(join(hostSecrets, name)), 'nothing written into the host directory');
  assert.equal(readFileSync(join(rootfs, 'data.old', name), 'utf8'), 'written\n', 'written where the path pointed when it was resolved');
  assert.equal(readFileSync(join(hostSecrets, 'secret'), 'utf8'), 'HOST\n');
  unswap();
  // The file itself replaced by a symlink to a host file after the check: the file that was
  // opened is copied; the host file is not read.
  await engine.copyFromContainer('race', '/data/secret', { path: join(h, 'swapped') }, {
    afterResolve: () => {
      unlinkSync(join(rootfs, 'data', 'secret'));
      symlinkSync(join(hostSecrets, 'secret'), join(rootfs, 'data', 'secret'));
    },
  });
  assert.ok(lstatSync(join(h, 'swapped')).isFile());
  assert.equal(readFileSync(join(h, 'swapped'), 'utf8'), 'container\n');
  // And into a directory that was swapped: written to the directory that was resolved.
  const name2 = unique();
  const tar = spawnSync('tar', ['-C', h, '--transform', `s|^payload$|${name2}|`, '-cf', '-', 'payload']).stdout;
  const { Readable } = await import('node:stream');
  await engine.copyToContainer('race', { stream: Readable.from([tar]) }, '/data/', { afterResolve: () => {
    renameSync(join(rootfs, 'data'), join(rootfs, 'data.old2'));
    symlinkSync(hostSecrets, join(rootfs, 'data'));
  } });
  assert.ok(!existsSync(join(hostSecrets, name2)));
  assert.equal(readFileSync(join(rootfs, 'data.old2', name2), 'utf8'), 'written\n');
});

test('cp: a read-only root file system or mount refuses writes, a writable volume in it does not', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const h = hostDir();
  writeFileSync(join(h, 'f'), 'f\n');
  b.ok(['run', '-d', '--name', 'ro', '--read-only', '-v', '/scratch', '-v', `${h}:/hostro:ro`, img, 'sleep', '1000']);
  const root = b.run(['cp', join(h, 'f'), 'ro:/etc/']);
  assert.equal(root.code, 1);
  assert.match(root.stderr, /^Error: container rootfs is marked read-only: cannot copy into \/etc\/ of ro$/m);
  const mount = b.run(['cp', join(h, 'f'), 'ro:/hostro/']);
  assert.equal(mount.code, 1);
  assert.match(mount.stderr, /\/hostro is mounted read-only/);
  b.ok(['cp', join(h, 'f'), 'ro:/scratch/']);
  assert.equal(b.ok(['exec', 'ro', 'cat', '/scratch/f']), 'f\n');
  b.ok(['cp', 'ro:/etc/passwd', join(h, 'out')]);
  assert.ok(existsSync(join(h, 'out')), 'reading is fine');
});
