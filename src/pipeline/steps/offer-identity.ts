import { newHostKey } from '../../guest/host-key.js';
import { writeOfferedIdentity } from '../../guest/offered-identity.js';
import { ensureMachineKey, machineKeyComment, publicKeyOf } from '../../ssh/machine.js';
import { readMachineState, restoreAhead, updateMachineState } from '../../state/machine-state.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/**
 * ssh-key boxes: before the first boot, the machine's identity (hostname, login key, host key) is
 * made where the provider hands it to the guest (guest/offered-identity.ts). Its host key is
 * recorded as pending, so wait-ssh pins it at first contact if the guest serves it; a guest that
 * reads nothing presents another key and the host-key step follows as for any box. Made again
 * for every boot until the guest has answered once (an `up` killed before that boots anew).
 */
export const offerIdentity: Step<MachineRun> = {
  name: 'offer-identity',
  title: 'identity for the first boot',
  skip: (ctx) => {
    const state = readMachineState(ctx.env.root, ctx.spec.name);
    if (!ctx.provider.offersIdentity) return `${ctx.provider.name} cannot hand it to a booting guest`;
    if (state?.firstBoot === 'cloud-init') return 'in the cloud-init seed';
    if (state?.hostKey !== undefined) return 'the guest has answered before';
    if (ctx.actual.state === 'running') return 'already running';
    // A restored guest booted before it was saved: it reads nothing now.
    return restoreAhead(state?.instant) ? 'restored from a saved state' : false;
  },
  run: (ctx, out) => {
    const state = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state');
    ensureMachineKey(ctx.paths, machineKeyComment(ctx.env, ctx.spec.name));
    const hostKey = newHostKey(ctx.spec.name);
    // Pending first: an `up` killed after the boot still recognises the guest that took it.
    updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({ ...s, hostKeyPending: hostKey.publicKey }));
    writeOfferedIdentity(ctx.env.root, ctx.paths.identity, {
      hostname: ctx.spec.hostname,
      user: state.sshUser,
      loginKey: publicKeyOf(ctx.paths),
      hostKey,
    });
    out.title('identity for the first boot (host key, login key, hostname)');
    return Promise.resolve();
  },
};
