// Guest capabilities: what boxfest must do differently per guest OS family. Detected once per
// connection from /etc/os-release and the tools present, so a Boxfile never has to say.
import type { Client } from 'ssh2';
import { exec } from '../ssh/client.js';

/**
 * busybox: ip/udhcpc from busybox, no persistent network config (rcS runs DHCP at boot; boxfest
 * re-applies static addresses on every boot). debian: Debian, Ubuntu and derivatives, with a
 * persistent config for whichever of netplan, ifupdown, systemd-networkd the guest has.
 * linux: anything else with `ip`: addresses applied for this boot only.
 */
export type GuestFamily = 'busybox' | 'debian' | 'linux';

export interface GuestFacts {
  family: GuestFamily;
  /** `ID` from /etc/os-release, or `busybox`. */
  id: string;
  hasIp: boolean;
}

const PROBE = [
  'ID=; ID_LIKE=; [ -r /etc/os-release ] && . /etc/os-release',
  'echo "id=$ID"',
  'echo "like=$ID_LIKE"',
  'command -v ip >/dev/null 2>&1 && echo has-ip',
  'sh=$(readlink -f /bin/sh 2>/dev/null); case "$sh" in */busybox) echo busybox-sh;; esac',
].join('; ');

export function parseFacts(out: string): GuestFacts {
  const get = (k: string) => out.match(new RegExp(`^${k}=(.*)$`, 'm'))?.[1]?.trim() ?? '';
  const id = get('id');
  const like = get('like').split(/\s+/);
  const hasIp = /^has-ip$/m.test(out);
  if ([id, ...like].some((x) => x === 'debian' || x === 'ubuntu')) return { family: 'debian', id, hasIp };
  if (/^busybox-sh$/m.test(out) && id === '') return { family: 'busybox', id: 'busybox', hasIp };
  return { family: 'linux', id: id === '' ? 'unknown' : id, hasIp };
}

export async function detectGuest(client: Client): Promise<GuestFacts> {
  return parseFacts((await exec(client, PROBE)).stdout);
}
