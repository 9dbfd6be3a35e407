// The suspend/resume and snapshot scenario (scenarios/suspend-snapshot.ts) on the QEMU provider.
import { suspendSnapshotScenario } from './scenarios/suspend-snapshot.js';
import { QEMU } from './targets.js';

suspendSnapshotScenario(QEMU);
