import {
  hostKeyInstalled,
  installHostKeyScript,
  newHostKey,
  parseSshdProbe,
  PROBE_SSHD_SCRIPT,
  restartSshdScript,
  type SshDaemon,
} from '../../guest/host-key.js';
import { asRoot } from '../../ssh/as-root.js';
import {
  connect,
  exec,
  servesOtherHostKeys,
  waitForNewHostKey,
  type Connected,
  type SshTarget,
} from '../../ssh/client.js';
import { machineTarget, writeSshFiles } from '../../ssh/machine.js';
import { readMachineState, updateMachineState } from '../../state/machine-state.js';
import { BoxfestError } from '../../errors.js';
import { closeSsh, need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

// Generous: under TCG on a loaded host one handshake has taken over 10 s.
const RESTART_TIMEOUT_MS = 90_000;
const SERVED_CHECK_TIMEOUT_MS = 45_000;

/**
 * A connection pinned to the new key when the running server serves it already, and no key of
 * another type it may hold from before, else undefined (the server must be restarted). Servers
 * that read their keys per connection do: OpenSSH before 9.8 (it re-executes itself for each)
 * and dropbear -R for a type it held no key of at start; restarting them only costs time, about
 * 1.3 s of a 5 s boot for the tiny box's dropbear (busybox init respawns it within a second).
 * Keys of other types matter only when the install removed some (`removedOthers`): a server with
 * none left refuses a handshake that offers only those types. dropbear -R would make a fresh one
 * on demand for that probe, so for it any answer means "restart". Any failure here means
 * "restart" too: the restart path has the errors.
 */
async function servedAlready(
  target: SshTarget & { hostKey: string },
  daemon: SshDaemon,
  removedOthers: boolean,
): Promise<Connected | undefined> {
  if (removedOthers && daemon !== 'openssh') return undefined;
  const [fresh, others] = await Promise.all([
    connect(target, SERVED_CHECK_TIMEOUT_MS).catch(() => undefined),
    removedOthers ? servesOtherHostKeys(target, SERVED_CHECK_TIMEOUT_MS).catch(() => true) : false,
  ]);
  if (fresh !== undefined && !others) return fresh;
  fresh?.client.end();
  return undefined;
}

const installFailed = (details: string): BoxfestError =>
  new BoxfestError('HOST_KEY_FAILED', "the machine's own SSH host key could not be installed", {
    details,
    hint: '`boxfest destroy` it and `up` again; if it keeps failing, the box may not let root write /etc/ssh or /etc/dropbear',
  });

export const hostKey: Step<MachineRun> = {
  name: 'host-key',
  title: 'own SSH host key',
  skip: (ctx) =>
    readMachineState(ctx.env.root, ctx.spec.name)?.hostKeySource !== undefined ? 'host key in place' : false,
  run: async (ctx, out) => {
    const state = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state');
    const ssh = need(ctx.ssh, 'ssh');
    const previous = ssh.hostKey;
    let daemon = state.instant?.restored === true ? state.instant.sshd : undefined;
    if (daemon === undefined) {
      const probe = parseSshdProbe((await exec(ssh.client, asRoot(state.sshUser, PROBE_SSHD_SCRIPT))).stdout);
      if (typeof probe !== 'string') {
        // A restored machine was probed when its state was saved; this is a cold boot.
        updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({
          ...s,
          hostKeySource: 'guest',
          hostKeyNote: probe.unsupported,
        }));
        out.line(`host key: ${probe.unsupported}; the key it presented at first contact stays pinned`);
        return out.title('host key pinned at first contact');
      }
      daemon = probe;
    }
    const key = newHostKey(daemon, ctx.spec.name);
    updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({ ...s, hostKeyPending: key.publicKey }));
    const r = await exec(ssh.client, asRoot(state.sshUser, installHostKeyScript(daemon, key.publicKey)), {
      stdin: key.privateFile,
    });
    const installed = hostKeyInstalled(r.stdout);
    if (r.code !== 0 || !installed.installed) throw installFailed((r.stderr || r.stdout).trim());
    const endpoint = need(ctx.endpoint, 'ssh endpoint');
    const target = {
      ...machineTarget(ctx.paths, state, endpoint, ctx.spec.ssh.privateKey ?? ctx.box?.insecureKey),
      hostKey: key.publicKey,
    };
    let fresh = await servedAlready(target, daemon, installed.removedOthers.length > 0);
    const restarted = fresh === undefined;
    if (fresh === undefined) {
      const rs = await exec(ssh.client, asRoot(state.sshUser, restartSshdScript(daemon)));
      if (rs.code !== 0 || !rs.stdout.includes('sshd-restarted'))
        throw installFailed((rs.stderr || rs.stdout).trim());
      closeSsh(ctx);
      fresh = await waitForNewHostKey(target, previous, {
        machine: ctx.spec.name,
        timeoutMs: RESTART_TIMEOUT_MS,
      });
    } else closeSsh(ctx);
    ctx.ssh = fresh;
    const next = updateMachineState(ctx.env.root, ctx.spec.name, ({ hostKeyPending: _, ...s }) => ({
      ...s,
      hostKey: key.publicKey,
      hostKeySource: 'boxfest',
    }));
    writeSshFiles(ctx.env, ctx.spec.name, ctx.paths, next);
    const server = daemon === 'openssh' ? 'OpenSSH' : 'dropbear';
    out.title(`own SSH host key (${server}${restarted ? ', restarted' : ''}), pinned before first use`);
  },
};
