// The crash-safety scenario (scenarios/crash.ts) on the libvirt provider.
import { crashScenario } from '../scenarios/crash.js';
import { LIBVIRT } from '../targets.js';

crashScenario(LIBVIRT);
