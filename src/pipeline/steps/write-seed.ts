import { publicKeyOf, seedHostKeyOf } from '../../ssh/machine.js';
import { seedFiles, writeSeed } from '../../cloud-init/seed.js';
import type { SeedNic } from '../../cloud-init/network-config.js';
import { allocateAddresses, readLeases } from '../../network/leases.js';
import { macFor, machineNics } from '../../network/nics.js';
import { readMachineState } from '../../state/machine-state.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/**
 * cloud-init boxes: the machine's NoCloud seed (user with its own key, hostname, networks, the
 * Boxfile's user-data), written before every boot with the same instance-id, so a reload that
 * changed a network gets the new network config while the once-per-instance work is not redone.
 */
export const writeSeedStep: Step<MachineRun> = {
  name: 'write-seed',
  title: 'cloud-init seed',
  skip: (ctx) => {
    if (readMachineState(ctx.env.root, ctx.spec.name)?.firstBoot !== 'cloud-init')
      return 'not a cloud-init box';
    return ctx.actual.state === 'running' && ctx.actual.ssh !== undefined ? 'already running' : false;
  },
  run: (ctx, out) => {
    const state = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state');
    allocateAddresses(ctx.env, [ctx.spec]);
    const nics: SeedNic[] = [
      { index: 0, kind: 'management', mac: macFor(ctx.env.root, ctx.spec.name, 0) },
      ...machineNics(ctx.env, ctx.spec, (n) => readLeases(ctx.env.root, n)),
    ];
    const instanceId = need(state.instanceId, 'instance-id');
    writeSeed(
      ctx.paths.seed,
      seedFiles({
        instanceId,
        hostname: ctx.spec.hostname,
        user: state.sshUser,
        publicKey: publicKeyOf(ctx.paths),
        hostKey: seedHostKeyOf(ctx.paths, state),
        nics,
        additions: ctx.spec.cloudInit,
      }),
    );
    out.title(`cloud-init seed (instance ${instanceId})`);
    return Promise.resolve();
  },
};
