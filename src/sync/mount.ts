// Mounting live shares in the guest: the kernel must know the filesystem (loaded as a module if
// need be), the mount point is made, /etc/fstab gets one line per share (so a reboot the guest
// does itself mounts them again) and what is not mounted yet is mounted now.
import type { Client } from 'ssh2';
import { BoxfestError } from '../errors.js';
import { asRoot } from '../ssh/as-root.js';
import { exec } from '../ssh/client.js';
import { shellQuote } from '../util/quote.js';
import type { LiveShare, LiveShareType } from './shares.js';

/** Marks boxfest's fstab lines: they are rewritten at every `up`, the others never touched. */
export const FSTAB_MARK = '# boxfest-share';

const FS: Record<LiveShareType, { modules: string[]; options: string; why: string }> = {
  virtiofs: {
    modules: ['virtiofs'],
    options: 'defaults,nofail',
    why: 'its kernel has no virtiofs (CONFIG_VIRTIO_FS, Linux 5.4 or newer)',
  },
  '9p': {
    modules: ['9pnet_virtio', '9p'],
    // 9p2000.L keeps owners and modes; 512 KiB messages instead of the 8 KiB default.
    options: 'trans=virtio,version=9p2000.L,msize=524288,nofail',
    why: "its kernel has no 9p (CONFIG_NET_9P / CONFIG_9P_FS; Debian's cloud kernel lacks them)",
  },
};

/** The fstab line of a share (fields are whitespace-separated: spaces in a path become \040). */
export function fstabLine(s: LiveShare): string {
  return `${s.tag} ${mountPath(s.dest)} ${s.type} ${FS[s.type].options} 0 0 ${FSTAB_MARK}`;
}

/** A path as fstab and /proc/mounts write it: whitespace and backslashes as octal escapes. */
const mountPath = (p: string) =>
  p.replace(/[\s\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);

/**
 * The guest script that mounts the shares (run as root). A share whose filesystem the kernel
 * lacks is skipped (the others are still mounted) and its type printed; the script then exits 3.
 */
export function mountScript(shares: readonly LiveShare[], defaultOwner: string): string {
  const types = [...new Set(shares.map((s) => s.type))];
  const lines = [
    'set -e',
    'missing=""',
    ...types.map(
      (t) =>
        `${FS[t].modules.map((m) => `modprobe ${m} 2>/dev/null || true`).join('; ')}; ` +
        `grep -qw ${t} /proc/filesystems || missing="$missing ${t}"`,
    ),
    // Our lines out, the current ones in: a removed or moved share leaves no stale line.
    `f=/etc/fstab; touch $f; grep -vF ${shellQuote(FSTAB_MARK)} $f > $f.boxfest || true`,
    // printf, not echo: dash's echo would turn fstab's `\\040` back into a space.
    ...shares.map((s) => ifMounts(s, `printf '%s\\n' ${shellQuote(fstabLine(s))} >> $f.boxfest`)),
    'cat $f.boxfest > $f && rm -f $f.boxfest',
    ...shares.map((s) => {
      const d = shellQuote(s.dest);
      const opts = FS[s.type].options.replace(/,?nofail/, '');
      const mounted = `grep -qF ${shellQuote(` ${mountPath(s.dest)} ${s.type} `)} /proc/mounts`;
      const steps = [
        `mkdir -p ${d}`,
        `{ ${mounted} || mount -t ${s.type} -o ${opts} ${s.tag} ${d}; }`,
        // virtiofs shows the host's owners as they are (a config rule refuses its `chown`);
        // 9p (mapped-xattr) keeps the guest's owner in the host file's xattrs.
        ...(s.type === '9p' ? [`chown -R ${shellQuote(s.chown ?? defaultOwner)} ${d}`] : []),
      ];
      return ifMounts(s, steps.join(' && '));
    }),
    '[ -z "$missing" ] || { echo $missing; exit 3; }',
  ];
  return lines.join('\n');
}

/** `cmd`, run only when the kernel has the share's filesystem. */
const ifMounts = (s: LiveShare, cmd: string) => `case "$missing " in *" ${s.type} "*) ;; *) ${cmd} ;; esac`;

export async function mountShares(
  ssh: Client,
  user: string,
  shares: readonly LiveShare[],
  machine: string,
  onLine: (l: string) => void,
): Promise<void> {
  if (shares.length === 0) return;
  const r = await exec(ssh, asRoot(user, mountScript(shares, user)));
  if (r.code === 3) {
    const missing = r.stdout.trim().split(/\s+/) as LiveShareType[];
    for (const s of shares.filter((x) => !missing.includes(x.type)))
      onLine(`${s.src} -> ${s.dest}: mounted (${s.type})`);
    throw new BoxfestError(
      'GUEST_SHARE_UNSUPPORTED',
      `the guest cannot mount ${missing.map((t) => `\`type: ${t}\``).join(' or ')} folders: ` +
        missing.map((t) => FS[t]?.why ?? `its kernel lacks ${t}`).join('; '),
      {
        machine,
        hint: `use a box whose kernel has ${missing.join(' and ')}, another \`type\`, or \`type: rsync\` (the other shared folders are mounted)`,
      },
    );
  }
  if (r.code !== 0)
    throw new BoxfestError(
      'GUEST_COMMAND_FAILED',
      `mounting the shared folders failed in the guest (exit code ${r.code})`,
      {
        machine,
        details: r.stderr.trim() || r.stdout.trim(),
        hint: "see the guest's message above; `boxfest ssh` and `dmesg` show more",
      },
    );
  for (const s of shares) onLine(`${s.src} -> ${s.dest}: mounted (${s.type})`);
}
