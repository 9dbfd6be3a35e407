// The synced-folder and provisioner scenario (scenarios/provision-sync.ts) on the libvirt provider.
import { provisionSyncScenario } from '../scenarios/provision-sync.js';
import { LIBVIRT } from '../targets.js';

provisionSyncScenario(LIBVIRT);
