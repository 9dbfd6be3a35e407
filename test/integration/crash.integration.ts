// The crash-safety scenario (scenarios/crash.ts) on the QEMU provider.
import { crashScenario } from './scenarios/crash.js';
import { QEMU } from './targets.js';

crashScenario(QEMU);
