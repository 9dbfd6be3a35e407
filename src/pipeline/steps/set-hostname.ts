import { setHostnameScript } from '../../guest/hostname.js';
import { asRoot } from '../../ssh/as-root.js';
import { execChecked } from '../../ssh/client.js';
import { readMachineState } from '../../state/machine-state.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

export const setHostname: Step<MachineRun> = {
  name: 'set-hostname',
  title: 'set hostname',
  // host-key (first boot of an ssh-key box) or wait-cloud-init set it in their own command.
  skip: (ctx) =>
    ctx.hostnameSet === ctx.spec.hostname ? `hostname ${ctx.spec.hostname}, set already` : false,
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
