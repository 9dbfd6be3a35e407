import { connect, exec } from '../ssh/client.js';
import { machineTarget } from '../ssh/machine.js';
import { readMachineState } from '../state/machine-state.js';
import type { MachineSpec } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import type { Client } from '../ssh/ssh2.js';
import { contextOf, observe, openProject, requireRunning } from './project.js';

/** `boxfest ssh MACHINE [-c CMD]`: over ssh2 with the machine's key and pinned host key. */
export async function ssh(
  cwd: string,
  machine: string | undefined,
  command: string | undefined,
): Promise<number> {
  const { env, selected } = openProject(cwd, machine === undefined ? [] : [machine]);
  const spec = machine === undefined ? defaultMachine(selected) : selected[0]!;
  const observed = await observe(env, selected);
  requireRunning(observed.get(spec.name), spec.name);
  const state = readMachineState(env.root, spec.name);
  const endpoint = observed.get(spec.name)?.actual.ssh;
  if (state === undefined || endpoint === undefined || state.hostKey === undefined)
    throw new BoxfestError(
      'MACHINE_NOT_READY',
      `machine \`${spec.name}\` has not finished its first \`up\``,
      {
        machine: spec.name,
        hint: `run: boxfest up ${spec.name}`,
      },
    );
  const { client } = await connect(machineTarget(contextOf(env, spec).paths, state, endpoint, undefined));
  try {
    return command === undefined ? await shell(client) : await runCommand(client, command);
  } finally {
    client.end();
  }
}

async function runCommand(client: Client, command: string): Promise<number> {
  const stdin = process.stdin.isTTY ? undefined : await readAll(process.stdin);
  const r = await exec(client, command, {
    ...(stdin === undefined ? {} : { stdin }),
    onStdout: (d) => process.stdout.write(d),
    onStderr: (d) => process.stderr.write(d),
  });
  return r.code >= 0 ? r.code : 255;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  return text;
}

/** An interactive shell on a pty, with the local terminal in raw mode. */
function shell(client: Client): Promise<number> {
  return new Promise((resolve, reject) => {
    const tty = process.stdin.isTTY === true;
    client.shell(
      {
        term: process.env['TERM'] ?? 'xterm',
        rows: process.stdout.rows ?? 24,
        cols: process.stdout.columns ?? 80,
      },
      (err, ch) => {
        if (err) return reject(err);
        let code = 0;
        const onResize = () => ch.setWindow(process.stdout.rows ?? 24, process.stdout.columns ?? 80, 0, 0);
        if (tty) process.stdin.setRawMode(true);
        process.stdout.on('resize', onResize);
        process.stdin.pipe(ch);
        ch.pipe(process.stdout);
        ch.stderr.pipe(process.stderr);
        ch.on('exit', (c: number | null) => (code = c ?? 255));
        ch.on('close', () => {
          process.stdin.unpipe(ch);
          if (tty) process.stdin.setRawMode(false);
          process.stdin.pause();
          process.stdout.off('resize', onResize);
          resolve(code);
        });
      },
    );
  });
}

/** Without a name: the `primary` machine, or the only one. */
function defaultMachine(machines: MachineSpec[]): MachineSpec {
  const primary = machines.find((m) => m.primary) ?? (machines.length === 1 ? machines[0] : undefined);
  if (primary === undefined)
    throw new BoxfestError('USAGE', 'which machine? this Boxfile has several and none is `primary`', {
      hint: `name one: boxfest ssh ${machines.map((m) => m.name).join('|')}`,
    });
  return primary;
}
