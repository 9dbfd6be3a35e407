// Settings the chosen provider cannot do yet (src/providers/capabilities.ts), reported where
// they are written, once each, so `up` never fails halfway through on them.

import type { Capabilities } from '../../providers/capabilities.js';
import { usableUri } from '../../providers/libvirt/uri.js';
import type { KeyPath } from '../load.js';
import type { MachineSpec } from '../types.js';
import type { Rule, RuleContext } from './context.js';

type Flag = Exclude<keyof Capabilities, 'settings' | 'sharedFolders' | 'why'>;

/** Providers whose block may also be written per machine and under `defaults` (libvirt's is project-wide). */
const MACHINE_BLOCKS = ['qemu', 'virtualbox'] as const;
/** Providers with a top-level block (project-wide settings). */
const TOP_BLOCKS = ['virtualbox', 'libvirt'] as const;

export const providerCapabilities: Rule = ({ env, caps, origin, listOrigin, own, written, add }) => {
  const provider = env.provider;
  const cannot = (path: KeyPath, what: string, key: string, why?: string): void =>
    add(
      path,
      'key',
      `provider \`${provider}\` cannot do ${what} yet`,
      why ?? `remove \`${key}\`, or see the issue tracker for when it lands`,
    );
  const need = (flag: Flag, path: KeyPath | undefined, what: string, key: string): void => {
    if (!caps[flag] && path !== undefined) cannot(path, what, key, caps.why?.[flag]);
  };

  for (const net of env.networks) {
    const flag = net.type === 'private' ? 'privateNetworks' : 'bridgedNetworks';
    need(flag, ['networks', net.name, 'type'], `${net.type} networks`, `networks.${net.name}`);
  }
  for (const m of env.machines) {
    for (const [i, a] of m.networks.entries()) {
      if (a.mac !== undefined)
        need('macAddresses', [...listOrigin(m, 'networks', i), 'mac'], 'fixed MAC addresses', 'mac');
    }
    for (const i of m.forwardedPorts.keys()) {
      const path = listOrigin(m, 'forwarded_ports', i);
      need('forwardedPorts', path.slice(0, -1), 'forwarded ports', 'forwarded_ports');
    }
    for (const [i, f] of m.syncedFolders.entries())
      if (f.type !== 'rsync' && !caps.sharedFolders.includes(f.type))
        add(
          [...listOrigin(m, 'synced_folders', i), 'type'],
          'value',
          `provider \`${provider}\` cannot do \`type: ${f.type}\` synced folders yet`,
          'use `type: rsync` (the default: copied at every `up`, `rsync-auto` keeps it current)',
        );
    if (m.diskSize !== undefined)
      need('diskResize', origin(m, 'disk_size'), 'disk_size (growing the disk)', 'disk_size');
    for (const i of m.disks.keys()) {
      const path = listOrigin(m, 'disks', i);
      need('dataDisks', path.slice(0, -1), 'extra data disks', 'disks');
    }
    if (Object.keys(m.cloudInit).length > 0)
      need('cloudInit', origin(m, 'cloud_init'), 'cloud-init user-data', 'cloud_init');
    if (m.boxVersion !== undefined)
      need('boxVersions', origin(m, 'box_version'), 'box versions', 'box_version');
    if (!m.autostart) need('manualStart', origin(m, 'autostart'), '`autostart: false`', 'autostart');
    if (m.instant) need('instantUp', origin(m, 'instant'), '`instant: true`', 'instant');
    if (m.sshGuestPort !== 22) {
      const path =
        own(m).ssh?.port !== undefined ? ['machines', m.name, 'ssh', 'port'] : ['defaults', 'ssh', 'port'];
      need('guestSshPort', path, 'a guest SSH port other than 22', 'ssh.port');
    }
    // Only the block of the provider in use: a `virtualbox:` block is ignored under qemu.
    const machineBlock = MACHINE_BLOCKS.find((b) => b === provider);
    if (machineBlock === undefined) continue;
    for (const place of [['defaults'], ['machines', m.name]] as const) {
      const block = place.length === 1 ? written.defaults?.[machineBlock] : own(m)[machineBlock];
      for (const key of Object.keys(block ?? {})) {
        if (!caps.settings.includes(key))
          cannot([...place, provider, key], `\`${provider}.${key}\``, `${provider}.${key}`);
      }
    }
  }
  // The top-level block (project-wide settings), only under that provider.
  const topBlock = TOP_BLOCKS.find((b) => b === provider);
  if (topBlock !== undefined)
    for (const key of Object.keys(written[topBlock] ?? {}))
      if (!caps.settings.includes(key))
        cannot([topBlock, key], `\`${topBlock}.${key}\``, `${topBlock}.${key}`);
};

