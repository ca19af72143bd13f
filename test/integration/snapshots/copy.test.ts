/** The shared snapshotter suite against the copy ("vfs") snapshotter. */
import { CopySnapshotter } from '../../../src/snapshots';
import { sys } from '../../../src/sys';
import { snapshotterSuite } from './suite';

snapshotterSuite('copy', (root) => new CopySnapshotter(`${root}/layers/copy`, sys()).open());
