// `cloud_init:` user-data and `disks:`: keys boxfest owns are refused where they are written (with
// the Boxfile key that does the job instead); data disk names are unique per machine.

import type { Rule } from './context.js';

/** user-data keys boxfest sets or guarantees, each with why and what to write instead. */
export const OWNED_KEYS: Readonly<Record<string, { why: string; instead: string }>> = {
  users: { why: 'boxfest creates the SSH user with the machine’s own key', instead: 'set `ssh.user`' },
  user: { why: 'boxfest creates the SSH user with the machine’s own key', instead: 'set `ssh.user`' },
  ssh_authorized_keys: {
    why: 'the machine’s own generated key is its only login key',
    instead: 'use `boxfest ssh` or `boxfest ssh-config`; add keys with a provisioner',
  },
  ssh_keys: {
    why: 'boxfest gives each machine its own host key in the seed and pins it',
    instead: 'remove it',
  },
  ssh_deletekeys: {
    why: 'boxfest deletes the image’s host keys; the machine’s only one is made on the host, put in the seed and pinned before its first boot',
    instead: 'remove it',
  },
  ssh_pwauth: { why: 'boxfest machines have no password login', instead: 'remove it' },
  password: { why: 'boxfest machines have no password login', instead: 'remove it' },
  chpasswd: { why: 'boxfest machines have no password login', instead: 'remove it' },
  hostname: { why: 'the machine’s hostname is boxfest’s', instead: 'set `hostname` on the machine' },
  fqdn: { why: 'the machine’s hostname is boxfest’s', instead: 'set `hostname` on the machine' },
  preserve_hostname: { why: 'the machine’s hostname is boxfest’s', instead: 'set `hostname` on the machine' },
  updates: { why: 'boxfest re-applies the network config at every boot', instead: 'remove it' },
  network: {
    why: 'the network config comes from the Boxfile',
    instead: 'attach the machine to `networks:`',
  },
};

export const cloudInitKeys: Rule = ({ written, add }) => {
  const places: (string | number)[][] = [['defaults']];
  for (const name of Object.keys(written.machines ?? {})) places.push(['machines', name]);
  for (const place of places) {
    const block =
      place.length === 1 ? written.defaults?.cloud_init : written.machines?.[String(place[1])]?.cloud_init;
    for (const key of Object.keys(block ?? {})) {
      if (!Object.hasOwn(OWNED_KEYS, key)) continue;
      const o = OWNED_KEYS[key]!;
      add([...place, 'cloud_init', key], 'key', `\`cloud_init.${key}\` is boxfest's: ${o.why}`, o.instead);
    }
  }
};

export const dataDisks: Rule = ({ env, listOrigin, add }) => {
  for (const m of env.machines) {
    const seen = new Set<string>();
    for (const [i, d] of m.disks.entries()) {
      if (seen.has(d.name))
        add(
          [...listOrigin(m, 'disks', i), 'name'],
          'value',
          `machine \`${m.name}\` already has a disk named \`${d.name}\``,
          'give each of its disks its own `name`; a disk in `defaults` is every machine’s',
        );
      seen.add(d.name);
    }
  }
};
