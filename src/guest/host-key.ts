// A machine's own SSH host key, made on the host: an ed25519 key pair per machine, written into
// the guest in the format its SSH server reads, the server restarted if it does not serve it
// already, and the public half pinned. Made here rather than in the guest, so a guest needs no
// ssh-keygen and the key boxfest pins is the one it made, not whatever the guest presented. Pure: key material and
// the scripts run as root over SSH (the private key goes on stdin, never on a command line).
import { dropbearPrivateKey, newEd25519, opensshPrivateKey, publicKeyLine } from '../ssh/ed25519.js';
import { FLUSH_TO_DISK } from './durable.js';
import { followUpLines } from './follow-up.js';

/** How the guest's SSH server is given a new host key and made to serve it. */
export type SshDaemon =
  /** OpenSSH: /etc/ssh/ssh_host_ed25519_key, then SIGHUP to the listener (it re-executes itself). */
  | 'openssh'
  /** dropbear respawned by init from /etc/inittab: the listener is ended and init starts a new one. */
  | 'dropbear-inittab'
  /** dropbear run by systemd: `systemctl restart dropbear`, detached from our own session. */
  | 'dropbear-systemd';

/** One new host key, in both formats: the guest's server is not known until the command that installs it probes it. */
export interface HostKey {
  /** "ssh-ed25519 AAAA...": what boxfest pins. */
  publicKey: string;
  /** The private key as OpenSSH reads it (PEM text). */
  openssh: Buffer;
  /** The same key as dropbear reads it (its binary format). */
  dropbear: Buffer;
}

export function newHostKey(machine: string): HostKey {
  const { seed, pub } = newEd25519();
  return {
    publicKey: publicKeyLine(pub),
    openssh: opensshPrivateKey(seed, pub, `boxfest ${machine}`),
    dropbear: dropbearPrivateKey(seed, pub),
  };
}

/** Where each daemon reads its ed25519 host key, and which other host keys it could serve. */
const KEY_FILE: Record<SshDaemon, { file: string; others: string }> = {
  openssh: {
    file: '/etc/ssh/ssh_host_ed25519_key',
    others: '/etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub',
  },
  'dropbear-inittab': {
    file: '/etc/dropbear/dropbear_ed25519_host_key',
    others: '/etc/dropbear/dropbear_*_host_key',
  },
  'dropbear-systemd': {
    file: '/etc/dropbear/dropbear_ed25519_host_key',
    others: '/etc/dropbear/dropbear_*_host_key',
  },
};

/**
 * `listener NAME`: the PID of the daemon process that listens (the one whose parent is PID 1).
 * Shell builtins only: a `cat`/`sed` per process cost 0.14 s per call on the tiny box under TCG
 * (55 processes); `read` costs nothing. `${s##*) }` drops "PID (COMM) " as `sed 's/.*) //'` did.
 */
const LISTENER =
  'listener() { for d in /proc/[0-9]*; do c=; read -r c 2>/dev/null < "$d/comm" || continue; [ "$c" = "$1" ] || continue; ' +
  's=; read -r s 2>/dev/null < "$d/stat" || continue; set -- "$1" ${s##*) }; [ "${3:-}" = 1 ] && { echo "${d#/proc/}"; return 0; }; done; return 1; }';

/**
 * Shell function `sshd_kind`: prints `sshd: KIND` for a server boxfest can re-key, or
 * `sshd-unsupported: WHY`. Needs only sh, cat, sed and grep (the install: dd); no key tool.
 */
const SSHD_KIND = [
  LISTENER,
  'sshd_kind() {',
  '  if p=$(listener sshd); then',
  '    if [ -x /usr/sbin/sshd ] && ! /usr/sbin/sshd -T 2>/dev/null | grep -qi "^hostkey /etc/ssh/ssh_host_ed25519_key$"; then',
  '      echo "sshd-unsupported: its sshd_config does not load /etc/ssh/ssh_host_ed25519_key"; return 0; fi',
  '    echo "sshd: openssh"',
  '  elif p=$(listener dropbear); then',
  '    if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && systemctl cat dropbear >/dev/null 2>&1; then echo "sshd: dropbear-systemd"',
  '    elif grep -q "^[^#]*:respawn:[^ ]*dropbear" /etc/inittab 2>/dev/null; then echo "sshd: dropbear-inittab"',
  '    else echo "sshd-unsupported: its dropbear is started by something boxfest cannot restart (not systemd, not an /etc/inittab respawn line)"; fi',
  '  else echo "sshd-unsupported: no sshd or dropbear listener was found (its parent is not PID 1)"; fi',
  '}',
].join('\n');

/** Run as root in the guest: what `sshd_kind` prints (see parseSshdProbe). */
export const PROBE_SSHD_SCRIPT = `${SSHD_KIND}\nsshd_kind`;

