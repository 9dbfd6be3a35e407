import { firstBootOf, requireBox } from '../../boxes/store.js';
import { BoxfestError } from '../../errors.js';
import type { MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

export const resolveBox: Step<MachineRun> = {
  name: 'resolve-box',
  title: 'resolve box',
  run: (ctx, out) => {
    const box = requireBox(ctx.home, ctx.spec.box, ctx.provider.boxFormat);
    ctx.box = box;
    // Before anything is made: user-data only means something to a cloud-init box.
    if (firstBootOf(box) !== 'cloud-init' && Object.keys(ctx.spec.cloudInit).length > 0)
      throw new BoxfestError(
        'CLOUD_INIT_UNSUPPORTED',
        `machine ${ctx.spec.name} sets \`cloud_init\`, but box ${box.name} is set up by its SSH key (first boot: ssh-key), not by cloud-init`,
        {
          machine: ctx.spec.name,
          hint: `use a provisioner for this box, or add a cloud image with \`boxfest box add NAME IMAGE --cloud-init\``,
        },
      );
    out.title(`box ${box.name} (first boot: ${firstBootOf(box)})`);
    return Promise.resolve();
  },
};
