// Boxfile types. "Written" types mirror the file: every key optional, so unset stays distinct
// from false/0. "Resolved" types are what the rest of boxfest uses: defaults filled in, paths
// absolute, nothing optional that has a default.
//
// schemas/boxfile.schema.json is the source of truth for the written shape;
// test/unit/config/schema-types.test.ts checks that these types and the schema agree.

export type ProviderName = 'qemu' | 'virtualbox' | 'libvirt';
export const PROVIDER_NAMES: readonly ProviderName[] = ['qemu', 'virtualbox', 'libvirt'];

export type ProvisionRun = 'once' | 'always' | 'never';

export interface WrittenSsh {
  user?: string;
  port?: number;
  private_key?: string;
  forward_agent?: boolean;
}

/** How a synced folder reaches the guest: copied by rsync, or shared live (QEMU: virtiofs, virtio-9p). */
export type SyncedFolderType = 'rsync' | 'virtiofs' | '9p';
export const SYNCED_FOLDER_TYPES: readonly SyncedFolderType[] = ['rsync', 'virtiofs', '9p'];

export interface WrittenSyncedFolder {
  type?: SyncedFolderType;
  src?: string;
  dest?: string;
  exclude?: string[];
  delete?: boolean;
  chown?: string;
  args?: string[];
  auto?: boolean;
  disabled?: boolean;
}

export interface WrittenEnvValue {
  value?: string;
  secret?: boolean;
}

export interface WrittenProvisioner {
  name?: string;
  run?: ProvisionRun;
  shell?: string;
  shell_path?: string;
  args?: string[];
  env?: Record<string, string | WrittenEnvValue>;
  privileged?: boolean;
  file?: string;
  dest?: string;
  ansible?: string;
  ansible_local?: string;
  extra_vars?: Record<string, unknown>;
  groups?: Record<string, string[]>;
  limit?: string | string[];
  tags?: string[];
  skip_tags?: string[];
  scope?: AnsibleScope;
}

/** `environment`: one `ansible-playbook` run for every machine after all are up; `machine`: one per machine. */
export type AnsibleScope = 'environment' | 'machine';

export type TriggerEvent = 'up' | 'halt' | 'destroy' | 'provision' | 'reload';
export const TRIGGER_EVENTS: readonly TriggerEvent[] = ['up', 'halt', 'destroy', 'provision', 'reload'];
export type TriggerWhen = 'before' | 'after';
export type TriggerOnError = 'halt' | 'continue';

export interface WrittenTrigger {
  name?: string;
  on?: TriggerEvent | TriggerEvent[];
  when?: TriggerWhen;
  run?: string[];
  run_remote?: string;
  on_error?: TriggerOnError;
}

/** A size: a number of MiB, or a string with a binary unit (`512MiB`, `2GiB`, `1.5GiB`). */
export type WrittenSize = number | string;

export interface WrittenMachineNetwork {
  network?: string;
  ip?: string;
  dhcp?: boolean;
  mac?: string;
}

export type PortProtocol = 'tcp' | 'udp';

export interface WrittenForwardedPort {
  guest?: number;
  host?: number;
  host_ip?: string;
  protocol?: PortProtocol;
  auto_correct?: boolean;
}

/**
 * How a machine made from a box is set up at its first boot (a property of the box, from
 * `box add`): `ssh-key` (boxfest logs in with the box's insecure key and replaces it, as with a
 * Vagrant box) or `cloud-init` (a distro cloud image: boxfest hands it a NoCloud seed that
 * creates the user with the machine's own key).
 */
export type FirstBoot = 'cloud-init' | 'ssh-key';

export type QemuAccel = 'auto' | 'kvm' | 'tcg';
export type DiskInterface = 'virtio' | 'nvme';

export interface WrittenQemu {
  accel?: QemuAccel;
  restrict_network?: boolean;
  disk_interface?: DiskInterface;
  extra_args?: string[];
}

export interface WrittenVirtualbox {
  url?: string;
  gui?: boolean;
  linked_clone?: boolean;
  os_type?: string;
}

export interface WrittenLibvirt {
  uri?: string;
  pool?: string;
  management_network?: string;
}

/** One of `hosts:` (libvirt hypervisor hosts by name). */
export interface WrittenHost {
  uri?: string;
  pool?: string;
  management_network?: string;
  address?: string;
}

export interface WrittenDataDisk {
  name?: string;
  size?: WrittenSize;
}

/** cloud-init user-data as written; checked by the schema where cloud-init is stricter than a mapping. */
export type WrittenCloudInit = Record<string, unknown>;

