// The lifecycle scenario (scenarios/lifecycle.ts) on the libvirt provider.
import { lifecycleScenario } from '../scenarios/lifecycle.js';
import { LIBVIRT } from '../targets.js';

lifecycleScenario(LIBVIRT);
