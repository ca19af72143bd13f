/**
 * `berth inspect --anatomy` against real containers: the screen reflects what the flags did
 * in the kernel (namespaces shared or new, limit files, capability changes, seccomp,
 * no_new_privs, the overlay's layer, the shim), and refuses a container that is not running.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { BerthCli, importBusybox, engineSkip } from '../helpers/cli';
import type { ContainerAnatomy } from '../../src/engine/anatomy/collect';

const skip = engineSkip();
const clis: BerthCli[] = [];
after(() => clis.forEach((c) => c.cleanup()));

test('inspect --anatomy: default container, and one with shared namespaces, limits, caps and security options', { skip }, (t) => {
  const b = new BerthCli(t.name);
  clis.push(b);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'plain', img, 'sleep', '1000']);
  const text = b.ok(['inspect', '--anatomy', 'plain']);
  assert.match(text, /^plain {2}id [0-9a-f]{12} {2}pid \d+ {2}runtime berth$/m);
  for (const ns of ['mnt', 'pid', 'net', 'ipc', 'uts']) assert.match(text, new RegExp(`^  ${ns} +\\d+ +\\d+ +new$`, 'm'), `${ns} is new`);
  assert.match(text, /^ {2}user +(\d+) +\1 +shared with the host$/m, 'no user namespace');
  assert.match(text, /^ {2}\/ +overlay from \S+, read-write$/m);
  assert.match(text, /^ {2}layers +sha256:[0-9a-f]{12}/m, 'the image layer, by chain id');
  assert.match(text, /= docker's default set/);
  assert.match(text, /^ {2}seccomp +filter, 1 filter; Berth's default profile$/m);
  assert.match(text, /default action SCMP_ACT_ERRNO; \d+ rules over \d+ syscall names/);
  assert.match(text, /^ {2}no_new_privs +0$/m);
  assert.match(text, /^ {2}id maps +identity/m);
  assert.match(text, /^ {2}masked +.*\/proc\/keys/m);
  assert.match(text, /^ {2}berth-shim +pid \d+, RSS \d+ KiB, PSS \d+ KiB$/m);

  b.ok(['run', '-d', '--name', 'tuned', '--pid', 'host', '--uts', 'host', '-m', '48m', '--pids-limit', '33', '--cpus', '0.5',
    '--cap-add', 'SYS_ADMIN', '--cap-drop', 'NET_RAW', '--security-opt', 'no-new-privileges', '--security-opt', 'seccomp=unconfined', '--read-only', img, 'sleep', '1000']);
  const tuned = b.ok(['inspect', '--anatomy', 'tuned']);
  assert.match(tuned, /^ {2}pid +(\d+) +\1 +shared with the host$/m);
  assert.match(tuned, /^ {2}uts +(\d+) +\1 +shared with the host$/m);
  assert.match(tuned, /^ {2}net +\d+ +\d+ +new$/m);
  assert.match(tuned, /(memory\.limit_in_bytes|memory\.max) = 50331648 \(48 MiB\)/);
  assert.match(tuned, /pids\.max = 33$/m);
  assert.match(tuned, /(cpu\.cfs_quota_us = 50000|cpu\.max = 50000 100000)/);
  assert.match(tuned, /docker's default set \+SYS_ADMIN -NET_RAW/);
  assert.match(tuned, /^ {2}seccomp +disabled, 0 filters; profile: unconfined$/m);
  assert.match(tuned, /^ {2}no_new_privs +1 /m);
  assert.match(tuned, /^ {2}\/ +overlay from \S+, read-only$/m);

  const json = JSON.parse(b.ok(['inspect', '--anatomy', '--format', 'json', 'tuned'])) as ContainerAnatomy;
  assert.equal(json.name, 'tuned');
  assert.ok(json.security.capabilities.effective.includes('CAP_SYS_ADMIN'));
  assert.ok(!json.security.capabilities.bounding.includes('CAP_NET_RAW'));
  const hostPidNs = Number(/\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))![1]);
  assert.equal(json.namespaces.find((n) => n.type === 'pid')!.container, hostPidNs, 'the inode is the one we see for our own pid namespace');

  b.ok(['stop', '-t', '0', 'plain']);
  const stopped = b.run(['inspect', '--anatomy', 'plain']);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /container plain is not running/);
  assert.match(stopped.stderr, /hint: start it first/);
  b.ok(['rm', '-f', 'plain', 'tuned']);
  b.containerIds();
  assert.deepEqual(b.leaks(), []);
});
