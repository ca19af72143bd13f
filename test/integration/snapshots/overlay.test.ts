/** The shared snapshotter suite against the overlay snapshotter, plus what only overlay has. */
import { OverlaySnapshotter } from '../../../src/snapshots';
import { sys } from '../../../src/sys';
import { snapshotterSuite } from './suite';

snapshotterSuite('overlay', (root) => new OverlaySnapshotter(`${root}/layers/overlay`, sys()).open());