/** libvirt's URI, wherever it came from: one boxfest can use (providers/libvirt/uri.ts decides). */
export const libvirtUri: Rule = (ctx) => {
  const { env, add, written } = ctx;
  if (env.provider !== 'libvirt') return;
  if (written.hosts !== undefined) return libvirtHosts(ctx);
  for (const m of env.machines) {
    const at = ctx.origin(m, 'host');
    if (at !== undefined)
      add(
        at,
        'key',
        '`host` names one of `hosts`, and this Boxfile has none',
        'add `hosts:`, or remove `host`',
      );
  }
  const first = env.machines[0];
  if (first === undefined) return;
  const { uri, uriFrom } = first.libvirt;
  const checked = usableUri(uri);
  if (checked.ok) {
    if (checked.uri.transport === 'ssh') remoteLimits(ctx, env.machines);
    return;
  }
  if (uriFrom === 'boxfile') add(['libvirt', 'uri'], 'value', checked.problem, checked.hint);
  else
    add(
      ['provider'],
      'value',
      `${uriFrom === 'LIBVIRT_DEFAULT_URI' ? 'LIBVIRT_DEFAULT_URI: ' : ''}${checked.problem}`,
      `${checked.hint}; or set \`libvirt.uri\` in the Boxfile`,
    );
};

/**
 * `hosts:`: every host's URI is usable, every machine runs on one of them, and a private network
 * whose machines are on several hosts can be carried between them (providers/libvirt/span.ts;
 * with `dhcp: true`, one of them serves its DHCP: providers/libvirt/dhcp-home.ts).
 */
function libvirtHosts(ctx: RuleContext): void {
  const { env, add, written, origin } = ctx;
  const hosts = written.hosts ?? {};
  const names = Object.keys(hosts);
  if (written.libvirt?.uri !== undefined)
    add(
      ['libvirt', 'uri'],
      'key',
      '`libvirt.uri` and `hosts` both say where machines run',
      'with `hosts`, each host has its own `uri`: move this one into a host, or remove `hosts`',
    );
  const remote = new Set<string>();
  for (const [name, h] of Object.entries(hosts)) {
    const checked = usableUri(h.uri ?? '');
    if (!checked.ok) add(['hosts', name, 'uri'], 'value', checked.problem, checked.hint);
    else if (checked.uri.transport === 'ssh') remote.add(name);
  }
  for (const m of env.machines) {
    const host = m.libvirt.host;
    const at = origin(m, 'host');
    if (host === undefined)
      add(
        ['machines', m.name],
        'key',
        `machine \`${m.name}\` runs on none of the ${names.length} hosts`,
        `set its \`host\`, or \`defaults.host\` (hosts: ${names.join(', ')})`,
      );
    else if (!Object.hasOwn(hosts, host) && at !== undefined)
      add(at, 'value', `no host named \`${host}\` in \`hosts\``, `hosts: ${names.join(', ')}`);
  }
  remoteLimits(
    ctx,
    env.machines.filter((m) => m.libvirt.host !== undefined && remote.has(m.libvirt.host)),
  );
  for (const net of env.networks) {
    if (net.type !== 'private') continue;
    const on = [
      ...new Set(
        env.machines
          .filter((m) => m.networks.some((a) => a.network === net.name))
          .flatMap((m) =>
            m.libvirt.host === undefined || !Object.hasOwn(hosts, m.libvirt.host) ? [] : [m.libvirt.host],
          ),
      ),
    ];
    if (on.length < 2) continue;
    for (const h of on) {
      const parsed = usableUri(hosts[h]?.uri ?? '');
      if (hosts[h]?.address === undefined && parsed.ok && parsed.uri.transport !== 'ssh')
        add(
          ['hosts', h],
          'key',
          `network \`${net.name}\` spans hosts ${on.join(', ')}: the others need this host's address, and its URI (${hosts[h]?.uri}) names none`,
          `set \`hosts.${h}.address\`: the IPv4 address the other hosts reach it at`,
        );
    }
  }
}

/**
 * What a remote libvirt host (qemu+ssh) cannot do: forwarded ports are opened on this machine and
 * carried to the guest through the host's SSH server, which carries TCP only; a live share names
 * a directory of the host QEMU runs on, which is not this one. rsync'd folders and SSH reach the
 * guest through the host's SSH server.
 */
function remoteLimits({ add, listOrigin }: RuleContext, machines: MachineSpec[]): void {
  for (const m of machines) {
    for (const [i, f] of m.forwardedPorts.entries())
      if (f.protocol === 'udp')
        add(
          [...listOrigin(m, 'forwarded_ports', i), 'protocol'],
          'value',
          `a UDP port of a machine on a remote libvirt host (${m.libvirt.uri}) cannot be forwarded: its ports are carried through the host's SSH server, which carries TCP only`,
          'forward a TCP port, or reach the guest from the host',
        );
    for (const [i, f] of m.syncedFolders.entries())
      if (f.type !== 'rsync')
        add(
          [...listOrigin(m, 'synced_folders', i), 'type'],
          'value',
          `a \`type: ${f.type}\` folder shares a directory of the host QEMU runs on, and ${m.libvirt.uri} is another host`,
          'use `type: rsync` (copied to the guest over SSH, through the libvirt host)',
        );
  }
}
