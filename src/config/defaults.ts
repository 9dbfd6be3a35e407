// Step 2 of 3: written → resolved. Pure: no I/O, no host lookups, so the same file always gives
// the same Environment. (`${VAR}` references were replaced at load, from an env map passed in.)
//
// Precedence, per key: the machine's own value > its profile (`profile:` on the machine, else in
// `defaults`) > `defaults` > built-in. Lists (networks, forwarded_ports, synced_folders,
// provision, disks) are concatenated instead, defaults first, as Lima does for its slices;
// `cloud_init` is merged deeply (lists concatenated, mappings key by key). `ssh`,
// `qemu` and `virtualbox` are merged key by key; a top-level `virtualbox:` block sits under
// `defaults.virtualbox` (project-wide settings such as the web service's `url`).

import { basename, resolve } from 'node:path';
import type {
  Environment,
  ForwardedPort,
  MachineNetwork,
  MachineSpec,
  Network,
  Provisioner,
  SyncedFolder,
  Trigger,
  WrittenBoxfile,
  WrittenMachine,
  WrittenNetwork,
  WrittenProfile,
  WrittenProvisioner,
  WrittenTrigger,
} from './types.js';
import { sizeMiB } from './units.js';
import { mergeMappings } from './merge.js';

export interface DefaultsContext {
  /** Absolute path of Boxfile.yaml. */
  file: string;
  /** Directory relative paths are resolved against (the Boxfile's directory). */
  root: string;
  /**
   * Machine names in file order (LoadResult.machineOrder). A JS object lists integer-like keys
   * first, so `written.machines` alone cannot keep the order of a machine named `1`.
   */
  machineOrder?: readonly string[];
  /** Provisioner env values that came from `${VAR}` (LoadResult.interpolatedEnv): kept secret. */
  interpolatedEnv?: readonly string[];
  /** LIBVIRT_DEFAULT_URI of the environment boxfest runs in (libvirt's own default for `uri`). */
  libvirtDefaultUri?: string | undefined;
}

/** Built-in defaults: what a machine gets when neither it, its profile nor `defaults` sets a key. */
export const BUILTIN = {
  provider: 'qemu',
  cpus: 1,
  memory: 512,
  bootTimeout: 120,
  run: 'once',
  sshPort: 22,
  hostIp: '127.0.0.1',
  protocol: 'tcp',
  libvirtUri: 'qemu:///system',
  libvirtPool: 'default',
  libvirtManagementNetwork: 'boxfest',
} as const;

/** Expects a Boxfile that passed validateWritten(). */
export function fillDefaults(written: WrittenBoxfile, ctx: DefaultsContext): Environment {
  const d: WrittenMachine = written.defaults ?? {};
  const machines = written.machines ?? {};
  const provider = written.provider ?? BUILTIN.provider;
  return {
    file: ctx.file,
    root: ctx.root,
    name: projectName(ctx.root),
    provider,
    networks: Object.entries(written.networks ?? {}).map(([name, n]) => network(name, n)),
    machines: orderedNames(machines, ctx.machineOrder).map((name) =>
      withInterpolatedSecrets(
        machineSpec(written, name, machines[name] ?? {}, d, written.profiles ?? {}, provider, ctx),
        ctx.interpolatedEnv ?? [],
      ),
    ),
  };
}

function network(name: string, n: WrittenNetwork): Network {
  return n.type === 'bridged'
    ? { name, type: 'bridged', interface: n.interface ?? '' }
    : { name, type: 'private', cidr: n.cidr ?? '', dhcp: n.dhcp ?? false };
}

