import { setHostnameScript } from '../../guest/hostname.js';
import { asRoot } from '../../ssh/as-root.js';
import { execChecked } from '../../ssh/client.js';
import { readMachineState } from '../../state/machine-state.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

export const setHostname: Step<MachineRun> = {
  name: 'set-hostname',
  title: 'set hostname',
  // host-key sets it in its own command on a first boot (one round trip fewer).
  skip: (ctx) =>
    ctx.hostnameSet === ctx.spec.hostname ? `hostname ${ctx.spec.hostname}, set with the host key` : false,
  run: async (ctx, out) => {
    const user = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state').sshUser;
    await execChecked(
      need(ctx.ssh, 'ssh').client,
      asRoot(user, setHostnameScript(ctx.spec.hostname)),
      'setting the hostname',
      ctx.spec.name,
    );
    out.title(`hostname ${ctx.spec.hostname}`);
  },
};
