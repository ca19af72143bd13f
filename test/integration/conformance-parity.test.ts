/**
 * Conformance: behaviour found to differ from runc on the same bundle (issue 9): the loopback
 * interface of a new network namespace, what a `cgroup` mount shows, what --no-pivot leaves
 * reachable, and the working directory of hooks. Every test here also runs against runc
 * (BERTH_TEST_RUNTIME=runc), which is how the expectations were checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { session, skipReason } from '../helpers/runtime';
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
