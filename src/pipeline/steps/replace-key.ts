import { BoxfestError } from '../../errors.js';
import { FLUSH_TO_DISK } from '../../guest/durable.js';
import { connect, exec, execChecked, HostKeyMismatch, hostKeyMismatch } from '../../ssh/client.js';
import { publicKeyOf } from '../../ssh/machine.js';
import { readMachineState, updateMachineState } from '../../state/machine-state.js';
import { authorizedKeysReport, installLoginKeyCommand, reportHoldsKey } from '../../guest/login-key.js';
import { closeSsh, need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The proving login is a second key exchange while the first connection is still open: under TCG
 * on a loaded host a dropbear handshake alone has taken over 10 s (seen in CI at load 13), and
 * a timeout here would leave a machine whose key works marked as failed.
 */
const FRESH_LOGIN_TIMEOUT_MS = 45_000;
const LOGIN_ATTEMPTS = 3;

/**
 * Replaces the box's insecure key with the machine's own: after this, only the per-machine key
 * logs in. The new key is proven to work before the machine counts as re-keyed. Flushed to
 * disk in the guest (guest/durable.ts): a VM killed seconds later (a crash, a power cut) must not boot with the old key file
 * while state.json says the new key is the only one.
 */
export const replaceKey: Step<MachineRun> = {
  name: 'replace-key',
  title: 'replace insecure key',
  commits: true,
  run: async (ctx, out) => {
    const state = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state');
    if (state.keyReplaced)
      return out.title(
        state.firstBoot === 'cloud-init'
          ? 'per-machine key installed by cloud-init'
          : 'per-machine key in place',
      );
    const ssh = need(ctx.ssh, 'ssh connection');
    const pub = publicKeyOf(ctx.paths);
    const install = () =>
      execChecked(
        ssh.client,
        `${installLoginKeyCommand(pub)} && ${FLUSH_TO_DISK}`,
        'installing the per-machine SSH key',
        ctx.spec.name,
      );
    await install();
    const endpoint = need(ctx.endpoint, 'ssh endpoint');
    const target = {
      host: endpoint.host,
      port: endpoint.port,
      // A remote libvirt host's guest is reached through that host, this login too.
      ...(endpoint.jump === undefined ? {} : { jump: endpoint.jump }),
      user: state.sshUser,
      keys: [readFileSync(ctx.paths.privateKey, 'utf8')],
      hostKey: ssh.hostKey,
    };
    let fresh;
    const seen: string[] = [];
    for (let attempt = 1; fresh === undefined; attempt++) {
      try {
        fresh = await connect(target, FRESH_LOGIN_TIMEOUT_MS);
      } catch (e) {
        // Another key than the pinned one answered: nothing to retry.
        if (e instanceof HostKeyMismatch) throw hostKeyMismatch(ctx.spec.name, target, e.message);
        // A refused key is read back over the first connection (the key put in place again if it
        // is missing) and the login tried again before the machine fails, with that report. The
        // refusals CI saw came from malformed keys (ssh2's generator, 1 in 256; see ssh/ed25519.ts):
        // the guest held the line, and no server could accept it.
        const check = await exec(ssh.client, authorizedKeysReport(pub));
        const holds = reportHoldsKey(check.stdout);
        seen.push(
          `attempt ${attempt}: ${e instanceof Error ? e.message : String(e)}; authorized_keys ${holds ? 'holds' : 'lacks'} the key\n${check.stdout.trim()}`,
        );
        if (attempt === LOGIN_ATTEMPTS)
          throw new BoxfestError(
            'SSH_KEY_REPLACE_FAILED',
            `the per-machine SSH key does not log in after being installed (${LOGIN_ATTEMPTS} attempts)`,
            {
              cause: e,
              details: seen.join('\n'),
              hint: "the guest's SSH server may not read ~/.ssh/authorized_keys; `boxfest destroy` then `up` starts over",
            },
          );
        if (!holds) await install();
        await sleep(1000);
      }
    }
    closeSsh(ctx);
    ctx.ssh = fresh;
    updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({ ...s, keyReplaced: true }));
    out.title('insecure key replaced by a per-machine key');
  },
};
