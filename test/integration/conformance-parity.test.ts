/**
 * Conformance: behaviour found to differ from runc on the same bundle (issue 9): the loopback
 * interface of a new network namespace, what a `cgroup` mount shows, what --no-pivot leaves
 * reachable, and the working directory of hooks. Every test here also runs against runc
 * (BERTH_TEST_RUNTIME=runc), which is how the expectations were checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isBerth, session, skipReason } from '../helpers/runtime';
import { OUT, sh } from '../helpers/bundle';

const skip = skipReason();

test('parity: lo is up in a new network namespace, as runc brings it up', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('lo-up', (cfg) => {
    // IFF_UP is bit 0 of the flags; /sys is mounted in the container's network namespace.
    cfg.process!.args = sh(`echo $(( $(cat /sys/class/net/lo/flags) & 1 )) > ${OUT}/up; cat /sys/class/net/lo/operstate > ${OUT}/operstate`);
  });
  await s.runToCompletion(id, bundle);
  assert.equal(bundle.readOut('up'), '1\n', 'IFF_UP is set on lo');
  assert.equal(bundle.readOut('operstate'), 'unknown\n', 'operstate of a loopback that is up (down says "down")');
});

/** Every hierarchy under /sys/fs/cgroup as the container sees it: subdirectories and whether release_agent is there. */
const CGROUP_SURVEY = [
  'cat /proc/self/cgroup > /out/self-cgroup',
  'for h in /sys/fs/cgroup/*; do [ -L "$h" ] && continue; [ -d "$h" ] || continue;',
  '  if [ -e "$h/cgroup.procs" ]; then d="$h"; else continue; fi;',
  '  echo "hierarchy $h subdirs=$(find "$d" -mindepth 1 -type d | wc -l) release_agent=$([ -e "$d/release_agent" ] && echo yes || echo no)";',
  'done > /out/cgroups;',
  '[ -e /sys/fs/cgroup/cgroup.procs ] && echo "hierarchy /sys/fs/cgroup subdirs=$(find /sys/fs/cgroup -mindepth 1 -type d | wc -l) release_agent=no" >> /out/cgroups; true',
].join('\n');

for (const cgroupns of [false, true]) {
  test(`parity: a cgroup mount shows only the container's own cgroup in every hierarchy (cgroupns ${cgroupns})`, { skip }, async (t) => {
    const s = session(t);
    const { id, bundle } = s.bundle(`cg-own-${cgroupns}`, (cfg) => {
      if (cgroupns) cfg.linux!.namespaces!.push({ type: 'cgroup' });
      cfg.process!.args = sh(CGROUP_SURVEY);
    });
    await s.runToCompletion(id, bundle);
    const lines = (bundle.readOut('cgroups') ?? '').trim().split('\n').filter(Boolean);
    const hostHierarchies = new Set(
      readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => / - cgroup2? /.test(l)).map((l) => l.split(' ')[4]!),
    );
    assert.ok(lines.length >= 1, `hierarchies seen: ${bundle.readOut('cgroups')}; /proc/self/cgroup: ${bundle.readOut('self-cgroup')}`);
    // Every hierarchy the host has is there, name=systemd included, and hybrid's unified mount
    // (runc 1.1 does not mount that one).
    for (const h of hostHierarchies) if (h.startsWith('/sys/fs/cgroup') && (isBerth() || h !== '/sys/fs/cgroup/unified')) assert.ok(lines.some((l) => l.startsWith(`hierarchy ${h} `)), `${h} is mounted: ${lines.join('; ')}`);
    for (const line of lines) {
      assert.match(line, / subdirs=0 /, `no other cgroup is visible: ${line} (/proc/self/cgroup: ${bundle.readOut('self-cgroup')})`);
      assert.match(line, / release_agent=no$/, `the host root's release_agent is not visible: ${line}`);
    }
  });
}

// runc's no_pivot.bats: a process that makes its own user and mount namespaces (where the
// kernel refuses a new proc unless some proc of the mount namespace is fully visible) must not
// find the host's /proc, still mounted outside a chroot, to justify a fresh, unmasked proc
// (whose /proc/sysrq-trigger it could then write). A tmpfs shows that mounting works at all.
for (const noPivot of [false, true]) {
  test(`parity: a nested user namespace cannot mount a fresh, unmasked proc or sysfs (${noPivot ? '--no-pivot' : 'pivot_root'})`, { skip: skipReason({ checker: true }) }, async (t) => {
    const s = session(t);
    const { id, bundle } = s.bundle(`fresh-proc-${noPivot ? 'nopivot' : 'pivot'}`, (cfg) => {
      // Mapping uid 0 of a new user namespace takes CAP_SETFCAP (Linux 5.12), as in Docker's default set.
      const caps = cfg.process!.capabilities!;
      for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), 'CAP_SETFCAP'];
      cfg.process!.args = sh(['tmpfs /tmp', 'proc /proc', 'sysfs /sys'].map((a) => `berth-checker nested-mount ${a} > ${OUT}/${a.split(' ')[0]}`).join('; '));
    });
    await s.runToCompletion(id, bundle, noPivot ? { extraArgs: ['--no-pivot'] } : {});
    assert.equal(bundle.readOut('tmpfs'), 'mounted\n', `the nested namespaces may mount: ${bundle.readOut('tmpfs')}`);
    assert.equal(bundle.readOut('proc'), 'refused EPERM\n', 'a fresh proc is refused');
    assert.equal(bundle.readOut('sysfs'), 'refused EPERM\n', 'a fresh sysfs is refused');
  });
}

test('parity: createContainer hooks run in the container root (relative paths resolve inside), startContainer hooks in process.cwd', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('hook-cwd', (cfg, b) => {
    cfg.process!.cwd = '/out';
    cfg.process!.args = sh('true');
    cfg.hooks = {
      // Not pivoted yet: /bin/sh is the runtime's; `out/...` is relative to the container root.
      createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `pwd > ${b.outDir}/create-runtime-cwd`] }],
      createContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo created > out/create-relative'] }],
      startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'pwd > start-cwd'] }],
    };
  });
  await s.runToCompletion(id, bundle);
  assert.equal(bundle.readOut('create-relative'), 'created\n', 'the relative path of the createContainer hook resolved in the container root');
  assert.equal(bundle.readOut('start-cwd'), '/out\n', 'startContainer hooks run in the process working directory');
  assert.equal(bundle.readOut('create-runtime-cwd'), `${bundle.dir}\n`, 'createRuntime hooks run in the bundle directory');
});
