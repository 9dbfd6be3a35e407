// Triggers as pipeline steps: one step per trigger, before or after a command's own steps, so
// each shows under the machine with its name, and a failing `before` trigger stops the machine's
// action like any failed step (on_error: halt) or is reported and passed (on_error: continue).
import type { Environment, MachineSpec, TriggerEvent, TriggerWhen } from '../../config/types.js';
import { errorMessage } from '../../errors.js';
import { runTrigger } from '../../triggers/run.js';
import type { Step } from '../step.js';

export function triggerSteps<C>(
  env: Environment,
  spec: MachineSpec,
  event: TriggerEvent,
  when: TriggerWhen,
): Step<C>[] {
  return spec.triggers
    .filter((t) => t.when === when && t.on.includes(event))
    .map((t) => ({
      name: `trigger:${t.name}`,
      title: `trigger ${t.name} (${when} ${event})`,
      run: async (_ctx: C, out) => {
        try {
          await runTrigger(env, spec, t, event, (l) => out.line(l));
        } catch (e) {
          if (t.onError === 'halt') throw e;
          out.line(`${errorMessage(e)}; continuing (on_error: continue)`);
          out.title(`trigger ${t.name} (${when} ${event}) failed; continued`);
        }
      },
    }));
}

/** A command's steps for one machine with its triggers of `event` around them. */
export function withTriggers<C>(
  env: Environment,
  spec: MachineSpec,
  event: TriggerEvent,
  steps: readonly Step<C>[],
): Step<C>[] {
  return [
    ...triggerSteps<C>(env, spec, event, 'before'),
    ...steps,
    ...triggerSteps<C>(env, spec, event, 'after'),
  ];
}
