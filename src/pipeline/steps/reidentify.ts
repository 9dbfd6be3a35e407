import { randomBytes } from 'node:crypto';
import { reidentifyScript, RESEED_BYTES } from '../../guest/identity.js';
import { macFor, machineNics } from '../../network/nics.js';
import { readLeases } from '../../network/leases.js';
import { asRoot } from '../../ssh/as-root.js';
import { connect, exec } from '../../ssh/client.js';
import { machineTarget, writeSshFiles } from '../../ssh/machine.js';
import { readMachineState, updateMachineState } from '../../state/machine-state.js';
import { BoxfestError } from '../../errors.js';
import { closeSsh, need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/**
 * A machine restored from a saved state is a clone: before anything else it gets fresh
 * randomness, the host's clock, its own MACs and a new SSH host key (pinned on the reconnect).
 */
export const reidentify: Step<MachineRun> = {
  name: 'reidentify',
  title: 're-identify restored machine',
  skip: (ctx) => {
    const i = readMachineState(ctx.env.root, ctx.spec.name)?.instant;
    return i?.restored === true && i.reidentified !== true ? false : 'not restored';
  },
  run: async (ctx, out) => {
    const state = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state');
    const box = need(ctx.box, 'box');
    const saved = need(state.instant, 'instant record');
    const own = [
      macFor(ctx.env.root, ctx.spec.name, 0),
      ...machineNics(ctx.env, ctx.spec, (n) => readLeases(ctx.env.root, n)).map((n) => n.mac),
    ];
    const script = reidentifyScript({
      reseed: need(saved.reseed, 'reseed'),
      now: Date.now() / 1000,
      macs: (saved.macs ?? []).map((from, i): [string, string] => [from, own[i] ?? from]),
    });
    const r = await exec(need(ctx.ssh, 'ssh').client, asRoot(state.sshUser, script), {
      stdin: randomBytes(RESEED_BYTES).toString('latin1'),
    });
    if (r.code !== 0 || !r.stdout.includes('reidentified'))
      throw new BoxfestError(
        'REIDENTIFY_FAILED',
        'the restored machine could not be given its own identity',
        {
          details: (r.stderr || r.stdout).trim(),
          hint: '`boxfest destroy` it and `up` again; set `instant: false` to boot it normally',
        },
      );
    // The guest now presents a host key of its own: pin that one, as at a first boot.
    const endpoint = need(ctx.endpoint, 'ssh endpoint');
    const target = machineTarget(ctx.paths, state, endpoint, ctx.spec.ssh.privateKey ?? box.insecureKey);
    const fresh = await connect({ ...target, hostKey: undefined });
    if (fresh.hostKey === saved.hostKey)
      throw new BoxfestError('REIDENTIFY_FAILED', 'the restored machine kept the saved SSH host key');
    closeSsh(ctx);
    ctx.ssh = fresh;
    const next = updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({
      ...s,
      hostKey: fresh.hostKey,
      instant: { ...s.instant, reidentified: true },
    }));
    writeSshFiles(ctx.env, ctx.spec.name, ctx.paths, next);
    out.title('re-identified: fresh randomness, clock, MACs, SSH host key');
  },
};
