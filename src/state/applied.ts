// The applied spec: what a machine was last built, booted and converged with, recorded in
// state.json so `plan` can tell what changed in the Boxfile since. Three parts, each written when
// it takes effect: the creation part at `configure` (a new disk), the boot part at `boot` (a new
// QEMU process), the in-place part at `finish` (an `up` that ran to its end).
//
// Fields added after the walking skeleton are optional: an older state.json has only box, cpus,
// memory and hostname, and a field it lacks is "unknown", never reported as a change.
import { createHash } from 'node:crypto';
import type {
  DataDisk,
  ForwardedPort,
  MachineNetwork,
  MachineSpec,
  Network,
  Provisioner,
  QemuAccel,
  SyncedFolder,
} from '../config/types.js';

export interface AppliedProvisioner {
  name: string;
  kind: Provisioner['kind'];
  run: Provisioner['run'];
  /** sha256 of the provisioner's settings (secret values left out): a changed one differs. */
  digest: string;
}

export interface AppliedQemu {
  accel: QemuAccel;
  restrictNetwork: boolean;
  extraArgs: string[];
}

/** A synced folder as recorded: `type` only when it is not rsync (older states have none). */
export type AppliedFolder = Omit<SyncedFolder, 'type'> & { type?: SyncedFolder['type'] };

export interface AppliedShare {
  type: Exclude<SyncedFolder['type'], 'rsync'>;
  src: string;
}

/** Where a libvirt machine was created: its daemon and pool (moving it means a new disk). */
export interface AppliedLibvirtPlace {
  uri: string;
  pool: string;
}

export interface AppliedSpec {
  // creation (recreate to change)
  box: string;
  /** libvirt machines: the daemon and pool they live on (the provider keeps using these until recreated). */
  libvirt?: AppliedLibvirtPlace;
  /** `box_version` as written; null = the newest. */
  boxVersion?: string | null;
  /** The disk interface the disk was attached with (Boxfile `qemu.disk_interface`, else the box's). */
  diskInterface?: string;
  /** Digest of the Boxfile's `cloud_init` user-data: cloud-init applies it once per instance. */
  cloudInit?: string;
  // boot (reload to change)
  cpus: number;
  memory: number;
  diskSize?: number | null;
  /** Extra data disks (`disks`). */
  disks?: DataDisk[];
  networks?: MachineNetwork[];
  /** The definitions (type, CIDR, bridge) of the networks the machine is attached to, by name. */
  networkDefinitions?: Network[];
  forwardedPorts?: ForwardedPort[];
  /** Live shared folders (virtiofs, 9p): devices of the VM, so a change needs a reboot. */
  shares?: AppliedShare[];
  qemu?: AppliedQemu;
  /** libvirt machines: the network of NIC 0. */
  managementNetwork?: string;
  // in place (the next `up` applies them on the running machine)
  hostname: string;
  syncedFolders?: AppliedFolder[];
  provisioners?: AppliedProvisioner[];
}

export function provisionerDigest(p: Provisioner): string {
  const safe =
    p.kind === 'shell'
      ? {
          ...p,
          env: Object.fromEntries(
            Object.entries(p.env).map(([k, v]) => [k, p.secrets.includes(v) ? '***' : v]),
          ),
          secrets: [],
        }
      : p;
  return createHash('sha256').update(stableJson(safe)).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted, so equal values always give equal text. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

export function creationPart(
  spec: MachineSpec,
  boxDiskInterface: string,
): Pick<AppliedSpec, 'box' | 'boxVersion' | 'diskInterface' | 'cloudInit' | 'libvirt'> {
  return {
    box: spec.box,
    boxVersion: spec.boxVersion ?? null,
    diskInterface: spec.qemu.diskInterface ?? boxDiskInterface,
    ...(spec.provider === 'libvirt' ? { libvirt: { uri: spec.libvirt.uri, pool: spec.libvirt.pool } } : {}),
    cloudInit: cloudInitDigest(spec.cloudInit),
  };
}

/** sha256 of the `cloud_init` user-data (16 hex digits); of `{}` when unset. */
export function cloudInitDigest(userData: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(stableJson(userData)).digest('hex').slice(0, 16);
}

/** The networks `spec` is attached to, in the Environment's order. */
export function attachedNetworks(spec: MachineSpec, networks: readonly Network[]): Network[] {
  return networks.filter((n) => spec.networks.some((a) => a.network === n.name));
}

export function bootPart(
  spec: MachineSpec,
  networks: readonly Network[],
): Pick<
  AppliedSpec,
  | 'cpus'
  | 'memory'
  | 'diskSize'
  | 'disks'
  | 'networks'
  | 'networkDefinitions'
  | 'forwardedPorts'
  | 'shares'
  | 'qemu'
  | 'managementNetwork'
> {
  return {
    cpus: spec.cpus,
    memory: spec.memory,
    diskSize: spec.diskSize ?? null,
    disks: spec.disks,
    networks: spec.networks,
    networkDefinitions: attachedNetworks(spec, networks),
    forwardedPorts: spec.forwardedPorts,
    shares: sharesOf(spec),
    qemu: {
      accel: spec.qemu.accel,
      restrictNetwork: spec.qemu.restrictNetwork,
      extraArgs: spec.qemu.extraArgs,
    },
    ...(spec.provider === 'libvirt' ? { managementNetwork: spec.libvirt.managementNetwork } : {}),
  };
}

/** The live shared folders the VM gets devices for, in order (their index is their mount tag). */
export function sharesOf(spec: Pick<MachineSpec, 'syncedFolders'>): AppliedShare[] {
  return spec.syncedFolders.flatMap((f) =>
    f.type === 'rsync' || f.disabled ? [] : [{ type: f.type, src: f.src }],
  );
}

export function inPlacePart(
  spec: MachineSpec,
): Pick<AppliedSpec, 'hostname' | 'syncedFolders' | 'provisioners'> {
  return {
    hostname: spec.hostname,
    // `type: rsync` is left out as it was before folders had types, so no older state differs.
    syncedFolders: spec.syncedFolders.map(({ type, ...f }) => (type === 'rsync' ? f : { type, ...f })),
    provisioners: spec.provision.map((p) => ({
      name: p.name,
      kind: p.kind,
      run: p.run,
      digest: provisionerDigest(p),
    })),
  };
}

/** The whole applied spec of a machine created now from `spec`. */
export function appliedSpecOf(
  spec: MachineSpec,
  boxDiskInterface: string,
  networks: readonly Network[],
): AppliedSpec {
  return { ...creationPart(spec, boxDiskInterface), ...bootPart(spec, networks), ...inPlacePart(spec) };
}
