// The synced-folder and provisioner scenario (scenarios/provision-sync.ts) on the QEMU provider.
import { provisionSyncScenario } from './scenarios/provision-sync.js';
import { QEMU } from './targets.js';

provisionSyncScenario(QEMU);
