// The live shared folders scenario (scenarios/live-shares.ts) on the libvirt provider.
import { liveSharesScenario } from '../scenarios/live-shares.js';
import { LIBVIRT } from '../targets.js';

liveSharesScenario(LIBVIRT);
