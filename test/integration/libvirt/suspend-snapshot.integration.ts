// The suspend/resume and snapshot scenario (scenarios/suspend-snapshot.ts) on the libvirt provider.
import { suspendSnapshotScenario } from '../scenarios/suspend-snapshot.js';
import { LIBVIRT } from '../targets.js';

suspendSnapshotScenario(LIBVIRT);
