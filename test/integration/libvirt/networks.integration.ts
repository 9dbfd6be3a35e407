// The three-machine private network scenario (scenarios/three-machines.ts) on the libvirt provider.
import { threeMachinesScenario } from '../scenarios/three-machines.js';
import { LIBVIRT } from '../targets.js';

threeMachinesScenario(LIBVIRT);
