// The live shared folders scenario (scenarios/live-shares.ts) on the QEMU provider.
import { liveSharesScenario } from './scenarios/live-shares.js';
import { QEMU } from './targets.js';

liveSharesScenario(QEMU);