function machineSpec(
  top: WrittenBoxfile,
  name: string,
  m: WrittenMachine,
  d: WrittenMachine,
  profiles: Record<string, WrittenProfile>,
  provider: Environment['provider'],
  ctx: DefaultsContext,
): MachineSpec {
  const root = ctx.root;
  const profileName = m.profile ?? d.profile;
  // An unknown profile is reported by checkRules(); resolve as if it were empty.
  const p: WrittenProfile =
    profileName !== undefined && Object.hasOwn(profiles, profileName) ? (profiles[profileName] ?? {}) : {};
  const user = m.ssh?.user ?? d.ssh?.user;
  const key = m.ssh?.private_key ?? d.ssh?.private_key;
  const boxVersion = m.box_version ?? d.box_version;
  const boxUrl = m.box_url ?? d.box_url;
  const boxChecksum = m.box_checksum ?? d.box_checksum;
  const diskSize = sizeMiB(m.disk_size ?? p.disk_size ?? d.disk_size);
  const q = { ...d.qemu, ...m.qemu };
  const vb = { ...top.virtualbox, ...d.virtualbox, ...m.virtualbox };
  const list = <T>(
    k: 'networks' | 'forwarded_ports' | 'synced_folders' | 'provision' | 'triggers' | 'disks',
  ): T[] => [...(d[k] ?? []), ...(m[k] ?? [])] as T[];
  return {
    name,
    provider,
    // '' when neither sets it; checkRules() reports that with the machine's position.
    box: m.box ?? d.box ?? '',
    cpus: m.cpus ?? p.cpus ?? d.cpus ?? BUILTIN.cpus,
    memory: sizeMiB(m.memory ?? p.memory ?? d.memory) ?? BUILTIN.memory,
    hostname: m.hostname ?? d.hostname ?? name,
    bootTimeout: m.boot_timeout ?? d.boot_timeout ?? BUILTIN.bootTimeout,
    ssh: {
      ...(user === undefined ? {} : { user }),
      ...(key === undefined ? {} : { privateKey: resolve(root, key) }),
    },
    syncedFolders: list<NonNullable<WrittenMachine['synced_folders']>[number]>('synced_folders').map(
      (f): SyncedFolder => ({
        type: f.type ?? 'rsync',
        src: resolve(root, f.src ?? ''),
        dest: f.dest ?? '',
        exclude: [...(f.exclude ?? [])],
        delete: f.delete ?? true,
        ...(f.chown === undefined ? {} : { chown: f.chown }),
        args: [...(f.args ?? [])],
        auto: f.auto ?? true,
        disabled: f.disabled ?? false,
      }),
    ),
    provision: list<WrittenProvisioner>('provision').map((w, i) => provisioner(w, i, root)),
    triggers: list<WrittenTrigger>('triggers').map(trigger),
    sshForwardAgent: m.ssh?.forward_agent ?? d.ssh?.forward_agent ?? false,
    ...(boxVersion === undefined ? {} : { boxVersion }),
    // A path is the Boxfile's, like every other host path in it.
    ...(boxUrl === undefined
      ? {}
      : { boxUrl: /^(https?|file):\/\//i.test(boxUrl) ? boxUrl : resolve(root, boxUrl) }),
    ...(boxChecksum === undefined ? {} : { boxChecksum: boxChecksum.toLowerCase() }),
    ...(profileName === undefined ? {} : { profile: profileName }),
    ...(diskSize === undefined ? {} : { diskSize }),
    disks: list<NonNullable<WrittenMachine['disks']>[number]>('disks').map((x) => ({
      name: x.name ?? '',
      size: sizeMiB(x.size) ?? 0,
    })),
    cloudInit: mergeMappings(d.cloud_init ?? {}, m.cloud_init ?? {}),
    networks: list<NonNullable<WrittenMachine['networks']>[number]>('networks').map((a): MachineNetwork => ({
      network: a.network ?? '',
      ...(a.ip === undefined ? {} : { ip: a.ip }),
      dhcp: a.ip === undefined,
      ...(a.mac === undefined ? {} : { mac: a.mac.toLowerCase() }),
    })),
    forwardedPorts: list<NonNullable<WrittenMachine['forwarded_ports']>[number]>('forwarded_ports').map(
      (f): ForwardedPort => ({
        guest: f.guest ?? 0,
        host: f.host ?? 0,
        hostIp: f.host_ip ?? BUILTIN.hostIp,
        protocol: f.protocol ?? BUILTIN.protocol,
        autoCorrect: f.auto_correct ?? false,
      }),
    ),
    sshGuestPort: m.ssh?.port ?? d.ssh?.port ?? BUILTIN.sshPort,
    autostart: m.autostart ?? d.autostart ?? true,
    primary: m.primary ?? d.primary ?? false,
    instant: m.instant ?? d.instant ?? false,
    qemu: {
      accel: q.accel ?? 'auto',
      restrictNetwork: q.restrict_network ?? false,
      ...(q.disk_interface === undefined ? {} : { diskInterface: q.disk_interface }),
      extraArgs: [...(q.extra_args ?? [])],
    },
    virtualbox: {
      ...(vb.url === undefined ? {} : { url: vb.url }),
      gui: vb.gui ?? false,
      linkedClone: vb.linked_clone ?? true,
      ...(vb.os_type === undefined ? {} : { osType: vb.os_type }),
    },
    libvirt: libvirtSettings(top, ctx, m.host ?? d.host),
  };
}

/** As libvirt's own clients do: the Boxfile's `uri`, else LIBVIRT_DEFAULT_URI, else the system daemon. */
function libvirtSettings(
  top: WrittenBoxfile,
  ctx: DefaultsContext,
  hostName: string | undefined,
): MachineSpec['libvirt'] {
  const l = top.libvirt ?? {};
  const hosts = Object.keys(top.hosts ?? {});
  // The only host needs no naming; several need `host` (checkRules() reports a machine without one).
  const name = hostName ?? (hosts.length === 1 ? hosts[0] : undefined);
  const h = name === undefined ? undefined : top.hosts?.[name];
  // A host `hosts` lacks is reported by checkRules(); resolve it as one with no daemon.
  if (name !== undefined && top.hosts !== undefined)
    return {
      uri: h?.uri ?? '',
      uriFrom: 'hosts',
      host: name,
      ...(h?.address === undefined ? {} : { address: h.address }),
      pool: h?.pool ?? l.pool ?? BUILTIN.libvirtPool,
      managementNetwork: h?.management_network ?? l.management_network ?? BUILTIN.libvirtManagementNetwork,
    };
  const fromEnv = ctx.libvirtDefaultUri === '' ? undefined : ctx.libvirtDefaultUri;
  return {
    uri: l.uri ?? fromEnv ?? BUILTIN.libvirtUri,
    uriFrom: l.uri !== undefined ? 'boxfile' : fromEnv !== undefined ? 'LIBVIRT_DEFAULT_URI' : 'default',
    pool: l.pool ?? BUILTIN.libvirtPool,
    managementNetwork: l.management_network ?? BUILTIN.libvirtManagementNetwork,
  };
}

/** An env value taken from the host's environment may be a credential: never print it. */
function withInterpolatedSecrets(m: MachineSpec, interpolated: readonly string[]): MachineSpec {
  if (interpolated.length === 0) return m;
  const provision = m.provision.map((p) => {
    if (p.kind !== 'shell') return p;
    const extra = Object.values(p.env).filter(
      (v) => v !== '' && interpolated.includes(v) && !p.secrets.includes(v),
    );
    return extra.length === 0 ? p : { ...p, secrets: [...p.secrets, ...extra] };
  });
  return { ...m, provision };
}

function trigger(w: WrittenTrigger, i: number): Trigger {
  return {
    name: w.name ?? `trigger-${i + 1}`,
    on: w.on === undefined ? [] : [w.on].flat(),
    when: w.when ?? 'before',
    action: w.run !== undefined ? { run: [...w.run] } : { runRemote: w.run_remote ?? '' },
    onError: w.on_error ?? 'halt',
  };
}

function provisioner(w: WrittenProvisioner, i: number, root: string): Provisioner {
  const run = w.run ?? BUILTIN.run;
  const playbook = w.ansible ?? w.ansible_local;
  if (playbook !== undefined) {
    const local = w.ansible === undefined;
    return {
      kind: 'ansible',
      name: w.name ?? `${local ? 'ansible_local' : 'ansible'}-${i + 1}`,
      run,
      where: local ? 'guest' : 'host',
      playbook: resolve(root, playbook),
      extraVars: { ...(w.extra_vars ?? {}) },
      groups: Object.fromEntries(Object.entries(w.groups ?? {}).map(([g, ms]) => [g, [...ms]])),
      limit: w.limit === undefined ? [] : [w.limit].flat(),
      tags: [...(w.tags ?? [])],
      skipTags: [...(w.skip_tags ?? [])],
      scope: local ? 'machine' : (w.scope ?? 'environment'),
    };
  }
  if (w.file !== undefined) {
    return {
      kind: 'file',
      name: w.name ?? `file-${i + 1}`,
      run,
      src: resolve(root, w.file),
      dest: w.dest ?? '',
    };
  }
  return {
    kind: 'shell',
    name: w.name ?? `shell-${i + 1}`,
    run,
    source: w.shell_path !== undefined ? { path: resolve(root, w.shell_path) } : { inline: w.shell ?? '' },
    args: [...(w.args ?? [])],
    env: Object.fromEntries(
      Object.entries(w.env ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : (v.value ?? '')]),
    ),
    secrets: Object.values(w.env ?? {}).flatMap((v) =>
      typeof v !== 'string' && v.secret === true && v.value ? [v.value] : [],
    ),
    privileged: w.privileged ?? true,
  };
}

/** DNS-label form of the root's base name: `My App!` → `my-app`; `project` if nothing is left. */
export function projectName(root: string): string {
  const label = basename(root)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .slice(0, 40)
    .replace(/^-+|-+$/g, '');
  return label === '' ? 'project' : label;
}

function orderedNames(machines: Record<string, unknown>, order: readonly string[] = []): string[] {
  const names = order.filter((n) => Object.hasOwn(machines, n));
  const rest = Object.keys(machines).filter((n) => !names.includes(n));
  return [...names, ...rest];
}
