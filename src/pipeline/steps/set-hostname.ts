import { asRoot } from '../../ssh/as-root.js';
import { execChecked } from '../../ssh/client.js';
import { readMachineState } from '../../state/machine-state.js';
import { shellQuote } from '../../util/quote.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

export const setHostname: Step<MachineRun> = {
  name: 'set-hostname',
  title: 'set hostname',
  run: async (ctx, out) => {
    const h = shellQuote(ctx.spec.hostname);
    const script = [
      `[ "$(hostname)" = ${h} ] || hostname ${h}`,
      `[ "$(cat /etc/hostname 2>/dev/null)" = ${h} ] || printf '%s\\n' ${h} > /etc/hostname`,
      `grep -q ${shellQuote(`[[:space:]]${ctx.spec.hostname}$`)} /etc/hosts 2>/dev/null || printf '127.0.1.1 %s\\n' ${h} >> /etc/hosts`,
    ].join('\n');
    const user = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state').sshUser;
    await execChecked(
      need(ctx.ssh, 'ssh').client,
      asRoot(user, script),
      'setting the hostname',
      ctx.spec.name,
    );
    out.title(`hostname ${ctx.spec.hostname}`);
  },
};