export interface WrittenMachine {
  /** Which of `hosts` it runs on (libvirt). */
  host?: string;
  box?: string;
  box_version?: string;
  box_url?: string;
  box_checksum?: string;
  profile?: string;
  cpus?: number;
  memory?: WrittenSize;
  disk_size?: WrittenSize;
  disks?: WrittenDataDisk[];
  hostname?: string;
  networks?: WrittenMachineNetwork[];
  forwarded_ports?: WrittenForwardedPort[];
  synced_folders?: WrittenSyncedFolder[];
  provision?: WrittenProvisioner[];
  triggers?: WrittenTrigger[];
  ssh?: WrittenSsh;
  boot_timeout?: number;
  autostart?: boolean;
  primary?: boolean;
  instant?: boolean;
  cloud_init?: WrittenCloudInit;
  qemu?: WrittenQemu;
  virtualbox?: WrittenVirtualbox;
}

export interface WrittenProfile {
  cpus?: number;
  memory?: WrittenSize;
  disk_size?: WrittenSize;
}

export type NetworkType = 'private' | 'bridged';

export interface WrittenNetwork {
  type?: NetworkType;
  cidr?: string;
  dhcp?: boolean;
  interface?: string;
}

export interface WrittenBoxfile {
  version?: number;
  provider?: ProviderName;
  /** Project-wide VirtualBox settings (e.g. `url`), under `defaults.virtualbox` and each machine's. */
  virtualbox?: WrittenVirtualbox;
  /** Project-wide libvirt settings: the daemon, the pool, the management network. */
  libvirt?: WrittenLibvirt;
  /** libvirt hosts by name; machines pick one with `host`. */
  hosts?: Record<string, WrittenHost>;
  defaults?: WrittenMachine;
  profiles?: Record<string, WrittenProfile>;
  networks?: Record<string, WrittenNetwork>;
  machines?: Record<string, WrittenMachine | null>;
}

export interface SyncedFolder {
  /** `rsync` (copied at every `up`; the default), or shared live both ways: `virtiofs`, `9p`. */
  type: SyncedFolderType;
  /** Absolute host path. */
  src: string;
  /** Absolute guest path. */
  dest: string;
  /** rsync exclude patterns, after boxfest's own (`.boxfest/`, `.git/`). */
  exclude: string[];
  /** Delete guest files that are gone on the host (rsync --delete). Default true, as Vagrant. */
  delete: boolean;
  /**
   * `user` or `user:group` that owns the synced files in the guest; unset = the SSH user (rsync,
   * 9p). virtiofs cannot map owners (a rule refuses `chown` there): the guest sees the host's.
   */
  chown?: string;
  /** Extra rsync arguments, appended after boxfest's. */
  args: string[];
  /** Watched by `rsync-auto`. Default true. */
  auto: boolean;
  /** Not synced at all. Default false. */
  disabled: boolean;
}

interface ProvisionerBase {
  /** `name` from the file, or `<kind>-N` (1-based position in the machine's merged list). */
  name: string;
  run: ProvisionRun;
}

export interface ShellProvisioner extends ProvisionerBase {
  kind: 'shell';
  /** An inline script (`shell`), or the absolute host path of a script to upload (`shell_path`). */
  source: { inline: string } | { path: string };
  args: string[];
  env: Record<string, string>;
  /** Values never to print (`secret: true`, or taken from `${VAR}`); output shows `***` instead. */
  secrets: string[];
  /** Run as root (sudo when the SSH user is not root). Default true. */
  privileged: boolean;
}

export interface FileProvisioner extends ProvisionerBase {
  kind: 'file';
  /** Absolute host path of a file or directory. */
  src: string;
  /** Absolute guest path. */
  dest: string;
}

export interface AnsibleProvisioner extends ProvisionerBase {
  kind: 'ansible';
  /** `host`: `ansible` (ansible-playbook on the host, over SSH); `guest`: `ansible_local`. */
  where: 'host' | 'guest';
  /** Absolute host path of the playbook (inside the project). */
  playbook: string;
  extraVars: Record<string, unknown>;
  /** Inventory groups: group name → machine names. */
  groups: Record<string, string[]>;
  /** `--limit` patterns; empty: the machines the provisioner is declared on. */
  limit: string[];
  tags: string[];
  skipTags: string[];
  /** Always `machine` for `ansible_local`. */
  scope: AnsibleScope;
}

export type Provisioner = ShellProvisioner | FileProvisioner | AnsibleProvisioner;

/** A host command or guest script run before or after a command acts on a machine (Vagrant's triggers). */
export interface Trigger {
  /** `name` from the file, or `trigger-N` (1-based position in the machine's merged list). */
  name: string;
  on: TriggerEvent[];
  when: TriggerWhen;
  /** `run`: an argv on the host (no shell); `runRemote`: a script run in the guest as root. */
  action: { run: string[] } | { runRemote: string };
  /** A failing trigger stops that machine's action (`halt`, the default) or is reported and skipped. */
  onError: TriggerOnError;
}

