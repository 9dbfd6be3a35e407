import { addBox } from '../../boxes/add.js';
import { parseChecksum } from '../../boxes/checksum.js';
import { httpOptions } from '../../boxes/download.js';
import { createProgress } from '../../boxes/progress.js';
import { qemuEntryOf } from '../../boxes/add.js';
import { boxOfImage, firstBootOf, pickBox, requireBox, type Box } from '../../boxes/store.js';
import { CAPABILITIES } from '../../providers/capabilities.js';
import { BoxfestError } from '../../errors.js';
import { readMachineState } from '../../state/machine-state.js';
import type { MachineRun } from '../machine-run.js';
import type { Step, StepOutput } from '../step.js';

// Machines of one `up` that need the same missing box add it once.
const adding = new Map<string, Promise<void>>();

/**
 * The box the machine runs: a created machine keeps the image it was made from (a newer version
 * or a `box add --force` never changes its disk); a new one takes the newest stored version that
 * meets `box_version`, added from `box_url` when the store has none.
 */
export const resolveBox: Step<MachineRun> = {
  name: 'resolve-box',
  title: 'resolve box',
  run: async (ctx, out) => {
    const state = readMachineState(ctx.env.root, ctx.spec.name);
    const discarded =
      ctx.recreate === true || (ctx.actual.state === 'broken' && ctx.actual.broken !== 'process-gone');
    const own = state !== undefined && !discarded ? boxOfImage(ctx.home, state.box) : undefined;
    let box: Box | undefined = own;
    if (box === undefined) {
      const req = { name: ctx.spec.box, constraint: ctx.spec.boxVersion, provider: ctx.provider.boxFormat };
      if (pickBox(ctx.home, req) === undefined && ctx.spec.boxUrl !== undefined) await addFromUrl(ctx, out);
      box = requireBox(ctx.home, req);
    }
    if (ctx.provider.boxFormat === 'qemu' && box.provider !== 'qemu') {
      out.title(`box ${box.name} ${box.version}: converting its VMDK to qcow2 (once)`);
      box = await qemuEntryOf(ctx.home, box);
    }
    // Before anything is made: user-data only means something to a cloud-init box.
    if (firstBootOf(box) !== 'cloud-init' && Object.keys(ctx.spec.cloudInit).length > 0)
      throw new BoxfestError(
        'CLOUD_INIT_UNSUPPORTED',
        `machine ${ctx.spec.name} sets \`cloud_init\`, but box ${box.name} is set up by its SSH key (first boot: ssh-key), not by cloud-init`,
        {
          machine: ctx.spec.name,
          hint: 'use a provisioner for this box, or add a cloud image with `boxfest box add IMAGE --name NAME --cloud-init`',
        },
      );
    // A cloud image boots set up by its seed: a provider that attaches none would wait for SSH in vain.
    const caps = CAPABILITIES[ctx.spec.provider];
    if (firstBootOf(box) === 'cloud-init' && !caps.cloudInit)
      throw new BoxfestError(
        'CLOUD_INIT_UNSUPPORTED',
        `machine ${ctx.spec.name}: box ${box.name} is a cloud-init box, which provider ${ctx.spec.provider} cannot boot yet`,
        {
          machine: ctx.spec.name,
          hint: caps.why?.cloudInit ?? 'use a box set up by its SSH key, or another provider',
        },
      );
    ctx.box = box;
    out.title(`box ${box.name} ${box.version} (first boot: ${firstBootOf(box)})`);
  },
};

function addFromUrl(ctx: MachineRun, out: StepOutput): Promise<void> {
  const url = ctx.spec.boxUrl!;
  const key = `${ctx.spec.box}\0${ctx.spec.boxVersion ?? ''}\0${url}`;
  let p = adding.get(key);
  if (p === undefined) {
    p = (async () => {
      // The download's progress shows in the step's title (a line every few seconds).
      const progress = createProgress('plain', (l) => out.title(`box ${ctx.spec.box}: ${l.trim()}`));
      out.title(`box ${ctx.spec.box}: adding it from ${url}`);
      try {
        await addBox(ctx.home, {
          source: url,
          name: ctx.spec.box,
          version: ctx.spec.boxVersion,
          checksum: ctx.spec.boxChecksum === undefined ? undefined : parseChecksum(ctx.spec.boxChecksum),
          provider: ctx.spec.provider,
          force: false,
          http: httpOptions(process.env),
          progress,
          note: (l) => out.line(l),
        });
      } catch (e) {
        // Another boxfest added it meanwhile: fine.
        if (e instanceof BoxfestError && e.code === 'BOX_EXISTS') return;
        throw e;
      }
    })();
    adding.set(key, p);
    p.catch(() => adding.delete(key));
  }
  return p;
}
