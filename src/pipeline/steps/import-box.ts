import type { Box } from '../../boxes/store.js';
import type { Provider } from '../../providers/provider.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

// Machines that share a box import it once: concurrent pipelines await the same promise.
const imports = new Map<string, Promise<void>>();

function importOnce(provider: Provider, box: Box): Promise<void> {
  const key = `${provider.name}\0${box.image}\0${box.sha256}`;
  let p = imports.get(key);
  if (p === undefined) {
    p = provider.importBox(box);
    imports.set(key, p);
    p.catch(() => imports.delete(key)); // a failed import may be retried
  }
  return p;
}

export const importBox: Step<MachineRun> = {
  name: 'import-box',
  title: 'import box',
  run: (ctx) => importOnce(ctx.provider, need(ctx.box, 'box')),
};
