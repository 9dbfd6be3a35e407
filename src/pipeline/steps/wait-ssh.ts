import { BoxfestError } from '../../errors.js';
import { removeOfferedIdentity } from '../../guest/offered-identity.js';
import { waitForSsh } from '../../ssh/client.js';
import { ensureMachineKey, machineKeyComment, machineTarget, writeSshFiles } from '../../ssh/machine.js';
import { freshlyRestored, readMachineState, updateMachineState } from '../../state/machine-state.js';
import { need, releaseBootSlot, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

const CONSOLE_LINES = 25;

/** Waits for the guest's SSH; pins its host key on the first connection. */
export const waitSsh: Step<MachineRun> = {
  name: 'wait-ssh',
  title: 'wait for SSH',
  interruptible: true,
  run: async (ctx, out) => {
    const state = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state');
    const endpoint = need(ctx.endpoint, 'ssh endpoint');
    const firstLoginKey = ctx.spec.ssh.privateKey ?? ctx.box?.insecureKey;
    // The machine's own key (configure made it already for a cloud-init box): made here, while
    // the guest boots, it costs the `up` nothing.
    ensureMachineKey(ctx.paths, machineKeyComment(ctx.env, ctx.spec.name));
    // A guest launched by this run and booting (not restored: its server listens already).
    const booting = ctx.launchedAt !== undefined && !freshlyRestored(state.instant);
    const network = booting ? await ctx.provider.networkProbe?.(ctx) : undefined;
    try {
      const target = machineTarget(ctx.paths, state, endpoint, firstLoginKey);
      // A restored machine serves the saved guest's key until the host-key step: pinned to that.
      const restored = state.instant?.restored === true ? state.instant.hostKey : undefined;
      // An `up` killed while installing the machine's own host key: the guest may serve that one.
      ctx.ssh = await waitForSsh(
        { ...target, hostKey: target.hostKey ?? restored, alsoAccept: state.hostKeyPending },
        {
          machine: ctx.spec.name,
          timeoutMs: ctx.spec.bootTimeout * 1000,
          // boot_timeout counts from this machine's own launch, not from the start of `up`.
          ...(ctx.launchedAt === undefined ? {} : { since: ctx.launchedAt }),
          // Its server was listening when the state was saved.
          listening: freshlyRestored(state.instant),
          ...(network === undefined ? {} : { networkProbe: network.endpoint }),
        },
      );
    } catch (e) {
      if (e instanceof BoxfestError && e.code === 'SSH_TIMEOUT')
        throw new BoxfestError(e.code, e.message, {
          hint: e.hint ?? '',
          details: `last lines of its serial console:\n${await ctx.provider.consoleTail(ctx, CONSOLE_LINES)}`,
        });
      throw e;
    } finally {
      // Booted (or given up on): the next waiting machine may launch its guest.
      releaseBootSlot(ctx);
      // Not awaited: taking the forward away need not hold up the steps after this one.
      void network?.close().catch(() => undefined);
    }
    const { hostKey, loginKey } = ctx.ssh;
    // First contact with a guest that serves the host key of the identity it was offered: it
    // took all of it (guest/offered-identity.ts), and a login with the machine's own key proves
    // that key is in place.
    const tookIdentity = state.hostKey === undefined && hostKey === state.hostKeyPending;
    const next = updateMachineState(ctx.env.root, ctx.spec.name, ({ hostKeyPending, ...s }) =>
      hostKeyPending !== undefined && hostKey === hostKeyPending
        ? {
            ...s,
            hostKey,
            hostKeySource: 'boxfest',
            ...(tookIdentity && loginKey === 0 ? { keyReplaced: true } : {}),
          }
        : s.hostKey === undefined
          ? { ...s, hostKey }
          : { ...s, ...(hostKeyPending === undefined ? {} : { hostKeyPending }) },
    );
    if (tookIdentity) ctx.hostnameSet = ctx.spec.hostname;
    // Taken or ignored, the guest has answered: the host's copy of its private key goes.
    removeOfferedIdentity(ctx.env.root, ctx.paths.identity);
    writeSshFiles(ctx.env, ctx.spec.name, ctx.paths, next);
    out.title(tookIdentity ? 'SSH ready, serving the host key it was given at boot' : 'SSH ready');
  },
};
