// The lifecycle scenario (scenarios/lifecycle.ts) on the QEMU provider.
import { lifecycleScenario } from './scenarios/lifecycle.js';
import { QEMU } from './targets.js';

lifecycleScenario(QEMU);
