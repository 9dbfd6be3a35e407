// The drift scenario (scenarios/drift.ts) on the libvirt provider.
import { driftScenario } from '../scenarios/drift.js';
import { LIBVIRT } from '../targets.js';

driftScenario(LIBVIRT);
