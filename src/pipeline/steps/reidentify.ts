import { randomBytes } from 'node:crypto';
import { CLOCK_ASK, clockLine, reidentifyScript, RESEED_BYTES } from '../../guest/identity.js';
import { macFor, machineNics } from '../../network/nics.js';
import { readLeases } from '../../network/leases.js';
import { asRoot } from '../../ssh/as-root.js';
import { exec } from '../../ssh/client.js';
import { freshlyRestored, readMachineState, updateMachineState } from '../../state/machine-state.js';
import { BoxfestError } from '../../errors.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/**
 * A machine restored from a saved state is a clone: before anything else it gets fresh
 * randomness, the host's clock and its own MACs (its SSH host key: the host-key step, next).
 */
export const reidentify: Step<MachineRun> = {
  name: 'reidentify',
  title: 're-identify restored machine',
  skip: (ctx) =>
    freshlyRestored(readMachineState(ctx.env.root, ctx.spec.name)?.instant) ? false : 'not restored',
  run: async (ctx, out) => {
    const state = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state');
    const saved = need(state.instant, 'instant record');
    const own = [
      macFor(ctx.env.root, ctx.spec.name, 0),
      ...machineNics(ctx.env, ctx.spec, (n) => readLeases(ctx.env.root, n)).map((n) => n.mac),
    ];
    const script = reidentifyScript({
      reseed: need(saved.reseed, 'reseed'),
      macs: (saved.macs ?? []).map((from, i): [string, string] => [from, own[i] ?? from]),
    });
    const r = await exec(need(ctx.ssh, 'ssh').client, asRoot(state.sshUser, script), {
      answer: { after: CLOCK_ASK, send: () => clockLine(Date.now()) },
      stdin: randomBytes(RESEED_BYTES),
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
    // Its SSH host key is replaced by the next step, which pins the new one.
    updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({
      ...s,
      instant: { ...s.instant, reidentified: true },
    }));
    out.title('re-identified: fresh randomness, clock, MACs');
  },
};