export interface MachineSpec {
  name: string;
  provider: ProviderName;
  box: string;
  cpus: number;
  /** MiB */
  memory: number;
  hostname: string;
  /** Seconds from boot until SSH must answer. */
  bootTimeout: number;
  /** Overrides of the box's first-login user and key (key path absolute). */
  ssh: { user?: string; privateKey?: string };
  syncedFolders: SyncedFolder[];
  provision: Provisioner[];
  /** Forward the local SSH agent on `boxfest ssh` and in `ssh-config` (`ssh.forward_agent`). */
  sshForwardAgent: boolean;
  /** Triggers of every event, defaults' first. */
  triggers: Trigger[];
  /** Box version constraint (`box_version`, Vagrant's syntax); unset = the newest in the store. */
  boxVersion?: string;
  /** Where `up` adds the box from when missing (`box_url`): an http(s) URL or an absolute path. */
  boxUrl?: string;
  /** `box_checksum`, `TYPE:HEX`. */
  boxChecksum?: string;
  /** The hardware profile whose values were merged in (`profile`), if any. */
  profile?: string;
  /** Disk size in MiB (`disk_size`); unset = the box's own size. */
  diskSize?: number;
  /** Extra data disks (`disks`), defaults' first. */
  disks: DataDisk[];
  /** The Boxfile's cloud-init user-data (`defaults.cloud_init` merged under the machine's); `{}` when unset. */
  cloudInit: Record<string, unknown>;
  /** Attachments to the Environment's networks, in order (defaults' first). */
  networks: MachineNetwork[];
  forwardedPorts: ForwardedPort[];
  /** Port sshd listens on in the guest (`ssh.port`). Default 22. */
  sshGuestPort: number;
  /** Started by a plain `up` (no machine names). Default true. */
  autostart: boolean;
  /** The machine commands like `ssh` pick when none is named. Default false. */
  primary: boolean;
  /** A new machine starts from a saved ready state of its box and shape (`instant`). Default false. */
  instant: boolean;
  /** `qemu:` settings; used only when the provider is qemu. */
  qemu: QemuSettings;
  /** `virtualbox:` settings; used only when the provider is virtualbox. */
  virtualbox: VirtualboxSettings;
  /** The top-level `libvirt:` settings; used only when the provider is libvirt. */
  libvirt: LibvirtSettings;
}

export interface DataDisk {
  name: string;
  /** MiB */
  size: number;
}

export type Network =
  | {
      name: string;
      type: 'private';
      /** IPv4 `a.b.c.d/n`; the gateway (host side) is `.1`. */ cidr: string;
      dhcp: boolean;
    }
  | { name: string; type: 'bridged'; /** Host interface to bridge, e.g. `eth0`. */ interface: string };

export interface MachineNetwork {
  /** Name of an Environment network. */
  network: string;
  /** Static IPv4 address; unset when `dhcp`. */
  ip?: string;
  /** Address from DHCP (true exactly when `ip` is unset). */
  dhcp: boolean;
  /** Fixed MAC address, lowercase `aa:bb:cc:dd:ee:ff`; unset = the provider picks one. */
  mac?: string;
}

export interface ForwardedPort {
  guest: number;
  host: number;
  /** Host address to listen on. Default 127.0.0.1. */
  hostIp: string;
  protocol: PortProtocol;
  /** Pick another free host port when `host` is taken at `up`. Default false. */
  autoCorrect: boolean;
}

export interface QemuSettings {
  accel: QemuAccel;
  restrictNetwork: boolean;
  /** Unset = the box's interface (`box add --disk-interface`). */
  diskInterface?: DiskInterface;
  extraArgs: string[];
}

export interface VirtualboxSettings {
  /** vboxwebsrv URL; unset = the local default. */
  url?: string;
  gui: boolean;
  linkedClone: boolean;
  /** VirtualBox OS type id; unset = the box's. */
  osType?: string;
}

export interface LibvirtSettings {
  /** `libvirt.uri`, else LIBVIRT_DEFAULT_URI, else `qemu:///system`. */
  uri: string;
  /** Where `uri` came from, for messages about it. */
  uriFrom: 'boxfile' | 'LIBVIRT_DEFAULT_URI' | 'default' | 'hosts';
  /** The `hosts:` entry the machine runs on; unset without `hosts`. */
  host?: string;
  /** `hosts.NAME.address`: where the other hosts reach this one (spanning networks). */
  address?: string;
  /** Storage pool of the box volumes and the overlays. Default `default`. */
  pool: string;
  /** The network of NIC 0, which carries SSH. Default `boxfest` (created when missing). */
  managementNetwork: string;
}

export interface Environment {
  /** Absolute path of Boxfile.yaml. */
  file: string;
  /** Directory holding the Boxfile: the project root. */
  root: string;
  /** Project name (DNS-label form of the root's base name), used in ssh-config host names. */
  name: string;
  provider: ProviderName;
  /** Named networks, in file order. */
  networks: Network[];
  /** In file order. */
  machines: MachineSpec[];
}
