// Running one trigger: a host command (argv, no shell, in the project directory, with the
// machine's BOXFEST_* variables) or a guest script (as root, over the machine's pinned SSH).
// Output goes out line by line as it comes; a failure is a TRIGGER_FAILED naming the trigger.
import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import type { Environment, MachineSpec, Trigger, TriggerEvent } from '../config/types.js';
import { BoxfestError, errorMessage } from '../errors.js';
import { asRoot } from '../ssh/as-root.js';
import { connect, exec } from '../ssh/client.js';
import { machineTarget } from '../ssh/machine.js';
import { readMachineState, sshEndpointOf } from '../state/machine-state.js';
import { machinePaths } from '../state/paths.js';
import { lineSplitter } from '../util/lines.js';

/** The environment a host trigger gets, from what boxfest knows of the machine right now. */
export function triggerEnv(env: Environment, spec: MachineSpec): Record<string, string> {
  const state = readMachineState(env.root, spec.name);
  const ssh = state === undefined ? undefined : sshEndpointOf(state);
  const privateNets = new Set(env.networks.filter((n) => n.type === 'private').map((n) => n.name));
  const ip = state?.addresses?.find((a) => privateNets.has(a.network) && a.cidr !== '')?.cidr.split('/')[0];
  return {
    BOXFEST_MACHINE: spec.name,
    BOXFEST_PROJECT: env.root,
    ...(ip === undefined ? {} : { BOXFEST_MACHINE_IP: ip }),
    ...(ssh === undefined ? {} : { BOXFEST_SSH_HOST: ssh.host, BOXFEST_SSH_PORT: String(ssh.port) }),
  };
}

export async function runTrigger(
  env: Environment,
  spec: MachineSpec,
  t: Trigger,
  event: TriggerEvent,
  onLine: (l: string) => void,
): Promise<void> {
  const what = `trigger \`${t.name}\` (${t.when} ${event})`;
  const fail = (message: string, details?: string) =>
    new BoxfestError('TRIGGER_FAILED', `${what} ${message}`, {
      ...(details === undefined || details === '' ? {} : { details }),
      hint:
        t.when === 'before'
          ? `nothing was done to ${spec.name}; fix the trigger, or set \`on_error: continue\` on it`
          : 'fix the trigger, or set `on_error: continue` on it',
    });
  if ('run' in t.action) {
    const [program, ...args] = t.action.run as [string, ...string[]];
    // A path with a slash is the Boxfile's, like every other path in it; a bare name is from PATH.
    const exe = program.includes('/') && !isAbsolute(program) ? resolve(env.root, program) : program;
    const code = await new Promise<number | string>((done) => {
      const child = spawn(exe, args, {
        cwd: env.root,
        env: { ...process.env, ...triggerEnv(env, spec) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out = lineSplitter(onLine);
      const err = lineSplitter(onLine);
      child.stdout.setEncoding('utf8').on('data', out.push);
      child.stderr.setEncoding('utf8').on('data', err.push);
      child.on('error', (e: NodeJS.ErrnoException) =>
        done(e.code === 'ENOENT' ? `could not run \`${program}\`: no such program` : errorMessage(e)),
      );
      child.on('close', (c, signal) => {
        out.end();
        err.end();
        done(c ?? `was killed by ${signal ?? 'a signal'}`);
      });
    });
    if (typeof code === 'string') throw fail(code.startsWith('could not') ? `failed: ${code}` : code);
    if (code !== 0) throw fail(`exited with code ${code}`);
    return;
  }
  const state = readMachineState(env.root, spec.name);
  const endpoint = state === undefined ? undefined : sshEndpointOf(state);
  if (state === undefined || endpoint === undefined || state.hostKey === undefined)
    throw fail('cannot run its `run_remote` script: the machine has never been up');
  let client;
  try {
    client = (
      await connect(machineTarget(machinePaths(env.root, spec.name), state, endpoint, undefined), 10_000)
    ).client;
  } catch (e) {
    throw fail(
      `cannot reach the guest over SSH to run its script (is ${spec.name} running?)`,
      errorMessage(e),
    );
  }
  try {
    const out = lineSplitter(onLine);
    const err = lineSplitter(onLine);
    const r = await exec(client, asRoot(state.sshUser, t.action.runRemote), {
      onStdout: out.push,
      onStderr: err.push,
    });
    out.end();
    err.end();
    if (r.code !== 0) throw fail(`exited with code ${r.code} in the guest`);
  } finally {
    client.end();
  }
}
