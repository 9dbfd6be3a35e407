import { installHostKeyScript, newHostKey, parseSshdProbe, PROBE_SSHD_SCRIPT } from '../../guest/host-key.js';
import { asRoot } from '../../ssh/as-root.js';
import { exec, waitForNewHostKey } from '../../ssh/client.js';
import { machineTarget, writeSshFiles } from '../../ssh/machine.js';
import { readMachineState, updateMachineState } from '../../state/machine-state.js';
import { BoxfestError } from '../../errors.js';
import { closeSsh, need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

// Generous: under TCG on a loaded host one handshake has taken over 10 s.
const RESTART_TIMEOUT_MS = 90_000;

/**
 * Every machine serves a host key of its own, made on the host: a box may have baked one into
 * its image (every machine of it would share it), and a restored machine still serves the saved
 * one from memory. The key is installed over the connection pinned so far, the server restarted,
 * and the new connection pinned to the key boxfest made before it ever answered with it.
 */
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
    if (r.code !== 0 || !r.stdout.includes('host-key-installed'))
      throw new BoxfestError('HOST_KEY_FAILED', "the machine's own SSH host key could not be installed", {
        details: (r.stderr || r.stdout).trim(),
        hint: '`boxfest destroy` it and `up` again; if it keeps failing, the box may not let root write /etc/ssh or /etc/dropbear',
      });
    closeSsh(ctx);
    const endpoint = need(ctx.endpoint, 'ssh endpoint');
    const target = machineTarget(ctx.paths, state, endpoint, ctx.spec.ssh.privateKey ?? ctx.box?.insecureKey);
    ctx.ssh = await waitForNewHostKey({ ...target, hostKey: key.publicKey }, previous, {
      machine: ctx.spec.name,
      timeoutMs: RESTART_TIMEOUT_MS,
    });
    const next = updateMachineState(ctx.env.root, ctx.spec.name, ({ hostKeyPending: _, ...s }) => ({
      ...s,
      hostKey: key.publicKey,
      hostKeySource: 'boxfest',
    }));
    writeSshFiles(ctx.env, ctx.spec.name, ctx.paths, next);
    out.title(`own SSH host key (${daemon === 'openssh' ? 'OpenSSH' : 'dropbear'}), pinned before first use`);
  },
};
