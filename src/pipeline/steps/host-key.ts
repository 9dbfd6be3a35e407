import {
  hostKeyInstalled,
  newHostKey,
  parseSshdProbe,
  probeAndInstallHostKeyScript,
  restartSshdScript,
  type SshDaemon,
} from '../../guest/host-key.js';
import { followUpDone } from '../../guest/follow-up.js';
import { setHostnameScript } from '../../guest/hostname.js';
import { asRoot } from '../../ssh/as-root.js';
import {
  connect,
  exec,
  loginRefused,
  servesOtherHostKeys,
  waitForNewHostKey,
  type Connected,
  type SshTarget,
} from '../../ssh/client.js';
import { machineTarget, publicKeyOf, writeSshFiles } from '../../ssh/machine.js';
import { authorizedKeysReport, installLoginKeyCommand } from '../../guest/login-key.js';
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
 * on demand for that probe, so for it any answer means "restart". A login refused means the
 * server presented the new key and took none of the login keys: `login-refused`, no restart.
 * Any other failure here means "restart": the restart path has the errors.
 */
async function servedAlready(
  target: SshTarget & { hostKey: string },
  daemon: SshDaemon,
  removedOthers: boolean,
): Promise<Connected | 'login-refused' | undefined> {
  if (removedOthers && daemon !== 'openssh') return undefined;
  const [fresh, others] = await Promise.all([
    // Refused logins: the server presented the new key (ssh2 checks it before the login).
    connect(target, SERVED_CHECK_TIMEOUT_MS).catch((e: unknown) =>
      loginRefused(e) ? ('login-refused' as const) : undefined,
    ),
    removedOthers ? servesOtherHostKeys(target, SERVED_CHECK_TIMEOUT_MS).catch(() => true) : false,
  ]);
  if (fresh === 'login-refused') return fresh;
  if (fresh !== undefined && !others) return fresh;
  fresh?.client.end();
  return undefined;
}

/**
 * The new host key answered and none of the machine's login keys logged in: what the guest's
 * authorized_keys looks like, read over the connection still open from before.
 */
async function keysRefused(machine: string, before: Connected, publicKey: string): Promise<BoxfestError> {
  const report = await exec(before.client, authorizedKeysReport(publicKey)).catch(() => undefined);
  return new BoxfestError(
    'SSH_KEY_REPLACE_FAILED',
    'the guest serves its new host key, and refuses the per-machine login key installed with it',
    {
      machine,
      details: report?.stdout.trim() ?? 'authorized_keys could not be read back',
      hint: "the guest's SSH server may not read ~/.ssh/authorized_keys; `boxfest destroy` then `up` starts over",
    },
  );
}

const LOGIN_KEY_INSTALLED = 'login-key-installed';

const restartFailed = (daemon: SshDaemon, details: string): BoxfestError =>
  new BoxfestError(
    'HOST_KEY_FAILED',
    `the machine's own SSH host key is installed, and its ${daemon} server could not be restarted to serve it`,
    {
      details,
      hint: "read the guest's console for its SSH server's state; `boxfest destroy` it and `up` again",
    },
  );

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
    // One command, as few round trips as the guest allows (each about 0.1 s under TCG): the
    // server probed and the key installed in its format; the machine's own login key (replace-key
    // does it otherwise), so the one login that proves the new host key proves that key too; and
    // on a box cloud-init does not configure, the hostname (set-hostname does it otherwise).
    const key = newHostKey(ctx.spec.name);
    const loginKey = publicKeyOf(ctx.paths);
    const withLoginKey = !state.keyReplaced;
    const hostname = state.firstBoot === 'cloud-init' ? undefined : ctx.spec.hostname;
    updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({ ...s, hostKeyPending: key.publicKey }));
    const root = asRoot(
      state.sshUser,
      probeAndInstallHostKeyScript(
        key.publicKey,
        key.openssh.length,
        hostname === undefined ? undefined : setHostnameScript(hostname),
      ),
    );
    // The user's part reads no stdin: the key files on it reach the root script, whose flush
    // (guest/durable.ts) also covers authorized_keys.
    const r = await exec(
      ssh.client,
      withLoginKey
        ? `{ ${installLoginKeyCommand(loginKey)} && echo ${LOGIN_KEY_INSTALLED}; }; ${root}`
        : root,
      { stdin: Buffer.concat([key.openssh, key.dropbear]) },
    );
    const daemon = parseSshdProbe(r.stdout);
    if (typeof daemon !== 'string') {
      // Nothing of the host key was written (replace-key and set-hostname do their parts).
      updateMachineState(ctx.env.root, ctx.spec.name, ({ hostKeyPending: _, ...s }) => ({
        ...s,
        hostKeySource: 'guest',
        hostKeyNote: daemon.unsupported,
      }));
      out.line(`host key: ${daemon.unsupported}; the key it presented at first contact stays pinned`);
      return out.title('host key pinned at first contact');
    }
    const installed = hostKeyInstalled(r.stdout);
    if (r.code !== 0 || !installed.installed) throw installFailed((r.stderr || r.stdout).trim());
    if (hostname !== undefined && followUpDone(r.stdout)) ctx.hostnameSet = hostname;
    const endpoint = need(ctx.endpoint, 'ssh endpoint');
    // The machine's own key first: a login with it proves it (machineTarget offers it first).
    const target = {
      ...machineTarget(ctx.paths, state, endpoint, ctx.spec.ssh.privateKey ?? ctx.box?.insecureKey),
      hostKey: key.publicKey,
    };
    let fresh = await servedAlready(target, daemon, installed.removedOthers);
    if (fresh === 'login-refused') throw await keysRefused(ctx.spec.name, ssh, loginKey);
    const restarted = fresh === undefined;
    if (fresh === undefined) {
      const rs = await exec(ssh.client, asRoot(state.sshUser, restartSshdScript(daemon)));
      if (rs.code !== 0 || !rs.stdout.includes('sshd-restarted'))
        throw restartFailed(daemon, (rs.stderr || rs.stdout).trim());
      fresh = await waitForNewHostKey(target, previous, {
        machine: ctx.spec.name,
        timeoutMs: RESTART_TIMEOUT_MS,
      }).catch(async (e: unknown) => {
        throw loginRefused(e) ? await keysRefused(ctx.spec.name, ssh, loginKey) : e;
      });
    }
    closeSsh(ctx);
    ctx.ssh = fresh;
    const keyProven = withLoginKey && r.stdout.includes(LOGIN_KEY_INSTALLED) && fresh.loginKey === 0;
    const next = updateMachineState(ctx.env.root, ctx.spec.name, ({ hostKeyPending: _, ...s }) => ({
      ...s,
      hostKey: key.publicKey,
      hostKeySource: 'boxfest',
      ...(keyProven ? { keyReplaced: true } : {}),
    }));
    writeSshFiles(ctx.env, ctx.spec.name, ctx.paths, next);
    const server = daemon === 'openssh' ? 'OpenSSH' : 'dropbear';
    out.title(
      `own SSH host key (${server}${restarted ? ', restarted' : ''}), pinned before first use${keyProven ? '; per-machine login key' : ''}`,
    );
  },
};
