// What boxfest takes from a Vagrant box's Vagrantfile: read as text, never run. Only literal
// assignments count (`config.ssh.username = "vagrant"`, `libvirt.disk_bus = "virtio"`); anything
// computed is ignored, as is every other setting.
import { SSH_USER } from '../config/names.js';

export interface VagrantfileSettings {
  sshUser?: string;
  diskBus?: string;
}

/** A user name boxfest can put in an SSH config and a command line without quoting surprises (the one rule). */
export const SAFE_USER = SSH_USER;

export function readVagrantfile(text: string): VagrantfileSettings {
  const out: VagrantfileSettings = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    const user = /^\w+\.ssh\.username\s*=\s*(["'])([^"'\\]*)\1\s*(#.*)?$/.exec(line);
    if (user !== null && SAFE_USER.test(user[2]!)) out.sshUser = user[2]!;
    const bus = /^\w+\.disk_bus\s*=\s*(["']|:)?([a-z0-9_]+)(["'])?\s*(#.*)?$/.exec(line);
    if (bus !== null) out.diskBus = bus[2]!;
  }
  return out;
}
