import { sshConfigBlock } from '../ssh/machine.js';
import { readMachineState, sshEndpointOf } from '../state/machine-state.js';
import type { CommandOptions } from './output.js';
import { contextOf, openProject } from './project.js';

/** An OpenSSH config block per machine; append it to ~/.ssh/config to use plain ssh, scp, rsync. */
export function sshConfig(cwd: string, names: string[], o: CommandOptions): Promise<number> {
  const { env, selected } = openProject(cwd, names);
  const blocks: { name: string; config: string }[] = [];
  for (const spec of selected) {
    const state = readMachineState(env.root, spec.name);
    if (state === undefined || sshEndpointOf(state) === undefined || state.hostKey === undefined) {
      o.note(`${spec.name}: not created yet (run boxfest up ${spec.name})`);
      continue;
    }
    blocks.push({
      name: spec.name,
      config: sshConfigBlock(env, spec.name, contextOf(env, spec).paths, state, {
        forwardAgent: spec.sshForwardAgent,
      }),
    });
  }
  if (o.json) o.print(JSON.stringify(blocks, null, 2));
  else o.print(blocks.map((b) => b.config).join('\n'));
  return Promise.resolve(0);
}
