// The drift scenario (scenarios/drift.ts) on the QEMU provider.
import { driftScenario } from './scenarios/drift.js';
import { QEMU } from './targets.js';

driftScenario(QEMU);
