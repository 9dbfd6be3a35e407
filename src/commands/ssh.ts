import { connect, execPiped, HostKeyMismatch, hostKeyMismatch } from '../ssh/client.js';
import { spawn } from 'node:child_process';
import { hostAlias, machineTarget, writeSshFiles } from '../ssh/machine.js';
import { readMachineState } from '../state/machine-state.js';
import type { MachineSpec } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import type { Client } from '../ssh/ssh2.js';
import { contextOf, observe, openProject, requireRunning } from './project.js';

/**
 * `boxfest ssh MACHINE [-c CMD]`: over ssh2 with the machine's key and pinned host key.
 * `boxfest ssh MACHINE -- ARGS...`: OpenSSH with the machine's ssh_config (the same key and pinned
 * host key) and ARGS after the host, as Vagrant does: port forwards (-L/-R/-D), -A, a command.
 */
export async function ssh(
  cwd: string,
  machine: string | undefined,
  command: string | undefined,
  extra: readonly string[] = [],
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
  const paths = contextOf(env, spec).paths;
  const agent = spec.sshForwardAgent ? process.env['SSH_AUTH_SOCK'] : undefined;
  if (extra.length > 0) {
    // Written afresh: the port may have moved since the file was last written.
    writeSshFiles(env, spec.name, paths, state);
    const args = [
      '-F',
      paths.sshConfig,
      ...(agent === undefined ? [] : ['-A']),
      hostAlias(env, spec.name),
      ...extra,
    ];
    return openSsh(command === undefined ? args : [...args, command], spec.name);
  }
  const target = machineTarget(paths, state, endpoint, undefined);
  const { client } = await connect(agent === undefined ? target : { ...target, forwardAgent: agent }).catch(
    (e: unknown) => {
      if (e instanceof HostKeyMismatch) throw hostKeyMismatch(spec.name, target, e.message);
      throw e instanceof BoxfestError ? e.withContext({ machine: spec.name }) : e;
    },
  );
  try {
    return command === undefined ? await shell(client) : await runCommand(client, command);
  } finally {
    client.end();
  }
}

/** OpenSSH on this terminal, argv as given (no shell); its exit code is ours. */
function openSsh(args: string[], machine: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: 'inherit' });
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new BoxfestError('SSH_EXEC_FAILED', `could not run OpenSSH's ssh: ${e.message}`, {
          machine,
          hint:
            e.code === 'ENOENT'
              ? '`boxfest ssh MACHINE -- ARGS` runs OpenSSH: apt-get install openssh-client (or drop the ARGS)'
              : 'see the message above',
        }),
      ),
    );
    child.on('close', (code) => resolve(code ?? 255));
  });
}

/** `-c COMMAND`: its input and output are this process's, streamed, binary-safe. */
function runCommand(client: Client, command: string): Promise<number> {
  return execPiped(client, command, {
    // On a terminal the command gets no input, as before: it is not interactive (no pty).
    ...(process.stdin.isTTY ? {} : { stdin: process.stdin }),
    stdout: process.stdout,
    stderr: process.stderr,
  });
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