/**
 * Run as root in the guest, with both formats of one key on stdin (OpenSSH's `opensshBytes`
 * bytes first, then dropbear's): probes the server (PROBE_SSHD_SCRIPT's answer), then installs
 * the key in the format that server reads (installHostKeyScript's answer), in one command where
 * the probe and the install were one each (about 0.1 s apiece under TCG). `dd bs=1` splits
 * stdin exactly: a reader with a buffer (head -c) could take bytes past its share from a pipe.
 * `then` is a follow-up (guest/follow-up.ts) run once the key is installed; the host key stands
 * whether it succeeds or not.
 */
export function probeAndInstallHostKeyScript(publicKey: string, opensshBytes: number, then?: string): string {
  const first = `dd bs=1 count=${opensshBytes} 2>/dev/null`;
  const rest = `{ dd bs=1 count=${opensshBytes} of=/dev/null 2>/dev/null; cat; }`;
  const branch = (daemon: SshDaemon, read: string) =>
    `'sshd: ${daemon}') (\n${installHostKeyScript(daemon, publicKey, read)}\n) || exit $? ;;`;
  return [
    SSHD_KIND,
    'kind=$(sshd_kind)',
    `printf '%s\\n' "$kind"`,
    'case "$kind" in',
    branch('openssh', first),
    branch('dropbear-inittab', rest),
    branch('dropbear-systemd', rest),
    '*) exit 0 ;;',
    'esac',
    ...followUpLines(then),
  ].join('\n');
}

/** The probe's answer: the daemon, or why its key cannot be replaced. */
export function parseSshdProbe(stdout: string): SshDaemon | { unsupported: string } {
  const kind = /^sshd: (openssh|dropbear-inittab|dropbear-systemd)$/m.exec(stdout)?.[1];
  if (kind !== undefined) return kind as SshDaemon;
  const why = /^sshd-unsupported: (.*)$/m.exec(stdout)?.[1];
  return {
    unsupported: why ?? `the SSH server probe gave no answer (${stdout.trim().slice(0, 60) || 'no output'})`,
  };
}

/**
 * Run as root in the guest, `read` printing the private key file (from stdin): removes every other host key the
 * server could serve and writes this one (mode 0600, flushed). Whether the running server then
 * serves it depends on the server: one that reads its keys per connection (OpenSSH before 9.8
 * re-executes itself for each; dropbear -R reads a key it did not hold at start when a client
 * asks for it) does at once; one that holds them in memory needs restartSshdScript's restart.
 */
export function installHostKeyScript(daemon: SshDaemon, publicKey: string, read: string): string {
  const { file, others } = KEY_FILE[daemon];
  return [
    'set -e',
    'umask 077',
    `mkdir -p ${file.slice(0, file.lastIndexOf('/'))}`,
    `${read} > ${file}.boxfest`,
    // Named before they go: a server may hold them in memory (see hostKeyInstalled).
    `for f in ${others}; do case "$f" in ${file} | ${file}.pub) ;; *) if [ -e "$f" ]; then echo "other-host-key: $f"; fi ;; esac; done`,
    `rm -f ${others}`,
    `mv -f ${file}.boxfest ${file}`,
    ...(daemon === 'openssh' ? [`printf '%s\\n' '${publicKey}' > ${file}.pub`, `chmod 644 ${file}.pub`] : []),
    FLUSH_TO_DISK,
    'echo host-key-installed',
  ].join('\n');
}

/** What installHostKeyScript reported: whether it ran through, and whether it removed other keys. */
export function hostKeyInstalled(stdout: string): { installed: boolean; removedOthers: boolean } {
  return {
    installed: /^host-key-installed$/m.test(stdout),
    removedOthers: /^other-host-key: /m.test(stdout),
  };
}

/**
 * Run as root in the guest: makes the server load its keys again. Each way keeps the session it
 * is run from, so the caller can read the answer before it reconnects.
 */
export function restartSshdScript(daemon: SshDaemon): string {
  const restart: Record<SshDaemon, string> = {
    // sshd re-executes itself on SIGHUP and reads its keys again; sessions (ours) stay.
    openssh: 'p=$(listener sshd) && kill -HUP "$p"',
    // init starts a new listener (busybox init: within about a second); the session processes
    // (ours) are not its children.
    'dropbear-inittab': 'p=$(listener dropbear) && kill "$p"',
    // Detached: a restart of the unit may end its processes, ours among them.
    'dropbear-systemd': '(setsid sh -c "sleep 0.3; systemctl restart dropbear" </dev/null >/dev/null 2>&1 &)',
  };
  return ['set -e', LISTENER, restart[daemon], 'echo sshd-restarted'].join('\n');
}
